/* The in-memory backend (--kv-memory): a sorted array of records, binary-searched. A write
 * transaction keeps an undo log (each key's previous record) so that abort() restores the
 * store exactly: this is what makes a batch all-or-nothing here. The map size is a byte
 * budget (keys + records + a fixed overhead per entry) so that no_space behaves as with LMDB. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kv_backend.h"

/* Rough per-entry cost (the array slot and two allocations' headers). */
#define MEM_ENTRY_OVERHEAD_BYTES 64

struct mem_entry {
	uint8_t *key, *val;
	size_t klen, vlen;
};

struct mem_undo {
	struct mem_entry old; /* val NULL: the key was absent */
};

struct kv_txn {
	struct kv_backend *b;
	bool write;
	struct mem_undo *undo;
	size_t nundo, capundo;
	size_t sub_mark; /* nundo at sub_begin */
};

struct kv_backend {
	struct mem_entry *e;
	size_t n, cap;
	size_t used_bytes, budget_bytes;
	struct kv_txn txn; /* one transaction at a time */
	bool in_txn;
};

static size_t entry_cost(size_t klen, size_t vlen)
{
	return klen + vlen + MEM_ENTRY_OVERHEAD_BYTES;
}

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* The index of key, or where it would go; *found says which. */
static size_t mem_find(const struct kv_backend *b, struct kv_bytes key, bool *found)
{
	size_t lo = 0, hi = b->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(b->e[mid].key, b->e[mid].klen, key.p, key.len);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int mem_begin(struct kv_backend *b, bool write, struct kv_txn **txn)
{
	if (b->in_txn)
		return -EBUSY;
	b->in_txn = true;
	b->txn = (struct kv_txn){ .b = b, .write = write };
	*txn = &b->txn;
	return 0;
}

static void mem_txn_end(struct kv_txn *t)
{
	for (size_t i = 0; i < t->nundo; i++) {
		free(t->undo[i].old.key);
		free(t->undo[i].old.val);
	}
	free(t->undo);
	t->undo = NULL;
	t->nundo = t->capundo = 0;
	t->b->in_txn = false;
}

static int mem_commit(struct kv_txn *t)
{
	mem_txn_end(t);
	return 0;
}

/* Puts back an entry as it was (val NULL: removes the key); takes ownership of old. */
static void mem_restore(struct kv_backend *b, struct mem_entry *old)
{
	bool found;
	size_t i = mem_find(b, (struct kv_bytes){ old->key, old->klen }, &found);

	if (found) {
		b->used_bytes -= entry_cost(b->e[i].klen, b->e[i].vlen);
		free(b->e[i].key);
		free(b->e[i].val);
		if (old->val) {
			b->e[i] = *old;
			b->used_bytes += entry_cost(old->klen, old->vlen);
		} else {
			free(old->key);
			memmove(b->e + i, b->e + i + 1, (b->n - i - 1) * sizeof(*b->e));
			b->n--;
		}
	} else if (old->val) {
		/* Room is there: the slot it left (undo entries come back in reverse order). */
		memmove(b->e + i + 1, b->e + i, (b->n - i) * sizeof(*b->e));
		b->e[i] = *old;
		b->n++;
		b->used_bytes += entry_cost(old->klen, old->vlen);
	} else {
		free(old->key);
	}
	old->key = old->val = NULL;
}

/* Puts back everything changed since the undo log held mark entries. */
static void mem_undo_to(struct kv_txn *t, size_t mark)
{
	while (t->nundo > mark)
		mem_restore(t->b, &t->undo[--t->nundo].old);
}

static void mem_abort(struct kv_txn *t)
{
	mem_undo_to(t, 0);
	mem_txn_end(t);
}

static int mem_sub_begin(struct kv_txn *t)
{
	t->sub_mark = t->nundo;
	return 0;
}

static int mem_sub_end(struct kv_txn *t, bool keep)
{
	if (!keep)
		mem_undo_to(t, t->sub_mark);
	return 0;
}

static int mem_get(struct kv_txn *t, struct kv_bytes key, struct kv_bytes *value)
{
	bool found;
	size_t i = mem_find(t->b, key, &found);

	if (!found)
		return -ENOENT;
	*value = (struct kv_bytes){ t->b->e[i].val, t->b->e[i].vlen };
	return 0;
}

/* Records the state of slot i (or the absence of key) before a change. The undo entry
 * takes the old value; the caller then owns the slot's value pointer. */
static int mem_log(struct kv_txn *t, struct kv_bytes key, struct mem_entry *cur)
{
	struct mem_undo *u;

	if (kv_array_grow(&t->undo, &t->capundo, t->nundo, sizeof(*t->undo)) < 0)
		return -ENOMEM;
	u = &t->undo[t->nundo];
	u->old.key = malloc(key.len);
	if (!u->old.key)
		return -ENOMEM;
	memcpy(u->old.key, key.p, key.len);
	u->old.klen = key.len;
	u->old.val = cur ? cur->val : NULL;
	u->old.vlen = cur ? cur->vlen : 0;
	t->nundo++;
	return 0;
}

static int mem_put(struct kv_txn *t, struct kv_bytes key, const struct kv_bytes *parts,
		   size_t nparts)
{
	struct kv_backend *b = t->b;
	size_t vlen = 0, old_cost = 0, i, off = 0;
	uint8_t *val, *k = NULL;
	bool found;
	int r;

	for (size_t p = 0; p < nparts; p++)
		vlen += parts[p].len;
	i = mem_find(b, key, &found);
	if (found)
		old_cost = entry_cost(b->e[i].klen, b->e[i].vlen);
	if (b->used_bytes - old_cost + entry_cost(key.len, vlen) > b->budget_bytes)
		return -ENOSPC;
	if (!found && kv_array_grow(&b->e, &b->cap, b->n, sizeof(*b->e)) < 0)
		return -ENOMEM;
	val = malloc(vlen ? vlen : 1);
	if (!found)
		k = malloc(key.len);
	if (!val || (!found && !k)) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t p = 0; p < nparts; p++) {
		memcpy(val + off, parts[p].p, parts[p].len);
		off += parts[p].len;
	}
	r = mem_log(t, key, found ? &b->e[i] : NULL);
	if (r < 0)
		goto fail;
	if (found) {
		b->e[i].val = val; /* the old one now belongs to the undo log */
		b->e[i].vlen = vlen;
	} else {
		memcpy(k, key.p, key.len);
		memmove(b->e + i + 1, b->e + i, (b->n - i) * sizeof(*b->e));
		b->e[i] = (struct mem_entry){ .key = k, .klen = key.len, .val = val, .vlen = vlen };
		b->n++;
	}
	b->used_bytes = b->used_bytes - old_cost + entry_cost(key.len, vlen);
	return 0;
fail:
	free(val);
	free(k);
	return r;
}

