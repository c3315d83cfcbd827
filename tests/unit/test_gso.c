/* TCP segmentation offload below TCP: the software splitter (stack/wire/gso.c) against
 * hand-built expectations, and ipv4_write() with gso_size over the memory pair, through a
 * device with TSO (the memory port cuts as a TAP's kernel does), without it (the stack
 * cuts), with ARP pending, and small enough not to be cut at all. Every wire segment is
 * checked as a receiver would: IPv4 and TCP checksums, lengths, IDs, sequence numbers,
 * flags and data. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "stack/arp.h"
#include "stack/stack_var.h"
#include "stack/wire/arp.h"
#include "stack/wire/be.h"
#include "stack/wire/csum.h"
#include "stack/wire/eth.h"
#include "stack/wire/gso.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"

#define SRC "10.0.0.1"
#define DST "10.0.0.2"
#define SEQ0 0xfffffff0u /* the segments' sequence numbers wrap */
#define MAXPKT 65536

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 13 + (i >> 9) + 1);
}

/* A TCP header of thl bytes (options: NOPs then a timestamp option when 32) into th. */
static void tcp_hdr_build(uint8_t *th, size_t thl, uint8_t flags)
{
	memset(th, 0, thl);
	be16_store(th, 40000);
	be16_store(th + 2, 9);
	be32_store(th + 4, SEQ0);
	be32_store(th + 8, 77);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = flags;
	be16_store(th + 14, 29200);
	be16_store(th + 16, 0xdead); /* garbage: the IPv4 layer owns the field */
	if (thl == 32) {
		th[20] = 1;
		th[21] = 1;
		th[22] = 8;
		th[23] = 10;
		be32_store(th + 24, 0x01020304);
		be32_store(th + 28, 0x05060708);
	}
}

/* A super-segment as the IPv4 layer hands it to a device: DF, partial TCP checksum. */
static size_t super_build(uint8_t *pkt, size_t thl, uint8_t flags, size_t data_len, uint16_t id)
{
	size_t tot = IPV4_HDR_LEN + thl + data_len;
	struct ipv4_hdr h = {
		.tos = 0,
		.total_len = (uint16_t)tot,
		.id = id,
		.df = true,
		.ttl = 64,
		.proto = IPV4_PROTO_TCP,
		.src = h_ip(SRC),
		.dst = h_ip(DST),
	};
	uint16_t partial;

	ipv4_hdr_emit(&h, pkt);
	tcp_hdr_build(pkt + IPV4_HDR_LEN, thl, flags);
	for (size_t i = 0; i < data_len; i++)
		pkt[IPV4_HDR_LEN + thl + i] = pattern(i);
	partial = gso_tcp4_partial_csum(h.src, h.dst, thl + data_len);
	memcpy(pkt + IPV4_HDR_LEN + 16, &partial, 2);
	return tot;
}

/* TCP checksum of a datagram as a receiver verifies it: 0 when right. */
static uint16_t tcp_verify(const uint8_t *pkt, size_t len)
{
	struct csum c = CSUM_INIT;
	struct in_addr s, d;
	size_t ihl = (size_t)(pkt[0] & 15) * 4;

	memcpy(&s, pkt + 12, 4);
	memcpy(&d, pkt + 16, 4);
	csum_feed_pseudo(&c, s, d, IPV4_PROTO_TCP, (uint16_t)(len - ihl));
	csum_feed(&c, pkt + ihl, len - ihl);
	return csum_finish(&c);
}

/* Checks segment i of a burst cut from a super-segment with these parameters: lengths,
 * IP ID, DF, checksums, sequence number, flags, options and data. */
