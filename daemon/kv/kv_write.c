/* The store's writes. Every write, single or batch, is a list of operations applied in one
 * write transaction of the backend: any error aborts the transaction, so nothing of a
 * failed batch is applied, and success is reported only once the commit returned (for
 * LMDB: on disk). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kv_internal.h"

#define KV_REMOVE_HEADROOM_BYTES ((size_t)1 << 20)

static int put_dict(struct kv *kv, struct kv_txn *txn, const struct kv_key *k, uint64_t now_ns)
{
	uint8_t rec[KV_REC_DICT_BYTES];
	struct kv_bytes part = { rec, sizeof(rec) };

	kv_rec_dict(rec, now_ns);
	return kv->ops->put(txn, (struct kv_bytes){ k->enc, k->len }, &part, 1);
}

static int put_value(struct kv *kv, struct kv_txn *txn, const struct kv_key *k,
		     const uint8_t *data, size_t len, uint64_t now_ns)
{
	uint8_t hdr[KV_REC_VALUE_HDR_BYTES];
	struct kv_bytes parts[2] = { { hdr, sizeof(hdr) }, { data, len } };

	kv_rec_value_header(hdr, now_ns, data, len);
	return kv->ops->put(txn, (struct kv_bytes){ k->enc, k->len }, parts, 2);
}

/* Creates the missing dictionaries above k, top down (design.md §2: set creates parents);
 * a value on the way is dictionary_expected. */
static int make_parents(struct kv *kv, struct kv_txn *txn, const struct kv_key *k,
			uint64_t now_ns)
{
	struct kv_key anc;
	struct kv_rec rec;
	unsigned depth = kv_key_depth(k);

	for (unsigned d = 1; d < depth; d++) {
		int r;

		/* The ancestor at depth d: k cut after its d-th segment. */
		anc = *k;
		while (kv_key_depth(&anc) > d)
			kv_key_parent(&anc, &anc);
		r = kv_lookup(kv, txn, &anc, &rec);
		if (r == -ENOENT)
			r = put_dict(kv, txn, &anc, now_ns);
		else if (r == 0 && rec.kind != KV_DICTIONARY)
			r = -ENOTDIR;
		if (r < 0)
			return r;
	}
	return 0;
}

static int op_set(struct kv *kv, struct kv_txn *txn, const struct kv_key *k, const void *data,
		  size_t len, uint64_t now_ns)
{
	struct kv_rec rec;
	int r;

	if (kv_key_is_root(k))
		return -EISDIR;
	if (len > kv->max_value_bytes)
		return -EFBIG;
	r = kv_lookup(kv, txn, k, &rec);
	if (r == 0 && rec.kind == KV_DICTIONARY)
		return -EISDIR;
	if (r < 0 && r != -ENOENT)
		return r;
	r = make_parents(kv, txn, k, now_ns);
	return r < 0 ? r : put_value(kv, txn, k, data, len, now_ns);
}

static int op_set_partial(struct kv *kv, struct kv_txn *txn, const struct kv_key *k,
			  uint64_t offset, const void *data, size_t len, uint64_t now_ns)
{
	struct kv_rec rec = { .kind = KV_ABSENT };
	size_t old_len = 0, new_len;
	uint8_t *buf;
	int r;

	if (kv_key_is_root(k))
		return -EISDIR;
	if (offset > kv->max_value_bytes || len > kv->max_value_bytes - offset)
		return -EFBIG;
	r = kv_lookup(kv, txn, k, &rec);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0 && rec.kind == KV_DICTIONARY)
		return -EISDIR;
	if (r == 0)
		old_len = rec.len;
	new_len = old_len > offset + len ? old_len : (size_t)offset + len;
	/* A copy: the old value lives in the backend's pages, which the put may move. */
	buf = calloc(1, new_len ? new_len : 1);
	if (!buf)
		return -ENOMEM;
	if (old_len)
		memcpy(buf, rec.data, old_len);
	if (len)
		memcpy(buf + offset, data, len);
	r = make_parents(kv, txn, k, now_ns);
	if (r == 0)
		r = put_value(kv, txn, k, buf, new_len, now_ns);
	free(buf);
	return r;
}

