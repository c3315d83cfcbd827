/* TCP output with segmentation offload (netif.h TSO): super-segments over a memory port
 * that cuts them as a TAP's kernel does (memnet_set_gso_max), so the tests see the wire
 * segments. The same scenarios run with TSO off must put the same segments on the wire:
 * windows, cwnd, Nagle, SWS avoidance and the FIN do not depend on how the device is
 * written (RFC 9293 §3.8.6, RFC 5681, RFC 896). Then partial retransmission after SACK
 * (RFC 6675), a path MTU change (RFC 1191), a lossy 1 MB transfer and the counters. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"
#include "stack/stack_var.h"
#include "stack/tcp.h"
#include "stack/tcp_var.h"
#include "stack/wire/csum.h"
#include "stack/wire/ipv4.h"
#include "tcp_peer.h"

#define SEGS_MAX 256

/* A wire segment as the peer saw it, its sequence number relative to the stack's ISS + 1. */
struct wseg {
	uint32_t rseq;
	size_t len;
	uint8_t flags;
	uint32_t tsval;
	size_t ip_len;
};

struct wlog {
	struct wseg s[SEGS_MAX];
	unsigned n;
};

static uint32_t iss1(const struct raw *r)
{
	return r->s->iss + 1;
}

/* Takes every segment the stack has sent so far into l. */
static void take(struct raw *r, struct wlog *l)
{
	struct tcp_hdr h;
	size_t len;
	uint8_t frame[2200];

	while (raw_recv(r, &h, &len, frame)) {
		ck_assert_uint_lt(l->n, SEGS_MAX);
		l->s[l->n++] = (struct wseg){ h.seq - iss1(r), len, h.flags, h.opts.tsval,
					      ((size_t)frame[16] << 8) | frame[17] };
	}
}

static void tso_on(struct raw *r, bool on)
{
	memnet_set_gso_max(&r->h.pair.a, on ? IPV4_MAX_LEN : 0);
}

static void log_eq(const struct wlog *a, const struct wlog *b)
{
	ck_assert_uint_eq(a->n, b->n);
	for (unsigned i = 0; i < a->n; i++) {
		ck_assert_uint_eq(a->s[i].rseq, b->s[i].rseq);
		ck_assert_uint_eq(a->s[i].len, b->s[i].len);
		ck_assert_uint_eq(a->s[i].flags, b->s[i].flags);
	}
}

static uint8_t data[1 << 20];

/* A scenario, run once with TSO and once without; arg is the scenario's own. */
typedef void (*scenario_fn)(struct raw *r, bool tso, int arg, struct wlog *l);

/* Runs scn both ways: the wire segments must be the same, and the TSO run must have
 * written gso_writes super-segments. */
static void on_off(scenario_fn scn, int arg, unsigned seed, uint64_t gso_writes)
{
	static struct wlog on, off;
	struct raw r;

	pattern(data, sizeof(data), seed);
	memset(&on, 0, sizeof(on));
	memset(&off, 0, sizeof(off));
	scn(&r, true, arg, &on);
	ck_assert_uint_eq(r.h.pair.a.stats.gso_writes, gso_writes);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_IpOutGsoRequests), gso_writes);
	raw_fini(&r);
	scn(&r, false, arg, &off);
	ck_assert_uint_eq(r.h.pair.a.stats.gso_writes, 0);
	raw_fini(&r);
	log_eq(&on, &off);
}

/* ---- the same wire segments with and without TSO -------------------------------------- */

/* Window edges: the peer offers 10000 bytes (not a multiple of the MSS), then more as it
 * ACKs. Nothing may pass the right edge; the last sub-MSS piece of the window waits for
 * sender SWS avoidance as it would without TSO. */
