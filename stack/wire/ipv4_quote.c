#include "ipv4_quote.h"

#include <errno.h>
#include <string.h>

#include "be.h"
#include "icmp.h"


int ipv4_hdr_parse_quoted(const uint8_t *buf, size_t len, struct ipv4_hdr *h)
{
	uint16_t frag;

	if (len < IPV4_HDR_LEN)
		return -EMSGSIZE;
	if (buf[0] >> 4 != 4 || (buf[0] & 0x0f) < 5)
		return -EINVAL;
	h->hdr_len = (uint8_t)((buf[0] & 0x0f) * 4);
	if (len < (size_t)h->hdr_len + 8)
		return -EMSGSIZE;
	h->tos = buf[1];
	h->total_len = be16_load(buf + 2);
	h->id = be16_load(buf + 4);
	frag = be16_load(buf + 6);
	h->df = (frag & 0x4000) != 0;
	h->mf = (frag & 0x2000) != 0;
	h->frag_off = (uint16_t)((frag & 0x1fff) * 8);
	h->ttl = buf[8];
	h->proto = buf[9];
	memcpy(&h->csum, buf + 10, 2);
	memcpy(&h->src, buf + 12, 4);
	memcpy(&h->dst, buf + 16, 4);
	return 0;
}

int icmp_hdr_parse_quoted(const uint8_t *buf, size_t len, struct icmp_hdr *h)
{
	if (len < ICMP_HDR_LEN)
		return -EMSGSIZE;
	h->type = buf[0];
	h->code = buf[1];
	memcpy(&h->csum, buf + 2, 2);
	h->id = be16_load(buf + 4);
	h->seq = be16_load(buf + 6);
	return 0;
}
