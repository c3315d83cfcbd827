/* TCP output: segment building, what to send when (windows, Nagle, SWS avoidance, FIN),
 * ACKs and resets. */
#include <errno.h>
#include <string.h>

#include "tcp_var.h"

/* Emits h with payload from laddr to raddr, DF set (RFC 1191: TCP does PMTU discovery).
 * gso_size > 0: a super-segment, cut into pieces of gso_size data bytes below (netif.h
 * TSO); the IPv4 layer then owns the checksum, so it is not summed here. */
/* ttl 0: the stack's default (replies to segments without a socket). */
static int xmit(struct stack *st, struct in_addr laddr, struct in_addr raddr,
		const struct tcp_hdr *h, const struct iovec *iov, int niov, uint16_t gso_size,
		uint8_t ttl)
{
	uint8_t hdr[TCP_HDR_MAX];
	size_t hl = tcp_hdr_emit(h, hdr);
	if (!gso_size)
		tcp_hdr_set_csum(hdr, tcp_csum(laddr, raddr, hdr, hl, iov, niov));
	struct fill_copy c = { hdr, hl };
	struct ipv4_write_opts o = {
		.fragment = false, .ttl = ttl, .src = laddr, .gso_size = gso_size
	};
	int r = ipv4_write(&st->ip, &o, raddr, IPV4_PROTO_TCP, hl, fill_copy, &c, iov, niov);
	if (r < 0)
		STAT_INC(st, TcpExtTCPOutErrors);
	if (h->flags & TCP_RST)
		STAT_INC(st, TcpOutRsts);
	return r;
}

uint32_t tcp_ts_now(const struct tcp_sock *s)
{
	return (uint32_t)(tcp_now(s) / (NS_PER_S / TCP_TS_HZ)) + s->ts_offset;
}

static uint32_t sacked_between(const struct tcp_sock *s, uint32_t lo, uint32_t hi)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < s->nsacked; i++) {
		uint32_t l = SEQ_MAX(s->sacked[i].left, lo);
		uint32_t r = SEQ_MIN(s->sacked[i].right, hi);
		if (SEQ_LT(l, r))
			n += r - l;
	}
	return n;
}

/* RFC 6675 §4 SetPipe, a hole at a time: an octet not SACKed is in the network unless
 * lost (IsLost: more than (DupThresh - 1) * SMSS SACKed above it, the rule NextSeg uses
 * in tcp_input.c), and once more if retransmitted (below HighRxt). Blocks are sorted. */
static uint32_t sack_pipe(const struct tcp_sock *s, uint32_t smss)
{
	uint32_t pipe = 0, seq = s->snd_una, end = s->snd_nxt;
	for (unsigned i = 0; i <= s->nsacked && SEQ_LT(seq, end); i++) {
		uint32_t hole_end = i < s->nsacked ? SEQ_MIN(s->sacked[i].left, end) : end;
		if (SEQ_LT(seq, hole_end)) {
			if (sacked_between(s, hole_end, end) <= 2 * smss)
				pipe += hole_end - seq;
			if (SEQ_GT(s->high_rxt, seq))
				pipe += SEQ_MIN(hole_end, s->high_rxt) - seq;
		}
		if (i < s->nsacked && SEQ_GT(s->sacked[i].right, seq))
			seq = s->sacked[i].right;
	}
	return pipe;
}

static uint32_t eff_mss(const struct tcp_sock *s);

uint32_t tcp_in_flight(const struct tcp_sock *s)
{
	if (s->in_recovery && s->sack_ok)
		return sack_pipe(s, eff_mss(s));
	uint32_t f = s->snd_nxt - s->snd_una;
	if (s->sack_ok && s->nsacked)
		f -= sacked_between(s, s->snd_una, s->snd_nxt);
	return f;
}

/* RFC 1122 §4.2.3.3 receiver SWS avoidance and RFC 9293 §3.8.6.2.2: offer new space only
 * in chunks of min(buffer/2, MSS); never move the right edge left (RFC 7323 §2.4). */
