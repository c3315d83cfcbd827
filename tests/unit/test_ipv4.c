/* IPv4: input validation, routing, fragmentation on send (received by a peer stack that
 * reassembles), DF, and ping between two stacks over a lossy link. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "stack/stack_var.h"
#include "stack/wire/csum.h"
#include "stack/wire/eth.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"

/* An echo socket that records replies. */
struct pinger {
	unsigned replies;
	unsigned errors;
	int last_err;
	uint8_t last_type, last_code;
	size_t last_len;
	uint8_t last_data[65536];
};

static void pinger_recv(struct icmp_echo_sock *s, void *user, struct in_addr src, uint16_t seq,
			uint8_t ttl, const uint8_t *data, size_t len)
{
	struct pinger *p = user;

	(void)s, (void)src, (void)seq, (void)ttl;
	p->replies++;
	p->last_len = len;
	memcpy(p->last_data, data, len);
}

static void pinger_error(struct icmp_echo_sock *s, void *user, const struct icmp_err *e,
			 uint16_t seq)
{
	struct pinger *p = user;

	(void)s, (void)seq;
	p->errors++;
	p->last_err = e->err;
	p->last_type = e->type;
	p->last_code = e->code;
}

static const struct icmp_echo_ops pinger_ops = { pinger_recv, pinger_error };

static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

/* a pings b with `len` bytes of data over MTU `mtu`; returns replies received. */
static unsigned ping_once(unsigned mtu, size_t len, struct pinger *pg, struct h_net *n)
{
	struct icmp_echo_sock *s;
	uint8_t *data = malloc(len ? len : 1);

	fill_pattern(data, len, (unsigned)len);
	h_net_init(n, mtu, NULL, NULL, 42);
	ck_assert_int_eq(icmp_echo_open(n->a, 0, &pinger_ops, pg, &s), 0);
	ck_assert_int_eq(icmp_echo_send(s, h_ip(H_PEER_IP), 1, data, len, NULL), 0);
	h_net_run(n, 100 * H_MS, 0);
	if (pg->replies == 1) {
		ck_assert_uint_eq(pg->last_len, len);
		ck_assert_mem_eq(pg->last_data, data, len);
	}
	icmp_echo_close(s);
	free(data);
	return pg->replies;
}

START_TEST(ping_basic)
{
	struct h_net n;
	struct pinger *pg = calloc(1, sizeof(*pg));

	ck_assert_uint_eq(ping_once(1500, 56, pg, &n), 1);
	/* a resolved b by ARP first; b learned a from the request (RFC 826 merge). */
	ck_assert_uint_eq(h_stat(n.a, STAT_ArpOutRequests), 1);
	ck_assert_uint_eq(h_stat(n.b, STAT_ArpOutReplies), 1);
	ck_assert_uint_eq(h_stat(n.b, STAT_IcmpInEchos), 1);
	ck_assert_uint_eq(h_stat(n.b, STAT_IcmpOutEchoReps), 1);
	ck_assert_uint_eq(h_stat(n.b, STAT_IpFragOKs), 0);
	h_net_fini(&n);
	free(pg);
}
END_TEST

/* Fragmentation on send for several MTUs: data sized to fit the peer's 16-fragment limit,
 * both ways (the request and the reply are both fragmented). */
static const unsigned frag_mtus[] = { 1500, 1280, 1006, 576, 68 };

START_TEST(ping_fragmented_mtus)
{
	unsigned mtu = frag_mtus[_i];
	size_t per_frag = (mtu - IPV4_HDR_LEN) & ~7u;
	size_t len = per_frag * 16 - ICMP_HDR_LEN - 3; /* 16 fragments, last one short */
	struct h_net n;
	struct pinger *pg = calloc(1, sizeof(*pg));

	ck_assert_uint_eq(ping_once(mtu, len, pg, &n), 1);
	ck_assert_uint_eq(h_stat(n.a, STAT_IpFragCreates), 16);
	ck_assert_uint_eq(h_stat(n.b, STAT_IpReasmOKs), 1);
	ck_assert_uint_eq(h_stat(n.b, STAT_IpFragCreates), 16);
	ck_assert_uint_eq(h_stat(n.a, STAT_IpReasmOKs), 1);
	h_net_fini(&n);
	free(pg);
}
END_TEST

