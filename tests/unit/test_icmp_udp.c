/* ICMP and UDP: sockets between two stacks, errors matched to the socket they concern,
 * the error rate limit and the RFC 1122 rules on when not to send errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sock_rec.h"
#include "stack/stack_var.h"
#include "stack/wire/csum.h"
#include "stack/wire/eth.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"

START_TEST(udp_both_ways_and_refused)
{
	struct h_net n;
	struct rec ra = { 0 }, rb = { 0 };
	struct udp_sock *sa, *sb, *dup;
	struct iovec iov[2] = { { "hello, ", 7 }, { "world", 5 } };

	h_net_init(&n, 1500, NULL, NULL, 1);
	ck_assert_int_eq(udp_open(n.b, 7, &rec_udp_ops, &rb, &sb), 0);
	ck_assert_int_eq(udp_open(n.b, 7, &rec_udp_ops, &rb, &dup), -EADDRINUSE);
	ck_assert_int_eq(udp_open(n.a, 0, &rec_udp_ops, &ra, &sa), 0);
	ck_assert_uint_ge(udp_sock_port(sa), UDP_EPHEMERAL_MIN);
	ck_assert_uint_le(udp_sock_port(sa), UDP_EPHEMERAL_MAX);

	ck_assert_int_eq(udp_sendto(sa, h_ip(H_PEER_IP), 7, iov, 2, NULL), 0);
	h_net_run(&n, 10 * H_MS, 0);
	ck_assert_uint_eq(rb.n, 1);
	ck_assert_uint_eq(rb.len, 12);
	ck_assert_mem_eq(rb.data, "hello, world", 12);
	ck_assert_uint_eq(rb.sport, udp_sock_port(sa));
	ck_assert_uint_eq(h_stat(n.b, STAT_UdpInDatagrams), 1);

	/* a full receiver drops and counts */
	rb.verdict = -ENOBUFS;
	ck_assert_int_eq(udp_sendto(sa, h_ip(H_PEER_IP), 7, iov, 2, NULL), 0);
	h_net_run(&n, 10 * H_MS, 0);
	ck_assert_uint_eq(h_stat(n.b, STAT_UdpRcvbufErrors), 1);

	/* to a closed port: b answers 3/3 and a's socket sees ECONNREFUSED */
	ck_assert_int_eq(udp_sendto(sa, h_ip(H_PEER_IP), 9999, iov, 1, NULL), 0);
	h_net_run(&n, 10 * H_MS, 0);
	ck_assert_uint_eq(h_stat(n.b, STAT_UdpNoPorts), 1);
	ck_assert_uint_eq(h_stat(n.b, STAT_IcmpOutDestUnreachs), 1);
	ck_assert_uint_eq(ra.errs, 1);
	ck_assert_int_eq(ra.err, ECONNREFUSED);
	ck_assert_uint_eq(ra.type, ICMP_DEST_UNREACH);
	ck_assert_uint_eq(ra.code, ICMP_UNREACH_PORT);

	/* large datagrams are fragmented and reassembled; over 65507 bytes is refused */
	{
		static uint8_t big[20000];
		struct iovec bi = { big, sizeof(big) };
		rb.verdict = 0;
		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (uint8_t)i;
		ck_assert_int_eq(udp_sendto(sa, h_ip(H_PEER_IP), 7, &bi, 1, NULL), 0);
		h_net_run(&n, 10 * H_MS, 0);
		ck_assert_uint_eq(rb.len, sizeof(big));
		ck_assert_mem_eq(rb.data, big, sizeof(big));
		bi.iov_len = 65508;
		ck_assert_int_eq(udp_sendto(sa, h_ip(H_PEER_IP), 7, &bi, 1, NULL), -EMSGSIZE);
	}
	udp_close(sa);
	udp_close(sb);
	h_net_fini(&n);
}
END_TEST

