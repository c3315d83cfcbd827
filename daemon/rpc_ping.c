/* io.ustack.Stack.Ping: ICMP echo (RFC 792) from the stack's own address, one reply per
 * probe. An ICMP echo socket of the stack (stack/icmp.h) sends the requests and hears the
 * replies and the errors that quote them; one libevent timer runs both the probe interval
 * and the per-probe timeouts. */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "rpc.h"
#include "stack/icmp.h"

/* Probes awaiting an answer at once (the ring below); a probe older than that is a
 * timeout anyway at any sane interval/timeout ratio. */
#define RPC_PING_WINDOW 64
#define RPC_PING_MIN_INTERVAL_MS 10 /* for non-root (ping(8) allows 200 ms) */

struct rpc_ping_probe {
	uint16_t seq;
	bool pending;
	uint64_t sent_ns;
};

struct rpc_ping {
	struct rpc_stream stream;
	struct ustackd *d;
	struct icmp_echo_sock *es;
	struct event *ev;
	struct in_addr dst;
	uint64_t count; /* 0: until the client goes */
	uint64_t sent, resolved;
	size_t size;
	uint8_t ttl;
	uint64_t interval_ns, timeout_ns, next_send_ns;
	struct rpc_ping_probe ring[RPC_PING_WINDOW];
	uint8_t *payload;
};

static void rpc_ping_free(struct rpc_ping *p)
{
	if (p->ev)
		event_free(p->ev);
	if (p->es)
		icmp_echo_close(p->es);
	rpc_stream_del(&p->stream);
	free(p->payload);
	free(p);
}

static void rpc_ping_cancel(struct rpc_stream *st)
{
	rpc_ping_free((struct rpc_ping *)((char *)st - offsetof(struct rpc_ping, stream)));
}

/* One probe's reply; the last one ends the call (and frees p: returns true). */
static bool rpc_ping_report(struct rpc_ping *p, uint16_t seq, const char *result,
			    const struct in_addr *from, int ttl, int64_t rtt_us)
{
	struct json_object *r = json_object_new_object();
	bool last;
	int err;

	p->resolved++;
	last = p->count && p->resolved == p->count;
	if (r) {
		json_object_object_add(r, "seq", json_object_new_int(seq));
		json_object_object_add(r, "result", json_object_new_string(result));
		if (from)
			json_object_object_add(r, "from", rpc_addr_json(*from));
		json_object_object_add(r, "bytes", json_object_new_int64((int64_t)p->size));
		if (ttl >= 0)
			json_object_object_add(r, "ttl", json_object_new_int(ttl));
		if (rtt_us >= 0)
			json_object_object_add(r, "rtt_us", json_object_new_int64(rtt_us));
	}
	err = rpc_reply(p->stream.client, r, !last, NULL, 0);
	if (last && err == 0) {
		rpc_ping_free(p);
		return true;
	}
	return false; /* on error the client is going: its cancel frees p */
}

static struct rpc_ping_probe *rpc_ping_find(struct rpc_ping *p, uint16_t seq)
{
	struct rpc_ping_probe *pr = &p->ring[seq % RPC_PING_WINDOW];

	return pr->pending && pr->seq == seq ? pr : NULL;
}

static void rpc_ping_on_reply(struct icmp_echo_sock *s, void *user, struct in_addr src,
			      uint16_t seq, uint8_t ttl, const uint8_t *data, size_t len)
{
	struct rpc_ping *p = user;
	struct rpc_ping_probe *pr = rpc_ping_find(p, seq);

	(void)s;
	(void)data;
	(void)len;
	if (!pr || src.s_addr != p->dst.s_addr)
		return; /* late (already timed out) or not from the target */
	pr->pending = false;
	rpc_ping_report(p, seq, "reply", &src, ttl,
			(int64_t)((ustackd_now_ns() - pr->sent_ns) / 1000));
}

static void rpc_ping_on_error(struct icmp_echo_sock *s, void *user, const struct icmp_err *e,
			      uint16_t seq)
{
	struct rpc_ping *p = user;
	struct rpc_ping_probe *pr = rpc_ping_find(p, seq);

	(void)s;
	if (!pr)
		return;
	pr->pending = false;
	/* time exceeded (11/x) is EPROTO in the .varlink's words; 3/x its errno */
	rpc_ping_report(p, seq, varlink_errno_name(e->type == 11 ? EPROTO : e->err), &e->from, -1,
			(int64_t)((ustackd_now_ns() - pr->sent_ns) / 1000));
}

static const struct icmp_echo_ops rpc_ping_ops = {
	.recv = rpc_ping_on_reply,
	.error = rpc_ping_on_error,
};

