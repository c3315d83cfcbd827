/* IPv4 output: routing, the ipv4_write contract (design.md §2) and fragmentation
 * (RFC 791 §3.2 "Fragmentation", RFC 1122 §3.3.3). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arp.h"
#include "ipv4.h"
#include "netif.h"
#include "stack_limits.h"
#include "stack_var.h"
#include "wire/csum.h"
#include "wire/eth.h"
#include "wire/gso.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

int ipv4_init(struct ipv4 *ip, struct stack *st)
{
	const struct stack_config *cfg = &st->cfg;
	struct ipv4_reass_config rc = {
		.max_bytes = cfg->reasm_max_bytes,
		.max_dgrams = cfg->reasm_max_datagrams,
		.max_frags = cfg->reasm_max_fragments,
		.timeout_ms = cfg->reasm_timeout_ms,
	};

	memset(ip, 0, sizeof(*ip));
	ip->st = st;
	ip->addr = cfg->addr;
	ip->mask = addr_prefix_mask(cfg->prefix_len);
	ip->gateway = cfg->gateway;
	ipv4_id_init(&ip->ids, st->random, st->random_ctx);
	/* a secret: senders pick the reassembly keys */
	st->random(rc.hash_key, sizeof(rc.hash_key), st->random_ctx);
	ip->scratch = malloc(IPV4_MAX_LEN);
	if (!ip->scratch)
		return -ENOMEM;
	ipv4_reass_init(&ip->reass, &rc, &st->stats);
	ipv4_loopback_init(&ip->lo, STACK_LOOPBACK_MAX_BYTES, STACK_LOOPBACK_MAX_PKTS,
			   &st->stats);
	return 0;
}

void ipv4_fini(struct ipv4 *ip)
{
	ipv4_loopback_fini(&ip->lo);
	ipv4_reass_fini(&ip->reass);
	free(ip->scratch);
	ip->scratch = NULL;
}

/* Our own address as the next hop: the loopback path (ipv4_loopback.h). Only a datagram to
 * our address routes there (stack_config_check() keeps the gateway off it). */
static bool ipv4_nexthop_local(const struct ipv4 *ip, struct in_addr nexthop)
{
	return addr_eq(nexthop, ip->addr);
}

/* Where a datagram to dst goes on the link: *bcast, or the host *nexthop (ourselves for
 * our own address, as Linux's local route through lo). */
static int ipv4_route(struct ipv4 *ip, struct in_addr dst, struct in_addr *nexthop, bool *bcast)
{
	uint32_t net = addr_to_host(ip->addr) & ip->mask;

	*bcast = ipv4_is_broadcast(ip, dst);
	if (*bcast)
		return 0;
	if (addr_is_multicast(dst) || addr_is_any(dst))
		return -ENETUNREACH; /* no multicast */
	if (addr_eq(dst, ip->addr)) {
		*nexthop = dst;
		return 0;
	}
	if ((addr_to_host(dst) & ip->mask) == net) {
		*nexthop = dst;
		return 0;
	}
	if (addr_is_any(ip->gateway))
		return -ENETUNREACH;
	*nexthop = ip->gateway;
	return 0;
}

static int ipv4_xmit(struct ipv4 *ip, struct in_addr nexthop, bool bcast, size_t size,
		     eth_fill_fn fill, void *ctx)
{
	struct stack *st = ip->st;

	if (bcast)
		return eth_write(&st->eth, NULL, MAC_BROADCAST, ETH_TYPE_IPV4, size, fill, ctx);
	if (ipv4_nexthop_local(ip, nexthop))
		return ipv4_loopback_output(&ip->lo, size, fill, ctx);
	return arp_output(&st->arp, nexthop, ETH_TYPE_IPV4, size, fill, ctx);
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t len = 0;

	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	return len;
}

/* Copies bytes [off, off + len) of the datagram payload, which is `head` (head_len bytes)
 * followed by the iovecs, to dst. */
static void ipv4_gather(uint8_t *dst, size_t off, size_t len, const uint8_t *head,
			size_t head_len, const struct iovec *iov, int niov)
{
	if (off < head_len) {
		size_t n = head_len - off < len ? head_len - off : len;
		memcpy(dst, head + off, n);
		dst += n;
		len -= n;
		off = 0;
	} else {
		off -= head_len;
	}
	for (int i = 0; i < niov && len > 0; i++) {
		size_t il = iov[i].iov_len;
		size_t n;

		if (off >= il) {
			off -= il;
			continue;
		}
		n = il - off < len ? il - off : len;
		memcpy(dst, (const uint8_t *)iov[i].iov_base + off, n);
		dst += n;
		len -= n;
		off = 0;
	}
}

