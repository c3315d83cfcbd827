/* TCP receive and ACK side: challenge ACK limits, the ACK policy, NewReno and SACK
 * recovery accounting, the out-of-order queue, callback order at the end of a connection,
 * FIN and RST handling in the closing states, receive SWS, ICMP soft errors and SYN
 * cookies. Each test was written against a deviation found in review (issue 10) and failed
 * before its fix. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"
#include "stack/stack_var.h"
#include "stack/tcp.h"
#include "stack/tcp_var.h"
#include "stack/wire/csum.h"
#include "tcp_peer.h"

static void host_cfg(struct stack_config *c)
{
	stack_config_defaults(c);
	c->addr = h_ip(H_HOST_IP);
}

/* ---- more connections to the hand-driven peer ------------------------------------------ */

/* Another connection of r's stack to the peer, at the peer's port dport. */
struct side {
	struct tcp_sock *s;
	struct ev e;
	uint16_t sport, dport;
	uint32_t seq, ack;
};

static void side_send(struct raw *r, const struct side *x, uint8_t flags, uint32_t seq,
		      uint32_t ack)
{
	uint16_t sp = r->sport, dp = r->dport;
	r->sport = x->sport;
	r->dport = x->dport;
	struct tcp_opts o = { .has_mss = true, .mss = 1460 };
	raw_send(r, flags, seq, ack, 65535, (flags & TCP_SYN) ? &o : NULL, NULL, 0);
	r->sport = sp;
	r->dport = dp;
}

static void side_connect(struct raw *r, struct side *x, uint16_t dport)
{
	struct tcp_hdr h;
	size_t len;
	memset(x, 0, sizeof(*x));
	ck_assert_int_eq(tcp_open(r->h.st, &ev_ops, &x->e, &x->s), 0);
	ck_assert_int_eq(tcp_connect(x->s, h_ip(H_PEER_IP), dport), 0);
	ck_assert(raw_recv(r, &h, &len, NULL));
	ck_assert_uint_eq(h.flags, TCP_SYN);
	x->sport = h.sport;
	x->dport = dport;
	x->ack = h.seq + 1;
	x->seq = 5000000;
	side_send(r, x, TCP_SYN | TCP_ACK, x->seq, x->ack);
	x->seq++;
	ck_assert_int_eq(tcp_sock_state(x->s), TCP_STATE_ESTABLISHED);
	ck_assert(raw_recv(r, &h, &len, NULL));
	ck_assert_uint_eq(h.flags, TCP_ACK);
}

/* An ICMP error from a router about the IPv4 datagram at frame + 14. */
static void icmp_about(struct raw *r, uint8_t type, uint8_t code, const uint8_t *frame)
{
	uint8_t icmp[8 + 28];
	memset(icmp, 0, sizeof(icmp));
	icmp[0] = type;
	icmp[1] = code;
	memcpy(icmp + 8, frame + 14, 28);
	uint16_t ck = csum_buf(icmp, sizeof(icmp));
	memcpy(icmp + 2, &ck, 2);
	uint8_t f[200];
	size_t n = h_frame_ipv4(f, IPV4_PROTO_ICMP, 99, 0, false, icmp, sizeof(icmp));
	h_host_input(&r->h, f, n);
}

/* ---- item 5: RFC 5961 §7 challenge ACKs --------------------------------------------- */

/* CVE-2016-5696: with one global counter, RSTs on one connection silenced the challenge
 * ACKs of every other, a side channel. Each connection now has its own limit (Linux
 * tcp_invalid_ratelimit, 500 ms) before the global budget. */
