/* libustack: sockets of the stack as file descriptors, and the events of their calls
 * (ipc/ustack.h, io.ustack.Socket). Every socket lives on a varlink connection of its own:
 * its creating call stays open (varlink "more") and ends with the socket's end, so a reset
 * is told apart from a clean close even though the fd shows EOF for both. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipc/libustack_priv.h"
#include "ipc/proto.h"

void ustack_opts_init(struct ustack_opts *o)
{
	o->nodelay = o->keepalive = o->keepidle_s = o->keepintvl_s = o->keepcnt = USTACK_OPT_UNSET;
	o->sndbuf = o->rcvbuf = o->ttl = o->user_timeout_ms = USTACK_OPT_UNSET;
}

static struct json_object *opts_json(const struct ustack_opts *o)
{
	const struct {
		const char *name;
		int v;
		bool boolean;
	} f[] = {
		{ "nodelay", o->nodelay, true },	 { "keepalive", o->keepalive, true },
		{ "keepidle_s", o->keepidle_s, false },	 { "keepintvl_s", o->keepintvl_s, false },
		{ "keepcnt", o->keepcnt, false },	 { "sndbuf", o->sndbuf, false },
		{ "rcvbuf", o->rcvbuf, false },		 { "ttl", o->ttl, false },
		{ "user_timeout_ms", o->user_timeout_ms, false },
	};
	struct json_object *j = json_object_new_object();
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].v != USTACK_OPT_UNSET)
			json_object_object_add(j, f[i].name,
					       f[i].boolean ? json_object_new_boolean(f[i].v != 0)
							    : json_object_new_int(f[i].v));
	return j;
}

static struct json_object *endpoint_json(const char *addr, uint16_t port)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "address", json_object_new_string(addr));
	json_object_object_add(e, "port", json_object_new_int(port));
	return e;
}

static void endpoint_parse(struct json_object *e, struct ustack_endpoint *out)
{
	const char *a = NULL;
	int64_t port = 0;

	memset(out, 0, sizeof(*out));
	if (!e)
		return;
	if (varlink_get_string(e, "address", &a) == 0)
		inet_pton(AF_INET, a, &out->addr);
	if (varlink_get_int(e, "port", 0, 65535, &port) == 0)
		out->port = (uint16_t)port;
}

static void queue_event(struct ustack *u, const struct ustack_event *ev)
{
	struct uevent *e = calloc(1, sizeof(*e));

	if (!e) {
		if (ev->type == USTACK_EV_ACCEPTED)
			close(ev->fd); /* nowhere to keep it: the daemon sees a close */
		return;
	}
	e->ev = *ev;
	*u->evq_tail = e;
	u->evq_tail = &e->next;
}

static struct usock *find_fd(struct ustack *u, int fd)
{
	struct usock *s;

	for (s = u->socks; s; s = s->next)
		if (s->fd == fd)
			return s;
	return NULL;
}

static void mark_ended(struct ustack *u, struct usock *s, int err)
{
	struct ustack_event ev = { .type = USTACK_EV_ENDED, .fd = s->fd, .error = err,
				   .listener = -1 };

	if (s->ended)
		return;
	s->ended = true;
	s->end_err = err;
	queue_event(u, &ev);
}

