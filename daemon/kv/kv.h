/* The key-value store of design.md §2 (mirage-kv RW semantics): path keys, values that are
 * byte strings, dictionaries created on demand, every write one atomic transaction of a
 * backend (LMDB on disk, or memory). docs/kv.md is the full contract; in short:
 *
 *   key      "/" or "/seg/seg/...": no empty segment, no "." or "..", no '/' or control
 *            byte inside a segment, at most KV_KEY_MAX_BYTES bytes in all.
 *   exists   KV_ABSENT, KV_VALUE or KV_DICTIONARY ("/" is always a dictionary).
 *   set      creates the missing parent dictionaries; a value where one of them should be
 *            is dictionary_expected; setting a dictionary is value_expected.
 *   remove   a value or a whole subtree; "/" empties the store.
 *   rename   like mv(1): onto a value, replaces it ("over"); onto a dictionary, moves the
 *            source into it under its own name ("into"), where an existing dictionary of
 *            that name is already_present.
 *   batch    several writes in one transaction: all are applied or none.
 *
 * Errors are negative errno values; kv_error_name() gives the design's name for each:
 *
 *   -ENOENT        not_found            the key (or a rename's source) does not exist
 *   -ENOTDIR       dictionary_expected  a value where a dictionary is needed
 *   -EISDIR        value_expected       a dictionary where a value is needed
 *   -ENOSPC        no_space             the map (or the memory budget) is full
 *   -EFBIG         no_space             the value would exceed the value size limit
 *   -EEXIST        already_present      rename into a dictionary that has one of that name
 *   -EINVAL        invalid_key          bad key syntax; renaming "/" or into itself
 *   -ENAMETOOLONG  invalid_key          the key (or a key a rename makes) is too long
 *   -EIO           storage_error        the backend failed or a record is corrupt
 *
 * Time is the caller's: writes take now_ns (CLOCK_REALTIME nanoseconds), so tests run on a
 * virtual clock. Returned buffers are malloc'd and belong to the caller. Not thread-safe: one
 * thread (the daemon's loop) uses a store. */
#ifndef USTACKD_KV_H
#define USTACKD_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KV_KEY_MAX_BYTES 480 /* LMDB keys are at most 511 bytes: see kv_key.h */
#define KV_DIGEST_BYTES 32   /* SHA-256 */
#define KV_DEFAULT_MAP_SIZE_BYTES ((size_t)1 << 30)
#define KV_DEFAULT_MAX_VALUE_BYTES ((size_t)16 << 20)
#define KV_DEFAULT_WAL_MAX_BYTES ((size_t)64 << 20)
/* 128 MiB of 4 KiB pages, held in memory until a checkpoint; LMDB refuses a transaction
 * of more than 131071 (MDB_IDL_UM_MAX). */
#define KV_DEFAULT_DIRTY_MAX_PAGES 32768
/* How long the daemon lets writes sit in the log before it checkpoints them. */
#define KV_CHECKPOINT_DELAY_MS 1000
/* After failed ones: the delay doubles each time up to this (daemon/rpc_kv.c). */
#define KV_CHECKPOINT_RETRY_MAX_MS 60000

struct kv;

enum kv_kind {
	KV_ABSENT,
	KV_VALUE,
	KV_DICTIONARY,
};

struct kv_limits {
	size_t map_size_bytes;	/* LMDB map size; the memory backend's byte budget */
	size_t max_value_bytes; /* the largest value set/set_partial may make */
	/* LMDB: checkpoint when the redo log holds this many bytes (0: KV_DEFAULT_WAL_MAX_BYTES;
	 * docs/kv.md, "Durability"). */
	size_t wal_max_bytes;
	/* LMDB: checkpoint when the long-lived write transaction may hold this many dirty pages
	 * (0: KV_DEFAULT_DIRTY_MAX_PAGES; kv_lmdb.c, dirty_bound()). */
	size_t dirty_max_pages;
	/* LMDB: restart the log by truncating it instead of overwriting it in place (only to
	 * compare the two in bench/kv-store; docs/performance.md). */
	int wal_truncate;
};

/* What the store did since it was opened (the LMDB backend; zeros for memory). */
struct kv_stats {
	uint64_t checkpoints;	     /* LMDB commits of everything since the one before */
	uint64_t checkpoint_failures; /* failed ones (the log still held every write) */
	uint64_t wal_records;	     /* groups committed through the redo log */
	uint64_t wal_bytes;	     /* bytes appended to it (headers included) */
	uint64_t replayed_records;   /* records of the log applied again when opening */
	uint64_t wal_pending_bytes;  /* the log's current size: since the last checkpoint */
	uint64_t main_rebuilds;	     /* undos by rebuilding from the checkpoint and the log */
	/* records with the next seq and a good CRC but a wrong tag where the log ended when
	 * the store opened (kv_wal.h: a value made to look like a record, or garbage) */
	uint64_t wal_forged_records;
};