/* The keys of a dictionary's direct children, copied out of the scan so that the caller
 * may write (delete, move) while going through them. */
struct key_item {
	struct kv_key k;
	enum kv_kind kind;
};

struct key_list {
	struct key_item *e;
	size_t n, cap;
};

static int collect_one(const struct kv_key *child, const struct kv_rec *rec, void *arg)
{
	struct key_list *l = arg;

	if (kv_array_grow(&l->e, &l->cap, l->n, sizeof(*l->e)) < 0)
		return -ENOMEM;
	l->e[l->n].k = *child;
	l->e[l->n].kind = rec->kind;
	l->n++;
	return 0;
}

static void key_list_free(struct key_list *l)
{
	free(l->e);
}

/* Deletes everything below dir (not dir itself). */
static int remove_children(struct kv *kv, struct kv_txn *txn, const struct kv_key *dir)
{
	struct key_list l = { 0 };
	int r = kv_children(kv, txn, dir, collect_one, &l);

	for (size_t i = 0; r == 0 && i < l.n; i++) {
		if (l.e[i].kind == KV_DICTIONARY)
			r = remove_children(kv, txn, &l.e[i].k);
		if (r == 0)
			r = kv->ops->del(txn, (struct kv_bytes){ l.e[i].k.enc, l.e[i].k.len });
	}
	key_list_free(&l);
	return r;
}

static int op_remove(struct kv *kv, struct kv_txn *txn, const struct kv_key *k)
{
	struct kv_rec rec;
	int r = kv_lookup(kv, txn, k, &rec);

	if (r < 0)
		return r;
	if (rec.kind == KV_DICTIONARY) {
		r = remove_children(kv, txn, k);
		if (r < 0 || kv_key_is_root(k))
			return r;
	}
	return kv->ops->del(txn, (struct kv_bytes){ k->enc, k->len });
}

/* Moves the record at src, and for a dictionary everything below it, to dst (which is
 * free). Records keep their mtimes: a rename changes where data is, not the data. */
static int move_node(struct kv *kv, struct kv_txn *txn, const struct kv_key *src,
		     const struct kv_key *dst)
{
	struct kv_bytes raw, part;
	struct key_list l = { 0 };
	uint8_t *copy;
	bool is_dict;
	int r = kv->ops->get(txn, (struct kv_bytes){ src->enc, src->len }, &raw);

	if (r < 0)
		return r;
	/* A copy: raw points into the backend's pages, which the put may move. */
	is_dict = raw.len > 0 && raw.p[0] == KV_REC_DICT;
	copy = malloc(raw.len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, raw.p, raw.len);
	part = (struct kv_bytes){ copy, raw.len };
	r = kv->ops->put(txn, (struct kv_bytes){ dst->enc, dst->len }, &part, 1);
	free(copy);
	if (r == 0 && is_dict)
		r = kv_children(kv, txn, src, collect_one, &l);
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		struct kv_key to;
		size_t nlen;
		const uint8_t *name = kv_key_name(&l.e[i].k, &nlen);

		r = kv_key_child(dst, name, nlen, &to);
		if (r == 0)
			r = move_node(kv, txn, &l.e[i].k, &to);
	}
	key_list_free(&l);
	return r < 0 ? r : kv->ops->del(txn, (struct kv_bytes){ src->enc, src->len });
}