static int mem_del(struct kv_txn *t, struct kv_bytes key)
{
	struct kv_backend *b = t->b;
	bool found;
	size_t i = mem_find(b, key, &found);
	int r;

	if (!found)
		return -ENOENT;
	r = mem_log(t, key, &b->e[i]);
	if (r < 0)
		return r;
	b->used_bytes -= entry_cost(b->e[i].klen, b->e[i].vlen);
	free(b->e[i].key);
	memmove(b->e + i, b->e + i + 1, (b->n - i - 1) * sizeof(*b->e));
	b->n--;
	return 0;
}

static int mem_scan(struct kv_txn *t, struct kv_bytes prefix, kv_scan_fn fn, void *ctx)
{
	struct kv_backend *b = t->b;
	bool found;

	for (size_t i = mem_find(b, prefix, &found); i < b->n; i++) {
		struct mem_entry *e = &b->e[i];
		int r;

		if (e->klen < prefix.len || memcmp(e->key, prefix.p, prefix.len) != 0)
			break;
		r = fn((struct kv_bytes){ e->key, e->klen }, (struct kv_bytes){ e->val, e->vlen },
		       ctx);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	return 0;
}

static void mem_close(struct kv_backend *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->e[i].key);
		free(b->e[i].val);
	}
	free(b->e);
	free(b);
}

static const struct kv_backend_ops mem_ops = {
	.begin = mem_begin,
	.commit = mem_commit,
	.abort = mem_abort,
	.get = mem_get,
	.put = mem_put,
	.del = mem_del,
	.scan = mem_scan,
	.sub_begin = mem_sub_begin,
	.sub_end = mem_sub_end,
	.close = mem_close,
};

int kv_memory_backend_open(const struct kv_limits *lim, const struct kv_backend_ops **ops,
			   struct kv_backend **be)
{
	struct kv_backend *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->budget_bytes = lim->map_size_bytes;
	*ops = &mem_ops;
	*be = b;
	return 0;
}
