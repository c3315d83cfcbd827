/* Who owns the UMEM's frames, for the AF_XDP backend: the free-frame stack (ours), the
 * frames lent to the kernel for receive, and the rule that keeps a share for transmit.
 *
 * Every frame is on the free stack, lent for receive (fill ring, driver, RX ring: counted
 * in rx_lent) or being sent (TX and completion rings). Receive may hold at most rx_budget
 * frames; the rest of the UMEM stays available to transmit, so that a receive backlog
 * (the RX ring full while the fill ring is refilled) cannot take the frames the replies
 * need (issue 11 item 9: the free frames fell from 2048 to 122 under a flood).
 *
 * Pure: only libxdp's inline ring operations, no system call, so the unit test drives it
 * with rings in ordinary memory (tests/unit/test_xsk_frames.c). When to wake the kernel is
 * decided here (xsk_ring_kick); the system call that wakes it is the caller's kick
 * callback. */
#ifndef USTACK_BACKENDS_XSK_FRAMES_H
#define USTACK_BACKENDS_XSK_FRAMES_H

#include <stdbool.h>
#include <stdint.h>
#include <xdp/xsk.h>

struct xsk_frames {
	uint64_t *free;	    /* frame addresses (UMEM offsets), total entries of storage */
	uint32_t nfree;	    /* on the free stack */
	uint32_t nfree_min; /* the low-water mark of nfree */
	uint32_t total;
	uint32_t rx_budget; /* the most frames lent for receive */
	uint32_t rx_lent;   /* on the fill ring, in the driver or on the RX ring */
	uint64_t frame_mask;
};

/* One wakeup of the kernel for a ring: recvfrom(2) for the fill ring, sendto(2) for TX.
 * fn returns true when another kick could make progress at once (TX: EAGAIN). */
struct xsk_kick {
	bool (*fn)(void *ctx);
	void *ctx;
};

/* Calls kick->fn exactly once when the kernel asked for a wakeup on ring (its flags word
 * has XDP_RING_NEED_WAKEUP, which the kernel sets only on a socket bound with
 * XDP_USE_NEED_WAKEUP), and not at all otherwise. Returns fn's result, false when not
 * called. */
bool xsk_ring_kick(const struct xsk_ring_prod *ring, const struct xsk_kick *kick);

/* All total frames of frame_size bytes (a power of two) on the free stack, the lowest
 * address on top. storage holds total entries. */
void xsk_frames_init(struct xsk_frames *f, uint64_t *storage, uint32_t total,
		     uint32_t frame_size, uint32_t rx_budget);
void xsk_frames_push(struct xsk_frames *f, uint64_t addr);
/* false when none is free. */
bool xsk_frames_pop(struct xsk_frames *f, uint64_t *addr);

/* Moves free frames to the fill ring until it is full, receive holds rx_budget frames, or
 * none is free; when any were submitted, kicks the fill ring if the kernel asks
 * (xsk_ring_kick). Returns the number submitted. */
uint32_t xsk_frames_fill(struct xsk_frames *f, struct xsk_ring_prod *fill,
			 const struct xsk_kick *kick);

/* The n received descriptors from idx on the RX ring are done with: their frames go back
 * to the fill ring (else to the free stack), the descriptors are released, and the fill
 * ring is topped up within the budget; when any frame went to the fill ring, it is kicked
 * once if the kernel asks (xsk_ring_kick). Returns the number submitted to the fill ring. */
uint32_t xsk_frames_rx_done(struct xsk_frames *f, struct xsk_ring_prod *fill,
			    struct xsk_ring_cons *rx, uint32_t idx, uint32_t n,
			    const struct xsk_kick *kick);

#endif
