/* SYN cookies; see tcp_syncookie.h for the format and the choices. */
#include "tcp_syncookie.h"

#include <errno.h>
#include <string.h>

#include "siphash.h"

const uint16_t TCP_SYNCOOKIE_MSS_TABLE[TCP_SYNCOOKIE_MSS_COUNT] = { 536, 1300, 1440, 1460 };

#define COOKIE_BITS 24
#define COOKIE_MASK ((1u << COOKIE_BITS) - 1)

/* Keyed hashes of the 4-tuple and the peer's ISN (and, for H2, the time slot),
 * domain-separated by a leading tag so that one key serves both (Linux keeps two keys; a
 * tag is equivalent for a PRF). */
static uint32_t cookie_hash(const uint8_t key[TCP_SYNCOOKIE_KEY_LEN], uint8_t tag,
			    struct in_addr laddr, uint16_t lport, struct in_addr raddr,
			    uint16_t rport, uint32_t peer_isn, uint32_t count)
{
	uint8_t m[21];
	size_t n = 0;
	m[n++] = tag;
	memcpy(m + n, &laddr.s_addr, 4);
	n += 4;
	memcpy(m + n, &raddr.s_addr, 4);
	n += 4;
	m[n++] = (uint8_t)(lport >> 8);
	m[n++] = (uint8_t)lport;
	m[n++] = (uint8_t)(rport >> 8);
	m[n++] = (uint8_t)rport;
	for (int sh = 24; sh >= 0; sh -= 8)
		m[n++] = (uint8_t)(peer_isn >> sh);
	if (tag == 2)
		for (int sh = 24; sh >= 0; sh -= 8)
			m[n++] = (uint8_t)(count >> sh);
	return (uint32_t)siphash24(key, m, n);
}

static uint32_t cookie_count(uint64_t now_ns)
{
	return (uint32_t)(now_ns / TCP_SYNCOOKIE_SLOT_NS);
}

uint32_t tcp_syncookie_encode(const uint8_t key[TCP_SYNCOOKIE_KEY_LEN], struct in_addr laddr,
			      uint16_t lport, struct in_addr raddr, uint16_t rport,
			      uint32_t peer_isn, uint16_t peer_mss, uint64_t now_ns,
			      uint16_t *mss_out)
{
	if (peer_mss == 0)
		peer_mss = 536; /* no MSS option: the default, RFC 9293 §3.7.1 */
	/* The largest table entry not above the peer's MSS; entry 0 as the floor. */
	uint32_t idx = TCP_SYNCOOKIE_MSS_COUNT - 1;
	while (idx > 0 && TCP_SYNCOOKIE_MSS_TABLE[idx] > peer_mss)
		idx--;
	if (mss_out)
		*mss_out = TCP_SYNCOOKIE_MSS_TABLE[idx];

	uint32_t count = cookie_count(now_ns);
	uint32_t h1 = cookie_hash(key, 1, laddr, lport, raddr, rport, peer_isn, 0);
	uint32_t h2 = cookie_hash(key, 2, laddr, lport, raddr, rport, peer_isn, count);
	return h1 + (count << COOKIE_BITS) + ((h2 + idx) & COOKIE_MASK);
}

int tcp_syncookie_check(const uint8_t key[TCP_SYNCOOKIE_KEY_LEN], struct in_addr laddr,
			uint16_t lport, struct in_addr raddr, uint16_t rport, uint32_t peer_isn,
			uint32_t cookie, uint64_t now_ns, uint16_t *mss_out)
{
	uint32_t count = cookie_count(now_ns);
	uint32_t c = cookie - cookie_hash(key, 1, laddr, lport, raddr, rport, peer_isn, 0);
	/* The top 8 bits are the slot the cookie was made in, mod 256. */
	uint32_t diff = (count - (c >> COOKIE_BITS)) & ((1u << (32 - COOKIE_BITS)) - 1);
	if (diff >= TCP_SYNCOOKIE_MAX_AGE_SLOTS)
		return -EINVAL; /* expired (or forged) */
	uint32_t h2 = cookie_hash(key, 2, laddr, lport, raddr, rport, peer_isn, count - diff);
	uint32_t idx = (c - h2) & COOKIE_MASK;
	if (idx >= TCP_SYNCOOKIE_MSS_COUNT)
		return -EINVAL; /* the MAC does not match */
	if (mss_out)
		*mss_out = TCP_SYNCOOKIE_MSS_TABLE[idx];
	return 0;
}

#define TS_WSCALE_NONE 0xfu
#define TS_SACK_BIT (1u << 4)
#define TS_ECN_BIT (1u << 5)

uint32_t tcp_syncookie_tsval(uint32_t ts_now, const struct tcp_syncookie_opts *o)
{
	uint32_t bits = TS_WSCALE_NONE;
	if (o->wscale_ok)
		bits = o->wscale > 14 ? 14 : o->wscale; /* RFC 7323 §2.3 */
	if (o->sack_ok)
		bits |= TS_SACK_BIT;
	if (o->ecn_ok)
		bits |= TS_ECN_BIT;
	uint32_t ts = (ts_now & ~TCP_SYNCOOKIE_TS_MASK) | bits;
	if ((int32_t)(ts - ts_now) > 0)
		ts -= TCP_SYNCOOKIE_TS_MASK + 1; /* never ahead of our clock */
	return ts;
}

void tcp_syncookie_tsecr_decode(uint32_t tsecr, struct tcp_syncookie_opts *o)
{
	uint32_t ws = tsecr & 0xfu;
	o->wscale_ok = ws != TS_WSCALE_NONE;
	o->wscale = o->wscale_ok ? (uint8_t)ws : 0;
	o->sack_ok = (tsecr & TS_SACK_BIT) != 0;
	o->ecn_ok = (tsecr & TS_ECN_BIT) != 0;
}
