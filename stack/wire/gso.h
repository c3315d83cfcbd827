/* TCP segmentation in software, exactly as a device with TSO (and Linux's GSO) cuts a
 * TCP/IPv4 super-segment (netif.h): the memory netif uses it to put on its wire what a
 * TAP's kernel would, and IPv4 output uses it when the device cannot (no TSO, or the
 * packet has to wait for ARP). Stateless, length-checked, no allocation.
 *
 * Each segment (Linux: inet_gso_segment, tcp_gso_segment) repeats the IPv4 and TCP headers
 * (options included) with: IPv4 total length of the segment, ID = first ID + i (mod 2^16),
 * header checksum recomputed; TCP sequence number advanced by i * gso_size, FIN and PSH
 * cleared on all but the last segment, CWR cleared on all but the first (RFC 3168 §6.1.2:
 * one CWR per window reduction). The super-segment's TCP checksum field holds the
 * pseudo-header part (gso_tcp4_partial_csum, netif.h); each segment's checksum is finished
 * from it as the kernel does (RFC 1624 for the length, then the sum over the segment), so
 * a wrong field shows as wrong checksums here exactly as on a real device. */
#ifndef USTACK_WIRE_GSO_H
#define USTACK_WIRE_GSO_H

#include <stddef.h>
#include <stdint.h>

#include "../addr.h"

struct gso_tcp4 {
	const uint8_t *pkt; /* the super-segment: IPv4 header, TCP header, data */
	size_t pkt_len;	    /* its IPv4 total length */
	size_t ip_hdr_len;  /* IHL * 4 */
	size_t hdr_len;	    /* IPv4 + TCP headers, the bytes repeated in every segment */
	size_t data_len;    /* TCP data after hdr_len */
	unsigned gso_size;  /* data bytes per segment */
	unsigned segs;	    /* wire segments: ceil(data_len / gso_size), at least 1 */
};

/* Checks pkt (len bytes, at least the IPv4 total length; Ethernet padding after it is
 * ignored) is a TCP/IPv4 datagram that is not a fragment, with whole headers. 0 or
 * -EINVAL (also for gso_size 0). */
int gso_tcp4_parse(struct gso_tcp4 *g, const uint8_t *pkt, size_t len, unsigned gso_size);
/* Writes wire segment i (< g->segs) as an IPv4 datagram to out, which has room for
 * g->hdr_len + g->gso_size bytes; returns its length. */
size_t gso_tcp4_segment(const struct gso_tcp4 *g, unsigned i, uint8_t *out);
/* The TCP checksum field of a super-segment whose checksum the device completes: the
 * pseudo-header sum for tcp_len bytes of TCP (header + data), folded, not complemented,
 * in network byte order. */
uint16_t gso_tcp4_partial_csum(struct in_addr src, struct in_addr dst, size_t tcp_len);

#endif
