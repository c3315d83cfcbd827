/* TCP send side and the socket API for the daemon's data plane: zero-copy peek/consume
 * and reserve/commit, the send low-water mark, the pending error; and the send-side
 * deviations found in review (issue 10): payload sizing with SACK options, local send
 * failures, zero-window probing (RFC 1122 §4.2.2.17), the restart window after idle
 * (RFC 5681 §4.1, RFC 9438 §5.8) and the TCP memory budget. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"
#include "stack/stack_var.h"
#include "stack/wire/eth.h"
#include "stack/tcp.h"
#include "stack/tcp_var.h"
#include "tcp_peer.h"

static void cfg_init(struct stack_config *c, const char *addr)
{
	stack_config_defaults(c);
	c->addr = h_ip(addr);
	c->prefix_len = 24;
}

/* Copies the spans out, checking that their total is n. */
static void iov_copy(const struct iovec iov[2], uint8_t *dst, size_t n)
{
	ck_assert_uint_eq(iov[0].iov_len + iov[1].iov_len, n);
	memcpy(dst, iov[0].iov_base, iov[0].iov_len);
	if (iov[1].iov_len)
		memcpy(dst + iov[0].iov_len, iov[1].iov_base, iov[1].iov_len);
}

/* ---- socket API: peek/consume, reserve/commit, low-water mark, pending error ---------- */

START_TEST(recv_peek_consume_wraps)
{
	struct conn c;
	struct stack_config cb;
	cfg_init(&cb, H_PEER_IP);
	cb.tcp_rcvbuf = 4096;
	conn_setup(&c, 1500, NULL, &cb, 1);
	uint8_t d[8192], o[8192];
	struct iovec iov[2];
	pattern(d, sizeof(d), 1);

	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 4096), -EAGAIN);
	ck_assert_int_eq(tcp_recv_peek(c.ls, iov, 4096), -ENOTCONN);
	ck_assert_int_eq(tcp_recv_consume(c.ls, 1), -ENOTCONN);
	ck_assert_int_eq(tcp_send(c.cli, d, 3000), 3000);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 0), -EINVAL);
	/* One span, nothing consumed by peeking. */
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 100000), 3000);
	ck_assert_uint_eq(iov[1].iov_len, 0);
	ck_assert_ptr_null(iov[1].iov_base);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 1000), 1000);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 100000), 3000);
	iov_copy(iov, o, 3000);
	ck_assert_mem_eq(o, d, 3000);
	ck_assert_int_eq(tcp_recv_consume(c.srv, 3000), 3000);
	/* The window opened again: the next 3000 bytes wrap around the 4096-byte ring. */
	ck_assert_int_eq(tcp_send(c.cli, d + 3000, 3000), 3000);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 100000), 3000);
	ck_assert_uint_eq(iov[0].iov_len, 1096);
	ck_assert_uint_eq(iov[1].iov_len, 1904);
	iov_copy(iov, o, 3000);
	ck_assert_mem_eq(o, d + 3000, 3000);
	/* Partial consume; more than held is clamped. */
	ck_assert_int_eq(tcp_recv_consume(c.srv, 1000), 1000);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 100000), 2000);
	ck_assert_mem_eq(iov[0].iov_base, d + 4000, 96);
	ck_assert_int_eq(tcp_recv_consume(c.srv, 5000), 2000);
	ck_assert_int_eq(tcp_recv_consume(c.srv, 1), 0);
	/* EOF after the data: the data first, then 0, with nothing consumed by peeking. */
	ck_assert_int_eq(tcp_send(c.cli, d, 10), 10);
	ck_assert_int_eq(tcp_shutdown(c.cli, SHUT_WR), 0);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 100), 10);
	ck_assert_int_eq(tcp_recv_consume(c.srv, 10), 10);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 100), 0);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 100), 0);
	ck_assert_int_eq(tcp_sock_error(c.srv), 0);
	conn_teardown(&c);
}
END_TEST

/* Consuming what a full window brought opens it with a window update, as tcp_recv(). */
START_TEST(recv_consume_sends_window_update)
{
	struct conn c;
	struct stack_config cb;
	cfg_init(&cb, H_PEER_IP);
	cb.tcp_rcvbuf = 8192;
	conn_setup(&c, 1500, NULL, &cb, 2);
	static uint8_t d[32768], o[32768];
	pattern(d, sizeof(d), 2);
	size_t sent = 0, got = 0;
	struct iovec iov[2];
	for (int i = 0; i < 200 && got < sizeof(d); i++) {
		if (sent < sizeof(d)) {
			ssize_t r = tcp_send(c.cli, d + sent, sizeof(d) - sent);
			if (r > 0)
				sent += (size_t)r;
		}
		h_net_run(&c.n, 20 * H_MS, 0);
		ssize_t n = tcp_recv_peek(c.srv, iov, sizeof(o) - got);
		if (n > 0) {
			iov_copy(iov, o + got, (size_t)n);
			ck_assert_int_eq(tcp_recv_consume(c.srv, (size_t)n), n);
			got += (size_t)n;
		}
	}
	ck_assert_uint_eq(got, sizeof(d));
	ck_assert_mem_eq(o, d, sizeof(d));
	/* Only window updates, never the persist timer, reopened the window. */
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpExtTCPWinProbe), 0);
	conn_teardown(&c);
}
END_TEST

