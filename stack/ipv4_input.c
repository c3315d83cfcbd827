/* IPv4 input: validation (RFC 791, RFC 1122 §3.2.1), reassembly, demultiplexing. */
#include <errno.h>
#include <stdlib.h>

#include "ipv4.h"
#include "icmp.h"
#include "stack_var.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

bool ipv4_is_broadcast(const struct ipv4 *ip, struct in_addr a)
{
	uint32_t h = addr_to_host(a);

	if (addr_is_limited_broadcast(a))
		return true;
	/* The subnet-directed broadcast, RFC 1122 §3.2.1.3 (b); also the obsolete all-zeros
	 * host part (§3.3.6 says to accept it). /31 and /32 have no broadcast (RFC 3021). */
	if (ip->mask >= 0xfffffffeu)
		return false;
	return (h & ip->mask) == (addr_to_host(ip->addr) & ip->mask) &&
	       ((h & ~ip->mask) == ~ip->mask || (h & ~ip->mask) == 0);
}

bool ipv4_is_local(const struct ipv4 *ip, struct in_addr a)
{
	return addr_eq(a, ip->addr) || ipv4_is_broadcast(ip, a);
}

/* RFC 1122 §3.2.1.3: a source that cannot be a single host is silently discarded. Our own
 * address is one only on the loopback path. */
static bool ipv4_src_valid(const struct ipv4 *ip, struct in_addr src, bool loopback)
{
	uint32_t h = addr_to_host(src);

	if (addr_is_multicast(src) || ipv4_is_broadcast(ip, src))
		return false;
	if ((h >> 24) == 127) /* 127/8 must not appear on the wire */
		return false;
	if (addr_eq(src, ip->addr)) /* from outside: spoofed or looped */
		return loopback;
	return (h >> 24) != 0 || h == 0; /* 0/8 only as 0.0.0.0 (RFC 1122 §3.2.1.3 (a)) */
}

static void ipv4_deliver(struct ipv4 *ip, const struct ipv4_pkt *p)
{
	struct stack *st = ip->st;
	const struct ipv4_proto *pr = &ip->proto[p->h.proto];

	if (!pr->input) {
		STAT_INC(st, IpInUnknownProtos);
		/* RFC 1122 §3.2.2.1: protocol unreachable; icmp_send_error() applies the
		 * rules on broadcasts and rate. */
		icmp_send_error(&st->icmp, p, ICMP_DEST_UNREACH, ICMP_UNREACH_PROTO, 0);
		return;
	}
	STAT_INC(st, IpInDelivers);
	pr->input(pr->ctx, p);
}

static void ipv4_input_from(struct ipv4 *ip, const uint8_t *pkt, size_t len, bool l2_bcast,
			    bool loopback)
{
	struct stack *st = ip->st;
	struct ipv4_pkt p = { .hdr = pkt, .l2_bcast = l2_bcast };
	struct ipv4_reass_out out;
	int r;

	STAT_INC(st, IpInReceives);
	r = ipv4_hdr_parse(pkt, len, &p.h);
	switch (r) {
	case 0:
		break;
	case -EMSGSIZE:
		STAT_INC(st, IpInTruncatedPkts);
		return;
	case -EBADMSG:
		STAT_INC(st, IpInCsumErrors);
		STAT_INC(st, IpInHdrErrors);
		return;
	default:
		STAT_INC(st, IpInHdrErrors);
		return;
	}
	if (!ipv4_is_local(ip, p.h.dst) || !ipv4_src_valid(ip, p.h.src, loopback)) {
		STAT_INC(st, IpInAddrErrors);
		return;
	}
	if (p.h.hdr_len > IPV4_HDR_LEN)
		STAT_INC(st, IpInOptions); /* skipped: none of them needs acting on by a host */
	p.ip_bcast = !addr_eq(p.h.dst, ip->addr);
	p.data = pkt + p.h.hdr_len;
	p.len = p.h.total_len - p.h.hdr_len;

	if (!p.h.mf && p.h.frag_off == 0) {
		/* The device's word covers this frame; a reassembled datagram is verified. */
		p.l4_csum_ok = (st->rx_flags & STACK_RX_L4_CSUM_OK) != 0;
		ipv4_deliver(ip, &p);
		return;
	}
	r = ipv4_reass_input(&ip->reass, &p.h, pkt, p.data, st->now_ns, &out);
	if (r <= 0)
		return; /* held, or dropped and counted */
	p.h = out.h;
	p.hdr = out.buf;
	p.data = out.buf + out.hdr_len;
	p.len = out.len - out.hdr_len;
	p.reassembled = true;
	ipv4_deliver(ip, &p);
	free(out.buf);
}