static void scn_window(struct raw *r, bool tso, int arg, struct wlog *l)
{
	(void)arg;
	raw_connect(r, NULL, NULL, 10000);
	tso_on(r, tso);
	ck_assert_int_eq(tcp_send(r->s, data, 100000), 100000);
	take(r, l);
	for (unsigned i = 0; i < l->n; i++)
		ck_assert_uint_le(l->s[i].rseq + l->s[i].len, 10000);
	unsigned n0 = l->n;
	raw_send(r, TCP_ACK, r->seq, iss1(r) + 2920, 10000, NULL, NULL, 0);
	take(r, l);
	for (unsigned i = n0; i < l->n; i++)
		ck_assert_uint_le(l->s[i].rseq + l->s[i].len, 12920);
}

START_TEST(window_edges_as_without_tso)
{
	/* 10000 bytes: 5 pieces (half the IW) and a sixth alone, its short tail held by
	 * SWS avoidance; after the ACK of 2, the two pieces that the window allows. */
	on_off(scn_window, 0, 1, 2);
}
END_TEST

/* The congestion window (IW 10 segments, RFC 6928) bounds a burst into a wide window:
 * super-segments of at most half of it (Linux tcp_cwnd_test), never more than it. */
static void scn_cwnd(struct raw *r, bool tso, int arg, struct wlog *l)
{
	(void)arg;
	raw_connect(r, NULL, NULL, 65535);
	tso_on(r, tso);
	ck_assert_int_eq(tcp_send(r->s, data, 100000), 100000);
	take(r, l);
	size_t sent = 0;
	for (unsigned i = 0; i < l->n; i++)
		sent += l->s[i].len;
	ck_assert_uint_le(sent, r->s->cc.cwnd_bytes);
	ck_assert_uint_eq(sent, 10 * 1460);
}

START_TEST(cwnd_bounds_super_segments)
{
	/* 10 segments in super-segments of at most 5 (half the cwnd). */
	on_off(scn_cwnd, 0, 2, 2);
}
END_TEST

/* Nagle (RFC 896): three full segments and a 100-byte tail; the tail waits for the ACK
 * of what is in flight, with TSO as without. TCP_SO_NODELAY sends it at once. */
static void scn_nagle(struct raw *r, bool tso, int nodelay, struct wlog *l)
{
	raw_connect(r, NULL, NULL, 65535);
	tso_on(r, tso);
	ck_assert_int_eq(tcp_setopt(r->s, TCP_SO_NODELAY, nodelay), 0);
	ck_assert_int_eq(tcp_send(r->s, data, 3 * 1460 + 100), 3 * 1460 + 100);
	take(r, l);
	ck_assert_uint_eq(l->n, nodelay ? 4 : 3);
	raw_send(r, TCP_ACK, r->seq, iss1(r) + 3 * 1460, 65535, NULL, NULL, 0);
	take(r, l);
	ck_assert_uint_eq(l->n, 4);
	ck_assert_uint_eq(l->s[3].len, 100);
	ck_assert_uint_eq(l->s[3].flags, TCP_ACK | TCP_PSH);
}

START_TEST(nagle_holds_the_short_tail)
{
	on_off(scn_nagle, 0, 3, 1);
	on_off(scn_nagle, 1, 3, 1); /* the tail in the same super-segment */
}
END_TEST

/* ---- FIN, options, timestamps -------------------------------------------------------- */

/* Data and the FIN queued while the window is closed go in one super-segment when it
 * opens: FIN and PSH on the last piece only, the same options on every piece (one TSval,
 * the peer's TSecr, RFC 7323 §3), every piece MSS less options (RFC 6691 §2). */
