/* Helpers for the TCP suites (tcp_peer.h). */
#include "tcp_peer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/stack_var.h"
#include "stack/wire/csum.h"

void ev_connected(struct tcp_sock *s, void *u)
{
	struct ev *e = u;
	e->connected++;
	e->last = s;
}

void ev_accept(struct tcp_sock *s, void *u)
{
	struct ev *e = u;
	e->accept_ready++;
	e->last = s;
}

void ev_readable(struct tcp_sock *s, void *u)
{
	(void)s;
	((struct ev *)u)->readable++;
}

void ev_writable(struct tcp_sock *s, void *u)
{
	(void)s;
	((struct ev *)u)->writable++;
}

void ev_closed(struct tcp_sock *s, void *u, int err)
{
	struct ev *e = u;
	(void)s;
	e->closed++;
	e->err = err;
}

const struct tcp_sock_ops ev_ops = { ev_connected, ev_accept, ev_readable,
				     ev_writable, ev_closed };

void conn_listen(struct conn *c)
{
	ck_assert_int_eq(tcp_open(c->n.b, &ev_ops, &c->le, &c->ls), 0);
	ck_assert_int_eq(tcp_bind(c->ls, (struct in_addr){ INADDR_ANY }, SRV_PORT), 0);
	ck_assert_int_eq(tcp_listen(c->ls, 16), 0);
}

void conn_setup(struct conn *c, unsigned mtu, const struct stack_config *ca,
		const struct stack_config *cb, uint64_t seed)
{
	memset(c, 0, sizeof(*c));
	h_net_init(&c->n, mtu, ca, cb, seed);
	conn_listen(c);
	ck_assert_int_eq(tcp_open(c->n.a, &ev_ops, &c->ce, &c->cli), 0);
	ck_assert_int_eq(tcp_connect(c->cli, h_ip(H_PEER_IP), SRV_PORT), 0);
	ck_assert_int_eq(tcp_sock_state(c->cli), TCP_STATE_SYN_SENT);
	h_net_run(&c->n, 10 * H_MS, 0);
	ck_assert_int_eq(tcp_sock_state(c->cli), TCP_STATE_ESTABLISHED);
	ck_assert_uint_eq(c->ce.connected, 1);
	ck_assert_uint_eq(c->le.accept_ready, 1);
	ck_assert_int_eq(tcp_accept(c->ls, &ev_ops, &c->se, &c->srv), 0);
	ck_assert_int_eq(tcp_sock_state(c->srv), TCP_STATE_ESTABLISHED);
}

void conn_teardown(struct conn *c)
{
	h_net_fini(&c->n);
}

void pattern(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
}