/* Every fragment on the wire: offsets in 8-byte units, all but the last a multiple of 8,
 * each within the MTU, together exactly the datagram. */
struct frag_check {
	unsigned mtu;
	size_t covered;
	unsigned frags;
	bool saw_last;
};

static void frag_capture(void *ctx, const uint8_t *frame, size_t len)
{
	struct frag_check *fc = ctx;
	struct ipv4_hdr h;

	if (len < ETH_HDR_LEN + IPV4_HDR_LEN || frame[12] != 0x08 || frame[13] != 0x00)
		return;
	ck_assert_int_eq(ipv4_hdr_parse(frame + ETH_HDR_LEN, len - ETH_HDR_LEN, &h), 0);
	ck_assert_uint_le(h.total_len, fc->mtu);
	ck_assert_uint_eq(h.frag_off, fc->covered);
	if (h.mf)
		ck_assert_uint_eq((h.total_len - h.hdr_len) % 8, 0);
	else
		fc->saw_last = true;
	fc->covered += h.total_len - h.hdr_len;
	fc->frags++;
}

static size_t zero_fill(uint8_t *buf, size_t len, void *ctx)
{
	(void)ctx;
	memset(buf, 0xab, len);
	return len;
}

START_TEST(fragment_offsets_any_mtu)
{
	/* Odd MTUs too: the per-fragment data must round down to a multiple of 8. */
	static const unsigned mtus[] = { 68, 69, 75, 576, 577, 1006, 1280, 1499, 1500, 9000 };

	for (size_t m = 0; m < sizeof(mtus) / sizeof(mtus[0]); m++) {
		struct h_host h;
		struct frag_check fc = { .mtu = mtus[m] };
		static uint8_t payload[3000];
		struct iovec iov = { payload, sizeof(payload) };

		h_host_init(&h, mtus[m], NULL, false);
		h.pair.a.on_write = frag_capture;
		h.pair.a.on_write_ctx = &fc;
		ck_assert_int_eq(ipv4_write(&h.st->ip, NULL, h_ip(H_PEER_IP), 253, 20, zero_fill,
					    NULL, &iov, 1),
				 0);
		ck_assert(fc.saw_last);
		ck_assert_uint_eq(fc.covered, 20 + sizeof(payload));
		ck_assert_uint_eq(fc.frags, (20 + sizeof(payload) + ((mtus[m] - 20) & ~7u) - 1) /
						    ((mtus[m] - 20) & ~7u));
		h_host_fini(&h);
	}
}
END_TEST

START_TEST(df_gives_emsgsize)
{
	struct h_host h;
	static uint8_t payload[2000];
	struct iovec iov = { payload, sizeof(payload) };
	struct ipv4_write_opts o = IPV4_WRITE_OPTS_DEFAULT;

	h_host_init(&h, 1500, NULL, false);
	o.fragment = false;
	ck_assert_int_eq(ipv4_write(&h.st->ip, &o, h_ip(H_PEER_IP), 253, 0, NULL, NULL, &iov, 1),
			 -EMSGSIZE);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpFragFails), 1);
	ck_assert_uint_eq(h_host_drain(&h), 0);
	/* within the MTU, DF is sent set */
	iov.iov_len = 1000;
	ck_assert_int_eq(ipv4_write(&h.st->ip, &o, h_ip(H_PEER_IP), 253, 0, NULL, NULL, &iov, 1), 0);
	{
		uint8_t f[2000];
		struct ipv4_hdr ih;
		size_t len = h_host_output(&h, f, sizeof(f));
		ck_assert_int_eq(ipv4_hdr_parse(f + ETH_HDR_LEN, len - ETH_HDR_LEN, &ih), 0);
		ck_assert(ih.df);
		ck_assert_uint_eq(ih.total_len, 1020);
	}
	/* over 65535 in total */
	{
		static uint8_t big[65516];
		struct iovec bi = { big, sizeof(big) };
		ck_assert_int_eq(ipv4_write(&h.st->ip, NULL, h_ip(H_PEER_IP), 253, 0, NULL, NULL,
					    &bi, 1),
				 -EMSGSIZE);
	}
	h_host_fini(&h);
}
END_TEST

