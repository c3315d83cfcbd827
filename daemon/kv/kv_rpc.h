/* io.ustack.KV (ipc/io.ustack.KV.varlink) over json-c, without the transport: the member
 * name and parameters of a call in, the reply's parameters or an error out. The RPC server
 * binds "io.ustack.KV.<member>" to kv_rpc_call() and wraps the result in its envelope; it
 * does no I/O and keeps no state, so it is tested on its own (tests/unit/test_kv_rpc.c). */
#ifndef USTACKD_KV_RPC_H
#define USTACKD_KV_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "kv.h"

/* What Info reports. */
struct kv_rpc_store {
	struct kv *kv;
	const char *path;     /* the LMDB directory; NULL: in memory */
	size_t map_size_bytes;
	size_t max_value_bytes;
	/* Get and GetPartial answer TooLarge for more value bytes than this (the most whose
	 * base64 fits one reply); 0: no limit */
	size_t max_reply_value_bytes;
};

struct kv_rpc_result {
	const char *error;	    /* NULL: a reply; else the varlink error's full name */
	struct json_object *params; /* the reply's or the error's parameters (owned) */
};

/* Runs one call. may_write: the caller passed the access check for state-changing methods
 * (design.md §4: uid 0 or the daemon's uid); else those get PermissionDenied. now_ns: the
 * wall clock for the write's mtime. Returns 0 with *res set (reply or error), -ENOENT for
 * a member the interface does not have (org.varlink.service.MethodNotFound), -ENOMEM. */
int kv_rpc_call(const struct kv_rpc_store *st, const char *member, struct json_object *params,
		bool may_write, uint64_t now_ns, struct kv_rpc_result *res);

/* Group commit (kv.h, kv_group_commit()): a server that collects the write calls of one
 * turn of its loop parses each with kv_rpc_write_parse(), runs all their w->req in one
 * kv_group_commit(), then answers each with kv_rpc_write_finish(w, commit_result, &res)
 * (which frees w). Parsing returns 0 with *w (to run), 1 when res already holds the answer
 * (bad parameters, PermissionDenied: nothing to run), -ENOENT for a member that is not a
 * write, -ENOMEM. w borrows the key strings of params: keep params until finish. */
struct kv_rpc_write {
	struct kv_op *ops;	 /* n, in the same allocation as the struct */
	uint8_t *values;	 /* the decoded values of all operations, one after another */
	size_t values_cap, values_len;
	size_t n;
	bool batch;		 /* a Batch call: its errors carry the index */
	struct kv_batch_req req; /* ops and n for kv_group_commit(); result and failed out */
	struct kv_op ops_mem[];
};

int kv_rpc_write_parse(const char *member, struct json_object *params, bool may_write,
		       struct kv_rpc_write **w, struct kv_rpc_result *res);
int kv_rpc_write_finish(struct kv_rpc_write *w, int commit_r, struct kv_rpc_result *res);
void kv_rpc_write_free(struct kv_rpc_write *w);
/* A write of n operations whose values (w->values) take at most values_max bytes. */
struct kv_rpc_write *kv_rpc_write_new(size_t n, bool batch, size_t values_max);

#endif