/* Moves up to total bytes from src to dst, running the network; returns bytes received. */
size_t transfer(struct conn *c, struct tcp_sock *src, struct tcp_sock *dst,
		const uint8_t *data, uint8_t *out, size_t total, uint64_t max_ns,
		uint64_t step_ns)
{
	size_t sent = 0, got = 0;
	uint64_t end = c->n.now_ns + max_ns;
	while (got < total && c->n.now_ns < end) {
		if (sent < total) {
			ssize_t r = tcp_send(src, data + sent, total - sent);
			if (r > 0)
				sent += (size_t)r;
			else
				ck_assert_int_eq(r, -EAGAIN);
		}
		h_net_run(&c->n, step_ns, 0);
		for (;;) {
			ssize_t r = tcp_recv(dst, out + got, total - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
	}
	return got;
}

void transfer_two_way(struct conn *c, const uint8_t *da, const uint8_t *db, uint8_t *oa,
		      uint8_t *ob, size_t n, uint64_t max_ns)
{
	size_t sa = 0, sb = 0, ga = 0, gb = 0;
	uint64_t end = c->n.now_ns + max_ns;
	while ((ga < n || gb < n) && c->n.now_ns < end) {
		ssize_t r;
		if (sa < n && (r = tcp_send(c->cli, da + sa, n - sa)) > 0)
			sa += (size_t)r;
		if (sb < n && (r = tcp_send(c->srv, db + sb, n - sb)) > 0)
			sb += (size_t)r;
		h_net_run(&c->n, 5 * H_MS, 0);
		while (gb < n && (r = tcp_recv(c->srv, ob + gb, n - gb)) > 0)
			gb += (size_t)r;
		while (ga < n && (r = tcp_recv(c->cli, oa + ga, n - ga)) > 0)
			ga += (size_t)r;
	}
	ck_assert_uint_eq(gb, n);
	ck_assert_uint_eq(ga, n);
	ck_assert_mem_eq(ob, da, n);
	ck_assert_mem_eq(oa, db, n);
}

size_t raw_build(struct raw *r, uint8_t *frame, const struct tcp_hdr *h,
		 const void *data, size_t len)
{
	uint8_t seg[2048];
	size_t hl = tcp_hdr_emit(h, seg);
	if (len)
		memcpy(seg + hl, data, len);
	struct iovec iov = { seg + hl, len };
	tcp_hdr_set_csum(seg, tcp_csum(h_ip(H_PEER_IP), h_ip(H_HOST_IP), seg, hl, &iov, 1));
	return h_frame_ipv4(frame, IPV4_PROTO_TCP, r->id++, 0, false, seg, hl + len);
}

void raw_send(struct raw *r, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd,
	      const struct tcp_opts *o, const void *data, size_t len)
{
	struct tcp_hdr h = { .sport = r->dport, .dport = r->sport, .seq = seq, .ack = ack,
			     .flags = flags, .wnd = wnd };
	if (o)
		h.opts = *o;
	uint8_t frame[2200];
	size_t n = raw_build(r, frame, &h, data, len);
	h_host_input(&r->h, frame, n);
}

/* The next TCP segment the stack sent; false when none. */
bool raw_recv(struct raw *r, struct tcp_hdr *h, size_t *len, uint8_t *frame_out)
{
	uint8_t frame[2200];
	for (;;) {
		size_t n = h_host_output(&r->h, frame, sizeof(frame));
		if (n == 0)
			return false;
		if (n < 14 + 20 || frame[12] != 0x08 || frame[13] != 0x00 || frame[23] != 6)
			continue;
		size_t ihl = (size_t)(frame[14] & 0xf) * 4;
		size_t tot = ((size_t)frame[16] << 8) | frame[17];
		ck_assert_int_eq(tcp_hdr_parse(frame + 14 + ihl, tot - ihl, h_ip(H_HOST_IP),
					       h_ip(H_PEER_IP), true, h), 0);
		*len = tot - ihl - h->hdr_len;
		if (frame_out)
			memcpy(frame_out, frame, n);
		return true;
	}
}

/* The stack opens a connection to us: its SYN in *syn (the frame in frame_out, if not
 * NULL). r->sport is not set, so a test may first watch the SYN being retransmitted. */
void raw_open_syn(struct raw *r, const struct stack_config *cfg, struct tcp_hdr *syn,
		  uint8_t *frame_out)
{
	raw_open_syn_mtu(r, 1500, cfg, syn, frame_out);
}

void raw_open_syn_mtu(struct raw *r, unsigned mtu, const struct stack_config *cfg,
		      struct tcp_hdr *syn, uint8_t *frame_out)
{
	size_t len;

	memset(r, 0, sizeof(*r));
	h_host_init(&r->h, mtu, cfg, false);
	r->dport = PEER_PORT;
	ck_assert_int_eq(tcp_open(r->h.st, &ev_ops, &r->e, &r->s), 0);
	ck_assert_int_eq(tcp_connect(r->s, h_ip(H_PEER_IP), PEER_PORT), 0);
	ck_assert(raw_recv(r, syn, &len, frame_out));
	ck_assert_uint_eq(len, 0);
}

/* The stack connects to us; we answer with a SYN-ACK carrying o (NULL: MSS 1460 only). */
void raw_connect(struct raw *r, const struct stack_config *cfg, const struct tcp_opts *o,
		 uint16_t wnd)
{
	raw_connect_mtu(r, 1500, cfg, o, wnd);
}

void raw_connect_mtu(struct raw *r, unsigned mtu, const struct stack_config *cfg,
		     const struct tcp_opts *o, uint16_t wnd)
{
	struct tcp_hdr h;
	size_t len;

	raw_open_syn_mtu(r, mtu, cfg, &h, NULL);
	ck_assert_uint_eq(h.flags, TCP_SYN);
	ck_assert(h.opts.has_mss && h.opts.mss == mtu - 40);
	ck_assert(h.opts.has_ws && h.opts.sack_perm && h.opts.has_ts);
	r->sport = h.sport;
	r->ack = h.seq + 1;
	r->seq = 1000000;
	struct tcp_opts def = { .has_mss = true, .mss = 1460 };
	raw_send(r, TCP_SYN | TCP_ACK, r->seq, r->ack, wnd, o ? o : &def, NULL, 0);
	r->seq++;
	ck_assert_int_eq(tcp_sock_state(r->s), TCP_STATE_ESTABLISHED);
	ck_assert_uint_eq(r->e.connected, 1);
	ck_assert(raw_recv(r, &h, &len, NULL)); /* the handshake's ACK */
	ck_assert_uint_eq(h.flags, TCP_ACK);
	ck_assert_uint_eq(h.ack, r->seq);
}

void raw_listen(struct raw *r, const struct stack_config *cfg, unsigned backlog)
{
	memset(r, 0, sizeof(*r));
	h_host_init(&r->h, 1500, cfg, false);
	ck_assert_int_eq(tcp_open(r->h.st, &ev_ops, &r->le, &r->ls), 0);
	ck_assert_int_eq(tcp_bind(r->ls, (struct in_addr){ INADDR_ANY }, 80), 0);
	ck_assert_int_eq(tcp_listen(r->ls, backlog), 0);
	r->sport = 80;
	r->dport = PEER_PORT;
}

void raw_fini(struct raw *r)
{
	h_host_fini(&r->h);
}

/* Advances in 1 ms steps until the stack sends something; returns the time taken. */
uint64_t raw_wait(struct raw *r, struct tcp_hdr *h, size_t *len, uint64_t max_ns)
{
	uint64_t t0 = r->h.now_ns;
	while (r->h.now_ns - t0 <= max_ns) {
		if (raw_recv(r, h, len, NULL))
			return r->h.now_ns - t0;
		h_host_advance(&r->h, H_MS);
	}
	return UINT64_MAX;
}