START_TEST(ttl_and_routing)
{
	struct h_host h;
	struct stack_config c;
	uint8_t f[2000];
	struct ipv4_hdr ih;
	struct ipv4_write_opts o = IPV4_WRITE_OPTS_DEFAULT;
	size_t len;

	h_host_init(&h, 1500, NULL, false);
	/* off-link without a gateway */
	ck_assert_int_eq(ipv4_write(&h.st->ip, NULL, h_ip("192.0.2.1"), 253, 0, NULL, NULL, NULL,
				    0),
			 -ENETUNREACH);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpOutNoRoutes), 1);
	o.ttl = 3;
	ck_assert_int_eq(ipv4_write(&h.st->ip, &o, h_ip(H_PEER_IP), 253, 0, NULL, NULL, NULL, 0), 0);
	len = h_host_output(&h, f, sizeof(f));
	ck_assert_int_eq(ipv4_hdr_parse(f + ETH_HDR_LEN, len - ETH_HDR_LEN, &ih), 0);
	ck_assert_uint_eq(ih.ttl, 3);
	ck_assert(!ih.df);
	h_host_fini(&h);

	/* with a gateway (the peer), off-link goes to the gateway's MAC */
	stack_config_defaults(&c);
	c.addr = h_ip(H_HOST_IP);
	c.gateway = h_ip(H_PEER_IP);
	h_host_init(&h, 1500, &c, false);
	ck_assert_int_eq(ipv4_write(&h.st->ip, NULL, h_ip("192.0.2.1"), 253, 0, NULL, NULL, NULL,
				    0),
			 0);
	len = h_host_output(&h, f, sizeof(f));
	ck_assert_uint_eq(len, ETH_HDR_LEN + IPV4_HDR_LEN);
	ck_assert_uint_eq(f[5], 0x02); /* H_PEER_MAC */
	ck_assert_int_eq(ipv4_hdr_parse(f + ETH_HDR_LEN, len - ETH_HDR_LEN, &ih), 0);
	ck_assert(addr_eq(ih.dst, h_ip("192.0.2.1")));
	h_host_fini(&h);
}
END_TEST

