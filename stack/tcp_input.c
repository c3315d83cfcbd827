/* TCP input: segment arrival processing (RFC 9293 §3.10.7) with RFC 5961 (blind attack
 * mitigations), RFC 7323 (PAWS), RFC 5681/6582 (fast retransmit, NewReno), RFC 2018 SACK,
 * and listeners with SYN cookies (RFC 4987). Also received ICMP errors (RFC 5927, RFC 1191).
 */
#include <errno.h>
#include <string.h>

#include "tcp_var.h"

/* One received segment, trimmed as processing goes. */
struct seg {
	const struct ipv4_pkt *p;
	struct tcp_hdr h;
	uint32_t seq;
	uint8_t flags;
	const uint8_t *data;
	uint32_t len;  /* data bytes */
	bool syn_wnd;  /* the SYN bit was stripped: the window field is unscaled */
};

static void tcp_conn_input(struct tcp_sock *s, struct seg *g);

static uint32_t seg_len(const struct seg *g)
{
	return g->len + ((g->flags & TCP_SYN) ? 1 : 0) + ((g->flags & TCP_FIN) ? 1 : 0);
}

/* RFC 5961 §7 challenge ACKs, limited as Linux does since CVE-2016-5696: first per
 * connection (one per TCP_CHACK_CONN_INTERVAL_NS, tcp_invalid_ratelimit), so that RSTs
 * on one connection cannot use up what another needs; then a global budget per second
 * drawn at random from [limit/2, limit * 3/2), so that its exhaustion, which a blind
 * attacker can observe, says nothing exact (tcp_send_challenge_ack). */
static void challenge_ack(struct tcp_sock *s)
{
	struct tcp *t = s->tcp;
	uint64_t now = tcp_now(s);
	if (s->chack_last_ns && now - s->chack_last_ns < TCP_CHACK_CONN_INTERVAL_NS) {
		STAT_INC(s->st, TcpExtTCPACKSkippedChallenge);
		return;
	}
	s->chack_last_ns = now;
	uint64_t sec = now / NS_PER_S;
	if (sec != t->chack_sec) {
		t->chack_sec = sec;
		t->chack_left = (t->chack_limit + 1) / 2 + rng_below(&s->st->rng, t->chack_limit);
	}
	if (t->chack_left == 0) {
		STAT_INC(s->st, TcpExtTCPChallengeACKLimited);
		return;
	}
	t->chack_left--;
	STAT_INC(s->st, TcpExtTCPChallengeACK);
	tcp_send_ack(s);
}

/* The peer's window from a segment: RFC 7323 §2.2-2.3, never scaled when SYN is set. */
static uint32_t seg_window(const struct tcp_sock *s, const struct seg *g)
{
	if ((g->flags & TCP_SYN) || g->syn_wnd)
		return g->h.wnd;
	return (uint32_t)g->h.wnd << s->snd_ws;
}

/* ---- options at connection setup ----------------------------------------------------- */

static void set_send_mss(struct tcp_sock *s, const struct tcp_opts *o)
{
	/* RFC 9293 §3.7.1: 536 when the peer sends none; RFC 6691: the option excludes
	 * TCP options, so headers are subtracted when segments are built. */
	uint32_t peer = o->has_mss ? o->mss : TCP_DEFAULT_MSS;
	uint32_t mss = s->adv_mss;
	if (peer < mss)
		mss = peer;
	uint32_t pm = tcp_mss_for_mtu(s->pmtu);
	if (pm < mss)
		mss = pm;
	if (mss < TCP_MIN_MSS)
		mss = TCP_MIN_MSS;
	s->mss = (uint16_t)mss;
}

/* Less the SACK blocks we send while holding out-of-order data (RFC 6691 §2). */
static uint32_t smss(const struct tcp_sock *s)
{
	return tcp_seg_payload_max(s);
}

static void negotiate(struct tcp_sock *s, const struct seg *g)
{
	const struct tcp_opts *o = &g->h.opts;
	/* RFC 7323 §2.2: window scaling only when both sides sent the option. */
	if (s->ws_ok && o->has_ws) {
		s->snd_ws = o->ws > TCP_WS_MAX ? TCP_WS_MAX : o->ws;
	} else {
		s->ws_ok = false;
		s->snd_ws = 0;
		s->rcv_ws = 0;
	}
	s->ts_ok = s->ts_ok && o->has_ts;
	if (s->ts_ok) {
		s->ts_recent = o->tsval;
		s->ts_recent_ns = tcp_now(s);
	}
	s->sack_ok = s->sack_ok && o->sack_perm;
	set_send_mss(s, o);
}

static void start_cc(struct tcp_sock *s)
{
	tcp_cc_init(&s->cc, s->cc_ops, smss(s), tcp_now(s));
	s->recover = s->iss;
	s->recover_passed = true;
	/* What the peer will send, until its segments say otherwise (Linux
	 * tcp_initialize_rcv_mss: the smaller of both MSS). */
	s->rcv_mss = smss(s);
}

/* ---- RTT ----------------------------------------------------------------------------- */

static void rtt_on_ack(struct tcp_sock *s, const struct seg *g, uint32_t ack)
{
	if (s->ts_ok && g->h.opts.has_ts && g->h.opts.tsecr != 0) {
		/* RFC 7323 §4.1: TSecr of an ACK that advances the window. */
		uint32_t ms = tcp_ts_now(s) - g->h.opts.tsecr;
		if (ms < 0x7fffffff / 1000) {
			tcp_rtt_sample(s, ms * 1000 + 500);
			s->rtt_timing = false;
			return;
		}
	}
	if (s->rtt_timing && SEQ_GT(ack, s->rtt_seq)) {
		uint64_t us = (tcp_now(s) - s->rtt_start_ns) / 1000;
		tcp_rtt_sample(s, us > 0xffffffffu ? 0xffffffffu : (uint32_t)us);
		s->rtt_timing = false;
	}
}

/* ---- SACK scoreboard (RFC 6675) ------------------------------------------------------ */

static void sb_add(struct tcp_sock *s, uint32_t l, uint32_t r)
{
	if (!SEQ_LT(l, r) || SEQ_LEQ(r, s->snd_una) || SEQ_GT(r, s->snd_max))
		return; /* RFC 2018 §8 / RFC 6675 §5: ignore blocks outside the flight */
	if (SEQ_LT(l, s->snd_una))
		l = s->snd_una;
	/* Merge with every overlapping or adjacent block, keeping the rest in order. */
	unsigned j = 0;
	for (unsigned i = 0; i < s->nsacked; i++) {
		struct tcp_sack_block b = s->sacked[i];
		if (SEQ_LEQ(b.left, r) && SEQ_LEQ(l, b.right)) {
			l = SEQ_MIN(l, b.left);
			r = SEQ_MAX(r, b.right);
			continue;
		}
		s->sacked[j++] = b;
	}
	s->nsacked = j;
	if (s->nsacked == TCP_SACK_SB_MAX)
		s->nsacked--; /* forget the highest block: it will be reported again */
	/* Keep sorted by left edge. */
	unsigned pos = s->nsacked;
	while (pos > 0 && SEQ_GT(s->sacked[pos - 1].left, l)) {
		s->sacked[pos] = s->sacked[pos - 1];
		pos--;
	}
	s->sacked[pos].left = l;
	s->sacked[pos].right = r;
	s->nsacked++;
}

