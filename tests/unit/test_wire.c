/* The wire layer (stack/wire/): checksums, and parse/emit of every header against bytes
 * captured from Linux 6.x over a veth pair (tcpdump on the receiving end, TX checksum
 * offload off for the UDP datagram so that its checksum is complete on the wire).
 *
 * Truncated inputs are copied into heap buffers of exactly their length so that a parser
 * reading one byte too far is caught by ASan/Valgrind, not only by the return value. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "stack/wire/arp.h"
#include "stack/wire/csum.h"
#include "stack/wire/eth.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"

/* ---- Captured frames (Ethernet header included) ------------------------------------- */

/* ARP request who-has 10.99.0.2 tell 10.99.0.1 (unpadded: veth does not pad to 60) */
static const uint8_t arp_request[42] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
	0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x54,
	0x00, 0x12, 0x34, 0x56, 0x0a, 0x63, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x0a, 0x63, 0x00, 0x02,
};

/* ARP reply 10.99.0.2 is-at 52:54:00:ab:cd:ef */
static const uint8_t arp_reply[42] = {
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,
	0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x52, 0x54,
	0x00, 0xab, 0xcd, 0xef, 0x0a, 0x63, 0x00, 0x02, 0x52, 0x54, 0x00, 0x12,
	0x34, 0x56, 0x0a, 0x63, 0x00, 0x01,
};

/* ICMP echo request from iputils ping (id 6781, seq 1, 56 data bytes), DF set */
static const uint8_t icmp_echo_req[98] = {
	0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x54, 0xa6, 0xee, 0x40, 0x00, 0x40, 0x01,
	0x7e, 0xf2, 0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63, 0x00, 0x02, 0x08, 0x00,
	0x18, 0x02, 0x1a, 0x7d, 0x00, 0x01, 0x7e, 0x5f, 0x09, 0x6b, 0x00, 0x00,
	0x00, 0x00, 0x75, 0xe2, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11,
	0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
	0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
	0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
	0x36, 0x37,
};

