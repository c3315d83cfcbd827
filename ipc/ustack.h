/* libustack: the C client of ustackd (installed as <ustack.h>, pkg-config `ustack`).
 *
 * A `struct ustack` is a client of one daemon. Sockets of the stack come back as file
 * descriptors (docs/rpc.md, "Data plane"): a TCP connection is a SOCK_STREAM fd to read and
 * write like any socket, a UDP socket a SOCK_SEQPACKET fd whose records carry an 8-byte
 * address header (ustack_udp_send/ustack_udp_recv do it for you). Each socket lives on a
 * varlink connection of its own, whose call reports how the socket ended: EOF on the fd
 * looks the same for a clean close and a reset, ustack_sock_end() tells them apart.
 *
 * Event loops: ustack_event_fd() is readable when any socket's call has news (a connection
 * accepted, a socket ended, an ICMP error); ustack_next_event() then returns it without
 * blocking. A listener handle is itself a descriptor that is readable when it has news.
 *
 * Every function returns 0 (or a count) on success and a negative errno on failure; after
 * a failure the daemon reported, ustack_error_message() gives its message. Not thread-safe:
 * one struct ustack per thread. */
#ifndef USTACK_H
#define USTACK_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ustack;

struct ustack_endpoint {
	struct in_addr addr;
	uint16_t port; /* host order */
};

/* Socket options of io.ustack.Socket.Options; USTACK_OPT_UNSET leaves the daemon's
 * default. */
#define USTACK_OPT_UNSET (-1)
struct ustack_opts {
	int nodelay;	 /* 0/1: TCP_NODELAY */
	int keepalive;	 /* 0/1 */
	int keepidle_s;	 /* first keepalive probe after this idle time */
	int keepintvl_s; /* between probes */
	int keepcnt;	 /* probes before the connection is dropped (ETIMEDOUT) */
	int sndbuf;	 /* bytes */
	int rcvbuf;	 /* bytes */
	int ttl;
	int user_timeout_ms;
};
/* Every field USTACK_OPT_UNSET. */
void ustack_opts_init(struct ustack_opts *o);

/* Connects to the daemon's control socket: `path`, or $USTACK_SOCKET when NULL, or
 * /run/ustackd/ctl.sock. */
int ustack_open(const char *path, struct ustack **out);
/* Closes every socket made through `u` and frees it. */
void ustack_close(struct ustack *u);
/* The daemon's message for the last failure it reported ("" if none). */
const char *ustack_error_message(const struct ustack *u);
/* "ECONNRESET" for ECONNRESET (positive or negative); NULL when unknown. */
const char *ustack_errno_name(int err);

/* TCP active open to HOST:PORT (HOST: dotted IPv4). On success *fd is the connection.
 * Fails with the daemon's errno: -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, ... */
int ustack_tcp_connect(struct ustack *u, const char *host, uint16_t port,
		       const struct ustack_opts *o, int *fd);

/* Passive open on PORT (backlog <= 0: the daemon's default). *listener is a descriptor
 * that becomes readable when a connection is waiting (or the listener ended). */
int ustack_tcp_listen(struct ustack *u, uint16_t port, int backlog, const struct ustack_opts *o,
		      int *listener);
#define USTACK_NONBLOCK 1
/* The next accepted connection of `listener`: its fd and, if `peer` is not NULL, the remote
 * end. Blocks unless flags has USTACK_NONBLOCK (then -EAGAIN when none waits). -EPIPE when
 * the listener ended. */
int ustack_tcp_accept(struct ustack *u, int listener, int flags, int *fd,
		      struct ustack_endpoint *peer);

/* UDP: a SOCK_SEQPACKET fd. Bound to PORT (0: an ephemeral port) on the stack's address,
 * or connected to HOST:PORT. `local`, if not NULL, receives the local end. */
int ustack_udp_bind(struct ustack *u, uint16_t port, const struct ustack_opts *o, int *fd,
		    struct ustack_endpoint *local);
