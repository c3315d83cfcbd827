/* TCP timers: retransmission (RFC 6298), persist (RFC 9293 §3.8.6.1), delayed ACK
 * (RFC 1122 §4.2.3.2), keepalive (RFC 1122 §4.2.3.6, design.md §2), TIME-WAIT (2MSL).
 *
 * Each connection keeps one deadline per timer; the earliest is its key in a binary
 * min-heap of connections, so tcp_next_deadline() is O(1) and arming a timer O(log n). */
#include <errno.h>
#include <stdlib.h>

#include "tcp_var.h"

/* ---- the heap ------------------------------------------------------------------------ */

static void heap_swap(struct tcp *t, size_t i, size_t j)
{
	struct tcp_sock *a = t->heap[i], *b = t->heap[j];
	t->heap[i] = b;
	t->heap[j] = a;
	b->heap_idx = i;
	a->heap_idx = j;
}

static void heap_up(struct tcp *t, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (t->heap[p]->deadline <= t->heap[i]->deadline)
			break;
		heap_swap(t, i, p);
		i = p;
	}
}

static void heap_down(struct tcp *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->heap_len && t->heap[l]->deadline < t->heap[m]->deadline)
			m = l;
		if (r < t->heap_len && t->heap[r]->deadline < t->heap[m]->deadline)
			m = r;
		if (m == i)
			return;
		heap_swap(t, i, m);
		i = m;
	}
}

void tcp_timer_heap_remove(struct tcp_sock *s)
{
	struct tcp *t = s->tcp;
	size_t i = s->heap_idx;
	if (i == SIZE_MAX)
		return;
	s->heap_idx = SIZE_MAX;
	t->heap_len--;
	if (i == t->heap_len)
		return;
	t->heap[i] = t->heap[t->heap_len];
	t->heap[i]->heap_idx = i;
	heap_up(t, i);
	heap_down(t, t->heap[i]->heap_idx);
}

/* Puts s at its place in the heap after its deadline changed. */
static void heap_update(struct tcp_sock *s)
{
	struct tcp *t = s->tcp;
	uint64_t d = UINT64_MAX;
	for (int i = 0; i < TCP_T_COUNT; i++)
		if (s->timer[i] && s->timer[i] < d)
			d = s->timer[i];
	s->deadline = d;
	if (d == UINT64_MAX || s->released) {
		tcp_timer_heap_remove(s);
		return;
	}
	if (s->heap_idx == SIZE_MAX) {
		if (t->heap_len == t->heap_cap) {
			size_t nc = t->heap_cap ? t->heap_cap * 2 : 64;
			struct tcp_sock **nh = realloc(t->heap, nc * sizeof(*nh));
			if (!nh)
				return; /* the timer is lost; the connection stalls but no crash */
			t->heap = nh;
			t->heap_cap = nc;
		}
		s->heap_idx = t->heap_len;
		t->heap[t->heap_len++] = s;
		heap_up(t, s->heap_idx);
		return;
	}
	heap_up(t, s->heap_idx);
	heap_down(t, s->heap_idx);
}

void tcp_timer_set(struct tcp_sock *s, enum tcp_timer which, uint64_t when_ns)
{
	if (when_ns == 0)
		when_ns = 1;
	if (s->timer[which] == when_ns)
		return;
	s->timer[which] = when_ns;
	heap_update(s);
}

void tcp_timer_stop(struct tcp_sock *s, enum tcp_timer which)
{
	if (!s->timer[which])
		return;
	s->timer[which] = 0;
	heap_update(s);
}

void tcp_timer_stop_all(struct tcp_sock *s)
{
	for (int i = 0; i < TCP_T_COUNT; i++)
		s->timer[i] = 0;
	heap_update(s);
}

/* ---- RTO (RFC 6298) ------------------------------------------------------------------ */

static uint32_t clamp_rto(const struct tcp *t, uint64_t ms)
{
	if (ms < t->rto_min_ms)
		ms = t->rto_min_ms;
	if (ms > t->rto_max_ms)
		ms = t->rto_max_ms;
	return (uint32_t)ms;
}

void tcp_rtt_sample(struct tcp_sock *s, uint32_t rtt_us)
{
	if (rtt_us == 0)
		rtt_us = 1;
	if (s->srtt_us == 0) {
		/* §2.2: the first measurement. */
		s->srtt_us = rtt_us;
		s->rttvar_us = rtt_us / 2;
	} else {
		/* §2.3, alpha 1/8, beta 1/4; in 64 bits: 7 * SRTT wraps 32 bits above ~10
		 * minutes, which a peer's TSecr can claim. The results fit in 32 bits again. */
		uint64_t srtt = s->srtt_us, var = s->rttvar_us;
		uint64_t delta = srtt > rtt_us ? srtt - rtt_us : rtt_us - srtt;
		s->rttvar_us = (uint32_t)((3 * var + delta) / 4);
		s->srtt_us = (uint32_t)((7 * srtt + rtt_us) / 8);
	}
	/* RTO = SRTT + max(G, 4 * RTTVAR), G = 1 ms (our clock granularity). */
	uint64_t var = 4ull * s->rttvar_us;
	if (var < 1000)
		var = 1000;
	s->rto_ms = clamp_rto(s->tcp, (s->srtt_us + var + 999) / 1000);
}

