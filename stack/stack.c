/* The stack object: owns the layers, passes time in, answers when it needs time again. */
#include "stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack_limits.h"
#include "stack_var.h"
#include "tcp.h"
#include "wire/eth.h"
#include "wire/ipv4.h"

void stack_config_defaults(struct stack_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->addr = addr_from_host(0x0acb0002); /* 10.203.0.2, design.md §3 */
	cfg->prefix_len = 24;
	cfg->default_ttl = IPV4_DEFAULT_TTL;

	cfg->reasm_max_bytes = IPV4_REASS_DEFAULT_MAX_BYTES;
	cfg->reasm_max_fragments = IPV4_REASS_DEFAULT_MAX_FRAGS;
	cfg->reasm_timeout_ms = IPV4_REASS_DEFAULT_TIMEOUT_MS;

	/* ARP: 3 requests 1 s apart (RFC 1122 §2.3.2.1 asks for no more than one a second);
	 * Linux's 30 s reachable time; a failure remembered for 3 s so that a writer
	 * retrying in a loop does not flood the link with broadcasts. */
	cfg->arp_cache_size = 256;
	cfg->arp_retries = 3;
	cfg->arp_retry_ms = 1000;
	cfg->arp_reachable_ms = 30000;
	cfg->arp_expire_ms = 60000;
	cfg->arp_failed_ms = 3000;
	cfg->arp_queue_max_bytes = 256 * 1024;
	cfg->arp_queue_entry_bytes = 64 * 1024;

	/* Linux's icmp_msgs_per_sec and icmp_msgs_burst. */
	cfg->icmp_rate_per_s = 1000;
	cfg->icmp_burst = 50;

	/* TCP: design.md §2 keepalive (Linux's), Linux's timers and limits otherwise. */
	cfg->tcp_keepalive_idle_s = 7200;
	cfg->tcp_keepalive_interval_s = 75;
	cfg->tcp_keepalive_count = 9;
	cfg->tcp_rto_initial_ms = 1000;
	cfg->tcp_rto_min_ms = 200;
	cfg->tcp_rto_max_ms = 120000;
	cfg->tcp_time_wait_ms = 60000;
	cfg->tcp_max_time_wait = 16384;
	cfg->tcp_syn_backlog = 256;
	cfg->tcp_max_backlog = 4096;
	cfg->tcp_syn_retries = 6;
	cfg->tcp_synack_retries = 5;
	cfg->tcp_retries2 = 15;
	cfg->tcp_fin_timeout_ms = 60000;
	cfg->tcp_delack_ms = 40;
	cfg->tcp_challenge_ack_limit = 1000;
	cfg->tcp_sndbuf = 256 * 1024;
	cfg->tcp_rcvbuf = 256 * 1024;
	cfg->tcp_syncookies = 1;
	cfg->tcp_cc = TCP_CC_ALGO_CUBIC;
	cfg->tcp_mem_max_bytes = 256u << 20;
}

int stack_config_check(const struct stack_config *cfg, const char **why)
{
	uint32_t a = addr_to_host(cfg->addr);

	*why = NULL;
	if (cfg->prefix_len < 1 || cfg->prefix_len > 32)
		*why = "prefix length must be 1..32";
	else if (addr_is_any(cfg->addr) || addr_is_multicast(cfg->addr) ||
		 addr_is_limited_broadcast(cfg->addr) || (a >> 24) == 127)
		*why = "address must be a unicast host address";
	else if (cfg->prefix_len <= 30 && ((a & ~addr_prefix_mask(cfg->prefix_len)) == 0 ||
					   (a | addr_prefix_mask(cfg->prefix_len)) == 0xffffffffu))
		*why = "address is the network or broadcast address of its prefix";
	else if (!addr_is_any(cfg->gateway) &&
		 (addr_to_host(cfg->gateway) & addr_prefix_mask(cfg->prefix_len)) !=
			 (a & addr_prefix_mask(cfg->prefix_len)))
		*why = "gateway must be on the local prefix";
	else if (addr_eq(cfg->gateway, cfg->addr))
		*why = "gateway must not be our own address";
	else if (cfg->default_ttl == 0)
		*why = "TTL must be 1..255";
	else if (cfg->reasm_max_bytes < STACK_REASM_BYTES_MIN ||
		 cfg->reasm_max_bytes > STACK_REASM_BYTES_MAX)
		*why = "reassembly memory must be 2048 bytes..64 MiB";
	else if (cfg->reasm_max_fragments < STACK_REASM_FRAGMENTS_MIN ||
		 cfg->reasm_max_fragments > STACK_REASM_FRAGMENTS_MAX)
		*why = "fragments per datagram must be 2..8192";
	else if (cfg->reasm_timeout_ms < STACK_REASM_TIMEOUT_S_MIN * 1000u ||
		 cfg->reasm_timeout_ms > STACK_REASM_TIMEOUT_S_MAX * 1000u)
		*why = "reassembly timeout must be 1..120 s";
	else if (cfg->reasm_max_datagrams > STACK_REASM_DATAGRAMS_MAX)
		*why = "reassembly datagrams must be 1..65536 (0: from the memory bound)";
	else if (cfg->arp_cache_size < 1 || cfg->arp_cache_size > 65536)
		*why = "ARP cache size must be 1..65536";
	else if (cfg->arp_retries < 1 || cfg->arp_retry_ms < 1)
		*why = "ARP needs at least one try and a retry interval";
	else if (cfg->arp_queue_entry_bytes > cfg->arp_queue_max_bytes)
		*why = "ARP per-host queue larger than the whole queue";
	else if (cfg->icmp_burst < 1 || cfg->icmp_rate_per_s < 1)
		*why = "ICMP rate limit needs a rate and a burst of at least 1";
	return *why ? -EINVAL : 0;
}