START_TEST(input_validation_counted)
{
	struct h_host h;
	uint8_t f[200], echo[64];
	size_t elen = h_icmp_echo(echo, ICMP_ECHO_REQUEST, 1, 1, "abcdefgh", 8);
	size_t len;

	h_host_init(&h, 1500, NULL, false);
	/* a good one is answered */
	len = h_frame_ipv4(f, IPV4_PROTO_ICMP, 1, 0, false, echo, elen);
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_host_drain(&h), 1);

	/* bad header checksum */
	f[ETH_HDR_LEN + 10] ^= 0x01;
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpInCsumErrors), 1);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpInHdrErrors), 1);
	f[ETH_HDR_LEN + 10] ^= 0x01;

	/* truncated: the frame is shorter than the total length */
	h_host_input(&h, f, len - 1);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpInTruncatedPkts), 1);

	/* version 6 in an IPv4 EtherType */
	f[ETH_HDR_LEN] = 0x65;
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpInHdrErrors), 2);
	f[ETH_HDR_LEN] = 0x45;

	/* not for us */
	len = ETH_HDR_LEN + h_ipv4(f + ETH_HDR_LEN, h_ip(H_PEER_IP), h_ip("10.0.0.9"),
				   IPV4_PROTO_ICMP, 2, 0, false, 64, echo, elen);
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpInAddrErrors), 1);

	/* a loopback source on the wire */
	len = ETH_HDR_LEN + h_ipv4(f + ETH_HDR_LEN, h_ip("127.0.0.1"), h_ip(H_HOST_IP),
				   IPV4_PROTO_ICMP, 2, 0, false, 64, echo, elen);
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpInAddrErrors), 2);

	/* bad ICMP checksum */
	echo[2] ^= 0xff;
	len = h_frame_ipv4(f, IPV4_PROTO_ICMP, 3, 0, false, echo, elen);
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_stat(h.st, STAT_IcmpInCsumErrors), 1);
	ck_assert_uint_eq(h_stat(h.st, STAT_IcmpInErrors), 1);
	echo[2] ^= 0xff;

	/* runt frame, VLAN tag, multicast, other host, unknown EtherType */
	h_host_input(&h, f, 10);
	ck_assert_uint_eq(h_stat(h.st, STAT_EthInRunts), 1);
	len = h_frame_ipv4(f, IPV4_PROTO_ICMP, 4, 0, false, echo, elen);
	f[12] = 0x81, f[13] = 0x00;
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_stat(h.st, STAT_EthInVlanDrops), 1);
	f[12] = 0x86, f[13] = 0xdd;
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_stat(h.st, STAT_EthInUnknownType), 1);
	f[12] = 0x08, f[13] = 0x00;
	f[0] = 0x01; /* multicast */
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_stat(h.st, STAT_EthInMulticastDrops), 1);
	f[0] = 0x04; /* someone else's unicast */
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_stat(h.st, STAT_EthInOtherHost), 1);

	/* IP options are skipped and counted, the datagram still delivered */
	{
		uint8_t d[128];
		size_t dl = h_ipv4(d, h_ip(H_PEER_IP), h_ip(H_HOST_IP), IPV4_PROTO_ICMP, 5, 0,
				   false, 64, NULL, 0);
		uint8_t o[128];
		struct mac host = H_HOST_MAC, peer = H_PEER_MAC;
		struct ipv4_hdr ih;
		/* header with 4 bytes of options (NOP NOP NOP EOL) */
		memcpy(o, d, 20);
		o[0] = 0x46;
		o[20] = 1, o[21] = 1, o[22] = 1, o[23] = 0;
		memcpy(o + 24, echo, elen);
		o[2] = 0, o[3] = (uint8_t)(24 + elen);
		o[10] = o[11] = 0;
		{
			uint16_t c = csum_buf(o, 24);
			memcpy(o + 10, &c, 2);
		}
		ck_assert_int_eq(ipv4_hdr_parse(o, 24 + elen, &ih), 0);
		(void)dl;
		len = h_eth(f, host, peer, ETH_TYPE_IPV4, o, 24 + elen);
		h_host_drain(&h);
		h_host_input(&h, f, len);
		ck_assert_uint_eq(h_stat(h.st, STAT_IpInOptions), 1);
		ck_assert_uint_eq(h_host_drain(&h), 1); /* the echo reply */
	}
	/* nothing above was answered with anything */
	ck_assert_uint_eq(h_stat(h.st, STAT_IcmpOutEchoReps), 2);
	h_host_fini(&h);
}
END_TEST

