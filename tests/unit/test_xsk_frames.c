/* backends/xsk_frames.c: the UMEM frame ownership of the AF_XDP backend, over fill and RX
 * rings in ordinary memory with the test playing the kernel (it moves frames from the fill
 * ring to the RX ring as a NIC would). The points: a receive backlog must not take the
 * frames kept for transmit (issue 11 item 9); the fill ring is kicked after a refill when,
 * and only when, the kernel asks (item 4: a zero-copy driver waits for the kick, copy mode
 * never asks, so veth cannot show it); the bind flags follow the mode (item 3). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "backends/af_xdp.h"
#include "backends/xsk_frames.h"
#include "harness.h"

#define FRAME 4096u
#define TOTAL 4096u
#define RING 2048u /* fill and RX rings, as af_xdp.c sizes them */
#define TX_SHARE 2048u /* kept for transmit */
#define BUDGET (TOTAL - TX_SHARE)

struct fake {
	struct xsk_frames f;
	uint64_t store[TOTAL];
	struct xsk_ring_prod fill;
	struct xsk_ring_cons rx;
	uint32_t fill_prod, fill_cons, fill_flags, rx_prod, rx_cons, rx_flags;
	uint64_t fill_ring[RING];
	struct xdp_desc rx_ring[RING];
	struct xsk_kick kick; /* counts in kicks */
	uint32_t kicks;
	bool kick_clears; /* the kick wakes the driver, which clears the flag */
};

/* The daemon's kick (a recvfrom(2) on the socket): the test counts it. */
static bool fake_kick(void *ctx)
{
	struct fake *k = ctx;

	k->kicks++;
	if (k->kick_clears)
		k->fill_flags &= ~XDP_RING_NEED_WAKEUP;
	return false;
}

/* Rings as libxdp sets them up after mmap: a producer ring's cached_cons runs one ring
 * size ahead of the consumer. */
static struct fake *fake_new(uint32_t budget)
{
	struct fake *k = calloc(1, sizeof(*k));

	ck_assert_ptr_nonnull(k);
	k->fill = (struct xsk_ring_prod){ .cached_cons = RING, .mask = RING - 1, .size = RING,
					  .producer = &k->fill_prod, .consumer = &k->fill_cons,
					  .ring = k->fill_ring, .flags = &k->fill_flags };
	k->rx = (struct xsk_ring_cons){ .mask = RING - 1, .size = RING,
					.producer = &k->rx_prod, .consumer = &k->rx_cons,
					.ring = k->rx_ring, .flags = &k->rx_flags };
	k->kick = (struct xsk_kick){ .fn = fake_kick, .ctx = k };
	xsk_frames_init(&k->f, k->store, TOTAL, FRAME, budget);
	return k;
}

/* The kernel receives up to n frames: each takes a frame off the fill ring and puts it on
 * the RX ring, while both have room. Returns how many. */
static uint32_t kernel_rx(struct fake *k, uint32_t n)
{
	uint32_t done = 0;

	while (done < n && k->fill_cons != k->fill_prod && k->rx_prod - k->rx_cons < RING) {
		k->rx_ring[k->rx_prod & (RING - 1)] =
			(struct xdp_desc){ .addr = k->fill_ring[k->fill_cons & (RING - 1)],
					   .len = 60 };
		k->fill_cons++;
		k->rx_prod++;
		done++;
	}
	return done;
}

/* The daemon handles a batch of up to max received frames, as afxdp_rx_batch does. */
static uint32_t daemon_rx(struct fake *k, uint32_t max)
{
	uint32_t idx, n = xsk_ring_cons__peek(&k->rx, max, &idx);

	if (n)
		xsk_frames_rx_done(&k->f, &k->fill, &k->rx, idx, n, &k->kick);
	return n;
}

/* With the whole UMEM as budget: the fill ring filled, all taken by the kernel to the RX
 * ring, the fill ring filled again. Both rings full, no frame free. */
static void rings_full(struct fake *k)
{
	ck_assert_uint_eq(xsk_frames_fill(&k->f, &k->fill, &k->kick), RING);
	ck_assert_uint_eq(kernel_rx(k, RING), RING);
	ck_assert_uint_eq(xsk_frames_fill(&k->f, &k->fill, &k->kick), RING);
	ck_assert_uint_eq(k->f.nfree, 0);
}

/* Every frame is in one place: free, fill ring, RX ring (the test holds none in flight). */
static void census(struct fake *k, uint32_t sending)
{
	uint32_t fill = k->fill_prod - k->fill_cons, rx = k->rx_prod - k->rx_cons;

	ck_assert_uint_eq(k->f.nfree + fill + rx + sending, TOTAL);
	ck_assert_uint_eq(k->f.rx_lent, fill + rx);
}

