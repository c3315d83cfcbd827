#include "xsk_frames.h"

void xsk_frames_init(struct xsk_frames *f, uint64_t *storage, uint32_t total,
		     uint32_t frame_size, uint32_t rx_budget)
{
	f->free = storage;
	f->nfree = 0;
	f->total = total;
	f->rx_budget = rx_budget < total ? rx_budget : total;
	f->rx_lent = 0;
	f->frame_mask = ~(uint64_t)(frame_size - 1);
	for (uint32_t i = 0; i < total; i++)
		xsk_frames_push(f, (uint64_t)(total - 1 - i) * frame_size);
	f->nfree_min = f->nfree;
}

void xsk_frames_push(struct xsk_frames *f, uint64_t addr)
{
	/* Every frame is owned by exactly one party, so the stack cannot overflow. */
	if (f->nfree < f->total)
		f->free[f->nfree++] = addr & f->frame_mask;
}

bool xsk_frames_pop(struct xsk_frames *f, uint64_t *addr)
{
	*addr = 0;
	if (f->nfree == 0)
		return false;
	*addr = f->free[--f->nfree];
	if (f->nfree < f->nfree_min)
		f->nfree_min = f->nfree;
	return true;
}

/* With XDP_USE_NEED_WAKEUP a zero-copy driver stops looking at a ring it found empty (fill)
 * or has drained (TX) until a system call wakes it: frames put on the fill ring after that
 * are not used and receive stalls (issue 11 item 4), frames on TX are not sent
 * (Documentation/networking/af_xdp.rst, "XDP_USE_NEED_WAKEUP bind flag"). Copy mode (veth)
 * wakes itself and leaves the flag clear on the fill ring. */
bool xsk_ring_kick(const struct xsk_ring_prod *ring, const struct xsk_kick *kick)
{
	if (!xsk_ring_prod__needs_wakeup(ring))
		return false;
	return kick->fn(kick->ctx);
}

/* xsk_frames_fill without the kick, for xsk_frames_rx_done, which kicks once for both. */
static uint32_t frames_fill(struct xsk_frames *f, struct xsk_ring_prod *fill)
{
	uint32_t want = xsk_prod_nb_free(fill, fill->size), idx, n;

	if (want > f->rx_budget - f->rx_lent)
		want = f->rx_budget - f->rx_lent;
	if (want > f->nfree)
		want = f->nfree;
	if (want == 0)
		return 0;
	n = xsk_ring_prod__reserve(fill, want, &idx);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t addr;

		xsk_frames_pop(f, &addr);
		*xsk_ring_prod__fill_addr(fill, idx + i) = addr;
	}
	xsk_ring_prod__submit(fill, n);
	f->rx_lent += n;
	return n;
}

uint32_t xsk_frames_fill(struct xsk_frames *f, struct xsk_ring_prod *fill,
			 const struct xsk_kick *kick)
{
	uint32_t n = frames_fill(f, fill);

	if (n)
		xsk_ring_kick(fill, kick);
	return n;
}

uint32_t xsk_frames_rx_done(struct xsk_frames *f, struct xsk_ring_prod *fill,
			    struct xsk_ring_cons *rx, uint32_t idx, uint32_t n,
			    const struct xsk_kick *kick)
{
	uint32_t idx_fill = 0, nfill;

	/* The kernel took at least n frames off the fill ring to fill these descriptors, so
	 * n slots are normally free: each frame goes straight back. */
	nfill = xsk_ring_prod__reserve(fill, n, &idx_fill);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t addr = xsk_ring_cons__rx_desc(rx, idx + i)->addr;

		if (i < nfill)
			*xsk_ring_prod__fill_addr(fill, idx_fill + i) = addr & f->frame_mask;
		else
			xsk_frames_push(f, addr);
	}
	xsk_ring_prod__submit(fill, nfill);
	xsk_ring_cons__release(rx, n);
	f->rx_lent -= n - nfill; /* the frames pushed on the free stack */
	if (nfill < n)
		nfill += frames_fill(f, fill);
	if (nfill)
		xsk_ring_kick(fill, kick);
	return nfill;
}