START_TEST(send_reserve_commit_wraps)
{
	struct conn c;
	struct stack_config ca;
	cfg_init(&ca, H_HOST_IP);
	ca.tcp_sndbuf = 4096;
	memset(&c, 0, sizeof(c));
	h_net_init(&c.n, 1500, &ca, NULL, 3);
	conn_listen(&c);
	ck_assert_int_eq(tcp_open(c.n.a, &ev_ops, &c.ce, &c.cli), 0);
	struct iovec iov[2];
	/* Never connected. */
	ck_assert_int_eq(tcp_send_reserve(c.cli, iov), -ENOTCONN);
	ck_assert_int_eq(tcp_send_commit(c.cli, 1), -ENOTCONN);
	ck_assert_int_eq(tcp_send_reserve(c.ls, iov), -ENOTCONN);
	ck_assert_int_eq(tcp_recv_peek(c.cli, iov, 10), -ENOTCONN);
	ck_assert_int_eq(tcp_sendv(c.cli, NULL, 0), -ENOTCONN);
	ck_assert_int_eq(tcp_connect(c.cli, h_ip(H_PEER_IP), SRV_PORT), 0);
	/* Data may be queued in SYN-SENT, as with tcp_send(). */
	uint8_t d[8192], o[8192];
	pattern(d, sizeof(d), 3);
	ck_assert_int_eq(tcp_send_reserve(c.cli, iov), 4096);
	ck_assert_uint_eq(iov[0].iov_len, 4096);
	ck_assert_uint_eq(iov[1].iov_len, 0);
	memcpy(iov[0].iov_base, d, 3000);
	ck_assert_int_eq(tcp_send_commit(c.cli, 3000), 3000);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_int_eq(tcp_accept(c.ls, &ev_ops, &c.se, &c.srv), 0);
	ck_assert_int_eq(tcp_recv(c.srv, o, sizeof(o)), 3000);
	ck_assert_mem_eq(o, d, 3000);
	/* All acknowledged: the free space now wraps (3000..4095, 0..2999). */
	ck_assert_int_eq(tcp_send_reserve(c.cli, iov), 4096);
	ck_assert_uint_eq(iov[0].iov_len, 1096);
	ck_assert_uint_eq(iov[1].iov_len, 3000);
	memcpy(iov[0].iov_base, d + 3000, 1096);
	memcpy(iov[1].iov_base, d + 4096, 904);
	ck_assert_int_eq(tcp_send_commit(c.cli, 2000), 2000);
	/* Committing more than is free queues what fits. */
	ck_assert_int_eq(tcp_send_reserve(c.cli, iov), 2096);
	memcpy(iov[0].iov_base, d + 5000, 2096);
	ck_assert_int_eq(tcp_send_commit(c.cli, 9999), 2096);
	ck_assert_int_eq(tcp_send_reserve(c.cli, iov), -EAGAIN);
	ck_assert_int_eq(tcp_send_commit(c.cli, 0), 0);
	ck_assert_int_eq(tcp_sendv(c.cli, NULL, 0), 0);
	ck_assert_int_eq(tcp_send(c.cli, "x", 1), -EAGAIN);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_uint_eq(c.ce.writable, 1); /* armed by the full reserve */
	ck_assert_int_eq(tcp_recv(c.srv, o, sizeof(o)), 4096);
	ck_assert_mem_eq(o, d + 3000, 4096);
	/* After SHUT_WR: -EPIPE, and nothing is queued. */
	ck_assert_int_eq(tcp_shutdown(c.cli, SHUT_WR), 0);
	ck_assert_int_eq(tcp_send_reserve(c.cli, iov), -EPIPE);
	ck_assert_int_eq(tcp_send_commit(c.cli, 10), -EPIPE);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_int_eq(tcp_recv(c.srv, o, sizeof(o)), 0);
	conn_teardown(&c);
}
END_TEST