uint32_t tcp_rto_backed_off_ms(const struct tcp_sock *s)
{
	uint64_t ms = s->rto_ms;
	unsigned shift = s->rexmt_shift > 20 ? 20 : s->rexmt_shift;
	ms <<= shift; /* §5.5: back off the timer */
	return clamp_rto(s->tcp, ms);
}

void tcp_rearm_rexmt(struct tcp_sock *s)
{
	if (s->snd_una == s->snd_max && s->state != TCP_STATE_SYN_SENT &&
	    s->state != TCP_STATE_SYN_RECEIVED) {
		tcp_timer_stop(s, TCP_T_REXMT); /* §5.2: all data acknowledged */
		return;
	}
	tcp_timer_set(s, TCP_T_REXMT,
		      tcp_now(s) + (uint64_t)tcp_rto_backed_off_ms(s) * NS_PER_MS);
}

static bool keepalive_state(enum tcp_state st)
{
	return st == TCP_STATE_ESTABLISHED || st == TCP_STATE_CLOSE_WAIT ||
	       st == TCP_STATE_FIN_WAIT_1 || st == TCP_STATE_FIN_WAIT_2;
}

void tcp_rearm_keepalive(struct tcp_sock *s)
{
	if (!s->keepalive || !keepalive_state(s->state)) {
		tcp_timer_stop(s, TCP_T_KEEP);
		return;
	}
	uint64_t base = s->last_rcv_ns ? s->last_rcv_ns : tcp_now(s);
	if (s->keep_probes > 0)
		return; /* probing: the keepalive timer itself paces the probes */
	tcp_timer_set(s, TCP_T_KEEP, base + (uint64_t)s->keep_idle_s * NS_PER_S);
}

/* ---- expiries ------------------------------------------------------------------------ */

static int timeout_err(const struct tcp_sock *s)
{
	/* Linux reports the last ICMP soft error instead of a bare timeout. Only a recent
	 * one is left: forward progress clears it (tcp_input.c), as Linux's sk_err_soft. */
	return s->soft_err ? s->soft_err : ETIMEDOUT;
}

static bool user_timeout_passed(const struct tcp_sock *s, uint64_t since_ns)
{
	return s->user_timeout_ms && since_ns &&
	       tcp_now(s) - since_ns >= (uint64_t)s->user_timeout_ms * NS_PER_MS;
}

/* RFC 1122 §4.2.2.17: probing goes on as long as the peer answers; an acceptable
 * segment received since the last zero-window probe answered them all. */
static void probe_forget_answered(struct tcp_sock *s)
{
	if (s->probes_out && s->last_rcv_ns >= s->probe_last_ns) {
		s->probes_out = 0;
		s->probe_first_ns = 0;
	}
}

/* Before another zero-window probe. Unanswered probes end the connection after
 * tcp_retries2 of them (as Linux tcp_probe_timer), or once the user timeout passed since
 * the first (RFC 5482; Linux counts from the first probe even when answered, which drops
 * a live peer: issue 10 item 4). Returns true if dropped. */
static bool probe_give_up(struct tcp_sock *s)
{
	probe_forget_answered(s);
	if (user_timeout_passed(s, s->probe_first_ns)) {
		STAT_INC(s->st, TcpExtTCPAbortOnUserTimeout);
	} else if (s->probes_out >= s->tcp->retries2) {
		STAT_INC(s->st, TcpExtTCPAbortOnTimeout);
	} else {
		return false;
	}
	tcp_send_rst(s);
	tcp_drop(s, timeout_err(s));
	return true;
}

static void probe_sent(struct tcp_sock *s)
{
	uint64_t now = tcp_now(s);
	if (s->probes_out++ == 0)
		s->probe_first_ns = now;
	s->probe_last_ns = now;
}

