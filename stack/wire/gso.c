/* Software TCP segmentation of a TCP/IPv4 super-segment (see gso.h). */
#include "gso.h"

#include <errno.h>
#include <string.h>

#include "be.h"
#include "csum.h"
#include "ipv4.h"
#include "tcp.h"

/* A host-order 16-bit value as it lies on the wire, in a native-order load (what
 * csum_update16 takes). */
static uint16_t be16_wire(uint16_t v)
{
	uint8_t b[2];
	uint16_t w;

	be16_store(b, v);
	memcpy(&w, b, 2);
	return w;
}

int gso_tcp4_parse(struct gso_tcp4 *g, const uint8_t *pkt, size_t len, unsigned gso_size)
{
	size_t ihl, tot, thl;

	if (gso_size == 0 || len < IPV4_HDR_LEN || (pkt[0] >> 4) != 4)
		return -EINVAL;
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	tot = be16_load(pkt + 2);
	/* A fragment cannot be cut into TCP segments: it holds part of one. */
	if (ihl < IPV4_HDR_LEN || tot < ihl + TCP_HDR_LEN || tot > len || pkt[9] != IPV4_PROTO_TCP ||
	    (be16_load(pkt + 6) & 0x3fff) != 0)
		return -EINVAL;
	thl = (size_t)(pkt[ihl + 12] >> 4) * 4;
	if (thl < TCP_HDR_LEN || ihl + thl > tot)
		return -EINVAL;
	g->pkt = pkt;
	g->pkt_len = tot;
	g->ip_hdr_len = ihl;
	g->hdr_len = ihl + thl;
	g->data_len = tot - ihl - thl;
	g->gso_size = gso_size;
	g->segs = g->data_len ? (unsigned)((g->data_len + gso_size - 1) / gso_size) : 1;
	return 0;
}

size_t gso_tcp4_segment(const struct gso_tcp4 *g, unsigned i, uint8_t *out)
{
	size_t off = (size_t)i * g->gso_size;
	size_t data = g->data_len - off < g->gso_size ? g->data_len - off : g->gso_size;
	size_t tot = g->hdr_len + data;
	uint8_t *th = out + g->ip_hdr_len;
	uint16_t tcp_len_old, tcp_len_new, field, sum;

	memcpy(out, g->pkt, g->hdr_len);
	memcpy(out + g->hdr_len, g->pkt + g->hdr_len + off, data);
	/* IPv4: this segment's length and ID; the header checksum over both. */
	be16_store(out + 2, (uint16_t)tot);
	be16_store(out + 4, (uint16_t)(be16_load(g->pkt + 4) + i));
	memset(out + 10, 0, 2);
	sum = csum_buf(out, g->ip_hdr_len);
	memcpy(out + 10, &sum, 2);
	/* TCP: where this segment's data starts in the sequence space, the flags that
	 * belong to one end of the burst, and the checksum. */
	be32_store(th + 4, be32_load(th + 4) + (uint32_t)off);
	if (i + 1 < g->segs)
		th[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (i > 0)
		th[13] &= (uint8_t)~TCP_CWR;
	/* The device's way (Linux tcp_gso_segment, then skb_checksum_help): the field
	 * holds the pseudo-header sum for the super-segment's TCP length; RFC 1624 moves it
	 * to this segment's length, then everything from the TCP header on is summed. A
	 * wrong field gives wrong segments here as it would on the real device. */
	tcp_len_old = (uint16_t)(g->pkt_len - g->ip_hdr_len);
	tcp_len_new = (uint16_t)(tot - g->ip_hdr_len);
	memcpy(&field, th + 16, 2);
	field = (uint16_t)~csum_update16((uint16_t)~field, be16_wire(tcp_len_old),
					be16_wire(tcp_len_new));
	memcpy(th + 16, &field, 2);
	sum = csum_buf(th, tot - g->ip_hdr_len);
	if (sum == 0)
		sum = 0xffff; /* as the kernel stores it (CSUM_MANGLED_0); equal for TCP */
	memcpy(th + 16, &sum, 2);
	return tot;
}

uint16_t gso_tcp4_partial_csum(struct in_addr src, struct in_addr dst, size_t tcp_len)
{
	struct csum c = CSUM_INIT;

	/* The device sums from the TCP header on, this field included, and stores the
	 * complement: the field must hold the pseudo-header's part uncomplemented. */
	csum_feed_pseudo(&c, src, dst, IPV4_PROTO_TCP, (uint16_t)tcp_len);
	return (uint16_t)~csum_finish(&c);
}
