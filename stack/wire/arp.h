/* ARP packet for Ethernet and IPv4 (RFC 826). */
#ifndef USTACK_WIRE_ARP_H
#define USTACK_WIRE_ARP_H

#include <stddef.h>
#include <stdint.h>

#include "../addr.h"

#define ARP_PKT_LEN 28
#define ARP_HTYPE_ETHER 1
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

struct arp_pkt {
	uint16_t op; /* host order */
	struct mac sha;
	struct in_addr spa;
	struct mac tha;
	struct in_addr tpa;
};

/* 0; -EMSGSIZE when shorter than ARP_PKT_LEN; -EPROTONOSUPPORT when the hardware or
 * protocol type or address lengths are not Ethernet/IPv4. Trailing padding is ignored. */
int arp_pkt_parse(const uint8_t *buf, size_t len, struct arp_pkt *p);
/* Writes ARP_PKT_LEN bytes. */
void arp_pkt_emit(const struct arp_pkt *p, uint8_t *buf);

#endif
