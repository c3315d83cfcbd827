/* Unit tests of the TCP building blocks: byte ring, out-of-order assembler, congestion
 * control (NewReno, CUBIC), SipHash, RFC 6528 ISNs, SYN cookies. All pure: no netif, no
 * harness; a virtual clock is just a uint64_t here. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "stack/buf/assembler.h"
#include "stack/buf/ring.h"
#include "stack/rand.h"
#include "stack/siphash.h"
#include "stack/tcp_cc.h"
#include "stack/tcp_isn.h"
#include "stack/tcp_syncookie.h"

/* Every passing ck_assert records its line through Check's pipe (a syscall); inside the
 * randomized loops only a failure is reported. */
#define FAST_ASSERT(cond)                                                                      \
	do {                                                                                   \
		if (!(cond))                                                                   \
			ck_abort_msg("%s:%d: assertion failed: %s", __FILE__, __LINE__, #cond);       \
	} while (0)

#define MS 1000000ull
#define S 1000000000ull

static struct rng seeded_rng(uint8_t tag)
{
	uint8_t seed[32];
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(i * 7 + tag);
	struct rng r;
	rng_seed(&r, seed);
	return r;
}

/* ---------------------------------------------------------------- ring */

START_TEST(ring_wraparound)
{
	struct ring r;
	ck_assert_int_eq(ring_init(&r, 8), 0);
	ck_assert_uint_eq(ring_write(&r, "abcdef", 6), 6);
	char out[16] = { 0 };
	ck_assert_uint_eq(ring_read(&r, out, 4), 4);
	ck_assert_mem_eq(out, "abcd", 4);
	/* 2 used at index 4..5; 6 more wrap around the end of the storage. */
	ck_assert_uint_eq(ring_write(&r, "ghijkl", 6), 6);
	ck_assert_uint_eq(ring_used(&r), 8);
	ck_assert_uint_eq(ring_free(&r), 0);
	ck_assert_uint_eq(ring_read(&r, out, sizeof(out)), 8);
	ck_assert_mem_eq(out, "efghijkl", 8);
	ck_assert_uint_eq(ring_used(&r), 0);
	ck_assert_uint_eq(ring_read(&r, out, 1), 0);
	ring_fini(&r);
	ring_fini(&r); /* idempotent */
}
END_TEST

START_TEST(ring_partial_write)
{
	struct ring r;
	ck_assert_int_eq(ring_init(&r, 10), 0);
	ck_assert_uint_eq(ring_write(&r, "0123456789abcdef", 16), 10);
	ck_assert_uint_eq(ring_write(&r, "x", 1), 0);
	ck_assert_uint_eq(ring_consume(&r, 3), 3);
	ck_assert_uint_eq(ring_write(&r, "ABCDE", 5), 3);
	char out[10];
	ck_assert_uint_eq(ring_peek(&r, 0, out, 10), 10);
	ck_assert_mem_eq(out, "3456789ABC", 10);
	ck_assert_uint_eq(ring_consume(&r, 100), 10);
	ring_fini(&r);

	ck_assert_int_eq(ring_init(&r, 0), 0); /* zero capacity: takes nothing */
	ck_assert_uint_eq(ring_write(&r, "a", 1), 0);
	struct iovec iov[2];
	ck_assert_int_eq(ring_peek_iov(&r, 0, 5, iov), 0);
	ring_fini(&r);
}
END_TEST

START_TEST(ring_peek_iov_across_wrap)
{
	struct ring r;
	ck_assert_int_eq(ring_init(&r, 16), 0);
	uint8_t junk[12] = { 0 };
	ck_assert_uint_eq(ring_write(&r, junk, 12), 12);
	ck_assert_uint_eq(ring_consume(&r, 12), 12); /* head at 12 */
	ck_assert_uint_eq(ring_write(&r, "ABCDEFGHIJ", 10), 10); /* 12..15, 0..5 */

	struct iovec iov[2];
	ck_assert_int_eq(ring_peek_iov(&r, 0, 10, iov), 2);
	ck_assert_uint_eq(iov[0].iov_len, 4);
	ck_assert_mem_eq(iov[0].iov_base, "ABCD", 4);
	ck_assert_uint_eq(iov[1].iov_len, 6);
	ck_assert_mem_eq(iov[1].iov_base, "EFGHIJ", 6);
	/* From an offset before the wrap, clipped to what is used. */
	ck_assert_int_eq(ring_peek_iov(&r, 2, 100, iov), 2);
	ck_assert_uint_eq(iov[0].iov_len, 2);
	ck_assert_mem_eq(iov[0].iov_base, "CD", 2);
	ck_assert_uint_eq(iov[1].iov_len, 6);
	/* Entirely after the wrap: one iovec. */
	ck_assert_int_eq(ring_peek_iov(&r, 5, 3, iov), 1);
	ck_assert_mem_eq(iov[0].iov_base, "FGH", 3);
	ck_assert_ptr_null(iov[1].iov_base);
	/* Nothing at or past the used bytes. */
	ck_assert_int_eq(ring_peek_iov(&r, 10, 1, iov), 0);
	ck_assert_uint_eq(iov[0].iov_len, 0);
	char out[4];
	ck_assert_uint_eq(ring_peek(&r, 3, out, 4), 4);
	ck_assert_mem_eq(out, "DEFG", 4);
	ck_assert_uint_eq(ring_peek(&r, 10, out, 4), 0);
	ck_assert_uint_eq(ring_used(&r), 10); /* peeking consumed nothing */
	ring_fini(&r);
}
END_TEST

START_TEST(ring_write_at_commit)
{
	struct ring r;
	ck_assert_int_eq(ring_init(&r, 16), 0);
	uint8_t junk[10] = { 0 };
	ck_assert_uint_eq(ring_write(&r, junk, 10), 10);
	ck_assert_uint_eq(ring_consume(&r, 8), 8); /* head 8, 2 used (8..9), 14 free */

	/* Out of order: bytes 4..7 past the used ones arrive first (they wrap). */
	ck_assert_uint_eq(ring_write_at(&r, 4, "EFGH", 4), 4);
	ck_assert_uint_eq(ring_used(&r), 2); /* not readable yet */
	ck_assert_uint_eq(ring_write_at(&r, 0, "ABCD", 4), 4);
	ck_assert_uint_eq(ring_commit(&r, 8), 8);
	ck_assert_uint_eq(ring_consume(&r, 2), 2);
	char out[16];
	ck_assert_uint_eq(ring_read(&r, out, sizeof(out)), 8);
	ck_assert_mem_eq(out, "ABCDEFGH", 8);

	/* Clipping to the free space. */
	ck_assert_uint_eq(ring_write(&r, "0123456789", 10), 10); /* 6 free */
	ck_assert_uint_eq(ring_write_at(&r, 6, "x", 1), 0);
	ck_assert_uint_eq(ring_write_at(&r, 4, "xyz", 3), 2);
	ck_assert_uint_eq(ring_commit(&r, 100), 6);
	ck_assert_uint_eq(ring_free(&r), 0);
	ck_assert_uint_eq(ring_peek(&r, 14, out, 2), 2);
	ck_assert_mem_eq(out, "xy", 2);

	/* reserve_iov: the free space as spans, then commit. */
	ck_assert_uint_eq(ring_consume(&r, 16), 16);
	struct iovec iov[2];
	ck_assert_int_eq(ring_reserve_iov(&r, 0, 16, iov), 2);
	ck_assert_uint_eq(iov[0].iov_len + iov[1].iov_len, 16);
	memcpy(iov[0].iov_base, "0123456789abcdef", iov[0].iov_len);
	memcpy(iov[1].iov_base, &"0123456789abcdef"[iov[0].iov_len], iov[1].iov_len);
	ck_assert_uint_eq(ring_commit(&r, 16), 16);
	ck_assert_uint_eq(ring_read(&r, out, 16), 16);
	ck_assert_mem_eq(out, "0123456789abcdef", 16);
	ck_assert_int_eq(ring_reserve_iov(&r, 16, 1, iov), 0);
	ring_fini(&r);
}
END_TEST

/* Random operations against a flat model: a stream of bytes where the used ones are
 * model[rd, wr) and write_at data lands at model[wr + off]. */
START_TEST(ring_random_model)
{
	struct rng g = seeded_rng(1);
	enum { CAP = 97, TOTAL = 1 << 16 };
	static uint8_t model[TOTAL + 256];
	static bool def[TOTAL + 256]; /* model byte written (write or write_at) */
	memset(def, 0, sizeof(def));
	struct ring r;
	ck_assert_int_eq(ring_init(&r, CAP), 0);
	size_t rd = 0, wr = 0;
	uint8_t buf[256], out[256];
	while (wr < TOTAL) {
		size_t len = rng_below(&g, 120);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rng_u32(&g);
		switch (rng_below(&g, 5)) {
		case 0: {
			size_t n = ring_write(&r, buf, len);
			FAST_ASSERT(n == (len < CAP - (wr - rd) ? len : CAP - (wr - rd)));
			memcpy(model + wr, buf, n);
			memset(def + wr, 1, n);
			wr += n;
			break;
		}
		case 1: {
			size_t off = rng_below(&g, 40);
			size_t n = ring_write_at(&r, off, buf, len);
			size_t fr = CAP - (wr - rd);
			FAST_ASSERT(n == (off >= fr ? 0 : (len < fr - off ? len : fr - off)));
			memcpy(model + wr + off, buf, n);
			memset(def + wr + off, 1, n);
			break;
		}
		case 2: {
			/* Commit only bytes written (as TCP commits what the assembler saw):
			 * the rest of the free space holds stale bytes. */
			size_t want = 0;
			while (want < len / 4 && def[wr + want])
				want++;
			FAST_ASSERT(ring_commit(&r, want) == want);
			wr += want;
			break;
		}
		case 3: {
			size_t n = ring_read(&r, out, len);
			FAST_ASSERT(n == (len < wr - rd ? len : wr - rd));
			FAST_ASSERT(memcmp(out, model + rd, n) == 0);
			rd += n;
			break;
		}
		default: {
			size_t off = rng_below(&g, 50);
			struct iovec iov[2];
			int k = ring_peek_iov(&r, off, len, iov);
			size_t exp = off >= wr - rd ? 0 : (len < wr - rd - off ? len : wr - rd - off);
			size_t got = 0;
			for (int j = 0; j < k; j++) {
				FAST_ASSERT(iov[j].iov_len > 0); /* no empty iovec */
				FAST_ASSERT(memcmp(iov[j].iov_base, model + rd + off + got,
						   iov[j].iov_len) == 0);
				got += iov[j].iov_len;
			}
			FAST_ASSERT(got == exp);
			break;
		}
		}
		FAST_ASSERT(ring_used(&r) == wr - rd);
		FAST_ASSERT(r.head < r.cap);
	}
	ring_fini(&r);
}
END_TEST

/* ---------------------------------------------------------------- assembler */

START_TEST(asm_in_order)
{
	struct assembler a;
	asm_init(&a);
	ck_assert(asm_is_empty(&a));
	ck_assert_int_eq(asm_add(&a, 0, 100), 0);
	ck_assert_uint_eq(asm_take_front(&a), 100);
	ck_assert(asm_is_empty(&a));
	ck_assert_uint_eq(asm_take_front(&a), 0);
	ck_assert_int_eq(asm_add(&a, 0, 0), 0); /* empty segment: no-op */
	ck_assert(asm_is_empty(&a));
	ck_assert_int_eq(asm_add(&a, 0xfffffff0u, 0x20), -EOVERFLOW);
	ck_assert(asm_is_empty(&a));
}
END_TEST

START_TEST(asm_out_of_order)
{
	struct assembler a;
	asm_init(&a);
	ck_assert_int_eq(asm_add(&a, 100, 50), 0);
	ck_assert_int_eq(asm_add(&a, 200, 50), 0);
	ck_assert_uint_eq(asm_range_count(&a), 2);
	ck_assert_uint_eq(asm_take_front(&a), 0); /* hole at 0 */
	ck_assert_uint_eq(asm_max_end(&a), 250);
	ck_assert_int_eq(asm_add(&a, 0, 100), 0); /* fills the first hole */
	ck_assert_uint_eq(asm_take_front(&a), 150);
	/* The rest shifted: [200,250) is now [50,100). */
	ck_assert_uint_eq(asm_range_count(&a), 1);
	ck_assert_uint_eq(a.r[0].start, 50);
	ck_assert_uint_eq(a.r[0].end, 100);
	ck_assert_int_eq(asm_add(&a, 0, 60), 0); /* overlaps it */
	ck_assert_uint_eq(asm_take_front(&a), 100);
	ck_assert(asm_is_empty(&a));
}
END_TEST

START_TEST(asm_merge)
{
	struct assembler a;
	asm_init(&a);
	/* Adjacent on both sides. */
	ck_assert_int_eq(asm_add(&a, 10, 10), 0);
	ck_assert_int_eq(asm_add(&a, 30, 10), 0);
	ck_assert_int_eq(asm_add(&a, 20, 10), 0);
	ck_assert_uint_eq(asm_range_count(&a), 1);
	ck_assert_uint_eq(a.r[0].start, 10);
	ck_assert_uint_eq(a.r[0].end, 40);
	/* Overlap extending both ends. */
	ck_assert_int_eq(asm_add(&a, 5, 40), 0);
	ck_assert_uint_eq(asm_range_count(&a), 1);
	ck_assert_uint_eq(a.r[0].start, 5);
	ck_assert_uint_eq(a.r[0].end, 45);
	/* Contained duplicate. */
	ck_assert_int_eq(asm_add(&a, 10, 5), 0);
	ck_assert_uint_eq(a.r[0].start, 5);
	ck_assert_uint_eq(a.r[0].end, 45);
	/* One segment covering several ranges and the holes between them. */
	ck_assert_int_eq(asm_add(&a, 60, 5), 0);
	ck_assert_int_eq(asm_add(&a, 70, 5), 0);
	ck_assert_int_eq(asm_add(&a, 90, 5), 0);
	ck_assert_uint_eq(asm_range_count(&a), 4);
	ck_assert_int_eq(asm_add(&a, 44, 30), 0); /* [44,74): joins 5..45, 60..65, 70..75 */
	ck_assert_uint_eq(asm_range_count(&a), 2);
	ck_assert_uint_eq(a.r[0].start, 5);
	ck_assert_uint_eq(a.r[0].end, 75);
	ck_assert_uint_eq(a.r[1].start, 90);
	ck_assert_uint_eq(a.r[1].end, 95);
	/* Adjacent on the left only, before the first range. */
	ck_assert_int_eq(asm_add(&a, 0, 5), 0);
	ck_assert_uint_eq(asm_take_front(&a), 75);
	ck_assert_uint_eq(a.r[0].start, 15);
	ck_assert_uint_eq(a.r[0].end, 20);
}
END_TEST

START_TEST(asm_range_limit)
{
	struct assembler a;
	asm_init(&a);
	for (uint32_t k = 0; k < ASM_MAX_RANGES; k++)
		ck_assert_int_eq(asm_add(&a, 100 + 20 * k, 10), 0);
	ck_assert_uint_eq(asm_range_count(&a), ASM_MAX_RANGES);
	struct assembler saved = a;
	/* A new disjoint range before, between and after: refused, nothing changed. */
	ck_assert_int_eq(asm_add(&a, 10, 10), -ENOSPC);
	ck_assert_int_eq(asm_add(&a, 112, 5), -ENOSPC);
	ck_assert_int_eq(asm_add(&a, 5000, 10), -ENOSPC);
	ck_assert_int_eq(asm_add(&a, 0, 1), -ENOSPC);
	ck_assert_mem_eq(&a, &saved, sizeof(a));
	/* Data that merges still fits at the limit, and frees ranges. */
	ck_assert_int_eq(asm_add(&a, 110, 10), 0); /* joins ranges 0 and 1 */
	ck_assert_uint_eq(asm_range_count(&a), ASM_MAX_RANGES - 1);
	ck_assert_int_eq(asm_add(&a, 95, 5), 0); /* adjacent to the first */
	ck_assert_uint_eq(asm_range_count(&a), ASM_MAX_RANGES - 1);
	ck_assert_int_eq(asm_add(&a, 0, 1), 0); /* now there is room */
	ck_assert_uint_eq(asm_range_count(&a), ASM_MAX_RANGES);
	ck_assert_uint_eq(asm_take_front(&a), 1);
	ck_assert_uint_eq(a.r[0].start, 94);
	ck_assert_uint_eq(a.r[0].end, 129);
}
END_TEST

START_TEST(asm_sack_order)
{
	struct assembler a;
	asm_init(&a);
	const uint32_t base = 0xffffff00u; /* the edges wrap past 2^32 */
	ck_assert_int_eq(asm_add(&a, 300, 100), 0);
	ck_assert_int_eq(asm_add(&a, 500, 100), 0);
	ck_assert_int_eq(asm_add(&a, 100, 100), 0);
	ck_assert_int_eq(asm_add(&a, 350, 10), 0); /* a duplicate inside [300,400): newest */

	struct tcp_sack_block b[4];
	/* RFC 2018 §4: the block holding the latest segment first, then by recency. */
	ck_assert_int_eq(asm_sack_blocks(&a, base, b, 4, true), 3);
	ck_assert_uint_eq(b[0].left, base + 300);
	ck_assert_uint_eq(b[0].right, base + 400);
	ck_assert_uint_eq(b[1].left, base + 100);
	ck_assert_uint_eq(b[1].right, base + 200);
	ck_assert_uint_eq(b[2].left, base + 500);
	ck_assert_uint_eq(b[2].right, base + 600);
	ck_assert_uint_eq(b[0].left, 300u - 0x100u); /* wrapped */

	ck_assert_int_eq(asm_sack_blocks(&a, base, b, 4, false), 3);
	ck_assert_uint_eq(b[0].left, base + 100);
	ck_assert_uint_eq(b[1].left, base + 300);
	ck_assert_uint_eq(b[2].left, base + 500);

	/* At most max; a merge makes the merged block the newest. */
	ck_assert_int_eq(asm_add(&a, 590, 20), 0);
	ck_assert_int_eq(asm_sack_blocks(&a, base, b, 2, true), 2);
	ck_assert_uint_eq(b[0].left, base + 500);
	ck_assert_uint_eq(b[0].right, base + 610);
	ck_assert_uint_eq(b[1].left, base + 300);
	ck_assert_int_eq(asm_sack_blocks(&a, base, b, 0, true), 0);

	asm_init(&a);
	ck_assert_int_eq(asm_sack_blocks(&a, base, b, 4, true), 0);
}
END_TEST

/* Random segments against a bitmap of the stream: after every add, the ranges (and SACK
 * blocks) must be exactly the runs of received bytes past the receive point. */
START_TEST(asm_random_model)
{
	struct rng g = seeded_rng(2);
	enum { WIN = 2048, TOTAL = 1 << 19 };
	static bool have[TOTAL + 2 * WIN + 128]; /* base < TOTAL + WIN + 32, scans to +WIN+32 */
	memset(have, 0, sizeof(have));
	struct assembler a;
	asm_init(&a);
	uint32_t base = 0, nospc = 0, iters = 0;
	const uint32_t seq0 = 0xfffff000u;
	while (base < TOTAL && iters < 200000) {
		iters++;
		uint32_t off = rng_below(&g, 8) == 0 ? 0 : rng_below(&g, WIN);
		uint32_t len = 1 + rng_below(&g, 24);
		struct assembler saved = a;
		int rc = asm_add(&a, off, len);
		if (rc == -ENOSPC) {
			nospc++;
			FAST_ASSERT(memcmp(&a, &saved, sizeof(a)) == 0);
			/* Refused only if it really needed a 33rd range. */
			FAST_ASSERT(asm_range_count(&a) == ASM_MAX_RANGES);
			for (uint32_t i = base + off - (off ? 1 : 0); i <= base + off + len; i++)
				FAST_ASSERT(!have[i]);
			continue;
		}
		FAST_ASSERT(rc == 0);
		for (uint32_t i = 0; i < len; i++)
			have[base + off + i] = true;
		uint32_t n = asm_take_front(&a);
		uint32_t exp = 0;
		while (have[base + exp])
			exp++;
		FAST_ASSERT(n == exp);
		base += n;

		/* Runs in the model vs the assembler's ranges and SACK blocks. */
		struct tcp_sack_block b[ASM_MAX_RANGES];
		int nb = asm_sack_blocks(&a, seq0 + base, b, ASM_MAX_RANGES, false);
		FAST_ASSERT(nb == (int)asm_range_count(&a));
		unsigned k = 0;
		for (uint32_t i = 0; i < WIN + 32; i++) {
			if (!have[base + i] || (i > 0 && have[base + i - 1]))
				continue;
			uint32_t e = i;
			while (have[base + e])
				e++;
			FAST_ASSERT(k < asm_range_count(&a));
			FAST_ASSERT(a.r[k].start == i);
			FAST_ASSERT(a.r[k].end == e);
			FAST_ASSERT(b[k].left == seq0 + base + i);
			FAST_ASSERT(b[k].right == seq0 + base + e);
			k++;
			i = e;
		}
		FAST_ASSERT(k == asm_range_count(&a));
	}
	ck_assert_uint_gt(nospc, 0); /* the limit was exercised */
	ck_assert_uint_ge(base, TOTAL); /* the whole stream got through */
}
END_TEST

/* ---------------------------------------------------------------- congestion control */

/* One RTT of an ACK-clocked, cwnd-limited sender: cwnd is sent, and comes back as ACKs of
 * seg_per_ack segments each, spread evenly over the RTT. */
static void cc_round(struct tcp_cc *cc, uint64_t *now_ns, uint64_t rtt_ns,
		     uint32_t seg_per_ack)
{
	uint32_t cwnd = cc->cwnd_bytes;
	uint32_t ack_bytes = seg_per_ack * cc->mss;
	uint32_t acks = cwnd / ack_bytes;
	if (acks == 0)
		acks = 1;
	uint32_t flight = cwnd;
	for (uint32_t i = 0; i < acks; i++) {
		*now_ns += rtt_ns / acks;
		tcp_cc_on_ack(cc, ack_bytes, flight, rtt_ns / 1000, *now_ns);
		flight -= ack_bytes < flight ? ack_bytes : flight;
		flight += ack_bytes; /* the window slides: still cwnd-limited */
	}
}

START_TEST(cc_find_and_iw)
{
	ck_assert_ptr_eq(tcp_cc_find(NULL), &tcp_cc_cubic_ops);
	ck_assert_ptr_eq(tcp_cc_find("cubic"), &tcp_cc_cubic_ops);
	ck_assert_ptr_eq(tcp_cc_find("newreno"), &tcp_cc_newreno_ops);
	ck_assert_ptr_eq(tcp_cc_find("reno"), &tcp_cc_newreno_ops);
	ck_assert_ptr_null(tcp_cc_find("bbr"));
	/* RFC 6928 §2: min(10*MSS, max(2*MSS, 14600)). */
	ck_assert_uint_eq(tcp_cc_initial_window_bytes(1460), 14600);
	ck_assert_uint_eq(tcp_cc_initial_window_bytes(536), 5360);
	ck_assert_uint_eq(tcp_cc_initial_window_bytes(1500), 14600);
	ck_assert_uint_eq(tcp_cc_initial_window_bytes(8960), 17920);
	struct tcp_cc cc;
	ck_assert_int_eq(tcp_cc_init(&cc, NULL, 1460, 0), 0);
	ck_assert_ptr_eq(cc.ops, &tcp_cc_cubic_ops);
	ck_assert_uint_eq(cc.cwnd_bytes, 14600);
	ck_assert_uint_eq(cc.ssthresh_bytes, UINT32_MAX);
	ck_assert(tcp_cc_in_slow_start(&cc));
	tcp_cc_init(&cc, &tcp_cc_newreno_ops, 0, 0);
	ck_assert_uint_eq(cc.mss, 536);
}
END_TEST

START_TEST(newreno_slow_start)
{
	const uint32_t mss = 1000;
	struct tcp_cc cc;
	uint64_t now = 0;
	tcp_cc_init(&cc, &tcp_cc_newreno_ops, mss, now);
	ck_assert_uint_eq(cc.cwnd_bytes, 10 * mss);
	/* One ACK per segment: doubles per RTT. */
	for (int r = 0; r < 4; r++) {
		uint32_t before = cc.cwnd_bytes;
		cc_round(&cc, &now, 100 * MS, 1);
		ck_assert_uint_eq(cc.cwnd_bytes, 2 * before);
	}
	/* Delayed ACKs (2 segments each): with ABC, L = 2*SMSS, still doubles. */
	tcp_cc_init(&cc, &tcp_cc_newreno_ops, mss, now);
	for (int r = 0; r < 4; r++) {
		uint32_t before = cc.cwnd_bytes;
		cc_round(&cc, &now, 100 * MS, 2);
		ck_assert_uint_eq(cc.cwnd_bytes, 2 * before);
	}
	/* Stretch ACKs of 4 segments: at most 2*SMSS per ACK (RFC 3465 §2.2). */
	tcp_cc_init(&cc, &tcp_cc_newreno_ops, mss, now);
	tcp_cc_on_ack(&cc, 4 * mss, cc.cwnd_bytes, 0, now);
	ck_assert_uint_eq(cc.cwnd_bytes, 12 * mss);
	/* Not cwnd-limited (less than half the window in flight): no growth (RFC 7661). */
	tcp_cc_on_ack(&cc, mss, 2 * mss, 0, now);
	ck_assert_uint_eq(cc.cwnd_bytes, 12 * mss);
	/* Slow start stops at ssthresh; the rest of the ACK goes to congestion avoidance. */
	cc.ssthresh_bytes = 13 * mss;
	tcp_cc_on_ack(&cc, 2 * mss, cc.cwnd_bytes, 0, now);
	ck_assert_uint_eq(cc.cwnd_bytes, 13 * mss);
	ck_assert(!tcp_cc_in_slow_start(&cc));
	ck_assert_uint_eq(cc.u.newreno.bytes_acked, mss);
}
END_TEST

START_TEST(newreno_congestion_avoidance)
{
	const uint32_t mss = 1000;
	struct tcp_cc cc;
	uint64_t now = 0;
	tcp_cc_init(&cc, &tcp_cc_newreno_ops, mss, now);
	cc.cwnd_bytes = cc.ssthresh_bytes = 20 * mss;
	for (int r = 0; r < 10; r++) {
		uint32_t before = cc.cwnd_bytes;
		cc_round(&cc, &now, 100 * MS, 1);
		ck_assert_uint_eq(cc.cwnd_bytes, before + mss); /* +1 SMSS per RTT */
	}
	ck_assert_uint_eq(cc.cwnd_bytes, 30 * mss);
	/* Delayed ACKs: same +1 SMSS per RTT (byte counting). */
	cc_round(&cc, &now, 100 * MS, 2);
	ck_assert_uint_eq(cc.cwnd_bytes, 31 * mss);
}
END_TEST

START_TEST(newreno_recovery_and_rto)
{
	const uint32_t mss = 1000;
	struct tcp_cc cc;
	tcp_cc_init(&cc, &tcp_cc_newreno_ops, mss, 0);
	cc.cwnd_bytes = 40 * mss;
	/* RFC 5681 eq. 4: ssthresh = max(FlightSize/2, 2*SMSS). */
	tcp_cc_on_enter_recovery(&cc, 40 * mss, 0);
	ck_assert_uint_eq(cc.ssthresh_bytes, 20 * mss);
	ck_assert_uint_eq(cc.cwnd_bytes, 20 * mss);
	cc.cwnd_bytes += 3 * mss; /* TCP's inflation (RFC 6582) */
	tcp_cc_on_exit_recovery(&cc, 20 * mss, 0);
	ck_assert_uint_eq(cc.cwnd_bytes, 20 * mss);
	/* Exit with little in flight: still ssthresh (RFC 6582 option 2), not the 3*SMSS
	 * that option 1 would leave. */
	tcp_cc_on_enter_recovery(&cc, 20 * mss, 0);
	ck_assert_uint_eq(cc.ssthresh_bytes, 10 * mss);
	tcp_cc_on_exit_recovery(&cc, 2 * mss, 0);
	ck_assert_uint_eq(cc.cwnd_bytes, 10 * mss);
	/* Floor of 2*SMSS. */
	tcp_cc_on_enter_recovery(&cc, 3 * mss, 0);
	ck_assert_uint_eq(cc.ssthresh_bytes, 2 * mss);

	/* RTO: cwnd = 1 SMSS; ssthresh only on the first expiry. */
	cc.cwnd_bytes = 30 * mss;
	tcp_cc_on_rto(&cc, 30 * mss, true, 0);
	ck_assert_uint_eq(cc.cwnd_bytes, mss);
	ck_assert_uint_eq(cc.ssthresh_bytes, 15 * mss);
	tcp_cc_on_rto(&cc, 30 * mss, false, 0);
	ck_assert_uint_eq(cc.cwnd_bytes, mss);
	ck_assert_uint_eq(cc.ssthresh_bytes, 15 * mss);
	/* Slow start again from 1 SMSS. */
	uint64_t now = 0;
	cc_round(&cc, &now, 100 * MS, 1);
	ck_assert_uint_eq(cc.cwnd_bytes, 2 * mss);
}
END_TEST

static double cubic_w(double t_s, double k_s, double w_max)
{
	double d = t_s - k_s;
	return 0.4 * d * d * d + w_max;
}

START_TEST(cubic_decrease_and_k)
{
	const uint32_t mss = 1000;
	struct tcp_cc cc;
	tcp_cc_init(&cc, &tcp_cc_cubic_ops, mss, 0);
	cc.cwnd_bytes = 1000 * mss;
	tcp_cc_on_enter_recovery(&cc, 1000 * mss, 0);
	/* RFC 9438 §4.6: cwnd = ssthresh = 0.7 * W_max. */
	ck_assert_uint_eq(cc.cwnd_bytes, 700 * mss);
	ck_assert_uint_eq(cc.ssthresh_bytes, 700 * mss);
	ck_assert_double_eq_tol(cc.u.cubic.w_max_seg, 1000.0, 1e-9);
	tcp_cc_on_exit_recovery(&cc, 700 * mss, 0);
	ck_assert_uint_eq(cc.cwnd_bytes, 700 * mss);
	/* K = cbrt(W_max * (1 - beta) / C) = cbrt(750) at the first CA ACK. */
	tcp_cc_on_ack(&cc, mss, cc.cwnd_bytes, 100000, 1 * S);
	ck_assert_double_eq_tol(cc.u.cubic.k_s, 9.085602964160698, 1e-9);
	/* Floor: ssthresh >= 2*SMSS. */
	cc.cwnd_bytes = 2 * mss;
	tcp_cc_on_enter_recovery(&cc, 2 * mss, 2 * S);
	ck_assert_uint_eq(cc.ssthresh_bytes, 2 * mss);
}
END_TEST

START_TEST(cubic_growth_curve)
{
	const uint32_t mss = 1000;
	const uint64_t rtt = 100 * MS;
	struct tcp_cc cc;
	uint64_t now = 1 * S;
	tcp_cc_init(&cc, &tcp_cc_cubic_ops, mss, now);
	cc.cwnd_bytes = 1000 * mss;
	tcp_cc_on_enter_recovery(&cc, 1000 * mss, now);
	tcp_cc_on_exit_recovery(&cc, 700 * mss, now);
	const double k = 9.085602964160698;
	/* Sample W at several t: concave (t < K), plateau (t = K), convex (t > K). */
	const double ts[] = { 1.0, 3.0, 6.0, k, 11.0, 14.0, 17.0 };
	uint64_t epoch = 0;
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		while (epoch == 0 || (double)(now - epoch) / 1e9 < ts[i]) {
			cc_round(&cc, &now, rtt, 1);
			epoch = cc.u.cubic.epoch_start_ns;
		}
		double t = (double)(now - epoch) / 1e9;
		double w = (double)cc.cwnd_bytes / mss;
		double want = cubic_w(t, k, 1000.0);
		ck_assert_msg(w > want * 0.995 && w < want * 1.005,
			      "t=%.2f s: cwnd %.1f segments, W_cubic %.1f", t, w, want);
		if (t < k - 0.5)
			ck_assert(w < 1000.0); /* concave: below W_max */
		if (t > k + 1.0)
			ck_assert(w > 1000.0); /* convex: probing beyond */
	}
}
END_TEST

