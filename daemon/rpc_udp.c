/* io.ustack.Socket UdpBind and UdpConnect: UDP sockets handed to clients as one end of a
 * SOCK_SEQPACKET socketpair, each record a struct ustack_udp_hdr and one datagram
 * (ipc/proto.h, docs/rpc.md "Data plane").
 *
 * UDP has no flow control (RFC 768): a datagram the client's fd cannot take right now is
 * dropped and counted (UdpRcvbufErrors by the stack, RpcFdDrops here), never queued. The
 * fd is read in batches of RPC_UDP_BATCH records per wake-up. ICMP errors about what the
 * socket sent come back on the call as {socket, icmp_error}. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "ipc/proto.h"
#include "rpc.h"
#include "stack/udp.h"
#include "stack/wire/be.h"

#define RPC_UDP_BATCH 64
#define RPC_UDP_LAST_MAX 4096 /* records sent when the socket goes (rpc_udp_send_last) */

struct rpc_udp {
	struct rpc_sock sock;
	struct rpc_stream stream;
	struct udp_sock *us;
	int fd;
	struct event *ev_rd;
	bool connected;
	struct in_addr raddr;
	uint16_t rport;
	int ttl; /* 0: the stack's default */
	uint8_t rec[sizeof(struct ustack_udp_hdr) + USTACK_UDP_MAX_PAYLOAD];
};

static void rpc_udp_free(struct rpc_udp *u)
{
	if (u->ev_rd)
		event_free(u->ev_rd);
	if (u->fd >= 0)
		close(u->fd);
	if (u->us)
		udp_close(u->us);
	if (u->sock.client)
		rpc_socket_put(u->sock.client);
	rpc_sock_unregister(&u->sock);
	rpc_stream_del(&u->stream);
	free(u);
}

/* The end: {socket, closed: true} on the call, then gone. */
static void rpc_udp_end(struct rpc_udp *u)
{
	struct rpc_client *c = u->stream.client;

	if (c) {
		struct json_object *p = json_object_new_object();

		if (p) {
			json_object_object_add(p, "socket", json_object_new_int64((int64_t)u->sock.id));
			json_object_object_add(p, "closed", json_object_new_boolean(1));
		}
		rpc_reply(c, p, false, NULL, 0);
	}
	rpc_udp_free(u);
}

static int rpc_udp_on_recv(struct udp_sock *s, void *user, const struct udp_dgram *d)
{
	struct rpc_udp *u = user;
	struct ustack_udp_hdr h = { .port_be = htons(d->sport) };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)d->data, d->len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	(void)s;
	if (u->connected && (d->src.s_addr != u->raddr.s_addr || d->sport != u->rport))
		return 0; /* a connected socket hears only its peer (as connect(2) on UDP) */
	memcpy(h.addr, &d->src, 4);
	if (sendmsg(u->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		if (u->stream.client)
			rpc_count(u->stream.client, RPC_RpcFdDrops);
		return -ENOBUFS;
	}
	return 0;
}

static void rpc_udp_on_error(struct udp_sock *s, void *user, const struct icmp_err *e)
{
	struct rpc_udp *u = user;
	struct json_object *p = json_object_new_object(), *ie = json_object_new_object();
	uint16_t dport = e->l4_len >= 4 ? be16_load(e->l4 + 2) : 0;

	(void)s;
	if (!p || !ie || !u->stream.client) {
		json_object_put(p);
		json_object_put(ie);
		return;
	}
	json_object_object_add(ie, "errno", json_object_new_string(varlink_errno_name(e->err)));
	json_object_object_add(ie, "from", rpc_addr_json(e->from));
	json_object_object_add(ie, "remote", rpc_endpoint_json(e->ih.dst, dport));
	json_object_object_add(p, "socket", json_object_new_int64((int64_t)u->sock.id));
	json_object_object_add(p, "icmp_error", ie);
	rpc_reply(u->stream.client, p, true, NULL, 0);
}

