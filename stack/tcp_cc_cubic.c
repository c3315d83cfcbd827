/* CUBIC, RFC 9438 (without HyStart): slow start as Reno (tcp_cc_slow_start()), then
 *
 *	W_cubic(t) = C * (t - K)^3 + W_max                         (RFC 9438 eq. 1)
 *	K = cbrt((W_max - cwnd_epoch) / C)                          (eq. 2)
 *
 * in segments and seconds, t the time since the start of the congestion avoidance epoch.
 * Each ACK moves cwnd towards target = W_cubic(t + RTT), clamped to [cwnd, 1.5*cwnd]
 * (§4.2), by (target - cwnd) / cwnd per segment acked, unless the Reno-friendly estimate
 * W_est (§4.3) is above W_cubic(t), in which case cwnd follows W_est. On a congestion event
 * W_max = cwnd (or (1 + beta)/2 * cwnd with fast convergence, §4.7) and cwnd = ssthresh =
 * beta * cwnd (§4.6). On RTO cwnd = 1 SMSS and the next epoch starts with K = 0 and W_max
 * the cwnd at that epoch's start (§4.8).
 *
 * Doubles are fine here: this is the user-space stack's control path, once per ACK. */
#include "tcp_cc.h"

#include <stdint.h>
#include <string.h>

#define CUBIC_C 0.4	/* segments / s^3, RFC 9438 §5 */
#define CUBIC_BETA 0.7	/* multiplicative decrease factor, RFC 9438 §4.6 */
#define CUBIC_DEFAULT_MSS 536u

/* alpha_cubic = 3 * (1 - beta) / (1 + beta), RFC 9438 §4.3 eq. 4: Reno-friendly AIMD. */
#define CUBIC_ALPHA (3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA))

/* Cube root without libm (the stack library links nothing): a bit-level first guess (the
 * exponent divided by 3) then Newton's iteration, which converges quadratically from it. */
static double cubic_cbrt(double x)
{
	if (x == 0.0)
		return 0.0;
	bool neg = x < 0;
	if (neg)
		x = -x;
	uint64_t bits;
	memcpy(&bits, &x, sizeof(bits));
	bits = bits / 3 + 0x2a9f7893782da1ceull;
	double y;
	memcpy(&y, &bits, sizeof(y));
	for (int i = 0; i < 8; i++)
		y = (2.0 * y + x / (y * y)) / 3.0;
	return neg ? -y : y;
}

static double cwnd_seg(const struct tcp_cc *cc)
{
	return (double)cc->cwnd_bytes / cc->mss;
}

static void cwnd_set_seg(struct tcp_cc *cc, double w_seg)
{
	double b = w_seg * cc->mss;
	if (b > TCP_CC_MAX_CWND_BYTES)
		b = TCP_CC_MAX_CWND_BYTES;
	if (b < cc->mss)
		b = cc->mss;
	cc->cwnd_bytes = (uint32_t)b;
}

static void cubic_init(struct tcp_cc *cc, uint32_t mss, uint64_t now_ns)
{
	(void)now_ns;
	cc->mss = mss ? mss : CUBIC_DEFAULT_MSS;
	cc->cwnd_bytes = tcp_cc_initial_window_bytes(cc->mss);
	cc->ssthresh_bytes = UINT32_MAX; /* RFC 5681 §3.1 */
	memset(&cc->u, 0, sizeof(cc->u));
}

/* W_cubic(t), eq. 1. */
static double w_cubic(const struct tcp_cc_cubic *s, double t_s)
{
	double d = t_s - s->k_s;
	return CUBIC_C * d * d * d + s->w_max_seg;
}

static void cubic_epoch_start(struct tcp_cc *cc, uint64_t now_ns)
{
	struct tcp_cc_cubic *s = &cc->u.cubic;
	s->in_epoch = true;
	s->epoch_start_ns = now_ns;
	s->cwnd_epoch_seg = cwnd_seg(cc);
	if (s->after_rto || s->w_max_seg <= 0) {
		/* §4.8 after a timeout (and, likewise, a first epoch with no loss yet):
		 * K = 0, W_max = cwnd at the start of this epoch. */
		s->w_max_seg = s->cwnd_epoch_seg;
		s->k_s = 0;
		s->after_rto = false;
	} else {
		s->k_s = cubic_cbrt((s->w_max_seg - s->cwnd_epoch_seg) / CUBIC_C); /* eq. 2 */
	}
	s->w_est_seg = s->cwnd_epoch_seg; /* §4.3: W_est = cwnd_epoch at the epoch start */
	s->frac_bytes = 0;
}