/* tcp_sendv over several iovecs lands in the ring in order, also across the wrap. */
START_TEST(sendv_gathers_across_wrap)
{
	struct conn c;
	struct stack_config ca;
	cfg_init(&ca, H_HOST_IP);
	ca.tcp_sndbuf = 4096;
	conn_setup(&c, 1500, &ca, NULL, 4);
	uint8_t d[6000], o[6000];
	pattern(d, sizeof(d), 4);
	ck_assert_int_eq(tcp_send(c.cli, d, 3000), 3000);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_int_eq(tcp_recv(c.srv, o, sizeof(o)), 3000);
	struct iovec v[3] = { { d + 3000, 500 }, { d + 3500, 1000 }, { d + 4500, 1500 } };
	ck_assert_int_eq(tcp_sendv(c.cli, v, 3), 3000);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_int_eq(tcp_recv(c.srv, o, sizeof(o)), 3000);
	ck_assert_mem_eq(o, d + 3000, 3000);
	ck_assert_int_eq(tcp_sendv(c.cli, v, 0), 0);
	conn_teardown(&c);
}
END_TEST

START_TEST(writable_low_water_mark)
{
	struct raw r;
	struct stack_config cfg;
	cfg_init(&cfg, H_HOST_IP);
	cfg.tcp_sndbuf = 8192;
	raw_connect(&r, &cfg, NULL, 65535);
	int v;
	ck_assert_int_eq(tcp_getopt(r.s, TCP_SO_SNDLOWAT, &v), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_SNDLOWAT, -1), -EINVAL);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_SNDLOWAT, 4096), 0);
	ck_assert_int_eq(tcp_getopt(r.s, TCP_SO_SNDLOWAT, &v), 0);
	ck_assert_int_eq(v, 4096);
	uint8_t d[8193];
	pattern(d, sizeof(d), 5);
	ck_assert_int_eq(tcp_send(r.s, d, sizeof(d)), 8192);
	struct tcp_hdr h;
	size_t len;
	uint32_t first = 0;
	unsigned n = 0;
	while (raw_recv(&r, &h, &len, NULL))
		if (len > 0 && n++ == 0)
			first = h.seq;
	ck_assert_uint_ge(n, 3);
	/* 1460 bytes acknowledged: free space below the mark, no callback. */
	raw_send(&r, TCP_ACK, r.seq, first + 1460, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.writable, 0);
	/* A reserve below the mark arms the callback too (it already is). */
	struct iovec iov[2];
	ck_assert_int_eq(tcp_send_reserve(r.s, iov), 1460);
	raw_send(&r, TCP_ACK, r.seq, first + 2920, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.writable, 0);
	raw_send(&r, TCP_ACK, r.seq, first + 4380, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.writable, 1);
	ck_assert_uint_ge(tcp_send_space(r.s), 4096);
	/* Edge-triggered: no more until a send comes up short again. */
	raw_send(&r, TCP_ACK, r.seq, first + 5840, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.writable, 1);
	/* A mark above the buffer size means the whole buffer. */
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_SNDLOWAT, 1 << 20), 0);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_NODELAY, 1), 0); /* no Nagle tail */
	ck_assert_int_eq(tcp_send(r.s, d, sizeof(d)), 5840);
	while (raw_recv(&r, &h, &len, NULL))
		;
	raw_send(&r, TCP_ACK, r.seq, first + 8192, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.writable, 1);
	while (raw_recv(&r, &h, &len, NULL))
		;
	ck_assert_uint_eq(h.seq + len, first + 8192 + 5840);
	raw_send(&r, TCP_ACK, r.seq, first + 8192 + 5840, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.writable, 2);
	raw_fini(&r);
}
END_TEST

START_TEST(pending_error_not_consumed)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	ck_assert_int_eq(tcp_sock_error(r.s), 0);
	raw_send(&r, TCP_ACK | TCP_PSH, r.seq, r.ack, 65535, NULL, "hello", 5);
	r.seq += 5;
	raw_send(&r, TCP_RST, r.seq, 0, 0, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, ECONNRESET);
	/* Reading the error leaves the data and the error in place. */
	ck_assert_int_eq(tcp_sock_error(r.s), ECONNRESET);
	ck_assert_int_eq(tcp_sock_error(r.s), ECONNRESET);
	struct iovec iov[2];
	ck_assert_int_eq(tcp_recv_peek(r.s, iov, 100), 5);
	ck_assert_mem_eq(iov[0].iov_base, "hello", 5);
	ck_assert_int_eq(tcp_recv_consume(r.s, 5), 5);
	ck_assert_int_eq(tcp_recv_peek(r.s, iov, 100), -ECONNRESET);
	ck_assert_int_eq(tcp_sock_error(r.s), ECONNRESET);
	ck_assert_int_eq(tcp_send_reserve(r.s, iov), -ECONNRESET);
	ck_assert_int_eq(tcp_send_commit(r.s, 1), -ECONNRESET);
	raw_fini(&r);
}
END_TEST

/* TCP_SO_TTL (the RPC's SetOption "ttl"): the IPv4 TTL of a socket's segments, as IP_TTL;
 * a listener's is its SYN-ACKs' and its children's. The TTL is byte 8 of the IPv4 header. */