/* ping -R: IPv4 header with NOP + Record Route option (IHL 15), ICMP echo request */
static const uint8_t ipv4_rr_echo[138] = {
	0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
	0x08, 0x00, 0x4f, 0x00, 0x00, 0x7c, 0xa6, 0xef, 0x40, 0x00, 0x40, 0x01,
	0x42, 0x56, 0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63, 0x00, 0x02, 0x01, 0x07,
	0x27, 0x08, 0x0a, 0x63, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x08, 0x00, 0xe1, 0xf1, 0x1a, 0x7e, 0x00, 0x01, 0x7e, 0x5f,
	0x09, 0x6b, 0x00, 0x00, 0x00, 0x00, 0xab, 0xf1, 0x09, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
	0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
	0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31,
	0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

/* UDP DNS query A? example.com from 10.99.0.1:40000 to 10.99.0.2:53; odd UDP length 37 */
static const uint8_t udp_dns[71] = {
	0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x39, 0x8c, 0xf4, 0x40, 0x00, 0x40, 0x11,
	0x98, 0xf7, 0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63, 0x00, 0x02, 0x9c, 0x40,
	0x00, 0x35, 0x00, 0x25, 0x6c, 0xc4, 0x12, 0x34, 0x01, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70,
	0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01,
};

/* ICMP 3/3 port unreachable quoting a UDP datagram, tos 0xc0 */
static const uint8_t icmp_port_unreach[99] = {
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,
	0x08, 0x00, 0x45, 0xc0, 0x00, 0x55, 0xd1, 0xc0, 0x00, 0x00, 0x40, 0x01,
	0x93, 0x5f, 0x0a, 0x63, 0x00, 0x02, 0x0a, 0x63, 0x00, 0x01, 0x03, 0x03,
	0x26, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x39, 0x88, 0xab,
	0x40, 0x00, 0x40, 0x11, 0x9d, 0x40, 0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63,
	0x00, 0x02, 0xdf, 0xf3, 0x00, 0x35, 0x00, 0x25, 0x14, 0xff, 0x12, 0x34,
	0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65,
	0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00,
	0x01, 0x00, 0x01,
};

/* The IPv4 header of the second fragment (offset 1480, MF clear) of `ping -s 2000`; its
 * 528 payload bytes are not needed here. */
static const uint8_t frag2_hdr[20] = {
	0x45, 0x00, 0x02, 0x24, 0xa6, 0xf0, 0x00, 0xb9, 0x40, 0x01,
	0xbc, 0x67, 0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63, 0x00, 0x02,
};

static const struct mac mac_a = { { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 } }; /* 10.99.0.1 */
static const struct mac mac_b = { { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef } }; /* 10.99.0.2 */

static struct in_addr ip4(const char *s)
{
	struct in_addr a;

	ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* A heap copy of the first n bytes of src, exactly n bytes long (see the top comment). */
static uint8_t *exact_copy(const uint8_t *src, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, src, n);
	return p;
}

/* Deterministic pseudo-random bytes (xorshift32) so that failures reproduce. */
static uint32_t prng_state = 2463534242u;

static uint32_t prng(void)
{
	prng_state ^= prng_state << 13;
	prng_state ^= prng_state >> 17;
	prng_state ^= prng_state << 5;
	return prng_state;
}

/* The reference: RFC 1071 §4.1 "C" as written, over bytes in network order, result in
 * host order (not yet complemented). */
static uint16_t ref_sum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (; len > 1; p += 2, len -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint16_t ref_csum(const uint8_t *p, size_t len)
{
	return htons((uint16_t)~ref_sum(p, len));
}

/* ---- csum ----------------------------------------------------------------------------- */

START_TEST(csum_rfc1071_example)
{
	/* RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2, checksum 220d; any
	 * alignment and any byte order of loads must give the same stored bytes. */
	static const uint8_t d[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint8_t buf[16];
	uint8_t out[2];

	for (size_t a = 0; a < 8; a++) {
		uint16_t c;

		memcpy(buf + a, d, sizeof(d));
		c = csum_buf(buf + a, sizeof(d));
		memcpy(out, &c, 2);
		ck_assert_uint_eq(out[0], 0x22);
		ck_assert_uint_eq(out[1], 0x0d);
	}
	/* A buffer with its checksum in it sums to 0xffff: csum 0. */
	memcpy(buf, d, 8);
	buf[8] = 0x22;
	buf[9] = 0x0d;
	ck_assert_uint_eq(csum_buf(buf, 10), 0);
}
END_TEST

START_TEST(csum_empty_and_single)
{
	uint8_t one = 0xab;
	uint16_t c;
	uint8_t out[2];

	ck_assert_uint_eq(csum_buf(&one, 0), 0xffff); /* ~0, either byte order */
	/* One byte is the high byte of a word padded with zero (RFC 1071 §4.1). */
	c = csum_buf(&one, 1);
	memcpy(out, &c, 2);
	ck_assert_uint_eq(out[0], 0x54);
	ck_assert_uint_eq(out[1], 0xff);
}
END_TEST

START_TEST(csum_matches_reference)
{
	uint8_t buf[1600];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)prng();
	for (size_t len = 0; len < 300; len++)
		for (size_t a = 0; a < 4; a++)
			ck_assert_uint_eq(csum_buf(buf + a, len), ref_csum(buf + a, len));
	/* All ones: many carries. */
	memset(buf, 0xff, sizeof(buf));
	ck_assert_uint_eq(csum_buf(buf, sizeof(buf)), ref_csum(buf, sizeof(buf)));
	ck_assert_uint_eq(csum_buf(buf, 1599), ref_csum(buf, 1599));
}
END_TEST

START_TEST(csum_random_lengths_offsets)
{
	/* The 64-bit loop against the 16-bit reference: random lengths up to a 64 KiB
	 * datagram, every start offset modulo 8 and beyond, random data and all ones (a
	 * carry out of every word), one-shot and after an odd or even random prefix. */
	enum { MAX = 65536 + 16 };
	uint8_t *buf = malloc(MAX), *ones = malloc(MAX);

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(ones);
	for (size_t i = 0; i < MAX; i++)
		buf[i] = (uint8_t)prng();
	memset(ones, 0xff, MAX);
	for (int round = 0; round < 400; round++) {
		size_t len = round < 200 ? prng() % 2048 : prng() % 65537;
		size_t a = prng() % 16;
		size_t cut = len ? prng() % (len + 1) : 0;
		uint8_t *b = round % 5 == 0 ? ones : buf;
		struct csum c = CSUM_INIT;
		uint16_t want = ref_csum(b + a, len);

		ck_assert_uint_eq(csum_buf(b + a, len), want);
		csum_feed(&c, b + a, cut);
		csum_feed(&c, b + a + cut, len - cut);
		ck_assert_uint_eq(csum_finish(&c), want);
	}
	ck_assert_uint_eq(csum_buf(ones + 3, 65535), ref_csum(ones + 3, 65535));
	free(buf);
	free(ones);
}
END_TEST

START_TEST(csum_odd_pieces_every_split)
{
	/* Two pieces split at every point, the first of every parity, and the buffers at
	 * every alignment: the chained sum equals the one-shot sum. */
	uint8_t data[67];
	uint8_t copy[80];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)prng();
	for (size_t len = 0; len <= sizeof(data); len++) {
		uint16_t whole = csum_buf(data, len);

		for (size_t cut = 0; cut <= len; cut++)
			for (size_t a = 0; a < 4; a++) {
				struct csum c = CSUM_INIT;

				/* the second piece is moved to another alignment */
				memcpy(copy + a, data + cut, len - cut);
				csum_feed(&c, data, cut);
				ck_assert(c.odd == (cut % 2 == 1));
				csum_feed(&c, copy + a, len - cut);
				ck_assert_uint_eq(csum_finish(&c), whole);
			}
	}
}
END_TEST

START_TEST(csum_odd_pieces_many)
{
	/* Many pieces of random lengths 0..7 (so runs of consecutive odd pieces), chained,
	 * and the same through csum_feed_iov. */
	uint8_t data[2000];
	struct iovec iov[2000];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)prng();
	for (int round = 0; round < 200; round++) {
		size_t len = prng() % sizeof(data), off = 0;
		struct csum c = CSUM_INIT, ci = CSUM_INIT;
		int n = 0;

		while (off < len) {
			size_t k = prng() % 8;

			if (k > len - off)
				k = len - off;
			csum_feed(&c, data + off, k);
			iov[n].iov_base = data + off;
			iov[n].iov_len = k;
			n++;
			off += k;
		}
		csum_feed_iov(&ci, iov, n);
		ck_assert_uint_eq(csum_finish(&c), csum_buf(data, len));
		ck_assert_uint_eq(csum_finish(&ci), csum_buf(data, len));
	}
}
END_TEST

START_TEST(csum_odd_byte_at_a_time)
{
	uint8_t data[1001];
	struct csum c = CSUM_INIT;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)prng();
	for (size_t i = 0; i < sizeof(data); i++)
		csum_feed(&c, data + i, 1);
	ck_assert_uint_eq(csum_finish(&c), ref_csum(data, sizeof(data)));
}
END_TEST

START_TEST(csum_pseudo_header)
{
	/* RFC 768: src, dst, zero, protocol, length; fed after an odd piece too. */
	struct in_addr s = ip4("10.99.0.1"), d = ip4("192.168.200.254");
	uint8_t ph[13] = { 0x5a, 10, 99, 0, 1, 192, 168, 200, 254, 0, 17, 0x01, 0x2d };
	struct csum c = CSUM_INIT;

	csum_feed_pseudo(&c, s, d, 17, 0x012d);
	ck_assert_uint_eq(csum_finish(&c), csum_buf(ph + 1, 12));
	c = CSUM_INIT;
	csum_feed(&c, ph, 1);
	csum_feed_pseudo(&c, s, d, 17, 0x012d);
	ck_assert_uint_eq(csum_finish(&c), csum_buf(ph, 13));
}
END_TEST

/* Words given in host order, stored big-endian. */
static void put_words(uint8_t *b, const uint16_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		b[2 * i] = (uint8_t)(w[i] >> 8);
		b[2 * i + 1] = (uint8_t)w[i];
	}
}

