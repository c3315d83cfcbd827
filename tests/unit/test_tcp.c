/* TCP between two stacks over the memory pair: handshake, data, every close sequence,
 * resets, keepalive, TIME-WAIT, and a lossy bulk transfer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"
#include "stack/stack_var.h"
#include "stack/tcp.h"
#include "stack/tcp_var.h"
#include "stack/wire/csum.h"
#include "tcp_peer.h"

START_TEST(handshake)
{
	struct conn c;
	conn_setup(&c, 1500, NULL, NULL, 1);
	struct tcp_sock *x;
	ck_assert_int_eq(tcp_accept(c.ls, &ev_ops, &c.se, &x), -EAGAIN);
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpActiveOpens), 1);
	ck_assert_uint_eq(h_stat(c.n.b, STAT_TcpPassiveOpens), 1);
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpCurrEstab), 1);
	ck_assert_uint_eq(h_stat(c.n.b, STAT_TcpCurrEstab), 1);
	struct tcp_sock_info ia, ib;
	tcp_sock_get_info(c.cli, &ia);
	tcp_sock_get_info(c.srv, &ib);
	ck_assert_uint_eq(ia.rport, SRV_PORT);
	ck_assert_uint_eq(ib.lport, SRV_PORT);
	ck_assert_uint_eq(ib.rport, ia.lport);
	ck_assert_uint_ge(ia.lport, 32768);
	/* MSS from the MTU less 12 bytes of timestamps */
	ck_assert_uint_eq(ia.mss, 1460);
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpRetransSegs), 0);
	conn_teardown(&c);
}
END_TEST

START_TEST(data_both_ways)
{
	struct conn c;
	conn_setup(&c, 1500, NULL, NULL, 2);
	size_t n = 300 * 1024;
	uint8_t *a = malloc(n), *b = malloc(n), *o = malloc(n);
	pattern(a, n, 1);
	pattern(b, n, 2);
	ck_assert_uint_eq(transfer(&c, c.cli, c.srv, a, o, n, 10 * H_S, H_MS), n);
	ck_assert_mem_eq(a, o, n);
	ck_assert_uint_gt(c.se.readable, 0);
	ck_assert_uint_eq(transfer(&c, c.srv, c.cli, b, o, n, 10 * H_S, H_MS), n);
	ck_assert_mem_eq(b, o, n);
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpRetransSegs), 0);
	ck_assert_uint_eq(h_stat(c.n.b, STAT_TcpRetransSegs), 0);
	ck_assert_int_eq(tcp_recv(c.cli, o, 10), -EAGAIN);
	free(a);
	free(b);
	free(o);
	conn_teardown(&c);
}
END_TEST

START_TEST(close_active_then_passive)
{
	struct conn c;
	conn_setup(&c, 1500, NULL, NULL, 3);
	uint8_t buf[16];
	ck_assert_int_eq(tcp_send(c.cli, "bye", 3), 3);
	ck_assert_int_eq(tcp_shutdown(c.cli, SHUT_WR), 0);
	ck_assert_int_eq(tcp_sock_state(c.cli), TCP_STATE_FIN_WAIT_1);
	h_net_run(&c.n, 100 * H_MS, 0);
	ck_assert_int_eq(tcp_sock_state(c.cli), TCP_STATE_FIN_WAIT_2);
	ck_assert_int_eq(tcp_sock_state(c.srv), TCP_STATE_CLOSE_WAIT);
	ck_assert_int_eq(tcp_recv(c.srv, buf, sizeof(buf)), 3);
	ck_assert_int_eq(tcp_recv(c.srv, buf, sizeof(buf)), 0); /* EOF */
	/* half-closed: the server can still send */
	ck_assert_int_eq(tcp_send(c.srv, "ok", 2), 2);
	h_net_run(&c.n, 100 * H_MS, 0);
	ck_assert_int_eq(tcp_recv(c.cli, buf, sizeof(buf)), 2);
	tcp_close(c.srv);
	ck_assert_int_eq(h_stat(c.n.b, STAT_TcpCurrEstab), 0);
	h_net_run(&c.n, 100 * H_MS, 0);
	ck_assert_int_eq(tcp_sock_state(c.cli), TCP_STATE_TIME_WAIT);
	ck_assert_uint_eq(c.ce.closed, 1);
	ck_assert_int_eq(c.ce.err, 0);
	ck_assert_int_eq(tcp_recv(c.cli, buf, sizeof(buf)), 0);
	/* the server side (LAST-ACK) is gone once the FIN is acknowledged */
	ck_assert_uint_eq(c.n.b->tcp->nsocks, 1);
	ck_assert_uint_eq(h_stat(c.n.b, STAT_TcpEstabResets), 0);
	/* TIME-WAIT lasts 2MSL (60 s) */
	h_net_run(&c.n, 59 * H_S, 0);
	ck_assert_int_eq(tcp_sock_state(c.cli), TCP_STATE_TIME_WAIT);
	h_net_run(&c.n, 2 * H_S, 0);
	ck_assert_int_eq(tcp_sock_state(c.cli), TCP_STATE_CLOSED);
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpExtTW), 1);
	tcp_close(c.cli);
	tcp_close(c.ls);
	conn_teardown(&c);
}
END_TEST

START_TEST(close_passive_side_first)
{
	struct conn c;
	conn_setup(&c, 1500, NULL, NULL, 4);
	tcp_close(c.srv); /* server closes first: it goes through TIME-WAIT */
	h_net_run(&c.n, 10 * H_MS, 0);
	ck_assert_int_eq(tcp_sock_state(c.cli), TCP_STATE_CLOSE_WAIT);
	ck_assert_uint_ge(c.ce.readable, 1);
	uint8_t b[4];
	ck_assert_int_eq(tcp_recv(c.cli, b, 4), 0);
	tcp_close(c.cli);
	h_net_run(&c.n, 10 * H_MS, 0);
	ck_assert_uint_eq(h_stat(c.n.b, STAT_TcpCurrEstab), 0);
	ck_assert_uint_eq(c.n.b->tcp->ntime_wait, 1);
	ck_assert_uint_eq(c.n.a->tcp->nsocks, 0); /* LAST-ACK done, orphan freed */
	h_net_run(&c.n, 61 * H_S, 0);
	ck_assert_uint_eq(c.n.b->tcp->ntime_wait, 0);
	ck_assert_uint_eq(c.n.b->tcp->nsocks, 1); /* only the listener */
	conn_teardown(&c);
}
END_TEST

START_TEST(close_simultaneous)
{
	struct conn c;
	conn_setup(&c, 1500, NULL, NULL, 5);
	ck_assert_int_eq(tcp_shutdown(c.cli, SHUT_WR), 0);
	ck_assert_int_eq(tcp_shutdown(c.srv, SHUT_WR), 0);
	/* both FINs are on the wire before either arrives */
	ck_assert_int_eq(tcp_sock_state(c.cli), TCP_STATE_FIN_WAIT_1);
	ck_assert_int_eq(tcp_sock_state(c.srv), TCP_STATE_FIN_WAIT_1);
	h_net_run(&c.n, 10 * H_MS, 0);
	ck_assert_int_eq(tcp_sock_state(c.cli), TCP_STATE_TIME_WAIT);
	ck_assert_int_eq(tcp_sock_state(c.srv), TCP_STATE_TIME_WAIT);
	ck_assert_uint_eq(c.ce.closed, 1);
	ck_assert_uint_eq(c.se.closed, 1);
	ck_assert_int_eq(c.ce.err, 0);
	h_net_run(&c.n, 61 * H_S, 0);
	ck_assert_int_eq(tcp_sock_state(c.cli), TCP_STATE_CLOSED);
	ck_assert_int_eq(tcp_sock_state(c.srv), TCP_STATE_CLOSED);
	conn_teardown(&c);
}
END_TEST

