/* The LMDB backend: the store's records in the main database of an LMDB environment in the
 * state directory (data.mdb, lock.mdb), behind a redo log of our own (kv_wal.h, wal.log).
 *
 * Why (docs/performance.md, "Write-ahead log"): an LMDB commit rewrites every leaf page a
 * transaction touched plus the path to the root, then flushes twice (fdatasync of the
 * data, then the meta page through O_DSYNC). The log makes a commit one short sequential
 * write and one fdatasync, and LMDB commits only at checkpoints:
 *
 * - One long-lived LMDB write transaction (main) holds everything since the last
 *   checkpoint. A store transaction writes straight into main and keeps a log buffer of
 *   its physical operations; its commit appends the buffer to the log and flushes it.
 *   Reads go through main: they see every acknowledged write, and nothing unacknowledged
 *   (a single writer, and a reply waits for the commit). No nested transaction per store
 *   transaction: LMDB's copies of each touched page into the child and the merge back
 *   were most of a group's cost (docs/performance.md, "Group commit straight into main").
 * - Undoing a store transaction that wrote (abort, or a failed append/fdatasync) abandons
 *   main and rebuilds it from the last checkpoint plus the log (main_restart()): the
 *   failed group's record was invalidated first (kv_wal_append), so the rebuild holds
 *   exactly the acknowledged writes. kv_write.c keeps that rare: savepoints (nested
 *   transactions) remain for undoing one batch of a group.
 * - A checkpoint stores the last logged seq and a new salt for the log's next generation
 *   under a reserved key (KV_LMDB_APPLIED_KEY: depth byte 0, which no key encoding has,
 *   so no scan or lookup of the store meets it) and commits main with LMDB's synced
 *   commit; then the log starts again. A failed commit leaves the log as it is, and main
 *   is rebuilt from it (main_resume()).
 * - Opening replays the log records past that seq into main and checkpoints (also when
 *   the store is of the previous version, whose applied seq has no salt).
 *
 * LMDB is opened without MDB_NOSYNC/MDB_NOMETASYNC/MDB_WRITEMAP/MDB_MAPASYNC, so a
 * checkpoint is on disk when mdb_txn_commit() returns, and a crash at any moment leaves
 * the last checkpoint (copy on write, two meta pages) plus the log: docs/kv.md,
 * "Durability". */
#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kv_backend.h"
#include "kv_wal.h"

/* Outside the key encoding (kv_key.h: depth byte 0 is never stored). Its value: the
 * applied seq (8 bytes, big-endian), then the salt of the log's generation after it
 * (kv_wal.h); 8 bytes alone in a store of the previous version (no salt). */
static const uint8_t KV_LMDB_APPLIED_KEY[] = { 0, 'w', 'a', 'l', '-', 's', 'e', 'q' };
#define KV_LMDB_APPLIED_OLD_BYTES 8
#define KV_LMDB_APPLIED_BYTES (8 + KV_WAL_SALT_BYTES)
/* A group whose log payload would be larger is checkpointed instead of logged: a 16 MiB
 * value is then written once to LMDB rather than to the log and then to LMDB. */
#define KV_LMDB_GROUP_LOG_MAX_BYTES ((size_t)1 << 20)

/* The log payload of the open store transaction (kv_wal.h). */
struct kv_lmdb_log {
	uint8_t *p;
	size_t len, cap;
	bool overflow; /* over KV_LMDB_GROUP_LOG_MAX_BYTES: checkpoint, nothing in p */
};

struct kv_txn {
	struct kv_backend *b;
	MDB_txn *txn;	 /* where reads and writes go: the innermost */
	MDB_txn *parent; /* main during a savepoint, else NULL */
	MDB_dbi dbi;
	bool write;
	bool wrote;	    /* main itself was written: an abort must rebuild it */
	size_t sub_log_len; /* the log buffer at sub_begin */
};