START_TEST(challenge_ack_limit_per_connection)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	struct side b;
	side_connect(&r, &b, PEER_PORT + 1);
	for (uint32_t i = 0; i < 1000; i++)
		raw_send(&r, TCP_RST, r.seq + 100 + i, 0, 0, NULL, NULL, 0);
	ck_assert_uint_eq(h_host_drain(&r.h), 1);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPChallengeACK), 1);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPACKSkippedChallenge), 999);
	/* The other connection still gets its challenge ACK. */
	side_send(&r, &b, TCP_RST, b.seq + 100, 0);
	struct tcp_hdr h;
	size_t len;
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.flags, TCP_ACK);
	ck_assert_uint_eq(h.dport, PEER_PORT + 1);
	ck_assert_uint_eq(h.ack, b.seq);
	/* And the first one again after 500 ms. */
	h_host_advance(&r.h, 500 * H_MS);
	h_host_drain(&r.h);
	raw_send(&r, TCP_RST, r.seq + 100, 0, 0, NULL, NULL, 0);
	ck_assert_uint_eq(h_host_drain(&r.h), 1);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPChallengeACK), 3);
	raw_fini(&r);
}
END_TEST

/* The global budget per second is random in [limit/2, limit * 3/2) (Linux since 2016), so
 * that counting challenge ACKs tells an attacker nothing exact. */
START_TEST(challenge_ack_global_budget_randomised)
{
	struct stack_config cfg;
	host_cfg(&cfg);
	cfg.tcp_challenge_ack_limit = 5;
	struct raw r;
	raw_connect(&r, &cfg, NULL, 65535);
	enum { N = 20, SECONDS = 8 };
	static struct side x[N];
	for (unsigned i = 0; i < N; i++)
		side_connect(&r, &x[i], (uint16_t)(PEER_PORT + 1 + i));
	unsigned differ = 0;
	uint64_t before = 0;
	for (unsigned sec = 0; sec < SECONDS; sec++) {
		h_host_advance(&r.h, H_S);
		h_host_drain(&r.h);
		for (unsigned i = 0; i < N; i++)
			side_send(&r, &x[i], TCP_RST, x[i].seq + 100, 0);
		uint64_t sent = h_stat(r.h.st, STAT_TcpExtTCPChallengeACK) - before;
		before += sent;
		ck_assert_uint_eq(h_host_drain(&r.h), sent);
		ck_assert_uint_ge(sent, 3);
		ck_assert_uint_le(sent, 7);
		differ += sent != 5;
	}
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPChallengeACKLimited),
			  N * SECONDS - before);
	ck_assert_uint_gt(differ, 0);
	raw_fini(&r);
}
END_TEST

/* ---- item 6: RFC 1122 §4.2.3.2 / RFC 5681 §4.2 ACK every second full segment ---------- */

/* The peer sends 1460-byte segments: ACKed every second one at once, none waits for the
 * delayed-ACK timer; from segment `from` on (the first ones may still teach the size). */
static void expect_ack_every_second(struct raw *r, unsigned from)
{
	uint8_t d[1460];
	memset(d, 'x', sizeof(d));
	struct tcp_hdr h;
	size_t len;
	for (unsigned i = 0; i < from + 4; i++) {
		raw_send(r, TCP_ACK, r->seq, r->ack, 65535, NULL, d, sizeof(d));
		r->seq += sizeof(d);
		bool acked = raw_recv(r, &h, &len, NULL);
		if (i < from)
			continue;
		if ((i - from) % 2 == 0) {
			ck_assert(!acked); /* the first of two waits for the second */
		} else {
			ck_assert(acked);
			ck_assert_uint_eq(h.ack, r->seq);
		}
	}
	ck_assert_uint_eq(h_stat(r->h.st, STAT_TcpExtDelayedACKs), 0);
}

START_TEST(ack_every_second_segment_of_received_size)
{
	struct raw r;
	/* Our MTU is 9000 (MSS 8960), the peer's MSS 1460. */
	raw_connect_mtu(&r, 9000, NULL, NULL, 65535);
	expect_ack_every_second(&r, 0);
	raw_fini(&r);

	/* Both say 8960 but the peer's path carries 1460: learnt from two such segments
	 * (the second of which is then ACKed at once). */
	struct tcp_opts o = { .has_mss = true, .mss = 8960 };
	raw_connect_mtu(&r, 9000, NULL, &o, 65535);
	expect_ack_every_second(&r, 2);
	raw_fini(&r);
}
END_TEST