static uint8_t next_ttl(struct raw *r)
{
	static uint8_t frame[2048];
	struct tcp_hdr h;
	size_t len;

	ck_assert(raw_recv(r, &h, &len, frame));
	return frame[ETH_HDR_LEN + 8];
}

START_TEST(ttl_option_sets_segment_ttl)
{
	struct raw r;
	int v;

	raw_connect(&r, NULL, NULL, 65535);
	ck_assert_int_eq(tcp_getopt(r.s, TCP_SO_TTL, &v), 0);
	ck_assert_int_eq(v, r.h.st->cfg.default_ttl);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_TTL, 256), -EINVAL);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_TTL, -1), -EINVAL);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_TTL, 7), 0);
	ck_assert_int_eq(tcp_getopt(r.s, TCP_SO_TTL, &v), 0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(tcp_send(r.s, "x", 1), 1);
	ck_assert_uint_eq(next_ttl(&r), 7);
	/* 0 goes back to the stack's default. */
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_TTL, 0), 0);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_NODELAY, 1), 0); /* "x" is unacknowledged */
	ck_assert_int_eq(tcp_send(r.s, "y", 1), 1);
	ck_assert_uint_eq(next_ttl(&r), r.h.st->cfg.default_ttl);
	raw_fini(&r);
}
END_TEST

START_TEST(ttl_option_inherited_from_listener)
{
	static uint8_t frame[2048];
	struct raw r;
	struct tcp_opts so = { .has_mss = true, .mss = 1460 };
	struct tcp_hdr h;
	size_t len;
	struct tcp_sock *c;
	int v;

	raw_listen(&r, NULL, 8);
	ck_assert_int_eq(tcp_setopt(r.ls, TCP_SO_TTL, 9), 0);
	raw_send(&r, TCP_SYN, 7000, 0, 65535, &so, NULL, 0);
	ck_assert(raw_recv(&r, &h, &len, frame));
	ck_assert_uint_eq(h.flags, TCP_SYN | TCP_ACK);
	ck_assert_uint_eq(frame[ETH_HDR_LEN + 8], 9);
	raw_send(&r, TCP_ACK, 7001, h.seq + 1, 65535, NULL, NULL, 0);
	ck_assert_int_eq(tcp_accept(r.ls, &ev_ops, &r.e, &c), 0);
	ck_assert_int_eq(tcp_getopt(c, TCP_SO_TTL, &v), 0);
	ck_assert_int_eq(v, 9);
	ck_assert_int_eq(tcp_send(c, "z", 1), 1);
	ck_assert_uint_eq(next_ttl(&r), 9);
	tcp_abort(c);
	raw_fini(&r);
}
END_TEST

/* ---- issue 10, send side: each test failed on the code before its fix ------------------ */

/* The next segment the stack sends within max_ns, stepping from deadline to deadline (not
 * in 1 ms steps: these tests span hours). */
static bool next_out(struct raw *r, struct tcp_hdr *h, size_t *len, uint64_t max_ns)
{
	uint64_t end = r->h.now_ns + max_ns;
	for (;;) {
		if (raw_recv(r, h, len, NULL))
			return true;
		uint64_t next = stack_next_deadline(r->h.st);
		if (next > end || next == UINT64_MAX) {
			h_host_advance(&r->h, end - r->h.now_ns);
			return raw_recv(r, h, len, NULL);
		}
		h_host_advance(&r->h, next > r->h.now_ns ? next - r->h.now_ns : 1);
	}
}

/* Item 1: while the stack holds out-of-order data its segments carry SACK blocks; the
 * payload must shrink by those option bytes (RFC 6691 §2, RFC 9293 §3.7.1: the MSS bounds
 * data plus options), or full segments exceed the MTU and DF refuses them locally. */
START_TEST(payload_leaves_room_for_sack_blocks)
{
	struct raw r;
	struct tcp_opts o = { .has_mss = true, .mss = 1460, .sack_perm = true, .has_ts = true,
			      .tsval = 100 };
	raw_connect(&r, NULL, &o, 65535);
	struct tcp_opts t = { .has_ts = true, .tsval = 101 };
	uint8_t d[20000];
	pattern(d, sizeof(d), 7);
	raw_send(&r, TCP_ACK, r.seq + 1000, r.ack, 65535, &t, d, 100); /* a hole before it */
	struct tcp_hdr h;
	size_t len;
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.opts.nsack, 1); /* the duplicate ACK says what we hold */
	ck_assert_int_eq(tcp_send(r.s, d, sizeof(d)), (ssize_t)sizeof(d));
	uint32_t next = r.ack;
	unsigned nseg = 0;
	while (raw_recv(&r, &h, &len, NULL)) {
		if (len == 0)
			continue;
		ck_assert_uint_eq(h.seq, next); /* no gap: nothing was refused locally */
		ck_assert_uint_eq(h.opts.nsack, 1);
		ck_assert_uint_le(20 + h.hdr_len + len, 1500);
		ck_assert_uint_le(h.hdr_len - 20 + len, 1460);
		next += (uint32_t)len;
		nseg++;
	}
	ck_assert_uint_ge(nseg, 10);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPOutErrors), 0);
	raw_fini(&r);
}
END_TEST