void ipv4_input(struct ipv4 *ip, const uint8_t *pkt, size_t len, bool l2_bcast)
{
	ipv4_input_from(ip, pkt, len, l2_bcast, false);
}

/* A datagram from the loopback queue: as from the wire, our own address being then a valid
 * source. No device verified anything (rx_flags 0): every checksum is checked, as on the
 * wire; the sender completed them all (ipv4_write). */
static void ipv4_loopback_deliver(void *ctx, const uint8_t *pkt, size_t len)
{
	ipv4_input_from(ctx, pkt, len, false, true);
}

/* RFC 792 / RFC 1122 §3.3.2: time exceeded (fragment reassembly) when the first fragment
 * of a datagram that timed out had arrived. */
static void ipv4_reass_expired(void *ctx, const struct ipv4_hdr *h, const uint8_t *hdr,
			       const uint8_t *data, size_t len)
{
	struct ipv4 *ip = ctx;
	struct ipv4_pkt p = { .h = *h, .hdr = hdr, .data = data, .len = len };

	p.ip_bcast = !addr_eq(h->dst, ip->addr);
	/* Quote it as the unfragmented first piece it is, so the no-errors-about-non-initial-
	 * fragments rule does not suppress it. */
	icmp_send_error(&ip->st->icmp, &p, ICMP_TIME_EXCEEDED, ICMP_TIMXCEED_REASS, 0);
}

void ipv4_poll(struct ipv4 *ip, uint64_t now_ns)
{
	/* Datagrams to ourselves first: an ACK delivered now may spare a timer due now. */
	ipv4_loopback_drain(&ip->lo, ipv4_loopback_deliver, ip);
	ipv4_reass_poll(&ip->reass, now_ns, ipv4_reass_expired, ip);
}

uint64_t ipv4_next_deadline(const struct ipv4 *ip)
{
	/* Queued datagrams to ourselves: poll now, and never 0, which a driver may take for
	 * "no timer armed" (daemon/loop.c). */
	if (ipv4_loopback_pending(&ip->lo))
		return ip->st->now_ns;
	return ipv4_reass_next_deadline(&ip->reass);
}

int ipv4_register(struct ipv4 *ip, uint8_t proto, ipv4_input_fn input, ipv4_error_fn error,
		  void *ctx)
{
	if (ip->proto[proto].input)
		return -EEXIST;
	ip->proto[proto] = (struct ipv4_proto){ input, error, ctx };
	return 0;
}

void ipv4_link_failure(struct ipv4 *ip, const uint8_t *pkt, size_t len)
{
	struct ipv4_hdr h;
	const struct ipv4_proto *pr;
	struct icmp_err e;

	if (ipv4_hdr_parse(pkt, len, &h) < 0 || h.frag_off != 0)
		return; /* only the first fragment carries the transport header */
	pr = &ip->proto[h.proto];
	if (!pr->error)
		return;
	e = (struct icmp_err){
		.type = ICMP_DEST_UNREACH,
		.code = ICMP_UNREACH_HOST,
		.err = EHOSTUNREACH,
		.local = true,
		.from = ip->addr,
		.ih = h,
		.l4 = pkt + h.hdr_len,
		.l4_len = h.total_len - h.hdr_len,
	};
	pr->error(pr->ctx, &e);
}
