/* ARP packet for Ethernet and IPv4 (RFC 826 "Packet format"). */
#include "arp.h"

#include <errno.h>
#include <string.h>

#include "be.h"
#include "eth.h"

/* Field offsets for hardware length 6 and protocol length 4: the only layout this parser
 * accepts, so they are fixed. */
enum {
	ARP_OFF_HTYPE = 0,
	ARP_OFF_PTYPE = 2,
	ARP_OFF_HLEN = 4,
	ARP_OFF_PLEN = 5,
	ARP_OFF_OP = 6,
	ARP_OFF_SHA = 8,
	ARP_OFF_SPA = 14,
	ARP_OFF_THA = 18,
	ARP_OFF_TPA = 24,
};

#define ARP_PLEN_IPV4 4

int arp_pkt_parse(const uint8_t *buf, size_t len, struct arp_pkt *p)
{
	if (len < ARP_PKT_LEN)
		return -EMSGSIZE;
	/* RFC 826 "Packet Reception": ?Do I have the hardware type in ar$hrd? ?Do I speak
	 * the protocol in ar$pro? — and the lengths must match, or the addresses are not
	 * where we read them. */
	if (be16_load(buf + ARP_OFF_HTYPE) != ARP_HTYPE_ETHER ||
	    be16_load(buf + ARP_OFF_PTYPE) != ETH_TYPE_IPV4 || buf[ARP_OFF_HLEN] != MAC_LEN ||
	    buf[ARP_OFF_PLEN] != ARP_PLEN_IPV4)
		return -EPROTONOSUPPORT;
	/* The opcode is not checked here: unknown ones are the state layer's to count. */
	p->op = be16_load(buf + ARP_OFF_OP);
	memcpy(p->sha.b, buf + ARP_OFF_SHA, MAC_LEN);
	memcpy(&p->spa.s_addr, buf + ARP_OFF_SPA, 4); /* in_addr stays in network order */
	memcpy(p->tha.b, buf + ARP_OFF_THA, MAC_LEN);
	memcpy(&p->tpa.s_addr, buf + ARP_OFF_TPA, 4);
	return 0;
}

void arp_pkt_emit(const struct arp_pkt *p, uint8_t *buf)
{
	be16_store(buf + ARP_OFF_HTYPE, ARP_HTYPE_ETHER);
	be16_store(buf + ARP_OFF_PTYPE, ETH_TYPE_IPV4);
	buf[ARP_OFF_HLEN] = MAC_LEN;
	buf[ARP_OFF_PLEN] = ARP_PLEN_IPV4;
	be16_store(buf + ARP_OFF_OP, p->op);
	memcpy(buf + ARP_OFF_SHA, p->sha.b, MAC_LEN);
	memcpy(buf + ARP_OFF_SPA, &p->spa.s_addr, 4);
	memcpy(buf + ARP_OFF_THA, p->tha.b, MAC_LEN);
	memcpy(buf + ARP_OFF_TPA, &p->tpa.s_addr, 4);
}