/* ---- item 7: RFC 6582 recover ------------------------------------------------------- */

START_TEST(newreno_recover_not_stale_after_2gib)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	size_t n = 10 * 1460;
	uint8_t *d = malloc(n);
	pattern(d, n, 4);
	ck_assert_int_eq(tcp_send(r.s, d, n), (ssize_t)n);
	free(d);
	struct tcp_hdr h;
	size_t len;
	uint32_t first = 0;
	unsigned segs = 0;
	while (raw_recv(&r, &h, &len, NULL))
		if (len > 0 && segs++ == 0)
			first = h.seq;
	ck_assert_uint_eq(segs, 10);
	/* As after 2 GiB sent without loss: SND.UNA is 2^31 past recover, which sequence
	 * arithmetic then reads as "not yet reached". */
	r.s->recover = r.s->snd_una - 0x80000000u - 1460;
	raw_send(&r, TCP_ACK, r.seq, first + 1460, 65535, NULL, NULL, 0);
	for (unsigned i = 0; i < 3; i++)
		raw_send(&r, TCP_ACK, r.seq, first + 1460, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPFastRetrans), 1);
	bool resent = false;
	while (raw_recv(&r, &h, &len, NULL))
		resent |= len > 0 && h.seq == first + 1460;
	ck_assert(resent);
	raw_fini(&r);
}
END_TEST

/* The same for real: 2 GiB and more between two stacks without a loss, then one segment
 * lost is repaired by fast retransmit, not by a timeout. */
START_TEST(fast_retransmit_after_2gib)
{
	struct stack_config ca, cb;
	host_cfg(&ca);
	ca.prefix_len = 24;
	ca.tcp_sndbuf = 4 << 20;
	stack_config_defaults(&cb);
	cb.addr = h_ip(H_PEER_IP);
	cb.prefix_len = 24;
	cb.tcp_rcvbuf = 4 << 20;
	struct conn c;
	conn_setup(&c, 65535, &ca, &cb, 11);
	static uint8_t buf[1 << 20];
	uint64_t got = 0, want = (1ull << 31) + (64 << 20);
	while (got < want) {
		tcp_send(c.cli, buf, sizeof(buf));
		h_net_run(&c.n, 100 * 1000, 0);
		for (ssize_t k; (k = tcp_recv(c.srv, buf, sizeof(buf))) > 0;)
			got += (uint64_t)k;
	}
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpRetransSegs), 0);
	ck_assert(SEQ_LT(c.cli->snd_una, c.cli->iss)); /* past 2^31 from the ISN */
	/* 20 % of the next 1 MiB lost, then a clean link again. */
	struct memnet_faults f = { .drop_ppm = 200000 };
	memnet_set_faults(&c.n.pair.a, &f);
	tcp_send(c.cli, buf, sizeof(buf));
	h_net_run(&c.n, 100 * 1000, 0);
	memset(&f, 0, sizeof(f));
	memnet_set_faults(&c.n.pair.a, &f);
	for (unsigned i = 0; i < 100; i++) {
		h_net_run(&c.n, H_MS, 0);
		while (tcp_recv(c.srv, buf, sizeof(buf)) > 0)
			;
	}
	ck_assert_uint_gt(c.n.pair.a.stats.dropped, 0);
	ck_assert_uint_gt(h_stat(c.n.a, STAT_TcpExtTCPFastRetrans), 0);
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpExtTCPTimeouts), 0);
	conn_teardown(&c);
}
END_TEST

/* ---- item 8: the out-of-order queue full --------------------------------------------- */