START_TEST(simultaneous_open)
{
	struct h_net n;
	h_net_init(&n, 1500, NULL, NULL, 6);
	struct tcp_sock *a, *b;
	struct ev ea = { 0 }, eb = { 0 };
	ck_assert_int_eq(tcp_open(n.a, &ev_ops, &ea, &a), 0);
	ck_assert_int_eq(tcp_open(n.b, &ev_ops, &eb, &b), 0);
	ck_assert_int_eq(tcp_bind(a, (struct in_addr){ INADDR_ANY }, 5000), 0);
	ck_assert_int_eq(tcp_bind(b, (struct in_addr){ INADDR_ANY }, 6000), 0);
	ck_assert_int_eq(tcp_connect(a, h_ip(H_PEER_IP), 6000), 0);
	ck_assert_int_eq(tcp_connect(b, h_ip(H_HOST_IP), 5000), 0);
	h_net_run(&n, 3 * H_S, 0);
	ck_assert_int_eq(tcp_sock_state(a), TCP_STATE_ESTABLISHED);
	ck_assert_int_eq(tcp_sock_state(b), TCP_STATE_ESTABLISHED);
	ck_assert_uint_eq(ea.connected, 1);
	ck_assert_uint_eq(eb.connected, 1);
	ck_assert_uint_eq(h_stat(n.a, STAT_TcpExtTCPChallengeACK), 0);
	ck_assert_uint_eq(h_stat(n.a, STAT_TcpActiveOpens), 1);
	ck_assert_uint_eq(h_stat(n.a, STAT_TcpCurrEstab), 1);
	ck_assert_int_eq(tcp_send(a, "x", 1), 1);
	h_net_run(&n, 100 * H_MS, 0);
	uint8_t c;
	ck_assert_int_eq(tcp_recv(b, &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	h_net_fini(&n);
}
END_TEST

START_TEST(rst_closed_port)
{
	struct h_net n;
	h_net_init(&n, 1500, NULL, NULL, 7);
	struct tcp_sock *a;
	struct ev ea = { 0 };
	ck_assert_int_eq(tcp_open(n.a, &ev_ops, &ea, &a), 0);
	ck_assert_int_eq(tcp_connect(a, h_ip(H_PEER_IP), 9), 0);
	h_net_run(&n, 10 * H_MS, 0);
	ck_assert_uint_eq(ea.closed, 1);
	ck_assert_int_eq(ea.err, ECONNREFUSED);
	ck_assert_int_eq(tcp_sock_state(a), TCP_STATE_CLOSED);
	ck_assert_uint_eq(h_stat(n.b, STAT_TcpOutRsts), 1);
	ck_assert_uint_eq(h_stat(n.b, STAT_TcpExtInNoPort), 1);
	ck_assert_uint_eq(h_stat(n.a, STAT_TcpAttemptFails), 1);
	ck_assert_int_eq(tcp_send(a, "x", 1), -ECONNREFUSED);
	tcp_close(a);
	h_net_fini(&n);
}
END_TEST

START_TEST(rst_abort_and_unread_close)
{
	struct conn c;
	conn_setup(&c, 1500, NULL, NULL, 8);
	tcp_abort(c.cli);
	h_net_run(&c.n, 10 * H_MS, 0);
	ck_assert_uint_eq(c.se.closed, 1);
	ck_assert_int_eq(c.se.err, ECONNRESET);
	ck_assert_int_eq(tcp_sock_state(c.srv), TCP_STATE_CLOSED);
	ck_assert_uint_eq(h_stat(c.n.b, STAT_TcpEstabResets), 1);
	ck_assert_int_eq(tcp_recv(c.srv, NULL, 0), -ECONNRESET);
	tcp_close(c.srv);
	conn_teardown(&c);

	/* close() with unread data resets (RFC 2525 §2.17) */
	conn_setup(&c, 1500, NULL, NULL, 9);
	ck_assert_int_eq(tcp_send(c.cli, "data", 4), 4);
	h_net_run(&c.n, 100 * H_MS, 0);
	tcp_close(c.srv);
	h_net_run(&c.n, 10 * H_MS, 0);
	ck_assert_int_eq(c.ce.err, ECONNRESET);
	ck_assert_uint_eq(h_stat(c.n.b, STAT_TcpExtTCPAbortOnClose), 1);
	conn_teardown(&c);
}
END_TEST

/* Keepalive between two stacks: the server goes silent (frames from b dropped). */

START_TEST(keepalive_probes_and_timeout)
{
	struct conn c;
	conn_setup(&c, 1500, NULL, NULL, 10);
	ck_assert_int_eq(tcp_setopt(c.cli, TCP_SO_KEEPIDLE_S, 2), 0);
	ck_assert_int_eq(tcp_setopt(c.cli, TCP_SO_KEEPINTVL_S, 1), 0);
	ck_assert_int_eq(tcp_setopt(c.cli, TCP_SO_KEEPCNT, 3), 0);
	ck_assert_int_eq(tcp_setopt(c.cli, TCP_SO_KEEPALIVE, 1), 0);
	/* while the peer answers, probes keep the connection up */
	h_net_run(&c.n, 10 * H_S, 0);
	ck_assert_int_eq(tcp_sock_state(c.cli), TCP_STATE_ESTABLISHED);
	uint64_t probes = h_stat(c.n.a, STAT_TcpExtTCPKeepAliveProbes);
	ck_assert_uint_ge(probes, 4); /* one per 2 s idle, each answered */
	/* the peer goes silent */
	struct memnet_faults f = { .drop_ppm = 1000000 };
	memnet_set_faults(&c.n.pair.b, &f);
	uint64_t t0 = c.n.now_ns;
	uint64_t dead = 0;
	for (int i = 0; i < 100 && !dead; i++) {
		h_net_run(&c.n, 100 * H_MS, 0);
		if (c.ce.closed)
			dead = c.n.now_ns;
	}
	ck_assert_uint_eq(c.ce.closed, 1);
	ck_assert_int_eq(c.ce.err, ETIMEDOUT);
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpExtTCPKeepAliveProbes) - probes, 3);
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpExtTCPKeepAliveDrops), 1);
	/* the last answer came within 2 s before t0: the drop is 2 + 3 * 1 s after it */
	ck_assert_uint_ge(dead - t0, 3 * H_S);
	ck_assert_uint_le(dead - t0, 5 * H_S + 100 * H_MS);
	ck_assert_int_eq(tcp_recv(c.cli, NULL, 0), -ETIMEDOUT);
	conn_teardown(&c);
}
END_TEST

START_TEST(bulk_lossy_1mb)
{
	struct conn c;
	conn_setup(&c, 1500, NULL, NULL, 11);
	struct memnet_faults f = { .drop_ppm = 50000, .dup_ppm = 20000, .reorder_ppm = 50000 };
	if (getenv("TCP_TEST_FAULTS"))
		sscanf(getenv("TCP_TEST_FAULTS"), "%u,%u,%u", &f.drop_ppm, &f.dup_ppm,
		       &f.reorder_ppm);
	memnet_set_faults(&c.n.pair.a, &f);
	memnet_set_faults(&c.n.pair.b, &f);
	size_t n = 1024 * 1024;
	uint8_t *a = malloc(n), *o = malloc(n);
	pattern(a, n, 5);
	size_t got = transfer(&c, c.cli, c.srv, a, o, n, 600 * H_S, 5 * H_MS);
	if (getenv("TCP_TEST_DEBUG"))
		fprintf(stderr, "1MB: %.3f s virtual, retrans %lu, drops %lu, "
				"fastretrans %lu, rto %lu, ofo %lu\n",
			(double)c.n.now_ns / 1e9, (unsigned long)h_stat(c.n.a, STAT_TcpRetransSegs),
			(unsigned long)c.n.pair.a.stats.dropped,
			(unsigned long)h_stat(c.n.a, STAT_TcpExtTCPFastRetrans),
			(unsigned long)h_stat(c.n.a, STAT_TcpExtTCPTimeouts),
			(unsigned long)h_stat(c.n.b, STAT_TcpExtTCPOFOQueue));
	if (getenv("TCP_TEST_DEBUG"))
		fprintf(stderr, "rx: refused %lu outerr %lu ofodrop %lu rcvqdrop %lu oow %lu paws %lu\n",
			(unsigned long)c.n.pair.a.stats.refused,
			(unsigned long)h_stat(c.n.a, STAT_TcpExtTCPOutErrors),
			(unsigned long)h_stat(c.n.b, STAT_TcpExtTCPOFODrop),
			(unsigned long)h_stat(c.n.b, STAT_TcpExtTCPRcvQDrop),
			(unsigned long)h_stat(c.n.b, STAT_TcpExtOutOfWindow),
			(unsigned long)h_stat(c.n.b, STAT_TcpExtPAWSEstab));
	ck_assert_uint_eq(got, n);
	ck_assert_mem_eq(a, o, n);
	ck_assert_uint_gt(h_stat(c.n.a, STAT_TcpRetransSegs), 0);
	ck_assert_uint_gt(c.n.pair.a.stats.dropped, 0);
	/* SACK recovery resends what was lost, not whole windows */
	ck_assert_uint_le(h_stat(c.n.a, STAT_TcpRetransSegs), 2 * c.n.pair.a.stats.dropped + 10);
	ck_assert_uint_gt(h_stat(c.n.a, STAT_TcpExtTCPSackRecovery), 0);
	ck_assert_uint_lt(c.n.now_ns, 60 * H_S);
	ck_assert_uint_gt(c.n.pair.a.stats.duplicated, 0);
	ck_assert_uint_gt(c.n.pair.a.stats.reordered, 0);
	/* and back */
	pattern(a, n, 6);
	got = transfer(&c, c.srv, c.cli, a, o, n, 600 * H_S, 5 * H_MS);
	ck_assert_uint_eq(got, n);
	ck_assert_mem_eq(a, o, n);
	free(a);
	free(o);
	conn_teardown(&c);
}
END_TEST


/* ---- a hand-driven peer: the test is 10.0.0.2 and sees every segment ------------------ */

START_TEST(syn_rto_backoff_and_timeout)
{
	struct raw r;
	struct tcp_hdr h;
	size_t len;
	raw_open_syn(&r, NULL, &h, NULL);
	/* RFC 6298 §5.5: 1 s, then doubling; 6 retries as Linux */
	static const unsigned gaps_s[] = { 1, 2, 4, 8, 16, 32 };
	for (unsigned i = 0; i < 6; i++) {
		uint64_t dt = raw_wait(&r, &h, &len, 100 * H_S);
		ck_assert_uint_eq(dt, gaps_s[i] * H_S);
		ck_assert_uint_eq(h.flags, TCP_SYN);
	}
	ck_assert_uint_eq(r.e.closed, 0);
	h_host_advance(&r.h, 64 * H_S);
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, ETIMEDOUT);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpRetransSegs), 6);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpAttemptFails), 1);
	ck_assert(!raw_recv(&r, &h, &len, NULL));
	raw_fini(&r);
}
END_TEST

