/* Ethernet layer: demultiplexes received frames by EtherType and encapsulates sent ones.
 * Upper layers never see the Ethernet header. */
#ifndef USTACK_ETH_H
#define USTACK_ETH_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct stack;
struct netif;

/* Writes the Ethernet payload at buf (len bytes available) and returns its length. */
typedef size_t (*eth_fill_fn)(uint8_t *buf, size_t len, void *ctx);

struct eth {
	struct stack *st;
	struct netif *nif;
};

void eth_init(struct eth *eth, struct stack *st, struct netif *nif);
/* Sends one frame of at most `size` payload bytes (0: the MTU) from src (NULL: our MAC) to
 * dst. `fill` sees the buffer from offset 0 after the Ethernet header. Returns 0 or the
 * device's negative errno (-ENOBUFS, -EMSGSIZE). */
int eth_write(struct eth *eth, const struct mac *src, struct mac dst, uint16_t ethertype,
	      size_t size, eth_fill_fn fill, void *ctx);
/* Sends one TSO super-segment (netif.h) of at most `size` payload bytes (0: the device's
 * gso_max) to dst from our MAC, for the device to cut into segments of gso_size data
 * bytes. One device write: EthOutFrames counts it once. Returns 0, -EOPNOTSUPP (the device
 * has no TSO), -EINVAL (gso_size 0) or the device's negative errno. */
int eth_write_gso(struct eth *eth, struct mac dst, uint16_t ethertype, size_t size,
		  unsigned gso_size, eth_fill_fn fill, void *ctx);
void eth_input(struct eth *eth, const uint8_t *frame, size_t len);

#endif