START_TEST(csum_update16_rfc1624_example)
{
	/* RFC 1624 §3: other octets sum to 0xcd7a, m = 0x5555 -> m' = 0x3285. HC = 0xdd2f,
	 * recomputation gives 0x0000; eqn. 2 would give 0xffff, eqn. 3 gives 0x0000. */
	uint8_t b[4];
	uint16_t hc;

	put_words(b, (const uint16_t[]){ 0xcd7a, 0x5555 }, 2);
	hc = csum_buf(b, 4);
	ck_assert_uint_eq(ntohs(hc), 0xdd2f);
	ck_assert_uint_eq(ntohs(csum_update16(hc, htons(0x5555), htons(0x3285))), 0x0000);
	put_words(b, (const uint16_t[]){ 0xcd7a, 0x3285 }, 2);
	ck_assert_uint_eq(csum_buf(b, 4), 0x0000);
	/* and back: from a checksum of 0x0000 */
	ck_assert_uint_eq(ntohs(csum_update16(0x0000, htons(0x3285), htons(0x5555))), 0xdd2f);
	/* no change, no change */
	ck_assert_uint_eq(csum_update16(hc, htons(0x5555), htons(0x5555)), hc);
}
END_TEST

START_TEST(csum_update16_vs_recompute)
{
	/* A 20-byte header-like message whose first word is never zero (as an IPv4
	 * header's version/IHL is not), one word changed at a time, to random values and to
	 * the corner values 0x0000 and 0xffff, from random values and from those corners;
	 * and a message whose sum is driven to 0xffff (checksum 0x0000). Each result must
	 * equal recomputation, and the message with it stored must verify. */
	static const uint16_t corners[] = { 0x0000, 0xffff, 0x0001, 0xfffe, 0x8000, 0x7fff };
	uint8_t msg[20];

	for (int round = 0; round < 20000; round++) {
		size_t w = 1 + prng() % 9; /* word index; word 5 holds the checksum */
		uint16_t old_v, new_v, hc, upd;

		if (w == 5)
			w = 9;
		for (size_t i = 0; i < sizeof(msg); i++)
			msg[i] = (uint8_t)prng();
		msg[0] = 0x45;
		old_v = round % 3 == 0 ? corners[prng() % 6] : (uint16_t)prng();
		new_v = round % 2 == 0 ? corners[prng() % 6] : (uint16_t)prng();
		if (round % 5 == 0) {
			/* make the new message sum to exactly 0xffff: recomputed csum 0x0000 */
			uint16_t rest;

			msg[2 * w] = 0;
			msg[2 * w + 1] = 0;
			msg[10] = msg[11] = 0;
			rest = ref_sum(msg, sizeof(msg));
			new_v = (uint16_t)~rest;
		}
		msg[2 * w] = (uint8_t)(old_v >> 8);
		msg[2 * w + 1] = (uint8_t)old_v;
		msg[10] = msg[11] = 0;
		hc = csum_buf(msg, sizeof(msg));
		memcpy(msg + 10, &hc, 2);
		ck_assert_uint_eq(csum_buf(msg, sizeof(msg)), 0);

		upd = csum_update16(hc, htons(old_v), htons(new_v));
		msg[2 * w] = (uint8_t)(new_v >> 8);
		msg[2 * w + 1] = (uint8_t)new_v;
		msg[10] = msg[11] = 0;
		ck_assert_uint_eq(upd, csum_buf(msg, sizeof(msg)));
		memcpy(msg + 10, &upd, 2);
		ck_assert_uint_eq(csum_buf(msg, sizeof(msg)), 0);
	}
}
END_TEST

START_TEST(csum_update16_ttl_decrement)
{
	/* The use that matters: a TTL change in a real header (the TTL shares a word with
	 * the protocol). */
	uint8_t h[20];
	uint16_t hc, old_w, new_w;

	memcpy(h, icmp_echo_req + 14, 20);
	memcpy(&hc, h + 10, 2);
	memcpy(&old_w, h + 8, 2);
	h[8]--;
	memcpy(&new_w, h + 8, 2);
	hc = csum_update16(hc, old_w, new_w);
	memcpy(h + 10, &hc, 2);
	ck_assert_uint_eq(csum_buf(h, 20), 0);
}
END_TEST

/* ---- Ethernet ------------------------------------------------------------------------- */

START_TEST(eth_golden)
{
	struct eth_hdr h;
	uint8_t out[ETH_HDR_LEN];

	ck_assert_int_eq(eth_hdr_parse(arp_request, sizeof(arp_request), &h), 0);
	ck_assert(mac_is_broadcast(h.dst));
	ck_assert(mac_eq(h.src, mac_a));
	ck_assert_uint_eq(h.type, ETH_TYPE_ARP);
	eth_hdr_emit(&h, out);
	ck_assert_mem_eq(out, arp_request, ETH_HDR_LEN);

	ck_assert_int_eq(eth_hdr_parse(udp_dns, sizeof(udp_dns), &h), 0);
	ck_assert(mac_eq(h.dst, mac_b));
	ck_assert(mac_eq(h.src, mac_a));
	ck_assert_uint_eq(h.type, ETH_TYPE_IPV4);
	eth_hdr_emit(&h, out);
	ck_assert_mem_eq(out, udp_dns, ETH_HDR_LEN);
}
END_TEST

START_TEST(eth_truncated)
{
	struct eth_hdr h;

	for (size_t n = 0; n < ETH_HDR_LEN; n++) {
		uint8_t *p = exact_copy(arp_request, n);

		ck_assert_int_eq(eth_hdr_parse(p, n, &h), -EMSGSIZE);
		free(p);
	}
	/* exactly a header, no payload */
	uint8_t *p = exact_copy(arp_request, ETH_HDR_LEN);
	ck_assert_int_eq(eth_hdr_parse(p, ETH_HDR_LEN, &h), 0);
	free(p);
}
END_TEST

START_TEST(eth_unaligned)
{
	uint8_t buf[64];
	struct eth_hdr h;

	for (size_t a = 0; a < 8; a++) {
		memcpy(buf + a, icmp_echo_req, ETH_HDR_LEN);
		ck_assert_int_eq(eth_hdr_parse(buf + a, ETH_HDR_LEN, &h), 0);
		ck_assert_uint_eq(h.type, ETH_TYPE_IPV4);
		memset(buf, 0, sizeof(buf));
		eth_hdr_emit(&h, buf + a + 1);
		ck_assert_mem_eq(buf + a + 1, icmp_echo_req, ETH_HDR_LEN);
	}
}
END_TEST

