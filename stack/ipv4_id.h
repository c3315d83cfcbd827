/* IPv4 Identification values (RFC 791 §3.2; RFC 6864; RFC 7739 §5).
 *
 * One counter for every destination leaks how much we send to anyone (an idle scan) and
 * lets an off-path attacker guess the ID of our next datagram to a victim, the first step
 * of a fragment injection. As Linux (ip_idents_reserve), a keyed hash of (src, dst,
 * proto) picks one of IPV4_ID_BUCKETS counters, each starting at a random value, so
 * destinations in different buckets have unrelated sequences and a destination's IDs
 * cannot be predicted from another's without the key. A bucket idle for t ms jumps ahead
 * by a random amount below t, so that even a destination sharing a bucket cannot count
 * exactly what was sent to the others in between. Within a burst (no time passing) a
 * destination's IDs are consecutive, which keeps them unique for the reassembly lifetime
 * (RFC 6864 §4.2) as long as fewer than 65,536 datagrams go to it in that time; an idle
 * jump of k needs k ms without traffic to the bucket, longer than any reassembly timeout
 * before it can wrap onto a recent ID.
 *
 * Atomic datagrams (DF set, never fragmented: RFC 6864 §4.1) carry ID 0, as Linux sends
 * them when no connected socket is involved: their ID serves no purpose, and a constant
 * reveals nothing. */
#ifndef USTACK_IPV4_ID_H
#define USTACK_IPV4_ID_H

#include <stdint.h>

#include "addr.h"
#include "rand.h"
#include "siphash.h"

#define IPV4_ID_BUCKETS 2048u /* a power of two; Linux has at least 2048 */

struct ipv4_id {
	uint8_t key[SIPHASH_KEY_LEN];
	uint16_t next[IPV4_ID_BUCKETS];	    /* the bucket's next ID */
	uint32_t stamp_ms[IPV4_ID_BUCKETS]; /* its last use, in ms (wrapping) */
};

/* Draws the key and the counters' starting points from random. */
void ipv4_id_init(struct ipv4_id *t, stack_random_fn random, void *random_ctx);
/* The ID for a datagram that may be fragmented, from src to dst with proto, sent at
 * now_ns; rng draws the idle jump. */
uint16_t ipv4_id_next(struct ipv4_id *t, struct in_addr src, struct in_addr dst, uint8_t proto,
		      uint64_t now_ns, struct rng *rng);

#endif
