/* The Internet checksum: RFC 1071 (computation), RFC 1624 (incremental update).
 *
 * The sum is accumulated over native-order loads. RFC 1071 §2(A) shows the one's complement
 * sum is byte-order independent: summing byte-swapped words gives the byte-swapped sum, so
 * a result stored back with memcpy is already in network byte order. Loads go through
 * memcpy because buffers may be at any alignment. */
#include "csum.h"

#include <string.h>

/* Folds a 64-bit accumulator to 32 bits without changing its value mod 0xffff
 * (2^32 ≡ 1 mod 0xffff, RFC 1071 §2(C) "deferred carries"). */
static uint64_t fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return s;
}

/* Folds to 16 bits with end-around carry: a non-zero sum stays in [1, 0xffff]. */
static uint16_t fold16(uint64_t s)
{
	s = fold64(s);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* A 16-bit word in native order from two bytes in wire order (hi first). */
static uint16_t word_of(uint8_t hi, uint8_t lo)
{
	uint8_t w[2] = { hi, lo };
	uint16_t v;

	memcpy(&v, w, sizeof(v));
	return v;
}

/* Adds the 64-bit words of p (len a multiple of 8) to s. One's complement addition works
 * in any word size that is a multiple of 16 bits (RFC 1071 §2(B) "parallel summation",
 * §2(C) "deferred carries"): each carry out of bit 63 is added back in (end-around carry),
 * and 2^64 - 1 is a multiple of 0xffff, so the 64-bit sum folds to the 16-bit one. The carries are counted aside rather than added at once, which
 * keeps the loop at one add and one add-with-carry per 8 bytes (gcc -O2 on x86-64: addq,
 * adcq $0) with no chain through a compare; 32 bytes per iteration halve the loop cost. */
static uint64_t sum64_words(const uint8_t *p, size_t len, uint64_t s)
{
	uint64_t carries = 0;

	while (len >= 32) {
		uint64_t a, b, c, d;

		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		memcpy(&c, p + 16, 8);
		memcpy(&d, p + 24, 8);
		s += a;
		carries += s < a;
		s += b;
		carries += s < b;
		s += c;
		carries += s < c;
		s += d;
		carries += s < d;
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		uint64_t a;

		memcpy(&a, p, 8);
		s += a;
		carries += s < a;
		p += 8;
		len -= 8;
	}
	/* At most len / 8 carries: adding them back cannot wrap twice. */
	s += carries;
	return s + (s < carries);
}

void csum_feed(struct csum *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s = c->sum;

	if (len == 0)
		return;
	/* After an odd number of bytes the next byte is at an odd offset of the whole
	 * message: the low-order byte of a 16-bit word in network order. */
	if (c->odd) {
		s += word_of(0, p[0]);
		p++;
		len--;
		c->odd = false;
	}
	/* Loads go through memcpy: buffers may be at any alignment, and the words need
	 * only start at even offsets of the message, which they do from here. */
	s = sum64_words(p, len & ~(size_t)7, fold64(s));
	p += len & ~(size_t)7;
	len &= 7;
	s = fold64(s);
	if (len >= 4) {
		uint32_t v;

		memcpy(&v, p, sizeof(v));
		s += v;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t v;

		memcpy(&v, p, sizeof(v));
		s += v;
		p += 2;
		len -= 2;
	}
	/* A trailing odd byte is the high-order byte of a word padded with zero (RFC 1071
	 * §4.1 "add left-over byte"); the next piece, if any, supplies the low byte. */
	if (len == 1) {
		s += word_of(p[0], 0);
		c->odd = true;
	}
	c->sum = fold64(s);
}

void csum_feed_iov(struct csum *c, const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++)
		csum_feed(c, iov[i].iov_base, iov[i].iov_len);
}

void csum_feed_pseudo(struct csum *c, struct in_addr src, struct in_addr dst, uint8_t proto,
		      uint16_t len)
{
	/* RFC 768 "Fields": source, destination, zero, protocol, UDP length (RFC 9293 §3.1
	 * uses the same 12 bytes with the TCP length). */
	uint8_t ph[12];

	memcpy(ph, &src.s_addr, 4);
	memcpy(ph + 4, &dst.s_addr, 4);
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = (uint8_t)(len >> 8);
	ph[11] = (uint8_t)len;
	csum_feed(c, ph, sizeof(ph));
}

uint16_t csum_finish(const struct csum *c)
{
	return (uint16_t)~fold16(c->sum);
}

uint16_t csum_buf(const void *data, size_t len)
{
	struct csum c = CSUM_INIT;

	csum_feed(&c, data, len);
	return csum_finish(&c);
}

uint16_t csum_update16(uint16_t csum, uint16_t old_val, uint16_t new_val)
{
	/* RFC 1624 §3 eqn. 3: HC' = ~(~HC + ~m + m'). Unlike eqn. 2 (RFC 1141) it never
	 * yields 0xffff where recomputation yields 0x0000 (the §3 example): an end-around
	 * carry sum of terms not all zero lands in [1, 0xffff], as the recomputed sum of a
	 * message with a non-zero word does, and both are equal mod 0xffff. (Only a message
	 * that becomes all zeros differs; no IPv4, ICMP or UDP header can.) Byte order does
	 * not matter as long as all three values share it (RFC 1071 §2(B)). */
	uint32_t s = (uint16_t)~csum;

	s += (uint16_t)~old_val;
	s += new_val;
	return (uint16_t)~fold16(s);
}
