/* Out-of-order tracking for the TCP receive queue (after smoltcp's Assembler).
 *
 * Records which byte ranges beyond the receive point (RCV.NXT) have arrived; it holds no
 * data (the bytes themselves go into the receive ring with ring_write_at(), buf/ring.h).
 * Offsets are relative to the current receive point: byte RCV.NXT + k is offset k.
 *
 * Ranges are kept sorted, disjoint and non-adjacent (touching or overlapping ranges are
 * merged), and there are at most ASM_MAX_RANGES of them: memory is bounded whatever the
 * peer sends. A segment that would need one range more is refused with -ENOSPC and the
 * assembler is left exactly as it was: the caller drops the segment (the peer
 * retransmits it); nothing is ever half-recorded.
 *
 * Receive path, per accepted segment (seq and data already trimmed to the window):
 *
 *	uint32_t off = seq - rcv_nxt;
 *	if (asm_add(&a, off, len) < 0) goto drop;          // -ENOSPC: too fragmented
 *	ring_write_at(&rcvq, off, data, len);
 *	uint32_t n = asm_take_front(&a);                   // 0 unless the hole at 0 closed
 *	ring_commit(&rcvq, n);
 *	rcv_nxt += n;
 *	nsack = asm_sack_blocks(&a, rcv_nxt, blocks, 4, true);  // RFC 2018 §4 (3 with TS)
 *
 * In-order data (off 0) goes through the same calls; with no holes it is recorded and
 * taken at once, so the in-order fast path costs O(1). */
#ifndef USTACK_BUF_ASSEMBLER_H
#define USTACK_BUF_ASSEMBLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../wire/tcp.h" /* struct tcp_sack_block */

/* 32 holes is far more than real reordering produces (Linux keeps an rbtree without a cap
 * but prunes under memory pressure; smoltcp defaults to 4). Each range costs 12 bytes. */
#define ASM_MAX_RANGES 32

struct asm_range {
	uint32_t start; /* offset of the first byte */
	uint32_t end;	/* offset just after the last byte; start < end */
	uint32_t stamp; /* value of assembler.clock when data last landed in this range */
};

struct assembler {
	struct asm_range r[ASM_MAX_RANGES]; /* sorted by start, disjoint, non-adjacent */
	unsigned n;			    /* ranges in use */
	uint32_t clock;			    /* counts asm_add() calls, for SACK recency */
};

void asm_init(struct assembler *a);
/* Records that bytes [off, off + len) arrived. Duplicates and overlaps are fine.
 * 0 on success (len 0 too: a no-op); -ENOSPC when a new range would exceed
 * ASM_MAX_RANGES (the assembler is unchanged); -EOVERFLOW when off + len wraps 32 bits. */
int asm_add(struct assembler *a, uint32_t off, uint32_t len);
/* If offset 0 has arrived, removes the range starting there and returns its length (the
 * bytes now contiguous at the receive point); all remaining offsets shift down by it, so
 * the caller advances its receive point by the same amount. Returns 0 otherwise. */
uint32_t asm_take_front(struct assembler *a);
/* The receive point moved by n bytes that needed no range (in-order data taken directly
 * while every range is in use; n at most the first range's start): all offsets shift
 * down by n. */
void asm_advance(struct assembler *a, uint32_t n);
/* SACK blocks for the ranges held, as sequence numbers (offset + base_seq, base_seq being
 * the receive point, RCV.NXT). Fills at most max blocks and returns how many.
 * most_recent_first: RFC 2018 §4 order: the first block contains the most recently
 * received segment, then the other ranges by decreasing recency of their last update
 * (which repeats the most recently reported blocks first, as §4 asks); false: ascending
 * sequence order. A range at offset 0 is reported too if the caller has not taken it. */
int asm_sack_blocks(const struct assembler *a, uint32_t base_seq, struct tcp_sack_block *out,
		    int max, bool most_recent_first);

static inline bool asm_is_empty(const struct assembler *a)
{
	return a->n == 0;
}

/* Number of ranges (holes after the receive point = ranges). */
static inline unsigned asm_range_count(const struct assembler *a)
{
	return a->n;
}

/* Offset just after the highest byte received (0 when empty): the receive ring must hold
 * at least this many bytes beyond the used ones. */
static inline uint32_t asm_max_end(const struct assembler *a)
{
	return a->n ? a->r[a->n - 1].end : 0;
}

#endif
