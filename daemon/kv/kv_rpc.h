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

#endif