START_TEST(cubic_growth_cap)
{
	/* §4.2: target is clamped to 1.5 * cwnd, so even far beyond K an RTT's worth of ACKs
	 * grows cwnd by at most half. */
	const uint32_t mss = 1000;
	struct tcp_cc cc;
	tcp_cc_init(&cc, &tcp_cc_cubic_ops, mss, 0);
	cc.cwnd_bytes = 10 * mss;
	tcp_cc_on_enter_recovery(&cc, 10 * mss, 0);
	tcp_cc_on_exit_recovery(&cc, 7 * mss, 0);
	tcp_cc_on_ack(&cc, 1, 7 * mss, 100000, 1 * S); /* starts the epoch */
	uint32_t before = cc.cwnd_bytes;
	tcp_cc_on_ack(&cc, before, before, 100000, 100 * S); /* W_cubic(100 s) is huge */
	ck_assert_uint_le(cc.cwnd_bytes, before + before / 2);
	ck_assert_uint_ge(cc.cwnd_bytes, before + before / 2 - 1);
}
END_TEST

START_TEST(cubic_fast_convergence)
{
	const uint32_t mss = 1000;
	struct tcp_cc cc;
	tcp_cc_init(&cc, &tcp_cc_cubic_ops, mss, 0);
	cc.cwnd_bytes = 1000 * mss;
	tcp_cc_on_enter_recovery(&cc, 1000 * mss, 0);
	ck_assert_double_eq_tol(cc.u.cubic.w_max_seg, 1000.0, 1e-9);
	/* A second loss below the previous W_max: release bandwidth, W_max = cwnd*(1+β)/2. */
	cc.cwnd_bytes = 800 * mss;
	tcp_cc_on_enter_recovery(&cc, 800 * mss, 1 * S);
	ck_assert_double_eq_tol(cc.u.cubic.w_max_seg, 680.0, 1e-9);
	ck_assert_uint_eq(cc.cwnd_bytes, 560 * mss);
	/* A loss above W_max: W_max = cwnd. */
	cc.cwnd_bytes = 900 * mss;
	tcp_cc_on_enter_recovery(&cc, 900 * mss, 2 * S);
	ck_assert_double_eq_tol(cc.u.cubic.w_max_seg, 900.0, 1e-9);
	ck_assert_uint_eq(cc.cwnd_bytes, 630 * mss);
}
END_TEST

