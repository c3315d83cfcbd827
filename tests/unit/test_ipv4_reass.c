/* IPv4 reassembly (stack/ipv4_reass.c) against design.md §2 and RFC 791 §3.2.
 *
 * Fragments are built by hand here (header bytes and the parsed struct side by side, with
 * this file's own RFC 1071 checksum), so the suite depends on no other module's parser. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "stack/ipv4_reass.h"

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_ASAN 1
#endif
#endif
#ifdef HEAP_ASAN
/* From the sanitizer runtime (sanitizer/allocator_interface.h, which GCC does not ship). */
size_t __sanitizer_get_current_allocated_bytes(void);
#else
#include <malloc.h>
#endif

#define MS 1000000ull
#define SEC 1000000000ull
#define T0 (1 * SEC) /* the virtual clock starts at 1 s, like the harness */

static struct stats st;
static struct ipv4_reass r;
static struct ipv4_reass_out out;
static uint8_t pl[IPV4_MAX_LEN + 1];

#define STAT(name) (st.v[STAT_Ip##name])
/* What the cache charges: a datagram's record, a fragment of n payload bytes. */
#define DG ipv4_reass_dgram_truesize()
#define FR(n) ipv4_reass_frag_truesize(n)

/* ---- hand-made fragments ---- */

struct flow {
	uint32_t src, dst; /* host order */
	uint8_t proto;
	uint16_t id;
	uint8_t tos, ttl;
	bool df;
	/* options of the offset-0 fragment and of the others (RFC 791: only options with
	 * the copy flag are repeated in later fragments) */
	const uint8_t *first_opts, *opts;
	uint8_t first_optlen, optlen;
};

static struct flow flow(uint16_t id)
{
	struct flow f = { .src = 0x0a000001, .dst = 0x0a000002, .proto = 17, .id = id,
			  .ttl = 64 };
	return f;
}

/* RFC 1071, independent of stack/wire/csum.c. Returns the sum to store, host order. */
static uint16_t t_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Header bytes at hb (20 + optlen) and the matching parsed header. */
static void build_hdr(const struct flow *fl, const uint8_t *opts, uint8_t optlen,
		      uint16_t total_len, uint32_t off, bool mf, uint8_t *hb, struct ipv4_hdr *h)
{
	uint8_t hl = (uint8_t)(IPV4_HDR_LEN + optlen);

	ck_assert(optlen % 4 == 0 && hl <= IPV4_HDR_MAX && off % 8 == 0);
	hb[0] = (uint8_t)(0x40 | hl / 4);
	hb[1] = fl->tos;
	put16(hb + 2, total_len);
	put16(hb + 4, fl->id);
	put16(hb + 6, (uint16_t)((fl->df ? 0x4000 : 0) | (mf ? 0x2000 : 0) | off / 8));
	hb[8] = fl->ttl;
	hb[9] = fl->proto;
	put16(hb + 10, 0);
	put32(hb + 12, fl->src);
	put32(hb + 16, fl->dst);
	if (optlen)
		memcpy(hb + 20, opts, optlen);
	put16(hb + 10, t_csum(hb, hl));

	memset(h, 0, sizeof(*h));
	h->hdr_len = hl;
	h->tos = fl->tos;
	h->total_len = total_len;
	h->id = fl->id;
	h->df = fl->df;
	h->mf = mf;
	h->frag_off = (uint16_t)off;
	h->ttl = fl->ttl;
	h->proto = fl->proto;
	memcpy(&h->csum, hb + 10, 2);
	h->src.s_addr = htonl(fl->src);
	h->dst.s_addr = htonl(fl->dst);
}

/* Gives the fragment [off, off + len) of the payload p to the cache at now. The previous
 * output, if any, is freed first; the new one stays in `out` until the next call. */
static int feed_at(const struct flow *fl, const uint8_t *p, uint32_t off, uint32_t len, bool mf,
		   uint64_t now)
{
	const uint8_t *opts = off == 0 ? fl->first_opts : fl->opts;
	uint8_t optlen = off == 0 ? fl->first_optlen : fl->optlen;
	uint8_t hb[IPV4_HDR_MAX];
	struct ipv4_hdr h;

	free(out.buf);
	memset(&out, 0, sizeof(out));
	build_hdr(fl, opts, optlen, (uint16_t)(IPV4_HDR_LEN + optlen + len), off, mf, hb, &h);
	return ipv4_reass_input(&r, &h, hb, p + off, now, &out);
}

static int feed(const struct flow *fl, const uint8_t *p, uint32_t off, uint32_t len, bool mf)
{
	return feed_at(fl, p, off, len, mf, T0);
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 8) + (i >> 16));
}

/* `out` holds fl's datagram with payload p[0, plen): the offset-0 fragment's header with
 * total length, MF, offset and checksum rewritten, then the payload. */
static void check_out(const struct flow *fl, const uint8_t *p, size_t plen)
{
	uint8_t hb[IPV4_HDR_MAX];
	struct ipv4_hdr h;
	size_t hl = IPV4_HDR_LEN + fl->first_optlen;

	build_hdr(fl, fl->first_opts, fl->first_optlen, (uint16_t)(hl + plen), 0, false, hb, &h);
	ck_assert_ptr_nonnull(out.buf);
	ck_assert_uint_eq(out.hdr_len, hl);
	ck_assert_uint_eq(out.len, hl + plen);
	ck_assert_mem_eq(out.buf, hb, hl);
	ck_assert_uint_eq(t_csum(out.buf, hl), 0); /* the rewritten checksum verifies */
	ck_assert(memcmp(out.buf + hl, p, plen) == 0);
	ck_assert_uint_eq(out.h.hdr_len, hl);
	ck_assert_uint_eq(out.h.total_len, hl + plen);
	ck_assert(!out.h.mf);
	ck_assert_uint_eq(out.h.frag_off, 0);
	ck_assert_uint_eq(out.h.id, fl->id);
	ck_assert_uint_eq(out.h.proto, fl->proto);
	ck_assert_uint_eq(out.h.df, fl->df);
	ck_assert_uint_eq(ntohl(out.h.src.s_addr), fl->src);
	ck_assert_uint_eq(ntohl(out.h.dst.s_addr), fl->dst);
	ck_assert_mem_eq(&out.h.csum, hb + 10, 2);
}

