/* libFuzzer target: received Ethernet frames into a whole stack.
 *
 * Each input gets a fresh stack (10.203.0.2/24, gateway 10.203.0.1, MAC 02:00:00:00:00:02,
 * a UDP echo service on port 7), so no state leaks between inputs and LeakSanitizer checks
 * that stack_free() releases everything that frames made the stack allocate (reassembly
 * buffers, ARP queues). Output frames are written into a static buffer and dropped.
 *
 * Input format (tests/fuzz/make_corpus.py writes seeds in it):
 *   byte 0, low 4 bits: 0 = one frame, the rest of the input;
 *                       N = N frames, each [len: u16 BE][dt: u8][len bytes] (the last one
 *                           takes what is left if shorter), so that fragments of one
 *                           datagram arrive as separate frames and reassembly is driven.
 *   byte 0, bit 4: MTU 576 instead of 1500 (replies get fragmented).
 *   byte 0, bit 5: the device refuses every other write with -ENOBUFS.
 * Time starts at 1 s and advances by dt * 100 ms before each frame (one frame: 1 ms), with
 * stack_poll() run at every deadline passed; at the end the clock runs through the pending
 * deadlines (reassembly timeout, ARP retries) so the timer paths run too. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stack/stack.h"
#include "stack/wire/eth.h"

#include "fuzz_dev.h"

/* UDP echo (RFC 862): exercises the socket receive and send paths with fuzzed data. */
static int fz_udp_recv(struct udp_sock *s, void *user, const struct udp_dgram *d)
{
	struct iovec iov = { .iov_base = (void *)d->data, .iov_len = d->len };

	(void)user;
	udp_sendto(s, d->src, d->sport, &iov, 1, NULL);
	return 0;
}

static void fz_udp_error(struct udp_sock *s, void *user, const struct icmp_err *e)
{
	(void)s;
	(void)user;
	(void)e;
}

static const struct udp_sock_ops fz_udp_ops = { .recv = fz_udp_recv, .error = fz_udp_error };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[32] = { 0x75, 0x73, 0x74, 0x61, 0x63, 0x6b }; /* "ustack" */
	struct fz_dev dev = { .nif = { .ops = &fz_ops,
				       .mac = { { 0x02, 0, 0, 0, 0, 0x02 } } } };
	struct stack_config cfg;
	struct stack *st;
	struct udp_sock *echo = NULL;
	struct rng rng;
	uint64_t now = FZ_START_NS;
	unsigned nframes;

	if (size < 1)
		return 0;
	nframes = data[0] & 0x0f;
	dev.nif.mtu = (data[0] & 0x10) ? 576 : 1500;
	dev.flaky = (data[0] & 0x20) != 0;
	data++;
	size--;

	rng_seed(&rng, seed);
	stack_config_defaults(&cfg);
	cfg.gateway = addr_from_host(0x0acb0001); /* 10.203.0.1: off-link replies route */
	if (stack_new(&cfg, &dev.nif, rng_random_fn, &rng, now, &st) < 0)
		__builtin_trap(); /* the defaults must be accepted */
	stack_up(st, now);
	udp_open(st, 7, &fz_udp_ops, NULL, &echo);

	if (nframes == 0) {
		now += FZ_NS_PER_MS;
		fz_poll_until(st, now);
		stack_input(st, &dev.nif, data, size, now);
	} else {
		for (unsigned i = 0; i < nframes && size >= 3; i++) {
			size_t len = fz_be16(data);

			now += data[2] * 100 * FZ_NS_PER_MS;
			data += 3;
			size -= 3;
			if (len > size)
				len = size;
			/* Timers first, as the daemon's event loop would run them. */
			fz_poll_until(st, now);
			stack_input(st, &dev.nif, data, len, now);
			data += len;
			size -= len;
		}
	}
	/* Run the clock through what is pending: reassembly timeouts (and their ICMP time
	 * exceeded), ARP retries and failures. */
	fz_run_clock(st, now);

	if (echo)
		udp_close(echo);
	stack_free(st);
	return 0;
}