START_TEST(xsk_frames_start)
{
	struct fake *k = fake_new(BUDGET);

	ck_assert_uint_eq(k->f.nfree, TOTAL);
	ck_assert_uint_eq(xsk_frames_fill(&k->f, &k->fill, &k->kick), RING);
	ck_assert_uint_eq(k->f.nfree, TOTAL - RING);
	ck_assert_uint_eq(k->fill_prod, RING);
	/* page-aligned, distinct addresses */
	for (uint32_t i = 0; i < RING; i++)
		ck_assert_uint_eq(k->fill_ring[i] % FRAME, 0);
	census(k, 0);
	free(k);
}
END_TEST

/* The RX ring fills up (the daemon stopped, or slower than the link), then the daemon
 * drains it in batches while refilling the fill ring, as its flush does after every batch:
 * the free frames never drop below the transmit share. */
START_TEST(xsk_frames_backlog_keeps_tx_share)
{
	struct fake *k = fake_new(BUDGET);
	uint64_t addr;

	xsk_frames_fill(&k->f, &k->fill, &k->kick);
	ck_assert_uint_eq(kernel_rx(k, 4096), RING); /* fill ring empty, RX ring full */
	census(k, 0);
	for (int i = 0; i < 200; i++) { /* the flood goes on */
		ck_assert_uint_eq(daemon_rx(k, 64), 64);
		xsk_frames_fill(&k->f, &k->fill, &k->kick);
		census(k, 0);
		kernel_rx(k, 64);
		census(k, 0);
	}
	while (daemon_rx(k, 64)) /* then stops */
		xsk_frames_fill(&k->f, &k->fill, &k->kick);
	census(k, 0);
	ck_assert_uint_eq(k->fill_prod - k->fill_cons, RING); /* the fill ring full again */
	ck_assert_uint_ge(k->f.nfree_min, TX_SHARE);
	/* and transmit still gets every one of its frames */
	for (uint32_t i = 0; i < TX_SHARE; i++)
		ck_assert(xsk_frames_pop(&k->f, &addr));
	ck_assert(!xsk_frames_pop(&k->f, &addr));
	census(k, TX_SHARE);
	free(k);
}
END_TEST

/* When the fill ring has no room for a batch's frames (only possible with a budget above
 * its size), they go to the free stack, and back to the fill ring once it has room; every
 * frame stays accounted for. */
START_TEST(xsk_frames_fill_ring_full)
{
	struct fake *k = fake_new(TOTAL);

	rings_full(k);
	ck_assert_uint_eq(daemon_rx(k, 64), 64);
	ck_assert_uint_eq(k->f.nfree, 64);
	census(k, 0);
	ck_assert_uint_eq(kernel_rx(k, 64), 64);
	ck_assert_uint_eq(xsk_frames_fill(&k->f, &k->fill, &k->kick), 64);
	ck_assert_uint_eq(k->f.nfree, 0);
	census(k, 0);
	free(k);
}
END_TEST

/* A budget of the whole UMEM (what the backend did before) lets a backlog take the
 * transmit frames: the low-water mark shows it. */
START_TEST(xsk_frames_no_budget_starves_tx)
{
	struct fake *k = fake_new(TOTAL);

	xsk_frames_fill(&k->f, &k->fill, &k->kick);
	kernel_rx(k, 4096);
	daemon_rx(k, 64);
	xsk_frames_fill(&k->f, &k->fill, &k->kick);
	ck_assert_uint_lt(k->f.nfree_min, 100);
	census(k, 0);
	free(k);
}
END_TEST

/* A zero-copy driver that found the fill ring empty sets XDP_RING_NEED_WAKEUP and uses
 * no frame put there until a system call wakes it. Every refill that finds the flag set
 * kicks exactly once: the first fill, the frames a received batch gives back (the common
 * case, where nothing goes through the free stack: it was not kicked before the fix, and
 * receive stalled), and a top-up. */
START_TEST(xsk_frames_refill_kicks_when_asked)
{
	struct fake *k = fake_new(BUDGET);

	k->fill_flags = XDP_RING_NEED_WAKEUP;
	ck_assert_uint_eq(xsk_frames_fill(&k->f, &k->fill, &k->kick), RING);
	ck_assert_uint_eq(k->kicks, 1);
	ck_assert_uint_eq(kernel_rx(k, 64), 64);
	ck_assert_uint_eq(daemon_rx(k, 64), 64); /* all 64 straight back to the fill ring */
	ck_assert_uint_eq(k->kicks, 2);
	/* the driver took everything and waits: one kick per batch given back */
	ck_assert_uint_eq(kernel_rx(k, RING), RING);
	for (int i = 1; i <= 4; i++) {
		ck_assert_uint_eq(daemon_rx(k, 64), 64);
		ck_assert_uint_eq(k->kicks, 2u + (uint32_t)i);
	}
	census(k, 0);
	free(k);
}
END_TEST

