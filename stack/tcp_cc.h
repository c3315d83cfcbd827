/* TCP congestion control: the window arithmetic, behind a small ops table.
 *
 * Division of labour with TCP proper (stack/tcp*.c):
 *  - TCP detects the events (new ACK, entering/leaving fast recovery, RTO) and calls the
 *    hooks below; it owns the loss-recovery logic of RFC 6582 (NewReno: recover point,
 *    partial ACKs, cwnd inflation by 3*SMSS and per duplicate ACK, or PRR, RFC 6937). While
 *    in recovery TCP may set cc->cwnd_bytes itself; on_exit_recovery() then sets it back
 *    from the algorithm's point of view.
 *  - The algorithm owns cwnd_bytes and ssthresh_bytes outside recovery: slow start,
 *    congestion avoidance, the reductions on a congestion event and on RTO.
 *  - The send window TCP uses is min(cwnd_bytes, peer's window) - bytes in flight.
 *
 * Algorithms: "newreno" (RFC 5681 + RFC 3465 ABC) and "cubic" (RFC 9438, the default as in
 * Linux). Both use slow start per RFC 5681 §3.1 with appropriate byte counting (RFC 3465
 * §2.2, L = 2*SMSS), the RFC 6928 initial window, and grow cwnd only while it is actually
 * used: an ACK grows cwnd only when bytes_in_flight >= cwnd/2 (RFC 7661 §4.1's "validated"
 * cwnd; it also is RFC 9438 §4.6's requirement on implementations that compute ssthresh
 * from cwnd rather than flight size).
 *
 * Pure: no clock reads (now_ns is passed in, any monotonic origin), no allocation, no
 * globals except the const ops tables. Units are in the names: bytes, us, ns. */
#ifndef USTACK_TCP_CC_H
#define USTACK_TCP_CC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tcp_cc;

/* Every hook is required in an ops table; tcp_cc_*() wrappers below call them. cc->mss may
 * be updated by TCP (path MTU change); windows stay in bytes. */