START_TEST(data_rto_backoff_and_karn)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	struct tcp_hdr h;
	size_t len;
	/* An RTT sample of 50 ms: send, wait, acknowledge. */
	ck_assert_int_eq(tcp_send(r.s, "a", 1), 1);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	h_host_advance(&r.h, 50 * H_MS);
	raw_send(&r, TCP_ACK, r.seq, h.seq + 1, 65535, NULL, NULL, 0);
	struct tcp_sock_info in;
	tcp_sock_get_info(r.s, &in);
	ck_assert_uint_ge(in.srtt_us, 40000);
	ck_assert_uint_le(in.srtt_us, 60000);
	/* RTO = SRTT + 4 RTTVAR = 50 + 100 = 150 -> the 200 ms floor */
	ck_assert_uint_eq(in.rto_ms, 200);
	ck_assert_int_eq(tcp_send(r.s, "bcd", 3), 3);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	uint32_t seq = h.seq;
	ck_assert_uint_eq(len, 3);
	static const unsigned gaps_ms[] = { 200, 400, 800, 1600, 3200 };
	for (unsigned i = 0; i < 5; i++) {
		uint64_t dt = raw_wait(&r, &h, &len, 10 * H_S);
		ck_assert_uint_eq(dt, gaps_ms[i] * H_MS);
		ck_assert_uint_eq(h.seq, seq);
		ck_assert_uint_eq(len, 3);
	}
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPTimeouts), 5);
	/* Karn: the ACK of a retransmitted segment gives no RTT sample. */
	h_host_advance(&r.h, 1000 * H_MS);
	raw_send(&r, TCP_ACK, r.seq, seq + 3, 65535, NULL, NULL, 0);
	tcp_sock_get_info(r.s, &in);
	ck_assert_uint_le(in.srtt_us, 60000);
	ck_assert_uint_eq(in.retransmits, 0); /* backoff reset */
	ck_assert_uint_eq(in.rto_ms, 200);
	ck_assert_uint_eq(r.s->timer[TCP_T_REXMT], 0);
	raw_fini(&r);
}
END_TEST

static void fill_and_collect(struct raw *r, size_t n, uint32_t *seqs, unsigned *nseg)
{
	uint8_t *d = malloc(n);
	pattern(d, n, 3);
	ck_assert_int_eq(tcp_send(r->s, d, n), (ssize_t)n);
	free(d);
	struct tcp_hdr h;
	size_t len;
	*nseg = 0;
	while (raw_recv(r, &h, &len, NULL))
		if (len > 0)
			seqs[(*nseg)++] = h.seq;
}

START_TEST(fast_retransmit_newreno)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	uint32_t seqs[64];
	unsigned n;
	fill_and_collect(&r, 20 * 1460, seqs, &n);
	ck_assert_uint_eq(n, 10); /* RFC 6928 initial window */
	/* Segment 2 is lost: ACK 1, then three duplicates. */
	raw_send(&r, TCP_ACK, r.seq, seqs[1], 65535, NULL, NULL, 0);
	struct tcp_hdr h;
	size_t len;
	uint32_t high = seqs[9];
	while (raw_recv(&r, &h, &len, NULL))
		high = h.seq; /* new data the ACK released (slow start) */
	for (int i = 0; i < 2; i++) {
		raw_send(&r, TCP_ACK, r.seq, seqs[1], 65535, NULL, NULL, 0);
		/* RFC 3042: each of the first two duplicates sends one new segment */
		ck_assert(raw_recv(&r, &h, &len, NULL));
		ck_assert(SEQ_GT(h.seq, high));
		ck_assert_uint_eq(len, 1460);
		high = h.seq;
		ck_assert(!raw_recv(&r, &h, &len, NULL));
	}
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPFastRetrans), 0);
	raw_send(&r, TCP_ACK, r.seq, seqs[1], 65535, NULL, NULL, 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPFastRetrans), 1);
	bool found = false;
	while (raw_recv(&r, &h, &len, NULL))
		if (h.seq == seqs[1] && len == 1460)
			found = true;
	ck_assert(found); /* no timer involved: the clock did not move */
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPTimeouts), 0);
	/* A partial ACK (up to segment 4) retransmits segment 4 (RFC 6582). */
	raw_send(&r, TCP_ACK, r.seq, seqs[3], 65535, NULL, NULL, 0);
	found = false;
	while (raw_recv(&r, &h, &len, NULL))
		if (h.seq == seqs[3])
			found = true;
	ck_assert(found);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPPartialAcks), 1);
	raw_fini(&r);
}
END_TEST

START_TEST(sack_recovery)
{
	struct raw r;
	struct tcp_opts o = { .has_mss = true, .mss = 1460, .sack_perm = true };
	raw_connect(&r, NULL, &o, 65535);
	ck_assert(r.s->sack_ok);
	uint32_t seqs[64];
	unsigned n;
	fill_and_collect(&r, 10 * 1460, seqs, &n);
	ck_assert_uint_eq(n, 10);
	/* Segments 2 and 5 lost; the peer SACKs what it got. */
	struct tcp_opts so = { .nsack = 1 };
	so.sack[0].left = seqs[2];
	so.sack[0].right = seqs[4];
	raw_send(&r, TCP_ACK, r.seq, seqs[1], 65535, &so, NULL, 0);
	so.nsack = 2;
	so.sack[0].left = seqs[5];
	so.sack[0].right = seqs[9] + 1460;
	so.sack[1].left = seqs[2];
	so.sack[1].right = seqs[4];
	raw_send(&r, TCP_ACK, r.seq, seqs[1], 65535, &so, NULL, 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPSackRecovery), 1);
	struct tcp_hdr h;
	size_t len;
	bool got1 = false, got4 = false, other = false;
	while (raw_recv(&r, &h, &len, NULL)) {
		if (len == 0)
			continue;
		if (h.seq == seqs[1])
			got1 = true;
		else if (h.seq == seqs[4])
			got4 = true;
		else if (SEQ_LT(h.seq, seqs[9] + 1460))
			other = true; /* a SACKed segment resent: wasteful */
	}
	ck_assert(got1);
	ck_assert(got4);
	ck_assert(!other);
	raw_fini(&r);
}
END_TEST

START_TEST(zero_window_probe)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 0);
	ck_assert_int_eq(tcp_send(r.s, "hello", 5), 5);
	struct tcp_hdr h;
	size_t len;
	ck_assert(!raw_recv(&r, &h, &len, NULL)); /* window closed: nothing sent */
	uint32_t una = r.ack;
	/* Probes: SEQ = SND.UNA - 1, no data, with backoff. */
	uint64_t gaps[4];
	for (int i = 0; i < 4; i++) {
		gaps[i] = raw_wait(&r, &h, &len, 120 * H_S);
		ck_assert_uint_ne(gaps[i], UINT64_MAX);
		ck_assert_uint_eq(len, 0);
		ck_assert_uint_eq(h.seq, una - 1);
		/* the peer answers with its window still closed */
		raw_send(&r, TCP_ACK, r.seq, una, 0, NULL, NULL, 0);
		ck_assert(!raw_recv(&r, &h, &len, NULL));
	}
	ck_assert_uint_eq(gaps[1], 2 * gaps[0]);
	ck_assert_uint_eq(gaps[2], 2 * gaps[1]);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPWinProbe), 4);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_ESTABLISHED);
	/* The window opens: the data goes. */
	raw_send(&r, TCP_ACK, r.seq, una, 1000, NULL, NULL, 0);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(len, 5);
	ck_assert_uint_eq(h.seq, una);
	raw_fini(&r);
}
END_TEST

START_TEST(rfc5961_rst_syn_ack_checks)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	struct tcp_hdr h;
	size_t len;
	/* RST in the window but not at RCV.NXT: challenge ACK, connection stays. */
	raw_send(&r, TCP_RST, r.seq + 100, 0, 0, NULL, NULL, 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_ESTABLISHED);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.flags, TCP_ACK);
	ck_assert_uint_eq(h.ack, r.seq);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPChallengeACK), 1);
	/* RST outside the window: ignored silently. */
	raw_send(&r, TCP_RST, r.seq + 10000000, 0, 0, NULL, NULL, 0);
	ck_assert(!raw_recv(&r, &h, &len, NULL));
	/* SYN on an established connection: challenge ACK (RFC 5961 §4), once the
	 * per-connection limit (one per 500 ms) allows another. */
	h_host_advance(&r.h, 500 * H_MS);
	struct tcp_opts o = { .has_mss = true, .mss = 1000 };
	raw_send(&r, TCP_SYN, r.seq + 5, 0, 1000, &o, NULL, 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_ESTABLISHED);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.flags, TCP_ACK);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPChallengeACK), 2);
	/* An ACK for data never sent (RFC 5961 §5). */
	raw_send(&r, TCP_ACK, r.seq, r.ack + 5000, 65535, NULL, "zz", 2);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPAckTooNew), 1);
	ck_assert_int_eq(tcp_recv(r.s, (uint8_t[4]){ 0 }, 4), -EAGAIN); /* data dropped */
	/* Out-of-window data: an ACK, nothing delivered. */
	while (raw_recv(&r, &h, &len, NULL))
		;
	raw_send(&r, TCP_ACK, r.seq + 3000000, r.ack, 65535, NULL, "zz", 2);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.ack, r.seq);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtOutOfWindow), 2); /* with the RST above */
	/* The exact RST resets. */
	raw_send(&r, TCP_RST, r.seq, 0, 0, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, ECONNRESET);
	raw_fini(&r);
}
END_TEST