static void seg_check(const uint8_t *pkt, size_t len, unsigned i, unsigned segs, size_t thl,
		      uint8_t flags, size_t data_len, unsigned gso, uint16_t id0)
{
	size_t off = (size_t)i * gso;
	size_t data = data_len - off < gso ? data_len - off : gso;
	const uint8_t *th = pkt + IPV4_HDR_LEN;
	uint8_t want = flags;

	if (i + 1 < segs)
		want &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (i > 0)
		want &= (uint8_t)~TCP_CWR;
	ck_assert_uint_eq(len, IPV4_HDR_LEN + thl + data);
	ck_assert_uint_eq(be16_load(pkt + 2), len);
	ck_assert_uint_eq(be16_load(pkt + 4), (uint16_t)(id0 + i));
	ck_assert_uint_eq(be16_load(pkt + 6), 0x4000); /* DF, not a fragment */
	ck_assert_uint_eq(csum_buf(pkt, IPV4_HDR_LEN), 0);
	ck_assert_uint_eq(tcp_verify(pkt, len), 0);
	ck_assert_uint_eq(be32_load(th + 4), (uint32_t)(SEQ0 + off));
	ck_assert_uint_eq(be32_load(th + 8), 77);
	ck_assert_uint_eq(th[13], want);
	ck_assert_uint_eq(th[12] >> 4, thl / 4);
	if (thl == 32)
		ck_assert_uint_eq(be32_load(th + 24), 0x01020304);
	for (size_t k = 0; k < data; k++)
		ck_assert_uint_eq(pkt[IPV4_HDR_LEN + thl + k], pattern(off + k));
}

/* ---- the splitter --------------------------------------------------------------------- */

START_TEST(gso_hand_built_burst)
{
	/* 337 bytes in 100-byte pieces: 100, 100, 100 and an odd 37; ACK|PSH|FIN|CWR: CWR
	 * on the first only, PSH and FIN on the last only; IDs 0xfffe, 0xffff, 0, 1. */
	static uint8_t pkt[MAXPKT], seg[MAXPKT];
	uint8_t flags = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR;
	size_t len = super_build(pkt, 32, flags, 337, 0xfffe);
	static const size_t want_len[4] = { 152, 152, 152, 89 };
	static const uint8_t want_flags[4] = { TCP_ACK | TCP_CWR, TCP_ACK, TCP_ACK,
					       TCP_ACK | TCP_PSH | TCP_FIN };
	struct gso_tcp4 g;

	ck_assert_int_eq(gso_tcp4_parse(&g, pkt, len, 100), 0);
	ck_assert_uint_eq(g.segs, 4);
	ck_assert_uint_eq(g.hdr_len, 52);
	ck_assert_uint_eq(g.data_len, 337);
	for (unsigned i = 0; i < 4; i++) {
		size_t n = gso_tcp4_segment(&g, i, seg);

		ck_assert_uint_eq(n, want_len[i]);
		ck_assert_uint_eq(seg[IPV4_HDR_LEN + 13], want_flags[i]);
		ck_assert_uint_eq(be16_load(seg + 4), (uint16_t)(0xfffe + i));
		ck_assert_uint_eq(be32_load(seg + IPV4_HDR_LEN + 4), SEQ0 + 100 * i);
		seg_check(seg, n, i, 4, 32, flags, 337, 100, 0xfffe);
	}
}
END_TEST

START_TEST(gso_window_of_sizes)
{
	/* Every size around the edges (0, 1, gso - 1, gso, gso + 1, multiples and one
	 * less), for MSS-like and odd gso sizes, 20- and 32-byte headers: the pieces join
	 * up to the data and each one is a valid segment. */
	static uint8_t pkt[MAXPKT], seg[MAXPKT];
	static const unsigned gsos[] = { 1, 7, 8, 536, 1448, 1460 };

	for (size_t gi = 0; gi < sizeof(gsos) / sizeof(gsos[0]); gi++) {
		unsigned gso = gsos[gi];
		size_t sizes[] = { 0, 1, gso - 1, gso, gso + 1, 2 * gso, 3 * gso - 1,
				   7 * gso + 3, gso > 100 ? 65535 - 20 - 32 : 200 };

		for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
			for (size_t thl = 20; thl <= 32; thl += 12) {
				size_t dl = sizes[si];
				uint8_t flags = TCP_ACK | TCP_PSH;
				size_t len, total = 0;
				struct gso_tcp4 g;

				if (IPV4_HDR_LEN + thl + dl > IPV4_MAX_LEN)
					continue;
				len = super_build(pkt, thl, flags, dl, 100);
				ck_assert_int_eq(gso_tcp4_parse(&g, pkt, len, gso), 0);
				ck_assert_uint_eq(g.segs, dl ? (dl + gso - 1) / gso : 1);
				for (unsigned i = 0; i < g.segs; i++) {
					size_t n = gso_tcp4_segment(&g, i, seg);

					seg_check(seg, n, i, g.segs, thl, flags, dl, gso, 100);
					total += n - IPV4_HDR_LEN - thl;
				}
				ck_assert_uint_eq(total, dl);
			}
	}
}
END_TEST