struct kv_backend {
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *main;	     /* the long-lived write transaction; NULL until started again */
	/* Gets and puts in main go through this one cursor (main_cursor()). NULL until its
	 * first use in each main. */
	MDB_cursor *cur;
	struct kv_wal *wal;
	uint64_t applied_seq; /* the last seq the last checkpoint holds */
	bool applied_old;	 /* the applied seq is in the previous version's form (no salt) */
	uint64_t last_seq;    /* the last seq in the log */
	bool dirty;	      /* main holds writes since the last checkpoint */
	/* Bounds of the pages main holds dirty (dirty_bound()), since the last checkpoint:
	 * op_pages() of every operation, and of what an operation may have freed. */
	uint64_t dirty_pages;
	uint64_t freed_pages;
	uint64_t dirty_max_pages;
	size_t wal_max_bytes;
	/* After a failed automatic checkpoint: the log size from which the next may be tried
	 * (auto_checkpoint()); 0 after a checkpoint that worked. */
	uint64_t auto_retry_bytes;
	struct kv_lmdb_log log;
	struct kv_stats stats;
	/* The transaction handle when free (nearly always: one is open at a time), so that
	 * a begin needs no malloc. */
	struct kv_txn slot;
	bool slot_busy;
};

/* An error of the files' I/O as the store reports it. EFBIG there is a file size limit
 * (RLIMIT_FSIZE; the daemon ignores SIGXFSZ): a storage failure, no_space, not the store's
 * own EFBIG for a value over its size limit (kv_write.c), which the client hears as
 * "value_too_large" (docs/kv.md, "Failures"). */
static int io_err(int r)
{
	return r == -EFBIG ? -ENOSPC : r;
}

/* LMDB's own codes to errno; system errors come through as they are (io_err()). */
static int lmdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_PAGE_FULL:
		return -ENOSPC;
	case MDB_BAD_VALSIZE:
		return -ENAMETOOLONG; /* a key over mdb_env_get_maxkeysize() */
	default:
		return rc > 0 ? io_err(-rc) : -EIO; /* errno from the system, or corruption */
	}
}

static MDB_val val_of(struct kv_bytes b)
{
	return (MDB_val){ .mv_size = b.len, .mv_data = (void *)b.p };
}

/* Replay: one operation of a log record, into main. The log holds only operations that
 * succeeded on this very state, so any failure means the files disagree: -EIO. */
static int replay_op(const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen,
		     void *arg)
{
	struct kv_backend *b = arg;
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)value };
	int rc;

	if (klen > (size_t)mdb_env_get_maxkeysize(b->env) || key[0] == 0)
		return -EIO;
	rc = value ? mdb_put(b->main, b->dbi, &k, &v, 0) : mdb_del(b->main, b->dbi, &k, NULL);
	if (rc == MDB_NOTFOUND)
		return -EIO;
	return lmdb_err(rc);
}

static int replay_record(uint64_t seq, const uint8_t *payload, size_t len, void *arg)
{
	(void)seq;
	return kv_wal_payload_parse(payload, len, replay_op, arg);
}

/* Ends main, committed or not; its cursor first (LMDB would free it with a write
 * transaction, but the pointer must not outlive it). */
static int main_end(struct kv_backend *b, bool commit)
{
	int rc = MDB_SUCCESS;

	if (b->cur)
		mdb_cursor_close(b->cur);
	b->cur = NULL;
	if (commit)
		rc = mdb_txn_commit(b->main);
	else
		mdb_txn_abort(b->main);
	b->main = NULL;
	return rc;
}

/* Begins main and brings it up to date: the last checkpoint plus the log. opening: the
 * store is being opened, so what the replay applied and met is counted
 * (KvWalReplayedRecords, KvWalForgedRecords); every other start (a rebuild, a retry of
 * one, after a checkpoint or growing the map) reads the same log again, or an empty one. */
static int main_start(struct kv_backend *b, bool opening)
{
	MDB_val k = { sizeof(KV_LMDB_APPLIED_KEY), (void *)KV_LMDB_APPLIED_KEY }, v;
	struct kv_wal_salt salt = { 0 }; /* none: a new store, or the previous version's */
	struct kv_wal_replayed got;
	uint64_t applied = 0;
	int rc = mdb_txn_begin(b->env, NULL, 0, &b->main), r;

	if (rc != MDB_SUCCESS) {
		b->main = NULL;
		return lmdb_err(rc);
	}
	rc = mdb_get(b->main, b->dbi, &k, &v);
	if (rc == MDB_SUCCESS && (v.mv_size == KV_LMDB_APPLIED_BYTES ||
				  v.mv_size == KV_LMDB_APPLIED_OLD_BYTES)) {
		applied = kv_be64_get(v.mv_data);
		salt.set = v.mv_size == KV_LMDB_APPLIED_BYTES;
		if (salt.set)
			memcpy(salt.bytes, (uint8_t *)v.mv_data + 8, KV_WAL_SALT_BYTES);
	} else if (rc == MDB_SUCCESS) {
		rc = MDB_CORRUPTED;
	}
	r = rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
	if (r == 0)
		r = kv_wal_replay(b->wal, applied, &salt, replay_record, b, &got);
	if (r < 0) {
		main_end(b, false);
		return r;
	}
	b->applied_seq = applied;
	b->applied_old = rc == MDB_SUCCESS && !salt.set;
	b->last_seq = got.last_seq;
	b->dirty = got.records > 0;
	if (opening) {
		b->stats.replayed_records += got.records;
		b->stats.wal_forged_records += got.forged;
	}
	return 0;
}

