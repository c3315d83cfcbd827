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

/* Every put and delete goes through these two: kv->writes tells whether an operation that
 * failed had written anything before (counted before the call: a failed write may have
 * changed the transaction too). Then only an undo of the whole transaction or of a
 * savepoint takes it back; else the failure left the transaction as it was. */
static int txn_put(struct kv *kv, struct kv_txn *txn, const struct kv_key *k,
		   const struct kv_bytes *parts, size_t nparts)
{
	kv->writes++;
	return kv->ops->put(txn, (struct kv_bytes){ k->enc, k->len }, parts, nparts);
}

static int txn_del(struct kv *kv, struct kv_txn *txn, const struct kv_key *k)
{
	kv->writes++;
	kv->dict_seen_len = 0; /* it may have been the dictionary, or above it */
	return kv->ops->del(txn, (struct kv_bytes){ k->enc, k->len });
}

static int put_dict(struct kv *kv, struct kv_txn *txn, const struct kv_key *k, uint64_t now_ns)
{
	uint8_t rec[KV_REC_DICT_BYTES];
	struct kv_bytes part = { rec, sizeof(rec) };

	kv_rec_dict(rec, now_ns);
	return txn_put(kv, txn, k, &part, 1);
}

static int put_value(struct kv *kv, struct kv_txn *txn, const struct kv_key *k,
		     const uint8_t *data, size_t len, uint64_t now_ns)
{
	uint8_t hdr[KV_REC_VALUE_HDR_BYTES];
	struct kv_bytes parts[2] = { { hdr, sizeof(hdr) }, { data, len } };

	kv_rec_value_header(hdr, now_ns, data, len);
	return txn_put(kv, txn, k, parts, 2);
}

/* Begins a write transaction: nothing is known about it yet. */
static int write_begin(struct kv *kv, struct kv_txn **txn)
{
	kv->dict_seen_len = 0;
	return kv->ops->begin(kv->be, true, txn);
}

/* Ends a savepoint; what an undo dropped may have held the dictionary seen. */
static int savepoint_end(struct kv *kv, struct kv_txn *txn, bool keep)
{
	int r = kv->ops->sub_end(txn, keep);

	if (!keep || r < 0)
		kv->dict_seen_len = 0;
	return r;
}

/* Creates the missing dictionaries above k, top down (design.md §2: set creates parents);
 * a value on the way is dictionary_expected. The parent found or made last in this
 * transaction is remembered (kv->dict_seen): a batch of sets into one dictionary looks it
 * up once, not once per set (a B-tree search: a third of a set's). A dictionary stops
 * existing only by a delete (a put over one is refused before it writes) or an undo, which
 * forget it; its ancestors exist as long as it does. */
static int make_parents(struct kv *kv, struct kv_txn *txn, const struct kv_key *k,
			uint64_t now_ns)
{
	struct kv_key anc;
	struct kv_rec rec;
	unsigned depth = kv_key_depth(k);

	if (depth < 2)
		return 0;
	kv_key_parent(k, &anc);
	if (anc.len == kv->dict_seen_len && memcmp(anc.enc, kv->dict_seen, anc.len) == 0)
		return 0;
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
	memcpy(kv->dict_seen, anc.enc, anc.len); /* the loop's last: k's parent */
	kv->dict_seen_len = anc.len;
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
			r = txn_del(kv, txn, &l.e[i].k);
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
	return txn_del(kv, txn, k);
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
	r = txn_put(kv, txn, dst, &part, 1);
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
	return r < 0 ? r : txn_del(kv, txn, src);
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
		r = txn_del(kv, txn, &target);
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

/* One batch in its own transaction. Several operations go in a savepoint: a later one
 * failing after an earlier one wrote is an ordinary client error, and undoing a whole
 * transaction costs the LMDB backend a rebuild of everything since its last checkpoint
 * (kv_lmdb.c). A single operation fails before it writes but for a full store, a key
 * grown too long by a rename, or no memory: it goes straight. */
static int batch_once(struct kv *kv, const struct kv_op *ops, size_t n, uint64_t now_ns,
		      size_t *failed)
{
	struct kv_txn *txn;
	bool sp = n > 1;
	int r = write_begin(kv, &txn), r2;

	*failed = 0;
	if (r < 0)
		return r;
	if (sp) {
		r = kv->ops->sub_begin(txn);
		if (r < 0) {
			kv->ops->abort(txn);
			return r;
		}
	}
	r = apply_ops(kv, txn, ops, n, now_ns, failed);
	if (sp) {
		r2 = savepoint_end(kv, txn, r == 0);
		if (r == 0 && r2 < 0) {
			r = r2; /* kept nothing */
			*failed = n;
		}
	}
	if (r < 0) {
		kv->ops->abort(txn);
		return r;
	}
	r = kv->ops->commit(txn);
	*failed = n;
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
 * clients). A batch that fails before writing anything (most client errors: not_found,
 * a value where a dictionary is needed) left the transaction as it was: it gets its error
 * and the others go on. 1: committed, results set; 0: a batch failed after writing,
 * nothing was applied (the transaction was undone whole; the caller runs the group again
 * with savepoints: the same state in, the same results out); a negative errno: the
 * transaction could not begin or commit (then nothing of the group was applied). */
static int group_straight(struct kv *kv, struct kv_batch_req *reqs, size_t nreqs,
			  uint64_t now_ns)
{
	struct kv_txn *txn;
	int r = write_begin(kv, &txn);

	if (r < 0)
		return r;
	for (size_t i = 0; i < nreqs; i++) {
		uint64_t writes = kv->writes;

		reqs[i].failed = 0;
		reqs[i].result = apply_ops(kv, txn, reqs[i].ops, reqs[i].n, now_ns,
					   &reqs[i].failed);
		if (reqs[i].result < 0 && kv->writes != writes) {
			kv->ops->abort(txn);
			return 0;
		}
	}
	r = kv->ops->commit(txn);
	return r < 0 ? r : 1;
}

/* Each batch in a savepoint of its own: one that fails is undone alone. */
static int group_savepoints(struct kv *kv, struct kv_batch_req *reqs, size_t nreqs,
			    uint64_t now_ns)
{
	struct kv_txn *txn;
	int r = write_begin(kv, &txn);
	if (r < 0)
		return r;
	for (size_t i = 0; i < nreqs; i++) {
		struct kv_batch_req *q = &reqs[i];

		q->failed = 0;
		q->result = kv->ops->sub_begin(txn);
		if (q->result < 0)
			continue;
		q->result = apply_ops(kv, txn, q->ops, q->n, now_ns, &q->failed);
		r = savepoint_end(kv, txn, q->result == 0);
		if (q->result == 0 && r < 0) {
			q->result = r; /* kept nothing */
			q->failed = q->n;
		}
	}
	return kv->ops->commit(txn);
}

int kv_group_commit(struct kv *kv, struct kv_batch_req *reqs, size_t nreqs, uint64_t now_ns)
{
	int r;

	if (nreqs == 0)
		return 0;
	r = group_straight(kv, reqs, nreqs, now_ns);
	if (r == 0)
		r = group_savepoints(kv, reqs, nreqs, now_ns);
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