/* ---- ARP ------------------------------------------------------------------------------ */

START_TEST(arp_golden_request)
{
	struct arp_pkt p;
	uint8_t out[ARP_PKT_LEN];

	ck_assert_int_eq(arp_pkt_parse(arp_request + 14, ARP_PKT_LEN, &p), 0);
	ck_assert_uint_eq(p.op, ARP_OP_REQUEST);
	ck_assert(mac_eq(p.sha, mac_a));
	ck_assert(addr_eq(p.spa, ip4("10.99.0.1")));
	ck_assert(mac_eq(p.tha, MAC_ZERO));
	ck_assert(addr_eq(p.tpa, ip4("10.99.0.2")));
	arp_pkt_emit(&p, out);
	ck_assert_mem_eq(out, arp_request + 14, ARP_PKT_LEN);
}
END_TEST

START_TEST(arp_golden_reply)
{
	struct arp_pkt p;
	uint8_t out[ARP_PKT_LEN];

	ck_assert_int_eq(arp_pkt_parse(arp_reply + 14, ARP_PKT_LEN, &p), 0);
	ck_assert_uint_eq(p.op, ARP_OP_REPLY);
	ck_assert(mac_eq(p.sha, mac_b));
	ck_assert(addr_eq(p.spa, ip4("10.99.0.2")));
	ck_assert(mac_eq(p.tha, mac_a));
	ck_assert(addr_eq(p.tpa, ip4("10.99.0.1")));
	arp_pkt_emit(&p, out);
	ck_assert_mem_eq(out, arp_reply + 14, ARP_PKT_LEN);
}
END_TEST

START_TEST(arp_padded)
{
	/* On a real Ethernet the 42-byte frame is padded to 60: 18 trailing bytes. */
	uint8_t frame[60];
	struct arp_pkt p;

	memset(frame, 0xee, sizeof(frame));
	memcpy(frame, arp_request, sizeof(arp_request));
	ck_assert_int_eq(arp_pkt_parse(frame + 14, sizeof(frame) - 14, &p), 0);
	ck_assert(addr_eq(p.tpa, ip4("10.99.0.2")));
}
END_TEST

START_TEST(arp_truncated)
{
	struct arp_pkt p;

	for (size_t n = 0; n < ARP_PKT_LEN; n++) {
		uint8_t *b = exact_copy(arp_request + 14, n);

		ck_assert_int_eq(arp_pkt_parse(b, n, &p), -EMSGSIZE);
		free(b);
	}
}
END_TEST

START_TEST(arp_unsupported)
{
	/* hardware type, protocol type, hardware length, protocol length */
	static const struct {
		size_t off;
		uint8_t v;
	} bad[] = { { 1, 6 /* IEEE 802 */ }, { 0, 1 }, { 2, 0x86 /* 0x86dd */ },
		    { 3, 0x06 /* 0x0806 */ }, { 4, 8 }, { 5, 16 } };
	struct arp_pkt p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[ARP_PKT_LEN];

		memcpy(b, arp_request + 14, ARP_PKT_LEN);
		b[bad[i].off] = bad[i].v;
		ck_assert_int_eq(arp_pkt_parse(b, ARP_PKT_LEN, &p), -EPROTONOSUPPORT);
	}
}
END_TEST

/* ---- IPv4 ----------------------------------------------------------------------------- */

/* Field by field: the struct has padding that the parser does not write. */
static void ck_ipv4_hdr_eq(const struct ipv4_hdr *a, const struct ipv4_hdr *b)
{
	ck_assert_uint_eq(a->hdr_len, b->hdr_len);
	ck_assert_uint_eq(a->tos, b->tos);
	ck_assert_uint_eq(a->total_len, b->total_len);
	ck_assert_uint_eq(a->id, b->id);
	ck_assert_uint_eq(a->df, b->df);
	ck_assert_uint_eq(a->mf, b->mf);
	ck_assert_uint_eq(a->frag_off, b->frag_off);
	ck_assert_uint_eq(a->ttl, b->ttl);
	ck_assert_uint_eq(a->proto, b->proto);
	ck_assert_uint_eq(a->csum, b->csum);
	ck_assert_uint_eq(a->src.s_addr, b->src.s_addr);
	ck_assert_uint_eq(a->dst.s_addr, b->dst.s_addr);
}

START_TEST(ipv4_golden_echo)
{
	const uint8_t *ip = icmp_echo_req + 14;
	size_t len = sizeof(icmp_echo_req) - 14;
	struct ipv4_hdr h;
	uint8_t out[IPV4_HDR_LEN];

	ck_assert_int_eq(ipv4_hdr_parse(ip, len, &h), 0);
	ck_assert_uint_eq(h.hdr_len, 20);
	ck_assert_uint_eq(h.tos, 0);
	ck_assert_uint_eq(h.total_len, 84);
	ck_assert_uint_eq(h.id, 0xa6ee);
	ck_assert(h.df);
	ck_assert(!h.mf);
	ck_assert_uint_eq(h.frag_off, 0);
	ck_assert_uint_eq(h.ttl, 64);
	ck_assert_uint_eq(h.proto, IPV4_PROTO_ICMP);
	ck_assert_uint_eq(ntohs(h.csum), 0x7ef2);
	ck_assert(addr_eq(h.src, ip4("10.99.0.1")));
	ck_assert(addr_eq(h.dst, ip4("10.99.0.2")));
	ipv4_hdr_emit(&h, out);
	ck_assert_mem_eq(out, ip, IPV4_HDR_LEN);
}
END_TEST

START_TEST(ipv4_golden_udp_and_tos)
{
	struct ipv4_hdr h;
	uint8_t out[IPV4_HDR_LEN];

	ck_assert_int_eq(ipv4_hdr_parse(udp_dns + 14, sizeof(udp_dns) - 14, &h), 0);
	ck_assert_uint_eq(h.total_len, 57);
	ck_assert_uint_eq(h.proto, IPV4_PROTO_UDP);
	ipv4_hdr_emit(&h, out);
	ck_assert_mem_eq(out, udp_dns + 14, IPV4_HDR_LEN);

	ck_assert_int_eq(ipv4_hdr_parse(icmp_port_unreach + 14, sizeof(icmp_port_unreach) - 14,
					&h), 0);
	ck_assert_uint_eq(h.tos, 0xc0);
	ck_assert(!h.df);
	ck_assert_uint_eq(h.id, 0xd1c0);
	ipv4_hdr_emit(&h, out);
	ck_assert_mem_eq(out, icmp_port_unreach + 14, IPV4_HDR_LEN);
}
END_TEST

