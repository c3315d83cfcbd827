/* The store's read operations over a backend (kv_backend.h), and opening and closing.
 * Writes are in kv_write.c. */
#include "kv.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "kv_internal.h"

void kv_limits_default(struct kv_limits *lim)
{
	lim->map_size_bytes = KV_DEFAULT_MAP_SIZE_BYTES;
	lim->max_value_bytes = KV_DEFAULT_MAX_VALUE_BYTES;
	lim->wal_max_bytes = KV_DEFAULT_WAL_MAX_BYTES;
	lim->dirty_max_pages = KV_DEFAULT_DIRTY_MAX_PAGES;
	lim->wal_truncate = 0;
}

static int kv_new(const struct kv_backend_ops *ops, struct kv_backend *be,
		  const struct kv_limits *lim, struct kv **out)
{
	struct kv *kv = malloc(sizeof(*kv));

	if (!kv) {
		ops->close(be);
		return -ENOMEM;
	}
	kv->ops = ops;
	kv->be = be;
	kv->max_value_bytes = lim->max_value_bytes;
	kv->writes = 0;
	kv->dict_seen_len = 0;
	*out = kv;
	return 0;
}

int kv_open_lmdb(const char *dir, const struct kv_limits *lim, struct kv **out)
{
	const struct kv_backend_ops *ops;
	struct kv_backend *be;
	int r = kv_lmdb_backend_open(dir, lim, &ops, &be);

	return r < 0 ? r : kv_new(ops, be, lim, out);
}

int kv_open_memory(const struct kv_limits *lim, struct kv **out)
{
	const struct kv_backend_ops *ops;
	struct kv_backend *be;
	int r = kv_memory_backend_open(lim, &ops, &be);

	return r < 0 ? r : kv_new(ops, be, lim, out);
}

void kv_close(struct kv *kv)
{
	if (!kv)
		return;
	kv->ops->close(kv->be);
	free(kv);
}

int kv_checkpoint(struct kv *kv)
{
	return kv->ops->checkpoint ? kv->ops->checkpoint(kv->be) : 0;
}

bool kv_checkpoint_pending(struct kv *kv)
{
	return kv->ops->checkpoint_pending ? kv->ops->checkpoint_pending(kv->be) : false;
}

void kv_stats_get(struct kv *kv, struct kv_stats *st)
{
	*st = (struct kv_stats){ 0 };
	if (kv->ops->stats)
		kv->ops->stats(kv->be, st);
}

const char *kv_error_name(int err)
{
	switch (err) {
	case -ENOENT:
		return "not_found";
	case -ENOTDIR:
		return "dictionary_expected";
	case -EISDIR:
		return "value_expected";
	case -ENOSPC:
	case -EFBIG:
		return "no_space";
	case -EEXIST:
		return "already_present";
	case -EINVAL:
	case -ENAMETOOLONG:
		return "invalid_key";
	default:
		return "storage_error";
	}
}

int kv_lookup(struct kv *kv, struct kv_txn *txn, const struct kv_key *k, struct kv_rec *rec)
{
	struct kv_bytes raw;
	int r;

	if (kv_key_is_root(k)) {
		*rec = (struct kv_rec){ .kind = KV_DICTIONARY };
		return 0;
	}
	r = kv->ops->get(txn, (struct kv_bytes){ k->enc, k->len }, &raw);
	return r < 0 ? r : kv_rec_decode(raw, rec);
}

struct children_ctx {
	kv_child_fn fn;
	void *ctx;
};

static int children_one(struct kv_bytes key, struct kv_bytes value, void *arg)
{
	struct children_ctx *c = arg;
	struct kv_key child;
	struct kv_rec rec;
	int r = kv_key_from_enc(key.p, key.len, &child);

	if (r == 0)
		r = kv_rec_decode(value, &rec);
	return r < 0 ? r : c->fn(&child, &rec, c->ctx);
}

int kv_children(struct kv *kv, struct kv_txn *txn, const struct kv_key *dir, kv_child_fn fn,
		void *ctx)
{
	struct children_ctx c = { fn, ctx };
	struct kv_key prefix;

	kv_key_child_prefix(dir, &prefix);
	return kv->ops->scan(txn, (struct kv_bytes){ prefix.enc, prefix.len }, children_one, &c);
}

/* A read: parse the key, run fn in a read transaction, end it. */
typedef int (*read_fn)(struct kv *kv, struct kv_txn *txn, const struct kv_key *k, void *ctx);

