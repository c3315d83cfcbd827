/* The IPv4 header quoted inside an ICMP error (RFC 792: the header plus at least the first
 * 64 bits of data; RFC 1812 §4.3.2.3 allows more). */
#ifndef USTACK_WIRE_IPV4_QUOTE_H
#define USTACK_WIRE_IPV4_QUOTE_H

#include <stddef.h>
#include <stdint.h>

#include "ipv4.h"

/* Parses a quoted header: the quote is truncated, so the total length is not checked
 * against len and the checksum is not verified (a router may have changed the TTL without
 * us seeing the right sum). Requires version 4, IHL >= 5 and len >= IHL*4 + 8.
 * Returns 0, -EMSGSIZE or -EINVAL. */
int ipv4_hdr_parse_quoted(const uint8_t *buf, size_t len, struct ipv4_hdr *h);

/* The ICMP header of a quoted datagram (e.g. our echo request in a time exceeded): the
 * data is truncated, so the checksum cannot be verified. 0 or -EMSGSIZE. */
struct icmp_hdr;
int icmp_hdr_parse_quoted(const uint8_t *buf, size_t len, struct icmp_hdr *h);

#endif