uint32_t tcp_rcv_window(struct tcp_sock *s)
{
	/* Before the buffers exist (a passive open's SYN-RECEIVED), offer their size. */
	size_t cap = s->rcvbuf.cap ? s->rcvbuf.cap : s->rcvbuf_size;
	if (s->rcvbuf.cap == 0 && (s->state != TCP_STATE_SYN_RECEIVED || s->orphan))
		return 0;
	size_t free_b = s->rcvbuf.cap ? ring_free(&s->rcvbuf) : cap;
	size_t thresh = cap / 2;
	if (thresh > s->adv_mss)
		thresh = s->adv_mss;
	uint32_t adv = SEQ_GT(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;
	if (free_b < thresh && free_b <= adv)
		free_b = 0;
	else if (free_b > adv && free_b - adv < thresh)
		free_b = adv; /* the edge moves by thresh or not at all: no creeping */
	size_t maxw = (size_t)TCP_MAX_WIN << s->rcv_ws;
	if (free_b > maxw)
		free_b = maxw;
	uint32_t wnd = (uint32_t)free_b;
	wnd &= ~((1u << s->rcv_ws) - 1);
	if (wnd < adv)
		wnd = adv;
	return wnd;
}

/* The options of a segment with these flags, as sent now (SACK blocks while out-of-order
 * data is held). */
static void seg_opts(const struct tcp_sock *s, uint8_t flags, struct tcp_opts *o)
{
	bool syn = flags & TCP_SYN;
	if (syn) {
		o->has_mss = true;
		o->mss = s->adv_mss;
		if (s->ws_ok) {
			o->has_ws = true;
			o->ws = s->rcv_ws;
		}
		o->sack_perm = s->sack_ok;
	}
	if (s->ts_ok && !(flags & TCP_RST)) {
		o->has_ts = true;
		o->tsval = tcp_ts_now(s);
		o->tsecr = (flags & TCP_ACK) ? s->ts_recent : 0;
	}
	if (s->sack_ok && !syn && !asm_is_empty(&s->ooo) && !(flags & TCP_RST))
		o->nsack = (uint8_t)asm_sack_blocks(&s->ooo, s->rcv_nxt, o->sack,
						    s->ts_ok ? 3 : 4, true);
}

/* RFC 6691 §2 / RFC 9293 §3.7.1: the MSS bounds the data plus the TCP options, so a
 * segment's payload is the MSS less the options it carries: timestamps always, SACK
 * blocks while out-of-order data is held (issue 10 item 1: else full segments exceed
 * the MTU and DF refuses them). */
static uint32_t payload_max(const struct tcp_sock *s, const struct tcp_opts *o)
{
	uint32_t m = s->mss ? s->mss : TCP_DEFAULT_MSS;
	size_t ol = tcp_opts_len(o);
	return m > ol + 1 ? m - (uint32_t)ol : 1;
}

uint32_t tcp_seg_payload_max(const struct tcp_sock *s)
{
	struct tcp_opts o = { 0 };
	seg_opts(s, TCP_ACK, &o);
	return payload_max(s, &o);
}

/* The segment payload we can carry: MSS less the options in every segment. */
static uint32_t eff_mss(const struct tcp_sock *s)
{
	return tcp_seg_payload_max(s);
}

/* One segment, or with tso a super-segment of up to len bytes that the device (or the
 * IPv4 layer) cuts into full-sized pieces: every piece carries these same options, as the
 * kernel copies the header (one TSval for all, RFC 7323 §3: the time the data was sent). */
static int send_segment(struct tcp_sock *s, uint32_t seq, size_t len, uint8_t flags, bool tso)
{
	struct stack *st = s->st;
	struct tcp_hdr h = {
		.sport = s->lport,
		.dport = s->rport,
		.seq = seq,
		.flags = flags,
	};
	bool syn = flags & TCP_SYN;

	if (h.flags & TCP_ACK)
		h.ack = s->rcv_nxt;

	uint32_t wnd = tcp_rcv_window(s);
	if (syn) {
		h.wnd = (uint16_t)(wnd > TCP_MAX_WIN ? TCP_MAX_WIN : wnd); /* RFC 7323 §2.2 */
	} else {
		uint32_t w = wnd >> s->rcv_ws;
		h.wnd = (uint16_t)(w > TCP_MAX_WIN ? TCP_MAX_WIN : w);
	}
	seg_opts(s, flags, &h.opts);

	struct iovec iov[2];
	int niov = 0;
	uint32_t piece = payload_max(s, &h.opts);
	uint16_t gso_size = 0;
	uint64_t segs = 1;
	if (len > 0) {
		/* Callers size segments with tcp_seg_payload_max() (super-segments with
		 * tcp_tso_max_bytes()); never exceed it. */
		uint32_t max = tso ? tcp_tso_max_bytes(s, piece) : piece;
		if (len > max)
			len = max;
		niov = ring_peek_iov(&s->sndbuf, seq - s->snd_buf_seq, len, iov);
		size_t got = 0;
		for (int i = 0; i < niov; i++)
			got += iov[i].iov_len;
		len = got;
		if (len > piece) {
			gso_size = (uint16_t)piece;
			segs = (len + piece - 1) / piece;
		}
	}

	int r = xmit(st, s->laddr, s->raddr, &h, iov, niov, gso_size, s->ttl);
	if (r < 0)
		return r; /* not sent: counted as TcpExtTCPOutErrors only (issue 10 item 1) */
	/* Counters: RFC 4022 counts retransmitted segments apart from new ones; wire
	 * segments, as the peer sees them (Linux adds tcp_skb_pcount() for TSO). */
	uint64_t rexmit = 0; /* pieces that start below SND.MAX: a super-segment may
			      * resend a hole and go on with new data */
	if ((len > 0 || syn || (flags & TCP_FIN)) && SEQ_LT(seq, s->snd_max)) {
		rexmit = segs > 1 ? (s->snd_max - seq + piece - 1) / piece : 1;
		if (rexmit > segs)
			rexmit = segs;
	}
	STAT_ADD(st, TcpRetransSegs, rexmit);
	STAT_ADD(st, TcpOutSegs, segs - rexmit);
	if ((len > 0 || syn) && SEQ_LT(seq, s->snd_max))
		s->total_retrans += rexmit;
	if (len > 0)
		s->last_data_ns = tcp_now(s);
	if (h.flags & TCP_ACK) {
		uint32_t edge = s->rcv_nxt + ((uint32_t)h.wnd << (syn ? 0 : s->rcv_ws));
		if (SEQ_GT(edge, s->rcv_adv) || s->rcv_adv == 0)
			s->rcv_adv = edge;
		s->last_ack_sent = s->rcv_nxt;
		s->delack_segs = 0;
		s->ack_now = false;
		if (s->timer[TCP_T_DELACK])
			tcp_timer_stop(s, TCP_T_DELACK);
	}
	return r;
}

int tcp_send_segment(struct tcp_sock *s, uint32_t seq, size_t len, uint8_t flags)
{
	return send_segment(s, seq, len, flags, false);
}

void tcp_send_ack(struct tcp_sock *s)
{
	if (tcp_batch_defer_ack(s))
		return; /* one ACK at the end of the receive batch (tcp_batch.c) */
	tcp_send_segment(s, s->snd_nxt, 0, TCP_ACK);
}

void tcp_send_rst(struct tcp_sock *s)
{
	if (s->state == TCP_STATE_SYN_SENT || s->state == TCP_STATE_CLOSED ||
	    s->state == TCP_STATE_LISTEN)
		return;
	tcp_send_segment(s, s->snd_max, 0, TCP_RST | TCP_ACK);
}

void tcp_send_reset_reply(struct tcp *t, const struct ipv4_pkt *p, const struct tcp_hdr *in,
			  size_t seg_len)
{
	if (in->flags & TCP_RST)
		return; /* RFC 9293 §3.10.7.1: never answer a reset */
	struct tcp_hdr h = {
		.sport = in->dport,
		.dport = in->sport,
	};
	if (in->flags & TCP_ACK) {
		h.seq = in->ack;
		h.flags = TCP_RST;
	} else {
		h.seq = 0;
		h.ack = in->seq + (uint32_t)seg_len;
		h.flags = TCP_RST | TCP_ACK;
	}
	xmit(t->st, p->h.dst, p->h.src, &h, NULL, 0, 0, 0);
}

void tcp_send_synack_cookie(struct tcp_sock *ls, const struct ipv4_pkt *p,
			    const struct tcp_hdr *in, uint32_t iss)
{
	struct tcp *t = ls->tcp;
	struct stack *st = t->st;
	struct tcp_hdr h = {
		.sport = in->dport,
		.dport = in->sport,
		.seq = iss,
		.ack = in->seq + 1,
		.flags = TCP_SYN | TCP_ACK,
	};
	size_t rcvbuf = ls->rcvbuf_size;
	h.wnd = (uint16_t)(rcvbuf > TCP_MAX_WIN ? TCP_MAX_WIN : rcvbuf);
	h.opts.has_mss = true;
	h.opts.mss = tcp_adv_mss(ls);
	/* Without timestamps the cookie has no room for the other options (RFC 4987 §3.6). */
	if (in->opts.has_ts) {
		struct tcp_syncookie_opts co = {
			.wscale_ok = in->opts.has_ws,
			.wscale = in->opts.ws > TCP_WS_MAX ? TCP_WS_MAX : in->opts.ws,
			.sack_ok = in->opts.sack_perm,
		};
		uint32_t off = tcp_ts_offset(t, p->h.dst, p->h.src);
		uint32_t now = (uint32_t)(st->now_ns / (NS_PER_S / TCP_TS_HZ)) + off;
		h.opts.has_ts = true;
		h.opts.tsval = tcp_syncookie_tsval(now, &co);
		h.opts.tsecr = in->opts.tsval;
		h.opts.sack_perm = in->opts.sack_perm;
		if (in->opts.has_ws) {
			h.opts.has_ws = true;
			h.opts.ws = tcp_rcv_wscale(rcvbuf);
		}
	}
	STAT_INC(st, TcpOutSegs);
	xmit(st, p->h.dst, p->h.src, &h, NULL, 0, 0, ls->ttl);
}

/* ---- what to send -------------------------------------------------------------------- */

static void send_syn(struct tcp_sock *s)
{
	uint8_t fl = s->state == TCP_STATE_SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK;
	tcp_send_segment(s, s->iss, 0, fl);
	s->snd_nxt = s->iss + 1;
	if (SEQ_GT(s->snd_nxt, s->snd_max))
		s->snd_max = s->snd_nxt;
	if (!s->timer[TCP_T_REXMT]) {
		if (!s->una_since_ns)
			s->una_since_ns = tcp_now(s);
		if (!s->ts_ok && s->rexmt_shift == 0) {
			s->rtt_timing = true;
			s->rtt_seq = s->iss;
			s->rtt_start_ns = tcp_now(s);
		}
		tcp_rearm_rexmt(s);
	}
}

/* Data waiting, nothing in flight, and the peer's window closed (or too small for SWS
 * avoidance to send): the persist timer probes or forces a segment (RFC 9293 §3.8.6.1,
 * RFC 1122 §4.2.3.4's override timeout). Otherwise it is off. */
static void update_persist(struct tcp_sock *s)
{
	size_t used = ring_used(&s->sndbuf);
	uint32_t off = s->snd_nxt - s->snd_buf_seq;
	bool waiting = off < used || (s->shut_wr && !s->fin_sent);
	if (waiting && s->snd_una == s->snd_max) {
		if (!s->timer[TCP_T_PERSIST]) {
			uint64_t ms = s->rto_ms;
			if (ms < TCP_PERSIST_MIN_MS)
				ms = TCP_PERSIST_MIN_MS;
			tcp_timer_set(s, TCP_T_PERSIST, tcp_now(s) + ms * NS_PER_MS);
		}
	} else if (s->timer[TCP_T_PERSIST]) {
		tcp_timer_stop(s, TCP_T_PERSIST);
		s->persist_shift = 0;
		s->probes_out = 0;
		s->probe_first_ns = s->probe_last_ns = 0;
	}
}

/* May a segment shorter than the MSS (len bytes of the avail queued from its start) go
 * now, with data in flight or not? Not its FIN's: that one always may. */
static bool short_segment_ok(const struct tcp_sock *s, size_t len, size_t avail,
			     bool in_flight)
{
	/* Sender SWS avoidance (RFC 1122 §4.2.3.4): a short segment only when it is all we
	 * have, or at least half the largest window ever offered. */
	if (len < avail && len < s->max_sndwnd / 2 && !s->force_send)
		return false;
	/* Nagle (RFC 896): with data in flight, wait for the ACK. */
	if (len == avail && !s->nodelay && in_flight && !s->in_recovery)
		return false;
	return true;
}

void tcp_output(struct tcp_sock *s)
{
	switch (s->state) {
	case TCP_STATE_CLOSED:
	case TCP_STATE_LISTEN:
		return;
	case TCP_STATE_TIME_WAIT:
		if (s->ack_now)
			tcp_send_ack(s);
		return;
	case TCP_STATE_SYN_SENT:
	case TCP_STATE_SYN_RECEIVED:
		if (s->snd_nxt == s->iss)
			send_syn(s);
		else if (s->ack_now && s->state == TCP_STATE_SYN_RECEIVED)
			send_syn(s); /* a duplicate SYN: repeat the SYN-ACK */
		s->ack_now = false;
		return;
	default:
		break;
	}

	bool sent = false;
	uint32_t mss = eff_mss(s);
	uint32_t tso_max = tcp_tso_max_bytes(s, mss); /* mss without TSO */
	if (s->snd_una == s->snd_max && s->last_data_ns &&
	    ring_used(&s->sndbuf) > (uint32_t)(s->snd_nxt - s->snd_buf_seq)) {
		/* New data with nothing in flight: RFC 5681 §4.1's restart window after a
		 * pause longer than the RTO, and RFC 9438 §5.8: the pause is no part of
		 * CUBIC's t. Accounted up to now, so a later call adds only the rest. */
		uint64_t now = tcp_now(s);
		tcp_cc_on_idle_restart(&s->cc, now - s->last_data_ns,
				       (uint64_t)s->rto_ms * NS_PER_MS, now);
		s->last_data_ns = now;
	}
	for (;;) {
		/* Resending after a timeout: skip what the peer SACKed (RFC 6675 §5.1). */
		uint32_t sack_cap = UINT32_MAX;
		if (s->nsacked && SEQ_LT(s->snd_nxt, s->snd_max)) {
			for (unsigned i = 0; i < s->nsacked; i++) {
				const struct tcp_sack_block *b = &s->sacked[i];
				if (SEQ_LEQ(b->left, s->snd_nxt) && SEQ_LT(s->snd_nxt, b->right))
					s->snd_nxt = SEQ_MIN(b->right, s->snd_max);
			}
			for (unsigned i = 0; i < s->nsacked; i++) {
				const struct tcp_sack_block *b = &s->sacked[i];
				if (SEQ_GT(b->left, s->snd_nxt) && b->left - s->snd_nxt < sack_cap)
					sack_cap = b->left - s->snd_nxt;
			}
		}
		size_t used = ring_used(&s->sndbuf);
		uint32_t off = s->snd_nxt - s->snd_buf_seq;
		size_t avail = off <= used ? used - off : 0;
		uint32_t data_end = s->snd_buf_seq + (uint32_t)used; /* the FIN's seq */
		uint32_t cwnd = s->cc.cwnd_bytes;
		/* RFC 3042 limited transmit: a new segment (never sent before) for each of
		 * the first two duplicate ACKs, so that a small window still reaches three. */
		if (!s->in_recovery && s->dupacks > 0 && s->dupacks < 3 &&
		    s->snd_nxt == s->snd_max)
			cwnd += s->dupacks * mss;
		uint32_t wnd = s->snd_wnd < cwnd ? s->snd_wnd : cwnd;
		uint32_t flight = tcp_in_flight(s);
		uint32_t usable = wnd > flight ? wnd - flight : 0;
		/* Never past the peer's right edge (cwnd may exceed it). */
		uint32_t edge = s->snd_una + s->snd_wnd;
		uint32_t to_edge = SEQ_GT(edge, s->snd_nxt) ? edge - s->snd_nxt : 0;
		if (usable > to_edge)
			usable = to_edge;
		size_t len = avail;
		if (len > usable)
			len = usable;
		if (len > tso_max)
			len = tso_max;
		if (len > sack_cap)
			len = sack_cap;
		bool fin = s->shut_wr && s->snd_nxt + (uint32_t)len == data_end &&
			   !(s->fin_sent && SEQ_GT(s->snd_nxt, data_end));
		if (fin && s->snd_nxt == data_end + 1)
			fin = false;
		if (len == 0 && !fin)
			break;
		if (len > 0 && len < mss && !fin &&
		    !short_segment_ok(s, len, avail, s->snd_nxt != s->snd_una))
			break;
		/* A super-segment's short tail goes only where it would go as a segment of
		 * its own after the full ones (which are then in flight), so Nagle and SWS
		 * avoidance hold it back exactly as without TSO (Linux tcp_mss_split_point). */
		if (len > mss && len % mss && !fin &&
		    !short_segment_ok(s, len % mss, avail - (len - len % mss), true))
			len -= len % mss;
		uint8_t fl = TCP_ACK;
		if (fin)
			fl |= TCP_FIN;
		if (len > 0 && len == avail)
			fl |= TCP_PSH;
		bool new_data = s->snd_nxt == s->snd_max;
		/* A segment the device refused (-ENOBUFS, -EMSGSIZE, no route) was not sent:
		 * SND.NXT stays and nothing counts as lost (issue 10 item 1). More output
		 * comes with the next ACK, or the persist timer when nothing is in flight. */
		if (send_segment(s, s->snd_nxt, len, fl, len > mss) < 0)
			break;
		if (new_data && !s->rtt_timing && !s->ts_ok && len > 0) {
			s->rtt_timing = true; /* Karn: only segments sent once are timed */
			s->rtt_seq = s->snd_nxt;
			s->rtt_start_ns = tcp_now(s);
		}
		if (s->snd_una == s->snd_nxt && !s->timer[TCP_T_REXMT])
			s->una_since_ns = tcp_now(s);
		s->snd_nxt += (uint32_t)len + (fin ? 1 : 0);
		if (SEQ_GT(s->snd_nxt, s->snd_max))
			s->snd_max = s->snd_nxt;
		if (fin)
			s->fin_sent = true;
		if (!s->timer[TCP_T_REXMT])
			tcp_rearm_rexmt(s);
		sent = true;
		if (fin)
			break;
	}

	update_persist(s);
	if (!sent && s->ack_now)
		tcp_send_ack(s);
}