START_TEST(udp_checksums)
{
	struct h_host h;
	struct rec r = { 0 };
	struct udp_sock *s;
	uint8_t f[200];
	/* to port 7 from 12345, "ping", checksum filled below */
	uint8_t udp[12] = { 0x30, 0x39, 0x00, 0x07, 0x00, 12, 0, 0, 'p', 'i', 'n', 'g' };
	struct csum c = CSUM_INIT;
	uint16_t sum;
	size_t len;

	h_host_init(&h, 1500, NULL, false);
	ck_assert_int_eq(udp_open(h.st, 7, &rec_udp_ops, &r, &s), 0);
	/* 0: no checksum, accepted (RFC 768) */
	len = h_frame_ipv4(f, IPV4_PROTO_UDP, 1, 0, false, udp, sizeof(udp));
	h_host_input(&h, f, len);
	ck_assert_uint_eq(r.n, 1);
	/* a correct one */
	csum_feed_pseudo(&c, h_ip(H_PEER_IP), h_ip(H_HOST_IP), IPV4_PROTO_UDP, sizeof(udp));
	csum_feed(&c, udp, sizeof(udp));
	sum = csum_finish(&c);
	memcpy(udp + 6, &sum, 2);
	len = h_frame_ipv4(f, IPV4_PROTO_UDP, 2, 0, false, udp, sizeof(udp));
	h_host_input(&h, f, len);
	ck_assert_uint_eq(r.n, 2);
	/* a wrong one: counted, dropped, no ICMP */
	udp[8] = 'P';
	len = h_frame_ipv4(f, IPV4_PROTO_UDP, 3, 0, false, udp, sizeof(udp));
	h_host_input(&h, f, len);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(h_stat(h.st, STAT_UdpInCsumErrors), 1);
	ck_assert_uint_eq(h_stat(h.st, STAT_UdpInErrors), 1);
	/* a UDP length beyond the IP payload */
	udp[5] = 40;
	len = h_frame_ipv4(f, IPV4_PROTO_UDP, 4, 0, false, udp, sizeof(udp));
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_stat(h.st, STAT_UdpInErrors), 2);
	ck_assert_uint_eq(h_host_drain(&h), 0);
	udp_close(s);
	h_host_fini(&h);
}
END_TEST

START_TEST(error_rate_limit)
{
	struct h_host h;
	uint8_t f[200];
	uint8_t udp[8] = { 0x30, 0x39, 0x27, 0x0f, 0x00, 8, 0, 0 };
	size_t len = h_frame_ipv4(f, IPV4_PROTO_UDP, 1, 0, false, udp, sizeof(udp));

	h_host_init(&h, 1500, NULL, false);
	for (int i = 0; i < 100; i++)
		h_host_input(&h, f, len);
	/* burst of 50, then nothing until tokens come back */
	ck_assert_uint_eq(h_host_drain(&h), 50);
	ck_assert_uint_eq(h_stat(h.st, STAT_IcmpOutRateLimitGlobal), 50);
	ck_assert_uint_eq(h_stat(h.st, STAT_UdpNoPorts), 100);
	/* 1000 a second: 10 ms buys 10 */
	h.now_ns += 10 * H_MS;
	for (int i = 0; i < 100; i++)
		h_host_input(&h, f, len);
	ck_assert_uint_eq(h_host_drain(&h), 10);
	/* echo replies are not rate limited */
	{
		uint8_t echo[64];
		size_t el = h_icmp_echo(echo, ICMP_ECHO_REQUEST, 5, 1, "x", 1);
		len = h_frame_ipv4(f, IPV4_PROTO_ICMP, 2, 0, false, echo, el);
		for (int i = 0; i < 100; i++)
			h_host_input(&h, f, len);
		ck_assert_uint_eq(h_host_drain(&h), 100);
	}
	h_host_fini(&h);
}
END_TEST

