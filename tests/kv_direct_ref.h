/* The json-c path of an io.ustack.KV call as the RPC server answers it (rpc_server.c's
 * dispatch, rpc_kv.c): the reference the direct path (daemon/kv/kv_direct.h) must equal
 * byte for byte. Shared by tests/unit/test_kv_direct.c and tests/fuzz/fuzz_kv.c. */
#ifndef USTACK_TESTS_KV_DIRECT_REF_H
#define USTACK_TESTS_KV_DIRECT_REF_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kv/kv_direct.h"
#include "ipc/varlink.h"

/* msg's text (its reference taken) into *buf. */
static inline int ref_text(struct json_object *msg, char **buf, size_t *len)
{
	const char *t = msg ? varlink_msg_text(msg, len) : NULL;

	*buf = t ? malloc(*len) : NULL;
	if (*buf)
		memcpy(*buf, t, *len);
	json_object_put(msg);
	return *buf ? 0 : -ENOMEM;
}

static inline int ref_invalid(const char *name, char **buf, size_t *len)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "parameter", json_object_new_string(name));
	return ref_text(varlink_error_new("org.varlink.service.InvalidParameter", p), buf, len);
}

/* text[0, len) as a call from a privileged client: the reply's text, NUL included, in a
 * new *buf. 0 or -ENOMEM. */
static inline int ref_call(const struct kv_rpc_store *st, const char *text, size_t len,
			   uint64_t now_ns, char **buf, size_t *out_len)
{
	struct varlink_reader rd;
	struct varlink_call call;
	struct kv_rpc_result res;
	struct json_object *msg = NULL;
	const char *bad;
	size_t cap = 0;
	int r;

	*buf = NULL;
	varlink_reader_init(&rd, 0);
	r = varlink_reader_feed(&rd, text, len, NULL, 0);
	if (r == 0)
		r = varlink_reader_feed(&rd, "", 1, NULL, 0);
	if (r == 0)
		r = varlink_reader_next(&rd, &msg);
	varlink_reader_fini(&rd);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return ref_invalid(r == -EPROTO ? "message is not a JSON object"
						: "message is not JSON", buf, out_len);
	r = varlink_call_decode(msg, &call, &bad);
	if (r == -EBADMSG)
		r = ref_invalid(bad ? bad : "method", buf, out_len);
	else if (r == 0 && strcmp(call.interface, "io.ustack.KV") != 0)
		r = ref_invalid("interface", buf, out_len); /* not compared: never direct */
	else if (r == 0)
		r = kv_rpc_call(st, call.member, call.params, true, now_ns, &res);
	if (r == -ENOENT)
		r = ref_invalid("method", buf, out_len); /* not compared: never direct */
	else if (r == 0 && !*buf && res.error)
		r = ref_text(varlink_error_new(res.error, res.params), buf, out_len);
	else if (r == 0 && !*buf) {
		r = varlink_reply_text(res.params, false, buf, &cap, out_len);
		json_object_put(res.params);
	}
	json_object_put(msg);
	return r;
}

#endif