/* Main holds writes that must not count (an abort, a failed append or commit): start it
 * again from the checkpoint and the log. On an error main stays NULL and the next begin
 * tries again; either way nothing unacknowledged is visible. */
static int main_restart(struct kv_backend *b)
{
	if (b->main)
		main_end(b, false);
	b->stats.main_rebuilds++;
	return main_start(b, false);
}

/* Ends main: commits it with the applied seq and a new salt (if it holds writes) and starts
 * the log again. main is NULL afterwards whatever happened; on an error the log still holds
 * every write since the checkpoint before, and main_start() brings them back. */
static int checkpoint_end(struct kv_backend *b)
{
	MDB_val k = { sizeof(KV_LMDB_APPLIED_KEY), (void *)KV_LMDB_APPLIED_KEY };
	MDB_val v = { KV_LMDB_APPLIED_BYTES, NULL };
	struct kv_wal_salt salt;
	int rc, r;

	if (!b->main)
		return 0;
	if (!b->dirty) {
		main_end(b, false);
		return 0;
	}
	/* A new salt each generation: the old records left in the recycled file (and any
	 * record a value holds) fail the next generation's tag check (kv_wal.h). */
	r = kv_wal_salt_draw(&salt);
	if (r < 0) {
		main_end(b, false);
		b->stats.checkpoint_failures++;
		return r;
	}
	rc = mdb_put(b->main, b->dbi, &k, &v, MDB_RESERVE);
	if (rc == MDB_SUCCESS) {
		kv_be64_put(v.mv_data, b->last_seq);
		memcpy((uint8_t *)v.mv_data + 8, salt.bytes, KV_WAL_SALT_BYTES);
		rc = main_end(b, true);
	} else {
		main_end(b, false);
	}
	if (rc != MDB_SUCCESS) {
		b->stats.checkpoint_failures++;
		return lmdb_err(rc);
	}
	b->applied_seq = b->last_seq;
	b->dirty = false;
	b->dirty_pages = 0;
	b->freed_pages = 0;
	b->auto_retry_bytes = 0;
	b->stats.checkpoints++;
	/* The checkpoint holds: a log that could not be truncated still replays correctly
	 * (the next record goes to offset 0 anyway, and the old ones are covered). */
	kv_wal_restart(b->wal, &salt);
	return 0;
}

/* Main again after checkpoint_end(). After a failed one it is a rebuild from the
 * checkpoint before and the log (main_restart(): counted as one, and not as records
 * replayed by an open, which KvWalReplayedRecords counts). */
static int main_resume(struct kv_backend *b, int checkpoint_r)
{
	return checkpoint_r < 0 ? main_restart(b) : main_start(b, false);
}

static int lmdb_checkpoint(struct kv_backend *b)
{
	int r = checkpoint_end(b), r2 = main_resume(b, r);

	return r < 0 ? r : r2;
}

/* LMDB reuses a page freed by a commit only from the second commit after it (a reader
 * may still use the snapshot before it): two checkpoints in a row, forced (each rewrites
 * the applied seq), whatever the last one was. Only on a full map: it costs two synced
 * LMDB commits. */
static int lmdb_reclaim(struct kv_backend *b)
{
	int r;

	b->dirty = true;
	r = lmdb_checkpoint(b);
	if (r == 0) {
		b->dirty = true;
		r = lmdb_checkpoint(b);
	}
	return r < 0 ? r : 1;
}