START_TEST(fin_and_options_on_pieces)
{
	struct raw r;
	struct tcp_opts o = { .has_mss = true, .mss = 1460, .sack_perm = true, .has_ts = true,
			      .tsval = 500 };
	struct tcp_opts t = { .has_ts = true, .tsval = 501 };
	struct tcp_hdr h;
	size_t len;
	uint32_t next;

	pattern(data, sizeof(data), 4);
	raw_connect(&r, NULL, &o, 0);
	tso_on(&r, true);
	ck_assert_int_eq(tcp_send(r.s, data, 5000), 5000);
	ck_assert_int_eq(tcp_shutdown(r.s, SHUT_WR), 0);
	ck_assert(!raw_recv(&r, &h, &len, NULL));
	h_host_advance(&r.h, 5 * H_MS);
	raw_send(&r, TCP_ACK, r.seq, iss1(&r), 65535, &t, NULL, 0);
	next = iss1(&r);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert(raw_recv(&r, &h, &len, NULL));
		ck_assert_uint_eq(h.seq, next);
		ck_assert_uint_eq(len, i < 3 ? 1448 : 5000 - 3 * 1448);
		ck_assert_uint_eq(h.flags, i < 3 ? TCP_ACK : TCP_ACK | TCP_PSH | TCP_FIN);
		ck_assert(h.opts.has_ts);
		ck_assert_uint_eq(h.opts.tsecr, 501);
		ck_assert_uint_eq(h.opts.tsval, tcp_ts_now(r.s));
		ck_assert_uint_eq(h.opts.nsack, 0);
		next += (uint32_t)len;
	}
	ck_assert(!raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(r.h.pair.a.stats.gso_writes, 1);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_IpOutGsoRequests), 1);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_FIN_WAIT_1);
	/* The FIN's ACK ends FIN-WAIT-1. */
	raw_send(&r, TCP_ACK, r.seq, next + 1, 65535, &t, NULL, 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_FIN_WAIT_2);
	raw_fini(&r);
}
END_TEST

/* ---- loss recovery ------------------------------------------------------------------- */

static struct tcp_opts sack_opts(uint32_t tsval, const uint32_t (*blk)[2], unsigned n)
{
	struct tcp_opts o = { .has_ts = true, .tsval = tsval, .nsack = (uint8_t)n };

	for (unsigned i = 0; i < n; i++) {
		o.sack[i].left = blk[i][0];
		o.sack[i].right = blk[i][1];
	}
	return o;
}

/* The wire segment never covers a byte in [l, r). */
static void outside(const struct wseg *s, uint32_t l, uint32_t r)
{
	ck_assert(s->rseq + s->len <= l || s->rseq >= r);
}

/* Ten segments leave in super-segments; pieces 2, 5 and 6 are lost. With SACK the holes
 * alone are resent (RFC 6675 §5 NextSeg), never a SACKed byte: first by fast retransmit
 * as MSS-sized segments, then, after an RTO (go-back-N skipping SACKed data, RFC 6675
 * §5.1), the two-piece hole as a smaller super-segment. */
