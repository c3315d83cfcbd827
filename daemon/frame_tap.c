/* Frames in and out to observers (daemon/frame_tap.h). */
#include "frame_tap.h"

struct frame_tap_fill {
	struct frame_tap *tap;
	netif_fill_fn fill;
	void *ctx;
};

static void frame_tap_show(struct frame_tap *tap, const uint8_t *frame, size_t len)
{
	for (struct frame_tap_observer *o = tap->observers, *next; o; o = next) {
		next = o->next; /* an observer may remove itself */
		o->frame(o, frame, len);
	}
}

static size_t frame_tap_fill(uint8_t *buf, size_t len, void *ctx)
{
	struct frame_tap_fill *c = ctx;
	size_t n = c->fill(buf, len, c->ctx);

	frame_tap_show(c->tap, buf, n);
	return n;
}

/* gso_size 0: an ordinary frame; else a TSO super-segment (stack/netif.h), which the
 * observers see whole, as the device takes it (as backends/pcap.c records it). */
static int frame_tap_send(struct netif *nif, size_t size, unsigned gso_size, netif_fill_fn fill,
			  void *ctx)
{
	struct frame_tap *tap = (struct frame_tap *)nif;
	struct frame_tap_fill c = { tap, fill, ctx };
	netif_fill_fn f = tap->observers ? frame_tap_fill : fill;
	void *fctx = tap->observers ? (void *)&c : ctx;

	if (gso_size)
		return netif_write_gso(tap->lower, size, gso_size, f, fctx);
	return netif_write(tap->lower, size, f, fctx);
}

static int frame_tap_write(struct netif *nif, size_t size, netif_fill_fn fill, void *ctx)
{
	return frame_tap_send(nif, size, 0, fill, ctx);
}

static int frame_tap_write_gso(struct netif *nif, size_t size, unsigned gso_size,
			       netif_fill_fn fill, void *ctx)
{
	if (gso_size == 0)
		return -EINVAL;
	return frame_tap_send(nif, size, gso_size, fill, ctx);
}

static const struct netif_ops frame_tap_ops = {
	.write = frame_tap_write,
	.write_gso = frame_tap_write_gso,
};

void frame_tap_init(struct frame_tap *tap, struct netif *lower)
{
	tap->nif.ops = &frame_tap_ops;
	tap->nif.mac = lower->mac;
	tap->nif.mtu = lower->mtu;
	tap->nif.gso_max = netif_gso_max(lower); /* TSO passes through */
	tap->lower = lower;
	tap->observers = NULL;
}

void frame_tap_input(struct frame_tap *tap, const uint8_t *frame, size_t len)
{
	if (tap->observers)
		frame_tap_show(tap, frame, len);
}

void frame_tap_add(struct frame_tap *tap, struct frame_tap_observer *o)
{
	o->next = tap->observers;
	tap->observers = o;
}

void frame_tap_del(struct frame_tap *tap, struct frame_tap_observer *o)
{
	for (struct frame_tap_observer **pp = &tap->observers; *pp; pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			break;
		}
}
