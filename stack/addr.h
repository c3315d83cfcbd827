/* Link and network addresses shared by every layer.
 *
 * IPv4 addresses are kept as struct in_addr (network byte order) everywhere: they are
 * identifiers that are compared and copied, not numbers; only prefix arithmetic needs host
 * order, and addr_* helpers do it. */
#ifndef USTACK_ADDR_H
#define USTACK_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MAC_LEN 6

struct mac {
	uint8_t b[MAC_LEN];
};

static const struct mac MAC_BROADCAST = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
static const struct mac MAC_ZERO = { { 0 } };

static inline bool mac_eq(struct mac a, struct mac b)
{
	return memcmp(a.b, b.b, MAC_LEN) == 0;
}

static inline bool mac_is_multicast(struct mac m)
{
	return (m.b[0] & 1) != 0; /* I/G bit; broadcast is a multicast too */
}

static inline bool mac_is_broadcast(struct mac m)
{
	return mac_eq(m, MAC_BROADCAST);
}

/* Names one station: neither all zeros nor a group (multicast, broadcast) address. */
static inline bool mac_is_unicast(struct mac m)
{
	return !mac_is_multicast(m) && !mac_eq(m, MAC_ZERO);
}

static inline bool addr_eq(struct in_addr a, struct in_addr b)
{
	return a.s_addr == b.s_addr;
}

static inline struct in_addr addr_from_host(uint32_t h)
{
	struct in_addr a = { htonl(h) };
	return a;
}

static inline uint32_t addr_to_host(struct in_addr a)
{
	return ntohl(a.s_addr);
}

static inline uint32_t addr_prefix_mask(unsigned prefix_len)
{
	return prefix_len == 0 ? 0 : 0xffffffffu << (32 - prefix_len);
}

static inline bool addr_is_any(struct in_addr a)
{
	return a.s_addr == htonl(INADDR_ANY);
}

static inline bool addr_is_multicast(struct in_addr a)
{
	return (addr_to_host(a) >> 28) == 0xe; /* 224/4, RFC 5771 */
}

static inline bool addr_is_limited_broadcast(struct in_addr a)
{
	return a.s_addr == htonl(INADDR_BROADCAST);
}

#endif