/* Sends the probes and reports the timeouts that are due, then re-arms the timer. */
static void rpc_ping_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_ping *p = arg;
	struct rpc_client *c = p->stream.client;
	uint64_t now = ustackd_now_ns(), next = UINT64_MAX;
	struct timeval tv;

	(void)fd;
	(void)what;
	for (int i = 0; i < RPC_PING_WINDOW; i++) {
		struct rpc_ping_probe *pr = &p->ring[i];

		if (!pr->pending)
			continue;
		if (now - pr->sent_ns >= p->timeout_ns) {
			pr->pending = false;
			if (rpc_ping_report(p, pr->seq, "timeout", NULL, -1, -1))
				goto out;
		} else if (pr->sent_ns + p->timeout_ns < next) {
			next = pr->sent_ns + p->timeout_ns;
		}
	}
	if ((!p->count || p->sent < p->count) && now >= p->next_send_ns) {
		uint16_t seq = (uint16_t)(p->sent + 1);
		struct rpc_ping_probe *pr = &p->ring[seq % RPC_PING_WINDOW];
		struct ipv4_write_opts o = IPV4_WRITE_OPTS_DEFAULT;
		int err;

		if (pr->pending) {
			/* a probe still unanswered a whole window later: its timeout now */
			pr->pending = false;
			if (rpc_ping_report(p, pr->seq, "timeout", NULL, -1, -1))
				goto out;
		}
		o.ttl = p->ttl;
		p->sent++;
		pr->seq = seq;
		pr->sent_ns = now;
		pr->pending = true;
		p->next_send_ns = now + p->interval_ns;
		err = icmp_echo_send(p->es, p->dst, seq, p->payload, p->size, &o);
		if (err < 0) {
			pr->pending = false;
			if (rpc_ping_report(p, seq, varlink_errno_name(err), NULL, -1, -1))
				goto out;
		} else if (now + p->timeout_ns < next) {
			next = now + p->timeout_ns;
		}
	}
	if ((!p->count || p->sent < p->count) && p->next_send_ns < next)
		next = p->next_send_ns;
	if (next != UINT64_MAX) {
		uint64_t wait = next > now ? next - now : 0;

		tv.tv_sec = (time_t)(wait / 1000000000ull);
		tv.tv_usec = (suseconds_t)((wait % 1000000000ull) / 1000);
		event_add(p->ev, &tv);
	}
out:
	if (c)
		rpc_kick(c);
}

/* An optional int parameter with a default; false after answering InvalidParameter. */
static bool opt_int(struct rpc_req *req, const char *key, int64_t min, int64_t max,
		    int64_t *v)
{
	if (varlink_get_int(req->call->params, key, min, max, v) == -EINVAL) {
		rpc_invalid_param(req, key);
		return false;
	}
	return true;
}

static int rpc_ping(struct rpc_req *req)
{
	struct ustackd *d = rpc_client_daemon(req->client);
	int64_t count = 4, size = 56, ttl = 64, interval_ms = 1000, timeout_ms = 2000;
	struct rpc_ping *p;
	struct in_addr dst;
	const char *s;
	int err;

	if (varlink_get_string(req->call->params, "address", &s) < 0 || rpc_parse_addr(s, &dst) < 0)
		return rpc_invalid_param(req, "address");
	if (!opt_int(req, "count", 0, INT32_MAX, &count) ||
	    !opt_int(req, "size", 0, 65507, &size) || !opt_int(req, "ttl", 1, 255, &ttl) ||
	    !opt_int(req, "interval_ms", 1, 3600000, &interval_ms) ||
	    !opt_int(req, "timeout_ms", 1, 3600000, &timeout_ms))
		return 0;
	if (interval_ms < RPC_PING_MIN_INTERVAL_MS && !rpc_client_privileged(req->client))
		return rpc_invalid_param(req, "interval_ms");
	if (count != 1 && !rpc_need_more(req))
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->payload = malloc((size_t)size ? (size_t)size : 1);
	if (!p->payload) {
		free(p);
		return -ENOMEM;
	}
	for (int64_t i = 0; i < size; i++)
		p->payload[i] = (uint8_t)(0x10 + i); /* as ping(8)'s pattern, after its timestamp */
	p->d = d;
	p->dst = dst;
	p->count = (uint64_t)count;
	p->size = (size_t)size;
	p->ttl = (uint8_t)ttl;
	p->interval_ns = (uint64_t)interval_ms * 1000000ull;
	p->timeout_ns = (uint64_t)timeout_ms * 1000000ull;
	err = rpc_stream_add(req->client, &p->stream, rpc_ping_cancel, true);
	if (err < 0) {
		free(p->payload);
		free(p);
		return err;
	}
	p->ev = evtimer_new(d->base, rpc_ping_on_timer, p);
	err = p->ev ? icmp_echo_open(d->st, 0, &rpc_ping_ops, p, &p->es) : -ENOMEM;
	if (err < 0) {
		rpc_ping_free(p);
		return err;
	}
	p->next_send_ns = ustackd_now_ns();
	event_active(p->ev, EV_TIMEOUT, 0); /* the first probe from the loop, now */
	return 0;
}

const struct rpc_method rpc_ping_methods[] = {
	{ "io.ustack.Stack.Ping", rpc_ping, false, false },
	{ NULL, NULL, false, false },
};
