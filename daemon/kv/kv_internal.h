/* Shared by kv.c (reads) and kv_write.c (writes): looking a key up and walking children
 * inside a transaction. */
#ifndef USTACKD_KV_INTERNAL_H
#define USTACKD_KV_INTERNAL_H

#include "kv_backend.h"
#include "kv_key.h"

/* The record of k (the root is an empty dictionary with mtime 0); -ENOENT if absent. */
int kv_lookup(struct kv *kv, struct kv_txn *txn, const struct kv_key *k, struct kv_rec *rec);

/* Calls fn for each direct child of dir, with its key and record. fn returns 0 to go on,
 * or a negative errno. The callback must not write. */
typedef int (*kv_child_fn)(const struct kv_key *child, const struct kv_rec *rec, void *ctx);
int kv_children(struct kv *kv, struct kv_txn *txn, const struct kv_key *dir, kv_child_fn fn,
		void *ctx);

#endif