/* rename as mv(1) (kv.h): over a value, into a dictionary. */
static int op_rename(struct kv *kv, struct kv_txn *txn, const struct kv_key *src,
		     const struct kv_key *dest, uint64_t now_ns)
{
	struct kv_rec srec, drec;
	struct kv_key target = *dest;
	int r;

	if (kv_key_is_root(src))
		return -EINVAL;
	r = kv_lookup(kv, txn, src, &srec);
	if (r < 0)
		return r;
	if (kv_key_equal(src, dest))
		return 0;
	if (kv_key_within(dest, src))
		return -EINVAL; /* into itself */
	r = kv_lookup(kv, txn, dest, &drec);
	if (r == 0 && drec.kind == KV_DICTIONARY) {
		size_t nlen;
		const uint8_t *name = kv_key_name(src, &nlen);

		r = kv_key_child(dest, name, nlen, &target);
		if (r < 0)
			return r;
		if (kv_key_equal(&target, src))
			return 0; /* already there */
		r = kv_lookup(kv, txn, &target, &drec);
		if (r == 0 && drec.kind == KV_DICTIONARY)
			return -EEXIST;
	}
	if (r == 0) /* a value in the way: replaced */
		r = kv->ops->del(txn, (struct kv_bytes){ target.enc, target.len });
	else if (r == -ENOENT)
		r = make_parents(kv, txn, &target, now_ns);
	return r < 0 ? r : move_node(kv, txn, src, &target);
}

static int op_apply(struct kv *kv, struct kv_txn *txn, const struct kv_op *op, uint64_t now_ns)
{
	struct kv_key k, dest;
	int r = kv_key_parse(op->key, &k, NULL);

	if (r < 0)
		return r;
	switch (op->kind) {
	case KV_OP_SET:
		return op_set(kv, txn, &k, op->value, op->len, now_ns);
	case KV_OP_SET_PARTIAL:
		return op_set_partial(kv, txn, &k, op->offset, op->value, op->len, now_ns);
	case KV_OP_REMOVE:
		return op_remove(kv, txn, &k);
	case KV_OP_RENAME:
		r = kv_key_parse(op->dest, &dest, NULL);
		return r < 0 ? r : op_rename(kv, txn, &k, &dest, now_ns);
	}
	return -EINVAL;
}

/* Applies ops in order inside txn; stops at the first error, with its index in *failed. */
static int apply_ops(struct kv *kv, struct kv_txn *txn, const struct kv_op *ops, size_t n,
		     uint64_t now_ns, size_t *failed)
{
	for (size_t i = 0; i < n; i++) {
		int r = op_apply(kv, txn, &ops[i], now_ns);

		if (r < 0) {
			*failed = i;
			return r;
		}
	}
	return 0;
}

static int batch_once(struct kv *kv, const struct kv_op *ops, size_t n, uint64_t now_ns,
		      size_t *failed)
{
	struct kv_txn *txn;
	int r = kv->ops->begin(kv->be, true, &txn);

	*failed = 0;
	if (r == 0) {
		r = apply_ops(kv, txn, ops, n, now_ns, failed);
		if (r < 0)
			kv->ops->abort(txn);
	}
	if (r == 0) {
		r = kv->ops->commit(txn);
		*failed = n;
	}
	return r;
}

static bool only_removals(const struct kv_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ops[i].kind != KV_OP_REMOVE)
			return false;
	return true;
}

/* LMDB deletes by copy on write: on a map filled to the last page, even a removal needs
 * new pages. So that a full store can always be emptied, a batch of removals that fails
 * for space grows the map by KV_REMOVE_HEADROOM_BYTES and is applied again, once
 * (docs/kv.md, "Limits"). Before that, any batch that fails for space is applied again
 * after the backend reclaimed what earlier writes freed (LMDB: pages freed since the
 * last checkpoint are reused only after it). */
static int batch_freeing(struct kv *kv, const struct kv_op *ops, size_t n, uint64_t now_ns,
			 size_t *failed)
{
	int r = batch_once(kv, ops, n, now_ns, failed);

	if (r == -ENOSPC && kv->ops->reclaim && kv->ops->reclaim(kv->be) > 0)
		r = batch_once(kv, ops, n, now_ns, failed);
	if (r == -ENOSPC && kv->ops->grow && only_removals(ops, n) &&
	    kv->ops->grow(kv->be, KV_REMOVE_HEADROOM_BYTES) == 0)
		r = batch_once(kv, ops, n, now_ns, failed);
	return r;
}

/* The common case first: every batch applied straight in one transaction, without
 * savepoints. An LMDB savepoint is a nested transaction, which allocates and merges a
 * dirty-page list: with one per batch they took most of a group's time (bench/kv, 50
 * clients). 1: all applied and committed; 0: a batch failed, nothing was applied (the
 * caller runs the group again with savepoints: the same state in, the same results out);
 * a negative errno: the transaction could not begin or commit. */
