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
 * The MTU (largest Ethernet payload, i.e. IP datagram) and the MAC are device properties. */
#ifndef USTACK_NETIF_H
#define USTACK_NETIF_H

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
};

struct netif {
	const struct netif_ops *ops;
	struct mac mac;
	unsigned mtu; /* bytes of Ethernet payload */
};

static inline int netif_write(struct netif *nif, size_t size, netif_fill_fn fill, void *ctx)
{
	return nif->ops->write(nif, size, fill, ctx);
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