/* Item 1, as found: a transfer both ways at once at 2 % loss, so that both sides hold
 * out-of-order data and send SACK blocks with full segments: none may be refused. */
START_TEST(two_way_lossy_transfer_sends_no_oversized_segment)
{
	struct conn c;
	conn_setup(&c, 1500, NULL, NULL, 12);
	struct memnet_faults f = { .drop_ppm = 20000 };
	memnet_set_faults(&c.n.pair.a, &f);
	memnet_set_faults(&c.n.pair.b, &f);
	enum { N = 1 << 20 };
	uint8_t *da = malloc(N), *db = malloc(N), *oa = malloc(N), *ob = malloc(N);
	ck_assert(da && db && oa && ob);
	pattern(da, N, 12);
	pattern(db, N, 13);
	transfer_two_way(&c, da, db, oa, ob, N, 600 * H_S);
	ck_assert_uint_gt(h_stat(c.n.a, STAT_TcpExtTCPSackRecovery), 0);
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpExtTCPOutErrors), 0);
	ck_assert_uint_eq(h_stat(c.n.b, STAT_TcpExtTCPOutErrors), 0);
	free(da);
	free(db);
	free(oa);
	free(ob);
	conn_teardown(&c);
}
END_TEST

/* Item 1: a segment the device refuses (-ENOBUFS) was not sent: SND.NXT stays, it is not
 * counted as sent, and it goes out later as new data, not as a retransmission. */
START_TEST(local_send_failure_keeps_snd_nxt)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	uint8_t d[20000];
	pattern(d, sizeof(d), 8);
	uint64_t out0 = h_stat(r.h.st, STAT_TcpOutSegs);
	r.h.pair.b.queue_limit = 3; /* the device takes 3 frames, then -ENOBUFS */
	ck_assert_int_eq(tcp_send(r.s, d, sizeof(d)), (ssize_t)sizeof(d));
	ck_assert_uint_gt(h_stat(r.h.st, STAT_TcpExtTCPOutErrors), 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpOutSegs) - out0, 3);
	struct tcp_hdr h;
	size_t len;
	uint32_t next = r.ack;
	while (raw_recv(&r, &h, &len, NULL)) {
		ck_assert_uint_eq(h.seq, next);
		next += (uint32_t)len;
	}
	ck_assert_uint_eq(next - r.ack, 3 * 1460);
	ck_assert_uint_eq(r.s->snd_nxt, next);
	r.h.pair.b.queue_limit = MEMNET_DEFAULT_QUEUE_LIMIT;
	/* The ACK lets the rest go, in order, none of it a retransmission. */
	for (int i = 0; i < 40 && next != r.ack + sizeof(d); i++) {
		raw_send(&r, TCP_ACK, r.seq, next, 65535, NULL, NULL, 0);
		while (raw_recv(&r, &h, &len, NULL)) {
			ck_assert_uint_eq(h.seq, next);
			next += (uint32_t)len;
		}
	}
	ck_assert_uint_eq(next, r.ack + sizeof(d));
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpRetransSegs), 0);
	/* Nothing in flight and the device refuses: the persist timer tries again. */
	raw_send(&r, TCP_ACK, r.seq, next, 65535, NULL, NULL, 0);
	r.h.pair.b.queue_limit = 0;
	ck_assert_int_eq(tcp_send(r.s, d, 1000), 1000);
	ck_assert_uint_eq(r.s->snd_nxt, next);
	r.h.pair.b.queue_limit = MEMNET_DEFAULT_QUEUE_LIMIT;
	ck_assert(next_out(&r, &h, &len, 5 * H_S));
	ck_assert_uint_eq(h.seq, next);
	ck_assert_uint_eq(len, 1000);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpRetransSegs), 0);
	raw_fini(&r);
}
END_TEST

/* Item 2: the peer's window shrinks to 0 with data in flight. RFC 1122 §4.2.2.17: probing
 * goes on as long as the peer answers (the retransmission limit must not end it); once the
 * peer stops answering, the unanswered probes are bounded like retransmissions. */