START_TEST(in_order_segment_taken_with_ooo_full)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	/* 32 ranges, one byte each with a hole before it. */
	for (uint32_t i = 0; i < TCP_OOO_MAX_RANGES; i++)
		raw_send(&r, TCP_ACK, r.seq + 2 + 2 * i, r.ack, 65535, NULL, "o", 1);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPOFOQueue), TCP_OOO_MAX_RANGES);
	raw_send(&r, TCP_ACK, r.seq + 200, r.ack, 65535, NULL, "o", 1);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPOFODrop), 1);
	h_host_drain(&r.h);
	/* The byte at RCV.NXT needs no range: it is taken. */
	raw_send(&r, TCP_ACK, r.seq, r.ack, 65535, NULL, "i", 1);
	struct tcp_hdr h;
	size_t len;
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.ack, r.seq + 1);
	uint8_t b[8];
	ck_assert_int_eq(tcp_recv(r.s, b, sizeof(b)), 1);
	ck_assert_uint_eq(b[0], 'i');
	/* The next fills the first hole and joins the first range. */
	raw_send(&r, TCP_ACK, r.seq + 1, r.ack, 65535, NULL, "j", 1);
	ck_assert_int_eq(tcp_recv(r.s, b, sizeof(b)), 2);
	ck_assert_mem_eq(b, "jo", 2);
	raw_fini(&r);
}
END_TEST

/* ---- item 9: callback order ------------------------------------------------------------ */

struct order {
	char log[16];
	unsigned n;
	uint8_t data[64];
	size_t got;
	bool eof;
	bool read_in_readable, close_in_closed;
	int err;
};

static void ord_readable(struct tcp_sock *s, void *u)
{
	struct order *o = u;
	if (o->n < sizeof(o->log) - 1)
		o->log[o->n++] = 'R';
	if (!o->read_in_readable)
		return;
	for (;;) {
		ssize_t k = tcp_recv(s, o->data + o->got, sizeof(o->data) - o->got);
		if (k == 0)
			o->eof = true;
		if (k <= 0)
			break;
		o->got += (size_t)k;
	}
}

static void ord_closed(struct tcp_sock *s, void *u, int err)
{
	struct order *o = u;
	if (o->n < sizeof(o->log) - 1)
		o->log[o->n++] = 'C';
	o->err = err;
	if (o->close_in_closed)
		tcp_close(s);
}

static const struct tcp_sock_ops ord_ops = { .readable = ord_readable, .closed = ord_closed };

/* The stack half-closes; the peer's last data comes with its FIN in FIN-WAIT-2. */
static void fin_wait_2_then_data_fin(struct raw *r, struct order *o)
{
	tcp_set_ops(r->s, &ord_ops, o);
	ck_assert_int_eq(tcp_shutdown(r->s, SHUT_WR), 0);
	struct tcp_hdr h;
	size_t len;
	ck_assert(raw_recv(r, &h, &len, NULL));
	ck_assert(h.flags & TCP_FIN);
	raw_send(r, TCP_ACK, r->seq, h.seq + 1, 65535, NULL, NULL, 0);
	ck_assert_int_eq(tcp_sock_state(r->s), TCP_STATE_FIN_WAIT_2);
	raw_send(r, TCP_ACK | TCP_FIN, r->seq, h.seq + 1, 65535, NULL, "bye", 3);
}

START_TEST(data_fin_readable_before_closed)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	struct order o = { .read_in_readable = true, .close_in_closed = true };
	fin_wait_2_then_data_fin(&r, &o);
	ck_assert_str_eq(o.log, "RC");
	ck_assert_uint_eq(o.got, 3);
	ck_assert_mem_eq(o.data, "bye", 3);
	ck_assert(o.eof);
	ck_assert_int_eq(o.err, 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPAbortOnClose), 0);
	raw_fini(&r);
}
END_TEST

/* Closing in `closed` with data never read loses it; that is counted, not silent. */
START_TEST(close_in_closed_with_unread_data_counted)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	struct order o = { .close_in_closed = true };
	fin_wait_2_then_data_fin(&r, &o);
	ck_assert_str_eq(o.log, "RC");
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPAbortOnClose), 1);
	raw_fini(&r);
}
END_TEST

/* Data (and the FIN) that arrived before tcp_accept() is signalled after it, from the
 * next stack_poll (never from inside the tcp_accept call). */