static void sb_prune(struct tcp_sock *s)
{
	unsigned j = 0;
	for (unsigned i = 0; i < s->nsacked; i++) {
		struct tcp_sack_block b = s->sacked[i];
		if (SEQ_LEQ(b.right, s->snd_una))
			continue;
		if (SEQ_LT(b.left, s->snd_una))
			b.left = s->snd_una;
		s->sacked[j++] = b;
	}
	s->nsacked = j;
}

/* Bytes SACKed above seq. */
static uint32_t sb_sacked_above(const struct tcp_sock *s, uint32_t seq)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < s->nsacked; i++) {
		const struct tcp_sack_block *b = &s->sacked[i];
		if (SEQ_LEQ(b->right, seq))
			continue;
		n += b->right - SEQ_MAX(b->left, seq);
	}
	return n;
}

/* The first lost hole at or after seq: [*start, *end) not SACKed, with more than
 * (DupThresh - 1) * SMSS bytes SACKed above it (RFC 6675 §4 IsLost, NextSeg rule 1).
 * A hole with less above it may just be reordered or still in flight. */
static bool sb_next_hole(const struct tcp_sock *s, uint32_t seq, uint32_t *start,
			 uint32_t *end)
{
	for (unsigned i = 0; i < s->nsacked; i++) {
		const struct tcp_sack_block *b = &s->sacked[i];
		if (SEQ_LEQ(b->right, seq))
			continue;
		if (SEQ_LT(seq, b->left)) {
			if (sb_sacked_above(s, seq) <= 2 * smss(s))
				return false;
			*start = seq;
			*end = b->left;
			return true;
		}
		seq = b->right;
	}
	return false;
}

/* Retransmits up to one MSS from seq (data only; the FIN is resent by tcp_output). */
static void retransmit_at(struct tcp_sock *s, uint32_t seq, uint32_t max)
{
	size_t used = ring_used(&s->sndbuf);
	uint32_t off = seq - s->snd_buf_seq;
	if (off >= used) {
		if (s->fin_sent && seq == s->snd_buf_seq + (uint32_t)used)
			tcp_send_segment(s, seq, 0, TCP_ACK | TCP_FIN);
		return;
	}
	size_t len = used - off;
	if (len > max)
		len = max;
	if (len > smss(s))
		len = smss(s);
	tcp_send_segment(s, seq, len, TCP_ACK);
	s->rtt_timing = false; /* Karn */
}

/* RFC 6675 §5: in SACK recovery, fill holes while pipe < cwnd. */
static void sack_recovery_send(struct tcp_sock *s)
{
	uint32_t mss = smss(s);
	for (int guard = 0; guard < 64; guard++) {
		uint32_t pipe = tcp_in_flight(s);
		if (pipe + mss > s->cc.cwnd_bytes)
			break;
		uint32_t from = SEQ_GT(s->high_rxt, s->snd_una) ? s->high_rxt : s->snd_una;
		uint32_t hs, he;
		if (!sb_next_hole(s, from, &hs, &he))
			break;
		uint32_t n = he - hs;
		if (n > mss)
			n = mss;
		retransmit_at(s, hs, n);
		s->high_rxt = hs + n;
	}
}

/* ---- ACK processing ------------------------------------------------------------------ */

static void enter_recovery(struct tcp_sock *s)
{
	uint64_t now = tcp_now(s);
	STAT_INC(s->st, TcpExtTCPFastRetrans);
	/* RFC 5681 eq. 4 / RFC 6675 §5 (4.2): ssthresh from FlightSize, all data sent and
	 * not cumulatively acknowledged, not from pipe (which leaves out what is lost). */
	uint32_t flight_size = s->snd_nxt - s->snd_una;
	s->in_recovery = true;
	s->recover = s->snd_max;
	s->recover_passed = false;
	s->high_rxt = s->snd_una;
	tcp_cc_on_enter_recovery(&s->cc, flight_size, now);
	s->rtt_timing = false;
	if (s->sack_ok) {
		/* RFC 6675 §5 (4.2): the first segment presumed lost, then NextSeg. */
		STAT_INC(s->st, TcpExtTCPSackRecovery);
		retransmit_at(s, s->snd_una, smss(s));
		s->high_rxt = s->snd_una + smss(s);
		sack_recovery_send(s);
	} else {
		/* RFC 6582 §3.2 step 2-3: retransmit, cwnd = ssthresh + 3*SMSS. */
		retransmit_at(s, s->snd_una, smss(s));
		s->high_rxt = s->snd_una + smss(s);
		s->cc.cwnd_bytes = s->cc.ssthresh_bytes + 3 * smss(s);
	}
}

static void new_ack(struct tcp_sock *s, const struct seg *g, uint32_t ack)
{
	uint64_t now = tcp_now(s);
	uint32_t acked = ack - s->snd_una;
	uint32_t flight_before = tcp_in_flight(s);

	rtt_on_ack(s, g, ack);
	s->rexmt_shift = 0;
	s->persist_shift = 0;

	/* Drop the acknowledged data from the send buffer (not the SYN or FIN). */
	size_t used = ring_used(&s->sndbuf);
	if (SEQ_GT(ack, s->snd_buf_seq)) {
		uint32_t n = ack - s->snd_buf_seq;
		if (n > used)
			n = (uint32_t)used;
		ring_consume(&s->sndbuf, n);
		s->snd_buf_seq += n;
		tcp_mem_sync(s);
	}
	s->snd_una = ack;
	if (SEQ_LT(s->snd_nxt, s->snd_una))
		s->snd_nxt = s->snd_una;
	if (SEQ_LT(s->high_rxt, s->snd_una))
		s->high_rxt = s->snd_una;
	sb_prune(s);
	s->una_since_ns = now;
	/* Forward progress: an earlier ICMP soft error is no longer news (Linux clears
	 * sk_err_soft in tcp_ack). */
	s->soft_err = 0;
	/* RFC 6582: remember that recover was reached rather than compare with it later,
	 * when 2 GiB more would make sequence arithmetic read it as ahead again. */
	if (SEQ_GEQ(ack, s->recover))
		s->recover_passed = true;

	if (s->in_recovery) {
		if (SEQ_GEQ(ack, s->recover)) {
			/* RFC 6582 §3.2 step 3: full acknowledgment. */
			s->in_recovery = false;
			s->dupacks = 0;
			tcp_cc_on_exit_recovery(&s->cc, tcp_in_flight(s), now);
		} else {
			/* Partial ACK: retransmit the next hole, deflate by the amount acked. */
			STAT_INC(s->st, TcpExtTCPPartialAcks);
			if (s->sack_ok) {
				sack_recovery_send(s);
			} else {
				retransmit_at(s, s->snd_una, smss(s));
				if (s->cc.cwnd_bytes > acked)
					s->cc.cwnd_bytes -= acked;
				else
					s->cc.cwnd_bytes = 0;
				s->cc.cwnd_bytes += smss(s);
			}
		}
	} else {
		s->dupacks = 0;
		tcp_cc_on_ack(&s->cc, acked, flight_before, s->srtt_us, now);
	}
	/* RFC 6298 §5.2-5.3 */
	if (s->snd_una == s->snd_max)
		tcp_timer_stop(s, TCP_T_REXMT);
	else
		tcp_timer_set(s, TCP_T_REXMT,
			      now + (uint64_t)tcp_rto_backed_off_ms(s) * NS_PER_MS);
}