static int group_straight(struct kv *kv, struct kv_batch_req *reqs, size_t nreqs,
			  uint64_t now_ns)
{
	struct kv_txn *txn;
	size_t failed;
	int r = kv->ops->begin(kv->be, true, &txn);

	if (r < 0)
		return r;
	for (size_t i = 0; i < nreqs; i++)
		if (apply_ops(kv, txn, reqs[i].ops, reqs[i].n, now_ns, &failed) < 0) {
			kv->ops->abort(txn);
			return 0;
		}
	r = kv->ops->commit(txn);
	if (r < 0)
		return r;
	for (size_t i = 0; i < nreqs; i++) {
		reqs[i].result = 0;
		reqs[i].failed = 0;
	}
	return 1;
}

int kv_group_commit(struct kv *kv, struct kv_batch_req *reqs, size_t nreqs, uint64_t now_ns)
{
	struct kv_txn *txn;
	int r;

	if (nreqs == 0)
		return 0;
	r = group_straight(kv, reqs, nreqs, now_ns);
	if (r != 0)
		return r < 0 ? r : 0;
	r = kv->ops->begin(kv->be, true, &txn);
	if (r < 0)
		return r;
	for (size_t i = 0; i < nreqs; i++) {
		struct kv_batch_req *q = &reqs[i];

		q->failed = 0;
		q->result = kv->ops->sub_begin(txn);
		if (q->result < 0)
			continue;
		q->result = apply_ops(kv, txn, q->ops, q->n, now_ns, &q->failed);
		r = kv->ops->sub_end(txn, q->result == 0);
		if (q->result == 0 && r < 0) {
			q->result = r; /* kept nothing */
			q->failed = q->n;
		}
	}
	r = kv->ops->commit(txn);
	if (r < 0)
		return r;
	/* Batches that found no room: on their own, where the backend may reclaim space and
	 * the map may grow for removals. */
	for (size_t i = 0; i < nreqs; i++)
		if (reqs[i].result == -ENOSPC &&
		    (kv->ops->reclaim || only_removals(reqs[i].ops, reqs[i].n)))
			reqs[i].result = batch_freeing(kv, reqs[i].ops, reqs[i].n, now_ns,
						       &reqs[i].failed);
	return 0;
}

int kv_batch(struct kv *kv, const struct kv_op *ops, size_t n, uint64_t now_ns, size_t *failed)
{
	size_t where;
	int r;

	if (n == 0)
		return 0; /* nothing to apply: no transaction, no flush */
	r = batch_freeing(kv, ops, n, now_ns, &where);
	if (r < 0 && failed)
		*failed = where;
	return r;
}

int kv_set(struct kv *kv, const char *key, const void *value, size_t len, uint64_t now_ns)
{
	struct kv_op op = { .kind = KV_OP_SET, .key = key, .value = value, .len = len };

	return kv_batch(kv, &op, 1, now_ns, NULL);
}

int kv_set_partial(struct kv *kv, const char *key, uint64_t offset, const void *data,
		   size_t len, uint64_t now_ns)
{
	struct kv_op op = {
		.kind = KV_OP_SET_PARTIAL, .key = key, .offset = offset, .value = data, .len = len
	};

	return kv_batch(kv, &op, 1, now_ns, NULL);
}

int kv_remove(struct kv *kv, const char *key, uint64_t now_ns)
{
	struct kv_op op = { .kind = KV_OP_REMOVE, .key = key };

	(void)now_ns; /* nothing records removals' times (a dictionary's mtime is its entries') */
	return kv_batch(kv, &op, 1, now_ns, NULL);
}

int kv_rename(struct kv *kv, const char *source, const char *dest, uint64_t now_ns)
{
	struct kv_op op = { .kind = KV_OP_RENAME, .key = source, .dest = dest };

	return kv_batch(kv, &op, 1, now_ns, NULL);
}