START_TEST(data_before_accept_signalled)
{
	struct raw r;
	raw_listen(&r, NULL, 8);
	struct tcp_opts so = { .has_mss = true, .mss = 1460 };
	raw_send(&r, TCP_SYN, 7000, 0, 65535, &so, NULL, 0);
	struct tcp_hdr h;
	size_t len;
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.flags, TCP_SYN | TCP_ACK);
	raw_send(&r, TCP_ACK, 7001, h.seq + 1, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.le.accept_ready, 1);
	raw_send(&r, TCP_ACK | TCP_PSH | TCP_FIN, 7001, h.seq + 1, 65535, NULL, "hi", 2);
	struct tcp_sock *c;
	ck_assert_int_eq(tcp_accept(r.ls, &ev_ops, &r.e, &c), 0);
	ck_assert_uint_eq(r.e.readable, 0); /* not from inside tcp_accept */
	h_host_advance(&r.h, H_MS);
	ck_assert_uint_eq(r.e.readable, 1);
	uint8_t b[4];
	ck_assert_int_eq(tcp_recv(c, b, sizeof(b)), 2);
	ck_assert_int_eq(tcp_recv(c, b, sizeof(b)), 0);
	tcp_close(c);
	raw_fini(&r);
}
END_TEST

/* ---- item 12: the smaller ones --------------------------------------------------------- */

/* RFC 9293 §3.10.7.4: with RCV.WND zero "special allowance should be made to accept valid
 * ACKs": the data is dropped (counted), the ACK is processed. */
START_TEST(ack_on_data_taken_with_zero_window)
{
	struct stack_config cfg;
	host_cfg(&cfg);
	cfg.tcp_rcvbuf = 4096;
	struct raw r;
	raw_connect(&r, &cfg, NULL, 65535);
	size_t cap = r.s->rcvbuf.cap;
	uint8_t d[1024];
	memset(d, 'd', sizeof(d));
	for (size_t off = 0; off < cap; off += sizeof(d)) {
		size_t n = cap - off < sizeof(d) ? cap - off : sizeof(d);
		raw_send(&r, TCP_ACK, r.seq, r.ack, 65535, NULL, d, n);
		r.seq += (uint32_t)n;
	}
	h_host_advance(&r.h, 200 * H_MS);
	struct tcp_hdr h;
	size_t len;
	bool zero = false;
	while (raw_recv(&r, &h, &len, NULL))
		zero = h.wnd == 0 && h.ack == r.seq;
	ck_assert(zero);
	ck_assert_int_eq(tcp_send(r.s, "x", 1), 1);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(len, 1);
	/* A probe with one byte that also acknowledges the stack's byte. */
	raw_send(&r, TCP_ACK, r.seq, r.ack + 1, 65535, NULL, "p", 1);
	struct tcp_sock_info in;
	tcp_sock_get_info(r.s, &in);
	ck_assert_uint_eq(in.snd_queued, 0);
	ck_assert_uint_eq(r.s->timer[TCP_T_REXMT], 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPZeroWindowDrop), 1);
	ck_assert(raw_recv(&r, &h, &len, NULL)); /* answered: window still 0 */
	ck_assert_uint_eq(h.ack, r.seq);
	ck_assert_uint_eq(h.wnd, 0);
	raw_fini(&r);
}
END_TEST

/* Connected, one byte sent: its segment in h and frame. */
static void connect_send_one(struct raw *r, struct tcp_hdr *h, uint8_t *frame)
{
	size_t len;
	raw_connect(r, NULL, NULL, 65535);
	ck_assert_int_eq(tcp_send(r->s, "a", 1), 1);
	ck_assert(raw_recv(r, h, &len, frame));
	ck_assert_uint_eq(len, 1);
}

/* An ICMP soft error is forgotten once the connection makes progress (as Linux clears
 * sk_err_soft on an ACK); a timeout much later says ETIMEDOUT. */
