/* IPv4 header (RFC 791 §3.1), validated as RFC 1122 §3.2.1 and RFC 1812 §5.2.2 ask. */
#include "ipv4.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "be.h"
#include "csum.h"

/* Field offsets in the fixed 20-byte part. */
enum {
	IPV4_OFF_VER_IHL = 0,
	IPV4_OFF_TOS = 1,
	IPV4_OFF_TOTAL_LEN = 2,
	IPV4_OFF_ID = 4,
	IPV4_OFF_FLAGS_FRAG = 6,
	IPV4_OFF_TTL = 8,
	IPV4_OFF_PROTO = 9,
	IPV4_OFF_CSUM = 10,
	IPV4_OFF_SRC = 12,
	IPV4_OFF_DST = 16,
};

/* Flags and fragment offset share one 16-bit field: bit 0 (0x8000) is reserved and must be
 * zero, then DF, MF and 13 bits of offset in 8-byte units (RFC 791 §3.1 "Flags"). */
#define IPV4_FLAG_DF 0x4000
#define IPV4_FLAG_MF 0x2000
#define IPV4_FRAG_MASK 0x1fff

int ipv4_hdr_parse(const uint8_t *buf, size_t len, struct ipv4_hdr *h)
{
	size_t hdr_len, total_len;
	uint16_t ff;

	if (len < IPV4_HDR_LEN)
		return -EMSGSIZE;
	/* RFC 1122 §3.2.1.1: a datagram whose version is not 4 MUST be silently
	 * discarded. */
	if ((buf[IPV4_OFF_VER_IHL] >> 4) != 4)
		return -EPROTONOSUPPORT;
	/* RFC 791 §3.1 "IHL": the minimum value for a correct header is 5. */
	hdr_len = (size_t)(buf[IPV4_OFF_VER_IHL] & 0x0f) * 4;
	if (hdr_len < IPV4_HDR_LEN)
		return -EINVAL;
	if (len < hdr_len)
		return -EMSGSIZE;
	/* RFC 1812 §5.2.2: the total length must be large enough to hold the header, and
	 * the link must have delivered at least that many bytes. */
	total_len = be16_load(buf + IPV4_OFF_TOTAL_LEN);
	if (total_len < hdr_len)
		return -EINVAL;
	if (len < total_len)
		return -EMSGSIZE;
	/* RFC 1122 §3.2.1.2: a datagram with a bad header checksum MUST be silently
	 * discarded. The sum over a correct header, checksum included, is 0xffff, so its
	 * complement is 0 (RFC 1071 §1). Checked last so that the sum covers only bytes
	 * known to be there. */
	if (csum_buf(buf, hdr_len) != 0)
		return -EBADMSG;

	ff = be16_load(buf + IPV4_OFF_FLAGS_FRAG);
	h->hdr_len = (uint8_t)hdr_len;
	h->tos = buf[IPV4_OFF_TOS];
	h->total_len = (uint16_t)total_len;
	h->id = be16_load(buf + IPV4_OFF_ID);
	/* The reserved flag is ignored on receipt, as Linux and the BSDs do (RFC 1122
	 * §1.2.2: be liberal in what you accept). */
	h->df = (ff & IPV4_FLAG_DF) != 0;
	h->mf = (ff & IPV4_FLAG_MF) != 0;
	h->frag_off = (uint16_t)((ff & IPV4_FRAG_MASK) * IPV4_FRAG_UNIT);
	h->ttl = buf[IPV4_OFF_TTL];
	h->proto = buf[IPV4_OFF_PROTO];
	memcpy(&h->csum, buf + IPV4_OFF_CSUM, 2);
	memcpy(&h->src.s_addr, buf + IPV4_OFF_SRC, 4);
	memcpy(&h->dst.s_addr, buf + IPV4_OFF_DST, 4);
	return 0;
}

void ipv4_hdr_emit(const struct ipv4_hdr *h, uint8_t *buf)
{
	uint16_t ff = (uint16_t)(h->frag_off / IPV4_FRAG_UNIT);
	uint16_t sum;

	/* Fragment offsets are in 8-byte units; a caller that splits elsewhere has a bug. */
	assert(h->frag_off % IPV4_FRAG_UNIT == 0);
	if (h->df)
		ff |= IPV4_FLAG_DF;
	if (h->mf)
		ff |= IPV4_FLAG_MF;
	buf[IPV4_OFF_VER_IHL] = 4 << 4 | IPV4_HDR_LEN / 4;
	buf[IPV4_OFF_TOS] = h->tos;
	be16_store(buf + IPV4_OFF_TOTAL_LEN, h->total_len);
	be16_store(buf + IPV4_OFF_ID, h->id);
	be16_store(buf + IPV4_OFF_FLAGS_FRAG, ff);
	buf[IPV4_OFF_TTL] = h->ttl;
	buf[IPV4_OFF_PROTO] = h->proto;
	/* RFC 791 §3.1 "Header Checksum": computed with the field itself zero. */
	memset(buf + IPV4_OFF_CSUM, 0, 2);
	memcpy(buf + IPV4_OFF_SRC, &h->src.s_addr, 4);
	memcpy(buf + IPV4_OFF_DST, &h->dst.s_addr, 4);
	sum = csum_buf(buf, IPV4_HDR_LEN);
	memcpy(buf + IPV4_OFF_CSUM, &sum, 2);
}
