/* The Internet checksum (RFC 1071) with incremental update (RFC 1624).
 *
 * A running sum is a struct csum so that data can be fed in pieces of any length, odd ones
 * included (after an odd total the next piece starts on the low-order byte of a 16-bit
 * word, as it would in one contiguous buffer). */
#ifndef USTACK_WIRE_CSUM_H
#define USTACK_WIRE_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../addr.h"

struct csum {
	uint64_t sum;
	bool odd; /* an odd number of bytes has been fed so far */
};

#define CSUM_INIT ((struct csum){ 0, false })

void csum_feed(struct csum *c, const void *data, size_t len);
void csum_feed_iov(struct csum *c, const struct iovec *iov, int n);
/* The IPv4 pseudo-header of TCP and UDP (RFC 768, RFC 9293 §3.1); len (the TCP or UDP
 * length: header plus data) in host order. */
void csum_feed_pseudo(struct csum *c, struct in_addr src, struct in_addr dst, uint8_t proto,
		      uint16_t len);
/* The one's complement of the folded sum, in network byte order, ready to store. */
uint16_t csum_finish(const struct csum *c);
/* Checksum of one buffer, ready to store (network byte order). */
uint16_t csum_buf(const void *data, size_t len);
/* RFC 1624 eqn. 3: the checksum after a 16-bit field changes from old to new. All three
 * values in network byte order. */
uint16_t csum_update16(uint16_t csum, uint16_t old_val, uint16_t new_val);

#endif