static int kv_read(struct kv *kv, const char *key, read_fn fn, void *ctx)
{
	struct kv_txn *txn;
	struct kv_key k;
	int r = kv_key_parse(key, &k, NULL);

	if (r < 0)
		return r;
	r = kv->ops->begin(kv->be, false, &txn);
	if (r < 0)
		return r;
	r = fn(kv, txn, &k, ctx);
	kv->ops->abort(txn);
	return r;
}

static int exists_fn(struct kv *kv, struct kv_txn *txn, const struct kv_key *k, void *ctx)
{
	enum kv_kind *kind = ctx;
	struct kv_rec rec;
	int r = kv_lookup(kv, txn, k, &rec);

	if (r == -ENOENT) {
		*kind = KV_ABSENT;
		return 0;
	}
	if (r == 0)
		*kind = rec.kind;
	return r;
}

int kv_exists(struct kv *kv, const char *key, enum kv_kind *kind)
{
	return kv_read(kv, key, exists_fn, kind);
}

struct get_ctx {
	uint64_t offset;
	size_t length;
	uint8_t **value;
	size_t *len;
};

static int get_fn(struct kv *kv, struct kv_txn *txn, const struct kv_key *k, void *arg)
{
	struct get_ctx *g = arg;
	struct kv_rec rec;
	size_t n = 0;
	uint8_t *buf;
	int r = kv_lookup(kv, txn, k, &rec);

	if (r < 0)
		return r;
	if (rec.kind != KV_VALUE)
		return -EISDIR;
	if (g->offset < rec.len)
		n = rec.len - (size_t)g->offset < g->length ? rec.len - (size_t)g->offset
							    : g->length;
	buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	if (n)
		memcpy(buf, rec.data + g->offset, n);
	*g->value = buf;
	*g->len = n;
	return 0;
}

int kv_get(struct kv *kv, const char *key, uint8_t **value, size_t *len)
{
	struct get_ctx g = { 0, SIZE_MAX, value, len };

	return kv_read(kv, key, get_fn, &g);
}

int kv_get_partial(struct kv *kv, const char *key, uint64_t offset, size_t length,
		   uint8_t **value, size_t *len)
{
	struct get_ctx g = { offset, length, value, len };

	return kv_read(kv, key, get_fn, &g);
}

struct list_ctx {
	struct kv_entry *e;
	size_t n, cap;
};

static int list_one(const struct kv_key *child, const struct kv_rec *rec, void *arg)
{
	struct list_ctx *l = arg;
	size_t nlen;
	const uint8_t *name = kv_key_name(child, &nlen);

	if (kv_array_grow(&l->e, &l->cap, l->n, sizeof(*l->e)) < 0)
		return -ENOMEM;
	l->e[l->n].name = strndup((const char *)name, nlen);
	if (!l->e[l->n].name)
		return -ENOMEM;
	l->e[l->n].kind = rec->kind;
	l->n++;
	return 0;
}

static int list_fn(struct kv *kv, struct kv_txn *txn, const struct kv_key *k, void *arg)
{
	struct list_ctx *l = arg;
	struct kv_rec rec;
	int r = kv_lookup(kv, txn, k, &rec);

	if (r < 0)
		return r;
	if (rec.kind != KV_DICTIONARY)
		return -ENOTDIR;
	return kv_children(kv, txn, k, list_one, l);
}

void kv_entries_free(struct kv_entry *entries, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(entries[i].name);
	free(entries);
}

int kv_list(struct kv *kv, const char *key, struct kv_entry **entries, size_t *n)
{
	struct list_ctx l = { 0 };
	int r = kv_read(kv, key, list_fn, &l);

	if (r < 0) {
		kv_entries_free(l.e, l.n);
		return r;
	}
	*entries = l.e;
	*n = l.n;
	return 0;
}

static int mtime_one(const struct kv_key *child, const struct kv_rec *rec, void *arg)
{
	uint64_t *latest = arg;

	(void)child;
	if (rec->mtime_ns > *latest)
		*latest = rec->mtime_ns;
	return 0;
}

static int mtime_fn(struct kv *kv, struct kv_txn *txn, const struct kv_key *k, void *arg)
{
	uint64_t *mtime_ns = arg;
	struct kv_rec rec;
	int r = kv_lookup(kv, txn, k, &rec);

	if (r < 0)
		return r;
	*mtime_ns = rec.mtime_ns;
	return rec.kind == KV_DICTIONARY ? kv_children(kv, txn, k, mtime_one, mtime_ns) : 0;
}