/* One direct child of a dictionary, as kv_list() returns it. */
struct kv_entry {
	char *name; /* the last segment, NUL-terminated */
	enum kv_kind kind;
};

enum kv_op_kind {
	KV_OP_SET,	   /* key, value, len */
	KV_OP_SET_PARTIAL, /* key, offset, value, len */
	KV_OP_REMOVE,	   /* key */
	KV_OP_RENAME,	   /* key (source), dest */
};

struct kv_op {
	enum kv_op_kind kind;
	const char *key;
	const char *dest;
	const void *value;
	size_t len;
	uint64_t offset;
};

void kv_limits_default(struct kv_limits *lim);

/* Opens (creating it if missing: the directory too, one level) the LMDB store in dir. */
int kv_open_lmdb(const char *dir, const struct kv_limits *lim, struct kv **out);
int kv_open_memory(const struct kv_limits *lim, struct kv **out);
void kv_close(struct kv *kv);

/* Checks a key without a store; 0, or -EINVAL/-ENAMETOOLONG with a reason in *why. */
int kv_key_check(const char *key, const char **why);

int kv_exists(struct kv *kv, const char *key, enum kv_kind *kind);
int kv_get(struct kv *kv, const char *key, uint8_t **value, size_t *len);
/* The bytes [offset, offset + length) of a value, clipped at its end (maybe none). */
int kv_get_partial(struct kv *kv, const char *key, uint64_t offset, size_t length,
		   uint8_t **value, size_t *len);
/* Direct children in byte order of their names; kv_entries_free() releases them. */
int kv_list(struct kv *kv, const char *key, struct kv_entry **entries, size_t *n);
void kv_entries_free(struct kv_entry *entries, size_t n);
/* A value: when it was last written. A dictionary: the latest of its own creation and its
 * direct entries' times (one level, as mirage-kv 6.1 leaves it to implementations). */
int kv_last_modified(struct kv *kv, const char *key, uint64_t *mtime_ns);
/* SHA-256 of a value; of a dictionary, over its sorted entries (docs/kv.md). */
int kv_digest(struct kv *kv, const char *key, uint8_t digest[KV_DIGEST_BYTES]);
/* A value's length; a dictionary's: the sum of the lengths of all values under it. */
int kv_size(struct kv *kv, const char *key, uint64_t *size_bytes);

int kv_set(struct kv *kv, const char *key, const void *value, size_t len, uint64_t now_ns);
/* Writes at offset, extending the value (zero-filled) or creating it as needed. */
int kv_set_partial(struct kv *kv, const char *key, uint64_t offset, const void *data,
		   size_t len, uint64_t now_ns);
int kv_remove(struct kv *kv, const char *key, uint64_t now_ns);
int kv_rename(struct kv *kv, const char *source, const char *dest, uint64_t now_ns);
/* All of ops in one transaction. On error nothing is applied and *failed (if not NULL) is
 * the index of the operation that failed (n for the commit itself). */
int kv_batch(struct kv *kv, const struct kv_op *ops, size_t n, uint64_t now_ns, size_t *failed);

/* Group commit: several independent batches (e.g. from different clients) in one
 * transaction, so that they share one commit and its flushes. Each batch is applied all
 * or nothing on its own (req->result: 0, or its error with req->failed as in kv_batch);
 * a failing batch does not affect the others. Returns 0 when the commit succeeded: then
 * every batch with result 0 is on disk. A negative return is the commit's error: nothing
 * is applied, whatever the results say. */
struct kv_batch_req {
	const struct kv_op *ops;
	size_t n;
	int result;    /* out */
	size_t failed; /* out, when result < 0 */
};

int kv_group_commit(struct kv *kv, struct kv_batch_req *reqs, size_t nreqs, uint64_t now_ns);

/* Checkpoint (LMDB): commits what the redo log holds into LMDB with LMDB's synced commit
 * and starts the log again, so that memory (LMDB's dirty pages) and the replay time after a
 * crash stay bounded. Writes never depend on it: they are durable once in the log. The
 * daemon calls it KV_CHECKPOINT_DELAY_MS after the first write since the last one
 * (kv_checkpoint_pending()). 0 (also when there was nothing to do), or an error: then the
 * writes are still in the log. */
int kv_checkpoint(struct kv *kv);
/* Whether writes wait for a checkpoint. */
bool kv_checkpoint_pending(struct kv *kv);
void kv_stats_get(struct kv *kv, struct kv_stats *st);

/* "not_found", ... (the table above); "storage_error" for anything else. */
const char *kv_error_name(int err);

#endif
