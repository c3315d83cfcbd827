/* UDP header (RFC 768). */
#include "udp.h"

#include <errno.h>
#include <string.h>

#include "be.h"
#include "csum.h"
#include "ipv4.h"

enum { UDP_OFF_SPORT = 0, UDP_OFF_DPORT = 2, UDP_OFF_LEN = 4, UDP_OFF_CSUM = 6 };

int udp_hdr_parse(const uint8_t *buf, size_t len, struct in_addr src, struct in_addr dst,
		  struct udp_hdr *h)
{
	return udp_hdr_parse_verify(buf, len, src, dst, true, h);
}

int udp_hdr_parse_verify(const uint8_t *buf, size_t len, struct in_addr src,
			 struct in_addr dst, bool verify_csum, struct udp_hdr *h)
{
	uint16_t ulen, wire_csum;

	if (len < UDP_HDR_LEN)
		return -EMSGSIZE;
	/* RFC 768 "Length": header plus data, so at least 8; RFC 1122 §4.1.3.4 has it
	 * checked against what IP delivered. A shorter IP payload is a truncated datagram;
	 * a longer one carries padding that is not part of it. */
	ulen = be16_load(buf + UDP_OFF_LEN);
	if (ulen < UDP_HDR_LEN || ulen > len)
		return -EMSGSIZE;
	memcpy(&wire_csum, buf + UDP_OFF_CSUM, 2);
	/* RFC 768 "Checksum": an all-zero transmitted checksum means the sender computed
	 * none. Otherwise pseudo-header plus datagram must sum to 0xffff; a computed 0 is
	 * sent as 0xffff, which verifies the same way (both are zero in one's complement). */
	if (wire_csum != 0 && verify_csum) {
		struct csum c = CSUM_INIT;

		csum_feed_pseudo(&c, src, dst, IPV4_PROTO_UDP, ulen);
		csum_feed(&c, buf, ulen);
		if (csum_finish(&c) != 0)
			return -EBADMSG;
	}
	h->sport = be16_load(buf + UDP_OFF_SPORT);
	h->dport = be16_load(buf + UDP_OFF_DPORT);
	h->len = ulen;
	h->csum = wire_csum;
	return 0;
}

void udp_hdr_emit(const struct udp_hdr *h, uint8_t *buf)
{
	be16_store(buf + UDP_OFF_SPORT, h->sport);
	be16_store(buf + UDP_OFF_DPORT, h->dport);
	be16_store(buf + UDP_OFF_LEN, h->len);
	memcpy(buf + UDP_OFF_CSUM, &h->csum, 2);
}

uint16_t udp_csum_finish(const struct csum *c)
{
	uint16_t s = csum_finish(c);

	/* RFC 768: "If the computed checksum is zero, it is transmitted as all ones";
	 * a zero on the wire would mean "no checksum". */
	return s == 0 ? 0xffff : s;
}
