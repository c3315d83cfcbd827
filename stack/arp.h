/* ARP (RFC 826) with a bounded LRU cache, ageing, retried requests, a bounded queue of
 * packets awaiting resolution, static entries and gratuitous announcements. */
#ifndef USTACK_ARP_H
#define USTACK_ARP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "eth.h"

struct stack;

enum arp_state {
	ARP_STATE_FREE = 0,
	ARP_STATE_INCOMPLETE, /* request sent, no answer yet; packets queue here */
	ARP_STATE_REACHABLE,  /* confirmed within reachable_ms */
	ARP_STATE_STALE,      /* older: still used, refreshed by a request on use */
	ARP_STATE_FAILED,     /* no answer after all retries; writers get -EHOSTUNREACH */
	ARP_STATE_STATIC,     /* configured; never ages, never overwritten by the network */
};

struct arp_qpkt;

struct arp_entry {
	struct in_addr ip;
	struct mac mac;
	enum arp_state state;
	uint8_t tries;		/* requests sent in the current resolution */
	bool refreshing;	/* STALE: a refresh request is out */
	uint64_t confirmed_ns;	/* last reply or request from this host */
	uint64_t used_ns;	/* last lookup, for LRU eviction */
	uint64_t timer_ns;	/* next retry (INCOMPLETE), end of FAILED, or 0 */
	struct arp_qpkt *queue; /* packets waiting for the MAC, oldest first */
	size_t queued_bytes;
	uint64_t deadline_ns; /* when arp_poll() must look at it (UINT64_MAX: never) */
	unsigned timer_pos;   /* its place in arp->timers, plus 1; 0: not there */
};

struct arp {
	struct stack *st;
	struct arp_entry *tab;
	unsigned cap;
	size_t queued_bytes; /* over all entries */
	/* Entries with a deadline (indices into tab), a binary min-heap on deadline_ns: the
	 * next deadline is the root, O(1) (stack_next_deadline() runs after every event),
	 * and arp_poll() visits only the entries that are due. */
	unsigned *timers;
	unsigned ntimers;
};

/* A snapshot of one entry, for `ustackctl arp`. */
struct arp_entry_info {
	struct in_addr ip;
	struct mac mac;
	enum arp_state state;
	uint64_t age_ms; /* since last confirmation */
};

int arp_init(struct arp *arp, struct stack *st);
void arp_fini(struct arp *arp);
void arp_input(struct arp *arp, const uint8_t *pkt, size_t len);
/* Sends an Ethernet payload of at most `size` bytes to the host `nexthop` on the link.
 * Resolved: written now. Unresolved: the payload is copied into the entry's queue (bounded)
 * and a request goes out; the queue is sent when the reply comes, or dropped after the
 * last retry, each queued IPv4 packet then reported to ipv4_link_failure().
 * Returns 0 (sent or queued), -EHOSTUNREACH (resolution failed recently), -ENOBUFS (queue
 * full), -ENOMEM, or the device's errno. */
int arp_output(struct arp *arp, struct in_addr nexthop, uint16_t ethertype, size_t size,
	       eth_fill_fn fill, void *ctx);
/* Gratuitous ARP (a request for our own address, RFC 5227 §3) announcing our MAC. */
int arp_announce(struct arp *arp);
int arp_add_static(struct arp *arp, struct in_addr ip, struct mac mac);
int arp_remove(struct arp *arp, struct in_addr ip);
/* The MAC to send to nexthop now, with the entry used as arp_output() uses it (aged, a
 * stale one revalidated): 0, or -ENOENT when it is not resolved (arp_output() queues, this
 * does not). For a write that cannot be queued as it is (a TSO super-segment). */
int arp_resolved(struct arp *arp, struct in_addr nexthop, struct mac *mac);
/* Cached MAC of ip without sending anything: 0 or -ENOENT. */
int arp_lookup(const struct arp *arp, struct in_addr ip, struct mac *mac);
size_t arp_dump(const struct arp *arp, struct arp_entry_info *out, size_t max);
void arp_poll(struct arp *arp, uint64_t now_ns);
uint64_t arp_next_deadline(const struct arp *arp);
/* When arp_poll() must next look at e, from its state (UINT64_MAX: never); the timers
 * keep it in e->deadline_ns. */
uint64_t arp_entry_deadline(const struct arp *arp, const struct arp_entry *e);

const char *arp_state_name(enum arp_state s);

#endif