START_TEST(icmp_soft_error_cleared_by_progress)
{
	struct raw r;
	uint8_t frame[2200];
	struct tcp_hdr h;
	connect_send_one(&r, &h, frame);
	icmp_about(&r, 3, 1, frame); /* host unreachable: soft while established */
	ck_assert_uint_eq(r.e.closed, 0);
	raw_send(&r, TCP_ACK, r.seq, h.seq + 1, 65535, NULL, NULL, 0);
	h_host_advance(&r.h, 3600 * H_S);
	ck_assert_int_eq(tcp_send(r.s, "b", 1), 1);
	h_host_advance(&r.h, 3600 * H_S);
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, ETIMEDOUT);
	raw_fini(&r);

	/* Nor does one from the handshake outlive it. */
	struct tcp_hdr syn;
	uint8_t sf[2200];
	raw_open_syn(&r, NULL, &syn, sf);
	icmp_about(&r, 11, 0, sf); /* time exceeded: soft even in SYN-SENT */
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_SYN_SENT);
	r.sport = syn.sport;
	struct tcp_opts o = { .has_mss = true, .mss = 1460 };
	raw_send(&r, TCP_SYN | TCP_ACK, 1000000, syn.seq + 1, 65535, &o, NULL, 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_ESTABLISHED);
	ck_assert_int_eq(tcp_send(r.s, "c", 1), 1);
	h_host_advance(&r.h, 3600 * H_S);
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, ETIMEDOUT);
	raw_fini(&r);
}
END_TEST

/* A soft error during the episode that timed out is still the reason given. */
START_TEST(icmp_soft_error_recent_reported)
{
	struct raw r;
	uint8_t frame[2200];
	struct tcp_hdr h;
	connect_send_one(&r, &h, frame);
	h_host_advance(&r.h, 10 * H_S);
	icmp_about(&r, 3, 1, frame);
	h_host_advance(&r.h, 3600 * H_S);
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, EHOSTUNREACH);
	raw_fini(&r);
}
END_TEST

/* Into TIME-WAIT: the stack closes first, the peer acknowledges and sends its FIN. */
static void to_time_wait(struct raw *r)
{
	ck_assert_int_eq(tcp_shutdown(r->s, SHUT_WR), 0);
	struct tcp_hdr h;
	size_t len;
	ck_assert(raw_recv(r, &h, &len, NULL));
	ck_assert(h.flags & TCP_FIN);
	r->ack = h.seq + 1;
	raw_send(r, TCP_ACK | TCP_FIN, r->seq, r->ack, 65535, NULL, NULL, 0);
	r->seq++;
	ck_assert_int_eq(tcp_sock_state(r->s), TCP_STATE_TIME_WAIT);
	h_host_drain(&r->h);
}

/* RFC 9293 §3.10.7.4 eighth: only a retransmission of the peer's FIN restarts 2MSL. */
START_TEST(time_wait_restarted_only_by_the_fin)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	to_time_wait(&r);
	h_host_advance(&r.h, 50 * H_S);
	/* FINs at other sequence numbers: in the window and far outside it. */
	raw_send(&r, TCP_ACK | TCP_FIN, r.seq + 1000, r.ack, 65535, NULL, NULL, 0);
	raw_send(&r, TCP_ACK | TCP_FIN, r.seq + 0x40000000u, r.ack, 65535, NULL, NULL, 0);
	raw_send(&r, TCP_ACK | TCP_FIN, r.seq - 1000, r.ack, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(h_host_drain(&r.h), 3); /* each answered with an ACK */
	h_host_advance(&r.h, 10 * H_S + H_MS);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_CLOSED);
	raw_fini(&r);

	/* The real retransmitted FIN does restart it. */
	raw_connect(&r, NULL, NULL, 65535);
	to_time_wait(&r);
	h_host_advance(&r.h, 50 * H_S);
	raw_send(&r, TCP_ACK | TCP_FIN, r.seq - 1, r.ack, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(h_host_drain(&r.h), 1);
	h_host_advance(&r.h, 10 * H_S + H_MS);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_TIME_WAIT);
	h_host_advance(&r.h, 50 * H_S);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_CLOSED);
	raw_fini(&r);
}
END_TEST

/* RFC 1122 §4.2.3.3: the right edge moves by at least min(buffer/2, MSS) or not at all,
 * however the application reads. */
