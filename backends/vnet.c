#include "vnet.h"

#include <errno.h>
#include <string.h>

#include "stack/wire/be.h"
#include "stack/wire/csum.h"
#include "stack/wire/eth.h"
#include "stack/wire/gso.h"
#include "stack/wire/tcp.h"

void vnet_hdr_parse(const uint8_t *hdr, struct virtio_net_hdr *h)
{
	memcpy(h, hdr, sizeof(*h));
}

void vnet_hdr_emit_none(uint8_t *hdr)
{
	memset(hdr, 0, VNET_HDR_LEN); /* flags 0, VIRTIO_NET_HDR_GSO_NONE */
}

int vnet_hdr_emit_gso(uint8_t *hdr, const uint8_t *frame, size_t len, unsigned gso_size)
{
	struct virtio_net_hdr h;
	struct gso_tcp4 g;

	if (len < ETH_HDR_LEN || be16_load(frame + 12) != ETH_TYPE_IPV4 || gso_size > 0xffff ||
	    gso_tcp4_parse(&g, frame + ETH_HDR_LEN, len - ETH_HDR_LEN, gso_size) < 0)
		return -EINVAL;
	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = (uint16_t)(ETH_HDR_LEN + g.ip_hdr_len);
	h.csum_offset = 16; /* the TCP checksum field, RFC 9293 §3.1 */
	h.hdr_len = (uint16_t)(ETH_HDR_LEN + g.hdr_len);
	if (g.segs > 1) {
		h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		if (frame[ETH_HDR_LEN + g.ip_hdr_len + 13] & TCP_CWR)
			h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
		h.gso_size = (uint16_t)gso_size;
	}
	memcpy(hdr, &h, sizeof(h));
	return 0;
}

/* Where the checksummed bytes end: the end of the IPv4 datagram when the frame carries
 * one whose total length fits (so Ethernet padding is never summed), else the frame's. */
static size_t sum_end(const uint8_t *frame, size_t len)
{
	if (len >= ETH_HDR_LEN + 20 && be16_load(frame + 12) == ETH_TYPE_IPV4 &&
	    (frame[ETH_HDR_LEN] >> 4) == 4) {
		size_t tot = be16_load(frame + ETH_HDR_LEN + 2);

		if (tot >= 20 && tot <= len - ETH_HDR_LEN)
			return ETH_HDR_LEN + tot;
	}
	return len;
}

int vnet_rx_fixup(const struct virtio_net_hdr *h, uint8_t *frame, size_t len,
		  struct vnet_stats *st)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if (gso != VIRTIO_NET_HDR_GSO_NONE && gso != VIRTIO_NET_HDR_GSO_TCPV4) {
		if (st)
			st->bad_gso++;
		return -EPROTONOSUPPORT;
	}
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		size_t start = h->csum_start, off = h->csum_offset;
		size_t end = sum_end(frame, len);
		uint16_t sum;

		/* The field (2 bytes at start + off) must lie inside the summed bytes, which
		 * start after the Ethernet header. */
		if (start < ETH_HDR_LEN || start >= end || off > end - start ||
		    end - start - off < 2) {
			if (st)
				st->bad_csum_pos++;
			return -EINVAL;
		}
		/* The field holds the pseudo-header sum: summing it with the rest gives the
		 * final checksum. 0 is sent as 0xffff, as the kernel does (skb_checksum_help;
		 * for UDP 0 would mean "no checksum"). */
		sum = csum_buf(frame + start, end - start);
		if (sum == 0)
			sum = 0xffff;
		memcpy(frame + start + off, &sum, 2);
		if (st)
			st->csum_completed++;
	}
	else if ((h->flags & VIRTIO_NET_HDR_F_DATA_VALID) && st)
		st->csum_trusted++;
	if (gso == VIRTIO_NET_HDR_GSO_TCPV4 && st)
		st->gso_frames++;
	return 0;
}

bool vnet_rx_csum_trusted(const struct virtio_net_hdr *h)
{
	return (h->flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) != 0;
}