/* The cache holds nothing. */
static void check_empty(void)
{
	ck_assert_uint_eq(r.bytes, 0);
	ck_assert_uint_eq(r.count, 0);
	ck_assert_ptr_null(r.lru_head);
	ck_assert_ptr_null(r.age_head);
	ck_assert_uint_eq(ipv4_reass_next_deadline(&r), UINT64_MAX);
}

/* ---- expiry callback ---- */

static struct {
	int calls;
	struct ipv4_hdr h;
	uint8_t hdr[IPV4_HDR_MAX];
	uint8_t data[8];
	size_t len;
} exp_log;

static void on_expire(void *ctx, const struct ipv4_hdr *h, const uint8_t *hdr,
		      const uint8_t *data, size_t len)
{
	ck_assert_ptr_eq(ctx, &exp_log);
	ck_assert_uint_le(len, 8);
	exp_log.calls++;
	exp_log.h = *h;
	memcpy(exp_log.hdr, hdr, h->hdr_len);
	memcpy(exp_log.data, data, len);
	exp_log.len = len;
}

static void poll_at(uint64_t now)
{
	ipv4_reass_poll(&r, now, on_expire, &exp_log);
}

/* One datagram failed: only its key is held (its record against the bound) until the
 * deadline of its first fragment (fed at T0), when it goes without a timeout counted or an
 * ICMP quoted, having been counted as failed once already. */
static void check_failed_then_empty(void)
{
	uint64_t timeouts = STAT(ReasmTimeout), fails = STAT(ReasmFails);
	int calls = exp_log.calls;

	ck_assert_uint_eq(r.count, 1);
	ck_assert_uint_eq(r.bytes, DG);
	poll_at(T0 + 10 * SEC - 1);
	ck_assert_uint_eq(r.count, 1);
	poll_at(T0 + 10 * SEC);
	ck_assert_uint_eq(STAT(ReasmTimeout), timeouts);
	ck_assert_uint_eq(STAT(ReasmFails), fails);
	ck_assert_int_eq(exp_log.calls, calls);
	check_empty();
}

/* ---- fixtures ---- */

static void setup_cfg(const struct ipv4_reass_config *cfg)
{
	memset(&st, 0, sizeof(st));
	memset(&out, 0, sizeof(out));
	memset(&exp_log, 0, sizeof(exp_log));
	ipv4_reass_init(&r, cfg, &st);
}

static void setup(void)
{
	setup_cfg(NULL);
}

static void teardown(void)
{
	free(out.buf);
	out.buf = NULL;
	ipv4_reass_fini(&r);
	ck_assert_uint_eq(r.bytes, 0);
	ck_assert_uint_eq(r.count, 0);
}

/* ---- basics ---- */

START_TEST(test_defaults)
{
	struct ipv4_reass_config zero = { 0 };

	ck_assert_uint_eq(r.cfg.max_bytes, 256 * 1024);
	ck_assert_uint_eq(r.cfg.max_frags, 16);
	ck_assert_uint_eq(r.cfg.timeout_ms, 10000);
	ck_assert_uint_eq(r.cfg.max_dgrams, 256); /* one per KiB */
	ck_assert_uint_ge(r.hash_mask + 1, r.cfg.max_dgrams);
	ipv4_reass_fini(&r);
	ipv4_reass_init(&r, &zero, &st);
	ck_assert_uint_eq(r.cfg.max_bytes, IPV4_REASS_DEFAULT_MAX_BYTES);
	ck_assert_uint_eq(r.cfg.max_frags, IPV4_REASS_DEFAULT_MAX_FRAGS);
	ck_assert_uint_eq(r.cfg.timeout_ms, IPV4_REASS_DEFAULT_TIMEOUT_MS);
	check_empty();
}
END_TEST

START_TEST(test_basic_two)
{
	struct flow a = flow(0x1234);

	pattern(pl, 1000, 1);
	ck_assert_int_eq(feed(&a, pl, 0, 504, true), 0);
	ck_assert_ptr_null(out.buf);
	ck_assert_uint_eq(r.bytes, DG + FR(504));
	ck_assert_uint_eq(r.count, 1);
	ck_assert_uint_eq(ipv4_reass_next_deadline(&r), T0 + 10 * SEC);
	ck_assert_int_eq(feed(&a, pl, 504, 496, false), 1);
	check_out(&a, pl, 1000);
	ck_assert_uint_eq(STAT(ReasmReqds), 2);
	ck_assert_uint_eq(STAT(ReasmOKs), 1);
	ck_assert_uint_eq(STAT(ReasmFails), 0);
	check_empty();
}
END_TEST

START_TEST(test_out_of_order)
{
	struct flow a = flow(7);

	pattern(pl, 100, 2);
	ck_assert_int_eq(feed(&a, pl, 64, 36, false), 0);
	ck_assert_int_eq(feed(&a, pl, 32, 32, true), 0);
	ck_assert_uint_eq(r.bytes, DG + FR(36) + FR(32));
	ck_assert_int_eq(feed(&a, pl, 0, 32, true), 1);
	check_out(&a, pl, 100);
	ck_assert_uint_eq(STAT(ReasmReqds), 3);
	ck_assert_uint_eq(STAT(ReasmOKs), 1);
	ck_assert_uint_eq(STAT(ReasmFails), 0);
	check_empty();
}
END_TEST

/* Four datagrams that differ only by id, source or protocol stay apart. */
START_TEST(test_interleaved_flows)
{
	struct flow f[4] = { flow(1), flow(2), flow(1), flow(1) };
	static uint8_t p[4][200];

	f[2].src = 0x0a000009; /* same id, other source */
	f[3].proto = 6;	       /* same id and addresses, other protocol */
	for (int i = 0; i < 4; i++)
		pattern(p[i], 200, 10 + (unsigned)i);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(feed(&f[i], p[i], 0, 80, true), 0);
	for (int i = 3; i >= 0; i--)
		ck_assert_int_eq(feed(&f[i], p[i], 160, 40, false), 0);
	ck_assert_uint_eq(r.count, 4);
	int order[4] = { 2, 0, 3, 1 };
	for (int k = 0; k < 4; k++) {
		int i = order[k];

		ck_assert_int_eq(feed(&f[i], p[i], 80, 80, true), 1);
		check_out(&f[i], p[i], 200);
		ck_assert_uint_eq(r.count, 3 - (unsigned)k);
	}
	ck_assert_uint_eq(STAT(ReasmOKs), 4);
	ck_assert_uint_eq(STAT(ReasmReqds), 12);
	ck_assert_uint_eq(STAT(ReasmFails), 0);
	check_empty();
}
END_TEST

