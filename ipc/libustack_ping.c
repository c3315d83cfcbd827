/* libustack: ICMP echo through the stack (io.ustack.Stack.Ping), one callback per probe. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "ipc/libustack_priv.h"

void ustack_ping_opts_init(struct ustack_ping_opts *o)
{
	o->count = 4;
	o->size = 56;
	o->ttl = 64;
	o->interval_ms = 1000;
	o->timeout_ms = 2000;
}

struct ping_call {
	ustack_ping_fn fn;
	void *ctx;
};

static int on_reply(struct json_object *p, int continues, void *ctx)
{
	struct ping_call *pc = ctx;
	struct ustack_ping_reply r = { .ttl = -1, .rtt_us = -1 };
	const char *result = "", *from = NULL;
	int64_t v;

	(void)continues;
	if (varlink_get_int(p, "seq", 0, INT32_MAX, &v) == 0)
		r.seq = (int)v;
	if (varlink_get_int(p, "bytes", 0, INT32_MAX, &v) == 0)
		r.bytes = (int)v;
	if (varlink_get_int(p, "ttl", 0, 255, &v) == 0)
		r.ttl = (int)v;
	if (varlink_get_int(p, "rtt_us", 0, INT64_MAX, &v) == 0)
		r.rtt_us = v;
	if (varlink_get_string(p, "from", &from) == 0)
		inet_pton(AF_INET, from, &r.from);
	varlink_get_string(p, "result", &result);
	if (strcmp(result, "reply") == 0) {
		r.result = 0;
	} else if (strcmp(result, "timeout") == 0) {
		r.result = -ETIMEDOUT;
	} else {
		int e = varlink_errno_from_name(result);

		r.result = -(e ? e : EIO);
	}
	return pc->fn ? pc->fn(&r, pc->ctx) : 0;
}

int ustack_ping(struct ustack *u, const char *host, const struct ustack_ping_opts *o,
		ustack_ping_fn fn, void *ctx)
{
	struct ustack_ping_opts d;
	struct ping_call pc = { fn, ctx };
	struct json_object *p = json_object_new_object();
	int r;

	if (!o) {
		ustack_ping_opts_init(&d);
		o = &d;
	}
	json_object_object_add(p, "address", json_object_new_string(host));
	json_object_object_add(p, "count", json_object_new_int(o->count));
	json_object_object_add(p, "size", json_object_new_int(o->size));
	json_object_object_add(p, "ttl", json_object_new_int(o->ttl));
	json_object_object_add(p, "interval_ms", json_object_new_int(o->interval_ms));
	json_object_object_add(p, "timeout_ms", json_object_new_int(o->timeout_ms));
	r = ustackint_call_json(u, "io.ustack.Stack.Ping", p, o->count != 1, -1, on_reply, &pc);
	return r > 0 ? 0 : r; /* the callback stopped it */
}
