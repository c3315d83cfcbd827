/* The stack as the daemon (or a test) drives it.
 *
 * The stack does no I/O and never reads a clock: every entry point takes the time in
 * nanoseconds of a monotonic clock. The driver feeds received frames to stack_input(),
 * calls stack_poll() when stack_next_deadline() is reached, and gives the stack a netif for
 * output and a source of randomness. Nothing here logs; everything is counted. */
#ifndef USTACK_STACK_H
#define USTACK_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "arp.h"
#include "icmp.h"
#include "ipv4.h"
#include "netif.h"
#include "rand.h"
#include "stats.h"
#include "udp.h"

#define STACK_NO_DEADLINE UINT64_MAX

struct stack_config {
	struct in_addr addr;
	unsigned prefix_len;
	struct in_addr gateway; /* INADDR_ANY: none, off-link destinations unreachable */
	uint8_t default_ttl;

	/* IPv4 reassembly, design.md §2 */
	size_t reasm_max_bytes;	      /* memory, bookkeeping included (ipv4_reass.h) */
	unsigned reasm_max_fragments;
	uint32_t reasm_timeout_ms;
	unsigned reasm_max_datagrams; /* 0: one per KiB of reasm_max_bytes (16..65536) */

	/* ARP */
	unsigned arp_cache_size;
	unsigned arp_retries;	      /* requests per resolution */
	uint32_t arp_retry_ms;	      /* between them */
	uint32_t arp_reachable_ms;    /* a confirmed entry is used without refresh this long */
	uint32_t arp_expire_ms;	      /* an unconfirmed entry is removed after this */
	uint32_t arp_failed_ms;	      /* writers get -EHOSTUNREACH this long after a failure */
	size_t arp_queue_max_bytes;   /* all packets awaiting resolution */
	size_t arp_queue_entry_bytes; /* those for one host */

	/* ICMP error rate limit: a token bucket */
	unsigned icmp_rate_per_s;
	unsigned icmp_burst;

	/* TCP (tcp.h). A zero in any of these means the default shown. */
	uint32_t tcp_keepalive_idle_s;	   /* 7200, design.md §2 (Linux) */
	uint32_t tcp_keepalive_interval_s; /* 75 */
	uint32_t tcp_keepalive_count;	   /* 9 */
	uint32_t tcp_rto_initial_ms;	   /* 1000, RFC 6298 §2.1 */
	uint32_t tcp_rto_min_ms;	   /* 200, Linux TCP_RTO_MIN (RFC 6298 says 1 s) */
	uint32_t tcp_rto_max_ms;	   /* 120000, Linux TCP_RTO_MAX */
	uint32_t tcp_time_wait_ms;	   /* 60000: 2MSL as Linux's TCP_TIMEWAIT_LEN */
	unsigned tcp_max_time_wait;	   /* 16384 TIME-WAIT connections, then none */
	unsigned tcp_syn_backlog;	   /* 256 half-open connections per listener */
	unsigned tcp_max_backlog;	   /* 4096: cap on tcp_listen()'s backlog */
	unsigned tcp_syn_retries;	   /* 6 SYN retransmissions (Linux) */
	unsigned tcp_synack_retries;	   /* 5 */
	unsigned tcp_retries2;		   /* 15 data retransmissions before ETIMEDOUT */
	uint32_t tcp_fin_timeout_ms;	   /* 60000: orphaned FIN-WAIT-2 lifetime */
	uint32_t tcp_delack_ms;		   /* 40 */
	unsigned tcp_challenge_ack_limit;  /* 1000: RFC 5961 §7 challenge ACKs per second, on
					    * average (random in [n/2, n*3/2), as Linux) */
	size_t tcp_sndbuf;		   /* 262144 bytes per socket */
	size_t tcp_rcvbuf;		   /* 262144 */
	unsigned tcp_syncookies;	   /* 1: when the SYN queue is full; 2: never */
	unsigned tcp_cc;		   /* enum tcp_cc_algo (tcp.h): 0 CUBIC, 1 NewReno */
	unsigned tcp_max_orphans;	   /* 4096 connections closed by the user and still
					    * finishing (FIN-WAIT, CLOSING, LAST-ACK) */
	size_t tcp_mem_max_bytes;	   /* 256 MiB queued in all TCP buffers; beyond it
					    * orphans holding data are reset (Linux tcp_mem) */
};

/* The defaults: design.md §2–§3 and Linux's where the design is silent. Address
 * 10.203.0.2/24, no gateway. */
void stack_config_defaults(struct stack_config *cfg);
/* Checks ranges; 0 or -EINVAL with *why set to a static message. */
int stack_config_check(const struct stack_config *cfg, const char **why);

struct stack;

/* Returns 0 and *out, or -EINVAL (bad config), -ENOMEM. Sends nothing. */
int stack_new(const struct stack_config *cfg, struct netif *nif, stack_random_fn random,
	      void *random_ctx, uint64_t now_ns, struct stack **out);
void stack_free(struct stack *st);
/* The link is up: announce our address (gratuitous ARP). */
int stack_up(struct stack *st, uint64_t now_ns);

/* One received frame, borrowed for the duration of the call. */
void stack_input(struct stack *st, struct netif *nif, const uint8_t *frame, size_t len,
		 uint64_t now_ns);
/* The device verified the frame's TCP/UDP checksum (a TAP's virtio-net header said
 * DATA_VALID, or the backend just completed it): not summed again. Applies to an
 * unfragmented datagram only; a reassembled one is always verified. */
#define STACK_RX_L4_CSUM_OK 0x1u
/* stack_input() with what the device knows about the frame (STACK_RX_* flags). */
void stack_input_flags(struct stack *st, struct netif *nif, const uint8_t *frame, size_t len,
		       uint64_t now_ns, unsigned flags);
/* A receive batch: the frames a driver took from its device at once, fed to
 * stack_input*() between these two calls, before the driver flushes the device. Inside
 * it, TCP defers the pure ACKs it would send at once to the end of the batch, one per
 * connection carrying the latest RCV.NXT and window (duplicate ACKs for out-of-order data
 * still go at once: stack/tcp_batch.c says why). stack_input() without a batch is a batch
 * of one. Timers (stack_poll) may run inside a batch; a begin inside a batch is a no-op,
 * and the end sends what was deferred. */
void stack_input_batch_begin(struct stack *st);
void stack_input_batch_end(struct stack *st, uint64_t now_ns);
/* Runs the timers due at now_ns, and first delivers the datagrams the stack sent to its
 * own address since the last call (the loopback queue, stack/ipv4_loopback.h); those that
 * this delivery sends wait for the next call. */
void stack_poll(struct stack *st, uint64_t now_ns);
/* When stack_poll() should run next (STACK_NO_DEADLINE: nothing pending): the latest time
 * passed in, i.e. at once, while datagrams to ourselves wait for delivery. */
uint64_t stack_next_deadline(const struct stack *st);

const struct stats *stack_stats(const struct stack *st);
const struct stack_config *stack_config(const struct stack *st);
struct arp *stack_arp(struct stack *st);

#endif
