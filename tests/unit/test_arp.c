/* ARP: replies, resolution with retries and failure, the queue bound, ageing and refresh,
 * the RFC 826 merge rule, static entries and announcements. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "stack/stack_var.h"
#include "stack/wire/arp.h"
#include "stack/wire/eth.h"

static const struct mac host_mac = H_HOST_MAC, peer_mac = H_PEER_MAC;
static const struct mac other_mac = { { 0x02, 0, 0, 0, 0, 0x33 } };

static size_t arp_frame(uint8_t *buf, uint16_t op, struct mac eth_dst, struct mac sha,
			const char *spa, struct mac tha, const char *tpa)
{
	struct arp_pkt p = { .op = op, .sha = sha, .spa = h_ip(spa), .tha = tha, .tpa = h_ip(tpa) };
	uint8_t body[ARP_PKT_LEN];

	arp_pkt_emit(&p, body);
	return h_eth(buf, eth_dst, sha, ETH_TYPE_ARP, body, sizeof(body));
}

/* Reads the next frame the host sent and parses it as ARP. */
static void next_arp(struct h_host *h, struct eth_hdr *e, struct arp_pkt *p)
{
	uint8_t f[2000];
	size_t len = h_host_output(h, f, sizeof(f));

	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(eth_hdr_parse(f, len, e), 0);
	ck_assert_uint_eq(e->type, ETH_TYPE_ARP);
	ck_assert_int_eq(arp_pkt_parse(f + ETH_HDR_LEN, len - ETH_HDR_LEN, p), 0);
}

static size_t fill_n(uint8_t *buf, size_t len, void *ctx)
{
	size_t n = *(size_t *)ctx;

	(void)len;
	memset(buf, 0x5a, n);
	return n;
}

START_TEST(reply_to_request_and_learn)
{
	struct h_host h;
	uint8_t f[100];
	struct eth_hdr e;
	struct arp_pkt p;
	struct mac m;

	h_host_init(&h, 1500, NULL, true);
	h_host_input(&h, f, arp_frame(f, ARP_OP_REQUEST, MAC_BROADCAST, peer_mac, H_PEER_IP,
					MAC_ZERO, H_HOST_IP));
	next_arp(&h, &e, &p);
	ck_assert_uint_eq(p.op, ARP_OP_REPLY);
	ck_assert(mac_eq(e.dst, peer_mac)); /* unicast back */
	ck_assert(mac_eq(p.sha, host_mac));
	ck_assert(addr_eq(p.spa, h_ip(H_HOST_IP)));
	ck_assert(mac_eq(p.tha, peer_mac));
	ck_assert(addr_eq(p.tpa, h_ip(H_PEER_IP)));
	/* RFC 826: we were the target, so the sender was added */
	ck_assert_int_eq(arp_lookup(stack_arp(h.st), h_ip(H_PEER_IP), &m), 0);
	ck_assert(mac_eq(m, peer_mac));
	ck_assert_uint_eq(h_stat(h.st, STAT_ArpInRequests), 1);
	ck_assert_uint_eq(h_stat(h.st, STAT_ArpOutReplies), 1);

	/* a request for someone else teaches nothing about an unknown sender */
	h_host_input(&h, f, arp_frame(f, ARP_OP_REQUEST, MAC_BROADCAST, other_mac, "10.0.0.3",
					MAC_ZERO, "10.0.0.4"));
	ck_assert_int_eq(arp_lookup(stack_arp(h.st), h_ip("10.0.0.3"), &m), -ENOENT);
	ck_assert_uint_eq(h_stat(h.st, STAT_ArpInIgnored), 1);
	ck_assert_uint_eq(h_host_drain(&h), 0);

	/* ... but updates a sender we know (the merge rule) */
	h_host_input(&h, f, arp_frame(f, ARP_OP_REQUEST, MAC_BROADCAST, other_mac, H_PEER_IP,
					MAC_ZERO, "10.0.0.4"));
	ck_assert_int_eq(arp_lookup(stack_arp(h.st), h_ip(H_PEER_IP), &m), 0);
	ck_assert(mac_eq(m, other_mac));
	ck_assert_uint_eq(h_host_drain(&h), 0);

	/* malformed: too short, wrong hardware type */
	h_host_input(&h, f, ETH_HDR_LEN + 20);
	arp_frame(f, ARP_OP_REQUEST, MAC_BROADCAST, peer_mac, H_PEER_IP, MAC_ZERO, H_HOST_IP);
	f[ETH_HDR_LEN + 1] = 6; /* IEEE 802 */
	h_host_input(&h, f, ETH_HDR_LEN + ARP_PKT_LEN);
	ck_assert_uint_eq(h_stat(h.st, STAT_ArpInErrors), 2);
	ck_assert_uint_eq(h_host_drain(&h), 0);
	h_host_fini(&h);
}
END_TEST