START_TEST(cubic_reno_friendly)
{
	/* Short RTT, small window: Reno would grow faster than the cubic curve, so cwnd
	 * follows W_est (RFC 9438 §4.3): alpha_cubic = 0.529 per RTT until cwnd_prior, then
	 * 1 per RTT. */
	const uint32_t mss = 1000;
	const uint64_t rtt = 10 * MS;
	struct tcp_cc cc;
	uint64_t now = 0;
	tcp_cc_init(&cc, &tcp_cc_cubic_ops, mss, now);
	cc.cwnd_bytes = 100 * mss;
	tcp_cc_on_enter_recovery(&cc, 100 * mss, now);
	tcp_cc_on_exit_recovery(&cc, 70 * mss, now);
	const double alpha = 3.0 * 0.3 / 1.7;
	for (int r = 0; r < 40; r++)
		cc_round(&cc, &now, rtt, 1);
	double w = (double)cc.cwnd_bytes / mss;
	double t = (double)(now - cc.u.cubic.epoch_start_ns) / 1e9;
	ck_assert(w > cubic_w(t, cc.u.cubic.k_s, 100.0) + 5.0);
	ck_assert_msg(w > 70.0 + 40 * alpha - 1.5 && w < 70.0 + 40 * alpha + 1.5,
		      "cwnd %.2f segments after 40 RTTs, expected %.2f", w, 70.0 + 40 * alpha);
	/* Past cwnd_prior (100) the slope becomes 1 segment per RTT. */
	for (int r = 0; r < 100; r++)
		cc_round(&cc, &now, rtt, 1);
	double w1 = (double)cc.cwnd_bytes / mss;
	for (int r = 0; r < 20; r++)
		cc_round(&cc, &now, rtt, 1);
	double w2 = (double)cc.cwnd_bytes / mss;
	ck_assert_msg(w2 - w1 > 18.0 && w2 - w1 < 22.5, "slope %.2f per 20 RTTs", w2 - w1);
}
END_TEST