START_TEST(gso_single_segment_is_the_datagram)
{
	/* Data no longer than gso_size: one segment, the super-segment itself with its
	 * checksum finished (what the kernel does with a "GSO" frame that is not one). */
	static uint8_t pkt[MAXPKT], seg[MAXPKT];
	uint8_t flags = TCP_ACK | TCP_FIN | TCP_PSH | TCP_CWR;
	size_t len = super_build(pkt, 20, flags, 500, 7);
	struct gso_tcp4 g;
	size_t n;

	ck_assert_int_eq(gso_tcp4_parse(&g, pkt, len, 500), 0);
	ck_assert_uint_eq(g.segs, 1);
	n = gso_tcp4_segment(&g, 0, seg);
	ck_assert_uint_eq(n, len);
	seg_check(seg, n, 0, 1, 20, flags, 500, 500, 7);
	ck_assert_mem_eq(seg + IPV4_HDR_LEN + 20, pkt + IPV4_HDR_LEN + 20, 500);
}
END_TEST

START_TEST(gso_wrong_partial_shows)
{
	/* The checksum is finished from the field as a device does, not recomputed: a field
	 * holding the full checksum instead of the pseudo-header part gives bad segments,
	 * as the kernel's would. */
	static uint8_t pkt[MAXPKT], seg[MAXPKT];
	size_t len = super_build(pkt, 20, TCP_ACK, 3000, 1);
	struct gso_tcp4 g;
	uint16_t full;

	memset(pkt + IPV4_HDR_LEN + 16, 0, 2);
	full = csum_buf(pkt + IPV4_HDR_LEN, len - IPV4_HDR_LEN);
	memcpy(pkt + IPV4_HDR_LEN + 16, &full, 2);
	ck_assert_int_eq(gso_tcp4_parse(&g, pkt, len, 1000), 0);
	for (unsigned i = 0; i < g.segs; i++) {
		size_t n = gso_tcp4_segment(&g, i, seg);

		ck_assert_uint_ne(tcp_verify(seg, n), 0);
	}
}
END_TEST

START_TEST(gso_rejects_what_it_cannot_cut)
{
	static uint8_t pkt[MAXPKT];
	size_t len = super_build(pkt, 20, TCP_ACK, 1000, 1);
	struct gso_tcp4 g;

	ck_assert_int_eq(gso_tcp4_parse(&g, pkt, len, 0), -EINVAL);
	ck_assert_int_eq(gso_tcp4_parse(&g, pkt, 19, 100), -EINVAL);
	ck_assert_int_eq(gso_tcp4_parse(&g, pkt, len - 1, 100), -EINVAL); /* truncated */
	pkt[9] = IPV4_PROTO_UDP;
	ck_assert_int_eq(gso_tcp4_parse(&g, pkt, len, 100), -EINVAL);
	pkt[9] = IPV4_PROTO_TCP;
	pkt[6] |= 0x20; /* MF: a fragment */
	ck_assert_int_eq(gso_tcp4_parse(&g, pkt, len, 100), -EINVAL);
	pkt[6] &= (uint8_t)~0x20;
	pkt[7] = 1; /* a fragment offset */
	ck_assert_int_eq(gso_tcp4_parse(&g, pkt, len, 100), -EINVAL);
	pkt[7] = 0;
	pkt[0] = 0x65; /* not IPv4 */
	ck_assert_int_eq(gso_tcp4_parse(&g, pkt, len, 100), -EINVAL);
	pkt[0] = 0x44; /* IHL 4 */
	ck_assert_int_eq(gso_tcp4_parse(&g, pkt, len, 100), -EINVAL);
	pkt[0] = 0x45;
	pkt[IPV4_HDR_LEN + 12] = 4 << 4; /* data offset below 5 */
	ck_assert_int_eq(gso_tcp4_parse(&g, pkt, len, 100), -EINVAL);
	be16_store(pkt + 2, IPV4_HDR_LEN + 30); /* TCP header past the datagram */
	pkt[IPV4_HDR_LEN + 12] = 15 << 4;
	ck_assert_int_eq(gso_tcp4_parse(&g, pkt, len, 100), -EINVAL);
	pkt[IPV4_HDR_LEN + 12] = 5 << 4;
	ck_assert_int_eq(gso_tcp4_parse(&g, pkt, len, 100), 0); /* 10 bytes of data, padded */
	ck_assert_uint_eq(g.data_len, 10);
}
END_TEST