START_TEST(ping_lossy_link)
{
	/* 200 pings of 3000 bytes (3 fragments each way) over a link losing 1 % of the
	 * frames; each is retried until answered, as a ping user would, and every answer
	 * must be byte-identical. */
	struct h_net n;
	struct pinger *pg = calloc(1, sizeof(*pg));
	struct memnet_faults f = { .drop_ppm = 10000 };
	struct icmp_echo_sock *s;
	static uint8_t data[3000];
	unsigned answered = 0, sent = 0;

	h_net_init(&n, 1500, NULL, NULL, 7);
	memnet_set_faults(&n.pair.a, &f);
	memnet_set_faults(&n.pair.b, &f);
	ck_assert_int_eq(icmp_echo_open(n.a, 0, &pinger_ops, pg, &s), 0);
	for (unsigned i = 0; i < 200; i++) {
		fill_pattern(data, sizeof(data), i);
		for (unsigned tries = 0; tries < 20 && pg->replies == answered; tries++) {
			int r = icmp_echo_send(s, h_ip(H_PEER_IP), (uint16_t)i, data, sizeof(data),
					       NULL);
			/* The first request queues behind ARP; a lost ARP reply is retried
			 * by ARP itself. */
			ck_assert_int_eq(r, 0);
			sent++;
			h_net_run(&n, 1100 * H_MS, 0);
		}
		ck_assert_uint_eq(pg->replies, answered + 1);
		answered++;
		ck_assert_mem_eq(pg->last_data, data, sizeof(data));
	}
	ck_assert_uint_gt(n.pair.a.stats.dropped + n.pair.b.stats.dropped, 0);
	ck_assert_uint_gt(sent, 200);
	icmp_echo_close(s);
	h_net_fini(&n);
	free(pg);
}
END_TEST

START_TEST(unknown_protocol_and_closed_port)
{
	struct h_host h;
	uint8_t f[200], out[600];
	uint8_t udp[12] = { 0x30, 0x39, 0x00, 0x07, 0x00, 12, 0, 0, 'p', 'i', 'n', 'g' };
	size_t len, olen;

	h_host_init(&h, 1500, NULL, false);
	len = h_frame_ipv4(f, 253, 9, 0, false, "xxxxxxxx", 8);
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpInUnknownProtos), 1);
	olen = h_host_output(&h, out, sizeof(out));
	ck_assert_uint_eq(olen, ETH_HDR_LEN + 20 + 8 + 20 + 8);
	ck_assert_uint_eq(out[ETH_HDR_LEN + 20], ICMP_DEST_UNREACH);
	ck_assert_uint_eq(out[ETH_HDR_LEN + 21], ICMP_UNREACH_PROTO);
	ck_assert_mem_eq(out + ETH_HDR_LEN + 28, f + ETH_HDR_LEN, 28); /* quote: hdr + 8 */

	/* UDP to a closed port: 3/3 quoting the header and the datagram (checksum 0: none) */
	len = h_frame_ipv4(f, IPV4_PROTO_UDP, 10, 0, false, udp, sizeof(udp));
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_stat(h.st, STAT_UdpNoPorts), 1);
	olen = h_host_output(&h, out, sizeof(out));
	ck_assert_uint_eq(olen, ETH_HDR_LEN + 20 + 8 + 20 + sizeof(udp));
	ck_assert_uint_eq(out[ETH_HDR_LEN + 20], ICMP_DEST_UNREACH);
	ck_assert_uint_eq(out[ETH_HDR_LEN + 21], ICMP_UNREACH_PORT);
	ck_assert_uint_eq(csum_buf(out + ETH_HDR_LEN + 20, olen - ETH_HDR_LEN - 20), 0);
	ck_assert_mem_eq(out + ETH_HDR_LEN + 28, f + ETH_HDR_LEN, 20 + sizeof(udp));
	h_host_fini(&h);
}
END_TEST

/* Sends 8 bytes of protocol 253 from st to dst (DF when df), reads the frame from out and
 * returns its IPv4 ID. */
static uint16_t sent_id(struct stack *st, struct memnet_port *out, const char *dst, bool df)
{
	static const uint8_t x[8];
	struct iovec iov = { (void *)x, sizeof(x) };
	struct ipv4_write_opts o = IPV4_WRITE_OPTS_DEFAULT;
	struct ipv4_hdr ih;
	uint8_t f[200];
	size_t len;

	o.fragment = !df;
	ck_assert_int_eq(ipv4_write(&st->ip, &o, h_ip(dst), 253, 0, NULL, NULL, &iov, 1), 0);
	len = memnet_recv(out, f, sizeof(f));
	ck_assert_uint_gt(len, ETH_HDR_LEN);
	ck_assert_int_eq(ipv4_hdr_parse(f + ETH_HDR_LEN, len - ETH_HDR_LEN, &ih), 0);
	ck_assert(addr_eq(ih.dst, h_ip(dst)));
	ck_assert_uint_eq(ih.df, df);
	return ih.id;
}