/* One whole datagram, the upper header written in place by the caller's fill. */
struct ipv4_frame_ctx {
	struct ipv4_hdr h;
	ipv4_fill_fn fill; /* NULL: the upper header is already in head */
	void *ctx;
	size_t size;
	const uint8_t *head;
	size_t head_len;
	const struct iovec *iov;
	int niov;
	size_t payload_len;
	size_t frag_off, frag_len; /* fragments: the slice of the data */
	/* TSO writes (gso_size): what becomes of the TCP checksum field */
	enum { IPV4_TCP_CSUM_KEEP, IPV4_TCP_CSUM_FULL, IPV4_TCP_CSUM_PARTIAL } tcp_csum;
	unsigned gso_size;
	unsigned segs; /* wire segments of the super-segment written */
};

/* RFC 9293 §3.1: the checksum of a TCP datagram written whole, or only its pseudo-header
 * part when the device sums the rest (netif.h). */
static void ipv4_tcp_csum(uint8_t *dgram, const struct ipv4_frame_ctx *c)
{
	size_t tcp_len = c->h.total_len - IPV4_HDR_LEN;
	uint8_t *th = dgram + IPV4_HDR_LEN;
	struct csum cs = CSUM_INIT;
	uint16_t sum;

	if (tcp_len < TCP_HDR_LEN)
		return; /* no header to hold it: the peer drops it, as it would anyway */
	if (c->tcp_csum == IPV4_TCP_CSUM_PARTIAL) {
		sum = gso_tcp4_partial_csum(c->h.src, c->h.dst, tcp_len);
	} else {
		memset(th + 16, 0, 2);
		csum_feed_pseudo(&cs, c->h.src, c->h.dst, IPV4_PROTO_TCP, (uint16_t)tcp_len);
		csum_feed(&cs, th, tcp_len);
		sum = csum_finish(&cs);
	}
	memcpy(th + 16, &sum, 2);
}

static size_t ipv4_fill_whole(uint8_t *buf, size_t len, void *ctx)
{
	struct ipv4_frame_ctx *c = ctx;
	size_t n;

	(void)len;
	if (c->fill) {
		n = c->fill(buf + IPV4_HDR_LEN, c->size, c->ctx);
	} else {
		if (c->head_len)
			memcpy(buf + IPV4_HDR_LEN, c->head, c->head_len);
		n = c->head_len;
	}
	ipv4_gather(buf + IPV4_HDR_LEN + n, 0, c->payload_len, NULL, 0, c->iov, c->niov);
	c->h.total_len = (uint16_t)(IPV4_HDR_LEN + n + c->payload_len);
	ipv4_hdr_emit(&c->h, buf);
	if (c->tcp_csum != IPV4_TCP_CSUM_KEEP)
		ipv4_tcp_csum(buf, c);
	return c->h.total_len;
}

/* A super-segment for the device to cut: also learns how many segments it makes. */
static size_t ipv4_fill_gso(uint8_t *buf, size_t len, void *ctx)
{
	struct ipv4_frame_ctx *c = ctx;
	size_t n = ipv4_fill_whole(buf, len, ctx);
	struct gso_tcp4 g;

	/* A fill that wrote no valid TCP header: the device refuses the frame. */
	c->segs = gso_tcp4_parse(&g, buf, n, c->gso_size) == 0 ? g.segs : 1;
	return n;
}

static size_t ipv4_fill_fragment(uint8_t *buf, size_t len, void *ctx)
{
	struct ipv4_frame_ctx *c = ctx;

	(void)len;
	ipv4_gather(buf + IPV4_HDR_LEN, c->frag_off, c->frag_len, c->head, c->head_len, c->iov,
		    c->niov);
	ipv4_hdr_emit(&c->h, buf);
	return c->h.total_len;
}