static bool lmdb_checkpoint_pending(struct kv_backend *b)
{
	return b->dirty;
}

static void lmdb_stats(struct kv_backend *b, struct kv_stats *st)
{
	*st = b->stats;
	st->wal_pending_bytes = kv_wal_bytes(b->wal);
}

static void txn_free(struct kv_txn *t)
{
	if (t == &t->b->slot)
		t->b->slot_busy = false;
	else
		free(t);
}

static int lmdb_begin(struct kv_backend *b, bool write, struct kv_txn **out)
{
	struct kv_txn *t;

	if (!b->main) {
		int r = main_start(b, false); /* a start or rebuild that failed: again */

		if (r < 0)
			return r;
	}
	if (!b->slot_busy) {
		t = &b->slot;
		b->slot_busy = true;
	} else {
		t = malloc(sizeof(*t));
		if (!t)
			return -ENOMEM;
	}
	*t = (struct kv_txn){ .b = b, .txn = b->main, .dbi = b->dbi, .write = write };
	if (write) {
		b->log.len = 0;
		b->log.overflow = false;
	}
	*out = t;
	return 0;
}

/* Room for n more bytes in the log buffer, or the overflow (then NULL). */
static uint8_t *log_reserve(struct kv_lmdb_log *l, size_t n)
{
	uint8_t *p;

	if (l->overflow || n > KV_LMDB_GROUP_LOG_MAX_BYTES - l->len) {
		l->overflow = true;
		return NULL;
	}
	if (l->len + n > l->cap) {
		size_t cap = l->cap ? l->cap : 4096;

		while (cap < l->len + n)
			cap *= 2;
		p = realloc(l->p, cap);
		if (!p) {
			l->overflow = true; /* a checkpoint needs no buffer */
			return NULL;
		}
		l->p = p;
		l->cap = cap;
	}
	p = l->p + l->len;
	l->len += n;
	return p;
}

/* A rough bound of the pages an operation dirties: a path of the B-tree (4 levels hold
 * millions of keys) plus the overflow pages of a large record. */
static uint64_t op_pages(size_t klen, size_t vlen)
{
	return 4 + (klen + vlen) / 4096;
}

/* The pages of one of main's trees (FREE_DBI is 0 in LMDB: its free-page list). */
static uint64_t tree_pages(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_stat st;

	if (mdb_stat(txn, dbi, &st) != MDB_SUCCESS)
		return UINT64_MAX;
	return (uint64_t)st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
}

/* How many pages main may hold dirty: they live in memory until the checkpoint, which
 * comes once this reaches dirty_max_pages. The sum of op_pages() alone counts a page
 * once per write to it: a workload rewriting the same 10000 keys (a tree of ~400 pages)
 * reached 32768 every 8192 sets and checkpointed 35 times a second (docs/performance.md,
 * "A batched set: one tree search, ..."). A dirty page is either in one of the two trees
 * now (LMDB copies a page once per transaction) or was freed since it was dirtied (a
 * delete, a large record overwritten: freed_pages), which bounds them too. Both are cheap
 * to read (mdb_stat() copies the transaction's tree header). */
static uint64_t dirty_bound(struct kv_backend *b)
{
	uint64_t trees;

	if (b->dirty_pages < b->dirty_max_pages)
		return b->dirty_pages;
	trees = tree_pages(b->main, b->dbi) + tree_pages(b->main, 0);
	if (trees >= b->dirty_pages || b->freed_pages >= b->dirty_pages - trees)
		return b->dirty_pages; /* also when mdb_stat() failed (UINT64_MAX) */
	return trees + b->freed_pages;
}

/* The checkpoint lmdb_commit() runs once the log or the dirty pages are over their limit.
 * Each failed try rebuilds main from the whole log (main_resume()): while the cause lasts
 * (a full disk, say: LMDB cannot grow data.mdb while the log still takes records where
 * old ones were), trying after every group would make each write replay up to 64 MiB.
 * So after a failure the next automatic try waits until the log grew by an eighth of its
 * limit; kv_checkpoint() (the daemon's timer, which backs off on its own) tries whenever
 * it is called. */
static void auto_checkpoint(struct kv_backend *b)
{
	if (kv_wal_bytes(b->wal) < b->auto_retry_bytes)
		return;
	if (lmdb_checkpoint(b) < 0)
		b->auto_retry_bytes = kv_wal_bytes(b->wal) + b->wal_max_bytes / 8;
}