START_TEST(receive_window_edge_no_creep)
{
	struct stack_config cfg;
	host_cfg(&cfg);
	cfg.tcp_rcvbuf = 16384;
	struct raw r;
	raw_connect(&r, &cfg, NULL, 65535);
	uint32_t thresh = (uint32_t)(r.s->rcvbuf.cap / 2) < 1460 ? (uint32_t)(r.s->rcvbuf.cap / 2)
								   : 1460;
	uint32_t edge = 0;
	uint8_t d[1000], b[100];
	memset(d, 'w', sizeof(d));
	unsigned acks = 0;
	for (unsigned i = 0; i < 14; i++) {
		raw_send(&r, TCP_ACK, r.seq, r.ack, 65535, NULL, d, sizeof(d));
		r.seq += sizeof(d);
		ck_assert_int_eq(tcp_recv(r.s, b, sizeof(b)), (ssize_t)sizeof(b));
		h_host_advance(&r.h, 200 * H_MS);
		struct tcp_hdr h;
		size_t len;
		while (raw_recv(&r, &h, &len, NULL)) {
			uint32_t e = h.ack + h.wnd;
			if (edge)
				ck_assert_msg(e == edge || e - edge >= thresh,
					      "right edge moved by %u", e - edge);
			edge = e;
			acks++;
		}
	}
	ck_assert_uint_gt(acks, 5);
	raw_fini(&r);
}
END_TEST

/* Ten segments sent, the peer lost the first five and SACKs the rest at once. */
static void sack_loss_setup(struct raw *r, bool sack, uint32_t *seqs)
{
	struct stack_config cfg;
	host_cfg(&cfg);
	cfg.tcp_cc = TCP_CC_ALGO_NEWRENO;
	struct tcp_opts o = { .has_mss = true, .mss = 1460, .sack_perm = sack };
	raw_connect(r, &cfg, &o, 65535);
	size_t n = 20 * 1460;
	uint8_t *d = malloc(n);
	pattern(d, n, 8);
	ck_assert_int_eq(tcp_send(r->s, d, n), (ssize_t)n);
	free(d);
	struct tcp_hdr h;
	size_t len;
	unsigned segs = 0;
	while (raw_recv(r, &h, &len, NULL)) {
		ck_assert_uint_eq(len, 1460);
		seqs[segs++] = h.seq;
	}
	ck_assert_uint_eq(segs, 10);
}

/* RFC 6675 §4 pipe: lost segments are not in the network, retransmitted ones are; and
 * ssthresh is half the FlightSize (§5 step 4.2), not half of pipe. */
START_TEST(sack_recovery_pipe)
{
	struct raw r;
	uint32_t seqs[10];
	sack_loss_setup(&r, true, seqs);
	struct tcp_opts o = { .nsack = 1 };
	o.sack[0].left = seqs[5];
	o.sack[0].right = seqs[9] + 1460;
	raw_send(&r, TCP_ACK, r.seq, seqs[0], 65535, &o, NULL, 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPSackRecovery), 1);
	struct tcp_hdr h;
	size_t len;
	unsigned k = 0;
	while (raw_recv(&r, &h, &len, NULL)) {
		ck_assert_uint_lt(k, 5);
		ck_assert_uint_eq(h.seq, seqs[k]);
		k++;
	}
	ck_assert_uint_eq(k, 5); /* the five holes at once: pipe 0 < cwnd 5 segments */
	struct tcp_sock_info in;
	tcp_sock_get_info(r.s, &in);
	ck_assert_uint_eq(in.ssthresh, 5 * 1460);
	raw_fini(&r);
}
END_TEST

/* RFC 6582 §3.2 step 4 inflates cwnd by one SMSS per duplicate ACK, each standing for a
 * segment that left the network; there cannot be more of those than are outstanding. */
