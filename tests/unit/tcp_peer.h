/* Helpers for the TCP suites: a connection between two stacks (struct conn) and a
 * hand-driven peer that sees every segment the stack sends (struct raw). */
#ifndef USTACK_TESTS_TCP_PEER_H
#define USTACK_TESTS_TCP_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "stack/tcp.h"
#include "stack/wire/tcp.h"

/* Counts every callback; last: the socket of the latest connected/accept_ready. */
struct ev {
	unsigned connected, accept_ready, readable, writable, closed;
	int err;
	struct tcp_sock *last;
};

extern const struct tcp_sock_ops ev_ops;
void ev_connected(struct tcp_sock *s, void *u);
void ev_accept(struct tcp_sock *s, void *u);
void ev_readable(struct tcp_sock *s, void *u);
void ev_writable(struct tcp_sock *s, void *u);
void ev_closed(struct tcp_sock *s, void *u, int err);

#define SRV_PORT 8080

/* A connection from a (client) to b (server), established. */
struct conn {
	struct h_net n;
	struct tcp_sock *ls, *cli, *srv;
	struct ev le, ce, se;
};

void conn_listen(struct conn *c);
void conn_setup(struct conn *c, unsigned mtu, const struct stack_config *ca,
		const struct stack_config *cb, uint64_t seed);
void conn_teardown(struct conn *c);

void pattern(uint8_t *b, size_t n, unsigned seed);
/* Moves up to total bytes from src to dst, running the network; returns bytes received. */
size_t transfer(struct conn *c, struct tcp_sock *src, struct tcp_sock *dst,
		const uint8_t *data, uint8_t *out, size_t total, uint64_t max_ns,
		uint64_t step_ns);

/* Moves n bytes each way at once, da from c->cli to c->srv (into ob) and db back (into
 * oa), in 5 ms steps; asserts that both arrive byte-exact within max_ns. */
void transfer_two_way(struct conn *c, const uint8_t *da, const uint8_t *db, uint8_t *oa,
		      uint8_t *ob, size_t n, uint64_t max_ns);

/* ---- a hand-driven peer: the test is 10.0.0.2 and sees every segment ------------------ */

#define PEER_PORT 40000

struct raw {
	struct h_host h;
	struct tcp_sock *s, *ls;
	struct ev e, le;
	uint16_t sport, dport; /* the stack's port, ours */
	uint32_t seq;	       /* our next sequence number */
	uint32_t ack;	       /* what we acknowledge */
	uint16_t id;
};

size_t raw_build(struct raw *r, uint8_t *frame, const struct tcp_hdr *h, const void *data,
		 size_t len);
void raw_send(struct raw *r, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd,
	      const struct tcp_opts *o, const void *data, size_t len);
/* The next TCP segment the stack sent; false when none. */
bool raw_recv(struct raw *r, struct tcp_hdr *h, size_t *len, uint8_t *frame_out);
/* The stack opens a connection to us: its SYN in *syn (the frame in frame_out, if not
 * NULL). r->sport is not set, so a test may first watch the SYN being retransmitted. */
void raw_open_syn(struct raw *r, const struct stack_config *cfg, struct tcp_hdr *syn,
		  uint8_t *frame_out);
/* The same on a link of the given MTU. */
void raw_open_syn_mtu(struct raw *r, unsigned mtu, const struct stack_config *cfg,
		      struct tcp_hdr *syn, uint8_t *frame_out);
/* The stack connects to us; we answer with a SYN-ACK carrying o (NULL: MSS 1460 only). */
void raw_connect(struct raw *r, const struct stack_config *cfg, const struct tcp_opts *o,
		 uint16_t wnd);
/* The same on a link of the given MTU (the stack's SYN offers MTU - 40). */
void raw_connect_mtu(struct raw *r, unsigned mtu, const struct stack_config *cfg,
		     const struct tcp_opts *o, uint16_t wnd);
/* The stack listens on port 80 with backlog (r->ls); the peer is to send from
 * PEER_PORT. */
void raw_listen(struct raw *r, const struct stack_config *cfg, unsigned backlog);
void raw_fini(struct raw *r);
/* Advances in 1 ms steps until the stack sends something; returns the time taken. */
uint64_t raw_wait(struct raw *r, struct tcp_hdr *h, size_t *len, uint64_t max_ns);

#endif