static void dup_ack(struct tcp_sock *s)
{
	s->dupacks++;
	if (s->in_recovery) {
		if (s->sack_ok) {
			sack_recovery_send(s);
		} else if (s->cc.cwnd_bytes + smss(s) <=
			   s->cc.ssthresh_bytes + (s->snd_max - s->snd_una)) {
			/* RFC 6582 §3.2 step 4: each duplicate ACK stands for a segment that
			 * left the network, and no more can leave than are outstanding; beyond
			 * that the ACKs are duplicated or forged (Linux bounds its Reno
			 * sacked_out by packets_out the same way). */
			s->cc.cwnd_bytes += smss(s);
		}
		return;
	}
	/* RFC 6675 §5: with SACK, loss is also declared when more than (DupThresh - 1) * SMSS
	 * bytes above SND.UNA were SACKed (IsLost), whatever the duplicate count.
	 * RFC 6582 §3.2 step 2: not again for data below the previous recovery point. */
	bool sack_loss = s->sack_ok && sb_sacked_above(s, s->snd_una) > 2 * smss(s);
	if ((s->dupacks == 3 || sack_loss) && s->recover_passed)
		enter_recovery(s);
}

/* ---- listeners ----------------------------------------------------------------------- */

static struct tcp_sock *new_child(struct tcp_sock *ls, const struct seg *g)
{
	struct stack *st = ls->st;
	struct tcp_sock *c = tcp_sock_alloc(st);
	if (!c)
		return NULL;
	c->sndbuf_size = ls->sndbuf_size;
	c->rcvbuf_size = ls->rcvbuf_size;
	c->cc_ops = ls->cc_ops;
	c->maxseg_user = ls->maxseg_user;
	tcp_inherit_opts(c, ls);
	c->laddr = g->p->h.dst;
	c->raddr = g->p->h.src;
	c->lport = g->h.dport;
	c->rport = g->h.sport;
	c->passive = true;
	/* The buffers wait for the handshake's end: a SYN flood costs no buffer memory. */
	c->bound = true;
	tcp_port_ref(ls->tcp, c->lport);
	c->parent = ls;
	tcp_sock_init_params(c);
	c->last_rcv_ns = tcp_now(c);
	return c;
}

/* The ACK that completes a handshake whose SYN-ACK was a SYN cookie (RFC 4987 §3.6): the
 * connection is rebuilt from the cookie (MSS) and the timestamp echo (window scale, SACK),
 * straight into ESTABLISHED. */
static void cookie_ack_input(struct tcp_sock *ls, struct seg *g, uint16_t mss)
{
	struct stack *st = ls->st;
	uint64_t now = st->now_ns;
	if (ls->acc_len >= ls->backlog) {
		STAT_INC(st, TcpExtListenOverflows);
		return;
	}
	struct tcp_sock *c = new_child(ls, g);
	if (c && tcp_sock_init_buffers(c) < 0) {
		tcp_sock_release(c);
		c = NULL;
	}
	if (!c) {
		STAT_INC(st, TcpExtListenDrops);
		return;
	}
	STAT_INC(st, TcpExtSyncookiesRecv);
	STAT_INC(st, TcpPassiveOpens);
	c->iss = g->h.ack - 1;
	c->irs = g->seq - 1;
	c->rcv_nxt = g->seq;
	c->rcv_adv = c->rcv_nxt + (uint32_t)(ls->rcvbuf_size > TCP_MAX_WIN ?
					     TCP_MAX_WIN : ls->rcvbuf_size);
	c->snd_una = c->snd_nxt = c->snd_max = g->h.ack;
	c->snd_buf_seq = g->h.ack;
	struct tcp_opts o = { .has_mss = true, .mss = mss };
	if (g->h.opts.has_ts) {
		struct tcp_syncookie_opts co;
		tcp_syncookie_tsecr_decode(g->h.opts.tsecr, &co);
		c->ts_ok = true;
		c->ts_recent = g->h.opts.tsval;
		c->ts_recent_ns = now;
		c->sack_ok = co.sack_ok;
		if (co.wscale_ok) {
			c->ws_ok = true;
			c->snd_ws = co.wscale;
		} else {
			c->rcv_ws = 0;
		}
	} else {
		c->rcv_ws = 0;
	}
	set_send_mss(c, &o);
	c->snd_wnd = (uint32_t)g->h.wnd << c->snd_ws;
	c->max_sndwnd = c->snd_wnd;
	c->snd_wl1 = g->seq;
	c->snd_wl2 = g->h.ack;
	start_cc(c);
	tcp_hash_insert(c);
	c->state = TCP_STATE_SYN_RECEIVED;
	ls->syn_len++; /* tcp_child_established takes it back */
	tcp_set_state(c, TCP_STATE_ESTABLISHED);
	tcp_child_established(c);
	/* Data or FIN in the ACK: processed as on an open connection. */
	if (!c->released && (g->len > 0 || (g->flags & TCP_FIN)))
		tcp_conn_input(c, g);
}