START_TEST(cubic_rto)
{
	const uint32_t mss = 1000;
	struct tcp_cc cc;
	uint64_t now = 0;
	tcp_cc_init(&cc, &tcp_cc_cubic_ops, mss, now);
	cc.cwnd_bytes = 100 * mss;
	tcp_cc_on_rto(&cc, 100 * mss, true, now);
	ck_assert_uint_eq(cc.cwnd_bytes, mss);
	ck_assert_uint_eq(cc.ssthresh_bytes, 70 * mss);
	tcp_cc_on_rto(&cc, 100 * mss, false, now); /* backed-off expiry: ssthresh kept */
	ck_assert_uint_eq(cc.cwnd_bytes, mss);
	ck_assert_uint_eq(cc.ssthresh_bytes, 70 * mss);
	/* Slow start to ssthresh, then (§4.8) K = 0 and W_max = cwnd at the epoch start. */
	while (tcp_cc_in_slow_start(&cc))
		cc_round(&cc, &now, 100 * MS, 1);
	/* The ACK that reached ssthresh started the epoch (its leftover counted in CA). */
	ck_assert(cc.u.cubic.in_epoch);
	ck_assert_double_eq_tol(cc.u.cubic.k_s, 0.0, 1e-12);
	ck_assert_double_eq_tol(cc.u.cubic.w_max_seg, 70.0, 1e-9);
	ck_assert_uint_ge(cc.cwnd_bytes, 70 * mss);
	ck_assert_uint_lt(cc.cwnd_bytes, 72 * mss);
	/* Convex from there: W(t) = 70 + 0.4 t^3 (K = 0). */
	uint64_t epoch = cc.u.cubic.epoch_start_ns;
	while (now - epoch < 3 * S)
		cc_round(&cc, &now, 100 * MS, 1);
	double t = (double)(now - epoch) / 1e9, w = (double)cc.cwnd_bytes / mss;
	/* Here the Reno-friendly W_est (70 + 0.529 per RTT) is a little above W_cubic. */
	double want = cubic_w(t, 0, 70.0), west = 70.0 + 3.0 * 0.3 / 1.7 * t / 0.1;
	double top = want > west ? want : west;
	ck_assert_msg(w > want * 0.98 && w < top * 1.03, "t=%.2f cwnd %.2f W_cubic %.2f W_est %.2f",
		      t, w, want, west);
}
END_TEST

