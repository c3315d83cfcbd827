/* Receive batches (stack_input_batch_begin/end, stack/tcp_batch.c): ACK coalescing.
 * A hand-driven peer sends segments inside a batch and counts the ACKs that come out:
 * one per connection for in-order data, carrying the latest RCV.NXT; an immediate
 * duplicate ACK per out-of-order segment (RFC 5681 §4.2); the delayed-ACK timer as
 * before; a batch of one exactly as no batch. */
#include <string.h>

#include "harness.h"
#include "stack/stack_var.h"
#include "stack/tcp.h"
#include "stack/tcp_var.h"
#include "tcp_peer.h"

#define SEG 1460

/* Sends segment i (SEG bytes of pattern, seq base + i * SEG) from the peer. */
static void send_seg(struct raw *r, uint32_t base, unsigned i, const uint8_t *data)
{
	raw_send(r, TCP_ACK, base + i * SEG, r->ack, 65535, NULL, data + (size_t)i * SEG, SEG);
}

/* Counts the segments the stack sent; the last one in *last. */
static unsigned count_out(struct raw *r, struct tcp_hdr *last)
{
	struct tcp_hdr h;
	size_t len;
	unsigned n = 0;
	while (raw_recv(r, &h, &len, NULL)) {
		*last = h;
		n++;
	}
	return n;
}

static void expect_data(struct raw *r, const uint8_t *data, size_t n)
{
	static uint8_t got[64 * SEG];
	size_t have = 0;
	ssize_t k;
	ck_assert_uint_le(n, sizeof(got));
	while (have < n && (k = tcp_recv(r->s, got + have, n - have)) > 0)
		have += (size_t)k;
	ck_assert_uint_eq(have, n);
	ck_assert_mem_eq(got, data, n);
}

/* Connects r, opens a batch and sends two full segments of data (2 * SEG bytes of
 * pattern seed): an ACK is owed and deferred. */
static void two_in_batch(struct raw *r, uint8_t *data, unsigned seed)
{
	pattern(data, 2 * SEG, seed);
	raw_connect(r, NULL, NULL, 65535);
	stack_input_batch_begin(r->h.st);
	send_seg(r, r->seq, 0, data);
	send_seg(r, r->seq, 1, data);
}

START_TEST(batch_in_order_one_ack)
{
	enum { N = 10 };
	static uint8_t data[N * SEG];
	struct raw r;
	struct tcp_hdr h;

	pattern(data, sizeof(data), 7);
	raw_connect(&r, NULL, NULL, 65535);
	uint64_t out0 = h_stat(r.h.st, STAT_TcpOutSegs);
	stack_input_batch_begin(r.h.st);
	for (unsigned i = 0; i < N; i++)
		send_seg(&r, r.seq, i, data);
	ck_assert_uint_eq(count_out(&r, &h), 0); /* nothing before the end of the batch */
	stack_input_batch_end(r.h.st, r.h.now_ns);
	ck_assert_uint_eq(count_out(&r, &h), 1);
	ck_assert_uint_eq(h.flags, TCP_ACK);
	ck_assert_uint_eq(h.ack, r.seq + N * SEG); /* the latest RCV.NXT */
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpOutSegs), out0 + 1);
	/* Without the batch: an ACK after every second segment, 5; 9 were asked for (the
	 * 2nd to the 10th), 8 folded into the one sent. */
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPBatchAckCoalesced), N - 2);
	expect_data(&r, data, sizeof(data));
	/* The ACK stopped the delayed-ACK timer: nothing more comes. */
	h_host_advance(&r.h, 500 * H_MS);
	ck_assert_uint_eq(count_out(&r, &h), 0);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtDelayedACKs), 0);
	raw_fini(&r);
}
END_TEST

