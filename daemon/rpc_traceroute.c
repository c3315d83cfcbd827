/* io.ustack.Stack.Traceroute: probes with TTL 1..max_hops from the stack itself, UDP to
 * ports port + n (as traceroute(8)) or ICMP echo (traceroute -I), one at a time; each ends
 * with the ICMP error it provoked (RFC 792: time exceeded from a router, port unreachable
 * from the target), an echo reply, or a timeout. One reply per probe; the trace ends after
 * the hop that reached the target or after max_hops. */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "rpc.h"
#include "stack/icmp.h"
#include "stack/udp.h"
#include "stack/wire/be.h"

#define RPC_TR_PAYLOAD 32 /* bytes of probe data, as traceroute(8)'s default 60-byte packet */

struct rpc_tr {
	struct rpc_stream stream;
	struct ustackd *d;
	struct udp_sock *us;	     /* UDP probes */
	struct icmp_echo_sock *es;   /* ICMP probes */
	struct event *ev;	     /* the probe's timeout, or "send the next one" */
	struct in_addr dst;
	unsigned max_hops, probes;
	uint16_t port;
	uint64_t timeout_ns;
	unsigned n;		     /* the probe out (0-based over the whole trace) */
	bool waiting;		     /* a probe is out */
	bool reached;		     /* a probe of this hop reached the target */
	uint64_t sent_ns;
	uint8_t payload[RPC_TR_PAYLOAD];
};

static void rpc_tr_free(struct rpc_tr *t)
{
	if (t->ev)
		event_free(t->ev);
	if (t->us)
		udp_close(t->us);
	if (t->es)
		icmp_echo_close(t->es);
	rpc_stream_del(&t->stream);
	free(t);
}

static void rpc_tr_cancel(struct rpc_stream *st)
{
	rpc_tr_free((struct rpc_tr *)((char *)st - offsetof(struct rpc_tr, stream)));
}

/* Reports the probe out; the last one ends the call (t freed). */
static void rpc_tr_report(struct rpc_tr *t, const char *kind, const struct in_addr *from,
			  int err, bool reached)
{
	unsigned hop = t->n / t->probes + 1, probe = t->n % t->probes + 1;
	struct json_object *r = json_object_new_object();
	bool last;

	t->waiting = false;
	event_del(t->ev);
	t->reached |= reached;
	last = probe == t->probes && (t->reached || hop == t->max_hops);
	if (r) {
		json_object_object_add(r, "hop", json_object_new_int((int)hop));
		json_object_object_add(r, "probe", json_object_new_int((int)probe));
		json_object_object_add(r, "kind", json_object_new_string(kind));
		if (from)
			json_object_object_add(r, "from", rpc_addr_json(*from));
		if (from || reached)
			json_object_object_add(
				r, "rtt_us",
				json_object_new_int64(
					(int64_t)((ustackd_now_ns() - t->sent_ns) / 1000)));
		if (err)
			json_object_object_add(r, "errno",
					       json_object_new_string(varlink_errno_name(err)));
		json_object_object_add(r, "reached", json_object_new_boolean(reached));
	}
	if (rpc_reply(t->stream.client, r, !last, NULL, 0) < 0)
		return; /* the client is going: its cancel frees t */
	if (last) {
		rpc_tr_free(t);
		return;
	}
	t->n++;
	if (probe == t->probes)
		t->reached = false;
	event_active(t->ev, EV_WRITE, 0); /* the next probe, from the loop */
}

/* An ICMP error about probe n: time exceeded, or unreachable (port: the target). */
static void rpc_tr_error(struct rpc_tr *t, const struct icmp_err *e)
{
	if (e->type == 11) {
		rpc_tr_report(t, "time_exceeded", &e->from, 0, false);
	} else if (e->type == 3 && e->code == 3 && t->us) {
		rpc_tr_report(t, "port_unreachable", &e->from, 0,
			      e->from.s_addr == t->dst.s_addr);
	} else {
		rpc_tr_report(t, "unreachable", e->local ? NULL : &e->from, e->err, false);
	}
}

static void rpc_tr_on_udp_error(struct udp_sock *s, void *user, const struct icmp_err *e)
{
	struct rpc_tr *t = user;

	(void)s;
	/* the quoted destination port says which probe this was about */
	if (!t->waiting || e->l4_len < 4 || be16_load(e->l4 + 2) != (uint16_t)(t->port + t->n))
		return;
	rpc_tr_error(t, e);
}

static int rpc_tr_on_udp_recv(struct udp_sock *s, void *user, const struct udp_dgram *d)
{
	(void)s;
	(void)user;
	(void)d;
	return 0; /* a reply to a probe port: not part of the trace */
}

static const struct udp_sock_ops rpc_tr_udp_ops = {
	.recv = rpc_tr_on_udp_recv,
	.error = rpc_tr_on_udp_error,
};