static int ipv4_fragment(struct ipv4 *ip, struct ipv4_frame_ctx *c, struct in_addr nexthop,
			 bool bcast)
{
	struct stack *st = ip->st;
	size_t data_len = c->head_len + c->payload_len;
	/* Every fragment but the last carries a multiple of 8 bytes (RFC 791), as many as
	 * the MTU allows after the header. */
	size_t max_data = (netif_mtu(st->nif) - IPV4_HDR_LEN) & ~(size_t)(IPV4_FRAG_UNIT - 1);
	int r;

	for (size_t off = 0; off < data_len; off += max_data) {
		c->frag_off = off;
		c->frag_len = data_len - off < max_data ? data_len - off : max_data;
		c->h.frag_off = (uint16_t)off;
		c->h.mf = off + c->frag_len < data_len;
		c->h.total_len = (uint16_t)(IPV4_HDR_LEN + c->frag_len);
		r = ipv4_xmit(ip, nexthop, bcast, c->h.total_len, ipv4_fill_fragment, c);
		if (r < 0) {
			STAT_INC(st, IpOutDiscards);
			return r;
		}
		STAT_INC(st, IpFragCreates);
	}
	STAT_INC(st, IpFragOKs);
	return 0;
}

struct ipv4_gso_seg_ctx {
	const struct gso_tcp4 *g;
	unsigned i;
};

static size_t ipv4_fill_gso_segment(uint8_t *buf, size_t len, void *ctx)
{
	const struct ipv4_gso_seg_ctx *s = ctx;

	(void)len;
	return gso_tcp4_segment(s->g, s->i, buf);
}

/* The super-segment cut here (no TSO, or the next hop's MAC is still unknown and ARP
 * queues frames, not super-segments): built whole in scratch, then each wire segment
 * copied out of it with its own headers. */
static int ipv4_gso_software(struct ipv4 *ip, struct ipv4_frame_ctx *c, struct in_addr nexthop)
{
	struct stack *st = ip->st;
	size_t len = ipv4_fill_whole(ip->scratch, IPV4_MAX_LEN, c);
	struct gso_tcp4 g;
	size_t seg_max;
	int r;

	if (gso_tcp4_parse(&g, ip->scratch, len, c->gso_size) < 0) {
		STAT_INC(st, IpOutDiscards);
		return -EINVAL;
	}
	seg_max = g.hdr_len + (g.data_len < g.gso_size ? g.data_len : g.gso_size);
	if (seg_max > netif_mtu(st->nif)) {
		STAT_INC(st, IpFragFails); /* DF: cut to the MSS, never fragmented */
		return -EMSGSIZE;
	}
	/* The pieces are atomic (DF): their IDs follow the first one's (0) as the device's
	 * would, and reserve nothing in the per-destination counters (RFC 6864 §4.1). */
	for (unsigned i = 0; i < g.segs; i++) {
		struct ipv4_gso_seg_ctx sc = { &g, i };
		size_t off = (size_t)i * g.gso_size;
		size_t data = g.data_len - off < g.gso_size ? g.data_len - off : g.gso_size;

		r = ipv4_xmit(ip, nexthop, false, g.hdr_len + data, ipv4_fill_gso_segment, &sc);
		if (r < 0) {
			STAT_INC(st, IpOutDiscards);
			return r;
		}
		if (i > 0)
			STAT_INC(st, IpOutRequests); /* the first was counted on entry */
	}
	STAT_INC(st, IpOutGsoSoftware);
	return 0;
}

/* A TCP super-segment (ipv4_write with gso_size). */
static int ipv4_write_gso(struct ipv4 *ip, struct ipv4_frame_ctx *c, unsigned gso_size,
			  struct in_addr nexthop, bool bcast)
{
	struct stack *st = ip->st;
	size_t mtu = netif_mtu(st->nif);
	size_t max_len = IPV4_HDR_LEN + c->size + c->payload_len;
	struct mac mac;
	int r;

	if (c->h.proto != IPV4_PROTO_TCP || bcast) {
		STAT_INC(st, IpOutDiscards);
		return -EINVAL;
	}
	if (max_len > IPV4_MAX_LEN || IPV4_HDR_LEN + TCP_HDR_LEN + gso_size > mtu) {
		STAT_INC(st, IpOutDiscards);
		return -EMSGSIZE;
	}
	/* Segments are cut to size, never fragmented (RFC 1191 path MTU discovery). */
	c->h.df = true;
	c->gso_size = gso_size;
	/* To ourselves: whole, checksum complete (ipv4.h says why). */
	if (ipv4_nexthop_local(ip, nexthop)) {
		c->tcp_csum = IPV4_TCP_CSUM_FULL;
		return ipv4_xmit(ip, nexthop, false, max_len, ipv4_fill_whole, c);
	}
	/* One segment's worth: nothing to cut. More than that is cut even within the device
	 * MTU: gso_size follows the path MTU (RFC 1191), which may be lower. */
	if (max_len <= mtu && c->payload_len <= gso_size) {
		c->tcp_csum = IPV4_TCP_CSUM_FULL;
		return ipv4_xmit(ip, nexthop, false, max_len, ipv4_fill_whole, c);
	}
	if (max_len <= netif_gso_max(st->nif) && arp_resolved(&st->arp, nexthop, &mac) == 0) {
		c->tcp_csum = IPV4_TCP_CSUM_PARTIAL;
		r = eth_write_gso(&st->eth, mac, ETH_TYPE_IPV4, max_len, gso_size, ipv4_fill_gso,
				  c);
		if (r < 0)
			return r;
		/* The device numbers the pieces id, id + 1, ...: they are atomic (DF), so
		 * nothing is reserved in the per-destination counters (RFC 6864 §4.1). */
		STAT_ADD(st, IpOutRequests, c->segs - 1);
		STAT_INC(st, IpOutGsoRequests);
		return 0;
	}
	c->tcp_csum = IPV4_TCP_CSUM_PARTIAL; /* as for the device: the cut finishes it */
	return ipv4_gso_software(ip, c, nexthop);
}