/* Issue 11 item 7, RFC 6864 / RFC 7739: IDs come from a sequence per destination, chosen by
 * a keyed hash, not from one counter that every destination can read. */
START_TEST(ip_ids_per_destination)
{
	const struct mac mac_b = H_PEER_MAC, mac_c = { { 0x02, 0, 0, 0, 0, 0x03 } };
	uint16_t gaps[8];
	unsigned distinct = 0;

	for (unsigned k = 0; k < 8; k++) {
		struct h_net n;
		uint16_t a0, b0, a, b, prev_a, prev_b;
		unsigned jumped = 0;

		h_net_init(&n, 1500, NULL, NULL, 1000 + k);
		ck_assert_int_eq(arp_add_static(stack_arp(n.a), h_ip(H_PEER_IP), mac_b), 0);
		ck_assert_int_eq(arp_add_static(stack_arp(n.a), h_ip("10.0.0.3"), mac_c), 0);
		prev_a = a0 = sent_id(n.a, &n.pair.b, H_PEER_IP, false);
		prev_b = b0 = sent_id(n.a, &n.pair.b, "10.0.0.3", false);
		/* Interleaved, no time passing: each destination sees its own consecutive
		 * IDs, and nothing of what went to the other (one shared counter gave +2). */
		for (int i = 0; i < 20; i++) {
			a = sent_id(n.a, &n.pair.b, H_PEER_IP, false);
			b = sent_id(n.a, &n.pair.b, "10.0.0.3", false);
			ck_assert_uint_eq(a, (uint16_t)(prev_a + 1));
			ck_assert_uint_eq(b, (uint16_t)(prev_b + 1));
			prev_a = a;
			prev_b = b;
		}
		gaps[k] = (uint16_t)(b0 - a0);
		for (unsigned j = 0; j < k; j++)
			if (gaps[j] == gaps[k])
				goto seen;
		distinct++;
seen:
		/* Atomic datagrams (DF) carry 0 and leave the sequence alone. */
		ck_assert_uint_eq(sent_id(n.a, &n.pair.b, H_PEER_IP, true), 0);
		/* After an idle second the sequence jumps by a random amount below 1000 (in
		 * ms), so traffic to a destination sharing the bucket cannot be counted. */
		for (int i = 0; i < 10; i++) {
			n.now_ns += H_S;
			stack_poll(n.a, n.now_ns);
			a = sent_id(n.a, &n.pair.b, H_PEER_IP, false);
			ck_assert_uint_lt((uint16_t)(a - prev_a - 1), 1000);
			jumped += a != (uint16_t)(prev_a + 1);
			prev_a = a;
		}
		ck_assert_uint_ge(jumped, 8);
		h_net_fini(&n);
	}
	/* The second destination's start is not the first one's plus a constant: it depends
	 * on the key, so it cannot be predicted from the other's IDs. */
	ck_assert_uint_ge(distinct, 7);
}
END_TEST

static Suite *ipv4_suite(void)
{
	Suite *s = suite_create("ipv4");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ping_basic);
	tcase_add_loop_test(tc, ping_fragmented_mtus, 0, sizeof(frag_mtus) / sizeof(frag_mtus[0]));
	tcase_add_test(tc, fragment_offsets_any_mtu);
	tcase_add_test(tc, df_gives_emsgsize);
	tcase_add_test(tc, ttl_and_routing);
	tcase_add_test(tc, input_validation_counted);
	tcase_add_test(tc, unknown_protocol_and_closed_port);
	tcase_add_test(tc, ping_lossy_link);
	tcase_add_test(tc, ip_ids_per_destination);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(ipv4_suite());
}