START_TEST(ipv4_golden_options)
{
	/* ping -R: IHL 15, NOP then Record Route (type 7, length 39, pointer 8, one address
	 * recorded). The parser reports the header length; options are the state layer's. */
	const uint8_t *ip = ipv4_rr_echo + 14;
	size_t len = sizeof(ipv4_rr_echo) - 14;
	struct ipv4_hdr h, h2;
	uint8_t out[IPV4_HDR_MAX];

	ck_assert_int_eq(ipv4_hdr_parse(ip, len, &h), 0);
	ck_assert_uint_eq(h.hdr_len, 60);
	ck_assert_uint_eq(h.total_len, 124);
	ck_assert_uint_eq(h.id, 0xa6ef);
	ck_assert(h.df);
	ck_assert_uint_eq(h.proto, IPV4_PROTO_ICMP);
	ck_assert(addr_eq(h.dst, ip4("10.99.0.2")));
	ck_assert_uint_eq(ip[20], 0x01); /* NOP */
	ck_assert_uint_eq(ip[21], 0x07); /* RR */

	/* emit writes the 20 fixed bytes with IHL 5; with the options copied after them and
	 * IHL and checksum fixed up, the original header comes back byte for byte. */
	ipv4_hdr_emit(&h, out);
	ck_assert_uint_eq(out[0], 0x45);
	ck_assert_mem_eq(out + 1, ip + 1, 9); /* tos .. proto */
	ck_assert_mem_eq(out + 12, ip + 12, 8);
	ck_assert_uint_eq(csum_buf(out, 20), 0);
	memcpy(out + 20, ip + 20, 40);
	out[0] = 0x4f;
	out[10] = out[11] = 0;
	{
		uint16_t c = csum_buf(out, 60);

		memcpy(out + 10, &c, 2);
	}
	ck_assert_mem_eq(out, ip, 60);
	/* and the 20-byte emit parses back to the same fields but the length */
	{
		uint8_t d[124] = { 0 };

		ipv4_hdr_emit(&h, d);
		ck_assert_int_eq(ipv4_hdr_parse(d, sizeof(d), &h2), 0);
		ck_assert_uint_eq(h2.hdr_len, 20);
		h2.hdr_len = h.hdr_len;
		h2.csum = h.csum;
		ck_ipv4_hdr_eq(&h2, &h);
	}
}
END_TEST

START_TEST(ipv4_golden_fragment)
{
	uint8_t d[548] = { 0 };
	struct ipv4_hdr h;
	uint8_t out[IPV4_HDR_LEN];

	memcpy(d, frag2_hdr, sizeof(frag2_hdr));
	ck_assert_int_eq(ipv4_hdr_parse(d, sizeof(d), &h), 0);
	ck_assert_uint_eq(h.total_len, 548);
	ck_assert_uint_eq(h.id, 0xa6f0);
	ck_assert(!h.df);
	ck_assert(!h.mf);
	ck_assert_uint_eq(h.frag_off, 1480);
	ipv4_hdr_emit(&h, out);
	ck_assert_mem_eq(out, frag2_hdr, IPV4_HDR_LEN);

	/* the first fragment: MF, offset 0, as Linux sent it (flags 0x2000) */
	h.mf = true;
	h.frag_off = 0;
	h.total_len = 20;
	ipv4_hdr_emit(&h, out);
	ck_assert_uint_eq(out[6], 0x20);
	ck_assert_uint_eq(out[7], 0x00);
	ck_assert_int_eq(ipv4_hdr_parse(out, 20, &h), 0);
	ck_assert(h.mf);
	/* the largest offset: 8191 units */
	h.mf = false;
	h.df = true;
	h.frag_off = 8191 * 8;
	ipv4_hdr_emit(&h, out);
	ck_assert_uint_eq(out[6], 0x5f);
	ck_assert_uint_eq(out[7], 0xff);
	ck_assert_int_eq(ipv4_hdr_parse(out, 20, &h), 0);
	ck_assert_uint_eq(h.frag_off, 65528);
	ck_assert(h.df && !h.mf);
}
END_TEST

START_TEST(ipv4_truncated)
{
	struct ipv4_hdr h;
	const uint8_t *ip = ipv4_rr_echo + 14;
	size_t total = sizeof(ipv4_rr_echo) - 14;

	/* below the fixed header, below IHL*4 (options cut), below the total length */
	for (size_t n = 0; n < total; n++) {
		uint8_t *b = exact_copy(ip, n);

		ck_assert_int_eq(ipv4_hdr_parse(b, n, &h), -EMSGSIZE);
		free(b);
	}
	ip = icmp_echo_req + 14;
	total = sizeof(icmp_echo_req) - 14;
	for (size_t n = 0; n < total; n++) {
		uint8_t *b = exact_copy(ip, n);

		ck_assert_int_eq(ipv4_hdr_parse(b, n, &h), -EMSGSIZE);
		free(b);
	}
	uint8_t *b = exact_copy(ip, total);
	ck_assert_int_eq(ipv4_hdr_parse(b, total, &h), 0);
	free(b);
}
END_TEST

START_TEST(ipv4_padding_ignored)
{
	/* A 57-byte datagram in a frame padded to 60 bytes of payload would be longer;
	 * bytes past the total length are not part of it and are not summed. */
	uint8_t d[100];
	struct ipv4_hdr h;

	memset(d, 0xa5, sizeof(d));
	memcpy(d, udp_dns + 14, 57);
	ck_assert_int_eq(ipv4_hdr_parse(d, sizeof(d), &h), 0);
	ck_assert_uint_eq(h.total_len, 57);
}
END_TEST

/* Sets the header checksum right after an edit, so only the edited field is wrong. */
static void ipv4_fix_csum(uint8_t *ip, size_t hdr_len)
{
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = csum_buf(ip, hdr_len);
	memcpy(ip + 10, &c, 2);
}

