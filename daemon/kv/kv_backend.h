/* What kv.c needs from a storage backend: ordered byte keys, transactions (one writer,
 * all-or-nothing), prefix scans. The LMDB and memory backends implement it; the store's
 * semantics live above, once, in kv.c and kv_write.c.
 *
 * Borrowing: a value returned by get() or shown to a scan callback stays valid until the
 * next put()/del() or the end of the transaction, whichever is first. */
#ifndef USTACKD_KV_BACKEND_H
#define USTACKD_KV_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv.h"

struct kv_backend;
struct kv_txn;

struct kv_bytes {
	const uint8_t *p;
	size_t len;
};

/* Returns 0 to go on, 1 to stop, a negative errno to stop with that error. */
typedef int (*kv_scan_fn)(struct kv_bytes key, struct kv_bytes value, void *ctx);

struct kv_backend_ops {
	int (*begin)(struct kv_backend *b, bool write, struct kv_txn **txn);
	/* Durable when it returns 0; the transaction is gone either way. */
	int (*commit)(struct kv_txn *txn);
	void (*abort)(struct kv_txn *txn);
	int (*get)(struct kv_txn *txn, struct kv_bytes key, struct kv_bytes *value); /* -ENOENT */
	/* Stores len bytes made of the parts in order (a record header, then the data). */
	int (*put)(struct kv_txn *txn, struct kv_bytes key, const struct kv_bytes *parts,
		   size_t nparts);
	int (*del)(struct kv_txn *txn, struct kv_bytes key); /* -ENOENT */
	/* Every key starting with prefix, in byte order. The callback must not write. */
	int (*scan)(struct kv_txn *txn, struct kv_bytes prefix, kv_scan_fn fn, void *ctx);
	/* A savepoint inside a write transaction (one level): after sub_begin, sub_end(keep)
	 * either keeps what was written since or undoes it, leaving the rest of the
	 * transaction as it was. sub_end(true) may fail (then nothing since is kept). */
	int (*sub_begin)(struct kv_txn *txn);
	int (*sub_end)(struct kv_txn *txn, bool keep);
	/* Makes the store extra_bytes larger; outside any transaction. NULL: cannot. */
	int (*grow)(struct kv_backend *b, size_t extra_bytes);
	/* The redo log (kv_wal.h); NULL where there is none. */
	int (*checkpoint)(struct kv_backend *b);
	bool (*checkpoint_pending)(struct kv_backend *b);
	/* Makes the space that writes since the last checkpoint freed usable again; outside
	 * any transaction. 1 if there may be more room now, 0 if not, or a negative errno. */
	int (*reclaim)(struct kv_backend *b);
	void (*stats)(struct kv_backend *b, struct kv_stats *st);
	void (*close)(struct kv_backend *b);
};

struct kv {
	const struct kv_backend_ops *ops;
	struct kv_backend *be;
	size_t max_value_bytes;
	uint64_t writes; /* puts and deletes tried, ever (kv_write.c: did a failure write?) */
	/* A dictionary known to exist in the open write transaction, its encoded key (len 0:
	 * none): kv_write.c, make_parents(). */
	uint8_t dict_seen[KV_KEY_MAX_BYTES + 1];
	size_t dict_seen_len;
};

/* The record stored under each key (docs/kv.md, "Records"):
 *   byte 0       'V' value or 'D' dictionary
 *   bytes 1-7    zero
 *   bytes 8-15   mtime, nanoseconds since the epoch, big-endian
 *   bytes 16-47  (values only) SHA-256 of the data
 *   bytes 48-    (values only) the data */
#define KV_REC_VALUE 'V'
#define KV_REC_DICT 'D'
#define KV_REC_DICT_BYTES 16
#define KV_REC_VALUE_HDR_BYTES 48

struct kv_rec {
	enum kv_kind kind;
	uint64_t mtime_ns;
	const uint8_t *digest; /* values: 32 bytes, borrowed like data */
	const uint8_t *data;
	size_t len;
};

/* The big-endian 64-bit numbers of the records and of the log's applied seq. */
void kv_be64_put(uint8_t *p, uint64_t v);
uint64_t kv_be64_get(const uint8_t *p);

/* Decodes a stored record (-EIO if malformed). */
int kv_rec_decode(struct kv_bytes raw, struct kv_rec *rec);
/* A value record's header: kind, mtime and the SHA-256 of data. */
void kv_rec_value_header(uint8_t hdr[KV_REC_VALUE_HDR_BYTES], uint64_t mtime_ns,
			 const uint8_t *data, size_t len);
void kv_rec_dict(uint8_t rec[KV_REC_DICT_BYTES], uint64_t mtime_ns);

/* Makes room for one more element in a growable array *arr of *cap elements, n in use. */
int kv_array_grow(void *arr, size_t *cap, size_t n, size_t elem_bytes);

int kv_lmdb_backend_open(const char *dir, const struct kv_limits *lim,
			 const struct kv_backend_ops **ops, struct kv_backend **be);
int kv_memory_backend_open(const struct kv_limits *lim, const struct kv_backend_ops **ops,
			   struct kv_backend **be);

#endif