START_TEST(newreno_inflation_bounded)
{
	struct raw r;
	uint32_t seqs[10];
	sack_loss_setup(&r, false, seqs);
	for (unsigned i = 0; i < 1000; i++)
		raw_send(&r, TCP_ACK, r.seq, seqs[0], 65535, NULL, NULL, 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPFastRetrans), 1);
	struct tcp_sock_info in;
	tcp_sock_get_info(r.s, &in);
	ck_assert_uint_le(in.cwnd, in.ssthresh + (r.s->snd_max - r.s->snd_una));
	raw_fini(&r);
}
END_TEST

/* A RST in LAST-ACK or CLOSING: our FIN (maybe data too) was never acknowledged, so the
 * close was not clean (Linux reports ECONNRESET; RFC 9293 gives no signal). */
START_TEST(rst_in_last_ack_is_a_reset)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	raw_send(&r, TCP_ACK | TCP_FIN, r.seq, r.ack, 65535, NULL, NULL, 0);
	r.seq++;
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_CLOSE_WAIT);
	ck_assert_int_eq(tcp_shutdown(r.s, SHUT_WR), 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_LAST_ACK);
	raw_send(&r, TCP_RST, r.seq, 0, 0, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, ECONNRESET);
	raw_fini(&r);

	raw_connect(&r, NULL, NULL, 65535);
	ck_assert_int_eq(tcp_shutdown(r.s, SHUT_WR), 0);
	raw_send(&r, TCP_ACK | TCP_FIN, r.seq, r.ack, 65535, NULL, NULL, 0); /* FIN not acked */
	r.seq++;
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_CLOSING);
	raw_send(&r, TCP_RST, r.seq, 0, 0, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, ECONNRESET);
	raw_fini(&r);
}
END_TEST

/* RFC 4987 §3.6 / Linux tcp_synq_no_recent_overflow: an ACK is taken as a SYN cookie only
 * while cookies were recently sent; otherwise it is a stray ACK (RST). */
START_TEST(syncookie_only_after_recent_overflow)
{
	struct raw r;
	raw_listen(&r, NULL, 8);
	/* A valid cookie, as one who knew the key (or guessed it) would make it. */
	struct tcp *t = tcp_of(r.h.st);
	uint32_t cookie = tcp_syncookie_encode(t->cookie_key, h_ip(H_HOST_IP), 80,
					       h_ip(H_PEER_IP), PEER_PORT, 7000, 1460,
					       r.h.now_ns, NULL);
	raw_send(&r, TCP_ACK, 7001, cookie + 1, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtSyncookiesRecv), 0);
	ck_assert_uint_eq(r.le.accept_ready, 0);
	struct tcp_hdr h;
	size_t len;
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert(h.flags & TCP_RST);
	raw_fini(&r);
}
END_TEST

static Suite *tcp_recv_suite(void)
{
	Suite *s = suite_create("tcp_recv");
	TCase *tc = tcase_create("raw");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, challenge_ack_limit_per_connection);
	tcase_add_test(tc, challenge_ack_global_budget_randomised);
	tcase_add_test(tc, ack_every_second_segment_of_received_size);
	tcase_add_test(tc, newreno_recover_not_stale_after_2gib);
	tcase_add_test(tc, fast_retransmit_after_2gib);
	tcase_add_test(tc, in_order_segment_taken_with_ooo_full);
	tcase_add_test(tc, data_fin_readable_before_closed);
	tcase_add_test(tc, close_in_closed_with_unread_data_counted);
	tcase_add_test(tc, data_before_accept_signalled);
	tcase_add_test(tc, ack_on_data_taken_with_zero_window);
	tcase_add_test(tc, icmp_soft_error_cleared_by_progress);
	tcase_add_test(tc, icmp_soft_error_recent_reported);
	tcase_add_test(tc, time_wait_restarted_only_by_the_fin);
	tcase_add_test(tc, receive_window_edge_no_creep);
	tcase_add_test(tc, sack_recovery_pipe);
	tcase_add_test(tc, newreno_inflation_bounded);
	tcase_add_test(tc, rst_in_last_ack_is_a_reset);
	tcase_add_test(tc, syncookie_only_after_recent_overflow);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(tcp_recv_suite());
}