START_TEST(sack_retransmits_only_the_holes)
{
	for (int rto = 0; rto <= 1; rto++) {
		struct raw r;
		struct tcp_opts o = { .has_mss = true, .mss = 1460, .sack_perm = true,
				      .has_ts = true, .tsval = 500 };
		static struct wlog l;
		const uint32_t P = 1448;

		pattern(data, sizeof(data), 5);
		memset(&l, 0, sizeof(l));
		raw_connect(&r, NULL, &o, 65535);
		tso_on(&r, true);
		ck_assert_int_eq(tcp_send(r.s, data, 10 * P), (ssize_t)(10 * P));
		take(&r, &l);
		ck_assert_uint_eq(l.n, 10);
		ck_assert_uint_eq(r.h.pair.a.stats.gso_writes, 2);
		uint32_t b = iss1(&r);
		const uint32_t blk[2][2] = { { b + 3 * P, b + 5 * P }, { b + 7 * P, b + 10 * P } };
		uint64_t rx0 = h_stat(r.h.st, STAT_TcpRetransSegs);
		uint64_t gso0 = r.h.pair.a.stats.gso_writes;
		struct tcp_opts so = sack_opts(600, blk, 2);
		raw_send(&r, TCP_ACK, r.seq, b + 2 * P, 65535, &so, NULL, 0);
		l.n = 0;
		if (!rto) {
			/* More than 2 * SMSS SACKed above the holes: both are lost (IsLost);
			 * two more duplicate ACKs for the classic rule as well. */
			raw_send(&r, TCP_ACK, r.seq, b + 2 * P, 65535, &so, NULL, 0);
			raw_send(&r, TCP_ACK, r.seq, b + 2 * P, 65535, &so, NULL, 0);
			take(&r, &l);
			ck_assert_uint_ge(l.n, 1);
			for (unsigned i = 0; i < l.n; i++) {
				ck_assert_uint_le(l.s[i].len, P);
				outside(&l.s[i], 3 * P, 5 * P);
				outside(&l.s[i], 7 * P, 10 * P);
				ck_assert_uint_lt(l.s[i].rseq, 10 * P);
			}
			ck_assert_uint_eq(l.s[0].rseq, 2 * P);
			ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpRetransSegs) - rx0, l.n);
		} else {
			take(&r, &l);
			ck_assert_uint_eq(l.n, 0);
			h_host_advance(&r.h, 1500 * H_MS); /* the RTO: cwnd one segment */
			take(&r, &l);
			ck_assert_uint_eq(l.n, 1);
			ck_assert_uint_eq(l.s[0].rseq, 2 * P);
			ck_assert_uint_eq(l.s[0].len, P);
			/* The hole [3P, 5P) is filled: the next hole is two pieces. */
			const uint32_t blk2[1][2] = { { b + 7 * P, b + 10 * P } };
			so = sack_opts(700, blk2, 1);
			l.n = 0;
			raw_send(&r, TCP_ACK, r.seq, b + 5 * P, 65535, &so, NULL, 0);
			take(&r, &l);
			ck_assert_uint_eq(l.n, 2);
			ck_assert_uint_eq(l.s[0].rseq, 5 * P);
			ck_assert_uint_eq(l.s[1].rseq, 6 * P);
			ck_assert_uint_eq(l.s[1].len, P);
			ck_assert_uint_eq(r.h.pair.a.stats.gso_writes - gso0, 1);
			ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpRetransSegs) - rx0, 3);
		}
		raw_fini(&r);
	}
}
END_TEST

/* ---- path MTU ------------------------------------------------------------------------ */

/* An ICMP 3/4 (RFC 1191) between writes: the pieces shrink to the new MSS, super-segments
 * go on, and no wire segment exceeds the new path MTU. */
START_TEST(pmtu_change_shrinks_pieces)
{
	struct raw r;
	struct tcp_hdr h;
	size_t len;
	uint8_t frame[2200];
	static struct wlog l;

	pattern(data, sizeof(data), 6);
	memset(&l, 0, sizeof(l));
	raw_connect(&r, NULL, NULL, 65535);
	tso_on(&r, true);
	ck_assert_int_eq(tcp_send(r.s, data, 60000), 60000);
	ck_assert(raw_recv(&r, &h, &len, frame));
	ck_assert_uint_eq(len, 1460);
	take(&r, &l);
	uint8_t icmp[8 + 28];
	memset(icmp, 0, sizeof(icmp));
	icmp[0] = 3;
	icmp[1] = 4;
	icmp[6] = 1000 >> 8;
	icmp[7] = 1000 & 0xff;
	memcpy(icmp + 8, frame + 14, 28);
	uint16_t ck = csum_buf(icmp, sizeof(icmp));
	memcpy(icmp + 2, &ck, 2);
	uint8_t f2[200];
	size_t n = h_frame_ipv4(f2, IPV4_PROTO_ICMP, 77, 0, false, icmp, sizeof(icmp));
	uint64_t gso0 = r.h.pair.a.stats.gso_writes;
	h_host_input(&r.h, f2, n);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPPMTUUpdates), 1);
	/* Resent at the new size, then new data as the peer ACKs. */
	uint32_t acked = iss1(&r);
	size_t got = 0;
	for (int i = 0; i < 100 && got < 60000; i++) {
		l.n = 0;
		take(&r, &l);
		for (unsigned k = 0; k < l.n; k++) {
			ck_assert_uint_le(l.s[k].ip_len, 1000);
			ck_assert_uint_le(l.s[k].len, 960);
			if (l.s[k].rseq + l.s[k].len > got)
				got = l.s[k].rseq + l.s[k].len;
		}
		acked = iss1(&r) + (uint32_t)got;
		raw_send(&r, TCP_ACK, r.seq, acked, 65535, NULL, NULL, 0);
	}
	ck_assert_uint_eq(got, 60000);
	ck_assert_uint_gt(r.h.pair.a.stats.gso_writes, gso0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPOutErrors), 0);
	raw_fini(&r);
}
END_TEST

