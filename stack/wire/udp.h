/* UDP header (RFC 768). */
#ifndef USTACK_WIRE_UDP_H
#define USTACK_WIRE_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "../addr.h"
#include "csum.h"

#define UDP_HDR_LEN 8

struct udp_hdr {
	uint16_t sport; /* host order */
	uint16_t dport;
	uint16_t len; /* header + data, as in the header */
	uint16_t csum; /* as on the wire; 0: none transmitted */
};

/* Parses the datagram of len bytes (the IP payload). 0; -EMSGSIZE when len < 8 or the UDP
 * length is < 8 or > len; -EBADMSG when a non-zero checksum is wrong (pseudo-header from
 * src/dst). Bytes past the UDP length are ignored. */
int udp_hdr_parse(const uint8_t *buf, size_t len, struct in_addr src, struct in_addr dst,
		  struct udp_hdr *h);
/* udp_hdr_parse() that skips the checksum when !verify_csum (the device verified it). */
int udp_hdr_parse_verify(const uint8_t *buf, size_t len, struct in_addr src,
			 struct in_addr dst, bool verify_csum, struct udp_hdr *h);
/* Writes the header with csum as given in h (compute it with csum.h and the pseudo-header;
 * a computed 0 is sent as 0xffff, RFC 768). */
void udp_hdr_emit(const struct udp_hdr *h, uint8_t *buf);
/* The checksum to transmit, from a sum over pseudo-header, header (checksum field zero)
 * and data: csum_finish() with a computed 0 turned into 0xffff (RFC 768). Network order,
 * ready for udp_hdr.csum. */
uint16_t udp_csum_finish(const struct csum *c);

#endif
