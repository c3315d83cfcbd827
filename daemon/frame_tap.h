/* A netif wrapper that shows every frame in and out to observers (io.ustack.Stack.Capture),
 * like backends/pcap.c but to callbacks instead of a file. Between the stack and the device
 * always; with no observer it costs one pointer test per frame. It has the lower device's
 * TSO (netif_gso_max): a super-segment passes through whole and observers see it so. */
#ifndef USTACKD_FRAME_TAP_H
#define USTACKD_FRAME_TAP_H

#include <stddef.h>
#include <stdint.h>

#include "stack/netif.h"

struct frame_tap_observer {
	struct frame_tap_observer *next;
	/* The frame, borrowed for the call; must not block. */
	void (*frame)(struct frame_tap_observer *o, const uint8_t *frame, size_t len);
};

struct frame_tap {
	struct netif nif; /* first: the write op recovers the tap from it */
	struct netif *lower;
	struct frame_tap_observer *observers;
};

/* The stack writes to &tap->nif (same MAC and MTU as lower). */
void frame_tap_init(struct frame_tap *tap, struct netif *lower);
/* A received frame, before stack_input(). */
void frame_tap_input(struct frame_tap *tap, const uint8_t *frame, size_t len);
void frame_tap_add(struct frame_tap *tap, struct frame_tap_observer *o);
void frame_tap_del(struct frame_tap *tap, struct frame_tap_observer *o);

#endif