int kv_last_modified(struct kv *kv, const char *key, uint64_t *mtime_ns)
{
	return kv_read(kv, key, mtime_fn, mtime_ns);
}

struct size_ctx {
	struct kv *kv;
	struct kv_txn *txn;
	uint64_t total;
};

static int size_one(const struct kv_key *child, const struct kv_rec *rec, void *arg)
{
	struct size_ctx *s = arg;

	if (rec->kind == KV_VALUE) {
		s->total += rec->len;
		return 0;
	}
	return kv_children(s->kv, s->txn, child, size_one, s);
}

static int size_fn(struct kv *kv, struct kv_txn *txn, const struct kv_key *k, void *arg)
{
	struct size_ctx s = { kv, txn, 0 };
	struct kv_rec rec;
	int r = kv_lookup(kv, txn, k, &rec);

	if (r < 0)
		return r;
	r = size_one(k, &rec, &s);
	*(uint64_t *)arg = s.total;
	return r;
}

int kv_size(struct kv *kv, const char *key, uint64_t *size_bytes)
{
	return kv_read(kv, key, size_fn, size_bytes);
}

/* A dictionary's digest (docs/kv.md, "Digests"): SHA-256 over its entries in byte order of
 * their names, each as kind ('v' or 'd'), the name's length (4 bytes, big-endian), the
 * name, and the entry's own digest (32 bytes). Order-independent by construction; a
 * dictionary's digest changes when anything below it changes. */
static int digest_of(struct kv *kv, struct kv_txn *txn, const struct kv_key *k,
		     const struct kv_rec *rec, uint8_t out[KV_DIGEST_BYTES]);

struct digest_ctx {
	struct kv *kv;
	struct kv_txn *txn;
	EVP_MD_CTX *md;
};

static int digest_one(const struct kv_key *child, const struct kv_rec *rec, void *arg)
{
	struct digest_ctx *d = arg;
	uint8_t hdr[5], sub[KV_DIGEST_BYTES];
	size_t nlen;
	const uint8_t *name = kv_key_name(child, &nlen);
	int r = digest_of(d->kv, d->txn, child, rec, sub);

	if (r < 0)
		return r;
	hdr[0] = rec->kind == KV_VALUE ? 'v' : 'd';
	hdr[1] = (uint8_t)(nlen >> 24);
	hdr[2] = (uint8_t)(nlen >> 16);
	hdr[3] = (uint8_t)(nlen >> 8);
	hdr[4] = (uint8_t)nlen;
	if (!EVP_DigestUpdate(d->md, hdr, sizeof(hdr)) || !EVP_DigestUpdate(d->md, name, nlen) ||
	    !EVP_DigestUpdate(d->md, sub, sizeof(sub)))
		return -EIO;
	return 0;
}

static int digest_of(struct kv *kv, struct kv_txn *txn, const struct kv_key *k,
		     const struct kv_rec *rec, uint8_t out[KV_DIGEST_BYTES])
{
	struct digest_ctx d = { kv, txn, NULL };
	int r;

	if (rec->kind == KV_VALUE) {
		memcpy(out, rec->digest, KV_DIGEST_BYTES);
		return 0;
	}
	/* One context per level: the children's digests are computed depth-first. */
	d.md = EVP_MD_CTX_new();
	if (!d.md)
		return -ENOMEM;
	r = EVP_DigestInit_ex(d.md, EVP_sha256(), NULL) ? 0 : -EIO;
	if (r == 0)
		r = kv_children(kv, txn, k, digest_one, &d);
	if (r == 0 && !EVP_DigestFinal_ex(d.md, out, NULL))
		r = -EIO;
	EVP_MD_CTX_free(d.md);
	return r;
}

static int digest_fn(struct kv *kv, struct kv_txn *txn, const struct kv_key *k, void *arg)
{
	struct kv_rec rec;
	int r = kv_lookup(kv, txn, k, &rec);

	return r < 0 ? r : digest_of(kv, txn, k, &rec, arg);
}

int kv_digest(struct kv *kv, const char *key, uint8_t digest[KV_DIGEST_BYTES])
{
	return kv_read(kv, key, digest_fn, digest);
}