START_TEST(zero_window_with_data_in_flight_probes_while_answered)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	uint8_t d[1000];
	pattern(d, sizeof(d), 9);
	ck_assert_int_eq(tcp_send(r.s, d, sizeof(d)), (ssize_t)sizeof(d));
	struct tcp_hdr h;
	size_t len;
	ck_assert(raw_recv(&r, &h, &len, NULL));
	uint32_t una = h.seq;
	raw_send(&r, TCP_ACK, r.seq, una, 0, NULL, NULL, 0); /* window closed, nothing acked */
	unsigned probes = 0;
	while (r.h.now_ns < 3600 * H_S) {
		ck_assert_msg(next_out(&r, &h, &len, 600 * H_S), "probing stopped");
		ck_assert_msg(r.e.closed == 0, "closed (%d) at %llu s", r.e.err,
			      (unsigned long long)(r.h.now_ns / H_S));
		raw_send(&r, TCP_ACK, r.seq, una, 0, NULL, NULL, 0);
		probes++;
	}
	ck_assert_uint_eq(r.e.closed, 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_ESTABLISHED);
	ck_assert_uint_ge(probes, 20);
	/* The peer dies: the unanswered probes end it, within retries2 backed-off RTOs. */
	uint64_t t0 = r.h.now_ns;
	h_host_advance(&r.h, 3600 * H_S);
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, ETIMEDOUT);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPAbortOnTimeout), 1);
	ck_assert_uint_gt(r.h.now_ns - t0, 60 * H_S);
	raw_fini(&r);
}
END_TEST

/* Item 2: our FIN sent into a zero window is probed as long as the peer answers. */
START_TEST(fin_into_zero_window_probes_while_answered)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	ck_assert_int_eq(tcp_send(r.s, "abc", 3), 3);
	struct tcp_hdr h;
	size_t len;
	ck_assert(raw_recv(&r, &h, &len, NULL));
	uint32_t una = h.seq + 3;
	raw_send(&r, TCP_ACK, r.seq, una, 0, NULL, NULL, 0); /* data acked, window closed */
	ck_assert_int_eq(tcp_shutdown(r.s, SHUT_WR), 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_FIN_WAIT_1);
	while (r.h.now_ns < 3600 * H_S) {
		ck_assert_msg(next_out(&r, &h, &len, 600 * H_S), "probing stopped");
		ck_assert_msg(r.e.closed == 0, "closed (%d) at %llu s", r.e.err,
			      (unsigned long long)(r.h.now_ns / H_S));
		raw_send(&r, TCP_ACK, r.seq, una, 0, NULL, NULL, 0);
	}
	ck_assert_uint_eq(r.e.closed, 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_FIN_WAIT_1);
	/* The window opens; the FIN is acknowledged. */
	raw_send(&r, TCP_ACK, r.seq, una, 65535, NULL, NULL, 0);
	ck_assert(next_out(&r, &h, &len, 200 * H_S));
	ck_assert(h.flags & TCP_FIN);
	raw_send(&r, TCP_ACK, r.seq, una + 1, 65535, NULL, NULL, 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_FIN_WAIT_2);
	raw_fini(&r);
}
END_TEST

/* Queues data behind a window the peer closed after acknowledging everything: the
 * persist timer's case (nothing in flight). Returns SND.UNA. */
static uint32_t close_window_with_data_queued(struct raw *r)
{
	uint8_t d[1000];
	pattern(d, sizeof(d), 10);
	ck_assert_int_eq(tcp_send(r->s, d, sizeof(d)), (ssize_t)sizeof(d));
	struct tcp_hdr h;
	size_t len;
	ck_assert(raw_recv(r, &h, &len, NULL));
	uint32_t una = h.seq + (uint32_t)len;
	raw_send(r, TCP_ACK, r->seq, una, 0, NULL, NULL, 0);
	ck_assert_int_eq(tcp_send(r->s, d, sizeof(d)), (ssize_t)sizeof(d));
	ck_assert(!raw_recv(r, &h, &len, NULL));
	ck_assert_uint_ne(r->s->timer[TCP_T_PERSIST], 0);
	return una;
}

/* Item 3: a dead peer behind a closed window is not probed forever: as Linux, the
 * connection ends after tcp_retries2 unanswered probes (ETIMEDOUT). */
START_TEST(zero_window_probes_of_dead_peer_give_up)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	close_window_with_data_queued(&r);
	h_host_advance(&r.h, 6 * 3600 * H_S);
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, ETIMEDOUT);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPAbortOnTimeout), 1);
	ck_assert_uint_le(h_stat(r.h.st, STAT_TcpExtTCPWinProbe), 16);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_CLOSED);
	raw_fini(&r);
}
END_TEST