/* ---- whole transfers ----------------------------------------------------------------- */

static void both_tso(struct conn *c)
{
	memnet_set_gso_max(&c->n.pair.a, IPV4_MAX_LEN);
	memnet_set_gso_max(&c->n.pair.b, IPV4_MAX_LEN);
}

/* 1 MB each way at once over a link losing 3 % of the frames each way: byte-exact. */
START_TEST(lossy_transfer_byte_exact)
{
	struct conn c;
	enum { N = 1 << 20 };
	uint8_t *db = malloc(N), *oa = malloc(N), *ob = malloc(N);
	ck_assert(db && oa && ob);
	pattern(data, N, 7);
	pattern(db, N, 8);
	conn_setup(&c, 1500, NULL, NULL, 21);
	both_tso(&c);
	struct memnet_faults f = { .drop_ppm = 30000 };
	memnet_set_faults(&c.n.pair.a, &f);
	memnet_set_faults(&c.n.pair.b, &f);
	transfer_two_way(&c, data, db, oa, ob, N, 900 * H_S);
	ck_assert_uint_gt(h_stat(c.n.a, STAT_IpOutGsoRequests), 10);
	ck_assert_uint_gt(h_stat(c.n.b, STAT_IpOutGsoRequests), 10);
	ck_assert_uint_gt(h_stat(c.n.a, STAT_TcpRetransSegs), 0);
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpExtTCPOutErrors), 0);
	ck_assert_uint_eq(h_stat(c.n.b, STAT_TcpExtTCPOutErrors), 0);
	ck_assert_uint_eq(c.n.pair.a.stats.gso_refused + c.n.pair.b.stats.gso_refused, 0);
	free(db);
	free(oa);
	free(ob);
	conn_teardown(&c);
}
END_TEST

/* Counters count wire segments: what a sends (TcpOutSegs + TcpRetransSegs) is what b
 * receives (TcpInSegs) on a clean link, far more than the super-segments written. */
START_TEST(counters_count_wire_segments)
{
	struct conn c;
	enum { N = 1 << 20 };
	uint8_t *out = malloc(N);

	ck_assert(out);
	pattern(data, N, 9);
	conn_setup(&c, 1500, NULL, NULL, 22);
	both_tso(&c);
	uint64_t out0 = h_stat(c.n.a, STAT_TcpOutSegs) + h_stat(c.n.a, STAT_TcpRetransSegs);
	uint64_t in0 = h_stat(c.n.b, STAT_TcpInSegs);
	ck_assert_uint_eq(transfer(&c, c.cli, c.srv, data, out, N, 60 * H_S, H_MS), N);
	ck_assert_mem_eq(out, data, N);
	h_net_run(&c.n, 1 * H_S, 0);
	uint64_t sent = h_stat(c.n.a, STAT_TcpOutSegs) + h_stat(c.n.a, STAT_TcpRetransSegs) - out0;
	ck_assert_uint_eq(sent, h_stat(c.n.b, STAT_TcpInSegs) - in0);
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpRetransSegs), 0);
	ck_assert_uint_ge(sent, N / 1448);
	uint64_t supers = h_stat(c.n.a, STAT_IpOutGsoRequests);
	ck_assert_uint_gt(supers, 0);
	ck_assert_uint_lt(supers * 4, sent);
	ck_assert_uint_eq(c.n.pair.a.stats.gso_writes, supers);
	free(out);
	conn_teardown(&c);
}
END_TEST