/* ---- timeout ---- */

START_TEST(test_timeout_exact)
{
	struct flow a = flow(42);
	uint8_t hb[IPV4_HDR_MAX];
	struct ipv4_hdr h;

	pattern(pl, 64, 3);
	ck_assert_int_eq(feed_at(&a, pl, 0, 16, true, T0), 0);
	/* A later fragment does not move the deadline: it runs from the first one. */
	ck_assert_int_eq(feed_at(&a, pl, 16, 16, true, T0 + 5 * SEC), 0);
	ck_assert_uint_eq(ipv4_reass_next_deadline(&r), T0 + 10 * SEC);

	poll_at(T0 + 10 * SEC - 1 * MS);
	ck_assert_int_eq(exp_log.calls, 0);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_uint_eq(STAT(ReasmTimeout), 0);

	poll_at(T0 + 10 * SEC);
	ck_assert_int_eq(exp_log.calls, 1);
	build_hdr(&a, NULL, 0, IPV4_HDR_LEN + 16, 0, true, hb, &h);
	ck_assert_mem_eq(exp_log.hdr, hb, IPV4_HDR_LEN); /* the first fragment's header */
	ck_assert_uint_eq(exp_log.h.hdr_len, IPV4_HDR_LEN);
	ck_assert_uint_eq(exp_log.h.id, 42);
	ck_assert_uint_eq(exp_log.h.frag_off, 0);
	ck_assert_uint_eq(exp_log.len, 8);
	ck_assert_mem_eq(exp_log.data, pl, 8);
	ck_assert_uint_eq(STAT(ReasmTimeout), 1);
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	check_empty();

	poll_at(T0 + 30 * SEC);
	ck_assert_int_eq(exp_log.calls, 1);
	ck_assert_uint_eq(STAT(ReasmTimeout), 1);
}
END_TEST

/* The offset-0 fragment arriving second is still the one quoted; the deadline is from the
 * datagram's first arrival. */
START_TEST(test_timeout_first_arrives_late)
{
	struct flow a = flow(43);

	pattern(pl, 64, 4);
	ck_assert_int_eq(feed_at(&a, pl, 24, 8, true, T0), 0);
	ck_assert_int_eq(feed_at(&a, pl, 0, 16, true, T0 + 3 * SEC), 0);
	poll_at(T0 + 10 * SEC - 1);
	ck_assert_int_eq(exp_log.calls, 0);
	poll_at(T0 + 10 * SEC);
	ck_assert_int_eq(exp_log.calls, 1);
	ck_assert_uint_eq(exp_log.h.frag_off, 0);
	ck_assert_uint_eq(exp_log.h.total_len, IPV4_HDR_LEN + 16);
	ck_assert_mem_eq(exp_log.data, pl, 8);
	check_empty();
}
END_TEST

START_TEST(test_timeout_without_first)
{
	struct flow a = flow(44), b = flow(45);

	pattern(pl, 64, 5);
	ck_assert_int_eq(feed(&a, pl, 16, 16, true), 0);
	ck_assert_int_eq(feed(&a, pl, 32, 8, false), 0);
	poll_at(T0 + 10 * SEC);
	ck_assert_int_eq(exp_log.calls, 0); /* RFC 1122 §3.3.2: only if fragment 0 came */
	ck_assert_uint_eq(STAT(ReasmTimeout), 1);
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	check_empty();

	/* No callback at all is fine too. */
	ck_assert_int_eq(feed(&b, pl, 0, 16, true), 0);
	ipv4_reass_poll(&r, T0 + 10 * SEC, NULL, NULL);
	ck_assert_uint_eq(STAT(ReasmTimeout), 2);
	check_empty();
}
END_TEST

START_TEST(test_next_deadline_order)
{
	struct flow f[3] = { flow(1), flow(2), flow(3) };

	pattern(pl, 64, 6);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(feed_at(&f[i], pl, 0, 16, true, T0 + (uint64_t)i * SEC), 0);
	ck_assert_uint_eq(ipv4_reass_next_deadline(&r), T0 + 10 * SEC);
	/* Completing the oldest moves the deadline to the next oldest. */
	ck_assert_int_eq(feed_at(&f[0], pl, 16, 8, false, T0 + 4 * SEC), 1);
	ck_assert_uint_eq(ipv4_reass_next_deadline(&r), T0 + 11 * SEC);
	/* Touching the next one (LRU) does not change its age. */
	ck_assert_int_eq(feed_at(&f[1], pl, 24, 8, true, T0 + 5 * SEC), 0);
	ck_assert_uint_eq(ipv4_reass_next_deadline(&r), T0 + 11 * SEC);
	poll_at(T0 + 11 * SEC);
	ck_assert_int_eq(exp_log.calls, 1);
	ck_assert_uint_eq(exp_log.h.id, 2);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_uint_eq(ipv4_reass_next_deadline(&r), T0 + 12 * SEC);
	poll_at(T0 + 12 * SEC);
	ck_assert_int_eq(exp_log.calls, 2);
	ck_assert_uint_eq(exp_log.h.id, 3);
	check_empty();
}
END_TEST

/* A caller's clock that steps back still gets the earliest deadline first. */
START_TEST(test_clock_step_back)
{
	struct flow a = flow(1), b = flow(2);

	pattern(pl, 16, 32);
	ck_assert_int_eq(feed_at(&a, pl, 0, 8, true, T0 + 5 * SEC), 0);
	ck_assert_int_eq(feed_at(&b, pl, 0, 8, true, T0), 0);
	ck_assert_uint_eq(ipv4_reass_next_deadline(&r), T0 + 10 * SEC);
	poll_at(T0 + 10 * SEC);
	ck_assert_int_eq(exp_log.calls, 1);
	ck_assert_uint_eq(exp_log.h.id, 2);
	ck_assert_uint_eq(ipv4_reass_next_deadline(&r), T0 + 15 * SEC);
	poll_at(T0 + 15 * SEC);
	ck_assert_int_eq(exp_log.calls, 2);
	check_empty();
}
END_TEST

/* ---- fragment count ---- */

START_TEST(test_16_fragments_ok)
{
	struct flow a = flow(16);

	pattern(pl, 16 * 8, 7);
	for (uint32_t i = 0; i < 15; i++)
		ck_assert_int_eq(feed(&a, pl, i * 8, 8, true), 0);
	ck_assert_int_eq(feed(&a, pl, 15 * 8, 8, false), 1);
	check_out(&a, pl, 16 * 8);
	ck_assert_uint_eq(STAT(ReasmTooManyFrags), 0);
	ck_assert_uint_eq(STAT(ReasmFails), 0);
	check_empty();
}
END_TEST

