/* io.ustack.Socket TcpConnect and TcpListen: TCP connections handed to clients as one end
 * of a SOCK_STREAM socketpair (docs/rpc.md, "Data plane").
 *
 * Bytes move between the socketpair and the TCP rings without a buffer of the daemon's
 * (stack/tcp.h, "Zero-copy I/O"): the kernel copies them straight into or out of the
 * rings, so the daemon copies nothing and holds nothing but the rings TCP has anyway:
 *  - fd -> TCP: tcp_send_reserve() gives the send ring's free space; readv(2) fills it and
 *    tcp_send_commit() queues what came. The fd is read only while the ring has at least
 *    RPC_TCP_SNDLOWAT bytes free (TCP_SO_SNDLOWAT: ops->writable says when it has again),
 *    so the client's writes block on a full socketpair (backpressure to the writer).
 *  - TCP -> fd: tcp_recv_peek() gives the receive ring's data; sendmsg(2) writes it and
 *    tcp_recv_consume() releases what the kernel took. When the client does not read, the
 *    socketpair fills, the data stays in the ring and the TCP window closes (RFC 9293
 *    §3.8.6: flow control reaches the peer).
 *
 * Half close: EOF on the fd (the client's shutdown(SHUT_WR)) sends our FIN after the
 * queued data; the peer's FIN becomes shutdown(fd, SHUT_WR) after its data, i.e. EOF for
 * the client. The end of the connection ends the call: {socket, closed: true} after an
 * orderly close, Errno with the errno name after a reset, timeout or unreachable. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon.h"
#include "rpc.h"
#include "stack/tcp.h"

/* The send ring's free space below which the fd is not read (at most a quarter of the
 * ring): each readv(2) then moves at least this much, as the 64 KiB bounce buffer of old
 * did, instead of the few segments' worth that each ACK frees. */
#define RPC_TCP_SNDLOWAT (64u << 10)
#define RPC_TCP_PAIR_SNDBUF (1 << 20)

struct rpc_tcp_listener;

struct rpc_tcp {
	struct rpc_sock sock;
	struct rpc_stream stream;
	struct tcp_sock *ts;
	struct rpc_tcp_listener *parent; /* accepted: where the end is reported; NULL after */
	struct rpc_tcp *next_child;	 /* in parent->children */
	int fd;				 /* our end of the socketpair; -1 before connected */
	int client_fd;			 /* the client's end until it is sent */
	struct event *ev_rd, *ev_wr;
	bool call_open;	 /* TcpConnect: the call awaits its last reply */
	bool connected;
	bool fd_eof;	 /* no more reading of the fd: EOF, error or Shutdown(write) */
	bool fin_sent;	 /* tcp_shutdown(SHUT_WR) done */
	bool tcp_eof;	 /* tcp_recv_peek() said 0 (peer's FIN) or failed */
	bool fd_wr_shut; /* shutdown(fd, SHUT_WR) done, or the client stopped reading */
	bool tcp_closed; /* ops->closed came */
	bool ending;
	bool snd_wait;	 /* the send ring is (nearly) full: ops->writable resumes reading */
	bool fd_rd_ready; /* the fd may have data: not since readv() found it empty */
	bool fd_full;	 /* the socketpair took less than offered: ev_wr resumes writing */
	bool pump_queued; /* ev_pump is active */
	struct event *ev_pump;
	size_t snd_lowat; /* RPC_TCP_SNDLOWAT, at most a quarter of the send ring */
};

struct rpc_tcp_listener {
	struct rpc_sock sock;
	struct rpc_stream stream;
	struct tcp_sock *ts;
	struct rpc_tcp *children; /* accepted connections, while it listens */
};

static void rpc_tcp_pump(struct rpc_tcp *t);

static void rpc_tcp_events(struct rpc_tcp *t)
{
	bool want_rd = t->connected && !t->fd_eof && !t->snd_wait && !t->tcp_closed;
	bool want_wr = t->connected && t->fd_full && !t->fd_wr_shut;

	if (t->fd < 0)
		return;
	if (want_rd)
		event_add(t->ev_rd, NULL);
	else
		event_del(t->ev_rd);
	if (want_wr)
		event_add(t->ev_wr, NULL);
	else
		event_del(t->ev_wr);
}

