/* Ethernet layer (design.md §2: eth_write). */
#include "eth.h"

#include <errno.h>

#include "netif.h"
#include "stack_var.h"
#include "wire/eth.h"

void eth_init(struct eth *eth, struct stack *st, struct netif *nif)
{
	eth->st = st;
	eth->nif = nif;
}

struct eth_fill_ctx {
	struct eth_hdr h;
	eth_fill_fn fill;
	void *ctx;
};

static size_t eth_fill_frame(uint8_t *buf, size_t len, void *ctx)
{
	struct eth_fill_ctx *c = ctx;

	eth_hdr_emit(&c->h, buf);
	return ETH_HDR_LEN + c->fill(buf + ETH_HDR_LEN, len - ETH_HDR_LEN, c->ctx);
}

/* One frame to the device: an ordinary one (gso_size 0), or a TSO super-segment. */
static int eth_send(struct eth *eth, const struct mac *src, struct mac dst, uint16_t ethertype,
		    size_t size, unsigned gso_size, eth_fill_fn fill, void *ctx)
{
	size_t max = gso_size ? netif_gso_max(eth->nif) : netif_mtu(eth->nif);
	struct eth_fill_ctx c = {
		.h = { .dst = dst, .src = src ? *src : netif_mac(eth->nif), .type = ethertype },
		.fill = fill,
		.ctx = ctx,
	};
	int r;

	if (size == 0)
		size = max;
	if (size > max) {
		STAT_INC(eth->st, EthOutErrors);
		return -EMSGSIZE;
	}
	if (gso_size)
		r = netif_write_gso(eth->nif, ETH_HDR_LEN + size, gso_size, eth_fill_frame, &c);
	else
		r = netif_write(eth->nif, ETH_HDR_LEN + size, eth_fill_frame, &c);
	if (r < 0) {
		STAT_INC(eth->st, EthOutErrors);
		return r;
	}
	STAT_INC(eth->st, EthOutFrames);
	return 0;
}

int eth_write(struct eth *eth, const struct mac *src, struct mac dst, uint16_t ethertype,
	      size_t size, eth_fill_fn fill, void *ctx)
{
	return eth_send(eth, src, dst, ethertype, size, 0, fill, ctx);
}

int eth_write_gso(struct eth *eth, struct mac dst, uint16_t ethertype, size_t size,
		  unsigned gso_size, eth_fill_fn fill, void *ctx)
{
	if (gso_size == 0)
		return -EINVAL;
	if (!netif_gso_max(eth->nif))
		return -EOPNOTSUPP;
	return eth_send(eth, NULL, dst, ethertype, size, gso_size, fill, ctx);
}

void eth_input(struct eth *eth, const uint8_t *frame, size_t len)
{
	struct stack *st = eth->st;
	struct eth_hdr h;
	bool bcast;

	STAT_INC(st, EthInFrames);
	if (eth_hdr_parse(frame, len, &h) < 0) {
		STAT_INC(st, EthInRunts);
		return;
	}
	bcast = mac_is_broadcast(h.dst);
	if (!bcast && mac_is_multicast(h.dst)) {
		/* No multicast group is ever joined (no IGMP). */
		STAT_INC(st, EthInMulticastDrops);
		return;
	}
	if (!bcast && !mac_eq(h.dst, netif_mac(eth->nif))) {
		STAT_INC(st, EthInOtherHost);
		return;
	}
	switch (h.type) {
	case ETH_TYPE_IPV4:
		ipv4_input(&st->ip, frame + ETH_HDR_LEN, len - ETH_HDR_LEN, bcast);
		break;
	case ETH_TYPE_ARP:
		arp_input(&st->arp, frame + ETH_HDR_LEN, len - ETH_HDR_LEN);
		break;
	case ETH_TYPE_VLAN:
	case ETH_TYPE_QINQ:
		/* We are an untagged host; a tagged frame belongs to a VLAN we are not on. */
		STAT_INC(st, EthInVlanDrops);
		break;
	default:
		STAT_INC(st, EthInUnknownType);
		break;
	}
}