int stack_new(const struct stack_config *cfg, struct netif *nif, stack_random_fn random,
	      void *random_ctx, uint64_t now_ns, struct stack **out)
{
	struct stack *st;
	const char *why;
	uint8_t seed[32];
	int r;

	if (stack_config_check(cfg, &why) < 0 || !nif || !random)
		return -EINVAL;
	/* RFC 791: every host must accept 576-byte datagrams; 68 is the minimum MTU. */
	if (netif_mtu(nif) < STACK_MTU_MIN || netif_mtu(nif) > STACK_MTU_MAX)
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->cfg = *cfg;
	st->nif = nif;
	st->now_ns = now_ns;
	st->random = random;
	st->random_ctx = random_ctx;
	random(seed, sizeof(seed), random_ctx);
	rng_seed(&st->rng, seed);

	eth_init(&st->eth, st, nif);
	r = arp_init(&st->arp, st);
	if (r < 0)
		goto err_arp;
	r = ipv4_init(&st->ip, st);
	if (r < 0)
		goto err_ip;
	r = icmp_init(&st->icmp, st);
	if (r < 0)
		goto err_icmp;
	r = udp_init(&st->udp, st);
	if (r < 0)
		goto err_udp;
	r = tcp_init(st);
	if (r < 0)
		goto err_tcp;
	*out = st;
	return 0;

err_tcp:
err_udp:
	udp_fini(&st->udp);
	icmp_fini(&st->icmp);
err_icmp:
	ipv4_fini(&st->ip);
err_ip:
	arp_fini(&st->arp);
err_arp:
	free(st);
	return r;
}

void stack_free(struct stack *st)
{
	if (!st)
		return;
	tcp_fini(st);
	udp_fini(&st->udp);
	icmp_fini(&st->icmp);
	ipv4_fini(&st->ip);
	arp_fini(&st->arp);
	free(st);
}

/* Time never goes backwards inside the stack, whatever the driver passes. */
static void stack_set_time(struct stack *st, uint64_t now_ns)
{
	if (now_ns > st->now_ns)
		st->now_ns = now_ns;
}

int stack_up(struct stack *st, uint64_t now_ns)
{
	stack_set_time(st, now_ns);
	return arp_announce(&st->arp);
}

void stack_input(struct stack *st, struct netif *nif, const uint8_t *frame, size_t len,
		 uint64_t now_ns)
{
	stack_input_flags(st, nif, frame, len, now_ns, 0);
}

void stack_input_flags(struct stack *st, struct netif *nif, const uint8_t *frame, size_t len,
		       uint64_t now_ns, unsigned flags)
{
	(void)nif; /* one interface per stack; the parameter keeps the MirageOS shape */
	stack_set_time(st, now_ns);
	st->rx_flags = flags; /* for this frame only */
	eth_input(&st->eth, frame, len);
	st->rx_flags = 0;
}

void stack_input_batch_begin(struct stack *st)
{
	tcp_batch_begin(st);
}

void stack_input_batch_end(struct stack *st, uint64_t now_ns)
{
	stack_set_time(st, now_ns);
	tcp_batch_end(st);
}

void stack_poll(struct stack *st, uint64_t now_ns)
{
	stack_set_time(st, now_ns);
	arp_poll(&st->arp, st->now_ns);
	ipv4_poll(&st->ip, st->now_ns);
	tcp_poll(st, st->now_ns);
}

uint64_t stack_next_deadline(const struct stack *st)
{
	uint64_t next = arp_next_deadline(&st->arp);
	uint64_t d = ipv4_next_deadline(&st->ip);

	if (d < next)
		next = d;
	d = tcp_next_deadline(st);
	return d < next ? d : next;
}

const struct stats *stack_stats(const struct stack *st)
{
	return &st->stats;
}

const struct stack_config *stack_config(const struct stack *st)
{
	return &st->cfg;
}

struct arp *stack_arp(struct stack *st)
{
	return &st->arp;
}
