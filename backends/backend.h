/* What the I/O backends (tap, af_xdp) share with the daemon that drives them: the receive
 * callback and what a backend can say about a frame. */
#ifndef USTACK_BACKENDS_BACKEND_H
#define USTACK_BACKENDS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

/* The device verified the frame's TCP/UDP checksum (a TAP's virtio-net header vouched for
 * it): the stack need not sum it again (stack_input_flags, STACK_RX_L4_CSUM_OK). */
#define BACKEND_RX_L4_CSUM_OK 0x1u

/* Called once per received frame; the frame is borrowed for the call only. flags:
 * BACKEND_RX_*. */
typedef void (*backend_rx_fn)(void *ctx, const uint8_t *frame, size_t len, unsigned flags);

#endif