static void listen_input(struct tcp_sock *ls, struct seg *g)
{
	struct tcp *t = ls->tcp;
	struct stack *st = ls->st;
	const struct ipv4_pkt *p = g->p;
	uint64_t now = st->now_ns;

	if (g->flags & TCP_RST) {
		STAT_INC(st, TcpExtListenBadSegs); /* RFC 9293: ignored in LISTEN */
		return;
	}
	if (g->flags & TCP_ACK) {
		/* RFC 4987 §3.6: only while cookies were recently sent (Linux
		 * tcp_synq_no_recent_overflow); otherwise a cookie is never tried, so a
		 * listener that never overflowed cannot be entered by guessing one. */
		if (!(g->flags & TCP_SYN) && t->syncookies && ls->cookie_sent_ns &&
		    now - ls->cookie_sent_ns < TCP_SYNCOOKIE_RECENT_NS) {
			uint16_t mss;
			int ok = tcp_syncookie_check(t->cookie_key, p->h.dst, g->h.dport,
						     p->h.src, g->h.sport, g->seq - 1,
						     g->h.ack - 1, now, &mss);
			if (ok == 0) {
				cookie_ack_input(ls, g, mss);
				return;
			}
			STAT_INC(st, TcpExtSyncookiesFailed);
		}
		/* RFC 9293 §3.10.7.2: an ACK in LISTEN gets <SEQ=SEG.ACK><CTL=RST>. */
		tcp_send_reset_reply(t, p, &g->h, seg_len(g));
		return;
	}
	if (!(g->flags & TCP_SYN) || (g->flags & TCP_FIN)) {
		/* Neither SYN nor ACK, or SYN+FIN (nonsense that scanners send). */
		STAT_INC(st, TcpExtListenBadSegs);
		return;
	}
	if (ls->acc_len >= ls->backlog) {
		STAT_INC(st, TcpExtListenOverflows);
		return;
	}
	if (ls->syn_len >= t->syn_backlog || ls->syn_len >= ls->backlog * 2) {
		if (!t->syncookies) {
			STAT_INC(st, TcpExtListenDrops);
			return;
		}
		uint16_t peer_mss = g->h.opts.has_mss ? g->h.opts.mss : 0;
		uint32_t iss = tcp_syncookie_encode(t->cookie_key, p->h.dst, g->h.dport, p->h.src,
						    g->h.sport, g->seq, peer_mss, now, NULL);
		STAT_INC(st, TcpExtSyncookiesSent);
		ls->cookie_sent_ns = now;
		tcp_send_synack_cookie(ls, p, &g->h, iss);
		return;
	}
	struct tcp_sock *c = new_child(ls, g);
	if (!c) {
		STAT_INC(st, TcpExtListenDrops);
		return;
	}
	STAT_INC(st, TcpPassiveOpens);
	c->ws_ok = true;
	c->ts_ok = true;
	c->sack_ok = true;
	negotiate(c, g);
	c->iss = tcp_isn(t->isn_key, c->laddr, c->lport, c->raddr, c->rport, now);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_buf_seq = c->iss + 1;
	c->irs = g->seq;
	c->rcv_nxt = g->seq + 1;
	c->snd_wnd = g->h.wnd; /* RFC 7323 §2.2: never scaled in a SYN */
	c->max_sndwnd = c->snd_wnd;
	c->snd_wl1 = g->seq;
	c->snd_wl2 = c->iss;
	c->recover = c->iss;
	tcp_hash_insert(c);
	c->state = TCP_STATE_SYN_RECEIVED;
	ls->syn_len++;
	tcp_output(c);
}

/* ---- SYN-SENT ------------------------------------------------------------------------ */

/* The handshake is over (SYN-SENT or SYN-RECEIVED -> ESTABLISHED). */
static void connected(struct tcp_sock *s)
{
	bool syn_lost = s->rexmt_shift > 0; /* our SYN or SYN-ACK was retransmitted */
	tcp_set_state(s, TCP_STATE_ESTABLISHED);
	tcp_timer_stop(s, TCP_T_REXMT);
	s->rexmt_shift = 0;
	s->last_rcv_ns = tcp_now(s);
	s->soft_err = 0; /* the handshake got through: an ICMP error during it is old news */
	start_cc(s);
	if (syn_lost) {
		/* RFC 5681 §3.1: after a lost SYN or SYN-ACK the initial window is one
		 * segment. */
		s->cc.cwnd_bytes = smss(s);
		/* RFC 6298 §5.7: and data starts with an RTO of 3 s, unless the handshake
		 * still gave a valid RTT sample (a timestamp echo is unambiguous, RFC 7323
		 * §4; Karn's rule leaves none otherwise), as Linux's tcp_init_transfer. */
		if (s->srtt_us == 0 && s->rto_ms < TCP_RTO_SYN_FALLBACK_MS)
			s->rto_ms = TCP_RTO_SYN_FALLBACK_MS;
	}
	tcp_rearm_keepalive(s);
	if (s->shut_wr)
		tcp_set_state(s, TCP_STATE_FIN_WAIT_1);
}

static void syn_sent_input(struct tcp_sock *s, struct seg *g)
{
	uint32_t ack = g->h.ack;
	bool ack_ok = false;

	if (g->flags & TCP_ACK) {
		if (SEQ_LEQ(ack, s->iss) || SEQ_GT(ack, s->snd_max)) {
			STAT_INC(s->st, TcpExtSynSentBadSegs);
			if (!(g->flags & TCP_RST))
				tcp_send_reset_reply(s->tcp, g->p, &g->h, seg_len(g));
			return;
		}
		ack_ok = true;
	}
	if (g->flags & TCP_RST) {
		/* RFC 5961 §3.2 / RFC 9293: only with an acceptable ACK. */
		if (ack_ok)
			tcp_drop(s, ECONNREFUSED);
		else
			STAT_INC(s->st, TcpExtSynSentBadSegs);
		return;
	}
	if (!(g->flags & TCP_SYN)) {
		STAT_INC(s->st, TcpExtSynSentBadSegs);
		return;
	}
	s->irs = g->seq;
	s->rcv_nxt = g->seq + 1;
	/* Our SYN offered its (unscaled) window from the peer's ISN + 1, which we only learn
	 * now: without this right edge, text or a FIN on the SYN-ACK would be out of window
	 * (RFC 9293 §3.10.7.3: such text is processed from the sixth step on). */
	s->rcv_adv = s->rcv_nxt;
	uint32_t syn_wnd = tcp_rcv_window(s);
	s->rcv_adv += syn_wnd > TCP_MAX_WIN ? TCP_MAX_WIN : syn_wnd;
	negotiate(s, g);
	if (ack_ok) {
		rtt_on_ack(s, g, ack);
		s->snd_una = ack;
		if (SEQ_LT(s->snd_nxt, ack))
			s->snd_nxt = ack;
		s->snd_wnd = (uint32_t)g->h.wnd; /* unscaled in the SYN-ACK */
		s->max_sndwnd = s->snd_wnd;
		s->snd_wl1 = g->seq;
		s->snd_wl2 = ack;
		connected(s);
		s->ack_now = true;
		if (s->ops && s->ops->connected && !s->orphan)
			s->ops->connected(s, s->user);
		if (s->released || s->state == TCP_STATE_CLOSED)
			return;
		/* Data or FIN with the SYN-ACK: go on past the SYN. */
		if (g->len > 0 || (g->flags & TCP_FIN)) {
			g->seq++;
			g->flags &= (uint8_t)~TCP_SYN;
			g->syn_wnd = true;
			tcp_conn_input(s, g);
			return;
		}
		tcp_output(s);
		return;
	}
	/* Simultaneous open (RFC 9293 §3.5 figure 7): SYN-RECEIVED, send SYN,ACK. */
	s->snd_wnd = g->h.wnd;
	s->max_sndwnd = s->snd_wnd;
	s->snd_wl1 = g->seq;
	s->snd_wl2 = s->iss;
	tcp_set_state(s, TCP_STATE_SYN_RECEIVED);
	tcp_send_segment(s, s->iss, 0, TCP_SYN | TCP_ACK);
	tcp_rearm_rexmt(s);
}