/* One message on the call of `s` (a socket with its own connection). */
static void usock_handle(struct ustack *u, struct usock *s, struct json_object *msg, int fd)
{
	struct json_object *sub;
	struct varlink_reply rep;
	const char *bad;
	bool closed = false;

	if (varlink_reply_decode(msg, &rep, &bad) < 0) {
		mark_ended(u, s, -EBADMSG);
		goto out;
	}
	if (rep.error) {
		int err = uclient_set_error(u, rep.error, rep.params);

		/* A call of our own (SetOption, Shutdown, Close) is answered before the stream
		 * ends, as calls on one connection are answered in order from there. */
		if (s->simple_pending) {
			s->simple_pending--;
			s->simple_result = err;
			s->simple_done = true;
		} else {
			mark_ended(u, s, err);
		}
		goto out;
	}
	if (!json_object_object_get_ex(rep.params, "socket", NULL)) {
		if (s->simple_pending) {
			s->simple_pending--;
			s->simple_result = 0;
			s->simple_done = true;
		}
		goto out;
	}
	if (s->kind == USOCK_LISTENER && varlink_get_object(rep.params, "accepted", &sub) == 0) {
		struct ustack_event ev = { .type = USTACK_EV_ACCEPTED, .fd = fd, .listener = s->fd };
		struct usock *a;
		int64_t id = -1;
		struct json_object *remote = NULL;

		varlink_get_int(sub, "socket", 0, INT64_MAX, &id);
		varlink_get_object(sub, "remote", &remote);
		endpoint_parse(remote, &ev.peer);
		a = fd >= 0 ? calloc(1, sizeof(*a)) : NULL;
		if (!a) {
			if (fd >= 0)
				close(fd);
			goto out;
		}
		a->kind = USOCK_ACCEPTED;
		a->fd = fd;
		a->id = id;
		a->conn.fd = -1;
		a->owner = s;
		a->next = u->socks;
		u->socks = a;
		fd = -1;
		queue_event(u, &ev);
		goto out;
	}
	if (s->kind == USOCK_LISTENER && varlink_get_object(rep.params, "ended", &sub) == 0) {
		const char *en = NULL;
		int64_t id = -1;
		struct usock *a;

		varlink_get_int(sub, "socket", 0, INT64_MAX, &id);
		varlink_get_string(sub, "errno", &en);
		for (a = u->socks; a; a = a->next)
			if (a->kind == USOCK_ACCEPTED && a->owner == s && a->id == id)
				break;
		if (a) {
			int e = en ? varlink_errno_from_name(en) : 0;

			mark_ended(u, a, en ? -(e ? e : EIO) : 0);
		}
		goto out;
	}
	if (varlink_get_object(rep.params, "icmp_error", &sub) == 0) {
		struct ustack_event ev = { .type = USTACK_EV_ICMP_ERROR, .fd = s->fd, .listener = -1 };
		const char *en = NULL, *from = NULL;
		struct json_object *remote = NULL;
		int e;

		varlink_get_string(sub, "errno", &en);
		varlink_get_string(sub, "from", &from);
		varlink_get_object(sub, "remote", &remote);
		e = en ? varlink_errno_from_name(en) : 0;
		ev.error = -(e ? e : EIO);
		if (from)
			inet_pton(AF_INET, from, &ev.from);
		endpoint_parse(remote, &ev.peer);
		queue_event(u, &ev);
		goto out;
	}
	varlink_get_bool(rep.params, "closed", &closed);
	if (closed || !rep.continues)
		mark_ended(u, s, 0);
out:
	if (fd >= 0)
		close(fd);
	json_object_put(msg);
}

/* Reads what the call of `s` has, waiting up to timeout_ms for the first message. A broken
 * connection ends the socket (-EPIPE: the daemon went away). */
static int usock_pump(struct ustack *u, struct usock *s, int timeout_ms)
{
	struct json_object *msg;
	int fd, r;

	r = uconn_next(&s->conn, timeout_ms, &msg, &fd);
	while (r == 1) {
		usock_handle(u, s, msg, fd);
		r = uconn_next(&s->conn, 0, &msg, &fd);
	}
	if (r == -EAGAIN)
		return 0;
	if (r == -EINTR)
		return r;
	/* The stream is over: unregister it so the event fd does not spin on its EOF. */
	epoll_ctl(u->epfd, EPOLL_CTL_DEL, s->conn.fd, NULL);
	if (!s->ended && r == -EPIPE)
		snprintf(u->errmsg, sizeof(u->errmsg), "ustackd closed the connection");
	mark_ended(u, s, s->ended ? s->end_err : (r == -EPIPE ? -EPIPE : r));
	if (s->kind == USOCK_LISTENER) {
		struct usock *a;

		for (a = u->socks; a; a = a->next)
			if (a->kind == USOCK_ACCEPTED && a->owner == s)
				mark_ended(u, a, -EPIPE);
	}
	if (s->simple_pending) {
		s->simple_pending = 0;
		s->simple_result = -EPIPE;
		s->simple_done = true;
	}
	return 0;
}