/* ---- ipv4_write with gso_size --------------------------------------------------------- */

struct tcp_fill_ctx {
	size_t thl;
	uint8_t flags;
};

static size_t tcp_fill(uint8_t *buf, size_t len, void *ctx)
{
	const struct tcp_fill_ctx *c = ctx;

	ck_assert_uint_ge(len, c->thl);
	tcp_hdr_build(buf, c->thl, c->flags);
	return c->thl;
}

static uint8_t payload[65536];

static int gso_send(struct h_host *h, size_t thl, uint8_t flags, size_t data_len, unsigned gso)
{
	struct ipv4_write_opts o = IPV4_WRITE_OPTS_DEFAULT;
	struct tcp_fill_ctx c = { thl, flags };
	struct iovec iov[2];

	for (size_t i = 0; i < data_len; i++)
		payload[i] = pattern(i);
	/* two iovecs, split at an odd point */
	iov[0].iov_base = payload;
	iov[0].iov_len = data_len / 3 | 1;
	if (iov[0].iov_len > data_len)
		iov[0].iov_len = data_len;
	iov[1].iov_base = payload + iov[0].iov_len;
	iov[1].iov_len = data_len - iov[0].iov_len;
	o.gso_size = (uint16_t)gso;
	return ipv4_write(&h->st->ip, &o, h_ip(DST), IPV4_PROTO_TCP, thl, tcp_fill, &c, iov, 2);
}

/* Receives the burst at the test's port and checks every segment; returns the first ID. */
static uint16_t burst_check(struct h_host *h, size_t thl, uint8_t flags, size_t data_len,
			    unsigned gso)
{
	static uint8_t frame[MAXPKT + 64];
	unsigned segs = data_len ? (unsigned)((data_len + gso - 1) / gso) : 1;
	uint16_t id0 = 0;

	for (unsigned i = 0; i < segs; i++) {
		size_t n = h_host_output(h, frame, sizeof(frame));

		ck_assert_uint_gt(n, ETH_HDR_LEN);
		ck_assert_uint_le(n - ETH_HDR_LEN, 1500);
		ck_assert_uint_eq(be16_load(frame + 12), ETH_TYPE_IPV4);
		if (i == 0)
			id0 = be16_load(frame + ETH_HDR_LEN + 4);
		seg_check(frame + ETH_HDR_LEN, n - ETH_HDR_LEN, i, segs, thl, flags, data_len,
			  gso, id0);
	}
	ck_assert_uint_eq(h_host_output(h, frame, sizeof(frame)), 0);
	return id0;
}

/* The ID of the next ordinary datagram the host sends. */
START_TEST(ipv4_gso_device_or_stack_cuts)
{
	/* 5500 bytes at gso 1000, through a port with TSO (one device write) and without
	 * (the stack cuts: six writes): the same six wire segments either way. IpOutRequests
	 * counts six, EthOutFrames the device writes; the pieces are atomic (DF), so the
	 * first carries ID 0 (RFC 6864 §4.1, ipv4_id.h) and the rest follow it. CWR and FIN in turn, with and without options. */
	for (int tso = 1; tso >= 0; tso--) {
		struct h_host h;
		uint8_t flags = TCP_ACK | TCP_PSH | (tso ? TCP_FIN : TCP_CWR);
		size_t thl = tso ? 32 : 20;
		uint64_t req, eth;
		uint16_t id0;

		h_host_init(&h, 1500, NULL, false);
		memnet_set_gso_max(&h.pair.a, tso ? IPV4_MAX_LEN : 0);
		req = h_stat(h.st, STAT_IpOutRequests);
		eth = h_stat(h.st, STAT_EthOutFrames);
		ck_assert_int_eq(gso_send(&h, thl, flags, 5500, 1000), 0);
		ck_assert_uint_eq(h.pair.a.stats.gso_writes, tso ? 1 : 0);
		ck_assert_uint_eq(h.pair.a.stats.written, 6);
		ck_assert_uint_eq(h_stat(h.st, STAT_IpOutRequests) - req, 6);
		ck_assert_uint_eq(h_stat(h.st, STAT_IpOutGsoRequests), tso ? 1 : 0);
		ck_assert_uint_eq(h_stat(h.st, STAT_IpOutGsoSoftware), tso ? 0 : 1);
		ck_assert_uint_eq(h_stat(h.st, STAT_EthOutFrames) - eth, tso ? 1 : 6);
		id0 = burst_check(&h, thl, flags, 5500, 1000);
		ck_assert_uint_eq(id0, 0);
		h_host_fini(&h);
	}
}
END_TEST