/* Frees t: events, our fd, the TCP socket (a FIN after queued data, or RST when unread
 * data is left: RFC 2525 §2.17), its table entries. No reply. */
static void rpc_tcp_free(struct rpc_tcp *t)
{
	if (t->ev_rd)
		event_free(t->ev_rd);
	if (t->ev_wr)
		event_free(t->ev_wr);
	if (t->ev_pump)
		event_free(t->ev_pump);
	if (t->fd >= 0)
		close(t->fd);
	if (t->client_fd >= 0)
		close(t->client_fd);
	if (t->ts)
		tcp_close(t->ts);
	if (t->parent)
		for (struct rpc_tcp **pp = &t->parent->children; *pp; pp = &(*pp)->next_child)
			if (*pp == t) {
				*pp = t->next_child;
				break;
			}
	if (t->sock.client)
		rpc_socket_put(t->sock.client);
	rpc_sock_unregister(&t->sock);
	rpc_stream_del(&t->stream);
	free(t);
}

/* The connection is over (err 0: orderly): reports it on its call or its listener's,
 * then frees it. */
static void rpc_tcp_end(struct rpc_tcp *t, int err)
{
	struct rpc_client *c = t->stream.client;

	if (t->ending)
		return;
	t->ending = true;
	if (c && t->call_open) {
		if (err) {
			rpc_error_errno(c, "io.ustack.Socket.Errno", err, NULL);
		} else {
			struct json_object *p = json_object_new_object();

			if (p) {
				json_object_object_add(p, "socket",
						       json_object_new_int64((int64_t)t->sock.id));
				json_object_object_add(p, "closed", json_object_new_boolean(1));
			}
			rpc_reply(c, p, false, NULL, 0);
		}
	} else if (c && t->parent) {
		struct json_object *p = json_object_new_object(), *e = json_object_new_object();

		if (p && e) {
			json_object_object_add(e, "socket", json_object_new_int64((int64_t)t->sock.id));
			if (err)
				json_object_object_add(e, "errno",
						       json_object_new_string(varlink_errno_name(err)));
			json_object_object_add(p, "socket",
					       json_object_new_int64((int64_t)t->parent->sock.id));
			json_object_object_add(p, "ended", e);
			e = NULL;
		}
		json_object_put(e);
		rpc_reply(c, p, true, NULL, 0);
	}
	rpc_tcp_free(t);
}

/* fd -> TCP: readv(2) straight into the send ring's free space. */
static void rpc_tcp_to_tcp(struct rpc_tcp *t)
{
	t->snd_wait = false;
	for (;;) {
		struct iovec iov[2];
		ssize_t space, r;

		if (t->fd_eof) {
			if (!t->fin_sent) {
				t->fin_sent = true;
				tcp_shutdown(t->ts, SHUT_WR);
			}
			return;
		}
		space = tcp_send_reserve(t->ts, iov);
		if (space == -EAGAIN || (space > 0 && (size_t)space < t->snd_lowat)) {
			/* below the low-water mark tcp_send_reserve() armed ops->writable */
			t->snd_wait = true;
			return;
		}
		if (space < 0) {
			/* the connection cannot send any more: what the client writes is not
			 * read; its end is reported by ops->closed */
			t->fd_eof = true;
			return;
		}
		/* Only after ev_rd said so: a pump for TCP's news (an ACK batch) would
		 * otherwise cost a readv() that finds nothing. */
		if (!t->fd_rd_ready)
			return;
		r = readv(t->fd, iov, 2);
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			t->fd_rd_ready = errno == EINTR;
			return;
		}
		if (r <= 0) {
			t->fd_eof = true; /* EOF: the client's shutdown(SHUT_WR) or close() */
			continue;
		}
		/* Nothing ran between reserve and commit: it takes all r bytes. */
		if (tcp_send_commit(t->ts, (size_t)r) < 0) {
			t->fd_eof = true;
			return;
		}
		if (r < space) {
			t->fd_rd_ready = false; /* the socketpair is empty: ev_rd resumes */
			return;
		}
	}
}