START_TEST(cc_idle_restart)
{
	const uint32_t mss = 1000;
	struct tcp_cc cc;
	/* NewReno: RFC 5681 §4.1, cwnd = min(IW, cwnd) only after more than an RTO idle. */
	tcp_cc_init(&cc, &tcp_cc_newreno_ops, mss, 0);
	cc.cwnd_bytes = 50 * mss;
	cc.ssthresh_bytes = 40 * mss;
	tcp_cc_on_idle_restart(&cc, 200 * MS, 300 * MS, 1 * S);
	ck_assert_uint_eq(cc.cwnd_bytes, 50 * mss);
	tcp_cc_on_idle_restart(&cc, 400 * MS, 300 * MS, 2 * S);
	ck_assert_uint_eq(cc.cwnd_bytes, 10 * mss);
	ck_assert_uint_eq(cc.ssthresh_bytes, 40 * mss);
	cc.cwnd_bytes = 5 * mss;
	tcp_cc_on_idle_restart(&cc, 400 * MS, 300 * MS, 3 * S);
	ck_assert_uint_eq(cc.cwnd_bytes, 5 * mss); /* never raised */

	/* CUBIC: a short pause shifts the epoch, so W_cubic continues where it was. */
	uint64_t now = 1 * S;
	tcp_cc_init(&cc, &tcp_cc_cubic_ops, mss, now);
	cc.cwnd_bytes = 1000 * mss;
	tcp_cc_on_enter_recovery(&cc, 1000 * mss, now);
	tcp_cc_on_exit_recovery(&cc, 700 * mss, now);
	for (int r = 0; r < 20; r++)
		cc_round(&cc, &now, 100 * MS, 1);
	uint64_t epoch = cc.u.cubic.epoch_start_ns;
	uint32_t w = cc.cwnd_bytes;
	tcp_cc_on_idle_restart(&cc, 250 * MS, 300 * MS, now + 250 * MS);
	ck_assert_uint_eq(cc.u.cubic.epoch_start_ns, epoch + 250 * MS);
	ck_assert_uint_eq(cc.cwnd_bytes, w);
	/* A long one cuts cwnd to the restart window and ends the epoch. */
	tcp_cc_on_idle_restart(&cc, 5 * S, 300 * MS, now + 5 * S);
	ck_assert_uint_eq(cc.cwnd_bytes, 10 * mss);
	ck_assert(!cc.u.cubic.in_epoch);
}
END_TEST

