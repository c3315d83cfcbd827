/* backends/vnet.c: the TAP's virtio-net header on receive. Partial checksums (the kernel's
 * CHECKSUM_PARTIAL: the pseudo-header sum in the field, the rest to be summed from
 * csum_start) are finished and compared with a full recompute, on frames captured from a
 * Linux 6.x TAP opened with IFF_VNET_HDR and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4) and on
 * a synthetic 64 KiB-class GSO segment; bad checksum positions and GSO types are rejected
 * and counted without touching the frame or reading past it.
 *
 * Frames are copied into heap buffers of exactly their length so that a read or write one
 * byte too far is caught by ASan/Valgrind. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vnet.h"
#include "harness.h"
#include "stack/wire/csum.h"
#include "stack/wire/eth.h"
#include "stack/wire/gso.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

/* Captured (read(2) from the TAP: the 10-byte header, then the frame). 10.88.0.1 ->
 * 10.88.0.2, the kernel's side sending. */

/* UDP 5353 -> 7, 23 data bytes (odd): flags NEEDS_CSUM, csum_start 34, csum_offset 6 */
static const char udp_hex[] =
	"01000000000022000600"
	"020000008802020000008801080045000033c57e4000401160890a5800010a58000214e90007001f"
	"14e368656c6c6f20766e65742c206f6464206c656e67746821";

/* TCP SYN 59580 -> 9 with MSS, SACK-permitted, timestamps, wscale: csum_start 34,
 * csum_offset 16 */
static const char syn_hex[] =
	"01000000000022001000"
	"02000000880202000000880108004500003caca14000400679680a5800010a580002e8bc00092a00"
	"916b00000000a002faf014e10000020405b40402080ac4594c3f000000000103030a";

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;

	ck_assert_uint_le(n, cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* A captured read: header parsed into h, the frame into a heap buffer of its length. */
static uint8_t *load(const char *hex, struct virtio_net_hdr *h, size_t *len)
{
	uint8_t raw[256];
	size_t n = unhex(hex, raw, sizeof(raw));
	uint8_t *f;

	ck_assert_uint_gt(n, VNET_HDR_LEN);
	vnet_hdr_parse(raw, h);
	*len = n - VNET_HDR_LEN;
	f = malloc(*len);
	ck_assert_ptr_nonnull(f);
	memcpy(f, raw + VNET_HDR_LEN, *len);
	return f;
}

static struct in_addr ip_src(const uint8_t *f)
{
	struct in_addr a;

	memcpy(&a, f + ETH_HDR_LEN + 12, 4);
	return a;
}

static struct in_addr ip_dst(const uint8_t *f)
{
	struct in_addr a;

	memcpy(&a, f + ETH_HDR_LEN + 16, 4);
	return a;
}

/* The checksum of the L4 part of f computed from scratch (field taken as zero). */
static uint16_t full_recompute(const uint8_t *f, size_t len, uint8_t proto, size_t field)
{
	size_t l4 = ETH_HDR_LEN + 20;
	uint8_t *copy = malloc(len);
	struct csum c = CSUM_INIT;
	uint16_t r;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, f, len);
	memset(copy + l4 + field, 0, 2);
	csum_feed_pseudo(&c, ip_src(f), ip_dst(f), proto, (uint16_t)(len - l4));
	csum_feed(&c, copy + l4, len - l4);
	r = proto == 17 ? udp_csum_finish(&c) : csum_finish(&c);
	free(copy);
	return r;
}

static uint16_t field16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