/* A sender MAC that names no single station (all zeros, broadcast, multicast) is never
 * learnt nor answered (issue 11 item 10), and is counted. */
START_TEST(bad_sender_mac_ignored)
{
	static const struct mac bad[] = {
		{ { 0, 0, 0, 0, 0, 0 } },
		{ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
		{ { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 } },
	};
	struct h_host h;
	uint8_t f[100];
	struct mac m;

	h_host_init(&h, 1500, NULL, true);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* a request for us (which would teach and be answered), and a reply */
		h_host_input(&h, f, arp_frame(f, ARP_OP_REQUEST, MAC_BROADCAST, bad[i], H_PEER_IP,
						MAC_ZERO, H_HOST_IP));
		h_host_input(&h, f, arp_frame(f, ARP_OP_REPLY, host_mac, bad[i], H_PEER_IP,
						host_mac, H_HOST_IP));
		ck_assert_int_eq(arp_lookup(stack_arp(h.st), h_ip(H_PEER_IP), &m), -ENOENT);
		ck_assert_uint_eq(h_host_drain(&h), 0);
	}
	ck_assert_uint_eq(h_stat(h.st, STAT_ArpInErrors), 6);
	ck_assert_uint_eq(h_stat(h.st, STAT_ArpOutReplies), 0);
	/* nor can one be configured */
	ck_assert_int_eq(arp_add_static(stack_arp(h.st), h_ip(H_PEER_IP), bad[0]), -EINVAL);
	h_host_fini(&h);
}
END_TEST

START_TEST(resolve_then_send_queue)
{
	struct h_host h;
	uint8_t f[2000];
	struct eth_hdr e;
	struct arp_pkt p;
	size_t n = 100;

	h_host_init(&h, 1500, NULL, true);
	/* two packets queue behind one request */
	ck_assert_int_eq(arp_output(stack_arp(h.st), h_ip(H_PEER_IP), ETH_TYPE_IPV4, n, fill_n, &n), 0);
	ck_assert_int_eq(arp_output(stack_arp(h.st), h_ip(H_PEER_IP), ETH_TYPE_IPV4, n, fill_n, &n), 0);
	next_arp(&h, &e, &p);
	ck_assert_uint_eq(p.op, ARP_OP_REQUEST);
	ck_assert(mac_is_broadcast(e.dst));
	ck_assert(addr_eq(p.tpa, h_ip(H_PEER_IP)));
	ck_assert_uint_eq(h_host_drain(&h), 0);
	/* the reply releases both, in order, to the resolved MAC */
	h_host_input(&h, f, arp_frame(f, ARP_OP_REPLY, host_mac, peer_mac, H_PEER_IP, host_mac,
					H_HOST_IP));
	for (int i = 0; i < 2; i++) {
		size_t len = h_host_output(&h, f, sizeof(f));
		ck_assert_uint_eq(len, ETH_HDR_LEN + n);
		ck_assert_int_eq(eth_hdr_parse(f, len, &e), 0);
		ck_assert(mac_eq(e.dst, peer_mac));
	}
	ck_assert_uint_eq(h_host_drain(&h), 0);
	ck_assert_uint_eq(stack_arp(h.st)->queued_bytes, 0);
	/* now sent at once */
	ck_assert_int_eq(arp_output(stack_arp(h.st), h_ip(H_PEER_IP), ETH_TYPE_IPV4, n, fill_n, &n), 0);
	ck_assert_uint_eq(h_host_drain(&h), 1);
	h_host_fini(&h);
}
END_TEST

/* A UDP socket that records its errors. */
static int errs_seen, last_err;