/* TCP -> fd: sendmsg(2) straight from the receive ring, then release what it took. */
static void rpc_tcp_to_fd(struct rpc_tcp *t)
{
	while (!t->tcp_eof) {
		struct iovec iov[2];
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t n = tcp_recv_peek(t->ts, iov, SIZE_MAX), w;

		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			t->tcp_eof = true; /* 0: the peer's FIN; < 0: the connection's error */
			break;
		}
		if (t->fd_wr_shut) {
			(void)tcp_recv_consume(t->ts, (size_t)n); /* nobody reads: discard */
			continue;
		}
		if (t->fd_full)
			return; /* ev_wr resumes; TCP's window closes meanwhile */
		if (!iov[1].iov_len)
			m.msg_iovlen = 1;
		w = sendmsg(t->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			t->fd_full = true;
			return;
		}
		if (w < 0) {
			/* the client closed its end: stop reading TCP */
			t->fd_wr_shut = true;
			tcp_shutdown(t->ts, SHUT_RD);
			continue;
		}
		(void)tcp_recv_consume(t->ts, (size_t)w);
		if (w < n) {
			t->fd_full = true;
			return;
		}
	}
	if (!t->fd_wr_shut) {
		t->fd_wr_shut = true;
		shutdown(t->fd, SHUT_WR);
	}
}

/* Moves what can move both ways; ends t when both directions are done. */
static void rpc_tcp_pump(struct rpc_tcp *t)
{
	if (!t->connected || t->ending)
		return;
	rpc_tcp_to_tcp(t);
	rpc_tcp_to_fd(t);
	rpc_tcp_events(t);
	/* Over when TCP is closed and everything it received was delivered, or when the
	 * client is gone both ways and our FIN went out (the stack finishes the close). */
	if ((t->tcp_closed && t->tcp_eof) || (t->fd_eof && t->fin_sent && t->fd_wr_shut))
		rpc_tcp_end(t, 0);
}

/* The fd is readable or writable, or TCP has news (ev_pump): move what can move. */
static void rpc_tcp_on_fd(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_tcp *t = arg;
	struct rpc_client *c = t->stream.client;

	(void)fd;
	if (what & EV_WRITE)
		t->fd_full = false;
	if (what & EV_READ)
		t->fd_rd_ready = true;
	t->pump_queued = false;
	rpc_tcp_pump(t);
	if (c)
		rpc_kick(c);
}

/* Our end of a new socketpair, the events on it; the client's end in t->client_fd. */
static int rpc_tcp_fd_open(struct rpc_tcp *t, struct ustackd *d)
{
	int sp[2];

	/* Only our end is non-blocking: the client's is its own to use as it likes. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	t->fd = sp[0];
	t->client_fd = sp[1];
	if (fcntl(t->fd, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	/* A unix stream socket's send buffer is what is in flight to the other end: the
	 * default (net.core.wmem_default, ~208 KiB) costs a wake-up every few reads at
	 * multi-Gbit/s. Best effort: capped by net.core.wmem_max. */
	for (int i = 0; i < 2; i++)
		(void)setsockopt(sp[i], SOL_SOCKET, SO_SNDBUF, &(int){ RPC_TCP_PAIR_SNDBUF },
				 sizeof(int));
	t->ev_rd = event_new(d->base, t->fd, EV_READ | EV_PERSIST, rpc_tcp_on_fd, t);
	t->ev_wr = event_new(d->base, t->fd, EV_WRITE | EV_PERSIST, rpc_tcp_on_fd, t);
	t->ev_pump = event_new(d->base, -1, 0, rpc_tcp_on_fd, t);
	if (!t->ev_rd || !t->ev_wr || !t->ev_pump)
		return -ENOMEM;
	return 0;
}

/* {socket, local, remote}, or with `accepted` wrapping them for a listener. */
static struct json_object *rpc_tcp_endpoints(struct rpc_tcp *t, struct json_object *p)
{
	struct tcp_sock_info i;