START_TEST(ipv4_bad_version)
{
	struct ipv4_hdr h;
	uint8_t d[84];

	for (unsigned v = 0; v < 16; v++) {
		if (v == 4)
			continue;
		memcpy(d, icmp_echo_req + 14, sizeof(d));
		d[0] = (uint8_t)(v << 4 | 5);
		ipv4_fix_csum(d, 20);
		ck_assert_int_eq(ipv4_hdr_parse(d, sizeof(d), &h), -EPROTONOSUPPORT);
	}
}
END_TEST

START_TEST(ipv4_bad_ihl)
{
	struct ipv4_hdr h;
	uint8_t d[84];

	for (unsigned ihl = 0; ihl < 5; ihl++) {
		memcpy(d, icmp_echo_req + 14, sizeof(d));
		d[0] = (uint8_t)(0x40 | ihl);
		ck_assert_int_eq(ipv4_hdr_parse(d, sizeof(d), &h), -EINVAL);
	}
	/* IHL 15 claims 60 bytes of header in a 20-byte buffer: truncated */
	memcpy(d, icmp_echo_req + 14, sizeof(d));
	d[0] = 0x4f;
	ck_assert_int_eq(ipv4_hdr_parse(d, 20, &h), -EMSGSIZE);
}
END_TEST

START_TEST(ipv4_bad_total_len)
{
	struct ipv4_hdr h;
	uint8_t d[138];

	/* total length smaller than the header: 0, 19, and 59 with IHL 15 */
	static const uint16_t tl[] = { 0, 1, 19 };
	for (size_t i = 0; i < 3; i++) {
		memcpy(d, icmp_echo_req + 14, 84);
		d[2] = (uint8_t)(tl[i] >> 8);
		d[3] = (uint8_t)tl[i];
		ipv4_fix_csum(d, 20);
		ck_assert_int_eq(ipv4_hdr_parse(d, 84, &h), -EINVAL);
	}
	memcpy(d, ipv4_rr_echo + 14, 124);
	d[2] = 0;
	d[3] = 59;
	ipv4_fix_csum(d, 60);
	ck_assert_int_eq(ipv4_hdr_parse(d, 124, &h), -EINVAL);
	/* exactly the header, no payload: valid */
	d[3] = 60;
	ipv4_fix_csum(d, 60);
	ck_assert_int_eq(ipv4_hdr_parse(d, 124, &h), 0);
	/* larger than what the link delivered */
	memcpy(d, icmp_echo_req + 14, 84);
	d[2] = 0xff;
	d[3] = 0xff;
	ipv4_fix_csum(d, 20);
	ck_assert_int_eq(ipv4_hdr_parse(d, 84, &h), -EMSGSIZE);
}
END_TEST

START_TEST(ipv4_bad_csum)
{
	/* One flipped bit in any header byte but the length fields (whose own checks come
	 * first) and the version/IHL byte; options included. */
	struct ipv4_hdr h;
	uint8_t d[124];

	for (size_t i = 1; i < 60; i++) {
		if (i == 2 || i == 3)
			continue;
		for (unsigned bit = 0; bit < 8; bit++) {
			memcpy(d, ipv4_rr_echo + 14, sizeof(d));
			d[i] ^= (uint8_t)(1u << bit);
			ck_assert_int_eq(ipv4_hdr_parse(d, sizeof(d), &h), -EBADMSG);
		}
	}
	/* a bad checksum with a bad length reports the length */
	memcpy(d, ipv4_rr_echo + 14, sizeof(d));
	d[11] ^= 1;
	ck_assert_int_eq(ipv4_hdr_parse(d, 100, &h), -EMSGSIZE);
}
END_TEST

START_TEST(ipv4_emit_parse_random)
{
	for (int round = 0; round < 5000; round++) {
		struct ipv4_hdr h = { 0 }, g;
		uint8_t d[40];
		uint8_t buf[48];
		size_t a = prng() % 8;

		h.tos = (uint8_t)prng();
		h.total_len = (uint16_t)(20 + prng() % 21);
		h.id = (uint16_t)prng();
		h.df = prng() & 1;
		h.mf = prng() & 1;
		h.frag_off = (uint16_t)((prng() & 0x1fff) * 8);
		h.ttl = (uint8_t)prng();
		h.proto = (uint8_t)prng();
		h.src.s_addr = prng();
		h.dst.s_addr = prng();
		memset(d, 0, sizeof(d));
		ipv4_hdr_emit(&h, d);
		memcpy(buf + a, d, h.total_len);
		ck_assert_int_eq(ipv4_hdr_parse(buf + a, h.total_len, &g), 0);
		h.hdr_len = 20;
		memcpy(&h.csum, d + 10, 2);
		ck_ipv4_hdr_eq(&g, &h);
	}
}
END_TEST

/* ---- ICMP ----------------------------------------------------------------------------- */

START_TEST(icmp_golden_echo)
{
	const uint8_t *m = icmp_echo_req + 34;
	size_t len = sizeof(icmp_echo_req) - 34;
	struct icmp_hdr h;
	uint8_t out[64];
	struct csum c = CSUM_INIT;

	ck_assert_uint_eq(len, 64);
	ck_assert_int_eq(icmp_hdr_parse(m, len, &h), 0);
	ck_assert_uint_eq(h.type, ICMP_ECHO_REQUEST);
	ck_assert_uint_eq(h.code, 0);
	ck_assert_uint_eq(ntohs(h.csum), 0x1802);
	ck_assert_uint_eq(h.id, 6781);
	ck_assert_uint_eq(h.seq, 1);
	/* re-emit: header, data, checksum over both in two pieces */
	icmp_hdr_emit(&h, out);
	ck_assert_uint_eq(out[2], 0);
	ck_assert_uint_eq(out[3], 0);
	memcpy(out + 8, m + 8, len - 8);
	csum_feed(&c, out, 8);
	csum_feed(&c, out + 8, len - 8);
	icmp_csum_store(out, csum_finish(&c));
	ck_assert_mem_eq(out, m, len);
}
END_TEST

