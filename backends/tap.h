/* TAP backend: a Linux TAP device (IFF_TAP | IFF_NO_PI) as a netif.
 *
 * The kernel side of the TAP is the host's end of the link. tap_open() attaches to the
 * interface, creating it if missing, makes the descriptor non-blocking, sets the kernel
 * side's MTU to ours and brings it up. Receive is a batch of read(2)s per wake-up; write
 * fills a buffer owned by the backend and sends it with one write(2). */
#ifndef USTACK_BACKENDS_TAP_H
#define USTACK_BACKENDS_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/netif.h"

/* Called once per received frame; the frame is borrowed for the call only. */
typedef void (*backend_rx_fn)(void *ctx, const uint8_t *frame, size_t len);

struct tap;

struct tap_config {
	const char *ifname;
	unsigned mtu;
	struct mac mac; /* the stack's MAC (not the kernel side's) */
};

/* Returns 0 or a negative errno with a human-readable reason in why: -ENOENT (no
 * /dev/net/tun), -EPERM (needs CAP_NET_ADMIN), -EBUSY (in use by another process). */
int tap_open(const struct tap_config *cfg, struct tap **out, char *why, size_t whylen);
void tap_close(struct tap *t);

struct netif *tap_netif(struct tap *t);
int tap_fd(const struct tap *t);
const char *tap_ifname(const struct tap *t);
/* Reads up to max frames, calling fn for each. Returns the number read (0: none waiting)
 * or a negative errno when the device failed. */
int tap_rx_batch(struct tap *t, unsigned max, backend_rx_fn fn, void *ctx);

struct tap_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes, tx_errors, rx_errors;
};
const struct tap_stats *tap_stats(const struct tap *t);

#endif