	tcp_sock_get_info(t->ts, &i);
	if (p) {
		json_object_object_add(p, "socket", json_object_new_int64((int64_t)t->sock.id));
		json_object_object_add(p, "local", rpc_endpoint_json(i.laddr, i.lport));
		json_object_object_add(p, "remote", rpc_endpoint_json(i.raddr, i.rport));
	}
	return p;
}

/* RPC_TCP_SNDLOWAT, but at most a quarter of the send ring (the `sndbuf` option may make
 * it small), so that reading the fd resumes while most of the ring is still queued. */
static void rpc_tcp_set_lowat(struct rpc_tcp *t)
{
	int sndbuf = 0;

	t->snd_lowat = RPC_TCP_SNDLOWAT;
	if (tcp_getopt(t->ts, TCP_SO_SNDBUF, &sndbuf) == 0 && (size_t)sndbuf / 4 < t->snd_lowat)
		t->snd_lowat = (size_t)sndbuf / 4;
	if (t->snd_lowat == 0)
		t->snd_lowat = 1;
	(void)tcp_setopt(t->ts, TCP_SO_SNDLOWAT, (int)t->snd_lowat);
}

/* Sends the client its fd, then data may flow. */
static void rpc_tcp_hand_over(struct rpc_tcp *t)
{
	struct rpc_client *c = t->stream.client;
	int fd = t->client_fd;
	int err;

	t->client_fd = -1;
	t->connected = true;
	t->fd_rd_ready = true; /* nothing yet, but a first look costs one readv() */
	rpc_tcp_set_lowat(t);
	if (t->parent) {
		struct json_object *p = json_object_new_object();
		struct json_object *a = rpc_tcp_endpoints(t, json_object_new_object());

		if (p && a) {
			json_object_object_add(p, "socket",
					       json_object_new_int64((int64_t)t->parent->sock.id));
			json_object_object_add(p, "accepted", a);
			a = NULL;
		}
		json_object_put(a);
		err = rpc_reply(c, p, true, &fd, 1);
	} else {
		err = rpc_reply(c, rpc_tcp_endpoints(t, json_object_new_object()), true, &fd, 1);
	}
	if (err < 0)
		return; /* the client is going: its cancel frees t */
	rpc_tcp_pump(t);
}

static void rpc_tcp_on_connected(struct tcp_sock *s, void *user)
{
	(void)s;
	rpc_tcp_hand_over(user);
}

/* Data arrived or send space was freed: a segment or an ACK at a time while a receive
 * batch runs. The pump runs once after the batch (an active event), so a write(2) to the
 * fd carries many segments instead of one each. */
static void rpc_tcp_on_readable(struct tcp_sock *s, void *user)
{
	struct rpc_tcp *t = user;

	(void)s;
	if (!t->pump_queued) {
		t->pump_queued = true;
		event_active(t->ev_pump, EV_TIMEOUT, 0);
	}
}

/* Send space was freed (at least the low-water mark): refill the ring at once, as the
 * built-in services do, so that the output the ACKs allow finds data queued; a pump after
 * the batch would often find the ring drained and the link idle. The rest (EOF, FIN, the
 * end) is left to that pump. */
static void rpc_tcp_on_writable(struct tcp_sock *s, void *user)
{
	struct rpc_tcp *t = user;

	if (t->connected && !t->ending && !t->fd_eof)
		rpc_tcp_to_tcp(t);
	rpc_tcp_on_readable(s, user);
}

static void rpc_tcp_on_closed(struct tcp_sock *s, void *user, int err)
{
	struct rpc_tcp *t = user;

	(void)s;
	t->tcp_closed = true;
	if (err || !t->connected) {
		/* a failure is reported at once: unread data is not worth the wait */
		rpc_tcp_end(t, err ? err : ECONNRESET);
		return;
	}
	rpc_tcp_pump(t);
}

static const struct tcp_sock_ops rpc_tcp_ops = {
	.connected = rpc_tcp_on_connected,
	.readable = rpc_tcp_on_readable,
	.writable = rpc_tcp_on_writable,
	.closed = rpc_tcp_on_closed,
};