START_TEST(icmp_golden_port_unreach)
{
	const uint8_t *m = icmp_port_unreach + 34;
	size_t len = sizeof(icmp_port_unreach) - 34;
	struct icmp_hdr h;
	uint8_t out[65];

	ck_assert_uint_eq(len, 65); /* odd: quoted header plus a 37-byte UDP datagram */
	ck_assert_int_eq(icmp_hdr_parse(m, len, &h), 0);
	ck_assert_uint_eq(h.type, ICMP_DEST_UNREACH);
	ck_assert_uint_eq(h.code, ICMP_UNREACH_PORT);
	ck_assert_uint_eq(h.id, 0);
	ck_assert_uint_eq(h.seq, 0);
	icmp_hdr_emit(&h, out);
	memcpy(out + 8, m + 8, len - 8);
	icmp_csum_store(out, csum_buf(out, len));
	ck_assert_mem_eq(out, m, len);
}
END_TEST

START_TEST(icmp_needfrag_mtu)
{
	/* 3/4 carries the next-hop MTU in the low 16 bits of the second word (RFC 1191). */
	struct icmp_hdr h = { .type = ICMP_DEST_UNREACH, .code = ICMP_UNREACH_NEEDFRAG,
			      .id = 0, .seq = 1400 };
	struct icmp_hdr g;
	uint8_t out[8];

	icmp_hdr_emit(&h, out);
	icmp_csum_store(out, csum_buf(out, 8));
	ck_assert_uint_eq(out[6], 0x05);
	ck_assert_uint_eq(out[7], 0x78);
	ck_assert_int_eq(icmp_hdr_parse(out, 8, &g), 0);
	ck_assert_uint_eq(g.seq, 1400);
}
END_TEST

START_TEST(icmp_truncated)
{
	struct icmp_hdr h;

	for (size_t n = 0; n < ICMP_HDR_LEN; n++) {
		uint8_t *b = exact_copy(icmp_echo_req + 34, n);

		ck_assert_int_eq(icmp_hdr_parse(b, n, &h), -EMSGSIZE);
		free(b);
	}
}
END_TEST

START_TEST(icmp_bad_csum)
{
	struct icmp_hdr h;
	uint8_t m[64];

	for (size_t i = 0; i < sizeof(m); i++) {
		memcpy(m, icmp_echo_req + 34, sizeof(m));
		m[i] ^= 0x10;
		ck_assert_int_eq(icmp_hdr_parse(m, sizeof(m), &h), -EBADMSG);
	}
	/* a message cut short (by a wrong IP length) no longer sums right */
	memcpy(m, icmp_echo_req + 34, sizeof(m));
	ck_assert_int_eq(icmp_hdr_parse(m, sizeof(m) - 2, &h), -EBADMSG);
	/* all zeros: the checksum of zeros is 0xffff, not 0 */
	memset(m, 0, sizeof(m));
	ck_assert_int_eq(icmp_hdr_parse(m, sizeof(m), &h), -EBADMSG);
}
END_TEST

/* ---- UDP ------------------------------------------------------------------------------ */

START_TEST(udp_golden_dns)
{
	const uint8_t *u = udp_dns + 34;
	size_t len = sizeof(udp_dns) - 34;
	struct in_addr src = ip4("10.99.0.1"), dst = ip4("10.99.0.2");
	struct udp_hdr h;
	uint8_t out[UDP_HDR_LEN];
	struct csum c = CSUM_INIT;

	ck_assert_uint_eq(len, 37);
	ck_assert_int_eq(udp_hdr_parse(u, len, src, dst, &h), 0);
	ck_assert_uint_eq(h.sport, 40000);
	ck_assert_uint_eq(h.dport, 53);
	ck_assert_uint_eq(h.len, 37);
	ck_assert_uint_eq(ntohs(h.csum), 0x6cc4);
	udp_hdr_emit(&h, out);
	ck_assert_mem_eq(out, u, UDP_HDR_LEN);
	/* the checksum as a sender computes it: pseudo-header, header with zero checksum,
	 * then the odd-length data */
	h.csum = 0;
	udp_hdr_emit(&h, out);
	csum_feed_pseudo(&c, src, dst, IPV4_PROTO_UDP, h.len);
	csum_feed(&c, out, UDP_HDR_LEN);
	csum_feed(&c, u + 8, len - 8);
	ck_assert_uint_eq(ntohs(udp_csum_finish(&c)), 0x6cc4);
}
END_TEST

START_TEST(udp_truncated)
{
	struct in_addr src = ip4("10.99.0.1"), dst = ip4("10.99.0.2");
	struct udp_hdr h;

	/* below the header, and below the UDP length (IP payload cut) */
	for (size_t n = 0; n < 37; n++) {
		uint8_t *b = exact_copy(udp_dns + 34, n);

		ck_assert_int_eq(udp_hdr_parse(b, n, src, dst, &h), -EMSGSIZE);
		free(b);
	}
}
END_TEST

START_TEST(udp_bad_length_field)
{
	struct in_addr src = ip4("10.99.0.1"), dst = ip4("10.99.0.2");
	struct udp_hdr h;
	uint8_t u[37];

	for (unsigned l = 0; l < UDP_HDR_LEN; l++) {
		memcpy(u, udp_dns + 34, sizeof(u));
		u[4] = 0;
		u[5] = (uint8_t)l;
		ck_assert_int_eq(udp_hdr_parse(u, sizeof(u), src, dst, &h), -EMSGSIZE);
	}
	memcpy(u, udp_dns + 34, sizeof(u));
	u[5] = 38;
	ck_assert_int_eq(udp_hdr_parse(u, sizeof(u), src, dst, &h), -EMSGSIZE);
}
END_TEST

START_TEST(udp_padding_ignored)
{
	/* Bytes past the UDP length are not summed. */
	struct in_addr src = ip4("10.99.0.1"), dst = ip4("10.99.0.2");
	struct udp_hdr h;
	uint8_t u[48];

	memset(u, 0x77, sizeof(u));
	memcpy(u, udp_dns + 34, 37);
	ck_assert_int_eq(udp_hdr_parse(u, sizeof(u), src, dst, &h), 0);
	ck_assert_uint_eq(h.len, 37);
}
END_TEST