static void rexmt_expired(struct tcp_sock *s)
{
	struct tcp *t = s->tcp;
	struct stack *st = s->st;
	uint64_t now = tcp_now(s);

	STAT_INC(st, TcpExtTCPTimeouts);
	if (s->state == TCP_STATE_SYN_SENT || s->state == TCP_STATE_SYN_RECEIVED) {
		unsigned limit = s->state == TCP_STATE_SYN_SENT ? t->syn_retries
								 : t->synack_retries;
		if (s->rexmt_shift >= limit ||
		    (s->user_timeout_ms && s->una_since_ns &&
		     now - s->una_since_ns >= (uint64_t)s->user_timeout_ms * NS_PER_MS)) {
			tcp_drop(s, timeout_err(s));
			return;
		}
		s->rexmt_shift++;
		s->rtt_timing = false;
		/* Backed off from the initial RTO (§5.5); RFC 6298 §5.7's 3 s for the data
		 * that follows is set when the handshake completes (tcp_input.c connected). */
		tcp_send_segment(s, s->iss, 0,
				 s->state == TCP_STATE_SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK);
		tcp_rearm_rexmt(s);
		return;
	}
	if (s->snd_una == s->snd_max)
		return; /* nothing outstanding (raced with an ACK) */
	if (tcp_orphan_out_of_memory(s))
		return;
	/* The peer shrank its window to zero with data (or our FIN) in flight: what we
	 * resend are zero-window probes, kept up while answered (RFC 1122 §4.2.2.17, as
	 * Linux tcp_retransmit_timer), not retransmissions that count to tcp_retries2.
	 * Not for an orphan: nobody waits for its data. */
	bool zero_wnd = s->snd_wnd == 0 && !s->orphan;
	if (zero_wnd && probe_give_up(s))
		return;
	if (!zero_wnd && s->probe_last_ns) {
		/* The window opened again. The probes were no retransmissions (Linux does not
		 * count them either): only the unanswered ones carry over, to the retry count
		 * and to the user timeout's start. */
		probe_forget_answered(s);
		s->rexmt_shift = s->probes_out;
		s->una_since_ns = s->probes_out ? s->probe_first_ns : now;
		s->probes_out = 0;
		s->probe_first_ns = s->probe_last_ns = 0;
	}
	if (!zero_wnd && user_timeout_passed(s, s->una_since_ns)) {
		STAT_INC(st, TcpExtTCPAbortOnUserTimeout);
		tcp_drop(s, timeout_err(s));
		return;
	}
	if (!zero_wnd && s->rexmt_shift >= t->retries2) {
		STAT_INC(st, TcpExtTCPAbortOnTimeout);
		if (tcp_synchronized(s->state))
			tcp_send_rst(s);
		tcp_drop(s, timeout_err(s));
		return;
	}
	/* RFC 5681 §3.1 and RFC 6298 §5.4-5.6: collapse cwnd, retransmit the head, back
	 * off. Go-back-N from SND.UNA, as BSD: what the peer already has it acknowledges. */
	s->in_recovery = false; /* first: ssthresh from the flight, not from RFC 6675 pipe */
	tcp_cc_on_rto(&s->cc, tcp_in_flight(s), s->rexmt_shift == 0, now);
	s->rexmt_shift++;
	s->dupacks = 0;
	s->recover = s->snd_max; /* RFC 6582 §3.2 step 1 guard after a timeout */
	s->recover_passed = false;
	/* RFC 6675 §5.1: after the first timeout SACKed data is not sent again; if the
	 * timer fires again the receiver may have reneged (RFC 2018 §8): forget it all. */
	if (s->rexmt_shift > 1)
		s->nsacked = 0;
	s->rtt_timing = false;	 /* Karn */
	s->snd_nxt = s->snd_una; /* the FIN, if sent, goes again after the data */
	tcp_output(s);
	if (s->snd_nxt == s->snd_una) {
		/* Nothing fitted (the peer's window closed with data in flight): resend the
		 * head byte (or the FIN) anyway, a probe that draws an ACK with the window. */
		size_t n = ring_used(&s->sndbuf) ? 1 : 0;
		uint8_t fl = TCP_ACK;
		if (n == 0 && s->fin_sent)
			fl |= TCP_FIN;
		tcp_send_segment(s, s->snd_una, n, fl);
	}
	if (zero_wnd)
		probe_sent(s);
	tcp_rearm_rexmt(s);
}

