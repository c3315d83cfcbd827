/* The stack's insides, shared by its modules (not part of the public API). */
#ifndef USTACK_STACK_VAR_H
#define USTACK_STACK_VAR_H

#include "arp.h"
#include "eth.h"
#include "icmp.h"
#include "ipv4.h"
#include "rand.h"
#include "stack.h"
#include "stats.h"
#include "udp.h"

struct tcp;

struct stack {
	struct stack_config cfg;
	struct netif *nif;
	uint64_t now_ns; /* the latest time a driver passed in */
	unsigned rx_flags; /* STACK_RX_* of the frame being input, 0 between frames */
	struct stats stats;
	stack_random_fn random;
	void *random_ctx;
	struct rng rng;

	struct eth eth;
	struct arp arp;
	struct ipv4 ip;
	struct icmp icmp;
	struct udp udp;
	struct tcp *tcp;
};

#define STAT_INC(st, name) stat_inc(&(st)->stats, STAT_##name)
#define STAT_ADD(st, name, n) stat_add(&(st)->stats, STAT_##name, (n))

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull

#endif