static int udp_recv_ignore(struct udp_sock *s, void *user, const struct udp_dgram *d)
{
	(void)s, (void)user, (void)d;
	return 0;
}

static void udp_err_record(struct udp_sock *s, void *user, const struct icmp_err *e)
{
	(void)s, (void)user;
	errs_seen++;
	last_err = e->err;
	ck_assert(e->local);
}

START_TEST(retries_then_unreachable)
{
	static const struct udp_sock_ops ops = { udp_recv_ignore, udp_err_record };
	struct h_host h;
	struct udp_sock *s;
	struct iovec iov = { "hello", 5 };
	struct eth_hdr e;
	struct arp_pkt p;
	uint64_t t0;

	h_host_init(&h, 1500, NULL, true);
	errs_seen = 0;
	ck_assert_int_eq(udp_open(h.st, 0, &ops, NULL, &s), 0);
	ck_assert_int_eq(udp_sendto(s, h_ip("10.0.0.77"), 9, &iov, 1, NULL), 0);
	t0 = h.now_ns;
	next_arp(&h, &e, &p);
	/* 3 tries, 1 s apart, each a broadcast request */
	h_host_advance(&h, 999 * H_MS);
	ck_assert_uint_eq(h_host_drain(&h), 0);
	h_host_advance(&h, 1 * H_MS);
	next_arp(&h, &e, &p);
	ck_assert(mac_is_broadcast(e.dst));
	h_host_advance(&h, 1000 * H_MS);
	next_arp(&h, &e, &p);
	ck_assert_uint_eq(h_stat(h.st, STAT_ArpOutRequests), 3);
	ck_assert_int_eq(errs_seen, 0);
	/* the third goes unanswered for a second: failure, the writer hears of it */
	h_host_advance(&h, 1000 * H_MS);
	ck_assert_uint_eq(h.now_ns - t0, 3 * H_S);
	ck_assert_uint_eq(h_host_drain(&h), 0);
	ck_assert_int_eq(errs_seen, 1);
	ck_assert_int_eq(last_err, EHOSTUNREACH);
	ck_assert_uint_eq(h_stat(h.st, STAT_ArpResolveFails), 1);
	ck_assert_uint_eq(h_stat(h.st, STAT_ArpQueueDrops), 1);
	/* while the failure is fresh, writers get -EHOSTUNREACH at once, without traffic */
	ck_assert_int_eq(udp_sendto(s, h_ip("10.0.0.77"), 9, &iov, 1, NULL), -EHOSTUNREACH);
	ck_assert_uint_eq(h_host_drain(&h), 0);
	/* later a new resolution starts */
	h_host_advance(&h, 3 * H_S);
	ck_assert_int_eq(udp_sendto(s, h_ip("10.0.0.77"), 9, &iov, 1, NULL), 0);
	next_arp(&h, &e, &p);
	udp_close(s);
	h_host_fini(&h);
}
END_TEST

START_TEST(queue_is_bounded)
{
	struct h_host h;
	size_t n = 1400, queued = 0;
	int r;

	h_host_init(&h, 1500, NULL, true);
	for (int i = 0; i < 200; i++) {
		r = arp_output(stack_arp(h.st), h_ip(H_PEER_IP), ETH_TYPE_IPV4, n, fill_n, &n);
		if (r == 0)
			queued++;
		else
			ck_assert_int_eq(r, -ENOBUFS);
	}
	/* 64 KiB per host by default */
	ck_assert_uint_eq(queued, (64 * 1024) / n);
	ck_assert_uint_le(stack_arp(h.st)->queued_bytes, 64 * 1024);
	ck_assert_uint_eq(h_stat(h.st, STAT_ArpQueueDrops), 200 - queued);
	/* the global bound across hosts */
	for (int host = 10; host < 20; host++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.0.0.%d", host);
		for (int i = 0; i < 50; i++)
			arp_output(stack_arp(h.st), h_ip(ip), ETH_TYPE_IPV4, n, fill_n, &n);
	}
	ck_assert_uint_le(stack_arp(h.st)->queued_bytes, 256 * 1024);
	h_host_fini(&h);
}
END_TEST

