/* TCP header and options: golden bytes, every length check, checksum. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "stack/wire/csum.h"
#include "stack/wire/tcp.h"

static struct in_addr A, B;

static void setup(void)
{
	A = h_ip("10.0.0.1");
	B = h_ip("10.0.0.2");
}

/* A SYN as Linux sends it: MSS 1460, SACK-permitted + timestamps, NOP, WS 7. */
static const uint8_t syn_golden[] = {
	0x9c, 0x40, 0x00, 0x50,	/* ports 40000 -> 80 */
	0x01, 0x02, 0x03, 0x04, /* seq */
	0x00, 0x00, 0x00, 0x00, /* ack */
	0xa0, 0x02, 0xfa, 0xf0, /* doff 10, SYN, window 64240 */
	0x00, 0x00, 0x00, 0x00, /* csum, urg */
	0x02, 0x04, 0x05, 0xb4, /* MSS 1460 */
	0x04, 0x02, 0x08, 0x0a, /* SACK_PERM, TS */
	0x11, 0x22, 0x33, 0x44, /* TSval */
	0x00, 0x00, 0x00, 0x00, /* TSecr */
	0x01, 0x03, 0x03, 0x07, /* NOP, WS 7 */
};

static void set_csum(uint8_t *seg, size_t len)
{
	seg[16] = seg[17] = 0;
	uint16_t c = tcp_csum(A, B, seg, len, NULL, 0);
	memcpy(seg + 16, &c, 2);
}

START_TEST(emit_syn_golden)
{
	struct tcp_hdr h = {
		.sport = 40000, .dport = 80, .seq = 0x01020304, .flags = TCP_SYN, .wnd = 64240,
		.opts = { .has_mss = true, .mss = 1460, .sack_perm = true, .has_ts = true,
			  .tsval = 0x11223344, .has_ws = true, .ws = 7 },
	};
	uint8_t buf[TCP_HDR_MAX];
	ck_assert_uint_eq(tcp_opts_len(&h.opts), 20);
	ck_assert_uint_eq(tcp_hdr_emit(&h, buf), sizeof(syn_golden));
	ck_assert_mem_eq(buf, syn_golden, sizeof(syn_golden));

	uint8_t seg[sizeof(syn_golden)];
	memcpy(seg, syn_golden, sizeof(seg));
	set_csum(seg, sizeof(seg));
	struct tcp_hdr p;
	ck_assert_int_eq(tcp_hdr_parse(seg, sizeof(seg), A, B, true, &p), 0);
	ck_assert_uint_eq(p.sport, 40000);
	ck_assert_uint_eq(p.dport, 80);
	ck_assert_uint_eq(p.seq, 0x01020304);
	ck_assert_uint_eq(p.flags, TCP_SYN);
	ck_assert_uint_eq(p.wnd, 64240);
	ck_assert_uint_eq(p.hdr_len, 40);
	ck_assert(p.opts.has_mss && p.opts.mss == 1460);
	ck_assert(p.opts.sack_perm);
	ck_assert(p.opts.has_ts && p.opts.tsval == 0x11223344 && p.opts.tsecr == 0);
	ck_assert(p.opts.has_ws && p.opts.ws == 7);
	ck_assert_uint_eq(p.opts.nsack, 0);
	/* re-emitted: the same bytes */
	uint8_t again[TCP_HDR_MAX];
	ck_assert_uint_eq(tcp_hdr_emit(&p, again), sizeof(syn_golden));
	ck_assert_mem_eq(again, syn_golden, sizeof(syn_golden));
}
END_TEST

