/* TCP (RFC 9293, RFC 1122 §4.2, RFC 7323, RFC 2018, RFC 5681/6582/6675, RFC 6298, RFC 5961):
 * a socket API over the stack, for the daemon's built-in services and client connections
 * handed out over socketpairs.
 *
 * Every call is non-blocking. Events come back through the ops callbacks, which are called
 * from stack_input() and stack_poll() (and never from inside a tcp_* call made by the
 * user, except tcp_connect's immediate failure, which is a return value instead). A
 * callback may call any tcp_* function, tcp_close() on its own socket included.
 *
 * A socket handle stays valid until tcp_close() or tcp_abort(); after the connection
 * fails or ends, calls on it return the error (negative errno) or 0 at EOF. */
#ifndef USTACK_TCP_H
#define USTACK_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "addr.h"

struct stack;
struct tcp_sock;

/* RFC 9293 §3.3.2, in the order of the MIB's tcpConnState (RFC 4022) minus one. */
enum tcp_state {
	TCP_STATE_CLOSED,
	TCP_STATE_LISTEN,
	TCP_STATE_SYN_SENT,
	TCP_STATE_SYN_RECEIVED,
	TCP_STATE_ESTABLISHED,
	TCP_STATE_FIN_WAIT_1,
	TCP_STATE_FIN_WAIT_2,
	TCP_STATE_CLOSE_WAIT,
	TCP_STATE_CLOSING,
	TCP_STATE_LAST_ACK,
	TCP_STATE_TIME_WAIT,
};

const char *tcp_state_name(enum tcp_state s); /* "ESTABLISHED" */

/* Congestion control algorithms (tcp_cc.h), for TCP_SO_CC and stack_config.tcp_cc. */
enum tcp_cc_algo {
	TCP_CC_ALGO_CUBIC,   /* RFC 9438, the default */
	TCP_CC_ALGO_NEWRENO, /* RFC 5681, RFC 6582 */
};

/* Readiness callbacks; any may be NULL. `user` is the pointer given with the ops. */
struct tcp_sock_ops {
	/* An active open completed (SYN-SENT -> ESTABLISHED). */
	void (*connected)(struct tcp_sock *s, void *user);
	/* A listener has a connection ready for tcp_accept(). */
	void (*accept_ready)(struct tcp_sock *s, void *user);
	/* Data arrived, or the peer's FIN (tcp_recv() returns 0 then); for data that came
	 * before tcp_accept(), from the next stack_poll() after it. */
	void (*readable)(struct tcp_sock *s, void *user);
	/* Send buffer space was freed after tcp_send() had come up short (or
	 * tcp_send_reserve() found less than TCP_SO_SNDLOWAT): at least that much is free. */
	void (*writable)(struct tcp_sock *s, void *user);
	/* The connection is over; called once, after the readable of the data and EOF that
	 * came with its end. err 0: an orderly close, both FINs acknowledged (or the
	 * connection entered TIME-WAIT), or a RST in TIME-WAIT. Otherwise ECONNREFUSED (RST
	 * in SYN-SENT), ECONNRESET (RST in ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT, CLOSING,
	 * LAST-ACK), ETIMEDOUT (retransmissions, user timeout or keepalive; the last ICMP
	 * soft error such as EHOSTUNREACH instead when one came since the connection last
	 * made progress), EHOSTUNREACH/ENETUNREACH (ICMP unreachable in SYN-SENT). See
	 * docs/tcp.md §2. */
	void (*closed)(struct tcp_sock *s, void *user, int err);
};

/* Socket options for tcp_setopt()/tcp_getopt(); values are ints. */
enum tcp_sockopt {
	TCP_SO_NODELAY,		/* bool: disable Nagle */
	TCP_SO_KEEPALIVE,	/* bool */
	TCP_SO_KEEPIDLE_S,	/* idle time before the first probe */
	TCP_SO_KEEPINTVL_S,	/* between probes */
	TCP_SO_KEEPCNT,		/* unanswered probes before the drop */
	TCP_SO_USER_TIMEOUT_MS, /* RFC 9293 §3.8.3 / RFC 5482; 0: the retransmission limit */
	TCP_SO_SNDBUF,		/* bytes; before connect/listen */
	TCP_SO_RCVBUF,		/* bytes; before connect/listen */
	TCP_SO_CC,		/* enum tcp_cc_algo; before connect/listen */
	TCP_SO_MAXSEG,		/* cap on the MSS we advertise and use; before connect */
	TCP_SO_LINGER_RST,	/* bool: tcp_close() resets instead of a FIN */
	TCP_SO_SNDLOWAT,	/* bytes of free send space before ops->writable (default 1) */
	TCP_SO_TTL,		/* IPv4 TTL of the segments (1..255; 0: the stack's default), as IP_TTL */
};

struct tcp_sock_info {
	enum tcp_state state;
	struct in_addr laddr, raddr;
	uint16_t lport, rport;
	size_t snd_queued; /* bytes not yet acknowledged (tcpi_notsent + unacked) */
	size_t rcv_queued; /* bytes waiting for tcp_recv() */
	size_t accept_queued; /* listener: connections waiting for tcp_accept() */
	uint32_t mss;	      /* send MSS */
	uint32_t cwnd;	      /* bytes */
	uint32_t ssthresh;
	uint32_t snd_wnd;     /* peer's window, scaled */
	uint32_t rcv_wnd;
	uint32_t srtt_us, rttvar_us, rto_ms;
	uint32_t retransmits; /* consecutive timeouts of the current segment */
	uint64_t total_retrans;
	bool orphan;	      /* closed by the user, finishing its close in the stack */
};