START_TEST(test_17_fragments_drop)
{
	struct flow a = flow(17);

	pattern(pl, 17 * 8, 8);
	for (uint32_t i = 0; i < 16; i++)
		ck_assert_int_eq(feed(&a, pl, i * 8, 8, true), 0);
	ck_assert_uint_eq(r.bytes, DG + 16 * FR(8));
	ck_assert_int_eq(feed(&a, pl, 16 * 8, 8, false), -E2BIG);
	ck_assert_uint_eq(STAT(ReasmTooManyFrags), 1);
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	ck_assert_uint_eq(STAT(ReasmOKs), 0);
	ck_assert_uint_eq(STAT(ReasmReqds), 17);
	/* the rest of it (a retransmitted fragment, say) is dropped at once */
	ck_assert_int_eq(feed(&a, pl, 0, 8, true), -ECANCELED);
	ck_assert_uint_eq(STAT(ReasmFailedFrags), 1);
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	check_failed_then_empty();
}
END_TEST

/* ---- order ---- */

START_TEST(test_all_permutations)
{
	static const uint32_t offs[5] = { 0, 24, 48, 72, 90 };
	uint8_t ref[IPV4_HDR_LEN + 90];
	int n = 0;

	pattern(pl, 90, 9);
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++)
			for (int c = 0; c < 4; c++)
				for (int d = 0; d < 4; d++) {
					int p[4] = { a, b, c, d };
					struct flow f = flow(0x100);

					if (a == b || a == c || a == d || b == c || b == d ||
					    c == d)
						continue;
					for (int k = 0; k < 4; k++) {
						int i = p[k];
						int rc = feed(&f, pl, offs[i], offs[i + 1] - offs[i],
							      i != 3);

						ck_assert_int_eq(rc, k == 3 ? 1 : 0);
					}
					check_out(&f, pl, 90);
					if (n == 0)
						memcpy(ref, out.buf, sizeof(ref));
					ck_assert_uint_eq(out.len, sizeof(ref));
					ck_assert_mem_eq(out.buf, ref, sizeof(ref));
					n++;
				}
	ck_assert_int_eq(n, 24);
	ck_assert_uint_eq(STAT(ReasmOKs), 24);
	ck_assert_uint_eq(STAT(ReasmFails), 0);
	check_empty();
}
END_TEST

/* ---- overlaps and duplicates ---- */

/* Held: [0,16) and [32,64). Each new fragment overlaps [32,64) in its own way. */
static const struct {
	const char *name;
	uint32_t off, len;
	bool mf;
} overlap_kinds[] = {
	{ "start", 24, 16, true },	    /* over the start of [32,64) */
	{ "end", 56, 16, true },	    /* over its end */
	{ "inside", 40, 8, true },	    /* inside it */
	{ "covering", 24, 56, true },	    /* covering it */
	{ "same start", 32, 40, true },	    /* same start, longer */
	{ "same range, last", 32, 32, false }, /* same bytes, but MF differs: not a duplicate */
	{ "first", 0, 8, true },	    /* shorter than the held first fragment */
};

START_TEST(test_overlap)
{
	struct flow a = flow(0x55), retry = flow(0x56);
	int rc;

	pattern(pl, 80, 11);
	ck_assert_int_eq(feed(&a, pl, 0, 16, true), 0);
	ck_assert_int_eq(feed(&a, pl, 32, 32, true), 0);
	rc = feed(&a, pl, overlap_kinds[_i].off, overlap_kinds[_i].len, overlap_kinds[_i].mf);
	ck_assert_msg(rc == -EEXIST, "%s: %d", overlap_kinds[_i].name, rc);
	ck_assert_uint_eq(STAT(ReasmOverlaps), 1);
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	ck_assert_uint_eq(STAT(ReasmDuplicates), 0);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_uint_eq(r.bytes, DG);

	/* The sender's retransmission, with a new id, goes through. */
	ck_assert_int_eq(feed(&retry, pl, 32, 32, true), 0);
	ck_assert_int_eq(feed(&retry, pl, 64, 16, false), 0);
	ck_assert_int_eq(feed(&retry, pl, 0, 32, true), 1);
	check_out(&retry, pl, 80);
	ck_assert_uint_eq(STAT(ReasmOKs), 1);
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	check_failed_then_empty();
}
END_TEST

START_TEST(test_duplicate_ignored)
{
	struct flow a = flow(0x77);

	pattern(pl, 40, 12);
	ck_assert_int_eq(feed(&a, pl, 16, 24, false), 0);
	ck_assert_int_eq(feed(&a, pl, 16, 24, false), 0);
	ck_assert_int_eq(feed(&a, pl, 8, 8, true), 0);
	ck_assert_int_eq(feed(&a, pl, 8, 8, true), 0);
	ck_assert_uint_eq(STAT(ReasmDuplicates), 2);
	ck_assert_uint_eq(r.bytes, DG + FR(24) + FR(8));
	ck_assert_uint_eq(r.count, 1);
	ck_assert_int_eq(feed(&a, pl, 0, 8, true), 1);
	check_out(&a, pl, 40);
	ck_assert_uint_eq(STAT(ReasmReqds), 5);
	ck_assert_uint_eq(STAT(ReasmOKs), 1);
	ck_assert_uint_eq(STAT(ReasmFails), 0);
	ck_assert_uint_eq(STAT(ReasmOverlaps), 0);
	check_empty();
}
END_TEST

/* A duplicate is not a fragment: 16 distinct plus duplicates still complete. */
START_TEST(test_duplicates_do_not_count_as_fragments)
{
	struct flow a = flow(0x78);

	pattern(pl, 128, 13);
	for (uint32_t i = 0; i < 15; i++) {
		ck_assert_int_eq(feed(&a, pl, i * 8, 8, true), 0);
		ck_assert_int_eq(feed(&a, pl, i * 8, 8, true), 0);
	}
	ck_assert_int_eq(feed(&a, pl, 120, 8, false), 1);
	check_out(&a, pl, 128);
	ck_assert_uint_eq(STAT(ReasmDuplicates), 15);
	check_empty();
}
END_TEST

/* ---- sizes ---- */