struct tcp_cc_ops {
	const char *name; /* "newreno", "cubic" */
	/* Sets mss, the initial window (tcp_cc_initial_window_bytes()), ssthresh "arbitrarily
	 * high" (UINT32_MAX, RFC 5681 §3.1) and the algorithm's state. mss is the SMSS: the
	 * largest segment payload TCP will send (MSS option and MTU considered, TCP options
	 * such as timestamps subtracted). mss 0 is treated as 536 (RFC 9293 §3.7.1 default). */
	void (*init)(struct tcp_cc *cc, uint32_t mss, uint64_t now_ns);
	/* An ACK that advanced SND.UNA, except during fast recovery (after an RTO it is
	 * called as usual: that is the slow start from the loss window). acked_bytes newly
	 * acknowledged (SACKed bytes not counted), bytes_in_flight the
	 * flight size just BEFORE this ACK (so it includes acked_bytes), rtt_us the latest RTT
	 * sample or, better, SRTT (0: unknown; CUBIC then aims at W_cubic(t) rather than
	 * W_cubic(t + RTT)). Not called for duplicate ACKs. */
	void (*on_ack)(struct tcp_cc *cc, uint32_t acked_bytes, uint32_t bytes_in_flight,
		       uint64_t rtt_us, uint64_t now_ns);
	/* A congestion event: fast retransmit (third duplicate ACK / SACK loss detection,
	 * RFC 6675) or an ECN echo (RFC 3168). Sets ssthresh (NewReno: max(FlightSize/2,
	 * 2*SMSS), RFC 5681 eq. 4 and RFC 6582 §3.2 step 2; CUBIC: cwnd*0.7, RFC 9438 §4.6) and
	 * cwnd = ssthresh. TCP adds the RFC 6582 inflation (3*SMSS) itself if it wants it.
	 * Call once per recovery episode. */
	void (*on_enter_recovery)(struct tcp_cc *cc, uint32_t bytes_in_flight, uint64_t now_ns);
	/* Fast recovery ended (an ACK covered the recover point, RFC 6582 §3.2 step 3).
	 * bytes_in_flight is the flight size after that ACK (unused by both algorithms).
	 * cwnd = ssthresh, RFC 6582 §3.2 step 3 option (2), as Linux: option (1) avoids a
	 * burst but leaves 2*SMSS after a full ACK, where one more loss costs an RTO. */
	void (*on_exit_recovery)(struct tcp_cc *cc, uint32_t bytes_in_flight, uint64_t now_ns);
	/* The retransmission timer expired. first: true for the first expiry of a loss episode
	 * (the RTO that retransmits SND.UNA for the first time), false for further backed-off
	 * expiries of the same segment: RFC 5681 §3.1, "when ... the given segment has
	 * already been retransmitted by way of the retransmission timer at least once, the
	 * value of ssthresh is held constant".
	 * Sets cwnd to the loss window, 1*SMSS (RFC 5681 §3.1); on the first expiry also
	 * ssthresh (NewReno: max(FlightSize/2, 2*SMSS); CUBIC: cwnd*0.7 with the W_max update,
	 * RFC 9438 §4.8). If the RTO later proves spurious TCP may restore its saved copy of
	 * the struct tcp_cc (RFC 5682/4015 undo): the state is plain data, copyable. */
	void (*on_rto)(struct tcp_cc *cc, uint32_t bytes_in_flight, bool first, uint64_t now_ns);
	/* TCP is about to send new data after idle_ns with nothing in flight (optional to
	 * call; rto_ns is the current RTO). RFC 5681 §4.1: after an idle period longer than
	 * the RTO, cwnd = min(IW, cwnd), the restart window; ssthresh is kept. CUBIC also
	 * moves its epoch start forward by the idle time so that W_cubic(t) does not leap
	 * after a pause (RFC 9438 §5.8: t excludes application-limited periods; Linux does
	 * the same on CA_EVENT_TX_START). */
	void (*on_idle_restart)(struct tcp_cc *cc, uint64_t idle_ns, uint64_t rto_ns,
				uint64_t now_ns);
};

/* NewReno state (RFC 5681 §3.1 congestion avoidance by byte counting, RFC 3465 §2.1). */
struct tcp_cc_newreno {
	uint32_t bytes_acked; /* acked in congestion avoidance since the last +SMSS */
};

/* CUBIC state (RFC 9438 §4). Windows in segments (double), as in the RFC's formulas. */
struct tcp_cc_cubic {
	double w_max_seg;      /* W_max: cwnd just before the last reduction (after fast
				* convergence), segments; 0 before the first event */
	double k_s;	       /* K, seconds (RFC 9438 eq. 2) */
	double cwnd_epoch_seg; /* cwnd at the start of the congestion avoidance epoch */
	double w_est_seg;      /* W_est, the Reno-friendly estimate (RFC 9438 §4.3) */
	double cwnd_prior_seg; /* cwnd before the last reduction, for alpha_cubic's switch */
	double frac_bytes;     /* fractional cwnd growth carried between ACKs */
	uint64_t epoch_start_ns; /* start of the current congestion avoidance epoch */
	bool in_epoch;		 /* epoch_start_ns is valid */
	bool after_rto;		 /* next epoch: K = 0, W_max = cwnd (RFC 9438 §4.8) */
};

struct tcp_cc {
	const struct tcp_cc_ops *ops;
	uint32_t cwnd_bytes;	 /* congestion window, RFC 5681 cwnd */
	uint32_t ssthresh_bytes; /* slow start threshold, RFC 5681 ssthresh */
	uint32_t mss;		 /* SMSS in bytes */
	union {
		struct tcp_cc_newreno newreno;
		struct tcp_cc_cubic cubic;
		uint64_t opaque[16]; /* room for other algorithms; private to the algorithm */
	} u;
};