static void rpc_tr_on_echo(struct icmp_echo_sock *s, void *user, struct in_addr src,
			   uint16_t seq, uint8_t ttl, const uint8_t *data, size_t len)
{
	struct rpc_tr *t = user;

	(void)s;
	(void)ttl;
	(void)data;
	(void)len;
	if (t->waiting && seq == (uint16_t)(t->n + 1) && src.s_addr == t->dst.s_addr)
		rpc_tr_report(t, "echo_reply", &src, 0, true);
}

static void rpc_tr_on_echo_error(struct icmp_echo_sock *s, void *user, const struct icmp_err *e,
				 uint16_t seq)
{
	struct rpc_tr *t = user;

	(void)s;
	if (t->waiting && seq == (uint16_t)(t->n + 1))
		rpc_tr_error(t, e);
}

static const struct icmp_echo_ops rpc_tr_echo_ops = {
	.recv = rpc_tr_on_echo,
	.error = rpc_tr_on_echo_error,
};

/* EV_TIMEOUT: the probe out timed out. EV_WRITE (event_active): send the next probe. */
static void rpc_tr_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_tr *t = arg;
	struct rpc_client *c = t->stream.client;
	struct ipv4_write_opts o = IPV4_WRITE_OPTS_DEFAULT;
	struct timeval tv = { (time_t)(t->timeout_ns / 1000000000ull),
			      (suseconds_t)(t->timeout_ns % 1000000000ull / 1000) };
	int err;

	(void)fd;
	if (t->waiting) {
		if (what & EV_TIMEOUT)
			rpc_tr_report(t, "timeout", NULL, 0, false);
		goto out;
	}
	o.ttl = (uint8_t)(t->n / t->probes + 1);
	o.fragment = false;
	t->sent_ns = ustackd_now_ns();
	t->waiting = true;
	event_add(t->ev, &tv);
	if (t->us) {
		struct iovec iov = { t->payload, sizeof(t->payload) };

		err = udp_sendto(t->us, t->dst, (uint16_t)(t->port + t->n), &iov, 1, &o);
	} else {
		err = icmp_echo_send(t->es, t->dst, (uint16_t)(t->n + 1), t->payload,
				     sizeof(t->payload), &o);
	}
	if (err < 0)
		rpc_tr_report(t, "unreachable", NULL, err, false);
out:
	if (c)
		rpc_kick(c);
}

static int rpc_traceroute(struct rpc_req *req)
{
	struct ustackd *d = rpc_client_daemon(req->client);
	int64_t max_hops = 30, probes = 3, port = 33434, timeout_ms = 3000;
	const char *s, *proto = "udp";
	struct rpc_tr *t;
	struct in_addr dst;
	int err;

	if (varlink_get_string(req->call->params, "address", &s) < 0 || rpc_parse_addr(s, &dst) < 0)
		return rpc_invalid_param(req, "address");
	if (varlink_get_int(req->call->params, "max_hops", 1, 255, &max_hops) == -EINVAL)
		return rpc_invalid_param(req, "max_hops");
	if (varlink_get_int(req->call->params, "probes", 1, 10, &probes) == -EINVAL)
		return rpc_invalid_param(req, "probes");
	if (varlink_get_int(req->call->params, "port", 1, 65535, &port) == -EINVAL ||
	    port + max_hops * probes > 65536)
		return rpc_invalid_param(req, "port");
	if (varlink_get_int(req->call->params, "timeout_ms", 1, 60000, &timeout_ms) == -EINVAL)
		return rpc_invalid_param(req, "timeout_ms");
	if (varlink_get_string(req->call->params, "protocol", &proto) == -EINVAL ||
	    (strcmp(proto, "udp") != 0 && strcmp(proto, "icmp") != 0))
		return rpc_invalid_param(req, "protocol");
	if (!rpc_need_more(req))
		return 0;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->d = d;
	t->dst = dst;
	t->max_hops = (unsigned)max_hops;
	t->probes = (unsigned)probes;
	t->port = (uint16_t)port;
	t->timeout_ns = (uint64_t)timeout_ms * 1000000ull;
	memset(t->payload, 0x40, sizeof(t->payload));
	err = rpc_stream_add(req->client, &t->stream, rpc_tr_cancel, true);
	if (err < 0) {
		free(t);
		return err;
	}
	t->ev = event_new(d->base, -1, 0, rpc_tr_on_event, t);
	if (!t->ev)
		err = -ENOMEM;
	else if (strcmp(proto, "udp") == 0)
		err = udp_open(d->st, 0, &rpc_tr_udp_ops, t, &t->us);
	else
		err = icmp_echo_open(d->st, 0, &rpc_tr_echo_ops, t, &t->es);
	if (err < 0) {
		rpc_tr_free(t);
		return err;
	}
	event_active(t->ev, EV_WRITE, 0);
	return 0;
}

const struct rpc_method rpc_traceroute_methods[] = {
	{ "io.ustack.Stack.Traceroute", rpc_traceroute, false, false },
	{ NULL, NULL, false, false },
};
