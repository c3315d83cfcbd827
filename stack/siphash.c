/* SipHash-2-4, after the reference implementation (github.com/veorq/SipHash, CC0): two
 * compression rounds per 8-byte word, four finalization rounds, 64-bit output. */
#include "siphash.h"

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

#define SIPROUND                                                                               \
	do {                                                                                   \
		v0 += v1;                                                                      \
		v1 = rotl64(v1, 13);                                                           \
		v1 ^= v0;                                                                      \
		v0 = rotl64(v0, 32);                                                           \
		v2 += v3;                                                                      \
		v3 = rotl64(v3, 16);                                                           \
		v3 ^= v2;                                                                      \
		v0 += v3;                                                                      \
		v3 = rotl64(v3, 21);                                                           \
		v3 ^= v0;                                                                      \
		v2 += v1;                                                                      \
		v1 = rotl64(v1, 17);                                                           \
		v1 ^= v2;                                                                      \
		v2 = rotl64(v2, 32);                                                           \
	} while (0)

uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	/* "somepseudorandomlygeneratedbytes" */
	uint64_t v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t v3 = 0x7465646279746573ull ^ k1;

	size_t full = len - (len % 8);
	for (size_t i = 0; i < full; i += 8) {
		uint64_t m = load_le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}

	/* Last word: the remaining 0..7 bytes, little endian, with len mod 256 on top. */
	uint64_t b = (uint64_t)len << 56;
	for (size_t k = 0; k < len % 8; k++)
		b |= (uint64_t)in[full + k] << (8 * k);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;

	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}