START_TEST(ipv4_gso_peer_stack_counts_wire_segments)
{
	/* A super-segment from stack a through its TSO port to stack b: b verifies and
	 * counts six datagrams and six TCP segments, as many as a's IpOutRequests says;
	 * none has a bad checksum (b answers each with a RST: no such connection). */
	struct h_net n;
	struct ipv4_write_opts o = IPV4_WRITE_OPTS_DEFAULT;
	struct tcp_fill_ctx c = { 20, TCP_ACK | TCP_PSH };
	struct iovec iov = { payload, 5500 };
	uint64_t out, in, segs;

	h_net_init(&n, 1500, NULL, NULL, 9);
	memnet_set_gso_max(&n.pair.a, IPV4_MAX_LEN);
	/* resolve b's MAC first, as a connection's handshake would */
	ck_assert_int_eq(ipv4_write(&n.a->ip, NULL, h_ip(DST), 253, 0, NULL, NULL, &iov, 1), 0);
	h_net_pump(&n);
	out = h_stat(n.a, STAT_IpOutRequests);
	in = h_stat(n.b, STAT_IpInReceives);
	segs = h_stat(n.b, STAT_TcpInSegs);
	o.gso_size = 1000;
	ck_assert_int_eq(ipv4_write(&n.a->ip, &o, h_ip(DST), IPV4_PROTO_TCP, 20, tcp_fill, &c,
				    &iov, 1),
			 0);
	ck_assert_uint_eq(h_stat(n.a, STAT_IpOutGsoRequests), 1);
	h_net_pump(&n);
	ck_assert_uint_eq(h_stat(n.a, STAT_IpOutRequests) - out, 6);
	ck_assert_uint_eq(h_stat(n.b, STAT_IpInReceives) - in, 6);
	ck_assert_uint_eq(h_stat(n.b, STAT_TcpInSegs) - segs, 6);
	ck_assert_uint_eq(h_stat(n.b, STAT_TcpInCsumErrors), 0);
	ck_assert_uint_eq(h_stat(n.b, STAT_IpInHdrErrors), 0);
	h_net_fini(&n);
}
END_TEST

START_TEST(ipv4_gso_largest_super_segment)
{
	/* A whole 64 KiB datagram at an MSS of 1448 with timestamps: 46 segments, the last
	 * one odd, on both paths. */
	size_t dl = IPV4_MAX_LEN - IPV4_HDR_LEN - 32;

	for (int tso = 0; tso < 2; tso++) {
		struct h_host h;

		h_host_init(&h, 1500, NULL, false);
		memnet_set_gso_max(&h.pair.a, tso ? IPV4_MAX_LEN : 0);
		ck_assert_int_eq(gso_send(&h, 32, TCP_ACK | TCP_PSH, dl, 1448), 0);
		burst_check(&h, 32, TCP_ACK | TCP_PSH, dl, 1448);
		ck_assert_uint_eq(h_stat(h.st, STAT_IpOutGsoRequests), tso ? 1 : 0);
		h_host_fini(&h);
	}
}
END_TEST