/* ---- synchronized states ------------------------------------------------------------- */

static bool acceptable(const struct tcp_sock *s, uint32_t seq, uint32_t len, uint32_t wnd)
{
	uint32_t nxt = s->rcv_nxt;
	/* RFC 9293 §3.10.7.4: with RCV.WND zero "special allowance should be made to
	 * accept valid ACKs, URGs, and RSTs": a segment at RCV.NXT is taken, its text
	 * trimmed away (conn_trim), as Linux does (TCPZeroWindowDrop). */
	if (wnd == 0)
		return seq == nxt;
	if (len == 0)
		return SEQ_LEQ(nxt, seq) && SEQ_LT(seq, nxt + wnd);
	return (SEQ_LEQ(nxt, seq) && SEQ_LT(seq, nxt + wnd)) ||
	       (SEQ_LEQ(nxt, seq + len - 1) && SEQ_LT(seq + len - 1, nxt + wnd));
}

static void process_fin(struct tcp_sock *s)
{
	s->rcv_nxt++;
	s->fin_rcvd = true;
	s->ooo_fin = false;
	s->ack_now = true;
	switch (s->state) {
	case TCP_STATE_SYN_RECEIVED:
	case TCP_STATE_ESTABLISHED:
		tcp_set_state(s, TCP_STATE_CLOSE_WAIT);
		break;
	case TCP_STATE_FIN_WAIT_1:
		/* Our FIN not yet acknowledged: simultaneous close (RFC 9293 figure 13). */
		tcp_set_state(s, TCP_STATE_CLOSING);
		break;
	case TCP_STATE_FIN_WAIT_2:
		tcp_send_ack(s);
		tcp_enter_time_wait(s);
		break;
	default:
		break;
	}
}

static void reset_received(struct tcp_sock *s)
{
	switch (s->state) {
	case TCP_STATE_SYN_RECEIVED:
		/* RFC 9293 §3.10.7.4: a passive open returns to LISTEN (the child goes);
		 * an active one is refused. */
		tcp_drop(s, s->passive ? 0 : ECONNREFUSED);
		break;
	case TCP_STATE_ESTABLISHED:
	case TCP_STATE_FIN_WAIT_1:
	case TCP_STATE_FIN_WAIT_2:
	case TCP_STATE_CLOSE_WAIT:
	case TCP_STATE_CLOSING:
	case TCP_STATE_LAST_ACK:
		/* CLOSING, LAST-ACK: our FIN, maybe data too, was never acknowledged, so
		 * this is no clean close (RFC 9293 gives no signal; Linux tcp_reset says
		 * ECONNRESET). */
		tcp_drop(s, ECONNRESET);
		break;
	default:
		tcp_drop(s, 0); /* TIME-WAIT: the user was told at its start */
		break;
	}
}

/* Linux tcp_measure_rcv_mss: the peer's full segment is the largest it sent (up to our
 * MSS), or a smaller size it sent twice in a row (its MTU or options may be smaller than
 * our guess). */
static void measure_rcv_mss(struct tcp_sock *s, uint32_t len)
{
	uint32_t cap = s->adv_mss - (s->ts_ok ? 12u : 0u);
	if (len >= s->rcv_mss)
		s->rcv_mss = len < cap ? len : cap;
	else if (len >= TCP_DEFAULT_MSS && len == s->rcv_last_len)
		s->rcv_mss = len;
	s->rcv_last_len = len;
}

/* Text: in-order data goes to the ring, out-of-order data too (write_at) with its range in
 * the assembler. */
static bool receive_data(struct tcp_sock *s, struct seg *g)
{
	struct stack *st = s->st;
	uint32_t off = g->seq - s->rcv_nxt;
	size_t free_b = ring_free(&s->rcvbuf);
	uint32_t len = g->len;

	if (off >= free_b) {
		STAT_INC(st, TcpExtTCPRcvQDrop);
		s->ack_now = true;
		return false;
	}
	if (len > free_b - off) {
		STAT_INC(st, TcpExtTCPRcvQDrop);
		len = (uint32_t)(free_b - off);
		g->flags &= (uint8_t)~TCP_FIN;
	}
	uint32_t took;
	if (asm_add(&s->ooo, off, len) == 0) {
		ring_write_at(&s->rcvbuf, off, g->data, len);
		took = asm_take_front(&s->ooo);
	} else if (off == 0) {
		/* Every range in use, and in-order data that touches none of them (or it
		 * would have merged): it needs no range, being taken at once. In-order
		 * text within the window is always accepted (RFC 9293 §3.10.7.4). */
		ring_write_at(&s->rcvbuf, 0, g->data, len);
		asm_advance(&s->ooo, len);
		took = len;
	} else {
		STAT_INC(st, TcpExtTCPOFODrop);
		s->ack_now = true;
		g->flags &= (uint8_t)~TCP_FIN;
		return false;
	}
	ring_commit(&s->rcvbuf, took);
	measure_rcv_mss(s, len);
	s->rcv_nxt += took;
	if (off > 0) {
		/* RFC 5681 §4.2: out-of-order data is acknowledged at once (a dup ACK). */
		STAT_INC(st, TcpExtTCPOFOQueue);
		s->ack_now = true;
	} else if (took > len || !asm_is_empty(&s->ooo)) {
		s->ack_now = true; /* filled (part of) a hole */
	} else {
		/* RFC 1122 §4.2.3.2 / RFC 5681 §4.2: at least every second full-sized
		 * segment, full-sized as the peer sends them (our MSS may be far larger). */
		uint32_t unacked = s->rcv_nxt - s->last_ack_sent;
		if (unacked >= 2 * s->rcv_mss)
			s->ack_now = true;
		else if (!s->timer[TCP_T_DELACK])
			tcp_timer_set(s, TCP_T_DELACK,
				      tcp_now(s) + (uint64_t)s->tcp->delack_ms * NS_PER_MS);
	}
	if (s->shut_rd)
		ring_consume(&s->rcvbuf, ring_used(&s->rcvbuf));
	tcp_mem_sync(s);
	return took > 0;
}

/* RFC 7323 §5.3 R1 (PAWS), then the SYN bit (RFC 5961 §4). Returns false when the
 * segment was consumed here. */