START_TEST(test_8_byte_fragments)
{
	struct flow a = flow(8);

	pattern(pl, 57, 14);
	/* 7 fragments of 8 bytes and a 1-byte last one, evens then odds. */
	for (uint32_t i = 0; i < 8; i += 2)
		ck_assert_int_eq(feed(&a, pl, i * 8, 8, true), 0);
	ck_assert_int_eq(feed(&a, pl, 56, 1, false), 0);
	for (uint32_t i = 1; i < 5; i += 2)
		ck_assert_int_eq(feed(&a, pl, i * 8, 8, true), 0);
	ck_assert_int_eq(feed(&a, pl, 56, 1, false), 0); /* duplicate of the last */
	ck_assert_uint_eq(STAT(ReasmDuplicates), 1);
	ck_assert_uint_eq(r.bytes, DG + 6 * FR(8) + FR(1));
	/* 8 bytes where the 1-byte last fragment is: an overlap. */
	ck_assert_int_eq(feed(&a, pl, 56, 8, true), -EEXIST);
	ck_assert_uint_eq(STAT(ReasmOverlaps), 1);
	check_failed_then_empty();

	a.id = 9;
	for (uint32_t i = 0; i < 7; i++)
		ck_assert_int_eq(feed(&a, pl, i * 8, 8, true), 0);
	ck_assert_int_eq(feed(&a, pl, 56, 1, false), 1);
	check_out(&a, pl, 57);
	check_empty();
}
END_TEST

/* ping -s 65487 over MTU 9000: 65,515 bytes of payload, 8976 per fragment, 8 fragments. */
START_TEST(test_65535_mtu_9000)
{
	struct flow a = flow(0x9000);
	const uint32_t total = IPV4_MAX_LEN - IPV4_HDR_LEN, per = 9000 - IPV4_HDR_LEN - 4;
	int n = 0;

	ck_assert_uint_eq(per, 8976);
	pattern(pl, total, 15);
	for (uint32_t off = 0; off < total; off += per) {
		bool last = off + per >= total;
		uint32_t len = last ? total - off : per;

		ck_assert_int_eq(feed(&a, pl, off, len, !last), last ? 1 : 0);
		n++;
	}
	ck_assert_int_eq(n, 8);
	check_out(&a, pl, total);
	ck_assert_uint_eq(out.len, IPV4_MAX_LEN);
	ck_assert_uint_eq(out.h.total_len, IPV4_MAX_LEN);
	ck_assert_uint_eq(STAT(ReasmOKs), 1);
	check_empty();
}
END_TEST

/* The same datagram over MTU 1500 is 45 fragments of 1480 bytes: refused by policy. */
START_TEST(test_65535_mtu_1500_refused)
{
	struct flow a = flow(0x1500);
	const uint32_t total = IPV4_MAX_LEN - IPV4_HDR_LEN, per = 1480;
	int n = 0;

	pattern(pl, total, 16);
	for (uint32_t off = 0; off < total; off += per) {
		bool last = off + per >= total;
		uint32_t len = last ? total - off : per;
		/* Fragment 17 finds 16 held: the datagram fails, and the rest of its
		 * fragments are dropped on arrival without counting it failed again. */
		int want = n == 16 ? -E2BIG : n > 16 ? -ECANCELED : 0;

		ck_assert_int_eq(feed(&a, pl, off, len, !last), want);
		n++;
	}
	ck_assert_int_eq(n, 45);
	ck_assert_uint_eq(STAT(ReasmTooManyFrags), 1);
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	ck_assert_uint_eq(STAT(ReasmFailedFrags), 45 - 17);
	ck_assert_uint_eq(STAT(ReasmOKs), 0);
	ck_assert_uint_eq(STAT(ReasmReqds), 45);
	check_failed_then_empty();
}
END_TEST

/* ---- memory bound ---- */

/* Bytes the allocator has handed out and not taken back: the real heap cost of what the
 * cache holds, whatever it charges itself (ASan's allocator under ASan, glibc's otherwise). */
