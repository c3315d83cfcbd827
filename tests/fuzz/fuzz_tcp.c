/* libFuzzer target: TCP segments into an ESTABLISHED connection.
 *
 * Each input gets a fresh stack (10.203.0.2/24, MAC 02:00:00:00:00:02) with a listener on
 * port 7 whose connections echo what they read. A peer 10.203.0.1:40000 (a static ARP
 * entry, so nothing waits for resolution) opens a connection with hand-made frames: a SYN
 * with MSS, window scale, SACK-permitted and timestamps, then the ACK of the SYN-ACK, whose
 * ISN and timestamp are read from what the stack writes. Then the input is fed as segments
 * from the peer, each wrapped in Ethernet and IPv4 (and, unless asked not to, given a
 * correct TCP checksum), with the clock advanced and stack_poll() run between them; at the
 * end the connection is closed, the clock runs through what is pending and the stack is
 * freed (LeakSanitizer checks that every queue, socket and timer went with it).
 *
 * Input format (byte 0 picks the mode):
 *   bit 0 = 0, raw: [len: u16 BE][dt: u8][len bytes: the TCP header and data]...
 *   bit 0 = 1, near the window: [flags: u8][dseq: s16 BE][dack: s16 BE][wnd: u16 BE]
 *       [ctl: u8][optlen: u8, at most 40][options][paylen: u16 BE, at most 1500][dt: u8]
 *       [payload]...; seq = the peer's SND.NXT + dseq, ack = the stack's SND.NXT + dack;
 *       ctl bit 0: append a valid timestamp option after the fuzzed ones;
 *       ctl bit 1: the stack's user reads nothing (its receive window fills).
 *   bit 1: keep the checksum as given (raw) or corrupt it (near the window): the drop path.
 *   bit 2: the stack's user shuts its sending side before the segments (FIN-WAIT states).
 *   bit 3: the device refuses every other write with -ENOBUFS.
 *   bit 4: keepalive on the connection (1 s idle, 1 s apart, 2 probes): the clock's runs
 *          reach the probes and the drop.
 *   bit 5: no Nagle (TCP_SO_NODELAY); bit 6: a 3 s user timeout (TCP_SO_USER_TIMEOUT_MS).
 *   bit 7: receive batches (stack_input_batch_begin/end): the segments between two clock
 *          advances (dt > 0) are one batch, so ACKs are deferred and coalesced.
 * dt advances the clock by dt * 10 ms before the segment. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "stack/arp.h"
#include "stack/stack.h"
#include "stack/tcp.h"
#include "stack/wire/csum.h"
#include "stack/wire/eth.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"

#include "fuzz_dev.h"

#define FZ_MAX_SEGMENTS 64 /* bounds the work per input */
#define FZ_MAX_PAYLOAD 1500
#define FZ_PEER_PORT 40000
#define FZ_PORT 7
#define FZ_PEER_ISN 1000u

static uint8_t rx_frame[ETH_HDR_LEN + IPV4_HDR_LEN + IPV4_MAX_LEN];

static const struct mac fz_mac = { { 0x02, 0, 0, 0, 0, 0x02 } };
static const struct mac fz_peer_mac = { { 0x02, 0, 0, 0, 0, 0x01 } };

/* The peer: the device, and what the stack sent on the connection (its SND.NXT and latest
 * timestamp). */
struct fz_peer {
	struct fz_dev dev;
	bool seen_synack;
	uint32_t srv_isn, srv_nxt, srv_tsval;
};