static bool conn_check_paws_syn(struct tcp_sock *s, struct seg *g)
{
	struct stack *st = s->st;
	const struct tcp_opts *o = &g->h.opts;

	if (s->ts_ok && o->has_ts && !(g->flags & TCP_RST) && SEQ_LT(o->tsval, s->ts_recent) &&
	    tcp_now(s) - s->ts_recent_ns < TCP_PAWS_24DAYS_NS) {
		STAT_INC(st, TcpExtPAWSEstab);
		tcp_send_ack(s);
		return false;
	}

	/* Simultaneous open: the peer's SYN,ACK answering our SYN completes SYN-RECEIVED
	 * (RFC 9293 figure 8); its SYN is the one we already have. */
	if (s->state == TCP_STATE_SYN_RECEIVED && !s->passive &&
	    (g->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == (TCP_SYN | TCP_ACK) && g->seq == s->irs &&
	    SEQ_LT(s->snd_una, g->h.ack) && SEQ_LEQ(g->h.ack, s->snd_max)) {
		g->flags &= (uint8_t)~TCP_SYN;
		g->syn_wnd = true;
		g->seq++;
	}

	/* RFC 5961 §4 / RFC 9293 §3.10.7.4 fourth: a SYN in a synchronized state. */
	if (g->flags & TCP_SYN) {
		if (s->state == TCP_STATE_SYN_RECEIVED && g->seq == s->irs &&
		    !(g->flags & TCP_ACK)) {
			/* Our SYN-ACK was lost: send it again. */
			tcp_send_segment(s, s->iss, 0, TCP_SYN | TCP_ACK);
			return false;
		}
		if (!(g->flags & TCP_RST)) {
			STAT_INC(st, TcpExtTCPSYNChallenge);
			challenge_ack(s);
			return false;
		}
	}
	return true;
}

/* RFC 9293 §3.10.7.4 first (sequence number acceptability) and second (RST, with
 * RFC 5961 §3). *wnd gets the receive window the segment was judged against. Returns
 * false when the segment was consumed here. */
static bool conn_check_seq_rst(struct tcp_sock *s, struct seg *g, uint32_t *wnd)
{
	struct stack *st = s->st;
	uint64_t now = tcp_now(s);

	uint32_t w = SEQ_GT(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;
	if (s->state == TCP_STATE_SYN_RECEIVED && w == 0)
		w = tcp_rcv_window(s);
	*wnd = w;
	if (!acceptable(s, g->seq, seg_len(g), w)) {
		if (s->state == TCP_STATE_TIME_WAIT && (g->flags & TCP_FIN) &&
		    !(g->flags & TCP_RST) && g->seq + g->len + 1 == s->rcv_nxt) {
			/* RFC 9293 §3.10.7.4 eighth, TIME-WAIT: the peer's FIN again (our ACK
			 * was lost): ACK it and restart the 2MSL timer. Only that FIN: any
			 * other would let a stray or forged segment hold the state forever. */
			tcp_send_ack(s);
			tcp_timer_set(s, TCP_T_2MSL,
				      now + (uint64_t)s->tcp->time_wait_ms * NS_PER_MS);
			return false;
		}
		STAT_INC(st, TcpExtOutOfWindow);
		if (!(g->flags & TCP_RST)) {
			s->ack_now = true;
			tcp_send_ack(s);
		}
		return false;
	}
	s->last_rcv_ns = now;
	if (s->keep_probes) {
		s->keep_probes = 0;
		tcp_rearm_keepalive(s);
	}

	/* RFC 5961 §3: RST exactly at RCV.NXT resets; elsewhere in the window, challenge. */
	if (g->flags & TCP_RST) {
		if (g->seq == s->rcv_nxt) {
			reset_received(s);
		} else {
			STAT_INC(st, TcpExtTCPRstInWindow);
			challenge_ack(s);
		}
		return false;
	}
	return true;
}

/* RFC 9293 §3.3.2 / §3.10.7.4: trims what we already have (front) and what is beyond
 * the window (back), so that the segment starts at or after RCV.NXT. */
static void conn_trim(struct tcp_sock *s, struct seg *g, uint32_t wnd)
{
	if (SEQ_LT(g->seq, s->rcv_nxt)) {
		uint32_t dup = s->rcv_nxt - g->seq;
		if (dup > g->len) {
			/* Only a duplicate FIN (or nothing) beyond the data. */
			g->data += g->len;
			g->seq += g->len;
			dup -= g->len;
			g->len = 0;
			if ((g->flags & TCP_FIN) && dup >= 1) {
				g->flags &= (uint8_t)~TCP_FIN;
				s->ack_now = true; /* a retransmitted FIN: ACK it again */
			}
			g->seq = s->rcv_nxt;
		} else {
			g->data += dup;
			g->len -= dup;
			g->seq += dup;
		}
		if (dup > 0)
			s->ack_now = true; /* RFC 9293: duplicates are acknowledged */
	}
	if (SEQ_GT(g->seq + g->len, s->rcv_nxt + wnd)) {
		uint32_t keep = s->rcv_nxt + wnd - g->seq;
		if (wnd == 0)
			STAT_INC(s->st, TcpExtTCPZeroWindowDrop);
		if (keep < g->len)
			g->len = keep;
		g->flags &= (uint8_t)~TCP_FIN;
		s->ack_now = true;
	}
}

/* RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED: an ACK of our SYN completes the handshake.
 * Returns false when processing stops (overflow, reset, or the user closed). */
static bool synrcvd_ack(struct tcp_sock *s, struct seg *g, uint32_t ack)
{
	struct stack *st = s->st;

	if (!(SEQ_LT(s->snd_una, ack) && SEQ_LEQ(ack, s->snd_max))) {
		/* RFC 9293 §3.10.7.4 fifth: <SEQ=SEG.ACK><CTL=RST>. */
		STAT_INC(st, TcpExtSynRecvBadAcks);
		tcp_send_reset_reply(s->tcp, g->p, &g->h, seg_len(g));
		return false;
	}
	struct tcp_sock *ls = s->parent;
	if (ls && ls->acc_len >= ls->backlog) {
		/* Stay half-open; the peer's retransmission may find room. */
		STAT_INC(st, TcpExtListenOverflows);
		return false;
	}
	if (tcp_sock_init_buffers(s) < 0) {
		STAT_INC(st, TcpExtListenDrops);
		tcp_send_rst(s);
		tcp_drop(s, ENOMEM);
		return false;
	}
	rtt_on_ack(s, g, ack);
	s->snd_una = ack;
	s->snd_wnd = seg_window(s, g);
	s->max_sndwnd = s->snd_wnd;
	s->snd_wl1 = g->seq;
	s->snd_wl2 = ack;
	bool was_active = !s->passive;
	connected(s);
	/* Callbacks: the user may close or abort from them. */
	if (ls)
		tcp_child_established(s);
	else if (was_active && s->ops && s->ops->connected && !s->orphan)
		s->ops->connected(s, s->user);
	return !s->released && s->state != TCP_STATE_CLOSED;
}

/* RFC 9293 §3.10.7.4 fifth: the ACK field in the synchronized states (RFC 5961 §5 range
 * check, new data acknowledged, duplicate ACKs, the send window, and the FIN-WAIT-1,
 * CLOSING, LAST-ACK and TIME-WAIT transitions). *freed: send buffer space was released.
 * Returns false when processing stops. */
static bool conn_ack(struct tcp_sock *s, struct seg *g, uint32_t seg_seq, bool *freed)
{
	struct stack *st = s->st;
	const struct tcp_opts *o = &g->h.opts;
	uint64_t now = tcp_now(s);
	uint32_t ack = g->h.ack;

	/* RFC 5961 §5: ACKs outside [SND.UNA - MAX.SND.WND, SND.NXT] are answered and
	 * dropped. SND.NXT here is the highest sent (snd_max): after an RTO rewinds snd_nxt,
	 * ACKs for data sent before are still valid. */
	if (SEQ_GT(ack, s->snd_max)) {
		STAT_INC(st, TcpExtTCPAckTooNew);
		challenge_ack(s);
		return false;
	}
	if (SEQ_LT(ack, s->snd_una - s->max_sndwnd)) {
		STAT_INC(st, TcpExtTCPAckTooOld);
		challenge_ack(s);
		return false;
	}

	/* RFC 7323 §4.3: TS.Recent from a segment that covers Last.ACK.sent, and only once
	 * its ACK passed the checks above (as Linux since 2013): a blind in-window segment
	 * with a bogus ACK must not move TS.Recent, or PAWS would drop the real peer. */
	if (s->ts_ok && o->has_ts && SEQ_LEQ(seg_seq, s->last_ack_sent) &&
	    SEQ_GEQ(o->tsval, s->ts_recent)) {
		s->ts_recent = o->tsval;
		s->ts_recent_ns = now;
	}

	uint32_t seg_wnd = seg_window(s, g);
	if (s->sack_ok)
		for (unsigned i = 0; i < o->nsack; i++)
			sb_add(s, o->sack[i].left, o->sack[i].right);
	if (SEQ_GT(ack, s->snd_una)) {
		size_t before = ring_free(&s->sndbuf);
		new_ack(s, g, ack);
		*freed = ring_free(&s->sndbuf) > before;
	} else if (ack == s->snd_una && g->len == 0 && !(g->flags & (TCP_SYN | TCP_FIN)) &&
		   s->snd_una != s->snd_max && seg_wnd == s->snd_wnd) {
		/* RFC 5681 §2: a duplicate acknowledgment. */
		dup_ack(s);
	} else if (ack == s->snd_una && s->snd_una != s->snd_max && o->nsack > 0) {
		dup_ack(s); /* RFC 6675 §5: an ACK with SACK information counts too */
	}

	/* Window update: only from an ACK with SND.UNA =< SEG.ACK; an older one would place
	 * the window's left edge too low. SND.WL1/WL2 keep old segments out. */
	if (SEQ_GEQ(ack, s->snd_una) &&
	    (SEQ_LT(s->snd_wl1, g->seq) || (s->snd_wl1 == g->seq && SEQ_LEQ(s->snd_wl2, ack)))) {
		bool opened = s->snd_wnd == 0 && seg_wnd > 0;
		s->snd_wnd = seg_wnd;
		s->snd_wl1 = g->seq;
		s->snd_wl2 = ack;
		if (seg_wnd > s->max_sndwnd)
			s->max_sndwnd = seg_wnd;
		if (opened) {
			tcp_timer_stop(s, TCP_T_PERSIST);
			s->persist_shift = 0;
		}
	}

	bool fin_acked = s->fin_sent && s->snd_una == s->snd_max;
	switch (s->state) {
	case TCP_STATE_FIN_WAIT_1:
		if (fin_acked) {
			tcp_set_state(s, TCP_STATE_FIN_WAIT_2);
			if (s->orphan)
				tcp_timer_set(s, TCP_T_2MSL,
					      now + (uint64_t)s->tcp->fin_timeout_ms * NS_PER_MS);
		}
		break;
	case TCP_STATE_CLOSING:
		if (fin_acked) {
			tcp_enter_time_wait(s);
			return false;
		}
		break;
	case TCP_STATE_LAST_ACK:
		if (fin_acked) {
			tcp_drop(s, 0);
			return false;
		}
		break;
	case TCP_STATE_TIME_WAIT:
		/* A FIN here is in the window, after the peer's FIN: not its retransmission
		 * (conn_check_seq_rst takes that), so it only gets an ACK. */
		if ((g->flags & TCP_FIN) || s->ack_now)
			tcp_send_ack(s);
		return false;
	default:
		break;
	}
	return true;
}

/* RFC 9293 §3.10.7.4 seventh (text) and eighth (FIN). Returns true when the user has
 * something new to read (data or EOF); false too when the connection was dropped. */
static bool conn_text_fin(struct tcp_sock *s, struct seg *g)
{
	bool readable = false;

	if (g->len > 0) {
		switch (s->state) {
		case TCP_STATE_ESTABLISHED:
		case TCP_STATE_FIN_WAIT_1:
		case TCP_STATE_FIN_WAIT_2:
			if (s->orphan) {
				/* Nobody will read it: tell the peer (Linux TCPAbortOnData). */
				STAT_INC(s->st, TcpExtTCPDataAfterClose);
				tcp_send_rst(s);
				tcp_drop(s, 0);
				return false;
			}
			readable |= receive_data(s, g);
			break;
		default:
			/* CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: after the peer's FIN
			 * nothing can be new (RFC 9293 §3.10.7.4 seventh: "ignore"). */
			STAT_INC(s->st, TcpExtTCPDataAfterFin);
			break;
		}
	}

	if (g->flags & TCP_FIN) {
		uint32_t fin_seq = g->seq + g->len;
		if (fin_seq == s->rcv_nxt && !s->fin_rcvd) {
			process_fin(s);
			readable = true;
		} else if (SEQ_GT(fin_seq, s->rcv_nxt)) {
			/* Beyond a hole: taken once the data before it arrives. */
			s->ooo_fin = true;
			s->ooo_fin_seq = fin_seq;
		}
	}
	if (s->ooo_fin && s->ooo_fin_seq == s->rcv_nxt && !s->fin_rcvd &&
	    s->state != TCP_STATE_TIME_WAIT) {
		process_fin(s);
		readable = true;
	}
	return readable;
}

static void conn_segment(struct tcp_sock *s, struct seg *g);

/* Segment arrival in SYN-RECEIVED and the synchronized states. A `closed` that the
 * segment causes waits for its `readable`: all data, then EOF, then the end, whatever the
 * state machine did first (a data+FIN in FIN-WAIT-2 enters TIME-WAIT at once). */
static void tcp_conn_input(struct tcp_sock *s, struct seg *g)
{
	tcp_hold_closed(s);
	conn_segment(s, g);
	tcp_release_closed(s);
}

/* RFC 9293 §3.10.7.4, in the RFC's order of checks. */
static void conn_segment(struct tcp_sock *s, struct seg *g)
{
	struct stack *st = s->st;
	uint32_t wnd;

	if (!conn_check_paws_syn(s, g) || !conn_check_seq_rst(s, g, &wnd))
		return;
	/* RFC 7323 §4.3 (TS.Recent) waits for the ACK check: see conn_ack(). */
	uint32_t seq_before_trim = g->seq;
	conn_trim(s, g, wnd);

	/* Fifth: "if the ACK bit is off, drop the segment and return". */
	if (!(g->flags & TCP_ACK)) {
		STAT_INC(st, TcpExtTCPNoAckDrops);
		return;
	}
	if (s->state == TCP_STATE_SYN_RECEIVED && !synrcvd_ack(s, g, g->h.ack))
		return;
	bool freed = false;
	if (!conn_ack(s, g, seq_before_trim, &freed))
		return;

	bool readable = conn_text_fin(s, g);
	if (s->released)
		return;
	if (s->state != TCP_STATE_CLOSED) {
		tcp_output(s);
		if (s->ack_now && s->state != TCP_STATE_CLOSED)
			tcp_send_ack(s);
	}
	/* Callbacks last, when the connection is consistent: they may call back in. The
	 * data is readable even when the connection closed with it (TIME-WAIT overflow). */
	if (readable)
		tcp_notify_readable(s);
	if (freed && !s->released && s->state != TCP_STATE_CLOSED)
		tcp_notify_writable(s);
}

/* ---- entry points -------------------------------------------------------------------- */

void tcp_input(void *ctx, const struct ipv4_pkt *p)
{
	struct tcp *t = ctx;
	struct stack *st = t->st;
	struct seg g = { .p = p };

	STAT_INC(st, TcpInSegs);
	/* RFC 1122 §4.2.3.10: not to broadcast or multicast destinations. */
	if (p->l2_bcast || p->ip_bcast || addr_is_multicast(p->h.dst)) {
		STAT_INC(st, TcpExtInBcastDrops);
		return;
	}
	int r = tcp_hdr_parse(p->data, p->len, p->h.src, p->h.dst, !p->l4_csum_ok, &g.h);
	if (r < 0) {
		STAT_INC(st, TcpInErrs);
		if (r == -EBADMSG)
			STAT_INC(st, TcpInCsumErrors);
		else if (r == -EINVAL)
			STAT_INC(st, TcpExtInBadOpts);
		return;
	}
	g.seq = g.h.seq;
	g.flags = g.h.flags;
	g.data = p->data + g.h.hdr_len;
	g.len = (uint32_t)(p->len - g.h.hdr_len);

	tcp_enter(t);
	struct tcp_sock *s = tcp_lookup(t, p->h.dst, g.h.dport, p->h.src, g.h.sport);
	if (s && s->state == TCP_STATE_TIME_WAIT && (g.flags & TCP_SYN) &&
	    !(g.flags & (TCP_ACK | TCP_RST))) {
		/* RFC 9293 §3.6.1 / RFC 6191: a new SYN above the old sequence space (or with
		 * a newer timestamp) may reopen a TIME-WAIT connection. */
		bool newer = SEQ_GT(g.seq, s->rcv_nxt);
		if (s->ts_ok && g.h.opts.has_ts)
			newer = SEQ_GT(g.h.opts.tsval, s->ts_recent);
		struct tcp_sock *ls = tcp_lookup_listener(t, p->h.dst, g.h.dport);
		if (newer && ls) {
			STAT_INC(st, TcpExtTWRecycled);
			tcp_drop(s, 0);
			s = NULL;
		}
	}
	if (s) {
		if (s->state == TCP_STATE_SYN_SENT)
			syn_sent_input(s, &g);
		else
			tcp_conn_input(s, &g);
	} else {
		struct tcp_sock *ls = tcp_lookup_listener(t, p->h.dst, g.h.dport);
		if (ls) {
			listen_input(ls, &g);
		} else {
			/* RFC 9293 §3.10.7.1: CLOSED; a reset unless it was one. */
			STAT_INC(st, TcpExtInNoPort);
			tcp_send_reset_reply(t, p, &g.h, seg_len(&g));
		}
	}
	tcp_leave(t);
}

/* RFC 1191 §7: plateau table, for routers that do not say the next-hop MTU. */
static uint16_t plateau_below(uint16_t len)
{
	static const uint16_t plateaus[] = { 65535, 32000, 17914, 8166, 4352, 2002,
					     1492,  1006,  508,	  296,	68 };
	for (size_t i = 0; i < sizeof(plateaus) / sizeof(plateaus[0]); i++)
		if (plateaus[i] < len)
			return plateaus[i];
	return 68;
}

void tcp_icmp_error(void *ctx, const struct icmp_err *e)
{
	struct tcp *t = ctx;
	struct stack *st = t->st;

	if (e->l4_len < 8) {
		STAT_INC(st, TcpExtTCPIcmpIgnored); /* RFC 792: 8 bytes are quoted */
		return;
	}
	uint16_t sport = (uint16_t)((e->l4[0] << 8) | e->l4[1]);
	uint16_t dport = (uint16_t)((e->l4[2] << 8) | e->l4[3]);
	uint32_t seq = ((uint32_t)e->l4[4] << 24) | ((uint32_t)e->l4[5] << 16) |
		       ((uint32_t)e->l4[6] << 8) | e->l4[7];

	tcp_enter(t);
	struct tcp_sock *s = tcp_lookup(t, e->ih.src, sport, e->ih.dst, dport);
	/* RFC 5927 §4.1: the quoted SEQ must be in flight, SND.UNA =< SEQ < SND.NXT (the
	 * highest sent), or it is a blind attack. */
	if (!s || s->state == TCP_STATE_TIME_WAIT || SEQ_LT(seq, s->snd_una) ||
	    SEQ_GEQ(seq, s->snd_max)) {
		STAT_INC(st, TcpExtTCPIcmpIgnored);
		tcp_leave(t);
		return;
	}
	if (e->type == 3 && e->code == 4) {
		/* RFC 1191: fragmentation needed and DF set. */
		uint16_t mtu = e->mtu;
		if (mtu < 68)
			mtu = plateau_below(e->ih.total_len);
		if (mtu < TCP_MIN_PMTU)
			mtu = TCP_MIN_PMTU; /* RFC 1191 §3 floor; Linux min_pmtu */
		if (mtu < s->pmtu) {
			s->pmtu = mtu;
			uint16_t mss = tcp_mss_for_mtu(mtu);
			if (mss < s->mss) {
				STAT_INC(st, TcpExtTCPPMTUUpdates);
				s->mss = mss;
				s->cc.mss = smss(s);
				/* Resend what was too big, without treating it as congestion. */
				if (s->state >= TCP_STATE_ESTABLISHED) {
					s->snd_nxt = s->snd_una;
					s->rtt_timing = false;
					tcp_output(s);
				}
			}
		}
		tcp_leave(t);
		return;
	}
	if (s->state == TCP_STATE_SYN_SENT && e->type == 3 && !e->local) {
		/* The connect fails at once, as Linux does (RFC 1122 §4.2.3.9 hard errors). */
		tcp_drop(s, e->err ? e->err : EHOSTUNREACH);
	} else {
		s->soft_err = e->err;
	}
	tcp_leave(t);
}