int ustack_udp_connect(struct ustack *u, const char *host, uint16_t port,
		       const struct ustack_opts *o, int *fd, struct ustack_endpoint *local);
/* One datagram to `to` (NULL on a connected socket); returns the payload bytes sent. */
ssize_t ustack_udp_send(int fd, const struct ustack_endpoint *to, const void *buf, size_t len);
/* One datagram; `from` (may be NULL) receives its source; returns its length, truncated to
 * `len`. 0 with from->port 0 only at EOF. */
ssize_t ustack_udp_recv(int fd, struct ustack_endpoint *from, void *buf, size_t len);

/* io.ustack.Socket.SetOption on the socket of `fd` (TCP, UDP or a listener): name as in
 * struct ustack_opts ("nodelay", "keepidle_s", ...). */
int ustack_setopt(struct ustack *u, int fd, const char *name, int value);

/* How the socket of `fd` ended: 0 for an orderly close, a negative errno name of the
 * failure (-ECONNRESET, -ETIMEDOUT, ...) otherwise; -EAGAIN if it has not ended within
 * timeout_ms (0: do not wait; -1: wait for ever); -EBADF if `fd` is not ours. */
int ustack_sock_end(struct ustack *u, int fd, int timeout_ms);
/* Closes `fd` (a socket or a listener) and its call; the daemon closes the socket (TCP:
 * with a FIN after the data already written). */
int ustack_sock_close(struct ustack *u, int fd);

enum ustack_event_type {
	USTACK_EV_ACCEPTED = 1, /* fd: the new connection, listener, peer */
	USTACK_EV_ENDED,	/* fd (or a listener) ended; error: 0 clean, negative errno */
	USTACK_EV_ICMP_ERROR,	/* fd: UDP socket; error; from (who sent it); peer */
};
struct ustack_event {
	enum ustack_event_type type;
	int fd;
	int listener;
	int error;
	struct ustack_endpoint peer;
	struct in_addr from;
};
/* A descriptor for the client's poll/epoll/libevent loop (readable: call next_event). */
int ustack_event_fd(const struct ustack *u);
/* The next event, without blocking: 0 with *ev filled, -EAGAIN when there is none. */
int ustack_next_event(struct ustack *u, struct ustack_event *ev);

/* ICMP echo through the stack (io.ustack.Stack.Ping). */
struct ustack_ping_opts {
	int count;	 /* probes; 0: until the callback stops it */
	int size;	 /* payload bytes */
	int ttl;
	int interval_ms;
	int timeout_ms; /* per probe */
};
/* count 4, size 56, ttl 64, interval 1000 ms, timeout 2000 ms. */
void ustack_ping_opts_init(struct ustack_ping_opts *o);
struct ustack_ping_reply {
	int seq;
	int result; /* 0: a reply; -ETIMEDOUT: none in time; else the ICMP error as -errno */
	struct in_addr from;
	int bytes;
	int ttl;	/* -1 if unknown */
	int64_t rtt_us; /* -1 if no reply */
};
/* Called for every probe; returning non-zero stops the ping (ustack_ping returns 0). */
typedef int (*ustack_ping_fn)(const struct ustack_ping_reply *r, void *ctx);
/* Blocks until `count` probes are done. */
int ustack_ping(struct ustack *u, const char *host, const struct ustack_ping_opts *o,
		ustack_ping_fn fn, void *ctx);

/* Any method, parameters as JSON text (NULL: {}). `fn` gets each reply's parameters as
 * JSON text, with `continues` set on all but the last; returning non-zero stops the call
 * (the connection is then reopened). `more`: ask for streamed replies. An error reply
 * ends the call with its errno: an Errno error's, varlink's own errors' and io.ustack.KV's
 * as the interface files say (KV's NotFound is -ENOENT, TooLarge -EMSGSIZE, ...), -EIO
 * for any other (see ustack_error_message()). */
typedef int (*ustack_reply_fn)(const char *params_json, int continues, void *ctx);
int ustack_call(struct ustack *u, const char *method, const char *params_json, int more,
		ustack_reply_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