/* Before a close: what the client wrote before it went, as far as the send ring takes it
 * (the rest was never accepted: the client's writes had blocked on it). */
static void rpc_tcp_flush(struct rpc_tcp *t)
{
	if (t->connected && !t->ending && !t->tcp_closed) {
		t->fd_rd_ready = true;
		rpc_tcp_to_tcp(t);
	}
}

static void rpc_tcp_cancel(struct rpc_stream *st)
{
	struct rpc_tcp *t = (struct rpc_tcp *)((char *)st - offsetof(struct rpc_tcp, stream));

	/* The client's connection is gone: what it wrote goes out, then our FIN. */
	rpc_tcp_flush(t);
	t->sock.client = NULL;
	rpc_tcp_free(t);
}

static int rpc_tcp_setopt(struct rpc_sock *s, const char *name, int64_t v)
{
	static const struct {
		const char *name;
		enum tcp_sockopt opt;
	} map[] = {
		{ "nodelay", TCP_SO_NODELAY },	     { "keepalive", TCP_SO_KEEPALIVE },
		{ "keepidle_s", TCP_SO_KEEPIDLE_S }, { "keepintvl_s", TCP_SO_KEEPINTVL_S },
		{ "keepcnt", TCP_SO_KEEPCNT },	     { "sndbuf", TCP_SO_SNDBUF },
		{ "rcvbuf", TCP_SO_RCVBUF },	     { "user_timeout_ms", TCP_SO_USER_TIMEOUT_MS },
		{ "ttl", TCP_SO_TTL },
	};
	struct tcp_sock *ts = (struct tcp_sock *)s->key;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].name, name) == 0)
			return tcp_setopt(ts, map[i].opt, (int)v);
	return -ENOPROTOOPT;
}

static int rpc_tcp_shutdown(struct rpc_sock *s, int how)
{
	struct rpc_tcp *t = (struct rpc_tcp *)s;

	if (how == SHUT_RD || how == SHUT_RDWR) {
		t->fd_wr_shut = true; /* nothing more reaches the client */
		shutdown(t->fd, SHUT_WR);
		tcp_shutdown(t->ts, SHUT_RD);
	}
	if (how == SHUT_WR || how == SHUT_RDWR)
		t->fd_eof = true; /* our FIN after what was read already */
	rpc_tcp_pump(t);
	return 0;
}

static void rpc_tcp_close_sock(struct rpc_sock *s)
{
	rpc_tcp_flush((struct rpc_tcp *)s);
	rpc_tcp_end((struct rpc_tcp *)s, 0);
}

static const struct rpc_sock_ops rpc_tcp_sock_ops = {
	.protocol = "tcp",
	.setopt = rpc_tcp_setopt,
	.shutdown = rpc_tcp_shutdown,
	.close = rpc_tcp_close_sock,
};

/* A new connection object for the client c, with its socketpair. */
static int rpc_tcp_new(struct rpc_client *c, bool is_call, struct rpc_tcp **out)
{
	struct rpc_tcp *t;
	int err = rpc_socket_get(c);

	if (err < 0)
		return err;
	t = calloc(1, sizeof(*t));
	if (!t) {
		rpc_socket_put(c);
		return -ENOMEM;
	}
	t->fd = t->client_fd = -1;
	t->sock.client = c;
	err = rpc_stream_add(c, &t->stream, rpc_tcp_cancel, is_call);
	if (err == 0)
		err = rpc_tcp_fd_open(t, rpc_client_daemon(c));
	if (err < 0) {
		rpc_tcp_free(t);
		return err;
	}
	*out = t;
	return 0;
}

/* Endpoint {address, port}: 0, or the name of the bad field in *bad. */
static int parse_endpoint(struct json_object *params, const char *key, bool port_required,
			  struct in_addr *a, uint16_t *port, const char **bad)
{
	struct json_object *e;
	const char *s;
	int64_t p;