extern const struct tcp_cc_ops tcp_cc_newreno_ops;
extern const struct tcp_cc_ops tcp_cc_cubic_ops;

#define TCP_CC_DEFAULT_NAME "cubic"

/* The ops table called name, NULL when unknown; name NULL: the default (CUBIC). */
const struct tcp_cc_ops *tcp_cc_find(const char *name);

/* RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)) bytes. init() sets it; if the SYN or
 * SYN-ACK had to be retransmitted, TCP sets cwnd_bytes = mss afterwards (RFC 6928 §2,
 * RFC 5681 §3.1: the window is then 1 segment). */
uint32_t tcp_cc_initial_window_bytes(uint32_t mss);

/* cwnd never grows beyond this: the largest window RFC 7323 §2.3 allows (2^30). */
#define TCP_CC_MAX_CWND_BYTES (1u << 30)

/* For algorithm implementations: RFC 5681 §3.1 slow start with RFC 3465 §2.2 byte
 * counting, cwnd += min(acked_bytes, L) with L = 2*SMSS, stopping at ssthresh. Returns the
 * acked bytes left over once cwnd reached ssthresh (for congestion avoidance), else 0. */
uint32_t tcp_cc_slow_start(struct tcp_cc *cc, uint32_t acked_bytes);
/* For algorithm implementations: RFC 5681 §4.1 restart window, cwnd = min(IW, cwnd) when
 * idle_ns > rto_ns. */
void tcp_cc_restart_window(struct tcp_cc *cc, uint64_t idle_ns, uint64_t rto_ns);
/* For algorithm implementations: RFC 7661 §4.1: a cwnd less than half used is not
 * validated and must not grow. */
static inline bool tcp_cc_is_cwnd_limited(const struct tcp_cc *cc, uint32_t bytes_in_flight)
{
	return bytes_in_flight >= cc->cwnd_bytes / 2;
}

/* true while in slow start (RFC 5681 §3.1: cwnd < ssthresh). */
static inline bool tcp_cc_in_slow_start(const struct tcp_cc *cc)
{
	return cc->cwnd_bytes < cc->ssthresh_bytes;
}

/* Binds ops (NULL: the default, CUBIC) and runs its init. Always 0 (int for symmetry with
 * the stack's other init functions). */
static inline int tcp_cc_init(struct tcp_cc *cc, const struct tcp_cc_ops *ops, uint32_t mss,
			      uint64_t now_ns)
{
	cc->ops = ops ? ops : tcp_cc_find(NULL);
	cc->ops->init(cc, mss, now_ns);
	return 0;
}

static inline void tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked_bytes,
				 uint32_t bytes_in_flight, uint64_t rtt_us, uint64_t now_ns)
{
	cc->ops->on_ack(cc, acked_bytes, bytes_in_flight, rtt_us, now_ns);
}

static inline void tcp_cc_on_enter_recovery(struct tcp_cc *cc, uint32_t bytes_in_flight,
					    uint64_t now_ns)
{
	cc->ops->on_enter_recovery(cc, bytes_in_flight, now_ns);
}

static inline void tcp_cc_on_exit_recovery(struct tcp_cc *cc, uint32_t bytes_in_flight,
					   uint64_t now_ns)
{
	cc->ops->on_exit_recovery(cc, bytes_in_flight, now_ns);
}

static inline void tcp_cc_on_idle_restart(struct tcp_cc *cc, uint64_t idle_ns,
					  uint64_t rto_ns, uint64_t now_ns)
{
	cc->ops->on_idle_restart(cc, idle_ns, rto_ns, now_ns);
}

static inline void tcp_cc_on_rto(struct tcp_cc *cc, uint32_t bytes_in_flight, bool first,
				 uint64_t now_ns)
{
	cc->ops->on_rto(cc, bytes_in_flight, first, now_ns);
}

#endif
