/* NewReno window arithmetic: RFC 5681 slow start and congestion avoidance with RFC 3465
 * appropriate byte counting, RFC 5681 eq. 4 / RFC 6582 §3.2 reductions. The loss recovery
 * itself (partial ACKs, the recover point) is TCP's, see tcp_cc.h.
 *
 * This file also holds what every algorithm shares: the ops lookup, the RFC 6928 initial
 * window and the slow start step. */
#include "tcp_cc.h"

#include <stddef.h>
#include <string.h>

#define TCP_CC_DEFAULT_MSS 536u /* RFC 9293 §3.7.1 */

const struct tcp_cc_ops *tcp_cc_find(const char *name)
{
	static const struct tcp_cc_ops *const all[] = { &tcp_cc_cubic_ops, &tcp_cc_newreno_ops };
	if (!name)
		name = TCP_CC_DEFAULT_NAME;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	/* "reno" is what Linux calls NewReno. */
	if (strcmp(name, "reno") == 0)
		return &tcp_cc_newreno_ops;
	return NULL;
}

uint32_t tcp_cc_initial_window_bytes(uint32_t mss)
{
	/* RFC 6928 §2: min(10*MSS, max(2*MSS, 14600)). */
	uint64_t ten = 10ull * mss, two = 2ull * mss;
	uint64_t floor = two > 14600 ? two : 14600;
	uint64_t iw = ten < floor ? ten : floor;
	return iw > TCP_CC_MAX_CWND_BYTES ? TCP_CC_MAX_CWND_BYTES : (uint32_t)iw;
}

static void cwnd_add(struct tcp_cc *cc, uint64_t inc_bytes)
{
	uint64_t w = (uint64_t)cc->cwnd_bytes + inc_bytes;
	cc->cwnd_bytes = w > TCP_CC_MAX_CWND_BYTES ? TCP_CC_MAX_CWND_BYTES : (uint32_t)w;
}

uint32_t tcp_cc_slow_start(struct tcp_cc *cc, uint32_t acked_bytes)
{
	/* RFC 3465 §2.2: cwnd += min(N, L*SMSS), L = 2. */
	uint64_t limit = 2ull * cc->mss;
	uint64_t inc = acked_bytes < limit ? acked_bytes : limit;
	uint64_t room = cc->cwnd_bytes < cc->ssthresh_bytes ?
				cc->ssthresh_bytes - cc->cwnd_bytes : 0;
	if (inc <= room) {
		cwnd_add(cc, inc);
		return 0;
	}
	/* Reached ssthresh: the rest of this ACK counts for congestion avoidance. */
	cwnd_add(cc, room);
	return acked_bytes > room ? (uint32_t)(acked_bytes - room) : 0;
}

void tcp_cc_restart_window(struct tcp_cc *cc, uint64_t idle_ns, uint64_t rto_ns)
{
	if (idle_ns <= rto_ns)
		return;
	uint32_t rw = tcp_cc_initial_window_bytes(cc->mss); /* RW = min(IW, cwnd) */
	if (cc->cwnd_bytes > rw)
		cc->cwnd_bytes = rw;
}

/* max(FlightSize / 2, 2*SMSS), RFC 5681 §3.1 eq. 4. */
static uint32_t reno_ssthresh(const struct tcp_cc *cc, uint32_t bytes_in_flight)
{
	uint32_t half = bytes_in_flight / 2, floor = 2 * cc->mss;
	return half > floor ? half : floor;
}

static void newreno_init(struct tcp_cc *cc, uint32_t mss, uint64_t now_ns)
{
	(void)now_ns;
	cc->mss = mss ? mss : TCP_CC_DEFAULT_MSS;
	cc->cwnd_bytes = tcp_cc_initial_window_bytes(cc->mss);
	cc->ssthresh_bytes = UINT32_MAX; /* "arbitrarily high", RFC 5681 §3.1 */
	memset(&cc->u, 0, sizeof(cc->u));
}

static void newreno_on_ack(struct tcp_cc *cc, uint32_t acked_bytes, uint32_t bytes_in_flight,
			   uint64_t rtt_us, uint64_t now_ns)
{
	(void)rtt_us;
	(void)now_ns;
	struct tcp_cc_newreno *s = &cc->u.newreno;
	if (!tcp_cc_is_cwnd_limited(cc, bytes_in_flight))
		return;
	if (tcp_cc_in_slow_start(cc)) {
		acked_bytes = tcp_cc_slow_start(cc, acked_bytes);
		if (acked_bytes == 0)
			return;
	}
	/* Congestion avoidance, RFC 5681 §3.1 / RFC 3465 §2.1: count acked bytes; each time
	 * they reach cwnd, cwnd grows by one SMSS: one SMSS per RTT. */
	s->bytes_acked += acked_bytes;
	if (s->bytes_acked >= cc->cwnd_bytes) {
		s->bytes_acked -= cc->cwnd_bytes;
		cwnd_add(cc, cc->mss);
	}
}

static void newreno_on_enter_recovery(struct tcp_cc *cc, uint32_t bytes_in_flight,
				      uint64_t now_ns)
{
	(void)now_ns;
	/* RFC 6582 §3.2 step 2 (RFC 5681 eq. 4); the +3*SMSS inflation is TCP's. */
	cc->ssthresh_bytes = reno_ssthresh(cc, bytes_in_flight);
	cc->cwnd_bytes = cc->ssthresh_bytes;
	cc->u.newreno.bytes_acked = 0;
}

static void newreno_on_exit_recovery(struct tcp_cc *cc, uint32_t bytes_in_flight,
				     uint64_t now_ns)
{
	(void)now_ns;
	(void)bytes_in_flight;
	/* RFC 6582 §3.2 step 3, option (2): cwnd = ssthresh, as Linux does. Option (1),
	 * min(ssthresh, FlightSize + SMSS), avoids a burst but collapses cwnd to 2 SMSS when
	 * the full ACK covers everything, and one loss among two segments then costs an RTO:
	 * measured over a 3 % lossy link it sent 30 % slower. */
	cc->cwnd_bytes = cc->ssthresh_bytes;
	cc->u.newreno.bytes_acked = 0;
}

static void newreno_on_rto(struct tcp_cc *cc, uint32_t bytes_in_flight, bool first,
			   uint64_t now_ns)
{
	(void)now_ns;
	if (first)
		cc->ssthresh_bytes = reno_ssthresh(cc, bytes_in_flight); /* RFC 5681 eq. 4 */
	cc->cwnd_bytes = cc->mss; /* the loss window, LW = 1 SMSS (RFC 5681 §3.1) */
	cc->u.newreno.bytes_acked = 0;
}

static void newreno_on_idle_restart(struct tcp_cc *cc, uint64_t idle_ns, uint64_t rto_ns,
				    uint64_t now_ns)
{
	(void)now_ns;
	tcp_cc_restart_window(cc, idle_ns, rto_ns);
	cc->u.newreno.bytes_acked = 0;
}

const struct tcp_cc_ops tcp_cc_newreno_ops = {
	.name = "newreno",
	.init = newreno_init,
	.on_ack = newreno_on_ack,
	.on_enter_recovery = newreno_on_enter_recovery,
	.on_exit_recovery = newreno_on_exit_recovery,
	.on_rto = newreno_on_rto,
	.on_idle_restart = newreno_on_idle_restart,
};