	*bad = key;
	if (varlink_get_object(params, key, &e) < 0)
		return -EINVAL;
	if (varlink_get_string(e, "address", &s) < 0 || rpc_parse_addr(s, a) < 0)
		return -EINVAL;
	if (varlink_get_int(e, "port", port_required ? 1 : 0, 65535, &p) < 0)
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

/* The optional Options object: 0 (*opts NULL when absent), or -EINVAL after answering. */
static int parse_options(struct rpc_req *req, struct json_object **opts)
{
	int err = varlink_get_object(req->call->params, "options", opts);

	if (err == -EINVAL) {
		rpc_invalid_param(req, "options");
		return err;
	}
	if (err < 0)
		*opts = NULL;
	return 0;
}

static int rpc_tcp_connect(struct rpc_req *req)
{
	struct ustackd *d = rpc_client_daemon(req->client);
	struct json_object *opts;
	struct in_addr raddr, any = { 0 };
	uint16_t rport;
	int64_t lport = 0;
	const char *bad;
	struct rpc_tcp *t;
	int err;

	if (!rpc_need_more(req))
		return 0;
	if (parse_endpoint(req->call->params, "remote", true, &raddr, &rport, &bad) < 0)
		return rpc_invalid_param(req, bad);
	err = varlink_get_int(req->call->params, "local_port", 0, 65535, &lport);
	if (err == -EINVAL)
		return rpc_invalid_param(req, "local_port");
	if (parse_options(req, &opts) < 0)
		return 0;
	err = rpc_tcp_new(req->client, true, &t);
	if (err < 0)
		return err;
	t->call_open = true;
	err = tcp_open(d->st, &rpc_tcp_ops, t, &t->ts);
	if (err < 0)
		goto fail;
	rpc_sock_register(req->client, &t->sock, &rpc_tcp_sock_ops, t->ts);
	if (opts) {
		err = rpc_sock_apply_options(&t->sock, opts, &bad);
		if (err == -EINVAL) {
			t->call_open = false;
			rpc_tcp_free(t);
			return rpc_invalid_param(req, bad);
		}
		if (err < 0)
			goto fail;
	}
	if (lport) {
		err = tcp_bind(t->ts, any, (uint16_t)lport);
		if (err < 0)
			goto fail;
	}
	err = tcp_connect(t->ts, raddr, rport);
	if (err < 0)
		goto fail;
	return 0; /* ops->connected or ops->closed answers */
fail:
	t->call_open = false;
	rpc_tcp_free(t);
	return err;
}

/* Listener */

static void rpc_tcp_listener_free(struct rpc_tcp_listener *l)
{
	if (l->ts)
		tcp_close(l->ts);
	if (l->sock.client)
		rpc_socket_put(l->sock.client);
	rpc_sock_unregister(&l->sock);
	rpc_stream_del(&l->stream);
	free(l);
}

/* Children outlive their listener (io.ustack.Socket.Close): they stop reporting. */
static void rpc_tcp_listener_orphan(struct rpc_tcp_listener *l)
{
	while (l->children) {
		struct rpc_tcp *t = l->children;

		l->children = t->next_child;
		t->parent = NULL;
		t->next_child = NULL;
	}
}

/* A connection accepted only to be reset: no callbacks. */
static const struct tcp_sock_ops rpc_tcp_refused_ops;

static void rpc_tcp_on_accept(struct tcp_sock *s, void *user)
{
	struct rpc_tcp_listener *l = user;
	struct rpc_client *c = l->stream.client;

	for (;;) {
		struct rpc_tcp *t = NULL;
		struct tcp_sock *ns;

		int err = c ? rpc_tcp_new(c, false, &t) : -ECONNRESET;

		if (err < 0) {
			/* over the client's socket limit: refuse the connection (RST) */
			if (tcp_accept(s, &rpc_tcp_refused_ops, NULL, &ns) < 0)
				return;
			tcp_abort(ns);
			continue;
		}
		if (tcp_accept(s, &rpc_tcp_ops, t, &t->ts) < 0) {
			rpc_tcp_free(t);
			return;
		}
		rpc_sock_register(c, &t->sock, &rpc_tcp_sock_ops, t->ts);
		t->parent = l;
		t->next_child = l->children;
		l->children = t;
		rpc_tcp_hand_over(t);
	}
}

static const struct tcp_sock_ops rpc_tcp_listen_ops = {
	.accept_ready = rpc_tcp_on_accept,
};

static void rpc_tcp_listener_cancel(struct rpc_stream *st)
{
	struct rpc_tcp_listener *l =
		(struct rpc_tcp_listener *)((char *)st - offsetof(struct rpc_tcp_listener, stream));

	rpc_tcp_listener_orphan(l);
	l->sock.client = NULL;
	rpc_tcp_listener_free(l);
}

static int rpc_tcp_listener_setopt(struct rpc_sock *s, const char *name, int64_t v)
{
	return rpc_tcp_setopt(s, name, v);
}

static int rpc_tcp_listener_shutdown(struct rpc_sock *s, int how)
{
	(void)s;
	(void)how;
	return -ENOTCONN;
}

static void rpc_tcp_listener_close(struct rpc_sock *s)
{
	struct rpc_tcp_listener *l = (struct rpc_tcp_listener *)s;
	struct json_object *p = json_object_new_object();

	if (p)
		json_object_object_add(p, "socket", json_object_new_int64((int64_t)l->sock.id));
	rpc_tcp_listener_orphan(l);
	rpc_reply(l->stream.client, p, false, NULL, 0);
	rpc_tcp_listener_free(l);
}

static const struct rpc_sock_ops rpc_tcp_listener_ops = {
	.protocol = "tcp",
	.setopt = rpc_tcp_listener_setopt,
	.shutdown = rpc_tcp_listener_shutdown,
	.close = rpc_tcp_listener_close,
};

static int rpc_tcp_listen(struct rpc_req *req)
{
	struct ustackd *d = rpc_client_daemon(req->client);
	struct rpc_tcp_listener *l;
	struct json_object *opts, *p;
	struct in_addr laddr;
	uint16_t lport;
	int64_t backlog = 0;
	const char *bad;
	int err;

	if (!rpc_need_more(req))
		return 0;
	if (parse_endpoint(req->call->params, "local", false, &laddr, &lport, &bad) < 0)
		return rpc_invalid_param(req, bad);
	err = varlink_get_int(req->call->params, "backlog", 0, 65535, &backlog);
	if (err == -EINVAL)
		return rpc_invalid_param(req, "backlog");
	if (parse_options(req, &opts) < 0)
		return 0;
	err = rpc_socket_get(req->client);
	if (err < 0)
		return err;
	l = calloc(1, sizeof(*l));
	if (!l) {
		rpc_socket_put(req->client);
		return -ENOMEM;
	}
	l->sock.client = req->client;
	err = rpc_stream_add(req->client, &l->stream, rpc_tcp_listener_cancel, true);
	if (err == 0)
		err = tcp_open(d->st, &rpc_tcp_listen_ops, l, &l->ts);
	if (err < 0)
		goto fail;
	rpc_sock_register(req->client, &l->sock, &rpc_tcp_listener_ops, l->ts);
	if (opts) {
		err = rpc_sock_apply_options(&l->sock, opts, &bad);
		if (err == -EINVAL) {
			rpc_tcp_listener_free(l);
			return rpc_invalid_param(req, bad);
		}
		if (err < 0)
			goto fail;
	}
	err = tcp_bind(l->ts, laddr, lport);
	if (err == 0)
		err = tcp_listen(l->ts, (unsigned)backlog);
	if (err < 0)
		goto fail;
	p = json_object_new_object();
	if (p) {
		struct tcp_sock_info i;

		tcp_sock_get_info(l->ts, &i);
		json_object_object_add(p, "socket", json_object_new_int64((int64_t)l->sock.id));
		json_object_object_add(p, "local", rpc_endpoint_json(i.laddr, i.lport));
	}
	rpc_reply(req->client, p, true, NULL, 0);
	return 0;
fail:
	rpc_tcp_listener_free(l);
	return err;
}

const struct rpc_method rpc_tcp_methods[] = {
	{ "io.ustack.Socket.TcpConnect", rpc_tcp_connect, true, false },
	{ "io.ustack.Socket.TcpListen", rpc_tcp_listen, true, false },
	{ NULL, NULL, false, false },
};