START_TEST(challenge_ack_rate_limit)
{
	struct stack_config cfg;
	stack_config_defaults(&cfg);
	cfg.addr = h_ip(H_HOST_IP);
	cfg.tcp_challenge_ack_limit = 5;
	struct raw r;
	raw_connect(&r, &cfg, NULL, 65535);
	/* One connection gets one challenge ACK per 500 ms (the global budget, random
	 * per second, is tested in test_tcp_recv.c). */
	for (int i = 0; i < 20; i++)
		raw_send(&r, TCP_RST, r.seq + 100 + (uint32_t)i, 0, 0, NULL, NULL, 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPChallengeACK), 1);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPACKSkippedChallenge), 19);
	ck_assert_uint_eq(h_host_drain(&r.h), 1);
	h_host_advance(&r.h, H_S);
	raw_send(&r, TCP_RST, r.seq + 100, 0, 0, NULL, NULL, 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPChallengeACK), 2);
	raw_fini(&r);
}
END_TEST

START_TEST(paws_drops_old_timestamp)
{
	struct raw r;
	struct tcp_opts o = { .has_mss = true, .mss = 1460, .has_ts = true, .tsval = 5000 };
	raw_connect(&r, NULL, &o, 65535);
	ck_assert(r.s->ts_ok);
	struct tcp_opts t = { .has_ts = true, .tsval = 6000 };
	raw_send(&r, TCP_ACK | TCP_PSH, r.seq, r.ack, 65535, &t, "ab", 2);
	r.seq += 2;
	uint8_t b[8];
	ck_assert_int_eq(tcp_recv(r.s, b, 8), 2);
	t.tsval = 5500; /* older than TS.Recent: a segment from a previous incarnation */
	raw_send(&r, TCP_ACK | TCP_PSH, r.seq, r.ack, 65535, &t, "cd", 2);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtPAWSEstab), 1);
	ck_assert_int_eq(tcp_recv(r.s, b, 8), -EAGAIN);
	t.tsval = 6001;
	raw_send(&r, TCP_ACK | TCP_PSH, r.seq, r.ack, 65535, &t, "cd", 2);
	ck_assert_int_eq(tcp_recv(r.s, b, 8), 2);
	raw_fini(&r);
}
END_TEST

START_TEST(syn_cookies_under_flood)
{
	struct stack_config cfg;
	stack_config_defaults(&cfg);
	cfg.addr = h_ip(H_HOST_IP);
	cfg.tcp_syn_backlog = 4;
	struct raw r;
	raw_listen(&r, &cfg, 64);
	struct tcp_opts o = { .has_mss = true, .mss = 1460 };
	uint32_t cookie = 0;
	uint16_t cookie_port = 0;
	for (unsigned i = 0; i < 50; i++) {
		r.dport = (uint16_t)(20000 + i);
		raw_send(&r, TCP_SYN, 7000 + i, 0, 65535, &o, NULL, 0);
		struct tcp_hdr h;
		size_t len;
		ck_assert(raw_recv(&r, &h, &len, NULL));
		ck_assert_uint_eq(h.flags, TCP_SYN | TCP_ACK);
		ck_assert_uint_eq(h.ack, 7000 + i + 1);
		if (i == 30) {
			cookie = h.seq;
			cookie_port = r.dport;
		}
	}
	ck_assert_uint_eq(r.ls->syn_len, 4); /* the queue stayed bounded */
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtSyncookiesSent), 46);
	ck_assert_uint_eq(r.h.st->tcp->nsocks, 5);
	/* A forged ACK does not pass. */
	r.dport = cookie_port;
	raw_send(&r, TCP_ACK, 7031, cookie + 2, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtSyncookiesFailed), 1);
	struct tcp_hdr h;
	size_t len;
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert(h.flags & TCP_RST);
	/* The real ACK, with data, makes the connection. */
	raw_send(&r, TCP_ACK | TCP_PSH, 7031, cookie + 1, 65535, NULL, "hi", 2);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtSyncookiesRecv), 1);
	ck_assert_uint_eq(r.le.accept_ready, 1);
	struct tcp_sock *c;
	ck_assert_int_eq(tcp_accept(r.ls, &ev_ops, &r.e, &c), 0);
	ck_assert_int_eq(tcp_sock_state(c), TCP_STATE_ESTABLISHED);
	uint8_t b[4];
	ck_assert_int_eq(tcp_recv(c, b, 4), 2);
	ck_assert_mem_eq(b, "hi", 2);
	ck_assert_int_eq(tcp_send(c, "yo", 2), 2);
	do
		ck_assert(raw_recv(&r, &h, &len, NULL));
	while (len == 0);
	ck_assert_uint_eq(h.seq, cookie + 1);
	ck_assert_uint_eq(h.ack, 7031 + 2);
	ck_assert_uint_eq(len, 2);
	raw_fini(&r);
}
END_TEST

START_TEST(pmtud_lowers_mss)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	uint8_t *d = malloc(4000);
	pattern(d, 4000, 9);
	ck_assert_int_eq(tcp_send(r.s, d, 4000), 4000);
	uint8_t frame[2200];
	struct tcp_hdr h;
	size_t len;
	ck_assert(raw_recv(&r, &h, &len, frame));
	ck_assert_uint_eq(len, 1460);
	ck_assert(frame[14 + 6] & 0x40); /* DF */
	while (raw_recv(&r, &h, &len, NULL))
		;
	/* A router says: fragmentation needed, next-hop MTU 1000 (RFC 1191). */
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
	h_host_input(&r.h, f2, n);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPPMTUUpdates), 1);
	unsigned segs = 0;
	while (raw_recv(&r, &h, &len, NULL)) {
		ck_assert_uint_le(len, 960);
		segs++;
	}
	ck_assert_uint_gt(segs, 0);
	struct tcp_sock_info in;
	tcp_sock_get_info(r.s, &in);
	ck_assert_uint_eq(in.mss, 960);
	free(d);
	raw_fini(&r);
}
END_TEST

START_TEST(time_wait_limit)
{
	struct stack_config ca;
	stack_config_defaults(&ca);
	ca.addr = h_ip(H_HOST_IP);
	ca.tcp_max_time_wait = 1;
	struct h_net n;
	h_net_init(&n, 1500, &ca, NULL, 12);
	struct tcp_sock *ls, *a[2], *b[2];
	struct ev e = { 0 };
	ck_assert_int_eq(tcp_open(n.b, &ev_ops, &e, &ls), 0);
	ck_assert_int_eq(tcp_listen(ls, 0), 0);
	struct tcp_sock_info li;
	tcp_sock_get_info(ls, &li);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(tcp_open(n.a, &ev_ops, &e, &a[i]), 0);
		ck_assert_int_eq(tcp_connect(a[i], h_ip(H_PEER_IP), li.lport), 0);
		h_net_run(&n, 10 * H_MS, 0);
		ck_assert_int_eq(tcp_accept(ls, &ev_ops, &e, &b[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		tcp_close(a[i]); /* a closes first: a would hold TIME-WAIT */
		h_net_run(&n, 10 * H_MS, 0);
		tcp_close(b[i]);
		h_net_run(&n, 10 * H_MS, 0);
	}
	ck_assert_uint_eq(n.a->tcp->ntime_wait, 1);
	ck_assert_uint_eq(h_stat(n.a, STAT_TcpExtTimeWaitOverflow), 1);
	ck_assert_uint_eq(n.a->tcp->nsocks, 1);
	h_net_run(&n, 61 * H_S, 0);
	ck_assert_uint_eq(n.a->tcp->nsocks, 0);
	h_net_fini(&n);
}
END_TEST

START_TEST(user_timeout)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_USER_TIMEOUT_MS, 3000), 0);
	ck_assert_int_eq(tcp_send(r.s, "x", 1), 1);
	uint64_t t0 = r.h.now_ns;
	while (!r.e.closed && r.h.now_ns - t0 < 20 * H_S)
		h_host_advance(&r.h, 10 * H_MS);
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, ETIMEDOUT);
	ck_assert_uint_ge(r.h.now_ns - t0, 3 * H_S);
	ck_assert_uint_le(r.h.now_ns - t0, 7 * H_S);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPAbortOnUserTimeout), 1);
	raw_fini(&r);
}
END_TEST

START_TEST(delayed_ack)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	struct tcp_hdr h;
	size_t len;
	uint8_t d[1460];
	pattern(d, sizeof(d), 1);
	/* one full segment: the ACK waits 40 ms */
	raw_send(&r, TCP_ACK, r.seq, r.ack, 65535, NULL, d, 1460);
	r.seq += 1460;
	ck_assert(!raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(raw_wait(&r, &h, &len, H_S), 40 * H_MS);
	ck_assert_uint_eq(h.ack, r.seq);
	/* two full segments: ACKed at once */
	raw_send(&r, TCP_ACK, r.seq, r.ack, 65535, NULL, d, 1460);
	r.seq += 1460;
	raw_send(&r, TCP_ACK, r.seq, r.ack, 65535, NULL, d, 1460);
	r.seq += 1460;
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.ack, r.seq);
	/* out of order: an immediate duplicate ACK with a SACK block... none without SACK */
	raw_send(&r, TCP_ACK, r.seq + 1460, r.ack, 65535, NULL, d, 1460);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.ack, r.seq);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPOFOQueue), 1);
	/* the hole filled: an immediate ACK for everything */
	raw_send(&r, TCP_ACK, r.seq, r.ack, 65535, NULL, d, 1460);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.ack, r.seq + 2920);
	raw_fini(&r);
}
END_TEST

