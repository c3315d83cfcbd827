/* Test harness: stacks on a virtual clock over the memory netif pair. */
#include "harness.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/wire/csum.h"
#include "stack/wire/eth.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"

#define H_START_NS (1 * H_S)
#define H_PUMP_MAX 1000000

int h_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int run, failed;

	srunner_run_all(sr, CK_ENV);
	run = srunner_ntests_run(sr);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("# %d passed, %d failed\n", run - failed, failed);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

struct in_addr h_ip(const char *dotted)
{
	struct in_addr a;

	ck_assert_int_eq(inet_pton(AF_INET, dotted, &a), 1);
	return a;
}

uint64_t h_stat(const struct stack *st, enum stat_id id)
{
	return stack_stats(st)->v[id];
}

static void h_seed(struct rng *r, uint64_t seed)
{
	uint8_t s[32] = { 0 };

	memcpy(s, &seed, sizeof(seed));
	s[8] = 0x5a;
	rng_seed(r, s);
}

static struct stack *h_stack(const struct stack_config *cfg, const char *addr,
			     struct netif *nif, struct rng *r, uint64_t now)
{
	struct stack_config c;
	struct stack *st = NULL;

	if (cfg) {
		c = *cfg;
	} else {
		stack_config_defaults(&c);
		c.addr = h_ip(addr);
		c.prefix_len = 24;
	}
	ck_assert_int_eq(stack_new(&c, nif, rng_random_fn, r, now, &st), 0);
	return st;
}

void h_net_init(struct h_net *n, unsigned mtu, const struct stack_config *cfg_a,
		const struct stack_config *cfg_b, uint64_t seed)
{
	struct mac ma = H_HOST_MAC, mb = H_PEER_MAC;

	memset(n, 0, sizeof(*n));
	n->now_ns = H_START_NS;
	memnet_pair_init(&n->pair, mtu, ma, mb, seed);
	h_seed(&n->rng_a, seed ^ 0xa);
	h_seed(&n->rng_b, seed ^ 0xb);
	n->a = h_stack(cfg_a, H_HOST_IP, &n->pair.a.nif, &n->rng_a, n->now_ns);
	n->b = h_stack(cfg_b, H_PEER_IP, &n->pair.b.nif, &n->rng_b, n->now_ns);
}

void h_net_fini(struct h_net *n)
{
	stack_free(n->a);
	stack_free(n->b);
	memnet_pair_fini(&n->pair);
}

void h_net_pump(struct h_net *n)
{
	memnet_pump(&n->pair, n->a, n->b, n->now_ns, H_PUMP_MAX);
}

static uint64_t h_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void h_net_run(struct h_net *n, uint64_t duration_ns, uint64_t step_ns)
{
	uint64_t end = n->now_ns + duration_ns;

	h_net_pump(n);
	for (;;) {
		uint64_t next = h_min(stack_next_deadline(n->a), stack_next_deadline(n->b));

		if (step_ns)
			next = h_min(next, n->now_ns + step_ns);
		if (next < n->now_ns)
			next = n->now_ns;
		if (next > end)
			break;
		n->now_ns = next;
		stack_poll(n->a, n->now_ns);
		stack_poll(n->b, n->now_ns);
		h_net_pump(n);
		if (next == end)
			break;
		if (!step_ns && stack_next_deadline(n->a) <= n->now_ns &&
		    stack_next_deadline(n->b) <= n->now_ns)
			n->now_ns++; /* a deadline that polling did not move: avoid spinning */
	}
	n->now_ns = end;
	stack_poll(n->a, n->now_ns);
	stack_poll(n->b, n->now_ns);
	h_net_pump(n);
}