START_TEST(sack_blocks_fit)
{
	struct tcp_opts o = { .has_ts = true, .nsack = 4 };
	for (int i = 0; i < 4; i++) {
		o.sack[i].left = 1000u * (unsigned)i;
		o.sack[i].right = 1000u * (unsigned)i + 500;
	}
	/* with timestamps only 3 blocks fit in 40 bytes (RFC 2018 §3) */
	ck_assert_uint_eq(tcp_opts_len(&o), 12 + 4 + 24);
	struct tcp_hdr h = { .flags = TCP_ACK, .opts = o };
	uint8_t seg[TCP_HDR_MAX];
	size_t hl = tcp_hdr_emit(&h, seg);
	ck_assert_uint_eq(hl, 60);
	set_csum(seg, hl);
	struct tcp_hdr p;
	ck_assert_int_eq(tcp_hdr_parse(seg, hl, A, B, true, &p), 0);
	ck_assert_uint_eq(p.opts.nsack, 3);
	ck_assert_uint_eq(p.opts.sack[2].left, 2000);
	ck_assert_uint_eq(p.opts.sack[2].right, 2500);
	o.has_ts = false;
	ck_assert_uint_eq(tcp_opts_len(&o), 4 + 32);
}
END_TEST

/* A 20-byte header followed by the given options (padded with EOL to a multiple of 4). */
static size_t with_opts(uint8_t *seg, const uint8_t *opts, size_t n)
{
	memset(seg, 0, 64);
	seg[0] = 0x30;
	seg[1] = 0x39;
	seg[2] = 0x00;
	seg[3] = 0x50;
	size_t ol = (n + 3) & ~(size_t)3;
	memcpy(seg + 20, opts, n);
	seg[12] = (uint8_t)(((20 + ol) / 4) << 4);
	seg[13] = TCP_ACK;
	set_csum(seg, 20 + ol);
	return 20 + ol;
}

START_TEST(option_lengths_checked)
{
	uint8_t seg[64];
	struct tcp_hdr h;
	/* length 0: malformed */
	static const uint8_t zero[] = { 0x02, 0x00, 0x05, 0xb4 };
	ck_assert_int_eq(tcp_hdr_parse(seg, with_opts(seg, zero, 4), A, B, true, &h), -EINVAL);
	/* length 1: malformed */
	static const uint8_t one[] = { 0x08, 0x01, 0x01, 0x01 };
	ck_assert_int_eq(tcp_hdr_parse(seg, with_opts(seg, one, 4), A, B, true, &h), -EINVAL);
	/* runs past the header */
	static const uint8_t past[] = { 0x01, 0x01, 0x08, 0x0a };
	ck_assert_int_eq(tcp_hdr_parse(seg, with_opts(seg, past, 4), A, B, true, &h), -EINVAL);
	/* kind without room for its length byte */
	static const uint8_t nolen[] = { 0x01, 0x01, 0x01, 0x02 };
	ck_assert_int_eq(tcp_hdr_parse(seg, with_opts(seg, nolen, 4), A, B, true, &h), -EINVAL);
	/* an MSS of the wrong length is skipped, not believed */
	static const uint8_t badmss[] = { 0x02, 0x06, 0x05, 0xb4, 0x00, 0x00, 0x01, 0x01 };
	ck_assert_int_eq(tcp_hdr_parse(seg, with_opts(seg, badmss, 8), A, B, true, &h), 0);
	ck_assert(!h.opts.has_mss);
	/* unknown options are skipped by length; what follows is parsed */
	static const uint8_t unk[] = { 0x1e, 0x06, 0xde, 0xad, 0xbe, 0xef, 0x03, 0x03, 0x0e, 0x00 };
	ck_assert_int_eq(tcp_hdr_parse(seg, with_opts(seg, unk, 10), A, B, true, &h), 0);
	ck_assert(h.opts.has_ws && h.opts.ws == 14);
	/* EOL ends the list: garbage after it is ignored */
	static const uint8_t eol[] = { 0x01, 0x00, 0x02, 0x00 };
	ck_assert_int_eq(tcp_hdr_parse(seg, with_opts(seg, eol, 4), A, B, true, &h), 0);
	ck_assert(!h.opts.has_mss);
	/* a SACK option whose length is not 2 + 8n is skipped */
	static const uint8_t badsack[] = { 0x05, 0x06, 0, 0, 0, 1, 0x01, 0x01 };
	ck_assert_int_eq(tcp_hdr_parse(seg, with_opts(seg, badsack, 8), A, B, true, &h), 0);
	ck_assert_uint_eq(h.opts.nsack, 0);
	/* a timestamp of length 10 at the very end */
	static const uint8_t ts[] = { 0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 5, 0, 0, 0, 6 };
	ck_assert_int_eq(tcp_hdr_parse(seg, with_opts(seg, ts, 12), A, B, true, &h), 0);
	ck_assert(h.opts.has_ts && h.opts.tsval == 5 && h.opts.tsecr == 6);
}
END_TEST