START_TEST(nagle_and_nodelay)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	struct tcp_hdr h;
	size_t len;
	ck_assert_int_eq(tcp_send(r.s, "a", 1), 1);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(len, 1);
	/* with one small segment unacknowledged, Nagle holds the next */
	ck_assert_int_eq(tcp_send(r.s, "b", 1), 1);
	ck_assert_int_eq(tcp_send(r.s, "c", 1), 1);
	ck_assert(!raw_recv(&r, &h, &len, NULL));
	raw_send(&r, TCP_ACK, r.seq, r.ack + 1, 65535, NULL, NULL, 0);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(len, 2); /* coalesced */
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_NODELAY, 1), 0);
	ck_assert_int_eq(tcp_send(r.s, "d", 1), 1);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(len, 1);
	raw_fini(&r);
}
END_TEST

START_TEST(send_buffer_backpressure)
{
	struct stack_config cfg;
	stack_config_defaults(&cfg);
	cfg.addr = h_ip(H_HOST_IP);
	cfg.tcp_sndbuf = 8192;
	struct raw r;
	raw_connect(&r, &cfg, NULL, 0);
	uint8_t d[10000];
	pattern(d, sizeof(d), 2);
	ck_assert_int_eq(tcp_send(r.s, d, sizeof(d)), 8192);
	ck_assert_int_eq(tcp_send(r.s, d, 10), -EAGAIN);
	ck_assert_uint_eq(tcp_send_space(r.s), 0);
	raw_send(&r, TCP_ACK, r.seq, r.ack, 65535, NULL, NULL, 0);
	struct tcp_hdr h;
	size_t len, total = 0;
	while (raw_recv(&r, &h, &len, NULL))
		total += len;
	ck_assert_uint_eq(total, 5 * 1460); /* Nagle holds the short tail */
	ck_assert_uint_eq(r.e.writable, 0);
	raw_send(&r, TCP_ACK, r.seq, r.ack + 4096, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.writable, 1);
	ck_assert_uint_eq(tcp_send_space(r.s), 4096);
	raw_send(&r, TCP_ACK, r.seq, r.ack + 5 * 1460, 65535, NULL, NULL, 0);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(len, 8192 - 5 * 1460);
	raw_fini(&r);
}
END_TEST

START_TEST(keepalive_probe_format_and_spacing)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_KEEPIDLE_S, 2), 0);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_KEEPINTVL_S, 1), 0);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_KEEPCNT, 3), 0);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_KEEPALIVE, 1), 0);
	struct tcp_hdr h;
	size_t len;
	uint64_t t0 = r.h.now_ns;
	/* design.md §2: SEQ = SND.NXT - 1, no data; at idle, then every interval */
	static const uint64_t at[] = { 2 * H_S, 3 * H_S, 4 * H_S };
	for (int i = 0; i < 3; i++) {
		uint64_t dt = raw_wait(&r, &h, &len, 10 * H_S);
		ck_assert_uint_ne(dt, UINT64_MAX);
		ck_assert_uint_eq(r.h.now_ns - t0, at[i]);
		ck_assert_uint_eq(h.seq, r.ack - 1);
		ck_assert_uint_eq(len, 0);
		ck_assert_uint_eq(h.flags, TCP_ACK);
		ck_assert_uint_eq(r.e.closed, 0);
	}
	/* after the last unanswered probe's interval: RST and ETIMEDOUT */
	uint64_t dt = raw_wait(&r, &h, &len, 10 * H_S);
	ck_assert_uint_eq(r.h.now_ns - t0, 5 * H_S);
	ck_assert(h.flags & TCP_RST);
	(void)dt;
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, ETIMEDOUT);
	raw_fini(&r);

	/* An answer resets the count: the connection survives. */
	raw_connect(&r, NULL, NULL, 65535);
	tcp_setopt(r.s, TCP_SO_KEEPIDLE_S, 2);
	tcp_setopt(r.s, TCP_SO_KEEPINTVL_S, 1);
	tcp_setopt(r.s, TCP_SO_KEEPCNT, 3);
	tcp_setopt(r.s, TCP_SO_KEEPALIVE, 1);
	for (int i = 0; i < 10; i++) {
		ck_assert_uint_ne(raw_wait(&r, &h, &len, 10 * H_S), UINT64_MAX);
		ck_assert_uint_eq(h.seq, r.ack - 1);
		raw_send(&r, TCP_ACK, r.seq, r.ack, 65535, NULL, NULL, 0);
	}
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_ESTABLISHED);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPKeepAliveProbes), 10);
	raw_fini(&r);
}
END_TEST

START_TEST(receive_window_update)
{
	struct stack_config cfg;
	stack_config_defaults(&cfg);
	cfg.addr = h_ip(H_HOST_IP);
	cfg.tcp_rcvbuf = 4096;
	struct raw r;
	raw_connect(&r, &cfg, NULL, 65535);
	struct tcp_hdr h;
	size_t len;
	uint8_t d[4096];
	pattern(d, sizeof(d), 4);
	raw_send(&r, TCP_ACK, r.seq, r.ack, 65535, NULL, d, 1460);
	raw_send(&r, TCP_ACK, r.seq + 1460, r.ack, 65535, NULL, d + 1460, 1460);
	raw_send(&r, TCP_ACK | TCP_PSH, r.seq + 2920, r.ack, 65535, NULL, d + 2920, 1176);
	r.seq += 4096;
	h_host_advance(&r.h, 50 * H_MS);
	uint32_t last_wnd = 1;
	while (raw_recv(&r, &h, &len, NULL))
		last_wnd = h.wnd;
	ck_assert_uint_eq(last_wnd, 0); /* full */
	/* more data is refused but acknowledged */
	raw_send(&r, TCP_ACK, r.seq, r.ack, 65535, NULL, d, 100);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.ack, r.seq);
	ck_assert_uint_eq(h.wnd, 0);
	/* a small read opens less than min(buf/2, MSS): no update (receiver SWS) */
	uint8_t b[4096];
	ck_assert_int_eq(tcp_recv(r.s, b, 100), 100);
	ck_assert(!raw_recv(&r, &h, &len, NULL));
	/* reading the rest: a window update goes out */
	ck_assert_int_eq(tcp_recv(r.s, b + 100, sizeof(b) - 100), 3996);
	ck_assert_mem_eq(b, d, 4096);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.ack, r.seq);
	ck_assert_uint_eq(h.wnd, 4096);
	raw_fini(&r);
}
END_TEST

START_TEST(listen_backlog_bounded)
{
	struct raw r;
	raw_listen(&r, NULL, 2);
	struct tcp_hdr h;
	size_t len;
	uint32_t isn[3];
	for (unsigned i = 0; i < 3; i++) {
		r.dport = (uint16_t)(30000 + i);
		raw_send(&r, TCP_SYN, 100, 0, 65535, NULL, NULL, 0);
		ck_assert(raw_recv(&r, &h, &len, NULL));
		ck_assert_uint_eq(h.flags, TCP_SYN | TCP_ACK);
		isn[i] = h.seq;
	}
	for (unsigned i = 0; i < 3; i++) {
		r.dport = (uint16_t)(30000 + i);
		raw_send(&r, TCP_ACK, 101, isn[i] + 1, 65535, NULL, NULL, 0);
	}
	/* two accepted into the queue; the third stays half-open */
	ck_assert_uint_eq(r.le.accept_ready, 2);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtListenOverflows), 1);
	/* a new SYN is dropped while the accept queue is full */
	r.dport = 30010;
	raw_send(&r, TCP_SYN, 100, 0, 65535, NULL, NULL, 0);
	ck_assert(!raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtListenOverflows), 2);
	struct tcp_sock *c;
	ck_assert_int_eq(tcp_accept(r.ls, &ev_ops, &r.e, &c), 0);
	tcp_close(c);
	/* SYN-ACK retransmission lets the third complete now */
	r.dport = 30002;
	ck_assert_uint_ne(raw_wait(&r, &h, &len, 3 * H_S), UINT64_MAX);
	while (!(h.flags & TCP_SYN))
		ck_assert_uint_ne(raw_wait(&r, &h, &len, 3 * H_S), UINT64_MAX);
	raw_send(&r, TCP_ACK, 101, h.seq + 1, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.le.accept_ready, 3);
	/* closing the listener resets what was never accepted */
	h_host_drain(&r.h);
	tcp_close(r.ls);
	unsigned rsts = 0;
	while (raw_recv(&r, &h, &len, NULL))
		rsts += (h.flags & TCP_RST) != 0;
	ck_assert_uint_eq(rsts, 2);
	ck_assert_uint_eq(r.h.st->tcp->nsocks, 1); /* the accepted one, closing */
	raw_fini(&r);
}
END_TEST

START_TEST(syn_sent_reset_rules)
{
	struct raw r;
	struct tcp_hdr h;
	size_t len;
	raw_open_syn(&r, NULL, &h, NULL);
	r.sport = h.sport;
	uint32_t iss = h.seq;
	/* an ACK for something else: we answer RST <SEQ=SEG.ACK> and stay */
	raw_send(&r, TCP_SYN | TCP_ACK, 500, iss + 100, 65535, NULL, NULL, 0);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.flags, TCP_RST);
	ck_assert_uint_eq(h.seq, iss + 100);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_SYN_SENT);
	/* a RST without an acceptable ACK is ignored */
	raw_send(&r, TCP_RST, 0, 0, 0, NULL, NULL, 0);
	raw_send(&r, TCP_RST | TCP_ACK, 0, iss + 7, 0, NULL, NULL, 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_SYN_SENT);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtSynSentBadSegs), 3);
	/* with it: refused */
	raw_send(&r, TCP_RST | TCP_ACK, 0, iss + 1, 0, NULL, NULL, 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_CLOSED);
	ck_assert_int_eq(r.e.err, ECONNREFUSED);
	raw_fini(&r);
}
END_TEST