/* Item 3: answered probes go on (RFC 1122 §4.2.2.17), however many. */
START_TEST(zero_window_probes_answered_go_on)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	uint32_t una = close_window_with_data_queued(&r);
	struct tcp_hdr h;
	size_t len;
	while (r.h.now_ns < 6 * 3600 * H_S) {
		ck_assert_msg(next_out(&r, &h, &len, 600 * H_S), "probing stopped");
		ck_assert_msg(r.e.closed == 0, "closed (%d) at %llu s", r.e.err,
			      (unsigned long long)(r.h.now_ns / H_S));
		raw_send(&r, TCP_ACK, r.seq, una, 0, NULL, NULL, 0);
	}
	ck_assert_uint_eq(r.e.closed, 0);
	ck_assert_uint_gt(h_stat(r.h.st, STAT_TcpExtTCPWinProbe), 300);
	raw_fini(&r);
}
END_TEST

/* Item 4: the user timeout (RFC 5482) counts from the first unanswered probe, not from
 * when SND.UNA last moved: a live zero-window peer is kept, a silent one dropped. */
START_TEST(user_timeout_spares_answering_zero_window_peer)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_USER_TIMEOUT_MS, 5000), 0);
	uint32_t una = close_window_with_data_queued(&r);
	struct tcp_hdr h;
	size_t len;
	uint64_t until = r.h.now_ns + 300 * H_S;
	while (r.h.now_ns < until) {
		ck_assert_msg(next_out(&r, &h, &len, 120 * H_S), "probing stopped");
		ck_assert_msg(r.e.closed == 0, "closed (%d) at %llu s", r.e.err,
			      (unsigned long long)(r.h.now_ns / H_S));
		raw_send(&r, TCP_ACK, r.seq, una, 0, NULL, NULL, 0);
	}
	ck_assert_uint_eq(r.e.closed, 0);
	/* Silence: dropped once 5 s passed since the first unanswered probe. */
	h_host_advance(&r.h, 300 * H_S);
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, ETIMEDOUT);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPAbortOnUserTimeout), 1);
	raw_fini(&r);
}
END_TEST

/* Sends n bytes and acknowledges every segment as it comes, until all is acknowledged. */
static void send_acked(struct raw *r, size_t n)
{
	static uint8_t d[65536];
	ck_assert_uint_le(n, sizeof(d));
	ck_assert_int_eq(tcp_send(r->s, d, n), (ssize_t)n);
	struct tcp_hdr h;
	size_t len;
	for (int i = 0; i < 1000 && ring_used(&r->s->sndbuf) > 0; i++) {
		ck_assert(raw_recv(r, &h, &len, NULL));
		if (len > 0)
			raw_send(r, TCP_ACK, r->seq, h.seq + (uint32_t)len, 65535, NULL, NULL, 0);
	}
	ck_assert_uint_eq(ring_used(&r->s->sndbuf), 0);
}

/* Item 10: RFC 5681 §4.1: after an idle period longer than the RTO, cwnd restarts at
 * min(IW, cwnd); the grown window must not burst out at once. */
START_TEST(restart_window_after_idle)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	for (int i = 0; i < 6; i++)
		send_acked(&r, 60000);
	struct tcp_sock_info in;
	tcp_sock_get_info(r.s, &in);
	ck_assert_uint_ge(in.cwnd, 30 * 1460);
	h_host_advance(&r.h, 10 * H_S);
	static uint8_t d[65536];
	ck_assert_int_eq(tcp_send(r.s, d, 60000), 60000);
	struct tcp_hdr h;
	size_t len;
	unsigned nseg = 0;
	while (raw_recv(&r, &h, &len, NULL))
		if (len > 0)
			nseg++;
	ck_assert_uint_le(nseg, 10); /* RFC 6928 IW */
	raw_fini(&r);
}
END_TEST

/* Item 10: RFC 9438 §5.8: CUBIC's t excludes the time the sender was idle. */
START_TEST(cubic_epoch_skips_idle_time)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	send_acked(&r, 30000);
	/* Into congestion avoidance, so that a CUBIC epoch runs. */
	r.s->cc.ssthresh_bytes = r.s->cc.cwnd_bytes;
	send_acked(&r, 30000);
	ck_assert(r.s->cc.u.cubic.in_epoch);
	uint64_t epoch = r.s->cc.u.cubic.epoch_start_ns;
	ck_assert_uint_le(epoch, r.h.now_ns);
	/* Idle for less than the RTO: no restart window, but the epoch moves. */
	ck_assert_uint_gt(r.s->rto_ms, 150);
	h_host_advance(&r.h, 150 * H_MS);
	uint32_t cwnd = r.s->cc.cwnd_bytes;
	ck_assert_int_eq(tcp_send(r.s, "x", 1), 1);
	ck_assert_uint_eq(r.s->cc.cwnd_bytes, cwnd);
	ck_assert_uint_ge(r.s->cc.u.cubic.epoch_start_ns, epoch + 150 * H_MS);
	ck_assert_uint_le(r.s->cc.u.cubic.epoch_start_ns, r.h.now_ns);
	raw_fini(&r);
}
END_TEST

