/* Ethernet II header: destination, source, EtherType (IEEE 802.3 clause 3.2.6). */
#include "eth.h"

#include <errno.h>
#include <string.h>

#include "be.h"

/* Field offsets within the 14-byte header. */
enum { ETH_OFF_DST = 0, ETH_OFF_SRC = 6, ETH_OFF_TYPE = 12 };

int eth_hdr_parse(const uint8_t *buf, size_t len, struct eth_hdr *h)
{
	if (len < ETH_HDR_LEN)
		return -EMSGSIZE;
	memcpy(h->dst.b, buf + ETH_OFF_DST, MAC_LEN);
	memcpy(h->src.b, buf + ETH_OFF_SRC, MAC_LEN);
	/* Values below ETH_TYPE_MIN are 802.3 lengths; the caller decides what to do with
	 * them (the stack speaks only Ethernet II, RFC 894). */
	h->type = be16_load(buf + ETH_OFF_TYPE);
	return 0;
}

void eth_hdr_emit(const struct eth_hdr *h, uint8_t *buf)
{
	memcpy(buf + ETH_OFF_DST, h->dst.b, MAC_LEN);
	memcpy(buf + ETH_OFF_SRC, h->src.b, MAC_LEN);
	be16_store(buf + ETH_OFF_TYPE, h->type);
}