static void cubic_on_ack(struct tcp_cc *cc, uint32_t acked_bytes, uint32_t bytes_in_flight,
			 uint64_t rtt_us, uint64_t now_ns)
{
	struct tcp_cc_cubic *s = &cc->u.cubic;
	if (!tcp_cc_is_cwnd_limited(cc, bytes_in_flight))
		return;
	if (tcp_cc_in_slow_start(cc)) {
		acked_bytes = tcp_cc_slow_start(cc, acked_bytes);
		if (acked_bytes == 0)
			return;
	}
	if (!s->in_epoch)
		cubic_epoch_start(cc, now_ns);

	double cwnd = cwnd_seg(cc);
	double acked_seg = (double)acked_bytes / cc->mss;
	double t_s = now_ns > s->epoch_start_ns ? (double)(now_ns - s->epoch_start_ns) / 1e9 : 0;
	double rtt_s = (double)rtt_us / 1e6;

	/* §4.3: W_est grows like Reno with alpha_cubic, or 1 once it passed cwnd_prior. */
	double alpha = s->w_est_seg >= s->cwnd_prior_seg ? 1.0 : CUBIC_ALPHA;
	s->w_est_seg += alpha * acked_seg / cwnd;

	if (w_cubic(s, t_s) < s->w_est_seg) {
		/* Reno-friendly region: cwnd = W_est. */
		if (s->w_est_seg > cwnd)
			cwnd_set_seg(cc, s->w_est_seg);
		s->frac_bytes = 0;
		return;
	}

	/* Concave and convex regions, §4.4/§4.5: towards W_cubic(t + RTT). */
	double target = w_cubic(s, t_s + rtt_s);
	if (target < cwnd)
		target = cwnd;
	else if (target > 1.5 * cwnd)
		target = 1.5 * cwnd;
	s->frac_bytes += (target - cwnd) / cwnd * acked_seg * cc->mss;
	if (s->frac_bytes >= 1.0) {
		double whole = (double)(uint64_t)s->frac_bytes;
		s->frac_bytes -= whole;
		uint64_t w = (uint64_t)cc->cwnd_bytes + (uint64_t)whole;
		cc->cwnd_bytes = w > TCP_CC_MAX_CWND_BYTES ? TCP_CC_MAX_CWND_BYTES : (uint32_t)w;
	}
}

/* The multiplicative decrease common to a congestion event and a first RTO: W_max with
 * fast convergence (§4.7), cwnd_prior, ssthresh = beta * cwnd (§4.6; cwnd rather than
 * flight size, which §4.6 allows given cwnd grows only while used, see tcp_cc.h). */
static void cubic_decrease(struct tcp_cc *cc)
{
	struct tcp_cc_cubic *s = &cc->u.cubic;
	double cwnd = cwnd_seg(cc);
	if (cwnd < s->w_max_seg)
		s->w_max_seg = cwnd * (1.0 + CUBIC_BETA) / 2.0; /* fast convergence */
	else
		s->w_max_seg = cwnd;
	s->cwnd_prior_seg = cwnd;
	double ss = (double)cc->cwnd_bytes * CUBIC_BETA;
	if (ss < 2.0 * cc->mss)
		ss = 2.0 * cc->mss;
	cc->ssthresh_bytes = (uint32_t)ss;
	s->in_epoch = false;
	s->frac_bytes = 0;
}

static void cubic_on_enter_recovery(struct tcp_cc *cc, uint32_t bytes_in_flight,
				    uint64_t now_ns)
{
	(void)bytes_in_flight;
	(void)now_ns;
	cubic_decrease(cc);
	cc->cwnd_bytes = cc->ssthresh_bytes;
}

static void cubic_on_exit_recovery(struct tcp_cc *cc, uint32_t bytes_in_flight,
				   uint64_t now_ns)
{
	(void)now_ns;
	(void)bytes_in_flight;
	/* As NewReno (RFC 6582 §3.2 step 3, option 2: cwnd = ssthresh); the epoch starts at
	 * the next ACK in congestion avoidance (§4.2: t counts from the start of that
	 * stage). */
	cc->cwnd_bytes = cc->ssthresh_bytes;
	cc->u.cubic.in_epoch = false;
}

static void cubic_on_rto(struct tcp_cc *cc, uint32_t bytes_in_flight, bool first,
			 uint64_t now_ns)
{
	(void)bytes_in_flight;
	(void)now_ns;
	if (first) {
		cubic_decrease(cc); /* §4.8: ssthresh by beta_cubic as in §4.6 */
		cc->u.cubic.after_rto = true;
	}
	cc->cwnd_bytes = cc->mss; /* RFC 5681 §3.1 loss window */
	cc->u.cubic.in_epoch = false;
}

static void cubic_on_idle_restart(struct tcp_cc *cc, uint64_t idle_ns, uint64_t rto_ns,
				  uint64_t now_ns)
{
	(void)now_ns;
	struct tcp_cc_cubic *s = &cc->u.cubic;
	if (s->in_epoch)
		s->epoch_start_ns += idle_ns; /* t excludes the pause (RFC 9438 §5.8) */
	uint32_t before = cc->cwnd_bytes;
	tcp_cc_restart_window(cc, idle_ns, rto_ns);
	if (cc->cwnd_bytes != before)
		s->in_epoch = false; /* cwnd was cut: a new epoch when CA resumes */
}

const struct tcp_cc_ops tcp_cc_cubic_ops = {
	.name = "cubic",
	.init = cubic_init,
	.on_ack = cubic_on_ack,
	.on_enter_recovery = cubic_on_enter_recovery,
	.on_exit_recovery = cubic_on_exit_recovery,
	.on_rto = cubic_on_rto,
	.on_idle_restart = cubic_on_idle_restart,
};