START_TEST(header_lengths_and_checksum)
{
	uint8_t seg[64];
	struct tcp_hdr h;
	static const uint8_t nop[] = { 0x01, 0x01, 0x01, 0x01 };
	size_t n = with_opts(seg, nop, 4);
	ck_assert_int_eq(tcp_hdr_parse(seg, n, A, B, true, &h), 0);
	ck_assert_int_eq(tcp_hdr_parse(seg, 19, A, B, false, &h), -EMSGSIZE);
	/* data offset beyond the segment */
	ck_assert_int_eq(tcp_hdr_parse(seg, 20, A, B, false, &h), -EMSGSIZE);
	/* data offset < 5 */
	seg[12] = 0x40;
	ck_assert_int_eq(tcp_hdr_parse(seg, n, A, B, false, &h), -EMSGSIZE);
	seg[12] = 0x60;
	/* a flipped bit anywhere fails the checksum; the pseudo-header counts too */
	seg[5] ^= 0x10;
	ck_assert_int_eq(tcp_hdr_parse(seg, n, A, B, true, &h), -EBADMSG);
	ck_assert_int_eq(tcp_hdr_parse(seg, n, A, B, false, &h), 0);
	seg[5] ^= 0x10;
	ck_assert_int_eq(tcp_hdr_parse(seg, n, B, A, true, &h), 0); /* symmetric sum */
	ck_assert_int_eq(tcp_hdr_parse(seg, n, A, h_ip("10.0.0.3"), true, &h), -EBADMSG);
	/* payload in pieces of odd length: the same sum as one buffer */
	uint8_t data[7] = { 1, 2, 3, 4, 5, 6, 7 };
	struct iovec iov[2] = { { data, 3 }, { data + 3, 4 } };
	seg[16] = seg[17] = 0;
	uint16_t c1 = tcp_csum(A, B, seg, n, iov, 2);
	uint8_t whole[64 + 7];
	memcpy(whole, seg, n);
	memcpy(whole + n, data, 7);
	memcpy(whole + 16, &c1, 2);
	ck_assert_int_eq(tcp_hdr_parse(whole, n + 7, A, B, true, &h), 0);
}
END_TEST

START_TEST(parse_never_reads_past_len)
{
	/* Every truncation of a full header and random option bytes: no crash, sane result
	 * (run under ASan/valgrind by CI). */
	uint8_t seg[TCP_HDR_MAX];
	struct rng r;
	uint8_t seed[32] = { 9 };
	rng_seed(&r, seed);
	for (int it = 0; it < 20000; it++) {
		for (size_t i = 0; i < sizeof(seg); i++)
			seg[i] = (uint8_t)rng_u32(&r);
		size_t len = rng_below(&r, sizeof(seg) + 1);
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, seg, len);
		struct tcp_hdr h;
		int rc = tcp_hdr_parse(copy, len, A, B, false, &h);
		if (rc == 0) {
			ck_assert_uint_le(h.hdr_len, len);
			ck_assert_uint_le(h.opts.nsack, TCP_MAX_SACK);
		} else {
			ck_assert(rc == -EMSGSIZE || rc == -EINVAL);
		}
		free(copy);
	}
}
END_TEST

static Suite *tcp_wire_suite(void)
{
	Suite *s = suite_create("tcp_wire");
	TCase *tc = tcase_create("wire");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, emit_syn_golden);
	tcase_add_test(tc, sack_blocks_fit);
	tcase_add_test(tc, option_lengths_checked);
	tcase_add_test(tc, header_lengths_and_checksum);
	tcase_add_test(tc, parse_never_reads_past_len);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(tcp_wire_suite());
}
