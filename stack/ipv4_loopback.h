/* The loopback path: datagrams the stack sends to its own unicast address.
 *
 * Linux delivers them through `lo` (the local route of each of its addresses); here they
 * never reach ARP, Ethernet or the device. ipv4_write() hands the finished datagram (every
 * checksum complete, no device offload) to ipv4_loopback_output(), which copies it into a
 * bounded FIFO. Delivery is not recursive: the sender may be inside TCP input or a timer,
 * and re-entering TCP there would break its state. The driver delivers the queue later:
 * stack_next_deadline() says "now" while it holds datagrams, and stack_poll() drains it
 * into ipv4_input() (ipv4_loopback_drain), as a device's receive path would. */
#ifndef USTACK_IPV4_LOOPBACK_H
#define USTACK_IPV4_LOOPBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

/* The largest datagram the loopback path carries whole: Linux's lo has an MTU of 64 KiB, so
 * a datagram to ourselves is never fragmented. */
#define IPV4_LOOPBACK_MTU 65535

struct ipv4_loopback_pkt;

/* Bytes are charged as the memory really held: the datagram and its bookkeeping. */
struct ipv4_loopback {
	struct ipv4_loopback_pkt *head, *tail; /* oldest first */
	size_t bytes;
	unsigned pkts;
	size_t max_bytes;
	unsigned max_pkts;
	struct stats *stats;
};

typedef size_t (*ipv4_loopback_fill_fn)(uint8_t *buf, size_t len, void *ctx);
/* Receives one datagram, borrowed for the call only. */
typedef void (*ipv4_loopback_input_fn)(void *ctx, const uint8_t *pkt, size_t len);

void ipv4_loopback_init(struct ipv4_loopback *lo, size_t max_bytes, unsigned max_pkts,
			struct stats *stats);
/* Frees what is still queued, delivering nothing. */
void ipv4_loopback_fini(struct ipv4_loopback *lo);

/* Queues one datagram of at most `size` bytes that `fill` writes (from its IPv4 header on)
 * and whose length it returns. 0, or -ENOBUFS (queue full: IpOutDiscards and
 * IpLoopbackDrops) or -ENOMEM (IpOutDiscards). */
int ipv4_loopback_output(struct ipv4_loopback *lo, size_t size, ipv4_loopback_fill_fn fill,
			 void *ctx);

static inline bool ipv4_loopback_pending(const struct ipv4_loopback *lo)
{
	return lo->head != NULL;
}

/* Delivers the datagrams queued when called, oldest first, to `input`; those that their
 * delivery queues (a TCP ACK, an echo reply) wait for the next call, so that two sockets
 * talking to each other cannot keep the driver here. */
void ipv4_loopback_drain(struct ipv4_loopback *lo, ipv4_loopback_input_fn input, void *ctx);

#endif
