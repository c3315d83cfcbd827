/* The network device contract (mirage-net, design.md §2).
 *
 * The device owns transmit buffers: netif_write() hands `fill` a buffer of at least `size`
 * bytes that meets the backend's needs (for AF_XDP a UMEM frame, written in place), `fill`
 * writes one whole Ethernet frame and returns its length. `fill` cannot fail, must not block
 * and keeps no reference to the buffer. There is no writev.
 *
 * Receive goes the other way: the backend calls stack_input() with a frame that is borrowed
 * for that call only.
 *
 * The MTU (largest Ethernet payload, i.e. IP datagram) and the MAC are device properties.
 *
 * Transmit segmentation offload (TSO) is a capability beside that contract, which stays as
 * it is for every ordinary frame. A device that has it reports netif_gso_max() > 0: the
 * largest IPv4 datagram (Ethernet payload bytes, up to 65535) that one netif_write_gso()
 * takes. That frame is a TCP/IPv4 super-segment: one IPv4 header (DF set, total length and
 * header checksum of the whole datagram), one TCP header, then up to 64 KiB of data, with
 * the TCP checksum field holding the pseudo-header sum over the whole TCP length (folded,
 * not complemented: Linux's CHECKSUM_PARTIAL, RFC 9293 §3.1). The device puts it on the
 * wire as segments of gso_size data bytes each (the last may be shorter), cut as Linux's
 * GSO cuts them (stack/wire/gso.h): headers repeated, IP IDs incrementing from the one
 * given, sequence numbers advanced, FIN and PSH on the last segment only, CWR on the first
 * only, every checksum complete. Devices without it report 0 and get MTU-sized frames. */
#ifndef USTACK_NETIF_H
#define USTACK_NETIF_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"

typedef size_t (*netif_fill_fn)(uint8_t *buf, size_t len, void *ctx);

/* The fill of bytes that already exist (a queued packet, a prebuilt header): ctx is a
 * struct fill_copy. Any layer's fill type can use it, they all share this signature. */
struct fill_copy {
	const void *data;
	size_t len;
};

static inline size_t fill_copy(uint8_t *buf, size_t len, void *ctx)
{
	const struct fill_copy *c = ctx;

	(void)len;
	if (c->len)
		memcpy(buf, c->data, c->len);
	return c->len;
}

struct netif;

struct netif_ops {
	/* Returns 0, -EMSGSIZE when size exceeds MTU + Ethernet header, -ENOBUFS when the
	 * device has no free buffer (ring full), or another negative errno from the device. */
	int (*write)(struct netif *nif, size_t size, netif_fill_fn fill, void *ctx);
	/* Optional (NULL: no TSO). As write, for one TCP/IPv4 super-segment of at most
	 * gso_max + Ethernet header bytes, cut into segments of gso_size data bytes; also
	 * -EINVAL when the frame is not such a super-segment. */
	int (*write_gso)(struct netif *nif, size_t size, unsigned gso_size, netif_fill_fn fill,
			 void *ctx);
};

struct netif {
	const struct netif_ops *ops;
	struct mac mac;
	unsigned mtu;	  /* bytes of Ethernet payload */
	unsigned gso_max; /* TSO: the largest IPv4 datagram of a write_gso; 0: none */
};

static inline int netif_write(struct netif *nif, size_t size, netif_fill_fn fill, void *ctx)
{
	return nif->ops->write(nif, size, fill, ctx);
}

/* TSO (see above): 0 when the device cannot cut super-segments. */
static inline unsigned netif_gso_max(const struct netif *nif)
{
	return nif->ops->write_gso ? nif->gso_max : 0;
}

static inline int netif_write_gso(struct netif *nif, size_t size, unsigned gso_size,
				  netif_fill_fn fill, void *ctx)
{
	if (!netif_gso_max(nif))
		return -EOPNOTSUPP;
	return nif->ops->write_gso(nif, size, gso_size, fill, ctx);
}

static inline unsigned netif_mtu(const struct netif *nif)
{
	return nif->mtu;
}

static inline struct mac netif_mac(const struct netif *nif)
{
	return nif->mac;
}

#endif