int ipv4_write(struct ipv4 *ip, const struct ipv4_write_opts *o, struct in_addr dst,
	       uint8_t proto, size_t size, ipv4_fill_fn fill, void *ctx,
	       const struct iovec *payload, int npayload)
{
	struct stack *st = ip->st;
	struct ipv4_write_opts opts = o ? *o : IPV4_WRITE_OPTS_DEFAULT;
	size_t mtu;
	struct in_addr src = addr_is_any(opts.src) ? ip->addr : opts.src;
	/* Atomic datagrams (DF, and super-segments, whose pieces are always DF) carry ID 0,
	 * the others a per-destination ID (ipv4_id.h). */
	uint16_t id = opts.fragment && !opts.gso_size
			      ? ipv4_id_next(&ip->ids, src, dst, proto, st->now_ns, &st->rng)
			      : 0;
	struct ipv4_frame_ctx c = {
		.h = {
			.tos = opts.tos,
			.id = id,
			.df = !opts.fragment,
			.ttl = opts.ttl ? opts.ttl : st->cfg.default_ttl,
			.proto = proto,
			.src = src,
			.dst = dst,
		},
		.fill = fill,
		.ctx = ctx,
		.size = size,
		.iov = payload,
		.niov = npayload,
		.payload_len = iov_total(payload, npayload),
	};
	struct in_addr nexthop = dst;
	bool bcast;
	int r;

	STAT_INC(st, IpOutRequests);
	if (npayload < 0 || (npayload > 0 && !payload)) {
		STAT_INC(st, IpOutDiscards);
		return -EINVAL;
	}
	if (size > IPV4_MAX_LEN - IPV4_HDR_LEN || c.payload_len > IPV4_MAX_LEN - IPV4_HDR_LEN) {
		STAT_INC(st, IpOutDiscards);
		return -EMSGSIZE;
	}
	r = ipv4_route(ip, dst, &nexthop, &bcast);
	if (r < 0) {
		STAT_INC(st, IpOutNoRoutes);
		return r;
	}
	mtu = ipv4_nexthop_local(ip, nexthop) ? IPV4_LOOPBACK_MTU : netif_mtu(st->nif);
	if (opts.gso_size)
		return ipv4_write_gso(ip, &c, opts.gso_size, nexthop, bcast);
	if (IPV4_HDR_LEN + size + c.payload_len <= mtu) /* the common case: fill in place */
		return ipv4_xmit(ip, nexthop, bcast, IPV4_HDR_LEN + size + c.payload_len,
				 ipv4_fill_whole, &c);

	/* Possibly too big: let the upper layer write its header aside first to learn the
	 * real length. */
	c.head = ip->scratch;
	c.head_len = fill ? fill(ip->scratch, size, ctx) : 0;
	c.fill = NULL;
	if (IPV4_HDR_LEN + c.head_len + c.payload_len > IPV4_MAX_LEN) {
		STAT_INC(st, IpOutDiscards);
		return -EMSGSIZE;
	}
	if (IPV4_HDR_LEN + c.head_len + c.payload_len <= mtu)
		return ipv4_xmit(ip, nexthop, bcast, IPV4_HDR_LEN + c.head_len + c.payload_len,
				 ipv4_fill_whole, &c);
	if (!opts.fragment) {
		STAT_INC(st, IpFragFails);
		return -EMSGSIZE;
	}
	return ipv4_fragment(ip, &c, nexthop, bcast);
}
