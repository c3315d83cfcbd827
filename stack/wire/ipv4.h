/* IPv4 header (RFC 791 §3.1). */
#ifndef USTACK_WIRE_IPV4_H
#define USTACK_WIRE_IPV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../addr.h"

#define IPV4_HDR_LEN 20 /* without options */
#define IPV4_HDR_MAX 60
#define IPV4_MAX_LEN 65535
#define IPV4_FRAG_UNIT 8 /* fragment offsets count 8-byte units */

#define IPV4_PROTO_ICMP 1
#define IPV4_PROTO_TCP 6
#define IPV4_PROTO_UDP 17

struct ipv4_hdr {
	uint8_t hdr_len; /* bytes, IHL * 4 */
	uint8_t tos;
	uint16_t total_len;
	uint16_t id;
	bool df;
	bool mf;
	uint16_t frag_off; /* bytes (the field times 8) */
	uint8_t ttl;
	uint8_t proto;
	uint16_t csum; /* as on the wire (network order) */
	struct in_addr src;
	struct in_addr dst;
};

/* Parses and validates the header at buf (len bytes available, e.g. the Ethernet payload).
 * Returns 0 or:
 *   -EMSGSIZE        len < 20, len < IHL*4 or len < total length (truncated)
 *   -EPROTONOSUPPORT version is not 4
 *   -EINVAL          IHL < 5 or total length < IHL*4
 *   -EBADMSG         header checksum wrong (checked last, after the lengths)
 * Bytes past total_len (Ethernet padding) are not part of the datagram. */
int ipv4_hdr_parse(const uint8_t *buf, size_t len, struct ipv4_hdr *h);
/* Writes a 20-byte header (hdr_len is ignored: no options) with its checksum computed. */
void ipv4_hdr_emit(const struct ipv4_hdr *h, uint8_t *buf);

#endif