START_TEST(no_errors_about_errors_broadcasts_fragments)
{
	struct h_host h;
	uint8_t f[300], ip[300];
	struct mac host = H_HOST_MAC, peer = H_PEER_MAC;
	uint8_t udp[8] = { 0x30, 0x39, 0x27, 0x0f, 0x00, 8, 0, 0 };
	size_t len;

	h_host_init(&h, 1500, NULL, false);
	/* UDP to a closed port at the subnet broadcast: no 3/3 */
	len = h_ipv4(ip, h_ip(H_PEER_IP), h_ip("10.0.0.255"), IPV4_PROTO_UDP, 1, 0, false, 64, udp,
		     8);
	h_host_input(&h, f, h_eth(f, MAC_BROADCAST, peer, ETH_TYPE_IPV4, ip, len));
	ck_assert_uint_eq(h_stat(h.st, STAT_UdpIgnoredMulti), 1);
	/* unicast IP in a link-layer broadcast: no error either */
	len = h_ipv4(ip, h_ip(H_PEER_IP), h_ip(H_HOST_IP), 253, 2, 0, false, 64, udp, 8);
	h_host_input(&h, f, h_eth(f, MAC_BROADCAST, peer, ETH_TYPE_IPV4, ip, len));
	ck_assert_uint_eq(h_stat(h.st, STAT_IpInUnknownProtos), 1);
	/* an ICMP error about an ICMP error: never answered, even with an unknown type */
	{
		uint8_t icmp[64] = { ICMP_DEST_UNREACH, 3, 0, 0, 0, 0, 0, 0 };
		memcpy(icmp + 8, ip, 28);
		icmp_csum_store(icmp, csum_buf(icmp, 36));
		len = h_frame_ipv4(f, IPV4_PROTO_ICMP, 3, 0, false, icmp, 36);
		h_host_input(&h, f, len);
	}
	/* an echo to the broadcast address is ignored (RFC 1122 §3.2.2.6) */
	{
		uint8_t echo[64];
		size_t el = h_icmp_echo(echo, ICMP_ECHO_REQUEST, 5, 1, "x", 1);
		len = h_ipv4(ip, h_ip(H_PEER_IP), h_ip("255.255.255.255"), IPV4_PROTO_ICMP, 4, 0,
			     false, 64, echo, el);
		h_host_input(&h, f, h_eth(f, MAC_BROADCAST, peer, ETH_TYPE_IPV4, ip, len));
		ck_assert_uint_eq(h_stat(h.st, STAT_IcmpInBcastEchoIgnored), 1);
	}
	ck_assert_uint_eq(h_host_drain(&h), 0);
	ck_assert_uint_eq(h_stat(h.st, STAT_IcmpOutMsgs), 0);
	(void)host;
	h_host_fini(&h);
}
END_TEST

/* RFC 1122 §3.2.2 and RFC 1812 §4.3.2.7: no error to a source that does not name a single
 * host, class E (240/4) included (issue 11 item 10). The host has a gateway, so that a
 * reply to any source would leave. */
START_TEST(no_errors_to_invalid_sources)
{
	static const char *const bad[] = { "240.0.0.1", "250.1.2.3", "255.255.255.254" };
	struct h_host h;
	struct stack_config c;
	uint8_t f[300], ip[300];
	uint8_t udp[8] = { 0x30, 0x39, 0x27, 0x0f, 0x00, 8, 0, 0 };
	struct mac peer = H_PEER_MAC, host = H_HOST_MAC;
	size_t len;

	stack_config_defaults(&c);
	c.addr = h_ip(H_HOST_IP);
	c.gateway = h_ip(H_PEER_IP);
	h_host_init(&h, 1500, &c, false);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* UDP to a closed port, and an unknown protocol */
		len = h_ipv4(ip, h_ip(bad[i]), h_ip(H_HOST_IP), IPV4_PROTO_UDP, 1, 0, false, 64,
			     udp, 8);
		h_host_input(&h, f, h_eth(f, host, peer, ETH_TYPE_IPV4, ip, len));
		len = h_ipv4(ip, h_ip(bad[i]), h_ip(H_HOST_IP), 253, 2, 0, false, 64, udp, 8);
		h_host_input(&h, f, h_eth(f, host, peer, ETH_TYPE_IPV4, ip, len));
		ck_assert_msg(h_host_drain(&h) == 0, "an error went to %s", bad[i]);
	}
	ck_assert_uint_eq(h_stat(h.st, STAT_UdpNoPorts), 3);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpInUnknownProtos), 3);
	ck_assert_uint_eq(h_stat(h.st, STAT_IcmpOutMsgs), 0);
	/* a reassembly timeout about a class E source: no 11/1 either */
	len = h_ipv4(ip, h_ip("240.0.0.1"), h_ip(H_HOST_IP), IPV4_PROTO_UDP, 3, 0, true, 64, udp,
		     8);
	h_host_input(&h, f, h_eth(f, host, peer, ETH_TYPE_IPV4, ip, len));
	h_host_advance(&h, 11 * H_S);
	ck_assert_uint_eq(h_stat(h.st, STAT_IpReasmTimeout), 1);
	ck_assert_uint_eq(h_stat(h.st, STAT_IcmpOutMsgs), 0);
	/* an off-link unicast source still gets its error, through the gateway */
	len = h_ipv4(ip, h_ip("192.0.2.1"), h_ip(H_HOST_IP), IPV4_PROTO_UDP, 4, 0, false, 64, udp,
		     8);
	h_host_input(&h, f, h_eth(f, host, peer, ETH_TYPE_IPV4, ip, len));
	ck_assert_uint_eq(h_stat(h.st, STAT_IcmpOutDestUnreachs), 1);
	ck_assert_uint_eq(h_host_drain(&h), 1);
	h_host_fini(&h);
}
END_TEST

