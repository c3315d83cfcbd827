/* The device of the fuzz targets, and their clock helpers.
 *
 * Writes go into a static buffer and are dropped. The frame a fill callback writes is
 * placed at the end of that buffer: ASan puts a redzone after a global, so a fill that
 * writes past `size` is reported. A flaky device refuses every other write with -ENOBUFS;
 * an observer, when set, sees every frame written (a target's view of the peer). */
#ifndef USTACK_FUZZ_DEV_H
#define USTACK_FUZZ_DEV_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/stack.h"
#include "stack/wire/eth.h"

#define FZ_NS_PER_MS 1000000ull
#define FZ_START_NS (1000 * FZ_NS_PER_MS)
#define FZ_MAX_POLLS 64 /* bounds each clock run */

struct fz_dev {
	struct netif nif;
	bool flaky;
	unsigned writes;
	void (*observe)(struct fz_dev *dev, const uint8_t *frame, size_t len);
};

static uint8_t fz_tx_buf[IPV4_MAX_LEN + ETH_HDR_LEN];

static int fz_write(struct netif *nif, size_t size, netif_fill_fn fill, void *ctx)
{
	struct fz_dev *dev = (struct fz_dev *)nif;
	uint8_t *buf;
	size_t n;

	/* netif.h: -EMSGSIZE when size exceeds MTU + Ethernet header. */
	if (size > (size_t)nif->mtu + ETH_HDR_LEN)
		return -EMSGSIZE;
	if (dev->flaky && dev->writes++ % 2 == 1)
		return -ENOBUFS;
	buf = fz_tx_buf + sizeof(fz_tx_buf) - size;
	n = fill(buf, size, ctx);
	/* The contract: fill returns the length it wrote, within the buffer; a frame too
	 * short for an Ethernet header is a stack bug as well. */
	if (n > size || n < ETH_HDR_LEN)
		__builtin_trap();
	if (dev->observe)
		dev->observe(dev, buf, n);
	return 0;
}

static const struct netif_ops fz_ops = { .write = fz_write };

/* Runs the timers due by now_ns (several may come due at once). */
static void fz_poll_until(struct stack *st, uint64_t now_ns)
{
	for (int i = 0; i < FZ_MAX_POLLS && stack_next_deadline(st) <= now_ns; i++)
		stack_poll(st, now_ns);
}

/* A big-endian 16-bit field of the fuzzer's input. */
static uint16_t fz_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

/* Runs the clock through whatever is pending (timeouts, retries, TIME-WAIT), at most
 * FZ_MAX_POLLS deadlines, so the timer paths run too. */
static void fz_run_clock(struct stack *st, uint64_t now_ns)
{
	for (int i = 0; i < FZ_MAX_POLLS; i++) {
		uint64_t next = stack_next_deadline(st);

		if (next == STACK_NO_DEADLINE)
			break;
		if (next > now_ns)
			now_ns = next;
		stack_poll(st, now_ns);
	}
}

#endif
