/* The LMDB backend: the store's records in the main database of an LMDB environment in the
 * state directory (data.mdb, lock.mdb). Opened without MDB_NOSYNC/MDB_NOMETASYNC/
 * MDB_WRITEMAP/MDB_MAPASYNC, so mdb_txn_commit() returns only after the data pages and then
 * the meta page are on disk (fdatasync of the data, then the meta page written through an
 * O_DSYNC descriptor): an acknowledged write survives kill -9 and a power loss (docs/kv.md,
 * "Durability"). LMDB is copy-on-write with two meta pages, so a crash at
 * any moment leaves the last committed transaction: no recovery step, no journal. */
#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kv_backend.h"

struct kv_backend {
	MDB_env *env;
	MDB_dbi dbi;
};

struct kv_txn {
	MDB_txn *txn;	 /* where reads and writes go: the child during a savepoint */
	MDB_txn *parent; /* the transaction itself during a savepoint, else NULL */
	MDB_dbi dbi;
};

/* LMDB's own codes to errno; system errors come through as they are. */
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
		return rc > 0 ? -rc : -EIO; /* errno from the system, or corruption */
	}
}

static MDB_val val_of(struct kv_bytes b)
{
	return (MDB_val){ .mv_size = b.len, .mv_data = (void *)b.p };
}

static int lmdb_begin(struct kv_backend *b, bool write, struct kv_txn **out)
{
	struct kv_txn *t = malloc(sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	rc = mdb_txn_begin(b->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
	if (rc != MDB_SUCCESS) {
		free(t);
		return lmdb_err(rc);
	}
	t->dbi = b->dbi;
	t->parent = NULL;
	*out = t;
	return 0;
}

static int lmdb_commit(struct kv_txn *t)
{
	int rc = mdb_txn_commit(t->txn);

	free(t);
	return lmdb_err(rc);
}

static void lmdb_abort(struct kv_txn *t)
{
	mdb_txn_abort(t->txn);
	free(t);
}

static int lmdb_get(struct kv_txn *t, struct kv_bytes key, struct kv_bytes *value)
{
	MDB_val k = val_of(key), v;
	int rc = mdb_get(t->txn, t->dbi, &k, &v);

	if (rc != MDB_SUCCESS)
		return lmdb_err(rc);
	*value = (struct kv_bytes){ v.mv_data, v.mv_size };
	return 0;
}

static int lmdb_put(struct kv_txn *t, struct kv_bytes key, const struct kv_bytes *parts,
		    size_t nparts)
{
	MDB_val k = val_of(key), v = { 0 };
	size_t off = 0;
	int rc;

	for (size_t p = 0; p < nparts; p++)
		v.mv_size += parts[p].len;
	/* MDB_RESERVE: LMDB hands out the space in the page and the parts go there directly,
	 * without assembling the record in a buffer first. */
	rc = mdb_put(t->txn, t->dbi, &k, &v, MDB_RESERVE);
	if (rc != MDB_SUCCESS)
		return lmdb_err(rc);
	for (size_t p = 0; p < nparts; p++) {
		memcpy((uint8_t *)v.mv_data + off, parts[p].p, parts[p].len);
		off += parts[p].len;
	}
	return 0;
}

static int lmdb_del(struct kv_txn *t, struct kv_bytes key)
{
	MDB_val k = val_of(key);

	return lmdb_err(mdb_del(t->txn, t->dbi, &k, NULL));
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
	return 0;
}

static int lmdb_sub_end(struct kv_txn *t, bool keep)
{
	int rc = MDB_SUCCESS;

	if (keep)
		rc = mdb_txn_commit(t->txn);
	else
		mdb_txn_abort(t->txn);
	t->txn = t->parent;
	t->parent = NULL;
	return lmdb_err(rc);
}

static int lmdb_grow(struct kv_backend *b, size_t extra_bytes)
{
	MDB_envinfo info;
	int rc = mdb_env_info(b->env, &info);

	if (rc == MDB_SUCCESS)
		rc = mdb_env_set_mapsize(b->env, info.me_mapsize + extra_bytes);
	return lmdb_err(rc);
}

static void lmdb_close(struct kv_backend *b)
{
	mdb_env_close(b->env);
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
	rc = mdb_env_create(&b->env);
	if (rc != MDB_SUCCESS) {
		free(b);
		return lmdb_err(rc);
	}
	/* An existing file larger than the map keeps its size (LMDB takes the larger). */
	/* The key encoding's limit must fit LMDB's (511 bytes unless built otherwise). */
	if (mdb_env_get_maxkeysize(b->env) < KV_KEY_MAX_BYTES) {
		mdb_env_close(b->env);
		free(b);
		return -ENAMETOOLONG;
	}
	rc = mdb_env_set_mapsize(b->env, lim->map_size_bytes);
	if (rc == MDB_SUCCESS)
		rc = mdb_env_open(b->env, dir, 0, 0640);
	if (rc != MDB_SUCCESS)
		goto fail;
	/* Slots of readers killed before they ended their read transaction (kill -9). */
	mdb_reader_check(b->env, &dead);
	rc = mdb_txn_begin(b->env, NULL, 0, &txn);
	if (rc != MDB_SUCCESS)
		goto fail;
	rc = mdb_dbi_open(txn, NULL, 0, &b->dbi);
	if (rc != MDB_SUCCESS) {
		mdb_txn_abort(txn);
		goto fail;
	}
	rc = mdb_txn_commit(txn);
	if (rc != MDB_SUCCESS)
		goto fail;
	*ops = &lmdb_ops;
	*be = b;
	return 0;
fail:
	r = lmdb_err(rc);
	mdb_env_close(b->env);
	free(b);
	return r;
}
