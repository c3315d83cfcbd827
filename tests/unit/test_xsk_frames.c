/* backends/xsk_frames.c: the UMEM frame ownership of the AF_XDP backend, over fill and RX
 * rings in ordinary memory with the test playing the kernel (it moves frames from the fill
 * ring to the RX ring as a NIC would). The point (issue 11 item 9): a receive backlog must
 * not take the frames kept for transmit. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

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
};

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
		xsk_frames_rx_done(&k->f, &k->fill, &k->rx, idx, n);
	return n;
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
	ck_assert_uint_eq(xsk_frames_fill(&k->f, &k->fill), RING);
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

	xsk_frames_fill(&k->f, &k->fill);
	ck_assert_uint_eq(kernel_rx(k, 4096), RING); /* fill ring empty, RX ring full */
	census(k, 0);
	for (int i = 0; i < 200; i++) { /* the flood goes on */
		ck_assert_uint_eq(daemon_rx(k, 64), 64);
		xsk_frames_fill(&k->f, &k->fill);
		census(k, 0);
		kernel_rx(k, 64);
		census(k, 0);
	}
	while (daemon_rx(k, 64)) /* then stops */
		xsk_frames_fill(&k->f, &k->fill);
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

	ck_assert_uint_eq(xsk_frames_fill(&k->f, &k->fill), RING);
	ck_assert_uint_eq(kernel_rx(k, RING), RING);
	ck_assert_uint_eq(xsk_frames_fill(&k->f, &k->fill), RING); /* the fill ring full */
	ck_assert_uint_eq(k->f.nfree, 0);
	ck_assert_uint_eq(daemon_rx(k, 64), 64);
	ck_assert_uint_eq(k->f.nfree, 64);
	census(k, 0);
	ck_assert_uint_eq(kernel_rx(k, 64), 64);
	ck_assert_uint_eq(xsk_frames_fill(&k->f, &k->fill), 64);
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

	xsk_frames_fill(&k->f, &k->fill);
	kernel_rx(k, 4096);
	daemon_rx(k, 64);
	xsk_frames_fill(&k->f, &k->fill);
	ck_assert_uint_lt(k->f.nfree_min, 100);
	census(k, 0);
	free(k);
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
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(xsk_frames_suite());
}