/* ---------------------------------------------------------------- siphash */

START_TEST(siphash_vectors)
{
	/* The paper's Appendix A vector and others from the reference vectors.h: key
	 * 00 01 .. 0f, message 00 01 .. (len-1). */
	uint8_t key[16], msg[64];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	ck_assert_uint_eq(siphash24(key, msg, 15), 0xa129ca6149be45e5ull);
	ck_assert_uint_eq(siphash24(key, NULL, 0), 0x726fdb47dd0e0e31ull);
	ck_assert_uint_eq(siphash24(key, msg, 1), 0x74f839c593dc67fdull);
	ck_assert_uint_eq(siphash24(key, msg, 7), 0xab0200f58b01d137ull);
	ck_assert_uint_eq(siphash24(key, msg, 8), 0x93f5f5799a932462ull);
	ck_assert_uint_eq(siphash24(key, msg, 16), 0x3f2acc7f57c29bdbull);
	ck_assert_uint_eq(siphash24(key, msg, 63), 0x958a324ceb064572ull);
}
END_TEST

/* ---------------------------------------------------------------- ISN */

static const uint8_t KEY_A[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t KEY_B[16] = { 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };

static struct in_addr ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct in_addr x;
	uint8_t *p = (uint8_t *)&x.s_addr;
	p[0] = a;
	p[1] = b;
	p[2] = c;
	p[3] = d;
	return x;
}