START_TEST(ageing_refresh_and_expiry)
{
	struct h_host h;
	uint8_t f[100];
	struct eth_hdr e;
	struct arp_pkt p;
	struct mac m;
	size_t n = 60;

	h_host_init(&h, 1500, NULL, true);
	h_host_input(&h, f, arp_frame(f, ARP_OP_REQUEST, MAC_BROADCAST, peer_mac, H_PEER_IP,
					MAC_ZERO, H_HOST_IP));
	ck_assert_uint_eq(h_host_drain(&h), 1);
	/* within the reachable time: used without any request */
	h_host_advance(&h, 29 * H_S);
	ck_assert_int_eq(arp_output(stack_arp(h.st), h_ip(H_PEER_IP), ETH_TYPE_IPV4, n, fill_n, &n), 0);
	ck_assert_uint_eq(h_host_drain(&h), 1);
	/* after it: still used, and revalidated by a unicast request (RFC 1122 §2.3.2.1) */
	h_host_advance(&h, 2 * H_S);
	ck_assert_int_eq(arp_output(stack_arp(h.st), h_ip(H_PEER_IP), ETH_TYPE_IPV4, n, fill_n, &n), 0);
	next_arp(&h, &e, &p);
	ck_assert_uint_eq(p.op, ARP_OP_REQUEST);
	ck_assert(mac_eq(e.dst, peer_mac));
	ck_assert_uint_eq(h_host_drain(&h), 1); /* the data frame */
	/* answered: reachable again, no more requests */
	h_host_input(&h, f, arp_frame(f, ARP_OP_REPLY, host_mac, peer_mac, H_PEER_IP, host_mac,
					H_HOST_IP));
	h_host_advance(&h, 5 * H_S);
	ck_assert_uint_eq(h_host_drain(&h), 0);
	/* unused, it expires after 60 s */
	h_host_advance(&h, 56 * H_S);
	ck_assert_int_eq(arp_lookup(stack_arp(h.st), h_ip(H_PEER_IP), &m), -ENOENT);

	/* an unanswered refresh (3 unicast tries) forgets the entry */
	h_host_input(&h, f, arp_frame(f, ARP_OP_REQUEST, MAC_BROADCAST, peer_mac, H_PEER_IP,
					MAC_ZERO, H_HOST_IP));
	h_host_drain(&h);
	h_host_advance(&h, 31 * H_S);
	arp_output(stack_arp(h.st), h_ip(H_PEER_IP), ETH_TYPE_IPV4, n, fill_n, &n);
	h_host_advance(&h, 10 * H_S);
	ck_assert_uint_eq(h_host_drain(&h), 4); /* 3 unicast requests + the data */
	ck_assert_int_eq(arp_lookup(stack_arp(h.st), h_ip(H_PEER_IP), &m), -ENOENT);
	h_host_fini(&h);
}
END_TEST

START_TEST(static_entries_and_lru)
{
	struct h_host h;
	struct stack_config c;
	uint8_t f[100];
	struct mac m;
	struct arp_entry_info info[8];

	stack_config_defaults(&c);
	c.addr = h_ip(H_HOST_IP);
	c.arp_cache_size = 4;
	h_host_init(&h, 1500, &c, false); /* the peer is static */
	/* the network cannot override a static entry */
	h_host_input(&h, f, arp_frame(f, ARP_OP_REPLY, host_mac, other_mac, H_PEER_IP, host_mac,
					H_HOST_IP));
	ck_assert_int_eq(arp_lookup(stack_arp(h.st), h_ip(H_PEER_IP), &m), 0);
	ck_assert(mac_eq(m, peer_mac));
	/* fill the cache past its size: the least recently used dynamic entry goes, never
	 * the static one */
	for (int i = 10; i < 16; i++) {
		char ip[32];
		struct mac mm = other_mac;
		snprintf(ip, sizeof(ip), "10.0.0.%d", i);
		mm.b[5] = (uint8_t)i;
		h.now_ns += H_MS;
		h_host_input(&h, f, arp_frame(f, ARP_OP_REQUEST, MAC_BROADCAST, mm, ip, MAC_ZERO,
						H_HOST_IP));
	}
	ck_assert_uint_eq(arp_dump(stack_arp(h.st), info, 8), 4);
	ck_assert_int_eq(arp_lookup(stack_arp(h.st), h_ip(H_PEER_IP), &m), 0);
	ck_assert_int_eq(arp_lookup(stack_arp(h.st), h_ip("10.0.0.15"), &m), 0);
	ck_assert_int_eq(arp_lookup(stack_arp(h.st), h_ip("10.0.0.10"), &m), -ENOENT);
	ck_assert_uint_eq(h_stat(h.st, STAT_ArpCacheEvictions), 3);
	/* static entries never age */
	h_host_advance(&h, 3600 * H_S);
	ck_assert_int_eq(arp_lookup(stack_arp(h.st), h_ip(H_PEER_IP), &m), 0);
	ck_assert_int_eq(arp_add_static(stack_arp(h.st), h_ip("10.0.0.50"), MAC_BROADCAST), -EINVAL);
	ck_assert_int_eq(arp_remove(stack_arp(h.st), h_ip(H_PEER_IP)), 0);
	ck_assert_int_eq(arp_lookup(stack_arp(h.st), h_ip(H_PEER_IP), &m), -ENOENT);
	h_host_fini(&h);
}
END_TEST