static size_t heap_in_use(void)
{
#ifdef HEAP_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

/* Issue 11: a flood of 1-byte last fragments, each a datagram of its own, once filled the
 * 256 KiB payload bound with 262,144 datagrams (~60 MiB of heap). The real memory held
 * must stay within the bound. */
START_TEST(test_tiny_last_fragment_flood)
{
	const uint32_t n = 100000;
	size_t base, peak = 0;

	pattern(pl, 16, 33);
	base = heap_in_use();
	for (uint32_t i = 0; i < n; i++) {
		struct flow f = flow((uint16_t)i);

		f.src = 0x0b000000u + (i >> 16); /* keys all distinct */
		ck_assert_int_eq(feed_at(&f, pl, 8, 1, false, T0 + i * 1000ull), 0);
		ck_assert_uint_le(r.bytes, r.cfg.max_bytes);
		if (i % 1024 == 0 || i == n - 1) {
			size_t used = heap_in_use();

			if (used > base && used - base > peak)
				peak = used - base;
		}
	}
	ck_assert_uint_le(peak, r.cfg.max_bytes);
	ck_assert_uint_eq(r.count, r.cfg.max_dgrams);
	/* O(1) per fragment: about one datagram compared per lookup, the table being as
	 * large as the number of datagrams allowed (it compared 64 on average before). */
	ck_assert_uint_le(r.probes, 2ull * n);
	ck_assert_uint_eq(STAT(ReasmReqds), n);
	ck_assert_uint_eq(STAT(ReasmFails), n - r.count);
	ck_assert_uint_eq(STAT(ReasmEvictions), n - r.count);
}
END_TEST

/* Failed datagrams keep only their key, and those keys are bounded like datagrams. */
START_TEST(test_failed_flood_bound)
{
	struct flow f;

	pattern(pl, 64, 29);
	for (unsigned i = 0; i < 10000; i++) {
		f = flow((uint16_t)i);
		ck_assert_int_eq(feed(&f, pl, 0, 16, true), 0);
		ck_assert_int_eq(feed(&f, pl, 8, 16, true), -EEXIST);
		ck_assert_uint_le(r.bytes, r.cfg.max_bytes);
	}
	ck_assert_uint_eq(STAT(ReasmOverlaps), 10000);
	/* each failed once, whether its key expired or was evicted (issue 11 item 8) */
	ck_assert_uint_eq(STAT(ReasmFails), 10000);
	ck_assert_uint_eq(r.count, r.cfg.max_dgrams);
	ck_assert_uint_eq(STAT(ReasmEvictions), 10000 - r.cfg.max_dgrams);
	/* and a good datagram still gets through */
	f = flow(0xfffe);
	ck_assert_int_eq(feed(&f, pl, 0, 16, false), 1);
}
END_TEST

START_TEST(test_flood_bound)
{
	struct flow f;
	const unsigned fit = (unsigned)((256 * 1024) / (DG + FR(1480))); /* 150 */

	pattern(pl, 3000, 17);
	for (unsigned i = 0; i < 1000; i++) {
		f = flow((uint16_t)i);
		ck_assert_int_eq(feed_at(&f, pl, 0, 1480, true, T0 + i * MS), 0);
		ck_assert_uint_le(r.bytes, r.cfg.max_bytes);
	}
	ck_assert_uint_eq(r.count, fit);
	ck_assert_uint_eq(r.bytes, fit * (DG + FR(1480)));
	ck_assert_uint_eq(STAT(ReasmEvictions), 1000 - fit);
	ck_assert_uint_eq(STAT(ReasmFails), 1000 - fit);
	/* The oldest went first: the eviction also dropped them from the age list. */
	ck_assert_uint_eq(ipv4_reass_next_deadline(&r), T0 + (1000 - fit) * MS + 10 * SEC);

	/* A new datagram still gets through. */
	f = flow(5000);
	ck_assert_int_eq(feed(&f, pl, 0, 1480, true), 0);
	ck_assert_uint_le(r.bytes, r.cfg.max_bytes);
	ck_assert_int_eq(feed(&f, pl, 1480, 1000, false), 1);
	check_out(&f, pl, 2480);
	ck_assert_uint_le(r.bytes, r.cfg.max_bytes);

	/* A survivor completes; an evicted one starts over. */
	f = flow(999);
	ck_assert_int_eq(feed(&f, pl, 1480, 8, false), 1);
	check_out(&f, pl, 1488);
	f = flow(0);
	ck_assert_int_eq(feed(&f, pl, 1480, 8, false), 0);
	ck_assert_uint_le(r.bytes, r.cfg.max_bytes);
}
END_TEST

START_TEST(test_lru_order)
{
	/* room for three datagrams of 1000 bytes and two 8-byte fragments more */
	const size_t held = 3 * (DG + FR(1000)) + FR(8);
	struct ipv4_reass_config cfg = { .max_bytes = held + FR(8) };
	struct flow a = flow(1), b = flow(2), c = flow(3), d = flow(4);

	ipv4_reass_fini(&r);
	setup_cfg(&cfg);
	pattern(pl, 2000, 18);
	ck_assert_int_eq(feed(&a, pl, 0, 1000, true), 0);
	ck_assert_int_eq(feed(&b, pl, 0, 1000, true), 0);
	ck_assert_int_eq(feed(&c, pl, 0, 1000, true), 0);
	ck_assert_int_eq(feed(&a, pl, 1000, 8, true), 0); /* a is now the most recent */
	ck_assert_uint_eq(r.bytes, held);
	ck_assert_int_eq(feed(&d, pl, 0, 1000, true), 0); /* evicts b, the least recent */
	ck_assert_uint_eq(STAT(ReasmEvictions), 1);
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	ck_assert_uint_eq(r.bytes, held);
	ck_assert_uint_eq(r.count, 3);
	ck_assert_int_eq(feed(&a, pl, 1008, 8, false), 1);
	check_out(&a, pl, 1016);
	ck_assert_int_eq(feed(&c, pl, 1000, 8, false), 1);
	check_out(&c, pl, 1008);
	ck_assert_int_eq(feed(&b, pl, 1000, 8, false), 0); /* b's start is gone */
	ck_assert_uint_eq(r.count, 2);
}
END_TEST

/* ---- headers ---- */

/* Router Alert (RFC 2113, copied) in every fragment; Record Route (not copied) only in the
 * first. The datagram takes the first fragment's 32-byte header, whichever came last. */
START_TEST(test_options_preserved)
{
	static const uint8_t ra[4] = { 0x94, 0x04, 0x00, 0x00 };
	static const uint8_t ra_rr[12] = { 0x94, 0x04, 0x00, 0x00, 0x07, 0x07, 0x04,
					   0x00, 0x00, 0x00, 0x00, 0x00 };
	struct flow a = flow(0x0b7);

	a.first_opts = ra_rr;
	a.first_optlen = sizeof(ra_rr);
	a.opts = ra;
	a.optlen = sizeof(ra);
	a.tos = 0xb8;
	a.ttl = 3;
	pattern(pl, 300, 19);
	ck_assert_int_eq(feed(&a, pl, 200, 100, false), 0);
	ck_assert_int_eq(feed(&a, pl, 96, 104, true), 0);
	ck_assert_int_eq(feed(&a, pl, 0, 96, true), 1);
	check_out(&a, pl, 300);
	ck_assert_uint_eq(out.hdr_len, 32);
	ck_assert_uint_eq(out.buf[0], 0x48);
	ck_assert_mem_eq(out.buf + 20, ra_rr, sizeof(ra_rr));
	ck_assert_uint_eq(out.buf[6] & 0x3f, 0); /* MF and offset cleared */
	ck_assert_uint_eq(out.buf[7], 0);
	check_empty();
}
END_TEST

/* DF survives the rewrite (a sender may set it on fragments it forwarded earlier). */
START_TEST(test_df_preserved)
{
	struct flow a = flow(0xdf);

	a.df = true;
	pattern(pl, 64, 20);
	ck_assert_int_eq(feed(&a, pl, 32, 32, false), 0);
	ck_assert_int_eq(feed(&a, pl, 0, 32, true), 1);
	check_out(&a, pl, 64);
	ck_assert_uint_eq(out.buf[6], 0x40);
	ck_assert(out.h.df);
}
END_TEST

/* A first header with more options than the others can push the datagram past 65535. */
START_TEST(test_first_header_too_long)
{
	static const uint8_t ra[4] = { 0x94, 0x04, 0x00, 0x00 };
	struct flow a = flow(0xbad);
	const uint32_t total = IPV4_MAX_LEN - IPV4_HDR_LEN;

	a.first_opts = ra;
	a.first_optlen = sizeof(ra);
	pattern(pl, total, 21);
	ck_assert_int_eq(feed(&a, pl, 32768, total - 32768, false), 0);
	ck_assert_int_eq(feed(&a, pl, 0, 32768, true), -E2BIG);
	ck_assert_ptr_null(out.buf);
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	ck_assert_uint_eq(STAT(ReasmOKs), 0);
	check_empty();
}
END_TEST

/* ---- malformed fragments ---- */

START_TEST(test_middle_not_multiple_of_8)
{
	struct flow a = flow(0x27);

	pattern(pl, 32, 22);
	ck_assert_int_eq(feed(&a, pl, 0, 16, true), 0);
	ck_assert_int_eq(feed(&a, pl, 16, 11, true), -EINVAL); /* RFC 791: 8-byte units */
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	ck_assert_uint_eq(r.bytes, DG + FR(16));
	/* Only that fragment is refused; the correct one completes the datagram. */
	ck_assert_int_eq(feed(&a, pl, 16, 16, false), 1);
	check_out(&a, pl, 32);
	ck_assert_uint_eq(STAT(ReasmReqds), 3);
	check_empty();
}
END_TEST

START_TEST(test_zero_length)
{
	struct flow a = flow(0x28);

	pattern(pl, 16, 23);
	ck_assert_int_eq(feed(&a, pl, 8, 0, true), -EINVAL);
	ck_assert_int_eq(feed(&a, pl, 8, 0, false), -EINVAL);
	ck_assert_uint_eq(STAT(ReasmFails), 2);
	ck_assert_uint_eq(STAT(ReasmReqds), 2);
	check_empty();
}
END_TEST

START_TEST(test_past_65535)
{
	struct flow a = flow(0x29);

	pattern(pl, IPV4_MAX_LEN, 24);
	/* end 65515 = 65535 - 20 is the largest allowed; 65516 is over. */
	ck_assert_int_eq(feed(&a, pl, 65512, 4, false), -E2BIG);
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	check_empty();
	ck_assert_int_eq(feed(&a, pl, 65512, 3, false), 0);
	ck_assert_uint_eq(r.bytes, DG + FR(3));
	/* The offset field's maximum (8191 * 8 = 65528) is over too. */
	ck_assert_int_eq(feed(&a, pl, 65528, 8, true), -E2BIG);
	ck_assert_uint_eq(STAT(ReasmFails), 2);
	ck_assert_uint_eq(r.count, 1);
}
END_TEST

START_TEST(test_two_different_lasts)
{
	struct flow a = flow(0x30);

	pattern(pl, 64, 25);
	ck_assert_int_eq(feed(&a, pl, 0, 8, true), 0);
	ck_assert_int_eq(feed(&a, pl, 16, 8, false), 0);
	ck_assert_int_eq(feed(&a, pl, 32, 8, false), -EINVAL); /* a later end */
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	ck_assert_uint_eq(STAT(ReasmOverlaps), 0);
	check_failed_then_empty();
	ck_assert_int_eq(feed(&a, pl, 32, 8, false), 0);
	ck_assert_int_eq(feed(&a, pl, 16, 8, false), -EINVAL); /* an earlier end */
	ck_assert_uint_eq(STAT(ReasmFails), 2);
	ck_assert_uint_eq(STAT(ReasmOverlaps), 0);
	check_failed_then_empty();
}
END_TEST

START_TEST(test_data_past_last)
{
	struct flow a = flow(0x31), b = flow(0x32);

	pattern(pl, 64, 26);
	/* Data after the known end. */
	ck_assert_int_eq(feed(&a, pl, 16, 8, false), 0);
	ck_assert_int_eq(feed(&a, pl, 24, 8, true), -EINVAL);
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	check_failed_then_empty();
	/* An end before data already held. */
	ck_assert_int_eq(feed(&b, pl, 32, 8, true), 0);
	ck_assert_int_eq(feed(&b, pl, 8, 8, false), -EINVAL);
	ck_assert_uint_eq(STAT(ReasmFails), 2);
	ck_assert_uint_eq(STAT(ReasmReqds), 4);
	check_failed_then_empty();
}
END_TEST

/* An unfragmented datagram given anyway comes straight back. */
START_TEST(test_whole_datagram)
{
	struct flow a = flow(0x33);

	pattern(pl, 33, 27);
	ck_assert_int_eq(feed(&a, pl, 0, 33, false), 1);
	check_out(&a, pl, 33);
	check_empty();
}
END_TEST

/* ---- configured limits ---- */

START_TEST(test_config_max_frags)
{
	struct ipv4_reass_config cfg = { .max_frags = 4 };
	struct flow a = flow(1), b = flow(2);

	ipv4_reass_fini(&r);
	setup_cfg(&cfg);
	pattern(pl, 40, 28);
	for (uint32_t i = 0; i < 3; i++)
		ck_assert_int_eq(feed(&a, pl, i * 8, 8, true), 0);
	ck_assert_int_eq(feed(&a, pl, 24, 8, false), 1);
	check_out(&a, pl, 32);
	for (uint32_t i = 0; i < 4; i++)
		ck_assert_int_eq(feed(&b, pl, i * 8, 8, true), 0);
	ck_assert_int_eq(feed(&b, pl, 32, 8, false), -E2BIG);
	ck_assert_uint_eq(STAT(ReasmTooManyFrags), 1);
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	check_failed_then_empty();
}
END_TEST

START_TEST(test_config_max_bytes)
{
	/* room for two datagrams of one 496-byte fragment, and a little */
	struct ipv4_reass_config cfg = { .max_bytes = 2 * (DG + FR(496)) + 100 };
	struct flow a = flow(1), b = flow(2), c = flow(3);

	ipv4_reass_fini(&r);
	setup_cfg(&cfg);
	pattern(pl, 2000, 29);
	/* One fragment larger than the whole cache. */
	ck_assert_int_eq(feed(&a, pl, 0, 1600, true), -ENOMEM);
	ck_assert_uint_eq(STAT(ReasmFails), 1);
	check_empty();
	/* Two of 496 fit, the third evicts the oldest. */
	ck_assert_int_eq(feed(&a, pl, 0, 496, true), 0);
	ck_assert_int_eq(feed(&b, pl, 0, 496, true), 0);
	ck_assert_int_eq(feed(&c, pl, 0, 496, true), 0);
	ck_assert_uint_le(r.bytes, cfg.max_bytes);
	ck_assert_uint_eq(r.count, 2);
	ck_assert_uint_eq(STAT(ReasmEvictions), 1);
	/* A datagram that alone outgrows the cache is dropped, others first. */
	ck_assert_int_eq(feed(&c, pl, 496, 496, true), 0);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_uint_eq(STAT(ReasmEvictions), 2);
	ck_assert_int_eq(feed(&c, pl, 992, 400, false), -ENOMEM);
	ck_assert_uint_eq(STAT(ReasmEvictions), 3);
	ck_assert_uint_eq(STAT(ReasmFails), 4);
	check_empty();
	/* What fits still reassembles. */
	ck_assert_int_eq(feed(&a, pl, 496, 504, false), 0);
	ck_assert_int_eq(feed(&a, pl, 0, 496, true), 1);
	check_out(&a, pl, 1000);
	check_empty();
}
END_TEST

/* The datagram bound: the least recently used goes, whatever the bytes. */
START_TEST(test_config_max_dgrams)
{
	struct ipv4_reass_config cfg = { .max_dgrams = 4 };
	struct flow f;

	ipv4_reass_fini(&r);
	setup_cfg(&cfg);
	ck_assert_uint_eq(r.cfg.max_dgrams, 4);
	pattern(pl, 16, 32);
	for (uint16_t i = 0; i < 6; i++) {
		f = flow(i);
		ck_assert_int_eq(feed(&f, pl, 0, 8, true), 0);
		ck_assert_uint_le(r.count, 4);
	}
	ck_assert_uint_eq(STAT(ReasmEvictions), 2);
	ck_assert_uint_eq(STAT(ReasmFails), 2);
	ck_assert_uint_eq(r.bytes, 4 * (DG + FR(8)));
	/* a held datagram takes more fragments without evicting anyone ... */
	f = flow(2);
	ck_assert_int_eq(feed(&f, pl, 8, 8, false), 1);
	check_out(&f, pl, 16);
	/* ... and the evicted ones start over */
	f = flow(0);
	ck_assert_int_eq(feed(&f, pl, 8, 8, false), 0);
	ck_assert_uint_eq(STAT(ReasmEvictions), 2);
	ck_assert_uint_eq(r.count, 4);
}
END_TEST

START_TEST(test_config_timeout)
{
	struct ipv4_reass_config cfg = { .timeout_ms = 500 };
	struct flow a = flow(1);

	ipv4_reass_fini(&r);
	setup_cfg(&cfg);
	pattern(pl, 16, 30);
	ck_assert_int_eq(feed(&a, pl, 0, 8, true), 0);
	ck_assert_uint_eq(ipv4_reass_next_deadline(&r), T0 + 500 * MS);
	poll_at(T0 + 499 * MS);
	ck_assert_uint_eq(r.count, 1);
	poll_at(T0 + 500 * MS);
	ck_assert_int_eq(exp_log.calls, 1);
	ck_assert_uint_eq(STAT(ReasmTimeout), 1);
	check_empty();
}
END_TEST

/* fini with datagrams held frees them (ASan checks the rest). */
START_TEST(test_fini_frees)
{
	pattern(pl, 4096, 31);
	for (uint16_t i = 0; i < 50; i++) {
		struct flow f = flow(i);

		ck_assert_int_eq(feed(&f, pl, 0, 1024, true), 0);
		ck_assert_int_eq(feed(&f, pl, 2048, 8, false), 0);
	}
	ck_assert_uint_eq(r.count, 50);
	ipv4_reass_fini(&r);
	ck_assert_uint_eq(r.bytes, 0);
	ck_assert_uint_eq(r.count, 0);
	ck_assert_ptr_null(r.lru_head);
	ck_assert_ptr_null(r.age_head);
}
END_TEST

static Suite *reass_suite(void)
{
	Suite *s = suite_create("ipv4_reass");
	TCase *tc;

#define CASE(name, ...)                                                                       \
	do {                                                                                   \
		tc = tcase_create(name);                                                       \
		tcase_set_timeout(tc, 60); /* the floods, under ASan */                        \
		tcase_add_checked_fixture(tc, setup, teardown);                                \
		__VA_ARGS__;                                                                   \
		suite_add_tcase(s, tc);                                                        \
	} while (0)

	CASE("basic", tcase_add_test(tc, test_defaults); tcase_add_test(tc, test_basic_two);
	     tcase_add_test(tc, test_out_of_order); tcase_add_test(tc, test_interleaved_flows);
	     tcase_add_test(tc, test_whole_datagram));
	CASE("timeout", tcase_add_test(tc, test_timeout_exact);
	     tcase_add_test(tc, test_timeout_first_arrives_late);
	     tcase_add_test(tc, test_timeout_without_first);
	     tcase_add_test(tc, test_next_deadline_order);
	     tcase_add_test(tc, test_clock_step_back));
	CASE("limits", tcase_add_test(tc, test_16_fragments_ok);
	     tcase_add_test(tc, test_17_fragments_drop); tcase_add_test(tc, test_65535_mtu_9000);
	     tcase_add_test(tc, test_65535_mtu_1500_refused);
	     tcase_add_test(tc, test_flood_bound);
	     tcase_add_test(tc, test_tiny_last_fragment_flood);
	     tcase_add_test(tc, test_failed_flood_bound); tcase_add_test(tc, test_lru_order);
	     tcase_add_test(tc, test_config_max_frags);
	     tcase_add_test(tc, test_config_max_bytes);
	     tcase_add_test(tc, test_config_max_dgrams);
	     tcase_add_test(tc, test_config_timeout); tcase_add_test(tc, test_fini_frees));
	CASE("order", tcase_add_test(tc, test_all_permutations);
	     tcase_add_test(tc, test_8_byte_fragments));
	CASE("overlap",
	     tcase_add_loop_test(tc, test_overlap, 0,
				 (int)(sizeof(overlap_kinds) / sizeof(overlap_kinds[0])));
	     tcase_add_test(tc, test_duplicate_ignored);
	     tcase_add_test(tc, test_duplicates_do_not_count_as_fragments));
	CASE("headers", tcase_add_test(tc, test_options_preserved);
	     tcase_add_test(tc, test_df_preserved); tcase_add_test(tc, test_first_header_too_long));
	CASE("malformed", tcase_add_test(tc, test_middle_not_multiple_of_8);
	     tcase_add_test(tc, test_zero_length); tcase_add_test(tc, test_past_65535);
	     tcase_add_test(tc, test_two_different_lasts); tcase_add_test(tc, test_data_past_last));
#undef CASE
	return s;
}

int main(void)
{
	return h_run_suite(reass_suite());
}