static const struct udp_sock_ops rpc_udp_ops = {
	.recv = rpc_udp_on_recv,
	.error = rpc_udp_on_error,
};

static void rpc_udp_drop(struct rpc_client *c)
{
	if (c)
		rpc_count(c, RPC_RpcFdDrops);
}

/* Sends up to max records waiting in the client's fd, one datagram each. 1 at the
 * client's EOF (it closed its end) or a failed fd, else 0. c counts the drops (NULL:
 * not counted). */
static int rpc_udp_send_records(struct rpc_udp *u, struct rpc_client *c, int max)
{
	for (int i = 0; i < max; i++) {
		ssize_t n = recv(u->fd, u->rec, sizeof(u->rec), MSG_DONTWAIT);
		struct ustack_udp_hdr h;
		struct ipv4_write_opts o = IPV4_WRITE_OPTS_DEFAULT;
		struct in_addr dst;
		uint16_t dport;
		struct iovec iov;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0; /* nothing more now */
		if (n <= 0)
			return 1; /* EOF, or the fd failed: the end either way */
		if ((size_t)n < sizeof(h)) {
			rpc_udp_drop(c); /* not even a header */
			continue;
		}
		memcpy(&h, u->rec, sizeof(h));
		memcpy(&dst, h.addr, 4);
		dport = ntohs(h.port_be);
		if (u->connected) {
			dst = u->raddr;
			dport = u->rport;
		}
		if (h.flags || dport == 0 || dst.s_addr == 0) {
			rpc_udp_drop(c); /* refused: EINVAL (ipc/proto.h) */
			continue;
		}
		o.ttl = (uint8_t)u->ttl;
		iov.iov_base = u->rec + sizeof(h);
		iov.iov_len = (size_t)n - sizeof(h);
		if (udp_sendto(u->us, dst, dport, &iov, 1, &o) < 0)
			rpc_udp_drop(c); /* e.g. ARP failed: as a lost datagram */
	}
	return 0;
}

/* The records a client wrote before its socket goes (Close, or the client went: `ustackctl
 * udp send` writes its datagram and exits, and its connection may be seen closing before
 * the fd is read) are sent, as Linux sends what sendto() took before close(). Bounded: a
 * socketpair holds a few hundred records at most. */
static void rpc_udp_send_last(struct rpc_udp *u, struct rpc_client *c)
{
	if (u->fd >= 0)
		(void)rpc_udp_send_records(u, c, RPC_UDP_LAST_MAX);
}

/* Records from the client: a batch per wake-up. */
static void rpc_udp_on_fd(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_udp *u = arg;
	struct rpc_client *c = u->stream.client;

	(void)fd;
	(void)what;
	if (rpc_udp_send_records(u, c, RPC_UDP_BATCH) > 0)
		rpc_udp_end(u); /* the client closed its end */
	if (c)
		rpc_kick(c);
}

static void rpc_udp_cancel(struct rpc_stream *st)
{
	struct rpc_udp *u = (struct rpc_udp *)((char *)st - offsetof(struct rpc_udp, stream));

	rpc_udp_send_last(u, u->sock.client);
	u->sock.client = NULL;
	rpc_udp_free(u);
}

static int rpc_udp_setopt(struct rpc_sock *s, const char *name, int64_t v)
{
	struct rpc_udp *u = (struct rpc_udp *)s;

	if (strcmp(name, "ttl") != 0)
		return -ENOPROTOOPT;
	if (v < 0 || v > 255)
		return -EINVAL;
	u->ttl = (int)v;
	return 0;
}

static int rpc_udp_shutdown(struct rpc_sock *s, int how)
{
	struct rpc_udp *u = (struct rpc_udp *)s;

	/* the record stream itself: the client sees EOF, or we stop reading it */
	if (how == SHUT_RD || how == SHUT_RDWR)
		shutdown(u->fd, SHUT_WR);
	if (how == SHUT_WR || how == SHUT_RDWR)
		event_del(u->ev_rd);
	return 0;
}