START_TEST(announce_and_conflicts)
{
	struct h_host h;
	uint8_t f[100];
	struct eth_hdr e;
	struct arp_pkt p;
	struct mac m;

	h_host_init(&h, 1500, NULL, true);
	ck_assert_int_eq(stack_up(h.st, h.now_ns), 0);
	next_arp(&h, &e, &p);
	/* RFC 5227 announcement: a broadcast request, sender and target our address */
	ck_assert(mac_is_broadcast(e.dst));
	ck_assert_uint_eq(p.op, ARP_OP_REQUEST);
	ck_assert(addr_eq(p.spa, h_ip(H_HOST_IP)));
	ck_assert(addr_eq(p.tpa, h_ip(H_HOST_IP)));
	/* a probe (sender 0.0.0.0) for our address is answered, and teaches nothing */
	h_host_input(&h, f, arp_frame(f, ARP_OP_REQUEST, MAC_BROADCAST, other_mac, "0.0.0.0",
					MAC_ZERO, H_HOST_IP));
	next_arp(&h, &e, &p);
	ck_assert_uint_eq(p.op, ARP_OP_REPLY);
	ck_assert_int_eq(arp_lookup(stack_arp(h.st), h_ip("0.0.0.0"), &m), -ENOENT);
	/* someone claiming our address does not get into the cache */
	h_host_input(&h, f, arp_frame(f, ARP_OP_REPLY, MAC_BROADCAST, other_mac, H_HOST_IP,
					MAC_ZERO, H_HOST_IP));
	ck_assert_int_eq(arp_lookup(stack_arp(h.st), h_ip(H_HOST_IP), &m), -ENOENT);
	ck_assert_uint_eq(h_host_drain(&h), 0);
	h_host_fini(&h);
}
END_TEST

/* The timer heap holds exactly the entries with a deadline, each at the deadline its state
 * gives, in heap order; the next deadline is the earliest. */
static void check_timers(const struct arp *arp)
{
	uint64_t min = UINT64_MAX;
	unsigned with = 0;

	for (unsigned i = 0; i < arp->cap; i++) {
		const struct arp_entry *e = &arp->tab[i];
		uint64_t d = arp_entry_deadline(arp, e);

		if (d == UINT64_MAX) {
			ck_assert_uint_eq(e->timer_pos, 0);
			continue;
		}
		with++;
		ck_assert_uint_eq(e->deadline_ns, d);
		ck_assert_uint_ne(e->timer_pos, 0);
		ck_assert_uint_eq(arp->timers[e->timer_pos - 1], i);
		if (d < min)
			min = d;
	}
	ck_assert_uint_eq(arp->ntimers, with);
	for (unsigned i = 1; i < arp->ntimers; i++)
		ck_assert_uint_ge(arp->tab[arp->timers[i]].deadline_ns,
				  arp->tab[arp->timers[(i - 1) / 2]].deadline_ns);
	ck_assert_uint_eq(arp_next_deadline(arp), min);
}

/* Random resolutions, replies, removals, static entries and time in a small cache (LRU
 * evictions too): the timers stay exact, and polling leaves nothing overdue. */
