#include "rand.h"

#include <string.h>

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* SplitMix64 (Vigna): spreads a seed over the state. xoshiro's first outputs from a
 * sparse state (a test's small seed) are poor, and the all-zero state is a fixed point. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, const uint8_t seed[32])
{
	uint64_t w[4], x = 0;

	memcpy(w, seed, sizeof(w));
	for (int i = 0; i < 4; i++) {
		x ^= w[i];
		r->s[i] = splitmix64(&x);
	}
}

/* xoshiro256** 1.0 (Blackman, Vigna), public domain reference algorithm. */
uint64_t rng_u64(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint32_t rng_u32(struct rng *r)
{
	return (uint32_t)(rng_u64(r) >> 32);
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
	/* Lemire's multiply-shift; the bias is below 2^-32 and irrelevant here. */
	return (uint32_t)(((uint64_t)rng_u32(r) * n) >> 32);
}

void rng_random_fn(void *buf, size_t len, void *ctx)
{
	struct rng *r = ctx;
	uint8_t *p = buf;

	while (len > 0) {
		uint64_t v = rng_u64(r);
		size_t n = len < sizeof(v) ? len : sizeof(v);
		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
}