START_TEST(batch_out_of_order_dup_acks_at_once)
{
	enum { N = 6 };
	static uint8_t data[N * SEG];
	struct raw r;
	struct tcp_hdr h;
	size_t len;
	struct tcp_opts o = { .has_mss = true, .mss = 1460, .sack_perm = true };

	pattern(data, sizeof(data), 9);
	raw_connect(&r, NULL, &o, 65535);
	stack_input_batch_begin(r.h.st);
	send_seg(&r, r.seq, 0, data);
	/* Segment 1 is missing: 2..5 each get a duplicate ACK at once, inside the batch,
	 * with a SACK block, so that the sender reaches its three (RFC 5681 §3.2). */
	for (unsigned i = 2; i < N; i++) {
		send_seg(&r, r.seq, i, data);
		ck_assert(raw_recv(&r, &h, &len, NULL));
		ck_assert_uint_eq(h.flags, TCP_ACK);
		ck_assert_uint_eq(h.ack, r.seq + SEG);
		ck_assert_uint_eq(h.opts.nsack, 1);
		ck_assert_uint_eq(h.opts.sack[0].left, r.seq + 2 * SEG);
		ck_assert_uint_eq(h.opts.sack[0].right, r.seq + (i + 1) * SEG);
		ck_assert(!raw_recv(&r, &h, &len, NULL));
	}
	/* The retransmission fills the hole: one ACK of everything, at the end. */
	send_seg(&r, r.seq, 1, data);
	ck_assert_uint_eq(count_out(&r, &h), 0);
	stack_input_batch_end(r.h.st, r.h.now_ns);
	ck_assert_uint_eq(count_out(&r, &h), 1);
	ck_assert_uint_eq(h.ack, r.seq + N * SEG);
	ck_assert_uint_eq(h.opts.nsack, 0);
	expect_data(&r, data, sizeof(data));
	raw_fini(&r);
}
END_TEST

START_TEST(batch_delayed_ack_timer_still_runs)
{
	static uint8_t data[3 * SEG];
	struct raw r;
	struct tcp_hdr h;

	pattern(data, sizeof(data), 3);
	raw_connect(&r, NULL, NULL, 65535);
	/* One segment owes no ACK yet: the batch sends none, the timer does (40 ms). */
	stack_input_batch_begin(r.h.st);
	send_seg(&r, r.seq, 0, data);
	stack_input_batch_end(r.h.st, r.h.now_ns);
	ck_assert_uint_eq(count_out(&r, &h), 0);
	uint64_t deadline = stack_next_deadline(r.h.st);
	ck_assert_uint_eq(deadline, r.h.now_ns + 40 * H_MS);
	h_host_advance(&r.h, 40 * H_MS);
	ck_assert_uint_eq(count_out(&r, &h), 1);
	ck_assert_uint_eq(h.ack, r.seq + SEG);
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtDelayedACKs), 1);
	/* A timer that fires inside a batch: its ACK waits for the end, with the data
	 * that came in the same batch. */
	send_seg(&r, r.seq, 1, data);
	stack_input_batch_begin(r.h.st);
	r.h.now_ns += 40 * H_MS;
	stack_poll(r.h.st, r.h.now_ns);
	send_seg(&r, r.seq, 2, data);
	ck_assert_uint_eq(count_out(&r, &h), 0);
	stack_input_batch_end(r.h.st, r.h.now_ns);
	ck_assert_uint_eq(count_out(&r, &h), 1);
	ck_assert_uint_eq(h.ack, r.seq + 3 * SEG);
	expect_data(&r, data, sizeof(data));
	raw_fini(&r);
}
END_TEST

START_TEST(batch_data_segment_carries_the_ack)
{
	static uint8_t data[2 * SEG];
	struct raw r;
	struct tcp_hdr h;
	size_t len;

	two_in_batch(&r, data, 5);
	ck_assert_int_eq(tcp_send(r.s, "reply", 5), 5);
	ck_assert(raw_recv(&r, &h, &len, NULL)); /* the reply goes at once, with the ACK */
	ck_assert_uint_eq(len, 5);
	ck_assert_uint_eq(h.ack, r.seq + 2 * SEG);
	stack_input_batch_end(r.h.st, r.h.now_ns);
	ck_assert_uint_eq(count_out(&r, &h), 0); /* no pure ACK after it */
	ck_assert_uint_eq(h_stat(r.h.st, STAT_TcpExtTCPBatchAckCoalesced), 1);
	expect_data(&r, data, sizeof(data));
	raw_fini(&r);
}
END_TEST

START_TEST(batch_fin_acked_once)
{
	static uint8_t data[2 * SEG];
	struct raw r;
	struct tcp_hdr h;

	two_in_batch(&r, data, 11);
	raw_send(&r, TCP_ACK | TCP_FIN, r.seq + 2 * SEG, r.ack, 65535, NULL, NULL, 0);
	stack_input_batch_end(r.h.st, r.h.now_ns);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_CLOSE_WAIT);
	ck_assert_uint_eq(count_out(&r, &h), 1);
	ck_assert_uint_eq(h.ack, r.seq + 2 * SEG + 1);
	expect_data(&r, data, sizeof(data));
	raw_fini(&r);
}
END_TEST

/* We closed first (FIN-WAIT-2); the peer's data and FIN in one batch: the ACK of the FIN
 * leaves as the connection enters TIME-WAIT, once. */