/* Item 11: orphans holding data against zero windows are bounded by a stack-wide memory
 * budget (as Linux tcp_mem): past it, closing resets them, and so does their next timer. */
START_TEST(memory_budget_resets_orphans)
{
	struct conn c;
	struct stack_config ca, cb;
	cfg_init(&ca, H_HOST_IP);
	cfg_init(&cb, H_PEER_IP);
	ca.tcp_sndbuf = cb.tcp_rcvbuf = 65536;
	ca.tcp_mem_max_bytes = 4 * 65536;
	conn_setup(&c, 1500, &ca, &cb, 11);
	enum { N = 7 };
	struct tcp_sock *cli[N], *srv[N];
	struct ev ce[N], se[N];
	memset(ce, 0, sizeof(ce));
	memset(se, 0, sizeof(se));
	static uint8_t d[65536];
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(tcp_open(c.n.a, &ev_ops, &ce[i], &cli[i]), 0);
		ck_assert_int_eq(tcp_connect(cli[i], h_ip(H_PEER_IP), SRV_PORT), 0);
		h_net_run(&c.n, 10 * H_MS, 0);
		ck_assert_int_eq(tcp_accept(c.ls, &ev_ops, &se[i], &srv[i]), 0);
	}
	/* Six connections: the servers never read, so each client ends up with a full
	 * 64 KiB send buffer behind a closed window. */
	for (int i = 0; i < N - 1; i++) {
		for (int k = 0; k < 4; k++) {
			ssize_t r = tcp_send(cli[i], d, sizeof(d));
			ck_assert(r > 0 || r == -EAGAIN);
			h_net_run(&c.n, 100 * H_MS, 0);
		}
		ck_assert_uint_eq(tcp_send_space(cli[i]), 0);
	}
	ck_assert_uint_eq(c.n.a->tcp->mem_bytes, 6 * 65536);
	ck_assert_uint_ge(h_stat(c.n.a, STAT_TcpExtTCPMemoryPressures), 1);
	/* Over the budget: the first two closes reset; then it is met. */
	for (int i = 0; i < N - 1; i++)
		tcp_close(cli[i]);
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpExtTCPAbortOnMemory), 2);
	ck_assert_uint_eq(c.n.a->tcp->norphans, 4);
	ck_assert_uint_eq(c.n.a->tcp->mem_bytes, 4 * 65536);
	/* A live connection pushes it over again: the next orphan whose timer fires goes. */
	uint64_t pressures = h_stat(c.n.a, STAT_TcpExtTCPMemoryPressures);
	for (int k = 0; k < 4; k++) {
		tcp_send(cli[N - 1], d, sizeof(d));
		h_net_run(&c.n, 100 * H_MS, 0);
	}
	ck_assert_uint_gt(h_stat(c.n.a, STAT_TcpExtTCPMemoryPressures), pressures);
	h_net_run(&c.n, 120 * H_S, 0);
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpExtTCPAbortOnMemory), 3);
	ck_assert_uint_eq(c.n.a->tcp->norphans, 3);
	ck_assert_uint_le(c.n.a->tcp->mem_bytes, 4 * 65536);
	/* The live connection was not touched. */
	ck_assert_uint_eq(ce[N - 1].closed, 0);
	conn_teardown(&c);
}
END_TEST

static Suite *tcp_send_suite(void)
{
	Suite *s = suite_create("tcp_send");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, recv_peek_consume_wraps);
	tcase_add_test(tc, ttl_option_sets_segment_ttl);
	tcase_add_test(tc, ttl_option_inherited_from_listener);
	tcase_add_test(tc, recv_consume_sends_window_update);
	tcase_add_test(tc, send_reserve_commit_wraps);
	tcase_add_test(tc, sendv_gathers_across_wrap);
	tcase_add_test(tc, writable_low_water_mark);
	tcase_add_test(tc, pending_error_not_consumed);
	tcase_add_test(tc, payload_leaves_room_for_sack_blocks);
	tcase_add_test(tc, local_send_failure_keeps_snd_nxt);
	tcase_add_test(tc, two_way_lossy_transfer_sends_no_oversized_segment);
	tcase_add_test(tc, zero_window_with_data_in_flight_probes_while_answered);
	tcase_add_test(tc, fin_into_zero_window_probes_while_answered);
	tcase_add_test(tc, zero_window_probes_of_dead_peer_give_up);
	tcase_add_test(tc, zero_window_probes_answered_go_on);
	tcase_add_test(tc, user_timeout_spares_answering_zero_window_peer);
	tcase_add_test(tc, restart_window_after_idle);
	tcase_add_test(tc, cubic_epoch_skips_idle_time);
	tcase_add_test(tc, memory_budget_resets_orphans);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(tcp_send_suite());
}