/* Once the kick woke the driver it clears the flag: the next refills make no system call. */
START_TEST(xsk_frames_refill_kick_once)
{
	struct fake *k = fake_new(BUDGET);

	k->kick_clears = true;
	k->fill_flags = XDP_RING_NEED_WAKEUP;
	xsk_frames_fill(&k->f, &k->fill, &k->kick);
	ck_assert_uint_eq(k->kicks, 1);
	ck_assert_uint_eq(k->fill_flags & XDP_RING_NEED_WAKEUP, 0);
	kernel_rx(k, 128);
	daemon_rx(k, 64);
	daemon_rx(k, 64);
	ck_assert_uint_eq(k->kicks, 1);
	free(k);
}
END_TEST

/* Without the flag (copy mode, or a driver still busy with the ring) nothing is kicked,
 * however the frames come back: straight from a batch, through the free stack, or by a
 * top-up. */
START_TEST(xsk_frames_refill_no_kick_unasked)
{
	struct fake *k = fake_new(TOTAL);

	rings_full(k);
	ck_assert_uint_eq(daemon_rx(k, 64), 64); /* the fill ring full: to the free stack */
	kernel_rx(k, 64);
	xsk_frames_fill(&k->f, &k->fill, &k->kick);
	daemon_rx(k, 64);
	ck_assert_uint_eq(k->kicks, 0);
	census(k, 0);
	free(k);
}
END_TEST

/* A refill that submits nothing (the fill ring full, or the budget lent) leaves the ring as
 * the driver last saw it: no kick, even when the flag is set, as before. A batch whose
 * frames all go to the free stack gives the driver nothing either. */
START_TEST(xsk_frames_refill_nothing_no_kick)
{
	struct fake *k = fake_new(TOTAL);

	rings_full(k);
	k->fill_flags = XDP_RING_NEED_WAKEUP;
	ck_assert_uint_eq(xsk_frames_fill(&k->f, &k->fill, &k->kick), 0);
	ck_assert_uint_eq(daemon_rx(k, 64), 64);
	ck_assert_uint_eq(k->f.nfree, 64); /* all to the free stack */
	ck_assert_uint_eq(k->kicks, 0);
	census(k, 0);
	free(k);
}
END_TEST

/* TX: the same rule over the TX ring, and the kick's answer (EAGAIN: kick again) is passed
 * back only when it was called. */
static bool tx_kick_again(void *ctx)
{
	(*(uint32_t *)ctx)++;
	return true;
}

START_TEST(xsk_frames_tx_kick_when_asked)
{
	uint32_t prod = 0, cons = 0, flags = 0, kicks = 0;
	struct xdp_desc ring[RING];
	struct xsk_ring_prod tx = { .cached_cons = RING, .mask = RING - 1, .size = RING,
				    .producer = &prod, .consumer = &cons, .ring = ring,
				    .flags = &flags };
	struct xsk_kick kick = { .fn = tx_kick_again, .ctx = &kicks };

	ck_assert(!xsk_ring_kick(&tx, &kick)); /* the driver polls TX by itself */
	ck_assert_uint_eq(kicks, 0);
	flags = XDP_RING_NEED_WAKEUP;
	ck_assert(xsk_ring_kick(&tx, &kick));
	ck_assert_uint_eq(kicks, 1);
}
END_TEST

/* The bind flags: need-wakeup always (the kicks above depend on it); skb (generic XDP) is
 * copy mode, so XDP_COPY, which zero-copy drivers otherwise ignore; native and auto let
 * the kernel choose zero-copy, so neither XDP_COPY nor a forced XDP_ZEROCOPY (which would
 * fail on veth). */
START_TEST(xsk_frames_bind_flags)
{
	ck_assert_uint_eq(afxdp_bind_flags(AFXDP_MODE_SKB), XDP_USE_NEED_WAKEUP | XDP_COPY);
	ck_assert_uint_eq(afxdp_bind_flags(AFXDP_MODE_NATIVE), XDP_USE_NEED_WAKEUP);
	ck_assert_uint_eq(afxdp_bind_flags(AFXDP_MODE_AUTO), XDP_USE_NEED_WAKEUP);
}
END_TEST

static Suite *xsk_frames_suite(void)
{
	Suite *s = suite_create("xsk_frames");
	TCase *tc = tcase_create("frames");

	tcase_add_test(tc, xsk_frames_start);
	tcase_add_test(tc, xsk_frames_backlog_keeps_tx_share);
	tcase_add_test(tc, xsk_frames_fill_ring_full);
	tcase_add_test(tc, xsk_frames_no_budget_starves_tx);
	tcase_add_test(tc, xsk_frames_refill_kicks_when_asked);
	tcase_add_test(tc, xsk_frames_refill_kick_once);
	tcase_add_test(tc, xsk_frames_refill_no_kick_unasked);
	tcase_add_test(tc, xsk_frames_refill_nothing_no_kick);
	tcase_add_test(tc, xsk_frames_tx_kick_when_asked);
	tcase_add_test(tc, xsk_frames_bind_flags);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(xsk_frames_suite());
}
