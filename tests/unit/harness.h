/* Test harness for the unit suites: stacks on a virtual clock over the memory netif pair,
 * and builders for hand-made frames. */
#ifndef USTACK_TESTS_HARNESS_H
#define USTACK_TESTS_HARNESS_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/memory.h"
#include "stack/stack.h"

#define H_MS 1000000ull
#define H_S 1000000000ull

/* Two stacks, a (10.0.0.1/24, MAC 02:00:00:00:00:01) on port a and b (10.0.0.2/24,
 * 02:00:00:00:00:02) on port b, and a virtual clock starting at 1 s. */
struct h_net {
	struct memnet_pair pair;
	struct stack *a, *b;
	struct rng rng_a, rng_b;
	uint64_t now_ns;
};

/* cfg_a/cfg_b NULL: defaults with the addresses above. Asserts on failure. */
void h_net_init(struct h_net *n, unsigned mtu, const struct stack_config *cfg_a,
		const struct stack_config *cfg_b, uint64_t seed);
void h_net_fini(struct h_net *n);
/* Delivers frames until the link is quiet, without advancing the clock. */
void h_net_pump(struct h_net *n);
/* Advances the clock by duration_ns, stepping to each stack deadline (and at least every
 * step_ns when step_ns > 0), delivering frames and running stack_poll() on the way. */
void h_net_run(struct h_net *n, uint64_t duration_ns, uint64_t step_ns);

/* One stack on port a; the test is port b and sees raw frames. */
struct h_host {
	struct memnet_pair pair;
	struct stack *st;
	struct rng rng;
	uint64_t now_ns;
};

#define H_HOST_MAC { { 0x02, 0, 0, 0, 0, 0x01 } }
#define H_PEER_MAC { { 0x02, 0, 0, 0, 0, 0x02 } }
#define H_HOST_IP "10.0.0.1"
#define H_PEER_IP "10.0.0.2"

/* cfg NULL: defaults, 10.0.0.1/24. The peer (10.0.0.2, H_PEER_MAC) is added as a static ARP
 * entry unless no_static_arp. */
void h_host_init(struct h_host *h, unsigned mtu, const struct stack_config *cfg,
		 bool no_static_arp);
void h_host_fini(struct h_host *h);
/* Feeds one frame to the stack at the current time. */
void h_host_input(struct h_host *h, const uint8_t *frame, size_t len);
/* The next frame the stack sent (0: none). */
size_t h_host_output(struct h_host *h, uint8_t *buf, size_t cap);
/* Drops every frame the stack sent so far; returns how many. */
size_t h_host_drain(struct h_host *h);
/* Advances the clock by duration_ns through the stack's deadlines, running stack_poll(). */
void h_host_advance(struct h_host *h, uint64_t duration_ns);

/* Runs a suite as every test main does: Check's TAP output for meson, then the closing
 * line "# N passed, N failed" (a TAP comment, design.md §6). Returns the exit status. */
int h_run_suite(Suite *s);

struct in_addr h_ip(const char *dotted);
uint64_t h_stat(const struct stack *st, enum stat_id id);

/* Frame builders; each returns the frame length. */
size_t h_eth(uint8_t *buf, struct mac dst, struct mac src, uint16_t type, const void *payload,
	     size_t len);
/* An IPv4 datagram (20-byte header, valid checksum) carrying payload; off_bytes must be a
 * multiple of 8 for fragments. total_len = 20 + len. */
size_t h_ipv4(uint8_t *buf, struct in_addr src, struct in_addr dst, uint8_t proto, uint16_t id,
	      uint16_t off_bytes, bool mf, uint8_t ttl, const void *payload, size_t len);
/* Ethernet(peer -> host) + IPv4 from the peer to the host. */
size_t h_frame_ipv4(uint8_t *buf, uint8_t proto, uint16_t id, uint16_t off_bytes, bool mf,
		    const void *payload, size_t len);
/* An ICMP echo request (valid checksum) with data; returns its length. */
size_t h_icmp_echo(uint8_t *buf, uint8_t type, uint16_t id, uint16_t seq, const void *data,
		   size_t len);

#endif
