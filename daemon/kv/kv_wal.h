/* The LMDB backend's redo log (docs/kv.md, "Durability"): one file, wal.log in the store's
 * directory, of records
 *
 *   bytes 0-3    magic "UKVW"
 *   bytes 4-7    payload length, little-endian
 *   bytes 8-15   seq, little-endian: consecutive, 1 more than the record before
 *   bytes 16-19  CRC32C (Castagnoli) of bytes 0-15, 4 zero bytes and the payload
 *   bytes 20-23  tag, little-endian: CRC32C of the generation's salt (8 bytes) followed by
 *                bytes 0-19; zero in a log of the previous version (no salt)
 *   bytes 24-    payload
 *
 * A payload is the physical operations of one committed group, in order, each
 *
 *   'P' key length (2 bytes LE) value length (4 bytes LE) key value     a put
 *   'D' key length (2 bytes LE) key                                     a delete
 *
 * exactly what the backend was asked, so that replaying it is deterministic (the mtimes
 * are inside the records). The log holds what was committed since the last checkpoint;
 * after a checkpoint it starts again from offset 0 over the old records, which a reader
 * tells apart by their seq (not the next one) or their CRC (a torn write): the valid log is
 * the longest run of records from offset 0 with consecutive seqs, good CRCs and good tags.
 *
 * Why the tag: a client chooses the bytes of its values, and a put's payload holds a value
 * verbatim, so a value can hold a well-formed record (the CRC is no secret). Left behind in
 * a recycled file where a later generation's log happens to end, with the next seq, it
 * would be replayed after a crash: writes nobody made. Each checkpoint draws a new random
 * salt, stored with the applied seq (kv_lmdb.c), that no client ever sees; a record whose
 * CRC and seq are right but whose tag is not is such a forgery (or garbage), and replay
 * stops before it and says so (kv_wal_replay, "forged"). A generation without a salt (a
 * store of the previous version, or a new store before its first checkpoint) writes zero
 * and checks nothing (docs/kv.md, "Durability"). */
#ifndef USTACKD_KV_WAL_H
#define USTACKD_KV_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KV_WAL_FILE "wal.log"
#define KV_WAL_HDR_BYTES 24
#define KV_WAL_MAGIC 0x57564b55u /* "UKVW" read little-endian */
/* The largest payload a reader accepts: more is a corrupt length, not a record (the
 * backend checkpoints groups larger than KV_WAL_GROUP_MAX_BYTES instead of logging them). */
#define KV_WAL_PAYLOAD_MAX_BYTES ((size_t)64 << 20)
#define KV_WAL_OP_PUT 'P'
#define KV_WAL_OP_DEL 'D'
#define KV_WAL_PUT_HDR_BYTES 7
#define KV_WAL_DEL_HDR_BYTES 3
#define KV_WAL_SALT_BYTES 8

struct kv_wal;

struct kv_wal_hdr {
	uint32_t len;
	uint64_t seq;
	uint32_t crc;
	uint32_t tag;
};

/* The secret of one generation of the log (the records after one checkpoint). */
struct kv_wal_salt {
	bool set; /* false: a store of the previous version, whose records have no tag */
	uint8_t bytes[KV_WAL_SALT_BYTES];
};

uint32_t kv_wal_crc32c(uint32_t crc, const void *p, size_t len);
/* A new salt from getrandom(2); 0 or a negative errno. */
int kv_wal_salt_draw(struct kv_wal_salt *salt);
/* A record's header; its tag from salt (zero, the previous version's layout, if salt is
 * NULL or not set). */
void kv_wal_hdr_emit(uint8_t out[KV_WAL_HDR_BYTES], uint64_t seq, const void *payload,
		     size_t len, const struct kv_wal_salt *salt);
/* The header's fields; -EINVAL if it is no record header (magic, length). */
int kv_wal_hdr_parse(const uint8_t in[KV_WAL_HDR_BYTES], struct kv_wal_hdr *h);
/* Whether payload matches the CRC in h. */
bool kv_wal_crc_ok(const uint8_t in[KV_WAL_HDR_BYTES], const void *payload, size_t len);
/* Whether the tag in h is the one salt gives (always true without a salt). */
bool kv_wal_tag_ok(const uint8_t in[KV_WAL_HDR_BYTES], const struct kv_wal_salt *salt);
/* Writes the header of one payload operation at p (KV_WAL_PUT_HDR_BYTES for a put,
 * KV_WAL_DEL_HDR_BYTES for a del); the key, then a put's value, follow it. */
void kv_wal_op_hdr(uint8_t *p, uint8_t op, size_t klen, size_t vlen);

/* One operation of a payload; value is NULL for a delete. Returns 0 or a negative errno. */
typedef int (*kv_wal_op_fn)(const uint8_t *key, size_t klen, const uint8_t *value,
			    size_t vlen, void *ctx);
/* Calls fn for each operation of payload; -EIO if it is malformed (nothing is called
 * then: the payload is checked whole first). */
int kv_wal_payload_parse(const uint8_t *payload, size_t len, kv_wal_op_fn fn, void *ctx);

/* Opens (creating) dir/wal.log and locks it against another process: -EBUSY if one holds
 * it. recycle: restart by overwriting in place (else by truncating to 0). */
int kv_wal_open(const char *dir, bool recycle, struct kv_wal **out);
void kv_wal_close(struct kv_wal *w);

/* What kv_wal_replay() found. */
struct kv_wal_replayed {
	uint64_t last_seq; /* the last seq applied (after_seq if none) */
	uint64_t records;  /* how many were applied */
	bool forged;	   /* it stopped at a record with the right CRC and the next seq but a
			    * wrong tag */
};

/* Reads the log from offset 0 and calls fn with each payload whose record has
 * seq == after_seq + 1, + 2, ... and the tag salt gives; stops at the first record that is
 * torn, bad, stale, out of sequence or forged, which is where the next append goes. The
 * appends that follow are tagged with salt (the generation goes on). A first record whose
 * CRC is right and whose seq is beyond after_seq + 1 is -EUCLEAN whatever its tag: records
 * are missing (a data file older than its log; offset 0 is never a forgery, since every
 * generation starts there). */
typedef int (*kv_wal_record_fn)(uint64_t seq, const uint8_t *payload, size_t len, void *ctx);
int kv_wal_replay(struct kv_wal *w, uint64_t after_seq, const struct kv_wal_salt *salt,
		  kv_wal_record_fn fn, void *ctx, struct kv_wal_replayed *out);

/* Appends a record, tagged with the generation's salt, and flushes it (one pwritev, one
 * fdatasync): on disk when it returns 0.
 * On an error the record is invalidated again as far as possible (-EIO and the log is
 * unusable until reopened if even that failed). */
int kv_wal_append(struct kv_wal *w, uint64_t seq, const void *payload, size_t len);
/* Invalidates the last record appended (its commit failed after all). */
int kv_wal_cut_last(struct kv_wal *w);
/* Starts a new generation at offset 0 (after a checkpoint made the records redundant),
 * its records tagged with salt (the one the checkpoint stored). */
int kv_wal_restart(struct kv_wal *w, const struct kv_wal_salt *salt);
/* Bytes of the current generation. */
uint64_t kv_wal_bytes(const struct kv_wal *w);

#endif
