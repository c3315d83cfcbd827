/* ICMPv4 header (RFC 792). */
#include "icmp.h"

#include <errno.h>
#include <string.h>

#include "be.h"
#include "csum.h"

enum { ICMP_OFF_TYPE = 0, ICMP_OFF_CODE = 1, ICMP_OFF_CSUM = 2, ICMP_OFF_ID = 4, ICMP_OFF_SEQ = 6 };

int icmp_hdr_parse(const uint8_t *buf, size_t len, struct icmp_hdr *h)
{
	if (len < ICMP_HDR_LEN)
		return -EMSGSIZE;
	/* RFC 792: the checksum covers the whole ICMP message, header and data; RFC 1122
	 * §3.2.2 lets a host discard one that fails. A correct message sums to 0xffff. */
	if (csum_buf(buf, len) != 0)
		return -EBADMSG;
	h->type = buf[ICMP_OFF_TYPE];
	h->code = buf[ICMP_OFF_CODE];
	memcpy(&h->csum, buf + ICMP_OFF_CSUM, 2);
	h->id = be16_load(buf + ICMP_OFF_ID);
	h->seq = be16_load(buf + ICMP_OFF_SEQ);
	return 0;
}

void icmp_hdr_emit(const struct icmp_hdr *h, uint8_t *buf)
{
	buf[ICMP_OFF_TYPE] = h->type;
	buf[ICMP_OFF_CODE] = h->code;
	/* RFC 792: "For computing the checksum, the checksum field should be zero." */
	memset(buf + ICMP_OFF_CSUM, 0, 2);
	be16_store(buf + ICMP_OFF_ID, h->id);
	be16_store(buf + ICMP_OFF_SEQ, h->seq);
}

void icmp_csum_store(uint8_t *buf, uint16_t csum)
{
	memcpy(buf + ICMP_OFF_CSUM, &csum, 2); /* already in network order */
}
