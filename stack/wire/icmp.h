/* ICMPv4 header (RFC 792). The 4 bytes after the checksum depend on the type: identifier
 * and sequence for echo, next-hop MTU for 3/4 (RFC 1191), pointer for 12. */
#ifndef USTACK_WIRE_ICMP_H
#define USTACK_WIRE_ICMP_H

#include <stddef.h>
#include <stdint.h>

#define ICMP_HDR_LEN 8

#define ICMP_ECHO_REPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_SOURCE_QUENCH 4
#define ICMP_REDIRECT 5
#define ICMP_ECHO_REQUEST 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAM_PROBLEM 12

/* codes of ICMP_DEST_UNREACH */
#define ICMP_UNREACH_NET 0
#define ICMP_UNREACH_HOST 1
#define ICMP_UNREACH_PROTO 2
#define ICMP_UNREACH_PORT 3
#define ICMP_UNREACH_NEEDFRAG 4
/* codes of ICMP_TIME_EXCEEDED */
#define ICMP_TIMXCEED_TTL 0
#define ICMP_TIMXCEED_REASS 1

struct icmp_hdr {
	uint8_t type;
	uint8_t code;
	uint16_t csum;	    /* as on the wire */
	uint16_t id;	    /* echo: identifier, host order */
	uint16_t seq;	    /* echo: sequence number; 3/4: next-hop MTU; host order */
};

/* 0, -EMSGSIZE when len < 8, -EBADMSG when the checksum over all len bytes is wrong. */
int icmp_hdr_parse(const uint8_t *buf, size_t len, struct icmp_hdr *h);
/* Writes the 8-byte header with a zero checksum; the caller sums header and data and
 * stores the result at offset 2 (see icmp_csum_store()). */
void icmp_hdr_emit(const struct icmp_hdr *h, uint8_t *buf);
/* Stores a checksum (network order, from csum_finish()) at its offset in the header. */
void icmp_csum_store(uint8_t *buf, uint16_t csum);

#endif
