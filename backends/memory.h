/* An in-memory netif pair for unit tests: what one port writes is queued for the other.
 * Seeded fault injection on each direction (drop, duplicate, reorder, corrupt, truncate)
 * lets tests run two stacks over a bad link deterministically. With TSO turned on
 * (memnet_set_gso_max) a port cuts super-segments as a TAP's kernel does, so tests see the
 * wire segments. No I/O, no clock. */
#ifndef USTACK_BACKENDS_MEMORY_H
#define USTACK_BACKENDS_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/netif.h"
#include "stack/rand.h"

struct stack;

/* Probabilities in parts per million, applied to each frame written on a port. */
struct memnet_faults {
	uint32_t drop_ppm;
	uint32_t dup_ppm;
	uint32_t reorder_ppm;  /* the frame overtakes the one queued before it */
	uint32_t corrupt_ppm;  /* one random bit flipped past the Ethernet header */
	uint32_t truncate_ppm; /* cut at a random length */
};

struct memnet_frame {
	struct memnet_frame *next;
	size_t len;
	uint8_t data[];
};

struct memnet_port_stats {
	uint64_t written, dropped, duplicated, reordered, corrupted, truncated, refused;
	/* TSO: super-segments cut into the written frames above, and those refused (not a
	 * TCP/IPv4 datagram, or a segment over the MTU) */
	uint64_t gso_writes, gso_refused;
};

struct memnet_port {
	struct netif nif;
	struct memnet_port *peer;
	struct memnet_faults faults; /* applied to frames this port writes */
	struct rng rng;
	/* frames written by the peer, waiting to be received here, oldest first */
	struct memnet_frame *head, *tail;
	size_t queued;
	size_t queue_limit; /* frames; a write to a full queue is -ENOBUFS */
	struct memnet_port_stats stats;
	/* optional: sees every frame this port writes, after faults (a test's capture) */
	void (*on_write)(void *ctx, const uint8_t *frame, size_t len);
	void *on_write_ctx;
};

struct memnet_pair {
	struct memnet_port a, b;
};

#define MEMNET_DEFAULT_QUEUE_LIMIT 4096

void memnet_pair_init(struct memnet_pair *p, unsigned mtu, struct mac mac_a, struct mac mac_b,
		      uint64_t seed);
void memnet_pair_fini(struct memnet_pair *p);
void memnet_set_faults(struct memnet_port *port, const struct memnet_faults *f);
/* TSO on this port (netif.h): the largest IPv4 datagram one netif_write_gso takes, cut
 * as Linux's GSO cuts it; 0 (the default): no TSO. */
void memnet_set_gso_max(struct memnet_port *port, unsigned gso_max);
/* Takes the oldest frame waiting at port: returns its length (copied, at most cap bytes)
 * or 0 when none is waiting. */
size_t memnet_recv(struct memnet_port *port, uint8_t *buf, size_t cap);
/* Writes a raw frame from port to its peer, without faults (for hand-made test frames). */
int memnet_inject(struct memnet_port *port, const uint8_t *frame, size_t len);
/* Delivers waiting frames to stacks sa (on port a) and sb (on port b), NULL for a side
 * nobody receives on, until no frame is waiting or max_frames were delivered. Returns the
 * number delivered. */
size_t memnet_pump(struct memnet_pair *p, struct stack *sa, struct stack *sb, uint64_t now_ns,
		   size_t max_frames);

#endif