/* The peer's view of the stack's segments. */
static void fz_observe(struct fz_dev *d, const uint8_t *frame, size_t len)
{
	struct fz_peer *dev = (struct fz_peer *)d;
	struct eth_hdr eh;
	struct ipv4_hdr ih;
	struct tcp_hdr th;
	uint32_t end;

	if (eth_hdr_parse(frame, len, &eh) < 0 || eh.type != ETH_TYPE_IPV4)
		return;
	frame += ETH_HDR_LEN;
	len -= ETH_HDR_LEN;
	if (ipv4_hdr_parse(frame, len, &ih) < 0 || ih.proto != IPV4_PROTO_TCP ||
	    ih.total_len > len || ih.total_len < ih.hdr_len)
		return;
	if (tcp_hdr_parse(frame + ih.hdr_len, ih.total_len - ih.hdr_len, ih.src, ih.dst, false,
			  &th) < 0 || th.sport != FZ_PORT || th.dport != FZ_PEER_PORT)
		return;
	if ((th.flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && !dev->seen_synack) {
		dev->seen_synack = true;
		dev->srv_isn = th.seq;
		dev->srv_nxt = th.seq + 1;
	}
	end = th.seq + (uint32_t)(ih.total_len - ih.hdr_len - th.hdr_len) +
	      ((th.flags & TCP_SYN) ? 1 : 0) + ((th.flags & TCP_FIN) ? 1 : 0);
	if (dev->seen_synack && (int32_t)(end - dev->srv_nxt) > 0)
		dev->srv_nxt = end;
	if (th.opts.has_ts)
		dev->srv_tsval = th.opts.tsval;
}

/* The application: accepts, echoes what it reads (unless told to leave it unread). */
struct fz_app {
	struct tcp_sock *conn;
	bool no_read, closed;
};

static void fz_pump(struct tcp_sock *s, struct fz_app *app)
{
	uint8_t buf[4096];

	if (app->no_read)
		return;
	for (int i = 0; i < 64; i++) {
		ssize_t n = tcp_recv(s, buf, sizeof(buf));

		if (n <= 0)
			return;
		(void)tcp_send(s, buf, (size_t)n); /* short or refused: the echo is lost */
	}
}

static void fz_readable(struct tcp_sock *s, void *user)
{
	fz_pump(s, user);
}

static void fz_writable(struct tcp_sock *s, void *user)
{
	fz_pump(s, user);
}

static void fz_closed(struct tcp_sock *s, void *user, int err)
{
	struct fz_app *app = user;

	(void)err;
	tcp_close(s);
	app->conn = NULL;
	app->closed = true;
}

static const struct tcp_sock_ops fz_conn_ops = {
	.readable = fz_readable,
	.writable = fz_writable,
	.closed = fz_closed,
};

static void fz_accept_ready(struct tcp_sock *ls, void *user)
{
	struct fz_app *app = user;
	struct tcp_sock *s;

	while (tcp_accept(ls, &fz_conn_ops, app, &s) == 0) {
		if (app->conn || app->closed)
			tcp_abort(s); /* one connection per input */
		else
			app->conn = s;
	}
}

static const struct tcp_sock_ops fz_listen_ops = { .accept_ready = fz_accept_ready };

enum fz_csum {
	FZ_CSUM_KEEP,  /* as given */
	FZ_CSUM_FIX,   /* computed */
	FZ_CSUM_BREAK, /* computed, then made wrong */
};

/* Wraps a TCP segment from the peer in IPv4 and Ethernet and delivers it; the TCP checksum
 * (at offset 16, when the segment has room for it) as cs says. */
static void fz_deliver(struct stack *st, struct netif *nif, const uint8_t *seg, size_t len,
		       enum fz_csum cs, uint64_t now)
{
	struct eth_hdr eh = { .dst = fz_mac, .src = fz_peer_mac, .type = ETH_TYPE_IPV4 };
	struct ipv4_hdr ih = { .hdr_len = IPV4_HDR_LEN, .ttl = 64, .proto = IPV4_PROTO_TCP,
			       .df = true };
	uint8_t *tcp = rx_frame + ETH_HDR_LEN + IPV4_HDR_LEN;

	if (len > IPV4_MAX_LEN - IPV4_HDR_LEN)
		len = IPV4_MAX_LEN - IPV4_HDR_LEN;
	ih.total_len = (uint16_t)(IPV4_HDR_LEN + len);
	ih.src = addr_from_host(0x0acb0001);
	ih.dst = addr_from_host(0x0acb0002);
	eth_hdr_emit(&eh, rx_frame);
	ipv4_hdr_emit(&ih, rx_frame + ETH_HDR_LEN);
	memcpy(tcp, seg, len);
	if (cs != FZ_CSUM_KEEP && len >= TCP_HDR_LEN) {
		struct csum c = CSUM_INIT;
		uint16_t sum;

		tcp[16] = tcp[17] = 0;
		csum_feed_pseudo(&c, ih.src, ih.dst, IPV4_PROTO_TCP, (uint16_t)len);
		csum_feed(&c, tcp, len);
		sum = csum_finish(&c);
		if (cs == FZ_CSUM_BREAK)
			sum ^= 0x0101; /* not 0 <-> 0xffff, the one equivalence */
		memcpy(tcp + 16, &sum, sizeof(sum));
	}
	stack_input(st, nif, rx_frame, ETH_HDR_LEN + IPV4_HDR_LEN + len, now);
}

/* A segment from the peer built with the wire layer: header, options, payload. */
static void fz_send(struct stack *st, struct fz_peer *dev, const struct tcp_hdr *h,
		    const uint8_t *raw_opts, size_t raw_optlen, const uint8_t *payload,
		    size_t paylen, bool bad_csum, uint64_t now)
{
	static uint8_t seg[TCP_HDR_MAX + FZ_MAX_PAYLOAD];
	size_t hl = tcp_hdr_emit(h, seg);

	if (raw_optlen > 0) {
		/* Fuzzed option bytes first, then the emitted ones, padded with NOPs to a
		 * multiple of 4 within the 40-byte limit. */
		uint8_t opts[TCP_OPT_MAX];
		size_t emitted = hl - TCP_HDR_LEN, n = raw_optlen;

		if (n + emitted > TCP_OPT_MAX)
			n = TCP_OPT_MAX - emitted;
		memcpy(opts, raw_opts, n);
		memcpy(opts + n, seg + TCP_HDR_LEN, emitted);
		n += emitted;
		while (n % 4)
			opts[n++] = TCP_OPT_NOP;
		memcpy(seg + TCP_HDR_LEN, opts, n);
		hl = TCP_HDR_LEN + n;
		seg[12] = (uint8_t)((hl / 4) << 4);
	}
	if (paylen > 0)
		memcpy(seg + hl, payload, paylen);
	fz_deliver(st, &dev->dev.nif, seg, hl + paylen, bad_csum ? FZ_CSUM_BREAK : FZ_CSUM_FIX, now);
}

/* With batches on, a clock advance of dt ends the current batch (at the old time) and
 * starts the next. */
static void fz_batch_tick(struct stack *st, bool batches, uint8_t dt, uint64_t now)
{
	if (!batches || dt == 0)
		return;
	stack_input_batch_end(st, now);
	stack_input_batch_begin(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[32] = { 0x75, 0x73, 0x74, 0x61, 0x63, 0x6b }; /* "ustack" */
	struct fz_peer dev = { .dev = { .nif = { .ops = &fz_ops, .mac = fz_mac, .mtu = 1500 },
					.observe = fz_observe } };
	struct fz_app app = { 0 };
	struct stack_config cfg;
	struct tcp_sock *ls = NULL;
	struct stack *st;
	struct rng rng;
	struct tcp_hdr h;
	uint64_t now = FZ_START_NS;
	uint32_t peer_nxt = FZ_PEER_ISN + 1, peer_ts = 1;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	dev.dev.flaky = (mode & 0x08) != 0;
	data++;
	size--;

	rng_seed(&rng, seed);
	stack_config_defaults(&cfg);
	cfg.gateway = addr_from_host(0x0acb0001);
	if (stack_new(&cfg, &dev.dev.nif, rng_random_fn, &rng, now, &st) < 0)
		__builtin_trap();
	stack_up(st, now);
	arp_add_static(stack_arp(st), addr_from_host(0x0acb0001), fz_peer_mac);
	if (tcp_open(st, &fz_listen_ops, &app, &ls) < 0 ||
	    tcp_bind(ls, addr_from_host(INADDR_ANY), FZ_PORT) < 0 || tcp_listen(ls, 4) < 0)
		__builtin_trap();

	/* The handshake. */
	memset(&h, 0, sizeof(h));
	h.sport = FZ_PEER_PORT;
	h.dport = FZ_PORT;
	h.seq = FZ_PEER_ISN;
	h.flags = TCP_SYN;
	h.wnd = 65535;
	h.opts.has_mss = true;
	h.opts.mss = 1460;
	h.opts.has_ws = true;
	h.opts.ws = 7;
	h.opts.sack_perm = true;
	h.opts.has_ts = true;
	h.opts.tsval = peer_ts;
	dev.dev.flaky = false; /* the handshake itself always gets through */
	now += FZ_NS_PER_MS;
	fz_send(st, &dev, &h, NULL, 0, NULL, 0, false, now);
	if (!dev.seen_synack)
		__builtin_trap(); /* a SYN to a listener must be answered */
	memset(&h.opts, 0, sizeof(h.opts));
	h.seq = peer_nxt;
	h.ack = dev.srv_nxt;
	h.flags = TCP_ACK;
	h.wnd = 512; /* << 7: 64 KiB */
	h.opts.has_ts = true;
	h.opts.tsval = ++peer_ts;
	h.opts.tsecr = dev.srv_tsval;
	now += FZ_NS_PER_MS;
	fz_send(st, &dev, &h, NULL, 0, NULL, 0, false, now);
	if (!app.conn || tcp_sock_state(app.conn) != TCP_STATE_ESTABLISHED)
		__builtin_trap(); /* the handshake must complete */
	dev.dev.flaky = (mode & 0x08) != 0;
	if (mode & 0x10) {
		tcp_setopt(app.conn, TCP_SO_KEEPALIVE, 1);
		tcp_setopt(app.conn, TCP_SO_KEEPIDLE_S, 1);
		tcp_setopt(app.conn, TCP_SO_KEEPINTVL_S, 1);
		tcp_setopt(app.conn, TCP_SO_KEEPCNT, 2);
	}
	if (mode & 0x20)
		tcp_setopt(app.conn, TCP_SO_NODELAY, 1);
	if (mode & 0x40)
		tcp_setopt(app.conn, TCP_SO_USER_TIMEOUT_MS, 3000);
	if (mode & 0x04)
		tcp_shutdown(app.conn, SHUT_WR);
	if (mode & 0x80)
		stack_input_batch_begin(st);

	for (unsigned nseg = 0; nseg < FZ_MAX_SEGMENTS && size > 0; nseg++) {
		if (!(mode & 0x01)) {
			size_t len;

			if (size < 3)
				break;
			len = fz_be16(data);
			fz_batch_tick(st, mode & 0x80, data[2], now);
			now += data[2] * 10 * FZ_NS_PER_MS;
			data += 3;
			size -= 3;
			if (len > size)
				len = size;
			fz_poll_until(st, now);
			fz_deliver(st, &dev.dev.nif, data, len,
				   (mode & 0x02) ? FZ_CSUM_KEEP : FZ_CSUM_FIX, now);
			data += len;
			size -= len;
		} else {
			const uint8_t *opts, *payload;
			size_t optlen, paylen;
			uint8_t ctl;

			if (size < 9)
				break;
			memset(&h, 0, sizeof(h));
			h.sport = FZ_PEER_PORT;
			h.dport = FZ_PORT;
			h.flags = data[0];
			h.seq = peer_nxt + (uint32_t)(int32_t)(int16_t)fz_be16(data + 1);
			h.ack = dev.srv_nxt + (uint32_t)(int32_t)(int16_t)fz_be16(data + 3);
			h.wnd = fz_be16(data + 5);
			ctl = data[7];
			optlen = data[8] > TCP_OPT_MAX ? TCP_OPT_MAX : data[8];
			data += 9;
			size -= 9;
			if (optlen > size)
				optlen = size;
			opts = data;
			data += optlen;
			size -= optlen;
			if (size < 3)
				break;
			paylen = fz_be16(data);
			if (paylen > FZ_MAX_PAYLOAD)
				paylen = FZ_MAX_PAYLOAD;
			fz_batch_tick(st, mode & 0x80, data[2], now);
			now += data[2] * 10 * FZ_NS_PER_MS;
			data += 3;
			size -= 3;
			if (paylen > size)
				paylen = size;
			payload = data;
			data += paylen;
			size -= paylen;
			if (ctl & 0x01) {
				h.opts.has_ts = true;
				h.opts.tsval = ++peer_ts;
				h.opts.tsecr = dev.srv_tsval;
			}
			app.no_read = (ctl & 0x02) != 0;
			fz_poll_until(st, now);
			fz_send(st, &dev, &h, opts, optlen, payload, paylen, (mode & 0x02) != 0,
				now);
			/* In sequence: the peer's stream moves on (an ACK that fits or not). */
			if (h.seq == peer_nxt)
				peer_nxt += (uint32_t)paylen + ((h.flags & TCP_FIN) ? 1 : 0) +
					    ((h.flags & TCP_SYN) ? 1 : 0);
		}
	}

	if (mode & 0x80)
		stack_input_batch_end(st, now);

	/* The user is done: close, then run the clock through the stack's close (FIN
	 * retransmissions, FIN-WAIT-2 and TIME-WAIT timers, keepalive). */
	if (app.conn) {
		app.no_read = false;
		fz_pump(app.conn, &app);
		tcp_close(app.conn);
		app.conn = NULL;
	}
	fz_run_clock(st, now);
	tcp_close(ls);
	stack_free(st);
	return 0;
}