START_TEST(fin_retransmitted_and_time_wait_acks)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	struct tcp_hdr h;
	size_t len;
	ck_assert_int_eq(tcp_shutdown(r.s, SHUT_WR), 0);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.flags, TCP_ACK | TCP_FIN);
	uint32_t fin = h.seq;
	/* lost: the FIN comes again after the RTO */
	ck_assert_uint_ne(raw_wait(&r, &h, &len, 5 * H_S), UINT64_MAX);
	ck_assert_uint_eq(h.flags, TCP_ACK | TCP_FIN);
	ck_assert_uint_eq(h.seq, fin);
	/* the peer ACKs it and sends its FIN: TIME-WAIT */
	raw_send(&r, TCP_ACK | TCP_FIN, r.seq, fin + 1, 65535, NULL, NULL, 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_TIME_WAIT);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.ack, r.seq + 1);
	/* our ACK was lost: the peer's FIN again gets another ACK, 2MSL restarts */
	h_host_advance(&r.h, 30 * H_S);
	raw_send(&r, TCP_ACK | TCP_FIN, r.seq, fin + 1, 65535, NULL, NULL, 0);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.ack, r.seq + 1);
	h_host_advance(&r.h, 59 * H_S);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_TIME_WAIT);
	h_host_advance(&r.h, 2 * H_S);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_CLOSED);
	/* after TIME-WAIT the port answers with RST */
	raw_send(&r, TCP_ACK, r.seq + 1, fin + 1, 65535, NULL, NULL, 0);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert(h.flags & TCP_RST);
	raw_fini(&r);
}
END_TEST

/* Random segments at an established connection: no crash, invariants hold (run under
 * ASan/UBSan to mean something). */
START_TEST(random_segments_keep_invariants)
{
	struct raw r;
	struct tcp_opts so = { .has_mss = true, .mss = 1460, .sack_perm = true, .has_ts = true,
			       .tsval = 1, .has_ws = true, .ws = 3 };
	raw_connect(&r, NULL, &so, 65535);
	struct rng g;
	uint8_t seed[32] = { (uint8_t)_i + 1 };
	rng_seed(&g, seed);
	uint8_t d[1500];
	pattern(d, sizeof(d), 7);
	uint8_t b[4096];
	struct tcp_hdr h;
	size_t len;
	int it;
	for (it = 0; it < 20000 && tcp_sock_state(r.s) != TCP_STATE_CLOSED; it++) {
		uint32_t x = rng_u32(&g);
		uint8_t flags = (uint8_t)(x & 0x3f);
		if ((x >> 6) % 4 != 0)
			flags = (uint8_t)((flags & ~(TCP_SYN | TCP_RST)) | TCP_ACK);
		uint32_t seq = r.seq + (uint32_t)((int32_t)(rng_u32(&g) % 200000) - 100000);
		if (rng_below(&g, 2))
			seq = r.seq + rng_below(&g, 3000);
		uint32_t ack = r.ack + (uint32_t)((int32_t)(rng_u32(&g) % 200000) - 100000);
		if (rng_below(&g, 2))
			ack = r.s->snd_una + rng_below(&g, r.s->snd_max - r.s->snd_una + 1);
		struct tcp_opts o = { 0 };
		if (rng_below(&g, 2)) {
			o.has_ts = true;
			o.tsval = (uint32_t)it + rng_below(&g, 3) - 1;
			o.tsecr = rng_u32(&g);
		}
		o.nsack = (uint8_t)rng_below(&g, 4);
		for (int k = 0; k < o.nsack; k++) {
			o.sack[k].left = r.s->snd_una + rng_below(&g, 40000) - 5000;
			o.sack[k].right = o.sack[k].left + rng_below(&g, 5000);
		}
		size_t n = rng_below(&g, 4) == 0 ? 0 : rng_below(&g, 1400);
		raw_send(&r, flags, seq, ack, (uint16_t)rng_u32(&g), &o, d, n);
		if (rng_below(&g, 8) == 0)
			(void)tcp_send(r.s, d, rng_below(&g, 1500));
		if (rng_below(&g, 8) == 0)
			(void)tcp_recv(r.s, b, sizeof(b));
		if (rng_below(&g, 16) == 0)
			h_host_advance(&r.h, rng_below(&g, 300) * H_MS);
		while (raw_recv(&r, &h, &len, NULL))
			;
		if (rng_below(&g, 50) == 0) {
			/* sometimes the peer behaves: a valid ACK and in-order data */
			raw_send(&r, TCP_ACK, r.seq, r.s->snd_max, 65535, NULL, d, 10);
			r.seq += 10;
		}
		struct tcp_sock *s = r.s;
		if (tcp_sock_state(s) == TCP_STATE_CLOSED)
			break;
		ck_assert(SEQ_LEQ(s->snd_una, s->snd_nxt));
		ck_assert(SEQ_LEQ(s->snd_nxt, s->snd_max));
		ck_assert_uint_le(ring_used(&s->rcvbuf), s->rcvbuf.cap);
		ck_assert_uint_le(ring_used(&s->sndbuf), s->sndbuf.cap);
		ck_assert_uint_le(s->nsacked, TCP_SACK_SB_MAX);
		for (unsigned k = 0; k < s->nsacked; k++) {
			/* the scoreboard: sorted, disjoint, inside the flight */
			ck_assert(SEQ_LT(s->sacked[k].left, s->sacked[k].right));
			ck_assert(SEQ_GEQ(s->sacked[k].left, s->snd_una));
			if (k > 0)
				ck_assert(SEQ_GT(s->sacked[k].left, s->sacked[k - 1].right));
		}
		ck_assert(SEQ_LEQ(s->snd_buf_seq, s->snd_una + 1));
	}
	if (getenv("TCP_TEST_DEBUG"))
		fprintf(stderr, "random: %d iterations, state %s, in %lu, chack %lu, paws %lu\n",
			it,
			tcp_state_name(tcp_sock_state(r.s)),
			(unsigned long)h_stat(r.h.st, STAT_TcpInSegs),
			(unsigned long)h_stat(r.h.st, STAT_TcpExtTCPChallengeACK),
			(unsigned long)h_stat(r.h.st, STAT_TcpExtPAWSEstab));
	raw_fini(&r);
}
END_TEST

START_TEST(icmp_unreachable_fails_connect)
{
	struct raw r;
	uint8_t frame[2200];
	struct tcp_hdr h;
	raw_open_syn(&r, NULL, &h, frame);
	/* a quote with a SEQ outside the flight is ignored (RFC 5927 §4.1) */
	uint8_t icmp[8 + 28];
	memset(icmp, 0, sizeof(icmp));
	icmp[0] = 3;
	icmp[1] = 3; /* port unreachable */
	memcpy(icmp + 8, frame + 14, 28);
	icmp[8 + 20 + 4] ^= 0x80;
	uint16_t ck = csum_buf(icmp, sizeof(icmp));
	memcpy(icmp + 2, &ck, 2);
	uint8_t f2[200];
	size_t n = h_frame_ipv4(f2, IPV4_PROTO_ICMP, 1, 0, false, icmp, sizeof(icmp));
	h_host_input(&r.h, f2, n);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_SYN_SENT);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPIcmpIgnored), 1);
	/* the real quote fails the connect at once */
	icmp[8 + 20 + 4] ^= 0x80;
	icmp[2] = icmp[3] = 0;
	ck = csum_buf(icmp, sizeof(icmp));
	memcpy(icmp + 2, &ck, 2);
	n = h_frame_ipv4(f2, IPV4_PROTO_ICMP, 2, 0, false, icmp, sizeof(icmp));
	h_host_input(&r.h, f2, n);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_CLOSED);
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, ECONNREFUSED);
	raw_fini(&r);
}
END_TEST

START_TEST(retransmission_limit_times_out)
{
	struct stack_config cfg;
	stack_config_defaults(&cfg);
	cfg.addr = h_ip(H_HOST_IP);
	cfg.tcp_retries2 = 3;
	struct raw r;
	raw_connect(&r, &cfg, NULL, 65535);
	ck_assert_int_eq(tcp_send(r.s, "abc", 3), 3);
	uint64_t t0 = r.h.now_ns;
	while (!r.e.closed && r.h.now_ns - t0 < 60 * H_S)
		h_host_advance(&r.h, 10 * H_MS);
	ck_assert_int_eq(r.e.err, ETIMEDOUT);
	/* three retransmissions allowed: the fourth expiry gives up */
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPTimeouts), 4);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPAbortOnTimeout), 1);
	struct tcp_hdr h;
	size_t len;
	unsigned data = 0, rst = 0;
	while (raw_recv(&r, &h, &len, NULL)) {
		data += len == 3;
		rst += (h.flags & TCP_RST) != 0;
	}
	ck_assert_uint_eq(data, 4); /* the original and three retransmissions */
	ck_assert_uint_eq(rst, 1);
	ck_assert_int_eq(tcp_send(r.s, "x", 1), -ETIMEDOUT);
	raw_fini(&r);
}
END_TEST

