/* Ethernet II header (IEEE 802.3 clause 3.2.6 with an EtherType). */
#ifndef USTACK_WIRE_ETH_H
#define USTACK_WIRE_ETH_H

#include <stddef.h>
#include <stdint.h>

#include "../addr.h"

#define ETH_HDR_LEN 14
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP 0x0806
#define ETH_TYPE_VLAN 0x8100 /* IEEE 802.1Q */
#define ETH_TYPE_QINQ 0x88a8 /* IEEE 802.1ad */
#define ETH_TYPE_MIN 0x0600  /* smaller values are 802.3 lengths, not types */

struct eth_hdr {
	struct mac dst;
	struct mac src;
	uint16_t type; /* host order */
};

/* 0, or -EMSGSIZE when len < ETH_HDR_LEN. */
int eth_hdr_parse(const uint8_t *buf, size_t len, struct eth_hdr *h);
/* Writes ETH_HDR_LEN bytes. */
void eth_hdr_emit(const struct eth_hdr *h, uint8_t *buf);

#endif