START_TEST(batch_ack_sent_before_time_wait)
{
	static uint8_t data[2 * SEG];
	struct raw r;
	struct tcp_hdr h;
	size_t len;

	pattern(data, sizeof(data), 13);
	raw_connect(&r, NULL, NULL, 65535);
	ck_assert_int_eq(tcp_shutdown(r.s, SHUT_WR), 0);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert(h.flags & TCP_FIN);
	r.ack++;
	raw_send(&r, TCP_ACK, r.seq, r.ack, 65535, NULL, NULL, 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_FIN_WAIT_2);
	stack_input_batch_begin(r.h.st);
	send_seg(&r, r.seq, 0, data);
	send_seg(&r, r.seq, 1, data);
	raw_send(&r, TCP_ACK | TCP_FIN, r.seq + 2 * SEG, r.ack, 65535, NULL, NULL, 0);
	ck_assert_int_eq(tcp_sock_state(r.s), TCP_STATE_TIME_WAIT);
	ck_assert_uint_eq(count_out(&r, &h), 1);
	ck_assert_uint_eq(h.ack, r.seq + 2 * SEG + 1);
	stack_input_batch_end(r.h.st, r.h.now_ns);
	ck_assert_uint_eq(count_out(&r, &h), 0);
	expect_data(&r, data, sizeof(data));
	raw_fini(&r);
}
END_TEST

/* The user aborts inside the batch (a callback may): the RST ends it, no ACK follows. */
START_TEST(batch_abort_sends_no_ack_after_rst)
{
	static uint8_t data[2 * SEG];
	struct raw r;
	struct tcp_hdr h;
	size_t len;

	two_in_batch(&r, data, 19);
	tcp_abort(r.s);
	r.s = NULL;
	stack_input_batch_end(r.h.st, r.h.now_ns);
	ck_assert(raw_recv(&r, &h, &len, NULL));
	ck_assert(h.flags & TCP_RST);
	ck_assert(!raw_recv(&r, &h, &len, NULL));
	raw_fini(&r);
}
END_TEST

/* The frames a run sends, in order, into out (each length-prefixed); the total bytes. */
static size_t run_frames(bool batches, uint8_t *out, size_t cap)
{
	static uint8_t data[7 * SEG];
	struct raw r;
	size_t used = 0, n;
	uint8_t frame[2200];

	pattern(data, sizeof(data), 17);
	raw_connect(&r, NULL, NULL, 65535);
	for (unsigned i = 0; i < 7; i++) {
		if (i == 4)
			continue; /* a hole, filled last */
		if (batches)
			stack_input_batch_begin(r.h.st);
		send_seg(&r, r.seq, i, data);
		if (batches)
			stack_input_batch_end(r.h.st, r.h.now_ns);
		r.h.now_ns += H_MS;
	}
	if (batches)
		stack_input_batch_begin(r.h.st);
	send_seg(&r, r.seq, 4, data);
	if (batches)
		stack_input_batch_end(r.h.st, r.h.now_ns);
	h_host_advance(&r.h, 100 * H_MS);
	while ((n = h_host_output(&r.h, frame, sizeof(frame))) > 0) {
		ck_assert_uint_le(used + n + sizeof(n), cap);
		memcpy(out + used, &n, sizeof(n));
		memcpy(out + used + sizeof(n), frame, n);
		used += sizeof(n) + n;
	}
	expect_data(&r, data, sizeof(data));
	raw_fini(&r);
	return used;
}

START_TEST(batch_of_one_as_before)
{
	static uint8_t plain[32768], batched[32768];
	size_t a = run_frames(false, plain, sizeof(plain));
	size_t b = run_frames(true, batched, sizeof(batched));

	ck_assert_uint_gt(a, 0);
	ck_assert_uint_eq(a, b);
	ck_assert_mem_eq(plain, batched, a);
}
END_TEST

static Suite *tcp_batch_suite(void)
{
	Suite *s = suite_create("tcp_batch");
	TCase *tc = tcase_create("raw");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, batch_in_order_one_ack);
	tcase_add_test(tc, batch_out_of_order_dup_acks_at_once);
	tcase_add_test(tc, batch_delayed_ack_timer_still_runs);
	tcase_add_test(tc, batch_data_segment_carries_the_ack);
	tcase_add_test(tc, batch_fin_acked_once);
	tcase_add_test(tc, batch_ack_sent_before_time_wait);
	tcase_add_test(tc, batch_abort_sends_no_ack_after_rst);
	tcase_add_test(tc, batch_of_one_as_before);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(tcp_batch_suite());
}