/* Autosizing (Linux tcp_tso_autosize): about 1 ms of data at cwnd/SRTT x 200 % in slow
 * start, 120 % after; at most half the cwnd; at least 2 pieces; at most 64 KiB. */
START_TEST(autosize_follows_rate)
{
	struct raw r;
	const uint32_t P = 1448;

	raw_connect(&r, NULL, NULL, 65535);
	tso_on(&r, true);
	struct tcp_sock *s = r.s;
	s->cc.cwnd_bytes = 100 * P;
	s->cc.ssthresh_bytes = UINT32_MAX;
	s->srtt_us = 10000; /* 10 ms: 2 x 144800 B / 10 ms = 28960 B per ms */
	ck_assert_uint_eq(tcp_tso_max_bytes(s, P), 20 * P);
	s->cc.ssthresh_bytes = 50 * P; /* congestion avoidance: 1.2 x 14480 B per ms */
	ck_assert_uint_eq(tcp_tso_max_bytes(s, P), 12 * P);
	s->srtt_us = 100000; /* a slow path: the floor of 2 */
	ck_assert_uint_eq(tcp_tso_max_bytes(s, P), 2 * P);
	s->srtt_us = 50; /* a fast one: 64 KiB less the largest headers */
	ck_assert_uint_eq(tcp_tso_max_bytes(s, P), (65535 - 80) / P * P);
	s->cc.cwnd_bytes = 16 * P; /* half the cwnd */
	ck_assert_uint_eq(tcp_tso_max_bytes(s, P), 8 * P);
	tso_on(&r, false);
	ck_assert_uint_eq(tcp_tso_max_bytes(s, P), P);
	raw_fini(&r);
}
END_TEST

/* A jumbo MTU (9000): pieces of 8948 bytes (MSS 8960 less timestamps), at most 7 in a
 * super-segment of 64 KiB, 1 MB byte-exact, and nothing refused for size. */
START_TEST(jumbo_mtu_super_segments)
{
	struct conn c;
	enum { N = 1 << 20 };
	uint8_t *out = malloc(N);

	ck_assert(out);
	pattern(data, N, 10);
	conn_setup(&c, 9000, NULL, NULL, 23);
	both_tso(&c);
	/* IW 2 segments (RFC 6928 with this MSS): the least, 2 pieces. */
	ck_assert_uint_eq(tcp_tso_max_bytes(c.cli, 8948), 2 * 8948);
	ck_assert_uint_eq(transfer(&c, c.cli, c.srv, data, out, N, 60 * H_S, H_MS), N);
	ck_assert_uint_eq(tcp_tso_max_bytes(c.cli, 8948), 7 * 8948); /* cwnd grew */
	ck_assert_mem_eq(out, data, N);
	ck_assert_uint_gt(c.n.pair.a.stats.gso_writes, 0);
	ck_assert_uint_eq(c.n.pair.a.stats.gso_refused, 0);
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpExtTCPOutErrors), 0);
	free(out);
	conn_teardown(&c);
}
END_TEST

static Suite *tcp_tso_suite(void)
{
	Suite *s = suite_create("tcp_tso");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, window_edges_as_without_tso);
	tcase_add_test(tc, cwnd_bounds_super_segments);
	tcase_add_test(tc, nagle_holds_the_short_tail);
	tcase_add_test(tc, fin_and_options_on_pieces);
	tcase_add_test(tc, sack_retransmits_only_the_holes);
	tcase_add_test(tc, pmtu_change_shrinks_pieces);
	tcase_add_test(tc, lossy_transfer_byte_exact);
	tcase_add_test(tc, counters_count_wire_segments);
	tcase_add_test(tc, jumbo_mtu_super_segments);
	tcase_add_test(tc, autosize_follows_rate);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(tcp_tso_suite());
}