static void persist_expired(struct tcp_sock *s)
{
	if (s->state < TCP_STATE_ESTABLISHED || s->snd_una != s->snd_max)
		return; /* something is in flight: the retransmission timer rules */
	if (tcp_orphan_out_of_memory(s) || probe_give_up(s))
		return;
	if (s->orphan && s->persist_shift >= s->tcp->retries2) {
		/* Nobody waits for this data: do not probe a closed window forever (as Linux
		 * bounds orphans by tcp_orphan_retries). */
		STAT_INC(s->st, TcpExtTCPAbortOnTimeout);
		tcp_send_rst(s);
		tcp_drop(s, ETIMEDOUT);
		return;
	}
	if (s->snd_wnd > 0) {
		/* A window too small for SWS avoidance: send what fits anyway. */
		s->force_send = true;
		tcp_output(s);
		s->force_send = false;
		if (s->snd_una != s->snd_max)
			return;
	}
	/* A probe the peer must answer with its window: SEQ = SND.UNA - 1, no data
	 * (Linux tcp_xmit_probe_skb); it is below the window, so an ACK comes back. */
	STAT_INC(s->st, TcpExtTCPWinProbe);
	tcp_send_segment(s, s->snd_una - 1, 0, TCP_ACK);
	probe_sent(s);
	if (s->persist_shift < 16)
		s->persist_shift++;
	uint64_t ms = (uint64_t)(s->rto_ms < TCP_PERSIST_MIN_MS ? TCP_PERSIST_MIN_MS : s->rto_ms)
		      << s->persist_shift;
	if (ms > TCP_PERSIST_MAX_MS)
		ms = TCP_PERSIST_MAX_MS;
	tcp_timer_set(s, TCP_T_PERSIST, tcp_now(s) + ms * NS_PER_MS);
}

static void keep_expired(struct tcp_sock *s)
{
	uint64_t now = tcp_now(s);
	if (!s->keepalive || !keepalive_state(s->state))
		return;
	/* Only an idle connection is probed: outstanding data has its own timer. */
	if (s->snd_una != s->snd_max || ring_used(&s->sndbuf) > 0) {
		s->keep_probes = 0;
		tcp_timer_set(s, TCP_T_KEEP, now + (uint64_t)s->keep_idle_s * NS_PER_S);
		return;
	}
	uint64_t idle = now - (s->last_rcv_ns ? s->last_rcv_ns : now);
	uint64_t idle_ns = (uint64_t)s->keep_idle_s * NS_PER_S;
	if (s->keep_probes == 0 && idle < idle_ns) {
		tcp_timer_set(s, TCP_T_KEEP, s->last_rcv_ns + idle_ns);
		return;
	}
	if (s->keep_probes >= s->keep_cnt) {
		/* design.md §2: every probe unanswered. */
		STAT_INC(s->st, TcpExtTCPKeepAliveDrops);
		tcp_send_rst(s);
		tcp_drop(s, ETIMEDOUT);
		return;
	}
	/* design.md §2: SEQ = SND.NXT - 1, no data (RFC 1122 §4.2.3.6). */
	STAT_INC(s->st, TcpExtTCPKeepAliveProbes);
	tcp_send_segment(s, s->snd_nxt - 1, 0, TCP_ACK);
	s->keep_probes++;
	tcp_timer_set(s, TCP_T_KEEP, now + (uint64_t)s->keep_intvl_s * NS_PER_S);
}

static void msl_expired(struct tcp_sock *s)
{
	if (s->state == TCP_STATE_TIME_WAIT)
		STAT_INC(s->st, TcpExtTW);
	tcp_drop(s, 0);
}

static void delack_expired(struct tcp_sock *s)
{
	if (s->state < TCP_STATE_ESTABLISHED && s->state != TCP_STATE_SYN_RECEIVED)
		return;
	STAT_INC(s->st, TcpExtDelayedACKs);
	tcp_send_ack(s);
}

void tcp_poll(struct stack *st, uint64_t now_ns)
{
	struct tcp *t = st->tcp;
	if (!t)
		return;
	tcp_enter(t);
	/* Bounded: each socket is handled at most a few times per call. */
	size_t budget = t->heap_len * 4 + 16;
	while (t->heap_len > 0 && t->heap[0]->deadline <= now_ns && budget-- > 0) {
		struct tcp_sock *s = t->heap[0];
		for (int i = 0; i < TCP_T_COUNT && !s->released; i++) {
			if (!s->timer[i] || s->timer[i] > now_ns)
				continue;
			s->timer[i] = 0;
			switch ((enum tcp_timer)i) {
			case TCP_T_REXMT: rexmt_expired(s); break;
			case TCP_T_PERSIST: persist_expired(s); break;
			case TCP_T_DELACK: delack_expired(s); break;
			case TCP_T_KEEP: keep_expired(s); break;
			case TCP_T_2MSL: msl_expired(s); break;
			case TCP_T_NOTIFY: tcp_notify_readable(s); break;
			case TCP_T_COUNT: break;
			}
		}
		if (!s->released)
			heap_update(s);
	}
	tcp_leave(t);
}

uint64_t tcp_next_deadline(const struct stack *st)
{
	const struct tcp *t = st->tcp;
	if (!t || t->heap_len == 0)
		return UINT64_MAX;
	return t->heap[0]->deadline;
}