START_TEST(shutdown_semantics)
{
	struct conn c;
	conn_setup(&c, 1500, NULL, NULL, 13);
	ck_assert_int_eq(tcp_shutdown(c.cli, 99), -EINVAL);
	ck_assert_int_eq(tcp_shutdown(c.cli, SHUT_WR), 0);
	ck_assert_int_eq(tcp_send(c.cli, "x", 1), -EPIPE);
	ck_assert_int_eq(tcp_shutdown(c.cli, SHUT_WR), 0); /* idempotent */
	h_net_run(&c.n, 10 * H_MS, 0);
	ck_assert_int_eq(tcp_send(c.srv, "late", 4), 4);
	h_net_run(&c.n, 10 * H_MS, 0);
	uint8_t b[8];
	ck_assert_int_eq(tcp_recv(c.cli, b, 8), 4);
	struct tcp_sock *x;
	ck_assert_int_eq(tcp_accept(c.cli, &ev_ops, NULL, &x), -EINVAL);
	ck_assert_int_eq(tcp_listen(c.cli, 1), -EINVAL);
	ck_assert_int_eq(tcp_connect(c.cli, h_ip(H_PEER_IP), 1), -EISCONN);
	ck_assert_int_eq(tcp_recv(c.ls, b, 8), -ENOTCONN);
	/* a second listener on the same port is refused */
	struct tcp_sock *l2;
	ck_assert_int_eq(tcp_open(c.n.b, &ev_ops, NULL, &l2), 0);
	ck_assert_int_eq(tcp_bind(l2, (struct in_addr){ INADDR_ANY }, SRV_PORT), -EADDRINUSE);
	ck_assert_int_eq(tcp_bind(l2, h_ip("10.9.9.9"), 1234), -EADDRNOTAVAIL);
	tcp_close(l2);
	ck_assert_uint_eq(c.n.b->tcp->nsocks, 2); /* the listener and the connection */
	conn_teardown(&c);
}
END_TEST

static int count_sock(void *ctx, const struct tcp_sock *s)
{
	struct tcp_sock_info in;
	tcp_sock_get_info(s, &in);
	ck_assert_int_eq(in.state, TCP_STATE_CLOSED);
	(*(unsigned *)ctx)++;
	return 0;
}

START_TEST(timer_heap_matches_brute_force)
{
	struct h_net n;
	h_net_init(&n, 1500, NULL, NULL, 14);
	enum { N = 300 };
	struct tcp_sock *s[N];
	struct rng g;
	uint8_t seed[32] = { 3 };
	rng_seed(&g, seed);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(tcp_open(n.a, &ev_ops, NULL, &s[i]), 0);
	unsigned cnt = 0;
	ck_assert_int_eq(tcp_foreach(n.a, count_sock, &cnt), 0);
	ck_assert_uint_eq(cnt, N);
	for (int it = 0; it < 5000; it++) {
		struct tcp_sock *x = s[rng_below(&g, N)];
		enum tcp_timer t = (enum tcp_timer)rng_below(&g, TCP_T_COUNT);
		if (rng_below(&g, 3) == 0)
			tcp_timer_stop(x, t);
		else
			tcp_timer_set(x, t, 10 * H_S + rng_below(&g, 1000000));
		uint64_t min = UINT64_MAX;
		for (int i = 0; i < N; i++)
			for (int k = 0; k < TCP_T_COUNT; k++)
				if (s[i]->timer[k] && s[i]->timer[k] < min)
					min = s[i]->timer[k];
		ck_assert_uint_eq(tcp_next_deadline(n.a), min);
	}
	for (int i = 0; i < N; i++)
		tcp_timer_stop_all(s[i]);
	ck_assert_uint_eq(tcp_next_deadline(n.a), UINT64_MAX);
	h_net_fini(&n);
}
END_TEST

/* ---- review findings (each test failed before its fix) -------------------------------- */

/* RFC 7323 §2.2: the window of a segment with SYN set is never scaled, also when the
 * SYN-ACK carries data (it then goes on through the synchronized-state code). */
START_TEST(synack_with_data_window_unscaled)
{
	struct raw r;
	struct tcp_hdr h;
	raw_open_syn(&r, NULL, &h, NULL);
	r.sport = h.sport;
	r.ack = h.seq + 1;
	r.seq = 5000;
	struct tcp_opts o = { .has_mss = true, .mss = 1460, .has_ws = true, .ws = 7 };
	raw_send(&r, TCP_SYN | TCP_ACK, r.seq, r.ack, 1000, &o, "hello", 5);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_ESTABLISHED);
	struct tcp_sock_info in;
	tcp_sock_get_info(r.s, &in);
	ck_assert_uint_eq(in.snd_wnd, 1000);
	uint8_t b[8];
	ck_assert_int_eq(tcp_recv(r.s, b, sizeof(b)), 5);
	/* The next window is scaled: 10 << 7. */
	raw_send(&r, TCP_ACK, r.seq + 6, r.ack, 10, NULL, NULL, 0);
	tcp_sock_get_info(r.s, &in);
	ck_assert_uint_eq(in.snd_wnd, 1280);
	raw_fini(&r);
}
END_TEST

/* The same rule for the peer's SYN-ACK in a simultaneous open (RFC 9293 figure 8). */
START_TEST(simultaneous_open_synack_window_unscaled)
{
	struct raw r;
	struct tcp_hdr h;
	size_t len;
	raw_open_syn(&r, NULL, &h, NULL);
	r.sport = h.sport;
	uint32_t iss = h.seq;
	r.seq = 9000;
	struct tcp_opts o = { .has_mss = true, .mss = 1460, .has_ws = true, .ws = 7 };
	raw_send(&r, TCP_SYN, r.seq, 0, 1000, &o, NULL, 0); /* our SYN crosses theirs */
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_SYN_RECEIVED);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(h.flags, TCP_SYN | TCP_ACK);
	raw_send(&r, TCP_SYN | TCP_ACK, r.seq, iss + 1, 1000, &o, NULL, 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_ESTABLISHED);
	struct tcp_sock_info in;
	tcp_sock_get_info(r.s, &in);
	ck_assert_uint_eq(in.snd_wnd, 1000);
	raw_fini(&r);
}
END_TEST

/* RFC 9293 §3.10.7.4 fifth: the send window is updated only by an ACK with
 * SND.UNA =< SEG.ACK =< SND.NXT; an older ACK (in the RFC 5961 range) must not move it. */
START_TEST(old_ack_does_not_update_window)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	uint8_t d[2920]; /* two full segments: Nagle holds nothing back */
	memset(d, 'x', sizeof(d));
	ck_assert_int_eq(tcp_send(r.s, d, sizeof(d)), 2920);
	struct tcp_hdr h;
	size_t len;
	uint32_t first = 0;
	ck_assert(raw_recv(&r, &h, &len, NULL));
	first = h.seq;
	while (raw_recv(&r, &h, &len, NULL))
		;
	/* Data from the peer that acknowledges everything: SND.WL1 = its SEQ. */
	raw_send(&r, TCP_ACK, r.seq, first + 2920, 65535, NULL, "abcdefghij", 10);
	r.seq += 10;
	/* A later segment carrying an old ACK and a zero window. */
	raw_send(&r, TCP_ACK, r.seq, first + 1460, 0, NULL, NULL, 0);
	struct tcp_sock_info in;
	tcp_sock_get_info(r.s, &in);
	ck_assert_uint_eq(in.snd_wnd, 65535);
	raw_fini(&r);
}
END_TEST

/* RFC 6298 §2.3 arithmetic must not wrap for long samples (a TSecr far in the past gives
 * one of up to ~35 minutes): 7 * SRTT overflowed 32 bits above ~10 minutes. */
START_TEST(rtt_smoothing_no_overflow)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	r.s->srtt_us = 0;
	tcp_rtt_sample(r.s, 2000000000u);
	tcp_rtt_sample(r.s, 2000000000u);
	ck_assert_uint_eq(r.s->srtt_us, 2000000000u);
	ck_assert_uint_eq(r.s->rttvar_us, 750000000u);
	ck_assert_uint_eq(r.s->rto_ms, 120000); /* clamped to the maximum */
	raw_fini(&r);
}
END_TEST

/* RFC 6298 §5.7: the SYN was retransmitted, so data starts with a 3 s RTO; RFC 5681 §3.1:
 * and with a one-segment initial window. */
START_TEST(rto_3s_after_syn_retransmission)
{
	struct raw r;
	struct tcp_hdr h;
	size_t len;
	raw_open_syn(&r, NULL, &h, NULL);
	ck_assert_uint_eq(raw_wait(&r, &h, &len, 2 * H_S), H_S); /* the SYN again */
	r.sport = h.sport;
	r.ack = h.seq + 1;
	r.seq = 1000000;
	struct tcp_opts o = { .has_mss = true, .mss = 1460 };
	raw_send(&r, TCP_SYN | TCP_ACK, r.seq, r.ack, 65535, &o, NULL, 0);
	r.seq++;
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_ESTABLISHED);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	struct tcp_sock_info in;
	tcp_sock_get_info(r.s, &in);
	ck_assert_uint_eq(in.rto_ms, 3000);
	ck_assert_uint_eq(in.cwnd, 1460);
	uint8_t d[3000];
	memset(d, 'y', sizeof(d));
	ck_assert_int_eq(tcp_send(r.s, d, sizeof(d)), 3000);
	unsigned nseg = 0;
	while (raw_recv(&r, &h, &len, NULL))
		nseg++;
	ck_assert_uint_eq(nseg, 1); /* IW = 1 segment */
	ck_assert_uint_eq(raw_wait(&r, &h, &len, 10 * H_S), 3 * H_S);
	ck_assert_uint_eq(len, 1460);
	raw_fini(&r);
}
END_TEST