/* a pings b with a fragmented request whose last fragment is lost: after 10 s b's
 * reassembly times out and its 11/1 reaches a's echo socket, matched by identifier. */
static void drop_last_fragment(struct h_net *n)
{
	/* Fragments go out in order; the last one written is the one with MF clear. */
	struct memnet_port *b = &n->pair.b;
	struct memnet_frame *f = b->head, *prev = NULL;

	while (f && f->next) {
		prev = f;
		f = f->next;
	}
	ck_assert_ptr_nonnull(prev);
	prev->next = NULL;
	b->tail = prev;
	b->queued--;
	free(f);
}

START_TEST(reassembly_timeout_reaches_echo_socket)
{
	struct h_net n;
	struct rec r = { 0 };
	struct icmp_echo_sock *s;
	static uint8_t data[4000];

	h_net_init(&n, 1500, NULL, NULL, 3);
	/* resolve first so that the fragments go out at once */
	ck_assert_int_eq(icmp_echo_open(n.a, 0, &rec_echo_ops, &r, &s), 0);
	ck_assert_int_eq(icmp_echo_send(s, h_ip(H_PEER_IP), 1, data, 10, NULL), 0);
	h_net_run(&n, 10 * H_MS, 0);
	ck_assert_uint_eq(r.n, 1);

	ck_assert_int_eq(icmp_echo_send(s, h_ip(H_PEER_IP), 2, data, sizeof(data), NULL), 0);
	drop_last_fragment(&n);
	h_net_pump(&n);
	h_net_run(&n, 9999 * H_MS, 0);
	ck_assert_uint_eq(r.errs, 0);
	h_net_run(&n, 1 * H_MS, 0);
	ck_assert_uint_eq(h_stat(n.b, STAT_IpReasmTimeout), 1);
	ck_assert_uint_eq(h_stat(n.b, STAT_IcmpOutTimeExcds), 1);
	ck_assert_uint_eq(r.errs, 1);
	ck_assert_uint_eq(r.type, ICMP_TIME_EXCEEDED);
	ck_assert_uint_eq(r.code, ICMP_TIMXCEED_REASS);
	ck_assert_uint_eq(r.seq, 2);
	ck_assert_uint_eq(r.n, 1);
	icmp_echo_close(s);
	h_net_fini(&n);
}
END_TEST

START_TEST(unmatched_errors_counted)
{
	struct h_host h;
	uint8_t f[300], icmp[100], quoted[28];
	uint8_t udp[8] = { 0x9c, 0x40, 0x00, 0x35, 0x00, 8, 0, 0 };
	size_t len;

	h_host_init(&h, 1500, NULL, false);
	/* a port unreachable about a datagram from our port 40000, where nobody listens */
	h_ipv4(quoted, h_ip(H_HOST_IP), h_ip(H_PEER_IP), IPV4_PROTO_UDP, 7, 0, false, 64, udp, 8);
	memset(icmp, 0, 8);
	icmp[0] = ICMP_DEST_UNREACH;
	icmp[1] = ICMP_UNREACH_PORT;
	memcpy(icmp + 8, quoted, 28);
	icmp_csum_store(icmp, csum_buf(icmp, 36));
	len = h_frame_ipv4(f, IPV4_PROTO_ICMP, 3, 0, false, icmp, 36);
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_stat(h.st, STAT_IcmpInDestUnreachs), 1);
	ck_assert_uint_eq(h_stat(h.st, STAT_IcmpInUnmatchedErrors), 1);
	/* a quote too short to name a socket */
	icmp_csum_store(icmp, 0);
	icmp_csum_store(icmp, csum_buf(icmp, 30));
	len = h_frame_ipv4(f, IPV4_PROTO_ICMP, 4, 0, false, icmp, 30);
	h_host_input(&h, f, len);
	ck_assert_uint_eq(h_stat(h.st, STAT_IcmpInErrors), 1);
	ck_assert_uint_eq(h_host_drain(&h), 0);
	h_host_fini(&h);
}
END_TEST

static Suite *icmp_udp_suite(void)
{
	Suite *s = suite_create("icmp_udp");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, udp_both_ways_and_refused);
	tcase_add_test(tc, udp_checksums);
	tcase_add_test(tc, error_rate_limit);
	tcase_add_test(tc, no_errors_about_errors_broadcasts_fragments);
	tcase_add_test(tc, no_errors_to_invalid_sources);
	tcase_add_test(tc, reassembly_timeout_reaches_echo_socket);
	tcase_add_test(tc, unmatched_errors_counted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(icmp_udp_suite());
}