START_TEST(isn_clock_and_tuples)
{
	struct in_addr l = ip4(10, 0, 0, 1), r = ip4(10, 0, 0, 2);
	uint64_t t = 5 * S;
	uint32_t i0 = tcp_isn(KEY_A, l, 80, r, 40000, t);
	/* M ticks every 4 us (RFC 6528 §3, RFC 9293 §3.4.1). */
	ck_assert_uint_eq(tcp_isn(KEY_A, l, 80, r, 40000, t + 3999), i0);
	ck_assert_uint_eq(tcp_isn(KEY_A, l, 80, r, 40000, t + 4000), i0 + 1);
	ck_assert_uint_eq(tcp_isn(KEY_A, l, 80, r, 40000, t + 4 * MS), i0 + 1000);
	ck_assert_uint_eq(tcp_isn(KEY_A, l, 80, r, 40000, t + 1 * S), i0 + 250000);
	/* Monotonic (in sequence space) along a random walk of the clock. */
	struct rng g = seeded_rng(3);
	uint32_t prev = i0;
	for (int k = 0; k < 10000; k++) {
		t += 4000 + rng_below(&g, 1000000);
		uint32_t i = tcp_isn(KEY_A, l, 80, r, 40000, t);
		FAST_ASSERT((int32_t)(i - prev) > 0);
		prev = i;
	}
	/* Wraps mod 2^32 (every ~4.77 h) and keeps counting. */
	uint64_t wrap = (1ull << 32) * 4000;
	ck_assert_uint_eq(tcp_isn(KEY_A, l, 80, r, 40000, 5 * S + wrap), i0);
	/* Different tuples and keys: unrelated offsets. */
	t = 5 * S;
	ck_assert_uint_ne(tcp_isn(KEY_A, l, 80, r, 40001, t), i0);
	ck_assert_uint_ne(tcp_isn(KEY_A, l, 80, r, 40000 + 256, t), i0);
	ck_assert_uint_ne(tcp_isn(KEY_A, l, 80 + 256, r, 40000, t), i0);
	ck_assert_uint_ne(tcp_isn(KEY_A, l, 81, r, 40000, t), i0);
	ck_assert_uint_ne(tcp_isn(KEY_A, l, 80, ip4(10, 0, 0, 3), 40000, t), i0);
	ck_assert_uint_ne(tcp_isn(KEY_A, r, 80, l, 40000, t), i0);
	ck_assert_uint_ne(tcp_isn(KEY_B, l, 80, r, 40000, t), i0);
	/* Ports swapped with addresses kept is a different tuple too. */
	ck_assert_uint_ne(tcp_isn(KEY_A, l, 40000, r, 80, t), i0);
}
END_TEST

/* ---------------------------------------------------------------- SYN cookies */

START_TEST(syncookie_round_trip)
{
	struct in_addr l = ip4(10, 0, 0, 1), r = ip4(192, 0, 2, 7);
	const uint64_t t0 = 1000 * S + 123 * MS;
	const uint16_t mss_in[] = { 0, 100, 536, 1299, 1300, 1400, 1440, 1459, 1460, 9000 };
	const uint16_t mss_want[] = { 536, 536, 536, 536, 1300, 1300, 1440, 1440, 1460, 1460 };
	for (size_t i = 0; i < sizeof(mss_in) / sizeof(mss_in[0]); i++) {
		uint32_t peer_isn = 0x12345678u + (uint32_t)i * 0x9e3779b9u;
		uint16_t m_enc = 0, m_chk = 0;
		uint32_t c = tcp_syncookie_encode(KEY_A, l, 80, r, 50000, peer_isn, mss_in[i], t0,
						  &m_enc);
		ck_assert_uint_eq(m_enc, mss_want[i]);
		ck_assert_int_eq(tcp_syncookie_check(KEY_A, l, 80, r, 50000, peer_isn, c,
						     t0 + 2 * S, &m_chk),
				 0);
		ck_assert_uint_eq(m_chk, mss_want[i]); /* the MSS index survives */
	}
}
END_TEST

