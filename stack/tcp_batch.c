/* ACK coalescing over a receive batch (stack_input_batch_begin/end).
 *
 * A driver that takes several frames from its device at once (a TAP read loop, an AF_XDP
 * RX ring) feeds them all to the stack before it flushes the device. Inside such a batch a
 * pure ACK that TCP would send at once is deferred to the end of the batch, and several of
 * them on one connection become one, carrying the latest RCV.NXT, window and options: what
 * Linux gets from GRO (one ACK per merged super-segment) and what RFC 1122 §4.2.3.2 and
 * RFC 5681 §4.2 allow ("an ACK SHOULD be generated for at least every second full-sized
 * segment": a cumulative ACK of the whole batch acknowledges every second segment and
 * more, and it leaves before the stack looks at the device again, well within the 500 ms
 * bound). A data segment sent in the batch carries the ACK, and the deferred one is
 * dropped.
 *
 * Not deferred (sent as before):
 *  - duplicate ACKs for out-of-order data: RFC 5681 §4.2 wants one "immediate duplicate
 *    ACK" per out-of-order segment, and the sender counts them (§3.2 fast retransmit after
 *    three, RFC 6675's DupThresh); coalescing them would cost the sender its fast
 *    retransmit. Whenever the out-of-order queue is not empty the ACK goes out at once,
 *    with its SACK blocks (RFC 2018 §4: every ACK then carries them).
 *  - ACKs outside ESTABLISHED, FIN-WAIT-1/2 and CLOSE-WAIT (handshake, TIME-WAIT, ...).
 * A connection that leaves those states while an ACK is deferred sends it first, so the
 * ACK leaves before anything the new state sends, as it would have without the batch.
 *
 * No O(connections) work: the connections with a deferred ACK are on a list. */
#include <stdbool.h>

#include "tcp_var.h"

void tcp_batch_begin(struct stack *st)
{
	tcp_of(st)->batch = true;
}

static bool deferrable_state(enum tcp_state s)
{
	return s == TCP_STATE_ESTABLISHED || s == TCP_STATE_FIN_WAIT_1 ||
	       s == TCP_STATE_FIN_WAIT_2 || s == TCP_STATE_CLOSE_WAIT;
}

bool tcp_batch_defer_ack(struct tcp_sock *s)
{
	struct tcp *t = s->tcp;

	if (!t->batch || s->released || !deferrable_state(s->state) ||
	    !asm_is_empty(&s->ooo) || s->ooo_fin)
		return false;
	/* ack_now marks the ACK as owed; any segment with ACK clears it (tcp_send_segment),
	 * and then the deferred one has nothing left to say. */
	s->ack_now = true;
	uint64_t frame = s->st->stats.v[STAT_EthInFrames];
	if (s->ack_deferred) {
		/* Processing one segment may ask twice; it would have sent one ACK. */
		if (frame != s->ack_defer_frame)
			STAT_INC(s->st, TcpExtTCPBatchAckCoalesced);
		s->ack_defer_frame = frame;
		return true;
	}
	s->ack_defer_frame = frame;
	s->ack_deferred = true;
	s->ack_defer_next = t->ack_defer;
	t->ack_defer = s;
	return true;
}

/* Takes s off the list (not found: nothing). The list holds the connections of one batch,
 * at most one per frame. */
static void defer_unlink(struct tcp_sock *s)
{
	for (struct tcp_sock **pp = &s->tcp->ack_defer; *pp; pp = &(*pp)->ack_defer_next) {
		if (*pp == s) {
			*pp = s->ack_defer_next;
			break;
		}
	}
	s->ack_deferred = false;
	s->ack_defer_next = NULL;
}

/* Sends s's deferred ACK now if it is still owed; counts it as coalesced if a segment
 * sent since carried it. */
static void defer_send(struct tcp_sock *s)
{
	if (s->ack_now && !s->released)
		tcp_send_segment(s, s->snd_nxt, 0, TCP_ACK);
	else
		STAT_INC(s->st, TcpExtTCPBatchAckCoalesced);
}

void tcp_batch_state_change(struct tcp_sock *s, enum tcp_state ns)
{
	if (!s->ack_deferred || deferrable_state(ns))
		return;
	defer_unlink(s);
	defer_send(s);
}

void tcp_batch_forget(struct tcp_sock *s)
{
	if (s->ack_deferred)
		defer_unlink(s);
}

void tcp_batch_end(struct stack *st)
{
	struct tcp *t = tcp_of(st);

	t->batch = false;
	tcp_enter(t); /* sending frees nothing, but keep every socket until the list is done */
	while (t->ack_defer) {
		struct tcp_sock *s = t->ack_defer;

		t->ack_defer = s->ack_defer_next;
		s->ack_deferred = false;
		s->ack_defer_next = NULL;
		defer_send(s);
	}
	tcp_leave(t);
}

void tcp_batch_discard(struct tcp *t)
{
	while (t->ack_defer)
		defer_unlink(t->ack_defer);
	t->batch = false;
}