/* The same on the passive side: the SYN-ACK was retransmitted. */
START_TEST(rto_3s_after_synack_retransmission)
{
	struct raw r;
	raw_listen(&r, NULL, 8);
	r.dport = 30000;
	struct tcp_opts o = { .has_mss = true, .mss = 1460 };
	raw_send(&r, TCP_SYN, 700, 0, 65535, &o, NULL, 0);
	struct tcp_hdr h;
	size_t len;
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert_uint_eq(raw_wait(&r, &h, &len, 2 * H_S), H_S);
	ck_assert_uint_eq(h.flags, TCP_SYN | TCP_ACK);
	raw_send(&r, TCP_ACK, 701, h.seq + 1, 65535, NULL, NULL, 0);
	ck_assert_int_eq(tcp_accept(r.ls, &ev_ops, &r.e, &r.s), 0);
	struct tcp_sock_info in;
	tcp_sock_get_info(r.s, &in);
	ck_assert_uint_eq(in.rto_ms, 3000);
	ck_assert_uint_eq(in.cwnd, 1460);
	raw_fini(&r);
}
END_TEST

/* Orphans (closed by the user, still finishing the close) are bounded: past the limit a
 * close resets the connection at once (Linux tcp_check_oom, TCPAbortOnMemory). */
START_TEST(orphan_limit)
{
	struct stack_config cb;
	stack_config_defaults(&cb);
	cb.addr = h_ip(H_PEER_IP);
	cb.prefix_len = 24;
	cb.tcp_max_orphans = 2;
	struct conn c;
	memset(&c, 0, sizeof(c));
	h_net_init(&c.n, 1500, NULL, &cb, 77);
	conn_listen(&c);
	struct tcp_sock *cli[3], *srv[3];
	struct ev ce[3], se[3];
	memset(ce, 0, sizeof(ce));
	memset(se, 0, sizeof(se));
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(tcp_open(c.n.a, &ev_ops, &ce[i], &cli[i]), 0);
		ck_assert_int_eq(tcp_connect(cli[i], h_ip(H_PEER_IP), SRV_PORT), 0);
		h_net_run(&c.n, 10 * H_MS, 0);
		ck_assert_int_eq(tcp_accept(c.ls, &ev_ops, &se[i], &srv[i]), 0);
	}
	for (int i = 0; i < 3; i++)
		tcp_close(srv[i]);
	h_net_run(&c.n, 10 * H_MS, 0);
	ck_assert_uint_eq(h_stat(c.n.b, STAT_TcpExtTCPAbortOnMemory), 1);
	ck_assert_uint_eq(c.n.b->tcp->norphans, 2);
	ck_assert_int_eq(tcp_sock_state(cli[0]), TCP_STATE_CLOSE_WAIT);
	ck_assert_int_eq(tcp_sock_state(cli[1]), TCP_STATE_CLOSE_WAIT);
	ck_assert_int_eq(tcp_sock_state(cli[2]), TCP_STATE_CLOSED);
	ck_assert_int_eq(ce[2].err, ECONNRESET);
	/* One orphan finishes (TIME-WAIT is not an orphan): room for another close. */
	tcp_close(cli[0]);
	h_net_run(&c.n, 10 * H_MS, 0);
	ck_assert_uint_eq(c.n.b->tcp->norphans, 1);
	tcp_close(cli[1]);
	h_net_run(&c.n, 10 * H_MS, 0);
	ck_assert_uint_eq(c.n.b->tcp->norphans, 0);
	tcp_close(cli[2]);
	tcp_close(c.ls);
	conn_teardown(&c);
}
END_TEST

/* RFC 5927 §4.1: an ICMP error is believed only when the SEQ it quotes is in flight,
 * SND.UNA =< SEQ < SND.NXT; with nothing in flight, SND.NXT itself is not. */
START_TEST(icmp_quoting_snd_nxt_ignored)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	/* An out-of-window segment draws an ACK: a frame with SEQ = SND.NXT to quote. */
	raw_send(&r, TCP_ACK, r.seq + 1000000, r.ack, 65535, NULL, "z", 1);
	uint8_t frame[2200];
	struct tcp_hdr h;
	size_t len;
	ck_assert(raw_recv(&r, &h, &len, frame));
	ck_assert_uint_eq(len, 0);
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
	size_t n = h_frame_ipv4(f2, IPV4_PROTO_ICMP, 78, 0, false, icmp, sizeof(icmp));
	h_host_input(&r.h, f2, n);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPPMTUUpdates), 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPIcmpIgnored), 1);
	struct tcp_sock_info in;
	tcp_sock_get_info(r.s, &in);
	ck_assert_uint_eq(in.mss, 1460);
	raw_fini(&r);
}
END_TEST

/* RFC 7323 §4.3 / RFC 5961 §5: TS.Recent is taken only from a segment whose ACK is
 * acceptable. Before, an in-window segment with a bogus ACK (dropped) still set
 * TS.Recent, and a far-future TSval then made PAWS drop every real segment. */
START_TEST(ts_recent_not_set_by_unacceptable_ack)
{
	struct raw r;
	struct tcp_opts o = { .has_mss = true, .mss = 1460, .has_ts = true, .tsval = 5000 };
	raw_connect(&r, NULL, &o, 65535);
	ck_assert(r.s->ts_ok);
	struct tcp_opts t = { .has_ts = true, .tsval = 5000 + 0x40000000u };
	raw_send(&r, TCP_ACK, r.seq, r.ack + 100000, 65535, &t, NULL, 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPAckTooNew), 1);
	t.tsval = 6000;
	raw_send(&r, TCP_ACK | TCP_PSH, r.seq, r.ack, 65535, &t, "ab", 2);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtPAWSEstab), 0);
	uint8_t b[8];
	ck_assert_int_eq(tcp_recv(r.s, b, 8), 2);
	raw_fini(&r);
}
END_TEST

/* New data after the peer's FIN cannot be delivered: counted, not silently lost. */
START_TEST(data_after_fin_counted)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	raw_send(&r, TCP_ACK | TCP_FIN, r.seq, r.ack, 65535, NULL, NULL, 0);
	r.seq++;
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_CLOSE_WAIT);
	raw_send(&r, TCP_ACK | TCP_PSH, r.seq, r.ack, 65535, NULL, "zz", 2);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPDataAfterFin), 1);
	uint8_t b[8];
	ck_assert_int_eq(tcp_recv(r.s, b, 8), 0);
	raw_fini(&r);
}
END_TEST

static Suite *tcp_suite(void)
{
	Suite *s = suite_create("tcp");
	TCase *tc = tcase_create("pair");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, handshake);
	tcase_add_test(tc, data_both_ways);
	tcase_add_test(tc, close_active_then_passive);
	tcase_add_test(tc, close_passive_side_first);
	tcase_add_test(tc, close_simultaneous);
	tcase_add_test(tc, simultaneous_open);
	tcase_add_test(tc, rst_closed_port);
	tcase_add_test(tc, rst_abort_and_unread_close);
	tcase_add_test(tc, keepalive_probes_and_timeout);
	tcase_add_test(tc, bulk_lossy_1mb);
	suite_add_tcase(s, tc);
	TCase *tr = tcase_create("raw");
	tcase_set_timeout(tr, 120);
	tcase_add_test(tr, syn_rto_backoff_and_timeout);
	tcase_add_test(tr, data_rto_backoff_and_karn);
	tcase_add_test(tr, fast_retransmit_newreno);
	tcase_add_test(tr, sack_recovery);
	tcase_add_test(tr, zero_window_probe);
	tcase_add_test(tr, rfc5961_rst_syn_ack_checks);
	tcase_add_test(tr, challenge_ack_rate_limit);
	tcase_add_test(tr, paws_drops_old_timestamp);
	tcase_add_test(tr, syn_cookies_under_flood);
	tcase_add_test(tr, pmtud_lowers_mss);
	tcase_add_test(tr, time_wait_limit);
	tcase_add_test(tr, user_timeout);
	tcase_add_test(tr, delayed_ack);
	tcase_add_test(tr, nagle_and_nodelay);
	tcase_add_test(tr, send_buffer_backpressure);
	tcase_add_test(tr, keepalive_probe_format_and_spacing);
	tcase_add_test(tr, receive_window_update);
	tcase_add_test(tr, listen_backlog_bounded);
	tcase_add_test(tr, syn_sent_reset_rules);
	tcase_add_test(tr, fin_retransmitted_and_time_wait_acks);
	tcase_add_loop_test(tr, random_segments_keep_invariants, 0, 4);
	tcase_add_test(tr, icmp_unreachable_fails_connect);
	tcase_add_test(tr, retransmission_limit_times_out);
	tcase_add_test(tc, shutdown_semantics);
	tcase_add_test(tc, timer_heap_matches_brute_force);
	tcase_add_test(tc, orphan_limit);
	tcase_add_test(tr, synack_with_data_window_unscaled);
	tcase_add_test(tr, simultaneous_open_synack_window_unscaled);
	tcase_add_test(tr, old_ack_does_not_update_window);
	tcase_add_test(tr, rtt_smoothing_no_overflow);
	tcase_add_test(tr, rto_3s_after_syn_retransmission);
	tcase_add_test(tr, rto_3s_after_synack_retransmission);
	tcase_add_test(tr, icmp_quoting_snd_nxt_ignored);
	tcase_add_test(tr, ts_recent_not_set_by_unacceptable_ack);
	tcase_add_test(tr, data_after_fin_counted);
	suite_add_tcase(s, tr);
	return s;
}

int main(void)
{
	return h_run_suite(tcp_suite());
}
