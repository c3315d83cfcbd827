/* The TCP side of the built-in services (design.md §3): echo (RFC 862), discard (RFC 863)
 * and chargen (RFC 864), one listener per service on the port of its UDP twin.
 *
 * Every accepted connection has keepalive on with the daemon-wide --tcp-keepalive values.
 * Flow control is the stack's: echo holds at most one buffer of data read but not yet
 * taken by the send buffer and reads nothing more until it is (ops->writable), so a peer
 * that does not read its echoes closes our receive window instead of growing our memory;
 * chargen refills the send buffer whenever it has room. A peer's FIN ends the service: the
 * connection is closed after what is queued (a FIN, not a RST). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "service.h"
#include "stack/tcp.h"

/* Connections per service; more are accepted and reset at once (tcp_refused). A bound on
 * memory: each echo connection holds one buffer besides its socket's. */
#define SERVICE_TCP_MAX_CONNS 256
#define SERVICE_TCP_BACKLOG 128
#define SERVICE_ECHO_BUF 65536 /* echo: bytes read but not yet in the send buffer */
#define SERVICE_IO_CHUNK 65536 /* discard's read and chargen's write size */

/* The RFC 864 stream repeats after 95 lines of 72 characters plus CR LF: chargen sends
 * straight from one period of it followed by a chunk's worth more, at offset pos % period. */
#define CHARGEN_PERIOD (95 * (72 + 2))

struct service_conn {
	struct service_conn *next, **pprev;
	struct service_inst *in;
	struct tcp_sock *s;
	struct in_addr raddr;
	uint16_t rport;
	uint64_t pos;	  /* chargen: position in the endless stream */
	size_t off, len;  /* echo: buf[off, len) read but not yet sent */
	uint8_t buf[];	  /* echo only: SERVICE_ECHO_BUF bytes */
};

/* The daemon is single-threaded: discard reads into this, chargen sends from the other. */
static uint8_t service_scratch[SERVICE_IO_CHUNK];
static uint8_t chargen_pattern[CHARGEN_PERIOD + SERVICE_IO_CHUNK];

static const char *conn_name(const struct service_conn *c)
{
	return service_name(c->in->spec.kind);
}

static void conn_free(struct service_conn *c)
{
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	c->in->nconns--;
	free(c);
}

/* The connection is over for us: err 0 after the peer's FIN (an orderly close follows in the
 * stack) or when the stack said it ended cleanly; otherwise the connection's error. */
static void conn_end(struct service_conn *c, int err)
{
	struct service_inst *in = c->in;

	if (err == 0) {
		in->tcp_closed++;
		log_debug("%s/tcp: %s:%u closed", conn_name(c), inet_ntoa(c->raddr), c->rport);
	} else {
		in->tcp_dropped++;
		log_info("%s/tcp: connection from %s:%u dropped: %s", conn_name(c),
			 inet_ntoa(c->raddr), c->rport, strerror(err < 0 ? -err : err));
	}
	tcp_close(c->s); /* no more callbacks on it */
	conn_free(c);
}

/* Echo: send what is pending, then read more, until the send buffer is full (tcp_send came
 * up short: ops->writable follows) or there is nothing to read (ops->readable follows). */
static void echo_pump(struct service_conn *c)
{
	struct service_inst *in = c->in;

	for (;;) {
		ssize_t n;

		if (c->off < c->len) {
			n = tcp_send(c->s, c->buf + c->off, c->len - c->off);
			if (n == -EAGAIN)
				return;
			if (n < 0) {
				conn_end(c, (int)n);
				return;
			}
			c->off += (size_t)n;
			in->tcp_out += (uint64_t)n;
			if (c->off < c->len)
				return;
		}
		c->off = c->len = 0;
		n = tcp_recv(c->s, c->buf, SERVICE_ECHO_BUF);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			conn_end(c, (int)n); /* 0: the peer's FIN, all echoed */
			return;
		}
		c->len = (size_t)n;
		in->tcp_in += (uint64_t)n;
	}
}

/* Reads and drops everything waiting; false when the connection ended (c is freed). */
static bool drain_input(struct service_conn *c)
{
	for (;;) {
		ssize_t n = tcp_recv(c->s, service_scratch, sizeof(service_scratch));

		if (n == -EAGAIN)
			return true;
		if (n <= 0) {
			conn_end(c, (int)n);
			return false;
		}
		c->in->tcp_in += (uint64_t)n;
	}
}

/* Chargen: fill the send buffer with the stream from where it left off. */
static void chargen_pump(struct service_conn *c)
{
	for (;;) {
		size_t at = (size_t)(c->pos % CHARGEN_PERIOD);
		ssize_t n = tcp_send(c->s, chargen_pattern + at, SERVICE_IO_CHUNK);

		if (n == -EAGAIN)
			return;
		if (n < 0) {
			conn_end(c, (int)n);
			return;
		}
		c->pos += (uint64_t)n;
		c->in->tcp_out += (uint64_t)n;
		if ((size_t)n < SERVICE_IO_CHUNK)
			return;
	}
}

static void conn_readable(struct tcp_sock *s, void *user)
{
	struct service_conn *c = user;

	(void)s;
	switch (c->in->spec.kind) {
	case SERVICE_ECHO:
		echo_pump(c);
		break;
	case SERVICE_DISCARD:
	case SERVICE_CHARGEN: /* what the client sends is ignored; its FIN ends the stream */
		drain_input(c);
		break;
	}
}