START_TEST(syncookie_rejects)
{
	struct in_addr l = ip4(10, 0, 0, 1), r = ip4(192, 0, 2, 7);
	const uint64_t t0 = 1000 * TCP_SYNCOOKIE_SLOT_NS + 5 * S;
	uint32_t isn = 0xdeadbeefu;
	uint32_t c = tcp_syncookie_encode(KEY_A, l, 80, r, 50000, isn, 1460, t0, NULL);
	uint16_t m;
	/* Wrong tuple, ISN or key. */
	ck_assert_int_eq(tcp_syncookie_check(KEY_A, l, 80, r, 50001, isn, c, t0, &m), -EINVAL);
	ck_assert_int_eq(tcp_syncookie_check(KEY_A, l, 81, r, 50000, isn, c, t0, &m), -EINVAL);
	ck_assert_int_eq(tcp_syncookie_check(KEY_A, l, 80, ip4(192, 0, 2, 8), 50000, isn, c, t0,
					     &m),
			 -EINVAL);
	ck_assert_int_eq(tcp_syncookie_check(KEY_A, ip4(10, 0, 0, 9), 80, r, 50000, isn, c, t0,
					     &m),
			 -EINVAL);
	ck_assert_int_eq(tcp_syncookie_check(KEY_A, l, 80, r, 50000, isn + 1, c, t0, &m),
			 -EINVAL);
	ck_assert_int_eq(tcp_syncookie_check(KEY_B, l, 80, r, 50000, isn, c, t0, &m), -EINVAL);
	ck_assert_int_eq(tcp_syncookie_check(KEY_A, l, 80, r, 50000, isn, c + 1, t0, &m),
			 -EINVAL);
	ck_assert_int_eq(tcp_syncookie_check(KEY_A, l, 80, r, 50000, isn, c ^ 0x01000000u, t0, &m),
			 -EINVAL);

	/* Time: the current and the previous 64 s slot are accepted, not older. */
	uint64_t slot_start = 1000 * TCP_SYNCOOKIE_SLOT_NS;
	ck_assert_int_eq(tcp_syncookie_check(KEY_A, l, 80, r, 50000, isn, c,
					     slot_start + TCP_SYNCOOKIE_SLOT_NS - 1, &m),
			 0);
	ck_assert_int_eq(tcp_syncookie_check(KEY_A, l, 80, r, 50000, isn, c,
					     slot_start + TCP_SYNCOOKIE_SLOT_NS, &m),
			 0);
	ck_assert_int_eq(tcp_syncookie_check(KEY_A, l, 80, r, 50000, isn, c,
					     slot_start + 2 * TCP_SYNCOOKIE_SLOT_NS - 1, &m),
			 0);
	ck_assert_int_eq(tcp_syncookie_check(KEY_A, l, 80, r, 50000, isn, c,
					     slot_start + 2 * TCP_SYNCOOKIE_SLOT_NS, &m),
			 -EINVAL);
	ck_assert_int_eq(tcp_syncookie_check(KEY_A, l, 80, r, 50000, isn, c,
					     slot_start + 256 * TCP_SYNCOOKIE_SLOT_NS, &m),
			 -EINVAL); /* the 8-bit slot wrapped: still rejected by the MAC */
	/* A clock before the cookie's slot (diff wraps to 255): rejected. */
	ck_assert_int_eq(tcp_syncookie_check(KEY_A, l, 80, r, 50000, isn, c, slot_start - 1, &m),
			 -EINVAL);

	/* Random guesses almost never pass (4 / 2^24 each, times 2 slots). */
	struct rng g = seeded_rng(4);
	int passed = 0;
	for (int i = 0; i < 200000; i++)
		passed += tcp_syncookie_check(KEY_A, l, 80, r, 50000, isn, rng_u32(&g), t0, &m) ==
			  0;
	ck_assert_int_le(passed, 3);
}
END_TEST

START_TEST(syncookie_timestamp_options)
{
	struct tcp_syncookie_opts in = { true, 7, true, false }, out;
	uint32_t now = 0x12345678u;
	uint32_t ts = tcp_syncookie_tsval(now, &in);
	ck_assert_int_le((int32_t)(ts - now), 0); /* not ahead of our clock */
	ck_assert_int_gt((int32_t)(ts - now), -64);
	tcp_syncookie_tsecr_decode(ts, &out);
	ck_assert(out.wscale_ok && out.wscale == 7 && out.sack_ok && !out.ecn_ok);

	struct tcp_syncookie_opts none = { false, 0, false, true };
	ts = tcp_syncookie_tsval(0x40u, &none); /* low bits 0: must step back 64 ticks */
	ck_assert_uint_eq(ts, 0x40u - 64 + (0xfu | 0x20u));
	tcp_syncookie_tsecr_decode(ts, &out);
	ck_assert(!out.wscale_ok && !out.sack_ok && out.ecn_ok);

	struct tcp_syncookie_opts big = { true, 20, false, false };
	tcp_syncookie_tsecr_decode(tcp_syncookie_tsval(now, &big), &out);
	ck_assert(out.wscale_ok && out.wscale == 14); /* RFC 7323 §2.3 clamp */
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *tcp_parts_suite(void)
{
	Suite *s = suite_create("tcp_parts");
	TCase *tc;

	tc = tcase_create("ring");
	tcase_add_test(tc, ring_wraparound);
	tcase_add_test(tc, ring_partial_write);
	tcase_add_test(tc, ring_peek_iov_across_wrap);
	tcase_add_test(tc, ring_write_at_commit);
	tcase_add_test(tc, ring_random_model);
	suite_add_tcase(s, tc);

	tc = tcase_create("assembler");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, asm_in_order);
	tcase_add_test(tc, asm_out_of_order);
	tcase_add_test(tc, asm_merge);
	tcase_add_test(tc, asm_range_limit);
	tcase_add_test(tc, asm_sack_order);
	tcase_add_test(tc, asm_random_model);
	suite_add_tcase(s, tc);

	tc = tcase_create("cc");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, cc_find_and_iw);
	tcase_add_test(tc, newreno_slow_start);
	tcase_add_test(tc, newreno_congestion_avoidance);
	tcase_add_test(tc, newreno_recovery_and_rto);
	tcase_add_test(tc, cubic_decrease_and_k);
	tcase_add_test(tc, cubic_growth_curve);
	tcase_add_test(tc, cubic_growth_cap);
	tcase_add_test(tc, cubic_fast_convergence);
	tcase_add_test(tc, cubic_reno_friendly);
	tcase_add_test(tc, cubic_rto);
	tcase_add_test(tc, cc_idle_restart);
	suite_add_tcase(s, tc);

	tc = tcase_create("crypto");
	tcase_add_test(tc, siphash_vectors);
	tcase_add_test(tc, isn_clock_and_tuples);
	tcase_add_test(tc, syncookie_round_trip);
	tcase_add_test(tc, syncookie_rejects);
	tcase_add_test(tc, syncookie_timestamp_options);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(tcp_parts_suite());
}