START_TEST(timer_heap_consistent)
{
	struct h_host h;
	struct stack_config c;
	struct rng rng;
	uint8_t seed[32] = { 11 }, f[100];
	size_t n = 40;
	char ip[16];

	stack_config_defaults(&c);
	c.addr = h_ip(H_HOST_IP);
	c.arp_cache_size = 16;
	c.arp_expire_ms = 5000;
	c.arp_reachable_ms = 2000;
	h_host_init(&h, 1500, &c, true);
	rng_seed(&rng, seed);
	for (int step = 0; step < 20000; step++) {
		struct mac m = { { 0x02, 0, 0, 0, 1, 0 } };
		unsigned host = 2 + rng_below(&rng, 40);

		snprintf(ip, sizeof(ip), "10.0.0.%u", host);
		m.b[5] = (uint8_t)host;
		switch (rng_below(&rng, 10)) {
		case 0:
		case 1:
		case 2:
			arp_output(stack_arp(h.st), h_ip(ip), ETH_TYPE_IPV4, n, fill_n, &n);
			break;
		case 3:
		case 4:
			h_host_input(&h, f, arp_frame(f, ARP_OP_REPLY, host_mac, m, ip, host_mac,
							H_HOST_IP));
			break;
		case 5:
			arp_remove(stack_arp(h.st), h_ip(ip));
			break;
		case 6:
			if (rng_below(&rng, 10) == 0)
				arp_add_static(stack_arp(h.st), h_ip(ip), m);
			break;
		default:
			h_host_advance(&h, rng_below(&rng, 1500) * H_MS);
			ck_assert_uint_gt(stack_next_deadline(h.st), h.now_ns);
			break;
		}
		h_host_drain(&h);
		check_timers(stack_arp(h.st));
	}
	/* every path was taken: failures, refreshes that failed, evictions */
	ck_assert_uint_gt(h_stat(h.st, STAT_ArpResolveFails), 100);
	ck_assert_uint_gt(h_stat(h.st, STAT_ArpCacheEvictions), 100);
	ck_assert_uint_gt(h_stat(h.st, STAT_ArpQueueDrops), 100);
	h_host_fini(&h);
}
END_TEST

/* CPU seconds this thread has used. */
static double cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Issue 11 item 11: the daemon asks stack_next_deadline() after every event, so it must not
 * scan the ARP cache (65,536 entries here, 2,000 of them resolving). 100,000 calls took
 * seconds with the scan; they take microseconds with the timer heap. */
START_TEST(next_deadline_does_not_scan)
{
	struct h_host h;
	struct stack_config c;
	size_t n = 20;
	uint64_t want, got = 0;
	double t0, cpu;

	stack_config_defaults(&c);
	c.addr = h_ip(H_HOST_IP);
	c.prefix_len = 16;
	c.arp_cache_size = 65536;
	h_host_init(&h, 1500, &c, true);
	for (uint32_t i = 0; i < 2000; i++) {
		struct in_addr ip = addr_from_host(0x0a000100u + i); /* 10.0.1.0 on */

		ck_assert_int_eq(arp_output(stack_arp(h.st), ip, ETH_TYPE_IPV4, n, fill_n, &n), 0);
		h_host_drain(&h);
	}
	want = h.now_ns + c.arp_retry_ms * H_MS; /* every first retry is due then */
	t0 = cpu_s();
	for (int i = 0; i < 100000; i++)
		got |= stack_next_deadline(h.st);
	cpu = cpu_s() - t0;
	ck_assert_uint_eq(got, want);
	ck_assert_msg(cpu < 0.5, "100,000 deadline lookups took %.3f s of CPU", cpu);
	h_host_fini(&h);
}
END_TEST

static Suite *arp_suite(void)
{
	Suite *s = suite_create("arp");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reply_to_request_and_learn);
	tcase_add_test(tc, bad_sender_mac_ignored);
	tcase_add_test(tc, resolve_then_send_queue);
	tcase_add_test(tc, retries_then_unreachable);
	tcase_add_test(tc, queue_is_bounded);
	tcase_add_test(tc, ageing_refresh_and_expiry);
	tcase_add_test(tc, static_entries_and_lru);
	tcase_add_test(tc, announce_and_conflicts);
	tcase_add_test(tc, next_deadline_does_not_scan);
	tcase_add_test(tc, timer_heap_consistent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(arp_suite());
}