START_TEST(udp_bad_csum)
{
	struct in_addr src = ip4("10.99.0.1"), dst = ip4("10.99.0.2");
	struct udp_hdr h;
	uint8_t u[37];

	for (size_t i = 0; i < sizeof(u); i++) {
		if (i == 4 || i == 5)
			continue; /* the length has its own check */
		memcpy(u, udp_dns + 34, sizeof(u));
		u[i] ^= 0x01;
		ck_assert_int_eq(udp_hdr_parse(u, sizeof(u), src, dst, &h), -EBADMSG);
	}
	/* the pseudo-header counts: another source or destination address */
	memcpy(u, udp_dns + 34, sizeof(u));
	ck_assert_int_eq(udp_hdr_parse(u, sizeof(u), ip4("10.99.0.3"), dst, &h), -EBADMSG);
	ck_assert_int_eq(udp_hdr_parse(u, sizeof(u), src, ip4("10.99.1.2"), &h), -EBADMSG);
}
END_TEST

START_TEST(udp_zero_csum_means_none)
{
	/* RFC 768: a transmitted 0 means no checksum; the datagram is accepted whatever
	 * its contents. */
	struct in_addr src = ip4("10.99.0.1"), dst = ip4("10.99.0.2");
	struct udp_hdr h;
	uint8_t u[37];

	memcpy(u, udp_dns + 34, sizeof(u));
	u[6] = u[7] = 0;
	u[20] ^= 0xff;
	ck_assert_int_eq(udp_hdr_parse(u, sizeof(u), src, dst, &h), 0);
	ck_assert_uint_eq(h.csum, 0);
}
END_TEST

START_TEST(udp_computed_zero_sent_as_ones)
{
	/* A datagram whose checksum computes to 0: two data bytes chosen to make the sum
	 * 0xffff. It goes out as 0xffff and verifies. */
	struct in_addr src = ip4("10.99.0.1"), dst = ip4("10.99.0.2");
	struct udp_hdr h = { .sport = 1234, .dport = 7, .len = 10, .csum = 0 }, g;
	uint8_t u[10] = { 0 };
	struct csum c = CSUM_INIT;
	uint16_t rest;

	udp_hdr_emit(&h, u);
	csum_feed_pseudo(&c, src, dst, IPV4_PROTO_UDP, 10);
	csum_feed(&c, u, 10);
	rest = csum_finish(&c); /* ~sum, network order: exactly the word that completes it */
	memcpy(u + 8, &rest, 2);
	c = CSUM_INIT;
	csum_feed_pseudo(&c, src, dst, IPV4_PROTO_UDP, 10);
	csum_feed(&c, u, 10);
	ck_assert_uint_eq(csum_finish(&c), 0);
	h.csum = udp_csum_finish(&c);
	ck_assert_uint_eq(h.csum, 0xffff);
	udp_hdr_emit(&h, u);
	ck_assert_uint_eq(u[6], 0xff);
	ck_assert_uint_eq(u[7], 0xff);
	ck_assert_int_eq(udp_hdr_parse(u, sizeof(u), src, dst, &g), 0);
	ck_assert_uint_eq(g.csum, 0xffff);
}
END_TEST

START_TEST(udp_unaligned)
{
	struct in_addr src = ip4("10.99.0.1"), dst = ip4("10.99.0.2");
	uint8_t buf[48];
	struct udp_hdr h;

	for (size_t a = 0; a < 8; a++) {
		memcpy(buf + a, udp_dns + 34, 37);
		ck_assert_int_eq(udp_hdr_parse(buf + a, 37, src, dst, &h), 0);
		ck_assert_uint_eq(h.sport, 40000);
	}
}
END_TEST

/* ---- Suite ---------------------------------------------------------------------------- */

static Suite *wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc;

	tc = tcase_create("csum");
	tcase_add_test(tc, csum_rfc1071_example);
	tcase_add_test(tc, csum_empty_and_single);
	tcase_add_test(tc, csum_matches_reference);
	tcase_add_test(tc, csum_random_lengths_offsets);
	tcase_add_test(tc, csum_odd_pieces_every_split);
	tcase_add_test(tc, csum_odd_pieces_many);
	tcase_add_test(tc, csum_odd_byte_at_a_time);
	tcase_add_test(tc, csum_pseudo_header);
	tcase_add_test(tc, csum_update16_rfc1624_example);
	tcase_add_test(tc, csum_update16_vs_recompute);
	tcase_add_test(tc, csum_update16_ttl_decrement);
	suite_add_tcase(s, tc);

	tc = tcase_create("eth");
	tcase_add_test(tc, eth_golden);
	tcase_add_test(tc, eth_truncated);
	tcase_add_test(tc, eth_unaligned);
	suite_add_tcase(s, tc);

	tc = tcase_create("arp");
	tcase_add_test(tc, arp_golden_request);
	tcase_add_test(tc, arp_golden_reply);
	tcase_add_test(tc, arp_padded);
	tcase_add_test(tc, arp_truncated);
	tcase_add_test(tc, arp_unsupported);
	suite_add_tcase(s, tc);

	tc = tcase_create("ipv4");
	tcase_add_test(tc, ipv4_golden_echo);
	tcase_add_test(tc, ipv4_golden_udp_and_tos);
	tcase_add_test(tc, ipv4_golden_options);
	tcase_add_test(tc, ipv4_golden_fragment);
	tcase_add_test(tc, ipv4_truncated);
	tcase_add_test(tc, ipv4_padding_ignored);
	tcase_add_test(tc, ipv4_bad_version);
	tcase_add_test(tc, ipv4_bad_ihl);
	tcase_add_test(tc, ipv4_bad_total_len);
	tcase_add_test(tc, ipv4_bad_csum);
	tcase_add_test(tc, ipv4_emit_parse_random);
	suite_add_tcase(s, tc);

	tc = tcase_create("icmp");
	tcase_add_test(tc, icmp_golden_echo);
	tcase_add_test(tc, icmp_golden_port_unreach);
	tcase_add_test(tc, icmp_needfrag_mtu);
	tcase_add_test(tc, icmp_truncated);
	tcase_add_test(tc, icmp_bad_csum);
	suite_add_tcase(s, tc);

	tc = tcase_create("udp");
	tcase_add_test(tc, udp_golden_dns);
	tcase_add_test(tc, udp_truncated);
	tcase_add_test(tc, udp_bad_length_field);
	tcase_add_test(tc, udp_padding_ignored);
	tcase_add_test(tc, udp_bad_csum);
	tcase_add_test(tc, udp_zero_csum_means_none);
	tcase_add_test(tc, udp_computed_zero_sent_as_ones);
	tcase_add_test(tc, udp_unaligned);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(wire_suite());
}