START_TEST(vnet_hdr_layout)
{
	uint8_t raw[VNET_HDR_LEN];
	struct virtio_net_hdr h;
	uint16_t start = 34, off = 16, gsz = 1448, hl = 66;

	ck_assert_uint_eq(VNET_HDR_LEN, 10);
	memset(raw, 0xaa, sizeof(raw));
	vnet_hdr_emit_none(raw);
	for (size_t i = 0; i < sizeof(raw); i++)
		ck_assert_uint_eq(raw[i], 0);
	/* Host byte order (legacy virtio on a TAP without TUNSETVNETLE/BE). */
	raw[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	raw[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	memcpy(raw + 2, &hl, 2);
	memcpy(raw + 4, &gsz, 2);
	memcpy(raw + 6, &start, 2);
	memcpy(raw + 8, &off, 2);
	vnet_hdr_parse(raw, &h);
	ck_assert_uint_eq(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	ck_assert_uint_eq(h.hdr_len, 66);
	ck_assert_uint_eq(h.gso_size, 1448);
	ck_assert_uint_eq(h.csum_start, 34);
	ck_assert_uint_eq(h.csum_offset, 16);
}
END_TEST

START_TEST(vnet_golden_udp)
{
	struct virtio_net_hdr h;
	struct vnet_stats st = { 0 };
	struct udp_hdr u;
	size_t len;
	uint8_t *f = load(udp_hex, &h, &len);
	size_t l4 = ETH_HDR_LEN + 20;

	ck_assert_uint_eq(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(h.csum_start, l4);
	ck_assert_uint_eq(h.csum_offset, 6);
	/* As read, the field holds only the pseudo-header sum: the stack would drop it. */
	ck_assert_int_eq(udp_hdr_parse(f + l4, len - l4, ip_src(f), ip_dst(f), &u), -EBADMSG);
	ck_assert_int_eq(vnet_rx_fixup(&h, f, len, &st), 0);
	ck_assert_uint_eq(st.csum_completed, 1);
	ck_assert_uint_eq(field16(f + l4 + 6), full_recompute(f, len, 17, 6));
	ck_assert_int_eq(udp_hdr_parse(f + l4, len - l4, ip_src(f), ip_dst(f), &u), 0);
	free(f);
}
END_TEST

START_TEST(vnet_golden_tcp_syn)
{
	struct virtio_net_hdr h;
	struct vnet_stats st = { 0 };
	struct tcp_hdr t;
	size_t len;
	uint8_t *f = load(syn_hex, &h, &len);
	size_t l4 = ETH_HDR_LEN + 20;

	ck_assert_uint_eq(h.csum_offset, 16);
	ck_assert_int_eq(tcp_hdr_parse(f + l4, len - l4, ip_src(f), ip_dst(f), true, &t),
			 -EBADMSG);
	ck_assert_int_eq(vnet_rx_fixup(&h, f, len, &st), 0);
	ck_assert_uint_eq(st.csum_completed, 1);
	ck_assert_uint_eq(st.gso_frames, 0);
	ck_assert_uint_eq(field16(f + l4 + 16), full_recompute(f, len, 6, 16));
	ck_assert_int_eq(tcp_hdr_parse(f + l4, len - l4, ip_src(f), ip_dst(f), true, &t), 0);
	ck_assert_uint_eq(t.opts.mss, 1460);
	free(f);
}
END_TEST

/* Ethernet padding after the IPv4 datagram is not summed. */
START_TEST(vnet_padding_not_summed)
{
	struct virtio_net_hdr h;
	struct udp_hdr u;
	size_t len;
	uint8_t *f = load(udp_hex, &h, &len);
	uint8_t *p = malloc(len + 9);
	size_t l4 = ETH_HDR_LEN + 20;

	ck_assert_ptr_nonnull(p);
	memcpy(p, f, len);
	memset(p + len, 0x5a, 9);
	ck_assert_int_eq(vnet_rx_fixup(&h, p, len + 9, NULL), 0);
	ck_assert_int_eq(udp_hdr_parse(p + l4, len - l4, ip_src(p), ip_dst(p), &u), 0);
	ck_assert_uint_eq(field16(p + l4 + 6), full_recompute(f, len, 17, 6));
	free(p);
	free(f);
}
END_TEST

/* A TCP segment as TSO hands it over: one IPv4 datagram of up to 65535 bytes, far above
 * the MSS, the pseudo-header sum (with the whole length) in the field. */
static uint8_t *gso_frame(size_t payload, size_t *len)
{
	size_t l4 = ETH_HDR_LEN + 20, tot = 20 + 20 + payload;
	uint8_t *f;
	struct in_addr src, dst;
	struct csum c = CSUM_INIT;
	uint16_t v;

	ck_assert_uint_le(tot, 65535);
	*len = ETH_HDR_LEN + tot;
	f = calloc(1, *len);
	ck_assert_ptr_nonnull(f);
	f[12] = 0x08;
	f[14] = 0x45;
	v = htons((uint16_t)tot);
	memcpy(f + 16, &v, 2);
	f[22] = 64;
	f[23] = 6;
	inet_pton(AF_INET, "10.88.0.1", &src);
	inet_pton(AF_INET, "10.88.0.2", &dst);
	memcpy(f + 26, &src, 4);
	memcpy(f + 30, &dst, 4);
	v = csum_buf(f + ETH_HDR_LEN, 20);
	memcpy(f + 24, &v, 2);
	v = htons(40000);
	memcpy(f + l4, &v, 2);
	v = htons(9);
	memcpy(f + l4 + 2, &v, 2);
	f[l4 + 12] = 5 << 4;
	f[l4 + 13] = 0x18; /* PSH, ACK */
	for (size_t i = 0; i < payload; i++)
		f[l4 + 20 + i] = (uint8_t)(i * 131 + 7);
	/* The field: the folded pseudo-header sum, not complemented (what the kernel's
	 * tcp_v4_send_check() leaves for the device). */
	csum_feed_pseudo(&c, src, dst, 6, (uint16_t)(tot - 20));
	v = (uint16_t)~csum_finish(&c);
	memcpy(f + l4 + 16, &v, 2);
	return f;
}

START_TEST(vnet_gso_tcpv4)
{
	static const size_t sizes[] = { 1448 * 45, 65535 - 40, 20001, 1, 0 };
	struct vnet_stats st = { 0 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len, l4 = ETH_HDR_LEN + 20;
		uint8_t *f = gso_frame(sizes[i], &len);
		struct virtio_net_hdr h = {
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | (i == 1 ? VIRTIO_NET_HDR_GSO_ECN : 0),
			.hdr_len = 54,
			.gso_size = 1448,
			.csum_start = (uint16_t)l4,
			.csum_offset = 16,
		};
		struct tcp_hdr t;

		ck_assert_int_eq(vnet_rx_fixup(&h, f, len, &st), 0);
		ck_assert_uint_eq(field16(f + l4 + 16), full_recompute(f, len, 6, 16));
		ck_assert_int_eq(tcp_hdr_parse(f + l4, len - l4, ip_src(f), ip_dst(f), true, &t),
				 0);
		free(f);
	}
	ck_assert_uint_eq(st.gso_frames, 5);
	ck_assert_uint_eq(st.csum_completed, 5);
}
END_TEST

/* Transmit: the header asking the kernel to finish and cut a super-segment. */
START_TEST(vnet_tx_gso_header)
{
	size_t len, l4 = ETH_HDR_LEN + 20;
	uint8_t *f = gso_frame(3000, &len);
	uint8_t raw[VNET_HDR_LEN];
	struct virtio_net_hdr h;

	/* The field gso_frame() leaves (the kernel's tcp_v4_send_check) is the stack's. */
	ck_assert_uint_eq(field16(f + l4 + 16),
			  gso_tcp4_partial_csum(ip_src(f), ip_dst(f), len - l4));
	memset(raw, 0xaa, sizeof(raw));
	ck_assert_int_eq(vnet_hdr_emit_gso(raw, f, len, 1448), 0);
	ck_assert_uint_eq(raw[0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(raw[1], VIRTIO_NET_HDR_GSO_TCPV4);
	vnet_hdr_parse(raw, &h);
	ck_assert_uint_eq(h.hdr_len, ETH_HDR_LEN + 20 + 20);
	ck_assert_uint_eq(h.gso_size, 1448);
	ck_assert_uint_eq(h.csum_start, l4);
	ck_assert_uint_eq(h.csum_offset, 16);
	/* What the kernel then does with the checksum is what our receive side does. */
	ck_assert_int_eq(vnet_rx_fixup(&h, f, len, NULL), 0);
	ck_assert_uint_eq(field16(f + l4 + 16), full_recompute(f, len, 6, 16));
	/* CWR: the segment is marked ECN, as Linux marks it SKB_GSO_TCP_ECN. */
	f[l4 + 13] |= 0x80;
	ck_assert_int_eq(vnet_hdr_emit_gso(raw, f, len, 1448), 0);
	ck_assert_uint_eq(raw[1], VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN);
	/* Not a TCP/IPv4 super-segment, or no usable size: refused. */
	ck_assert_int_eq(vnet_hdr_emit_gso(raw, f, len, 0), -EINVAL);
	ck_assert_int_eq(vnet_hdr_emit_gso(raw, f, len, 65536), -EINVAL);
	ck_assert_int_eq(vnet_hdr_emit_gso(raw, f, 40, 1448), -EINVAL);
	f[l4 - 20 + 9] = 17;
	ck_assert_int_eq(vnet_hdr_emit_gso(raw, f, len, 1448), -EINVAL);
	f[l4 - 20 + 9] = 6;
	f[12] = 0x86; /* EtherType 0x8600: not IPv4 */
	ck_assert_int_eq(vnet_hdr_emit_gso(raw, f, len, 1448), -EINVAL);
	free(f);
}
END_TEST

START_TEST(vnet_tx_gso_one_segment)
{
	/* Data within gso_size (or none): no segmentation asked, the checksum still is. */
	static const size_t sizes[] = { 1448, 1, 0 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len;
		uint8_t *f = gso_frame(sizes[i], &len);
		uint8_t raw[VNET_HDR_LEN];
		struct virtio_net_hdr h;

		ck_assert_int_eq(vnet_hdr_emit_gso(raw, f, len, 1448), 0);
		vnet_hdr_parse(raw, &h);
		ck_assert_uint_eq(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		ck_assert_uint_eq(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		ck_assert_uint_eq(h.gso_size, 0);
		ck_assert_uint_eq(h.csum_start, ETH_HDR_LEN + 20);
		free(f);
	}
}
END_TEST

/* Checksum positions outside the frame: -EINVAL, counted, frame untouched. */
START_TEST(vnet_bad_csum_pos)
{
	static const struct {
		uint16_t start, off;
	} bad[] = {
		{ 0, 40 },	   /* in the Ethernet header */
		{ 13, 6 },	   /* ditto */
		{ 65, 0 },	   /* start at the end */
		{ 64, 0 },	   /* one byte left: no room for the field */
		{ 34, 30 },	   /* field at the last byte */
		{ 34, 31 },	   /* past the end */
		{ 34, 0xffff },	   /* far past */
		{ 0xffff, 0xffff }, /* overflow bait */
		{ 0xffff, 6 },
	};
	struct virtio_net_hdr h;
	struct vnet_stats st = { 0 };
	size_t len;
	uint8_t *f = load(udp_hex, &h, &len);
	uint8_t *orig = malloc(len);

	ck_assert_uint_eq(len, 65);
	ck_assert_ptr_nonnull(orig);
	memcpy(orig, f, len);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h.csum_start = bad[i].start;
		h.csum_offset = bad[i].off;
		ck_assert_int_eq(vnet_rx_fixup(&h, f, len, &st), -EINVAL);
		ck_assert_mem_eq(f, orig, len);
		ck_assert_int_eq(vnet_rx_fixup(&h, f, len, NULL), -EINVAL);
	}
	ck_assert_uint_eq(st.bad_csum_pos, sizeof(bad) / sizeof(bad[0]));
	ck_assert_uint_eq(st.csum_completed, 0);
	/* The last two bytes exactly: accepted. */
	h.csum_start = 34;
	h.csum_offset = 29;
	ck_assert_int_eq(vnet_rx_fixup(&h, f, len, &st), 0);
	/* A frame too short for an IPv4 header: positions against the frame length. */
	h.csum_start = 14;
	h.csum_offset = 0;
	ck_assert_int_eq(vnet_rx_fixup(&h, f, 15, &st), -EINVAL);
	ck_assert_int_eq(vnet_rx_fixup(&h, f, 16, &st), 0);
	free(orig);
	free(f);
}
END_TEST

START_TEST(vnet_gso_types)
{
	static const uint8_t refused[] = { VIRTIO_NET_HDR_GSO_UDP, VIRTIO_NET_HDR_GSO_TCPV6,
					   5 /* VIRTIO_NET_HDR_GSO_UDP_L4 (USO) */,
					   VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN, 0x7f };
	struct virtio_net_hdr h;
	struct vnet_stats st = { 0 };
	size_t len;
	uint8_t *f = load(syn_hex, &h, &len);
	uint8_t *orig = malloc(len);

	ck_assert_ptr_nonnull(orig);
	memcpy(orig, f, len);
	for (size_t i = 0; i < sizeof(refused); i++) {
		h.gso_type = refused[i];
		ck_assert_int_eq(vnet_rx_fixup(&h, f, len, &st), -EPROTONOSUPPORT);
		ck_assert_mem_eq(f, orig, len);
	}
	ck_assert_uint_eq(st.bad_gso, sizeof(refused));
	/* No flag, no GSO: passed on as it is (the checksum, left partial, is the stack's
	 * to reject). */
	h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	h.flags = 0;
	ck_assert_int_eq(vnet_rx_fixup(&h, f, len, &st), 0);
	ck_assert_mem_eq(f, orig, len);
	/* DATA_VALID: nothing to do either. */
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	ck_assert_int_eq(vnet_rx_fixup(&h, f, len, &st), 0);
	ck_assert_mem_eq(f, orig, len);
	ck_assert_uint_eq(st.csum_completed, 0);
	free(orig);
	free(f);
}
END_TEST

/* The header's word on the transport checksum (issue 11 item 11): DATA_VALID (the kernel
 * verified it, CHECKSUM_UNNECESSARY) and a checksum just completed here need no second
 * pass; anything else is verified by the stack. DATA_VALID leaves the frame untouched. */
START_TEST(vnet_csum_trusted)
{
	struct virtio_net_hdr h;
	struct vnet_stats st = { 0 };
	size_t len;
	uint8_t *f = load(udp_hex, &h, &len), *copy = malloc(len);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, f, len);
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	ck_assert_int_eq(vnet_rx_fixup(&h, f, len, &st), 0);
	ck_assert_int_eq(memcmp(f, copy, len), 0); /* nothing summed, nothing written */
	ck_assert(vnet_rx_csum_trusted(&h));
	ck_assert_uint_eq(st.csum_trusted, 1);
	ck_assert_uint_eq(st.csum_completed, 0);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	ck_assert(vnet_rx_csum_trusted(&h));
	h.flags = 0;
	ck_assert(!vnet_rx_csum_trusted(&h));
	free(copy);
	free(f);
}
END_TEST

/* A UDP datagram to a closed port and a TCP SYN to a closed port, both with a wrong
 * checksum: verified and dropped as ordinary frames; with STACK_RX_L4_CSUM_OK (what the
 * daemon passes for a trusted vnet header) not summed again, so they reach the port lookup
 * (UdpNoPorts, a RST). A fragmented datagram is verified whatever the flag says: the flag
 * is per frame, the checksum covers the whole datagram. */
static size_t bad_l4(uint8_t *buf, uint8_t proto, uint16_t id, uint16_t off, bool mf)
{
	uint8_t l4[24];

	memset(l4, 0, sizeof(l4));
	l4[0] = 0x9c; /* source port 40000 */
	l4[1] = 0x40;
	l4[3] = 5; /* destination port 5, closed */
	if (proto == 17) {
		l4[5] = sizeof(l4); /* UDP length */
		l4[6] = 0x12;	    /* a wrong checksum (not 0: that means none) */
		l4[7] = 0x34;
	} else {
		l4[12] = 5 << 4; /* data offset */
		l4[13] = 0x02;	 /* SYN */
		l4[14] = 0xff;	 /* window */
		l4[16] = 0x12;	 /* a wrong checksum */
	}
	return h_frame_ipv4(buf, proto, id, off, mf, l4, proto == 17 ? sizeof(l4) : 20);
}

/* f (with a wrong checksum) is dropped as an ordinary frame (csum_err), reaches the port
 * lookup (reached) with STACK_RX_L4_CSUM_OK, and is dropped again without: the flag does
 * not outlive its frame. */
static void expect_trusted(struct h_host *h, const uint8_t *f, size_t n, enum stat_id csum_err,
			   enum stat_id reached)
{
	uint64_t e0 = h_stat(h->st, csum_err), r0 = h_stat(h->st, reached);

	h_host_input(h, f, n);
	ck_assert_uint_eq(h_stat(h->st, csum_err), e0 + 1);
	ck_assert_uint_eq(h_stat(h->st, reached), r0);
	stack_input_flags(h->st, &h->pair.a.nif, f, n, h->now_ns, STACK_RX_L4_CSUM_OK);
	ck_assert_uint_eq(h_stat(h->st, csum_err), e0 + 1);
	ck_assert_uint_eq(h_stat(h->st, reached), r0 + 1);
	h_host_input(h, f, n);
	ck_assert_uint_eq(h_stat(h->st, csum_err), e0 + 2);
}

START_TEST(vnet_stack_trusts_verified_csum)
{
	struct h_host h;
	uint8_t f[128];
	size_t n;

	h_host_init(&h, 1500, NULL, false);
	n = bad_l4(f, 17, 1, 0, false);
	expect_trusted(&h, f, n, STAT_UdpInCsumErrors, STAT_UdpNoPorts);
	n = bad_l4(f, 6, 2, 0, false);
	expect_trusted(&h, f, n, STAT_TcpInCsumErrors, STAT_TcpOutRsts);

	/* UDP in two fragments (16 + 8 bytes of the 24), each flagged: still verified */
	{
		uint8_t full[128], frag[128], *udp;
		size_t m = bad_l4(full, 17, 3, 0, false);

		udp = full + ETH_HDR_LEN + 20;
		n = h_frame_ipv4(frag, 17, 3, 0, true, udp, 16);
		stack_input_flags(h.st, &h.pair.a.nif, frag, n, h.now_ns, STACK_RX_L4_CSUM_OK);
		n = h_frame_ipv4(frag, 17, 3, 16, false, udp + 16, m - ETH_HDR_LEN - 20 - 16);
		stack_input_flags(h.st, &h.pair.a.nif, frag, n, h.now_ns, STACK_RX_L4_CSUM_OK);
		ck_assert_uint_eq(h_stat(h.st, STAT_IpReasmOKs), 1);
		ck_assert_uint_eq(h_stat(h.st, STAT_UdpInCsumErrors), 3);
	}
	h_host_fini(&h);
}
END_TEST

/* Random bytes as header and frame: never a crash or an out-of-bounds access; a frame that
 * passes had its field written only inside the frame. */
START_TEST(vnet_random)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < 20000; i++) {
		uint8_t raw[VNET_HDR_LEN];
		struct virtio_net_hdr h;
		size_t len;
		uint8_t *f;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = (size_t)(x % 200);
		f = malloc(len ? len : 1);
		ck_assert_ptr_nonnull(f);
		for (size_t j = 0; j < len; j++)
			f[j] = (uint8_t)(x >> (j % 56));
		for (size_t j = 0; j < sizeof(raw); j++)
			raw[j] = (uint8_t)(x >> (j * 5));
		raw[7] = (uint8_t)(raw[7] & 0x00); /* csum_start < 256: near the frame often */
		raw[9] = (uint8_t)(raw[9] & 0x00);
		vnet_hdr_parse(raw, &h);
		(void)vnet_rx_fixup(&h, f, len, NULL);
		free(f);
	}
}
END_TEST

static Suite *vnet_suite(void)
{
	Suite *s = suite_create("vnet");
	TCase *tc = tcase_create("rx");

	tcase_add_test(tc, vnet_hdr_layout);
	tcase_add_test(tc, vnet_golden_udp);
	tcase_add_test(tc, vnet_golden_tcp_syn);
	tcase_add_test(tc, vnet_padding_not_summed);
	tcase_add_test(tc, vnet_gso_tcpv4);
	tcase_add_test(tc, vnet_tx_gso_header);
	tcase_add_test(tc, vnet_tx_gso_one_segment);
	tcase_add_test(tc, vnet_bad_csum_pos);
	tcase_add_test(tc, vnet_gso_types);
	tcase_add_test(tc, vnet_random);
	tcase_add_test(tc, vnet_csum_trusted);
	tcase_add_test(tc, vnet_stack_trusts_verified_csum);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(vnet_suite());
}