static int lmdb_commit(struct kv_txn *t)
{
	struct kv_backend *b = t->b;
	bool write = t->write;
	int r;

	txn_free(t);
	if (!write)
		return 0;
	/* Nothing logged: nothing in main changed (what savepoints undid is gone). */
	if (!b->log.overflow && b->log.len == 0)
		return 0;
	if (b->log.overflow) {
		/* Too large to log: durable through a checkpoint right away. A failed one
		 * abandoned main (checkpoint_end): main_start() rebuilds it without this
		 * group, so the error is true. */
		b->dirty = true;
		r = checkpoint_end(b);
		main_resume(b, r); /* else the next begin tries again: the group's result holds */
		return r;
	}
	r = kv_wal_append(b->wal, b->last_seq + 1, b->log.p, b->log.len);
	if (r < 0) {
		/* The record was invalidated (kv_wal_append): rebuilt without it, main holds
		 * exactly the acknowledged writes again. */
		main_restart(b);
		return io_err(r);
	}
	b->last_seq++;
	b->dirty = true;
	b->stats.wal_records++;
	b->stats.wal_bytes += KV_WAL_HDR_BYTES + b->log.len;
	/* Durable now; a failed checkpoint leaves it in the log (and is counted). */
	if (kv_wal_bytes(b->wal) >= b->wal_max_bytes || dirty_bound(b) >= b->dirty_max_pages)
		auto_checkpoint(b);
	return 0;
}

static void lmdb_abort(struct kv_txn *t)
{
	struct kv_backend *b = t->b;
	bool wrote = t->wrote;

	if (t->parent)
		mdb_txn_abort(t->txn); /* an open savepoint */
	txn_free(t);
	if (wrote)
		main_restart(b);
}

/* A write is about to reach main itself (no savepoint open): from now on only a rebuild
 * undoes it. Set before the call: a failed mdb_put() may leave main unusable
 * (MDB_TXN_ERROR). */
static void note_write(struct kv_txn *t)
{
	if (!t->parent)
		t->wrote = true;
}

/* The cursor for t's reads and writes when they go to main itself (no savepoint open: a
 * savepoint's child transaction has cursors of its own), opened on first use; NULL
 * otherwise or when it cannot be had (then mdb_get/mdb_put search as usual). */
static MDB_cursor *main_cursor(struct kv_txn *t)
{
	struct kv_backend *b = t->b;

	if (t->txn != b->main)
		return NULL;
	if (!b->cur && mdb_cursor_open(b->main, b->dbi, &b->cur) != MDB_SUCCESS)
		b->cur = NULL;
	return b->cur;
}

static int lmdb_get(struct kv_txn *t, struct kv_bytes key, struct kv_bytes *value)
{
	MDB_cursor *cur = main_cursor(t);
	MDB_val k = val_of(key), v;
	int rc;

	if (cur)
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	else
		rc = mdb_get(t->txn, t->dbi, &k, &v);
	if (rc != MDB_SUCCESS)
		return lmdb_err(rc);
	*value = (struct kv_bytes){ v.mv_data, v.mv_size };
	return 0;
}

static int lmdb_put(struct kv_txn *t, struct kv_bytes key, const struct kv_bytes *parts,
		    size_t nparts)
{
	MDB_cursor *cur = main_cursor(t);
	MDB_val k = val_of(key), v = { 0 };
	size_t off = 0;
	uint8_t *lr;
	int rc;

	for (size_t p = 0; p < nparts; p++)
		v.mv_size += parts[p].len;
	note_write(t);
	/* MDB_RESERVE: LMDB hands out the space in the page and the parts go there directly,
	 * without assembling the record in a buffer first. Through main's cursor: a set has
	 * just looked the same key up with it (kv_write.c), and LMDB's cursor search tries
	 * the cursor's leaf page first (its first, last and current keys) before it searches
	 * the tree from the root, as mdb_put() always does. A record of the same size is
	 * then overwritten in place. */
	if (cur)
		rc = mdb_cursor_put(cur, &k, &v, MDB_RESERVE);
	else
		rc = mdb_put(t->txn, t->dbi, &k, &v, MDB_RESERVE);
	if (rc != MDB_SUCCESS)
		return lmdb_err(rc);
	for (size_t p = 0; p < nparts; p++) {
		memcpy((uint8_t *)v.mv_data + off, parts[p].p, parts[p].len);
		off += parts[p].len;
	}
	t->b->dirty_pages += op_pages(key.len, v.mv_size);
	t->b->freed_pages += v.mv_size / 4096; /* may overwrite a large record */
	/* The record as LMDB now holds it: the log replays it byte for byte. */
	lr = log_reserve(&t->b->log, KV_WAL_PUT_HDR_BYTES + key.len + v.mv_size);
	if (lr) {
		kv_wal_op_hdr(lr, KV_WAL_OP_PUT, key.len, v.mv_size);
		memcpy(lr + KV_WAL_PUT_HDR_BYTES, key.p, key.len);
		memcpy(lr + KV_WAL_PUT_HDR_BYTES + key.len, v.mv_data, v.mv_size);
	}
	return 0;
}

