/* libFuzzer target: the software TCP segmentation of a super-segment (stack/wire/gso.c)
 * and the TAP's transmit virtio-net header (backends/vnet.c).
 *
 * The input is a 2-byte gso_size (big-endian) and an IPv4 datagram. Whatever
 * gso_tcp4_parse() accepts is cut after its TCP checksum field is given the right partial
 * sum (as the IPv4 layer writes it), and every segment must then be one a receiver
 * accepts: within hdr_len + gso_size bytes, valid IPv4 and TCP checksums, its IPv4 total
 * length, the data slice it should carry; the slices add up to the data. The same datagram
 * in an Ethernet frame gets a vnet header whose positions must lie inside the frame.
 * Buffers are heap copies of exactly their size so that ASan catches a byte too far.
 * Seeds: tests/fuzz/corpus/gso. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vnet.h"
#include "stack/wire/be.h"
#include "stack/wire/csum.h"
#include "stack/wire/gso.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void fz_segments(uint8_t *pkt, size_t len, unsigned gso)
{
	struct gso_tcp4 g;
	struct in_addr src, dst;
	uint16_t partial;
	uint8_t *out;
	size_t total = 0;

	if (gso_tcp4_parse(&g, pkt, len, gso) < 0)
		return;
	fz_check(g.segs >= 1 && g.hdr_len <= g.pkt_len && g.pkt_len <= len);
	memcpy(&src, pkt + 12, 4);
	memcpy(&dst, pkt + 16, 4);
	partial = gso_tcp4_partial_csum(src, dst, g.pkt_len - g.ip_hdr_len);
	memcpy(pkt + g.ip_hdr_len + 16, &partial, 2);
	out = malloc(g.hdr_len + g.gso_size);
	if (!out)
		return;
	for (unsigned i = 0; i < g.segs; i++) {
		size_t n = gso_tcp4_segment(&g, i, out);
		size_t data = n - g.hdr_len;
		struct csum c = CSUM_INIT;

		fz_check(n >= g.hdr_len && n <= g.hdr_len + g.gso_size);
		fz_check(be16_load(out + 2) == n);
		fz_check(csum_buf(out, g.ip_hdr_len) == 0);
		csum_feed_pseudo(&c, src, dst, 6, (uint16_t)(n - g.ip_hdr_len));
		csum_feed(&c, out + g.ip_hdr_len, n - g.ip_hdr_len);
		fz_check(csum_finish(&c) == 0);
		fz_check(memcmp(out + g.hdr_len, pkt + g.hdr_len + (size_t)i * g.gso_size, data) ==
			 0);
		fz_check(i + 1 == g.segs || data == g.gso_size);
		total += data;
	}
	fz_check(total == g.data_len);
	free(out);
}

static void fz_vnet(const uint8_t *ip, size_t len, unsigned gso)
{
	uint8_t *f = malloc(14 + len);
	uint8_t hdr[VNET_HDR_LEN];
	struct virtio_net_hdr h;

	if (!f)
		return;
	memset(f, 0, 12);
	f[12] = 0x08;
	f[13] = 0x00;
	memcpy(f + 14, ip, len);
	if (vnet_hdr_emit_gso(hdr, f, 14 + len, gso) == 0) {
		vnet_hdr_parse(hdr, &h);
		fz_check(h.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM);
		fz_check(h.csum_start >= 14 + 20 && h.csum_start + h.csum_offset + 2u <= h.hdr_len);
		fz_check(h.hdr_len <= 14 + len);
		/* and what the kernel does with the checksum, our receive side does too */
		fz_check(vnet_rx_fixup(&h, f, 14 + len, NULL) == 0);
	}
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *pkt;
	unsigned gso;

	if (size < 2 || size > 2 + 65535)
		return 0;
	gso = be16_load(data);
	pkt = malloc(size - 2 ? size - 2 : 1);
	if (!pkt)
		return 0;
	memcpy(pkt, data + 2, size - 2);
	fz_vnet(pkt, size - 2, gso);
	fz_segments(pkt, size - 2, gso);
	free(pkt);
	return 0;
}