START_TEST(ipv4_gso_over_device_max_is_cut_here)
{
	/* A device whose TSO takes less than this super-segment: cut by the stack. */
	struct h_host h;

	h_host_init(&h, 1500, NULL, false);
	memnet_set_gso_max(&h.pair.a, 4000);
	ck_assert_int_eq(gso_send(&h, 20, TCP_ACK, 5500, 1000), 0);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpOutGsoSoftware), 1);
	burst_check(&h, 20, TCP_ACK, 5500, 1000);
	ck_assert_int_eq(gso_send(&h, 20, TCP_ACK, 3000, 1000), 0);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpOutGsoRequests), 1);
	burst_check(&h, 20, TCP_ACK, 3000, 1000);
	h_host_fini(&h);
}
END_TEST

/* The peer answers the host's ARP request (or tells it unasked). */
static void arp_reply_from_peer(struct h_host *h)
{
	struct mac peer = H_PEER_MAC, host = H_HOST_MAC;
	struct arp_pkt reply = {
		.op = ARP_OP_REPLY,
		.sha = peer,
		.spa = h_ip(DST),
		.tha = host,
		.tpa = h_ip(SRC),
	};
	uint8_t arp[ARP_PKT_LEN], frame[64];
	size_t n;

	arp_pkt_emit(&reply, arp);
	n = h_eth(frame, host, peer, ETH_TYPE_ARP, arp, sizeof(arp));
	h_host_input(h, frame, n);
}

START_TEST(ipv4_gso_waits_for_arp)
{
	/* The next hop's MAC is unknown: ARP queues frames, so the stack cuts the
	 * super-segment and the segments wait; the reply releases all of them. */
	static uint8_t frame[2048];
	struct h_host h;
	size_t n;

	h_host_init(&h, 1500, NULL, true);
	memnet_set_gso_max(&h.pair.a, IPV4_MAX_LEN);
	ck_assert_int_eq(gso_send(&h, 20, TCP_ACK | TCP_FIN, 4000, 1460), 0);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpOutGsoSoftware), 1);
	n = h_host_output(&h, frame, sizeof(frame)); /* the request */
	ck_assert_uint_gt(n, ETH_HDR_LEN);
	ck_assert_uint_eq(be16_load(frame + 12), ETH_TYPE_ARP);
	ck_assert_uint_eq(h_host_output(&h, frame, sizeof(frame)), 0);
	arp_reply_from_peer(&h);
	burst_check(&h, 20, TCP_ACK | TCP_FIN, 4000, 1460);
	/* resolved now: the next one goes to the device whole */
	ck_assert_int_eq(gso_send(&h, 20, TCP_ACK, 4000, 1460), 0);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpOutGsoRequests), 1);
	burst_check(&h, 20, TCP_ACK, 4000, 1460);
	h_host_fini(&h);
}
END_TEST

START_TEST(ipv4_gso_revalidates_stale_neighbour)
{
	/* A super-segment uses the ARP entry as any packet does: once it is older than the
	 * reachable time, the write revalidates it with a unicast request (RFC 1122
	 * §2.3.2.1) and still goes out whole to the known MAC. */
	static uint8_t frame[MAXPKT + 64];
	struct mac peer = H_PEER_MAC;
	struct h_host h;
	unsigned requests = 0, tcp = 0;
	size_t n;

	h_host_init(&h, 1500, NULL, true);
	memnet_set_gso_max(&h.pair.a, IPV4_MAX_LEN);
	arp_reply_from_peer(&h); /* learnt from a reply: reachable, not static */
	h_host_advance(&h, 31 * H_S); /* past arp_reachable_ms (30 s) */
	ck_assert_int_eq(gso_send(&h, 20, TCP_ACK, 4000, 1460), 0);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpOutGsoRequests), 1);
	while ((n = h_host_output(&h, frame, sizeof(frame))) > 0) {
		if (be16_load(frame + 12) == ETH_TYPE_ARP) {
			ck_assert_mem_eq(frame, peer.b, 6); /* unicast */
			requests++;
		} else {
			ck_assert_mem_eq(frame, peer.b, 6);
			tcp++;
		}
	}
	ck_assert_uint_eq(requests, 1);
	ck_assert_uint_eq(tcp, 3);
	h_host_fini(&h);
}
END_TEST