static int lmdb_del(struct kv_txn *t, struct kv_bytes key)
{
	MDB_val k = val_of(key);
	uint8_t *lr;
	int rc;

	note_write(t);
	/* Through a cursor of its own: LMDB moves the others (main's) past the deleted node. */
	rc = mdb_del(t->txn, t->dbi, &k, NULL);
	if (rc != MDB_SUCCESS)
		return lmdb_err(rc);
	t->b->dirty_pages += op_pages(key.len, 0);
	t->b->freed_pages += op_pages(key.len, 0); /* a leaf, and maybe the path above it */
	lr = log_reserve(&t->b->log, KV_WAL_DEL_HDR_BYTES + key.len);
	if (lr) {
		kv_wal_op_hdr(lr, KV_WAL_OP_DEL, key.len, 0);
		memcpy(lr + KV_WAL_DEL_HDR_BYTES, key.p, key.len);
	}
	return 0;
}

static int lmdb_scan(struct kv_txn *t, struct kv_bytes prefix, kv_scan_fn fn, void *ctx)
{
	MDB_cursor *cur;
	MDB_val k = val_of(prefix), v;
	int rc, r = 0;

	rc = mdb_cursor_open(t->txn, t->dbi, &cur);
	if (rc != MDB_SUCCESS)
		return lmdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < prefix.len || memcmp(k.mv_data, prefix.p, prefix.len) != 0)
			break;
		r = fn((struct kv_bytes){ k.mv_data, k.mv_size },
		       (struct kv_bytes){ v.mv_data, v.mv_size }, ctx);
		if (r != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (r != 0)
		return r < 0 ? r : 0;
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

/* A savepoint is an LMDB nested transaction: its commit merges into the parent, its
 * abort drops only what it wrote. */
static int lmdb_sub_begin(struct kv_txn *t)
{
	MDB_txn *child;
	int rc = mdb_txn_begin(mdb_txn_env(t->txn), t->txn, 0, &child);

	if (rc != MDB_SUCCESS)
		return lmdb_err(rc);
	t->parent = t->txn;
	t->txn = child;
	t->sub_log_len = t->b->log.len;
	return 0;
}

static int lmdb_sub_end(struct kv_txn *t, bool keep)
{
	int rc = MDB_SUCCESS;

	if (keep)
		rc = mdb_txn_commit(t->txn);
	else
		mdb_txn_abort(t->txn);
	/* Undone: so are its log operations (an overflow stays: the checkpoint it leads to
	 * is right whatever was undone). */
	if ((!keep || rc != MDB_SUCCESS) && !t->b->log.overflow)
		t->b->log.len = t->sub_log_len;
	if (keep && rc == MDB_SUCCESS)
		t->wrote = true; /* merged into main */
	t->txn = t->parent;
	t->parent = NULL;
	return lmdb_err(rc);
}

/* The map can only change outside any transaction: checkpoint, grow, start again. The
 * next checkpoint is forced at once so that the meta page records the new size before
 * any write needs it (a replay after a crash must fit the map it opens with). */
static int lmdb_grow(struct kv_backend *b, size_t extra_bytes)
{
	MDB_envinfo info;
	int r = checkpoint_end(b), rc;

	if (r < 0) {
		main_resume(b, r);
		return r;
	}
	rc = mdb_env_info(b->env, &info);
	if (rc == MDB_SUCCESS)
		rc = mdb_env_set_mapsize(b->env, info.me_mapsize + extra_bytes);
	r = main_start(b, false);
	if (r < 0 || rc != MDB_SUCCESS)
		return rc != MDB_SUCCESS ? lmdb_err(rc) : r;
	b->dirty = true;
	return lmdb_checkpoint(b);
}

static void lmdb_close(struct kv_backend *b)
{
	/* Not needed for durability (the log has every write), but the next open then has
	 * nothing to replay. */
	checkpoint_end(b);
	mdb_env_close(b->env);
	kv_wal_close(b->wal);
	free(b->log.p);
	free(b);
}

static const struct kv_backend_ops lmdb_ops = {
	.begin = lmdb_begin,
	.commit = lmdb_commit,
	.abort = lmdb_abort,
	.get = lmdb_get,
	.put = lmdb_put,
	.del = lmdb_del,
	.scan = lmdb_scan,
	.sub_begin = lmdb_sub_begin,
	.sub_end = lmdb_sub_end,
	.grow = lmdb_grow,
	.checkpoint = lmdb_checkpoint,
	.checkpoint_pending = lmdb_checkpoint_pending,
	.reclaim = lmdb_reclaim,
	.stats = lmdb_stats,
	.close = lmdb_close,
};

int kv_lmdb_backend_open(const char *dir, const struct kv_limits *lim,
			 const struct kv_backend_ops **ops, struct kv_backend **be)
{
	struct kv_backend *b;
	MDB_txn *txn;
	int rc, dead, r;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->wal_max_bytes = lim->wal_max_bytes ? lim->wal_max_bytes : KV_DEFAULT_WAL_MAX_BYTES;
	b->dirty_max_pages = lim->dirty_max_pages ? lim->dirty_max_pages : KV_DEFAULT_DIRTY_MAX_PAGES;
	/* First the lock: -EBUSY for a second process (kv_wal_open). */
	r = kv_wal_open(dir, !lim->wal_truncate, &b->wal);
	if (r < 0) {
		free(b);
		return r;
	}
	rc = mdb_env_create(&b->env);
	if (rc != MDB_SUCCESS) {
		r = lmdb_err(rc);
		goto fail_wal;
	}
	/* An existing file larger than the map keeps its size (LMDB takes the larger). */
	/* The key encoding's limit must fit LMDB's (511 bytes unless built otherwise). */
	if (mdb_env_get_maxkeysize(b->env) < KV_KEY_MAX_BYTES) {
		r = -ENAMETOOLONG;
		goto fail_env;
	}
	rc = mdb_env_set_mapsize(b->env, lim->map_size_bytes);
	if (rc == MDB_SUCCESS)
		rc = mdb_env_open(b->env, dir, 0, 0640);
	if (rc != MDB_SUCCESS)
		goto fail_rc;
	/* Slots of readers killed before they ended their read transaction (kill -9). */
	mdb_reader_check(b->env, &dead);
	rc = mdb_txn_begin(b->env, NULL, 0, &txn);
	if (rc != MDB_SUCCESS)
		goto fail_rc;
	rc = mdb_dbi_open(txn, NULL, 0, &b->dbi);
	if (rc != MDB_SUCCESS) {
		mdb_txn_abort(txn);
		goto fail_rc;
	}
	rc = mdb_txn_commit(txn);
	if (rc != MDB_SUCCESS)
		goto fail_rc;
	/* The log's writes since the last checkpoint, then a checkpoint of them; in a store of
	 * the previous version also when there were none, so that the records appended from
	 * now on are tagged (the checkpoint draws a salt). A new store draws its salt at its
	 * first checkpoint (docs/kv.md, "Durability": a commit more at creation left a map of
	 * a few pages unable to commit a removal once full). */
	r = main_start(b, true);
	if (r == 0 && (b->dirty || b->applied_old)) {
		b->dirty = true;
		r = lmdb_checkpoint(b);
	}
	if (r < 0)
		goto fail_main;
	*ops = &lmdb_ops;
	*be = b;
	return 0;
fail_rc:
	r = lmdb_err(rc);
fail_main:
	if (b->main)
		main_end(b, false);
fail_env:
	mdb_env_close(b->env);
fail_wal:
	kv_wal_close(b->wal);
	free(b->log.p);
	free(b);
	return r;
}
