/* IPv4 Identification values per destination, keyed and perturbed: see ipv4_id.h. */
#include "ipv4_id.h"

#include <string.h>

void ipv4_id_init(struct ipv4_id *t, stack_random_fn random, void *random_ctx)
{
	random(t->key, sizeof(t->key), random_ctx);
	random(t->next, sizeof(t->next), random_ctx);
	memset(t->stamp_ms, 0, sizeof(t->stamp_ms));
}

uint16_t ipv4_id_next(struct ipv4_id *t, struct in_addr src, struct in_addr dst, uint8_t proto,
		      uint64_t now_ns, struct rng *rng)
{
	uint8_t k[9];
	uint32_t b, now_ms = (uint32_t)(now_ns / 1000000u), idle_ms;
	uint16_t id;

	memcpy(k, &dst.s_addr, 4);
	memcpy(k + 4, &src.s_addr, 4);
	k[8] = proto;
	b = (uint32_t)siphash24(t->key, k, sizeof(k)) & (IPV4_ID_BUCKETS - 1);
	/* Linux's perturbation: a random jump below the time the bucket was idle. */
	idle_ms = now_ms - t->stamp_ms[b];
	if (idle_ms != 0) {
		t->stamp_ms[b] = now_ms;
		t->next[b] = (uint16_t)(t->next[b] + rng_below(rng, idle_ms));
	}
	id = t->next[b];
	t->next[b] = (uint16_t)(id + 1);
	return id;
}