START_TEST(ipv4_gso_small_goes_whole)
{
	/* Within the MTU: one ordinary frame, DF set, the TCP checksum completed by the IPv4
	 * layer over the garbage the fill left in the field; no GSO counted. */
	for (int tso = 0; tso < 2; tso++) {
		struct h_host h;

		h_host_init(&h, 1500, NULL, false);
		memnet_set_gso_max(&h.pair.a, tso ? IPV4_MAX_LEN : 0);
		ck_assert_int_eq(gso_send(&h, 32, TCP_ACK | TCP_PSH, 1448, 1448), 0);
		burst_check(&h, 32, TCP_ACK | TCP_PSH, 1448, 1448);
		ck_assert_uint_eq(h.pair.a.stats.gso_writes, 0);
		ck_assert_uint_eq(h_stat(h.st, STAT_IpOutGsoRequests), 0);
		ck_assert_uint_eq(h_stat(h.st, STAT_IpOutGsoSoftware), 0);
		h_host_fini(&h);
	}
}
END_TEST

/* Two pieces within the device MTU still go as two segments: gso_size is the path's
 * MSS (RFC 1191), which may be below the device MTU, so fitting the device says nothing. */
START_TEST(ipv4_gso_cut_within_device_mtu)
{
	for (int tso = 0; tso < 2; tso++) {
		struct h_host h;

		h_host_init(&h, 1500, NULL, false);
		memnet_set_gso_max(&h.pair.a, tso ? IPV4_MAX_LEN : 0);
		ck_assert_int_eq(gso_send(&h, 32, TCP_ACK | TCP_PSH, 1060, 948), 0);
		burst_check(&h, 32, TCP_ACK | TCP_PSH, 1060, 948);
		ck_assert_uint_eq(h.pair.a.stats.written, 2);
		h_host_fini(&h);
	}
}
END_TEST

START_TEST(ipv4_gso_rejects)
{
	struct h_host h;
	struct ipv4_write_opts o = IPV4_WRITE_OPTS_DEFAULT;
	uint8_t z[3000] = { 0 };
	struct iovec iov = { z, sizeof(z) };

	h_host_init(&h, 1500, NULL, false);
	memnet_set_gso_max(&h.pair.a, IPV4_MAX_LEN);
	o.gso_size = 1000;
	/* not TCP */
	ck_assert_int_eq(ipv4_write(&h.st->ip, &o, h_ip(DST), IPV4_PROTO_UDP, 0, NULL, NULL,
				    &iov, 1),
			 -EINVAL);
	/* broadcast */
	ck_assert_int_eq(ipv4_write(&h.st->ip, &o, h_ip("10.0.0.255"), IPV4_PROTO_TCP, 0, NULL,
				    NULL, &iov, 1),
			 -EINVAL);
	/* segments that cannot fit the MTU */
	ck_assert_int_eq(gso_send(&h, 20, TCP_ACK, 100, 1461), -EMSGSIZE);
	/* options making a full segment too big: only known once cut */
	memnet_set_gso_max(&h.pair.a, 0);
	ck_assert_int_eq(gso_send(&h, 32, TCP_ACK, 3000, 1460), -EMSGSIZE);
	ck_assert_uint_eq(h_host_drain(&h), 0);
	h_host_fini(&h);
}
END_TEST

static Suite *gso_suite(void)
{
	Suite *s = suite_create("gso");
	TCase *tc = tcase_create("splitter");

	tcase_add_test(tc, gso_hand_built_burst);
	tcase_add_test(tc, gso_window_of_sizes);
	tcase_add_test(tc, gso_single_segment_is_the_datagram);
	tcase_add_test(tc, gso_wrong_partial_shows);
	tcase_add_test(tc, gso_rejects_what_it_cannot_cut);
	suite_add_tcase(s, tc);
	tc = tcase_create("ipv4_write");
	tcase_add_test(tc, ipv4_gso_device_or_stack_cuts);
	tcase_add_test(tc, ipv4_gso_peer_stack_counts_wire_segments);
	tcase_add_test(tc, ipv4_gso_largest_super_segment);
	tcase_add_test(tc, ipv4_gso_over_device_max_is_cut_here);
	tcase_add_test(tc, ipv4_gso_waits_for_arp);
	tcase_add_test(tc, ipv4_gso_revalidates_stale_neighbour);
	tcase_add_test(tc, ipv4_gso_small_goes_whole);
	tcase_add_test(tc, ipv4_gso_cut_within_device_mtu);
	tcase_add_test(tc, ipv4_gso_rejects);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(gso_suite());
}