void h_host_init(struct h_host *h, unsigned mtu, const struct stack_config *cfg,
		 bool no_static_arp)
{
	struct mac ma = H_HOST_MAC, mb = H_PEER_MAC;

	memset(h, 0, sizeof(*h));
	h->now_ns = H_START_NS;
	memnet_pair_init(&h->pair, mtu, ma, mb, 1);
	h_seed(&h->rng, 7);
	h->st = h_stack(cfg, H_HOST_IP, &h->pair.a.nif, &h->rng, h->now_ns);
	if (!no_static_arp)
		ck_assert_int_eq(arp_add_static(stack_arp(h->st), h_ip(H_PEER_IP), mb), 0);
}

void h_host_fini(struct h_host *h)
{
	stack_free(h->st);
	memnet_pair_fini(&h->pair);
}

void h_host_input(struct h_host *h, const uint8_t *frame, size_t len)
{
	stack_input(h->st, &h->pair.a.nif, frame, len, h->now_ns);
}

size_t h_host_output(struct h_host *h, uint8_t *buf, size_t cap)
{
	return memnet_recv(&h->pair.b, buf, cap);
}

size_t h_host_drain(struct h_host *h)
{
	static uint8_t buf[65536 + 64];
	size_t n = 0;

	while (memnet_recv(&h->pair.b, buf, sizeof(buf)) > 0)
		n++;
	return n;
}

void h_host_advance(struct h_host *h, uint64_t duration_ns)
{
	uint64_t end = h->now_ns + duration_ns;

	for (;;) {
		uint64_t next = stack_next_deadline(h->st);

		if (next > end)
			break;
		if (next > h->now_ns)
			h->now_ns = next;
		stack_poll(h->st, h->now_ns);
		if (stack_next_deadline(h->st) <= h->now_ns)
			h->now_ns++; /* never spin on a deadline that polling left in place */
	}
	h->now_ns = end;
	stack_poll(h->st, h->now_ns);
}

size_t h_eth(uint8_t *buf, struct mac dst, struct mac src, uint16_t type, const void *payload,
	     size_t len)
{
	struct eth_hdr e = { .dst = dst, .src = src, .type = type };

	eth_hdr_emit(&e, buf);
	if (len)
		memcpy(buf + ETH_HDR_LEN, payload, len);
	return ETH_HDR_LEN + len;
}

size_t h_ipv4(uint8_t *buf, struct in_addr src, struct in_addr dst, uint8_t proto, uint16_t id,
	      uint16_t off_bytes, bool mf, uint8_t ttl, const void *payload, size_t len)
{
	struct ipv4_hdr h = {
		.hdr_len = IPV4_HDR_LEN,
		.total_len = (uint16_t)(IPV4_HDR_LEN + len),
		.id = id,
		.mf = mf,
		.frag_off = off_bytes,
		.ttl = ttl,
		.proto = proto,
		.src = src,
		.dst = dst,
	};

	ipv4_hdr_emit(&h, buf);
	if (len)
		memcpy(buf + IPV4_HDR_LEN, payload, len);
	return IPV4_HDR_LEN + len;
}

size_t h_frame_ipv4(uint8_t *buf, uint8_t proto, uint16_t id, uint16_t off_bytes, bool mf,
		    const void *payload, size_t len)
{
	struct mac host = H_HOST_MAC, peer = H_PEER_MAC;
	struct eth_hdr e = { .dst = host, .src = peer, .type = ETH_TYPE_IPV4 };

	eth_hdr_emit(&e, buf);
	return ETH_HDR_LEN + h_ipv4(buf + ETH_HDR_LEN, h_ip(H_PEER_IP), h_ip(H_HOST_IP), proto,
				   id, off_bytes, mf, 64, payload, len);
}

size_t h_icmp_echo(uint8_t *buf, uint8_t type, uint16_t id, uint16_t seq, const void *data,
		   size_t len)
{
	struct icmp_hdr h = { .type = type, .id = id, .seq = seq };

	icmp_hdr_emit(&h, buf);
	if (len)
		memcpy(buf + ICMP_HDR_LEN, data, len);
	icmp_csum_store(buf, csum_buf(buf, ICMP_HDR_LEN + len));
	return ICMP_HDR_LEN + len;
}
