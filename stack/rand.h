/* Randomness. The stack never calls getrandom(2) itself (it does no I/O): the daemon passes
 * a stack_random_fn that does, tests pass a seeded one. Secrets (TCP ISN keys, SYN cookie
 * keys) are drawn from it directly; per-packet values (IP IDs, jitter) come from a
 * xoshiro256** generator seeded from it at start, so the fast path makes no syscall. */
#ifndef USTACK_RAND_H
#define USTACK_RAND_H

#include <stddef.h>
#include <stdint.h>

typedef void (*stack_random_fn)(void *buf, size_t len, void *ctx);

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, const uint8_t seed[32]);
uint64_t rng_u64(struct rng *r);
uint32_t rng_u32(struct rng *r);
/* Uniform in [0, n), n > 0. */
uint32_t rng_below(struct rng *r, uint32_t n);

/* A deterministic stack_random_fn for tests and fuzzing: ctx points to a struct rng. */
void rng_random_fn(void *buf, size_t len, void *ctx);

#endif