static void conn_writable(struct tcp_sock *s, void *user)
{
	struct service_conn *c = user;

	(void)s;
	switch (c->in->spec.kind) {
	case SERVICE_ECHO:
		echo_pump(c);
		break;
	case SERVICE_CHARGEN:
		chargen_pump(c);
		break;
	case SERVICE_DISCARD:
		break;
	}
}

static void conn_closed(struct tcp_sock *s, void *user, int err)
{
	(void)s;
	conn_end(user, err);
}

static const struct tcp_sock_ops service_conn_ops = {
	.readable = conn_readable,
	.writable = conn_writable,
	.closed = conn_closed,
};

static void conn_setopts(struct service_set *set, struct service_inst *in, struct tcp_sock *s)
{
	int r = tcp_setopt(s, TCP_SO_KEEPALIVE, 1);

	if (r == 0)
		r = tcp_setopt(s, TCP_SO_KEEPIDLE_S, (int)set->ka_idle_s);
	if (r == 0)
		r = tcp_setopt(s, TCP_SO_KEEPINTVL_S, (int)set->ka_interval_s);
	if (r == 0)
		r = tcp_setopt(s, TCP_SO_KEEPCNT, (int)set->ka_count);
	if (r < 0)
		log_warning_errno(r, "%s/tcp: cannot set keepalive", service_name(in->spec.kind));
	/* Echo answers what it gets at once: an echoed line must not wait for the ACK of the
	 * previous one (Nagle against the peer's delayed ACK). */
	if (in->spec.kind == SERVICE_ECHO)
		tcp_setopt(s, TCP_SO_NODELAY, 1);
}

static void listener_accept_ready(struct tcp_sock *ls, void *user)
{
	struct service_inst *in = user;

	for (;;) {
		struct service_conn *c;
		struct tcp_sock_info info;
		struct tcp_sock *s;
		size_t extra = in->spec.kind == SERVICE_ECHO ? SERVICE_ECHO_BUF : 0;

		if (tcp_accept(ls, NULL, NULL, &s) < 0)
			return;
		tcp_sock_get_info(s, &info);
		c = in->nconns < SERVICE_TCP_MAX_CONNS ? calloc(1, sizeof(*c) + extra) : NULL;
		if (!c) {
			in->tcp_refused++;
			log_debug("%s/tcp: %s:%u refused: %u connections open",
				  service_name(in->spec.kind), inet_ntoa(info.raddr), info.rport,
				  in->nconns);
			tcp_abort(s);
			continue;
		}
		c->in = in;
		c->s = s;
		c->raddr = info.raddr;
		c->rport = info.rport;
		c->next = in->conns;
		if (c->next)
			c->next->pprev = &c->next;
		c->pprev = &in->conns;
		in->conns = c;
		in->nconns++;
		in->tcp_accepted++;
		conn_setopts(in->set, in, s);
		tcp_set_ops(s, &service_conn_ops, c);
		log_debug("%s/tcp: connection from %s:%u", service_name(in->spec.kind),
			  inet_ntoa(info.raddr), info.rport);
		/* Data and even the FIN may have come with the handshake's end. */
		if (in->spec.kind == SERVICE_CHARGEN) {
			if (drain_input(c))
				chargen_pump(c);
		} else {
			conn_readable(s, c);
		}
	}
}

static const struct tcp_sock_ops service_listener_ops = {
	.accept_ready = listener_accept_ready,
};

int service_tcp_start(struct service_set *set, uint32_t keepalive_idle_s,
		      uint32_t keepalive_interval_s, uint32_t keepalive_count)
{
	service_chargen_fill(chargen_pattern, sizeof(chargen_pattern), 0);
	set->ka_idle_s = keepalive_idle_s;
	set->ka_interval_s = keepalive_interval_s;
	set->ka_count = keepalive_count;
	for (unsigned i = 0; i < set->n; i++) {
		struct service_inst *in = &set->inst[i];
		int r = tcp_open(set->st, &service_listener_ops, in, &in->tcp);

		if (r == 0) {
			r = tcp_bind(in->tcp, addr_from_host(INADDR_ANY), in->spec.port);
			if (r == 0)
				r = tcp_listen(in->tcp, SERVICE_TCP_BACKLOG);
			if (r < 0) {
				tcp_close(in->tcp);
				in->tcp = NULL;
			}
		}
		if (r < 0) {
			log_error_errno(r, "Cannot open the %s service on TCP port %u",
					service_name(in->spec.kind), in->spec.port);
			service_tcp_stop(set);
			return r;
		}
		log_info("service %s on tcp port %u (keepalive %u,%u,%u)",
			 service_name(in->spec.kind), in->spec.port, keepalive_idle_s,
			 keepalive_interval_s, keepalive_count);
	}
	return 0;
}

void service_tcp_stop(struct service_set *set)
{
	for (unsigned i = 0; i < set->n; i++) {
		struct service_inst *in = &set->inst[i];

		while (in->conns) {
			struct service_conn *c = in->conns;

			tcp_abort(c->s); /* the stack goes away next: tell the peer now */
			conn_free(c);
		}
		if (in->tcp) {
			tcp_close(in->tcp);
			in->tcp = NULL;
			log_info("%s/tcp: %" PRIu64 " connections (%" PRIu64 " closed, %" PRIu64
				 " dropped), %" PRIu64 " refused, %" PRIu64 " bytes in, %" PRIu64
				 " bytes out",
				 service_name(in->spec.kind), in->tcp_accepted, in->tcp_closed,
				 in->tcp_dropped, in->tcp_refused, in->tcp_in, in->tcp_out);
		}
	}
}