static void rpc_udp_close_sock(struct rpc_sock *s)
{
	struct rpc_udp *u = (struct rpc_udp *)s;

	rpc_udp_send_last(u, u->sock.client);
	rpc_udp_end(u);
}

static const struct rpc_sock_ops rpc_udp_sock_ops = {
	.protocol = "udp",
	.setopt = rpc_udp_setopt,
	.shutdown = rpc_udp_shutdown,
	.close = rpc_udp_close_sock,
};

/* Both methods: local_port is "local".port for UdpBind, "local_port" for UdpConnect. */
static int rpc_udp_open(struct rpc_req *req, bool connect)
{
	struct ustackd *d = rpc_client_daemon(req->client);
	struct rpc_client *c = req->client;
	struct json_object *ep, *opts = NULL, *p;
	struct rpc_udp *u;
	struct in_addr a = { 0 };
	const char *s, *bad;
	int64_t port = 0, rport = 0;
	int sp[2], err;

	if (!rpc_need_more(req))
		return 0;
	if (varlink_get_object(req->call->params, connect ? "remote" : "local", &ep) < 0 ||
	    varlink_get_string(ep, "address", &s) < 0 || rpc_parse_addr(s, &a) < 0)
		return rpc_invalid_param(req, connect ? "remote" : "local");
	if (varlink_get_int(ep, "port", connect ? 1 : 0, 65535, connect ? &rport : &port) < 0)
		return rpc_invalid_param(req, connect ? "remote" : "local");
	if (connect && varlink_get_int(req->call->params, "local_port", 0, 65535, &port) == -EINVAL)
		return rpc_invalid_param(req, "local_port");
	if (varlink_get_object(req->call->params, "options", &opts) == -EINVAL)
		return rpc_invalid_param(req, "options");
	err = rpc_socket_get(c);
	if (err < 0)
		return err;
	u = calloc(1, sizeof(*u));
	if (!u) {
		rpc_socket_put(c);
		return -ENOMEM;
	}
	u->fd = -1;
	u->sock.client = c;
	err = rpc_stream_add(c, &u->stream, rpc_udp_cancel, true);
	if (err < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		err = -errno;
		goto fail;
	}
	u->fd = sp[0];
	fcntl(u->fd, F_SETFL, O_NONBLOCK);
	u->ev_rd = event_new(d->base, u->fd, EV_READ | EV_PERSIST, rpc_udp_on_fd, u);
	err = u->ev_rd ? udp_open(d->st, (uint16_t)port, &rpc_udp_ops, u, &u->us) : -ENOMEM;
	if (err < 0) {
		close(sp[1]);
		goto fail;
	}
	rpc_sock_register(c, &u->sock, &rpc_udp_sock_ops, u->us);
	if (connect) {
		u->connected = true;
		u->raddr = a;
		u->rport = (uint16_t)rport;
	}
	if (opts) {
		err = rpc_sock_apply_options(&u->sock, opts, &bad);
		if (err < 0 && err != -ENOPROTOOPT) {
			close(sp[1]);
			goto fail;
		}
	}
	p = json_object_new_object();
	if (p) {
		json_object_object_add(p, "socket", json_object_new_int64((int64_t)u->sock.id));
		json_object_object_add(p, "local",
				       rpc_endpoint_json(stack_config(d->st)->addr,
							 udp_sock_port(u->us)));
	}
	event_add(u->ev_rd, NULL);
	rpc_reply(c, p, true, &sp[1], 1);
	return 0;
fail:
	rpc_udp_free(u);
	return err;
}

static int rpc_udp_bind(struct rpc_req *req)
{
	return rpc_udp_open(req, false);
}

static int rpc_udp_connect(struct rpc_req *req)
{
	return rpc_udp_open(req, true);
}

const struct rpc_method rpc_udp_methods[] = {
	{ "io.ustack.Socket.UdpBind", rpc_udp_bind, true, false },
	{ "io.ustack.Socket.UdpConnect", rpc_udp_connect, true, false },
	{ NULL, NULL, false, false },
};