/* Opens a connection, calls `method` with "more" and waits for the first reply, which
 * carries the socket's fd (none for a listener). On success the socket is registered. */
static int usock_create(struct ustack *u, enum usock_kind kind, const char *method,
			struct json_object *params, struct usock **out, struct json_object **first)
{
	struct usock *s = calloc(1, sizeof(*s));
	struct varlink_reply rep;
	struct json_object *msg = NULL;
	const char *bad;
	int64_t id = -1;
	int r, fd = -1;

	uclient_clear_error(u);
	if (!s) {
		json_object_put(params);
		return -ENOMEM;
	}
	s->kind = kind;
	s->conn.fd = -1;
	r = uconn_open(u, &s->conn);
	if (r < 0) {
		json_object_put(params);
		goto fail;
	}
	r = uconn_send_call(u, &s->conn, method, params, VARLINK_CALL_MORE, -1);
	if (r < 0)
		goto fail;
	r = uconn_next(&s->conn, -1, &msg, &fd);
	if (r < 0)
		goto fail;
	if (varlink_reply_decode(msg, &rep, &bad) < 0) {
		r = -EBADMSG;
		goto fail;
	}
	if (rep.error) {
		r = uclient_set_error(u, rep.error, rep.params);
		goto fail;
	}
	if (varlink_get_int(rep.params, "socket", 0, INT64_MAX, &id) < 0 ||
	    (kind != USOCK_LISTENER && fd < 0)) {
		r = -EBADMSG; /* the first reply names the socket and brings its fd */
		goto fail;
	}
	s->id = id;
	s->fd = kind == USOCK_LISTENER ? s->conn.fd : fd;
	fd = -1;
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

		if (epoll_ctl(u->epfd, EPOLL_CTL_ADD, s->conn.fd, &ev) < 0) {
			r = -errno;
			if (kind != USOCK_LISTENER)
				close(s->fd);
			goto fail;
		}
	}
	s->next = u->socks;
	u->socks = s;
	*out = s;
	if (first)
		*first = msg;
	else
		json_object_put(msg);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	json_object_put(msg);
	uconn_close(&s->conn);
	free(s);
	return r;
}

int ustack_tcp_connect(struct ustack *u, const char *host, uint16_t port,
		       const struct ustack_opts *o, int *fd)
{
	struct json_object *p = json_object_new_object();
	struct usock *s;
	int r;

	json_object_object_add(p, "remote", endpoint_json(host, port));
	if (o)
		json_object_object_add(p, "options", opts_json(o));
	r = usock_create(u, USOCK_TCP, "io.ustack.Socket.TcpConnect", p, &s, NULL);
	if (r == 0)
		*fd = s->fd;
	return r;
}

int ustack_tcp_listen(struct ustack *u, uint16_t port, int backlog, const struct ustack_opts *o,
		      int *listener)
{
	struct json_object *p = json_object_new_object();
	struct usock *s;
	int r;

	json_object_object_add(p, "local", endpoint_json("0.0.0.0", port));
	if (backlog > 0)
		json_object_object_add(p, "backlog", json_object_new_int(backlog));
	if (o)
		json_object_object_add(p, "options", opts_json(o));
	r = usock_create(u, USOCK_LISTENER, "io.ustack.Socket.TcpListen", p, &s, NULL);
	if (r == 0)
		*listener = s->fd;
	return r;
}