/* A new socket in CLOSED state. -ENOMEM. */
int tcp_open(struct stack *st, const struct tcp_sock_ops *ops, void *user,
	     struct tcp_sock **out);
/* Changes the callbacks (e.g. after tcp_accept() hands the socket to someone else). */
void tcp_set_ops(struct tcp_sock *s, const struct tcp_sock_ops *ops, void *user);
/* Local address (INADDR_ANY or ours) and port (0: ephemeral). -EADDRINUSE,
 * -EADDRNOTAVAIL, -EINVAL (already bound or not CLOSED), -EAGAIN (no ephemeral port). */
int tcp_bind(struct tcp_sock *s, struct in_addr addr, uint16_t port);
/* backlog: connections waiting for tcp_accept() (0: SOMAXCONN-like default). */
int tcp_listen(struct tcp_sock *s, unsigned backlog);
/* Takes a ready connection: -EAGAIN when none, -EINVAL if not listening. */
int tcp_accept(struct tcp_sock *ls, const struct tcp_sock_ops *ops, void *user,
	       struct tcp_sock **out);
/* Starts an active open (binds an ephemeral port if unbound); ops->connected or
 * ops->closed says how it went. 0, -EISCONN, -EINVAL, -EADDRNOTAVAIL, -ENETUNREACH,
 * -EADDRINUSE (4-tuple taken). */
int tcp_connect(struct tcp_sock *s, struct in_addr addr, uint16_t port);
/* Queues data: returns the bytes taken (maybe fewer than len), -EAGAIN when the send
 * buffer is full (ops->writable follows), -ENOTCONN, -EPIPE after shutdown or close,
 * or the connection's error. Data may be queued in SYN-SENT. */
ssize_t tcp_send(struct tcp_sock *s, const void *buf, size_t len);
ssize_t tcp_sendv(struct tcp_sock *s, const struct iovec *iov, int niov);
/* Reads: bytes, 0 at EOF (peer's FIN), -EAGAIN, -ENOTCONN, or the connection's error. */
ssize_t tcp_recv(struct tcp_sock *s, void *buf, size_t len);

/* Zero-copy I/O, e.g. readv(2)/writev(2) between a socketpair and the rings (as
 * xsk_ring_cons__peek/release and xsk_ring_prod__reserve/submit).
 *
 * tcp_recv_peek: up to len readable bytes as (up to) two spans of the receive ring in
 * iov[0] and iov[1] (unused entries {NULL, 0}); returns their total, consuming nothing,
 * or what tcp_recv() would return instead: 0 at EOF, -EAGAIN, -ENOTCONN, the connection's
 * error; -EINVAL for len 0. The spans stay valid until the next tcp_* call or stack entry.
 * tcp_recv_consume: releases the first n of those bytes (as tcp_recv() would have read
 * them, with the same window updates); returns the bytes released, -ENOTCONN on a
 * listener. */
ssize_t tcp_recv_peek(const struct tcp_sock *s, struct iovec iov[2], size_t len);
ssize_t tcp_recv_consume(struct tcp_sock *s, size_t n);
/* tcp_send_reserve: the free space of the send ring as (up to) two spans; returns its
 * size, or what tcp_send() would return instead (-EAGAIN when full, -EPIPE, -ENOTCONN, the
 * connection's error). Below the low-water mark (TCP_SO_SNDLOWAT) ops->writable is armed.
 * tcp_send_commit: queues the first n bytes written there (at most the reserved size),
 * with tcp_send()'s semantics (Nagle, output); returns the bytes queued or tcp_send()'s
 * errors (then nothing is queued). */
ssize_t tcp_send_reserve(struct tcp_sock *s, struct iovec iov[2]);
ssize_t tcp_send_commit(struct tcp_sock *s, size_t n);
/* The connection's error without consuming anything (as SO_ERROR, but not cleared):
 * 0, or the positive errno that ended it (that closed() reported or will report,
 * and tcp_recv() returns once the data is drained). */
int tcp_sock_error(const struct tcp_sock *s);
/* how: SHUT_RD, SHUT_WR, SHUT_RDWR (<sys/socket.h>). Shutting the write side sends FIN
 * after the queued data. */
int tcp_shutdown(struct tcp_sock *s, int how);
/* Releases the handle: a FIN after the queued data (or RST when unread data is pending,
 * RFC 2525 §2.17, or with TCP_SO_LINGER_RST); the stack finishes the close alone.
 * No callbacks after this. */
void tcp_close(struct tcp_sock *s);
/* Sends RST (if synchronized) and frees the socket now. */
void tcp_abort(struct tcp_sock *s);
int tcp_setopt(struct tcp_sock *s, enum tcp_sockopt opt, int value);
int tcp_getopt(const struct tcp_sock *s, enum tcp_sockopt opt, int *value);

enum tcp_state tcp_sock_state(const struct tcp_sock *s);
void tcp_sock_get_info(const struct tcp_sock *s, struct tcp_sock_info *info);
/* Free space in the send buffer. */
size_t tcp_send_space(const struct tcp_sock *s);
/* Calls fn for every socket (listeners, connections, orphans, TIME-WAIT) until it
 * returns non-zero; returns that value. */
int tcp_foreach(struct stack *st, int (*fn)(void *ctx, const struct tcp_sock *s), void *ctx);

/* Stack hooks (stack.c). */
int tcp_init(struct stack *st);
void tcp_fini(struct stack *st);
void tcp_poll(struct stack *st, uint64_t now_ns);
uint64_t tcp_next_deadline(const struct stack *st);
/* A receive batch (stack_input_batch_begin/end, tcp_batch.c): pure ACKs wait for its end,
 * one per connection. */
void tcp_batch_begin(struct stack *st);
void tcp_batch_end(struct stack *st);

#endif
