/* IPv4 reassembly (RFC 791 §3.2, RFC 815), with the limits of design.md §2:
 *  - one fragment cache shared by all datagrams, least recently used evicted first, at most
 *    max_bytes (256 KiB) of memory in total: each fragment is charged its payload plus its
 *    bookkeeping, each datagram its own record, as the allocator really spends them (Linux's
 *    truesize), so the bound is on heap memory and a fortiori on payload;
 *  - at most max_dgrams datagrams (by default one per KiB of max_bytes, 256), which also
 *    sizes the lookup table so that every lookup stays O(1);
 *  - at most max_frags (16) fragments per datagram;
 *  - a datagram not complete timeout (10 s) after its first fragment is dropped by the timer;
 *  - any overlap drops the whole datagram (RFC 5722 spirit, also the defence against
 *    overlapping-fragment attacks); an exact duplicate of a held fragment is ignored;
 *  - keyed by (src, dst, proto, id).
 * A datagram dropped for a fault of its own (overlap, too many fragments, conflicting
 * ends) leaves its key behind until its deadline, so that the rest of its fragments are
 * dropped on arrival (IpReasmFailedFrags) and it counts as one failure, not one per
 * restart (nor again when the key is evicted); the key costs its record against max_bytes
 * and a place against max_dgrams.
 * Pure: it counts into `stats` and never sends; the expiry callback lets the IPv4 layer send
 * ICMP 11/1 when the first fragment had arrived. */
#ifndef USTACK_IPV4_REASS_H
#define USTACK_IPV4_REASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "siphash.h"
#include "stack_limits.h"
#include "stats.h"
#include "wire/ipv4.h"

#define IPV4_REASS_DEFAULT_MAX_BYTES (256u * 1024)
#define IPV4_REASS_DEFAULT_MAX_FRAGS 16u
#define IPV4_REASS_DEFAULT_TIMEOUT_MS 10000u
/* max_dgrams when not configured: max_bytes / this, within [16, IPV4_REASS_MAX_DGRAMS].
 * A full-sized fragment costs about 1.5 KiB, so real traffic meets the byte bound first;
 * a flood of tiny fragments (a datagram record and a fragment each, ~300 bytes) meets
 * this one. */
#define IPV4_REASS_BYTES_PER_DGRAM 1024u
#define IPV4_REASS_MAX_DGRAMS ((unsigned)STACK_REASM_DATAGRAMS_MAX)
/* The range of max_bytes (stack_limits.h, shared with the daemon's parser). */
#define IPV4_REASS_MIN_BYTES ((unsigned)STACK_REASM_BYTES_MIN)
#define IPV4_REASS_MAX_BYTES ((unsigned)STACK_REASM_BYTES_MAX)

struct ipv4_reass_config {
	size_t max_bytes;    /* memory charged, see ipv4_reass_*_truesize() */
	unsigned max_dgrams; /* datagrams held, failed ones included */
	unsigned max_frags;
	uint32_t timeout_ms;
	/* Secret key of the lookup hash, from the stack's RNG: senders choose the keys
	 * (spoofed sources, ids), so an unkeyed hash could be flooded into one chain. */
	uint8_t hash_key[SIPHASH_KEY_LEN];
};

struct ipv4_reass_dgram;

struct ipv4_reass {
	struct ipv4_reass_config cfg;
	struct stats *stats;
	struct ipv4_reass_dgram *lru_head, *lru_tail; /* most recently used first */
	struct ipv4_reass_dgram *age_head, *age_tail; /* oldest first fragment first */
	size_t bytes;				      /* memory charged */
	unsigned count;				      /* datagrams held */
	struct ipv4_reass_dgram **hash;		      /* by key; NULL: allocation failed */
	size_t hash_mask;			      /* buckets - 1 */
	uint64_t probes; /* datagrams compared by lookups: the per-fragment cost, for tests */
};

/* A reassembled datagram: a header (the first fragment's, with total length, flags, offset
 * and checksum rewritten) followed by the payload, in one buffer owned by the caller. */
struct ipv4_reass_out {
	uint8_t *buf; /* free() when done */
	size_t hdr_len;
	size_t len; /* header + payload */
	struct ipv4_hdr h;
};

/* The first fragment (offset 0) of an expired datagram: its header and up to 8 payload
 * bytes, which is what ICMP 11/1 quotes (RFC 792). */
typedef void (*ipv4_reass_expire_fn)(void *ctx, const struct ipv4_hdr *h, const uint8_t *hdr,
				     const uint8_t *data, size_t len);

/* A zero in cfg (or a NULL cfg) means the default; the table for lookups has one bucket
 * per datagram allowed (a power of two), its memory apart from max_bytes. */
void ipv4_reass_init(struct ipv4_reass *r, const struct ipv4_reass_config *cfg,
		     struct stats *stats);
void ipv4_reass_fini(struct ipv4_reass *r);
/* One fragment (h parsed from hdr; payload of h->total_len - h->hdr_len bytes).
 * Returns 1 and fills *out when the datagram is complete, 0 when the fragment is held (or
 * ignored as a duplicate), a negative errno when it or its datagram was dropped:
 * -EINVAL (bad fragment length/offset), -EEXIST (overlap), -E2BIG (too many fragments or
 * over 65535 bytes), -ECANCELED (its datagram already failed), -ENOMEM. */
int ipv4_reass_input(struct ipv4_reass *r, const struct ipv4_hdr *h, const uint8_t *hdr,
		     const uint8_t *payload, uint64_t now_ns, struct ipv4_reass_out *out);
void ipv4_reass_poll(struct ipv4_reass *r, uint64_t now_ns, ipv4_reass_expire_fn expire,
		     void *ctx);
uint64_t ipv4_reass_next_deadline(const struct ipv4_reass *r);

/* What the cache charges against max_bytes for a datagram's record, and for a fragment of
 * len payload bytes (its node and copy of the payload). */
size_t ipv4_reass_dgram_truesize(void);
size_t ipv4_reass_frag_truesize(size_t len);

#endif