static int udp_create(struct ustack *u, const char *method, struct json_object *p,
		      const struct ustack_opts *o, int *fd, struct ustack_endpoint *local)
{
	struct json_object *first = NULL, *lo = NULL, *params;
	struct usock *s;
	int r;

	if (o)
		json_object_object_add(p, "options", opts_json(o));
	r = usock_create(u, USOCK_UDP, method, p, &s, &first);
	if (r < 0)
		return r;
	*fd = s->fd;
	if (local) {
		json_object_object_get_ex(first, "parameters", &params);
		varlink_get_object(params, "local", &lo);
		endpoint_parse(lo, local);
	}
	json_object_put(first);
	return 0;
}

int ustack_udp_bind(struct ustack *u, uint16_t port, const struct ustack_opts *o, int *fd,
		    struct ustack_endpoint *local)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "local", endpoint_json("0.0.0.0", port));
	return udp_create(u, "io.ustack.Socket.UdpBind", p, o, fd, local);
}

int ustack_udp_connect(struct ustack *u, const char *host, uint16_t port,
		       const struct ustack_opts *o, int *fd, struct ustack_endpoint *local)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "remote", endpoint_json(host, port));
	return udp_create(u, "io.ustack.Socket.UdpConnect", p, o, fd, local);
}

ssize_t ustack_udp_send(int fd, const struct ustack_endpoint *to, const void *buf, size_t len)
{
	struct ustack_udp_hdr h = { 0 };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)buf, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	if (len > USTACK_UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (to) {
		memcpy(h.addr, &to->addr, 4);
		h.port_be = htons(to->port);
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n - (ssize_t)sizeof(h);
}

ssize_t ustack_udp_recv(int fd, struct ustack_endpoint *from, void *buf, size_t len)
{
	struct ustack_udp_hdr h;
	struct iovec iov[2] = { { &h, sizeof(h) }, { buf, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	do
		n = recvmsg(fd, &mh, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (from)
		memset(from, 0, sizeof(*from));
	if (n == 0)
		return 0;
	if ((size_t)n < sizeof(h))
		return -EBADMSG;
	if (from) {
		memcpy(&from->addr, h.addr, 4);
		from->port = ntohs(h.port_be);
	}
	return n - (ssize_t)sizeof(h);
}

/* A call on the socket's own connection (SetOption, Shutdown, Close), answered between the
 * stream's replies. */
static int usock_simple_call(struct ustack *u, int fd, const char *method,
			     struct json_object *params)
{
	struct usock *s = find_fd(u, fd), *c;
	int r;

	uclient_clear_error(u);
	if (!s) {
		json_object_put(params);
		return -EBADF;
	}
	c = s->kind == USOCK_ACCEPTED ? s->owner : s; /* accepted: the listener's call */
	if (c->conn.fd < 0 || c->ended) {
		json_object_put(params);
		return -EPIPE;
	}
	json_object_object_add(params, "socket", json_object_new_int64(s->id));
	r = uconn_send_call(u, &c->conn, method, params, 0, -1);
	if (r < 0)
		return r;
	c->simple_pending++;
	c->simple_done = false;
	while (!c->simple_done) {
		r = usock_pump(u, c, -1);
		if (r < 0)
			return r;
	}
	return c->simple_result;
}

int ustack_setopt(struct ustack *u, int fd, const char *name, int value)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "name", json_object_new_string(name));
	json_object_object_add(p, "value", json_object_new_int(value));
	return usock_simple_call(u, fd, "io.ustack.Socket.SetOption", p);
}

int ustack_sock_end(struct ustack *u, int fd, int timeout_ms)
{
	struct usock *s = find_fd(u, fd), *c;
	int r;

	if (!s)
		return -EBADF;
	c = s->kind == USOCK_ACCEPTED ? s->owner : s;
	while (!s->ended) {
		if (!c || c->conn.fd < 0 || c->ended)
			return s->ended ? s->end_err : -EPIPE;
		/* One wait of timeout_ms (a message for another socket of a listener may use
		 * it up: good enough for the callers' timeouts, which are generous). */
		r = usock_pump(u, c, timeout_ms);
		if (r < 0)
			return r;
		if (!s->ended && timeout_ms >= 0)
			return s->ended ? s->end_err : -EAGAIN;
	}
	return s->end_err;
}

static void drop_events(struct ustack *u, int fd)
{
	struct uevent **pe = &u->evq, *e;

	while ((e = *pe)) {
		if (e->ev.fd == fd || (e->ev.type == USTACK_EV_ACCEPTED && e->ev.listener == fd)) {
			if (e->ev.type == USTACK_EV_ACCEPTED && e->ev.fd != fd)
				close(e->ev.fd);
			*pe = e->next;
			free(e);
		} else {
			pe = &e->next;
		}
	}
	u->evq_tail = &u->evq;
	while (*u->evq_tail)
		u->evq_tail = &(*u->evq_tail)->next;
}

static void usock_free(struct ustack *u, struct usock *s)
{
	struct usock **ps, *a;

	for (ps = &u->socks; *ps; ps = &(*ps)->next)
		if (*ps == s) {
			*ps = s->next;
			break;
		}
	for (a = u->socks; a; a = a->next)
		if (a->owner == s)
			a->owner = NULL; /* accepted connections outlive their listener */
	drop_events(u, s->fd);
	if (s->conn.fd >= 0)
		epoll_ctl(u->epfd, EPOLL_CTL_DEL, s->conn.fd, NULL);
	if (s->kind != USOCK_LISTENER && s->fd >= 0)
		close(s->fd);
	uconn_close(&s->conn); /* the daemon closes the socket with its call */
	free(s);
}

int ustack_sock_close(struct ustack *u, int fd)
{
	struct usock *s = find_fd(u, fd);

	if (!s)
		return -EBADF;
	usock_free(u, s);
	return 0;
}

void usock_free_all(struct ustack *u)
{
	while (u->socks)
		usock_free(u, u->socks);
}

int ustack_tcp_accept(struct ustack *u, int listener, int flags, int *fd,
		      struct ustack_endpoint *peer)
{
	struct usock *l = find_fd(u, listener);

	if (!l || l->kind != USOCK_LISTENER)
		return -EBADF;
	for (;;) {
		struct uevent **pe, *e;
		int r;

		for (pe = &u->evq; (e = *pe); pe = &e->next) {
			if (e->ev.type != USTACK_EV_ACCEPTED || e->ev.listener != listener)
				continue;
			*fd = e->ev.fd;
			if (peer)
				*peer = e->ev.peer;
			*pe = e->next;
			if (u->evq_tail == &e->next)
				u->evq_tail = pe;
			free(e);
			return 0;
		}
		if (l->ended)
			return -EPIPE;
		r = usock_pump(u, l, flags & USTACK_NONBLOCK ? 0 : -1);
		if (r < 0)
			return r;
		if (flags & USTACK_NONBLOCK) {
			/* One look only; a second pass over the queue follows the pump. */
			for (e = u->evq; e; e = e->next)
				if (e->ev.type == USTACK_EV_ACCEPTED && e->ev.listener == listener)
					break;
			if (!e)
				return l->ended ? -EPIPE : -EAGAIN;
		}
	}
}

int ustack_event_fd(const struct ustack *u)
{
	return u->epfd;
}

int ustack_next_event(struct ustack *u, struct ustack_event *ev)
{
	struct epoll_event ee[16];
	struct uevent *e;
	int n, i;

	if (!u->evq) {
		n = epoll_wait(u->epfd, ee, 16, 0);
		for (i = 0; i < n; i++)
			usock_pump(u, ee[i].data.ptr, 0);
	}
	e = u->evq;
	if (!e)
		return -EAGAIN;
	u->evq = e->next;
	if (!u->evq)
		u->evq_tail = &u->evq;
	*ev = e->ev;
	free(e);
	return 0;
}
