/* The loopback path (stack/ipv4_loopback.h): TCP, UDP, ping and ICMP errors between
 * sockets of one stack through its own address, delivered by stack_poll() and never
 * recursively, none of it reaching the device; the queue's bound; super-segments whole. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"
#include "sock_rec.h"
#include "stack/stack_limits.h"
#include "stack/stack_var.h"
#include "stack/tcp.h"
#include "stack/wire/eth.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"

/* Nothing of ours on the wire: the device was never written. */
static void assert_no_frame(struct h_host *h)
{
	ck_assert_uint_eq(h->pair.a.stats.written, 0);
	ck_assert_uint_eq(h->pair.a.stats.refused, 0);
	ck_assert_uint_eq(h_stat(h->st, STAT_EthOutFrames), 0);
	ck_assert_uint_eq(h_host_drain(h), 0);
}

/* Every datagram sent went through the queue and came in once, nothing left over. */
static void assert_ip_balanced(struct h_host *h)
{
	const struct stack *st = h->st;

	ck_assert(!ipv4_loopback_pending(&st->ip.lo));
	ck_assert_uint_eq(h_stat(st, STAT_IpLoopbackOut), h_stat(st, STAT_IpOutRequests));
	ck_assert_uint_eq(h_stat(st, STAT_IpInReceives), h_stat(st, STAT_IpOutRequests));
	ck_assert_uint_eq(h_stat(st, STAT_IpInDelivers), h_stat(st, STAT_IpInReceives));
	ck_assert_uint_eq(h_stat(st, STAT_IpInAddrErrors), 0);
	ck_assert_uint_eq(h_stat(st, STAT_IpInHdrErrors), 0);
	ck_assert_uint_eq(h_stat(st, STAT_IpOutDiscards), 0);
	ck_assert_uint_eq(h_stat(st, STAT_IpLoopbackDrops), 0);
}

/* One stack with a recording UDP socket on `port` (0: ephemeral). */
struct ufix {
	struct h_host h;
	struct udp_sock *s;
	struct rec r;
};

static struct ufix *ufix_new(uint16_t port)
{
	struct ufix *f = calloc(1, sizeof(*f));

	ck_assert_ptr_nonnull(f);
	h_host_init(&f->h, 1500, NULL, true);
	ck_assert_int_eq(udp_open(f->h.st, port, &rec_udp_ops, &f->r, &f->s), 0);
	return f;
}

static void ufix_free(struct ufix *f)
{
	udp_close(f->s);
	h_host_fini(&f->h);
	free(f);
}

START_TEST(udp_to_self)
{
	static uint8_t big[30000];
	struct ufix *f = ufix_new(7);
	struct stack *st = f->h.st;
	struct rec *rc = calloc(1, sizeof(*rc));
	struct udp_sock *cli;
	struct iovec iov = { "hello, self", 11 };
	struct ipv4_write_opts df = { .fragment = false };

	ck_assert_int_eq(udp_open(st, 0, &rec_udp_ops, rc, &cli), 0);
	ck_assert_uint_eq(stack_next_deadline(st), STACK_NO_DEADLINE);

	ck_assert_int_eq(udp_sendto(cli, h_ip(H_HOST_IP), 7, &iov, 1, NULL), 0);
	/* Not delivered inside the send; the driver is told to poll at once. */
	ck_assert_uint_eq(f->r.n, 0);
	ck_assert_uint_le(stack_next_deadline(st), f->h.now_ns);
	stack_poll(st, f->h.now_ns);
	ck_assert_uint_eq(f->r.n, 1);
	ck_assert_uint_eq(f->r.len, 11);
	ck_assert_mem_eq(f->r.data, "hello, self", 11);
	ck_assert_uint_eq(f->r.sport, udp_sock_port(cli));
	ck_assert(addr_eq(f->r.src, h_ip(H_HOST_IP)));
	/* Empty again: no deadline, the driver may sleep. */
	ck_assert_uint_eq(stack_next_deadline(st), STACK_NO_DEADLINE);

	/* The loopback MTU is 64 KiB, as Linux's lo: a datagram over the device MTU goes
	 * whole, even with DF. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	iov = (struct iovec){ big, sizeof(big) };
	ck_assert_int_eq(udp_sendto(f->s, h_ip(H_HOST_IP), udp_sock_port(cli), &iov, 1, &df), 0);
	h_host_advance(&f->h, H_MS);
	ck_assert_uint_eq(rc->n, 1);
	ck_assert_uint_eq(rc->len, sizeof(big));
	ck_assert_mem_eq(rc->data, big, sizeof(big));
	ck_assert_uint_eq(h_stat(st, STAT_IpFragCreates), 0);
	ck_assert_uint_eq(h_stat(st, STAT_IpReasmReqds), 0);
	ck_assert_uint_eq(h_stat(st, STAT_UdpInDatagrams), 2);
	ck_assert_uint_eq(h_stat(st, STAT_UdpOutDatagrams), 2);
	ck_assert_uint_eq(h_stat(st, STAT_IpLoopbackOut), 2);
	assert_ip_balanced(&f->h);
	assert_no_frame(&f->h);
	udp_close(cli);
	ufix_free(f);
	free(rc);
}
END_TEST

START_TEST(udp_closed_port_on_self_is_refused)
{
	struct ufix *f = ufix_new(0);
	struct stack *st = f->h.st;
	struct iovec iov = { "x", 1 };

	ck_assert_int_eq(udp_sendto(f->s, h_ip(H_HOST_IP), 9999, &iov, 1, NULL), 0);
	h_host_advance(&f->h, H_MS);
	/* RFC 1122 §3.2.2.1: port unreachable, sent to ourselves and matched to the socket. */
	ck_assert_uint_eq(h_stat(st, STAT_UdpNoPorts), 1);
	ck_assert_uint_eq(h_stat(st, STAT_IcmpOutDestUnreachs), 1);
	ck_assert_uint_eq(h_stat(st, STAT_IcmpInDestUnreachs), 1);
	ck_assert_uint_eq(f->r.errs, 1);
	ck_assert_int_eq(f->r.err, ECONNREFUSED);
	ck_assert_uint_eq(f->r.type, ICMP_DEST_UNREACH);
	ck_assert_uint_eq(f->r.code, ICMP_UNREACH_PORT);
	ck_assert_uint_eq(f->r.n, 0);
	ck_assert_uint_eq(h_stat(st, STAT_IpLoopbackOut), 2);
	assert_ip_balanced(&f->h);
	assert_no_frame(&f->h);
	ufix_free(f);
}
END_TEST

START_TEST(ping_self)
{
	struct h_host h;
	struct rec *r = calloc(1, sizeof(*r));
	struct icmp_echo_sock *es;
	uint8_t data[56];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	h_host_init(&h, 1500, NULL, true);
	ck_assert_int_eq(icmp_echo_open(h.st, 0, &rec_echo_ops, r, &es), 0);
	for (uint16_t seq = 1; seq <= 3; seq++) {
		ck_assert_int_eq(icmp_echo_send(es, h_ip(H_HOST_IP), seq, data, sizeof(data),
						NULL),
				 0);
		/* The request is answered on the first poll; the reply, which that answer
		 * queued, comes on the next one: delivery is never recursive. */
		stack_poll(h.st, h.now_ns);
		ck_assert_uint_eq(r->n, seq - 1u);
		ck_assert_uint_eq(h_stat(h.st, STAT_IcmpOutEchoReps), seq);
		ck_assert_uint_le(stack_next_deadline(h.st), h.now_ns);
		stack_poll(h.st, h.now_ns);
		ck_assert_uint_eq(r->n, seq);
		ck_assert_uint_eq(r->seq, seq);
		ck_assert(addr_eq(r->src, h_ip(H_HOST_IP)));
		ck_assert_uint_eq(r->len, sizeof(data));
		ck_assert_mem_eq(r->data, data, sizeof(data));
	}
	ck_assert_uint_eq(h_stat(h.st, STAT_IcmpInEchos), 3);
	ck_assert_uint_eq(h_stat(h.st, STAT_IcmpInEchoReps), 3);
	ck_assert_uint_eq(h_stat(h.st, STAT_IcmpOutEchos), 3);
	assert_ip_balanced(&h);
	assert_no_frame(&h);
	icmp_echo_close(es);
	h_host_fini(&h);
	free(r);
}
END_TEST

/* TCP: events of one socket. */
struct ev {
	unsigned connected, accept_ready, readable, writable, closed;
	int err;
};

static void ev_connected(struct tcp_sock *s, void *u)
{
	(void)s;
	((struct ev *)u)->connected++;
}

static void ev_accept_ready(struct tcp_sock *s, void *u)
{
	(void)s;
	((struct ev *)u)->accept_ready++;
}

static void ev_readable(struct tcp_sock *s, void *u)
{
	(void)s;
	((struct ev *)u)->readable++;
}

static void ev_writable(struct tcp_sock *s, void *u)
{
	(void)s;
	((struct ev *)u)->writable++;
}

static void ev_closed(struct tcp_sock *s, void *u, int err)
{
	(void)s;
	((struct ev *)u)->closed++;
	((struct ev *)u)->err = err;
}

static const struct tcp_sock_ops ev_ops = { ev_connected, ev_accept_ready, ev_readable,
					    ev_writable, ev_closed };

/* A listener on port 80 and a connection to it from the same stack. */
struct pair {
	struct h_host h;
	struct tcp_sock *ls, *cli, *srv;
	struct ev el, ec, es;
};

static void pair_open(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	h_host_init(&p->h, 1500, NULL, true);
}

static void pair_connect(struct pair *p)
{
	struct stack *st = p->h.st;
	struct tcp_sock_info ci, si;

	ck_assert_int_eq(tcp_open(st, &ev_ops, &p->el, &p->ls), 0);
	ck_assert_int_eq(tcp_bind(p->ls, (struct in_addr){ INADDR_ANY }, 80), 0);
	ck_assert_int_eq(tcp_listen(p->ls, 0), 0);
	ck_assert_int_eq(tcp_open(st, &ev_ops, &p->ec, &p->cli), 0);
	ck_assert_int_eq(tcp_connect(p->cli, h_ip(H_HOST_IP), 80), 0);
	ck_assert_uint_eq(p->ec.connected, 0); /* the SYN waits in the queue */
	h_host_advance(&p->h, H_MS);
	ck_assert_uint_eq(p->ec.connected, 1);
	ck_assert_uint_eq(p->el.accept_ready, 1);
	ck_assert_int_eq(tcp_accept(p->ls, &ev_ops, &p->es, &p->srv), 0);
	ck_assert_int_eq(tcp_sock_state(p->cli), TCP_STATE_ESTABLISHED);
	ck_assert_int_eq(tcp_sock_state(p->srv), TCP_STATE_ESTABLISHED);
	tcp_sock_get_info(p->cli, &ci);
	tcp_sock_get_info(p->srv, &si);
	ck_assert(addr_eq(ci.laddr, h_ip(H_HOST_IP)) && addr_eq(ci.raddr, h_ip(H_HOST_IP)));
	ck_assert(addr_eq(si.laddr, h_ip(H_HOST_IP)) && addr_eq(si.raddr, h_ip(H_HOST_IP)));
	ck_assert_uint_eq(ci.rport, 80);
	ck_assert_uint_eq(si.rport, ci.lport);
}

/* Sends n bytes of a pattern from a to b and reads them at b, byte-exact; both sides
 * make progress only through the loopback queue and the timers. */
static void transfer(struct pair *p, struct tcp_sock *a, struct tcp_sock *b, size_t n,
		     uint8_t salt)
{
	static uint8_t out[1 << 20], in[1 << 20];
	size_t sent = 0, got = 0;

	ck_assert_uint_le(n, sizeof(out));
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(i * 31 + salt + (i >> 11));
	for (unsigned turns = 0; got < n; turns++) {
		ck_assert_uint_lt(turns, 100000);
		if (sent < n) {
			ssize_t r = tcp_send(a, out + sent, n - sent);

			if (r > 0)
				sent += (size_t)r;
			else
				ck_assert_int_eq(r, -EAGAIN);
		}
		h_host_advance(&p->h, 100000); /* 0.1 ms */
		for (;;) {
			ssize_t r = tcp_recv(b, in + got, n - got);

			if (r == -EAGAIN)
				break;
			ck_assert_int_gt(r, 0);
			got += (size_t)r;
		}
	}
	ck_assert_mem_eq(in, out, n);
}

START_TEST(tcp_to_self)
{
	struct pair p;
	uint8_t b[16];

	pair_open(&p);
	pair_connect(&p);
	ck_assert_int_eq(tcp_send(p.cli, "ping", 4), 4);
	h_host_advance(&p.h, 50 * H_MS);
	ck_assert_int_eq(tcp_recv(p.srv, b, sizeof(b)), 4);
	ck_assert_mem_eq(b, "ping", 4);
	ck_assert_int_eq(tcp_send(p.srv, "pong!", 5), 5);
	h_host_advance(&p.h, 50 * H_MS);
	ck_assert_int_eq(tcp_recv(p.cli, b, sizeof(b)), 5);
	ck_assert_mem_eq(b, "pong!", 5);

	/* More than the windows and the queue hold at once, both ways. */
	transfer(&p, p.cli, p.srv, 1 << 20, 1);
	transfer(&p, p.srv, p.cli, 700000, 2);

	/* An orderly close from both ends. */
	ck_assert_int_eq(tcp_shutdown(p.cli, SHUT_WR), 0);
	h_host_advance(&p.h, 50 * H_MS);
	ck_assert_int_eq(tcp_recv(p.srv, b, sizeof(b)), 0);
	ck_assert_int_eq(tcp_shutdown(p.srv, SHUT_WR), 0);
	h_host_advance(&p.h, 50 * H_MS);
	ck_assert_int_eq(tcp_recv(p.cli, b, sizeof(b)), 0);
	ck_assert_uint_eq(p.ec.closed, 1);
	ck_assert_uint_eq(p.es.closed, 1);
	ck_assert_int_eq(p.ec.err, 0);
	ck_assert_int_eq(p.es.err, 0);
	ck_assert_int_eq(tcp_sock_state(p.cli), TCP_STATE_TIME_WAIT);
	tcp_close(p.cli);
	tcp_close(p.srv);
	tcp_close(p.ls);
	h_host_advance(&p.h, 120 * H_S); /* past TIME-WAIT */

	/* Nothing lost on the way: no retransmission, no drop, no reset. */
	ck_assert_uint_eq(h_stat(p.h.st, STAT_TcpRetransSegs), 0);
	ck_assert_uint_eq(h_stat(p.h.st, STAT_TcpOutRsts), 0);
	ck_assert_uint_eq(h_stat(p.h.st, STAT_TcpInErrs), 0);
	ck_assert_uint_eq(h_stat(p.h.st, STAT_TcpActiveOpens), 1);
	ck_assert_uint_eq(h_stat(p.h.st, STAT_TcpPassiveOpens), 1);
	ck_assert_uint_eq(h_stat(p.h.st, STAT_TcpCurrEstab), 0);
	ck_assert_uint_eq(h_stat(p.h.st, STAT_TcpInSegs), h_stat(p.h.st, STAT_TcpOutSegs));
	assert_ip_balanced(&p.h);
	assert_no_frame(&p.h);
	ck_assert_uint_eq(stack_next_deadline(p.h.st), STACK_NO_DEADLINE);
	h_host_fini(&p.h);
}
END_TEST

START_TEST(tcp_to_closed_port_on_self_is_refused)
{
	struct pair p;

	pair_open(&p);
	ck_assert_int_eq(tcp_open(p.h.st, &ev_ops, &p.ec, &p.cli), 0);
	ck_assert_int_eq(tcp_connect(p.cli, h_ip(H_HOST_IP), 81), 0);
	h_host_advance(&p.h, H_MS);
	ck_assert_uint_eq(p.ec.closed, 1);
	ck_assert_int_eq(p.ec.err, ECONNREFUSED);
	ck_assert_uint_eq(h_stat(p.h.st, STAT_TcpExtInNoPort), 1);
	ck_assert_uint_eq(h_stat(p.h.st, STAT_TcpOutRsts), 1);
	assert_ip_balanced(&p.h);
	assert_no_frame(&p.h);
	tcp_close(p.cli);
	h_host_fini(&p.h);
}
END_TEST

/* With TSO on the device TCP writes super-segments; to ourselves they go whole, neither
 * to the device nor cut (ipv4.h). */
START_TEST(tcp_super_segments_go_whole)
{
	struct pair p;
	struct tcp_sock_info ci;
	uint64_t dgrams;

	pair_open(&p);
	memnet_set_gso_max(&p.h.pair.a, IPV4_MAX_LEN);
	pair_connect(&p);
	transfer(&p, p.cli, p.srv, 1 << 20, 3);
	tcp_sock_get_info(p.cli, &ci);
	dgrams = h_stat(p.h.st, STAT_IpLoopbackOut);
	/* Data and ACKs: fewer datagrams than MSS-sized segments of data alone. */
	ck_assert_uint_lt(dgrams, (1 << 20) / ci.mss);
	ck_assert_uint_eq(h_stat(p.h.st, STAT_IpOutGsoRequests), 0);
	ck_assert_uint_eq(h_stat(p.h.st, STAT_IpOutGsoSoftware), 0);
	ck_assert_uint_eq(p.h.pair.a.stats.gso_writes, 0);
	ck_assert_uint_eq(h_stat(p.h.st, STAT_TcpRetransSegs), 0);
	ck_assert_uint_eq(h_stat(p.h.st, STAT_TcpInCsumErrors), 0);
	assert_ip_balanced(&p.h);
	assert_no_frame(&p.h);
	tcp_abort(p.cli);
	tcp_close(p.srv);
	tcp_close(p.ls);
	h_host_fini(&p.h);
}
END_TEST

/* The queue holds STACK_LOOPBACK_MAX_PKTS datagrams; one more is a counted drop and
 * -ENOBUFS, and what was queued is still delivered. */
START_TEST(queue_bound_packets)
{
	struct ufix *f = ufix_new(7);
	struct stack *st = f->h.st;
	struct iovec iov = { "x", 1 };

	for (unsigned i = 0; i < STACK_LOOPBACK_MAX_PKTS; i++)
		ck_assert_int_eq(udp_sendto(f->s, h_ip(H_HOST_IP), 7, &iov, 1, NULL), 0);
	ck_assert_int_eq(udp_sendto(f->s, h_ip(H_HOST_IP), 7, &iov, 1, NULL), -ENOBUFS);
	ck_assert_uint_eq(h_stat(st, STAT_IpLoopbackDrops), 1);
	ck_assert_uint_eq(h_stat(st, STAT_IpOutDiscards), 1);
	ck_assert_uint_eq(h_stat(st, STAT_IpLoopbackOut), STACK_LOOPBACK_MAX_PKTS);
	stack_poll(st, f->h.now_ns);
	ck_assert_uint_eq(f->r.n, STACK_LOOPBACK_MAX_PKTS);
	ck_assert(!ipv4_loopback_pending(&st->ip.lo));
	ck_assert_uint_eq(st->ip.lo.bytes, 0);
	/* Room again. */
	ck_assert_int_eq(udp_sendto(f->s, h_ip(H_HOST_IP), 7, &iov, 1, NULL), 0);
	stack_poll(st, f->h.now_ns);
	ck_assert_uint_eq(f->r.n, STACK_LOOPBACK_MAX_PKTS + 1);
	assert_no_frame(&f->h);
	ufix_free(f);
}
END_TEST

/* The byte bound, charged as memory really held; a stack freed with datagrams still
 * queued frees them (the sanitizer build checks for leaks). */
START_TEST(queue_bound_bytes)
{
	static uint8_t big[65000];
	struct ufix *f = ufix_new(7);
	struct stack *st = f->h.st;
	struct iovec iov = { big, sizeof(big) };
	unsigned queued = 0;
	int rc;

	while ((rc = udp_sendto(f->s, h_ip(H_HOST_IP), 7, &iov, 1, NULL)) == 0)
		queued++;
	ck_assert_int_eq(rc, -ENOBUFS);
	ck_assert_uint_eq(queued, STACK_LOOPBACK_MAX_BYTES / (IPV4_HDR_LEN + 8 + sizeof(big) +
							     2 * sizeof(size_t) + sizeof(void *)));
	ck_assert_uint_le(st->ip.lo.bytes, STACK_LOOPBACK_MAX_BYTES);
	ck_assert_uint_eq(h_stat(st, STAT_IpLoopbackDrops), 1);
	ck_assert_uint_eq(h_stat(st, STAT_UdpOutDatagrams), queued);
	/* All delivered; five more stay queued and go with the stack. */
	stack_poll(st, f->h.now_ns);
	ck_assert_uint_eq(f->r.n, queued);
	for (unsigned i = 0; i < 5; i++)
		ck_assert_int_eq(udp_sendto(f->s, h_ip(H_HOST_IP), 7, &iov, 1, NULL), 0);
	assert_no_frame(&f->h);
	ufix_free(f);
}
END_TEST

/* A broadcast is not ours alone: it goes to the wire as before, not to the queue. */
START_TEST(broadcast_goes_to_the_wire)
{
	struct ufix *f = ufix_new(7);
	struct iovec iov = { "x", 1 };

	ck_assert_int_eq(udp_sendto(f->s, h_ip("10.0.0.255"), 7, &iov, 1, NULL), 0);
	ck_assert_uint_eq(stack_next_deadline(f->h.st), STACK_NO_DEADLINE);
	ck_assert_uint_eq(h_stat(f->h.st, STAT_IpLoopbackOut), 0);
	ck_assert_uint_eq(h_host_drain(&f->h), 1);
	ufix_free(f);
}
END_TEST

/* Our own address arriving from the wire is still spoofed (RFC 1122 §3.2.1.3). */
START_TEST(own_source_from_the_wire_dropped)
{
	struct ufix *f = ufix_new(7);
	uint8_t udp[9] = { 0x12, 0x34, 0, 7, 0, 9, 0, 0, 'x' }; /* checksum 0: none */
	uint8_t ip[64], frame[128];
	struct mac host = H_HOST_MAC, peer = H_PEER_MAC;
	size_t len;

	len = h_ipv4(ip, h_ip(H_HOST_IP), h_ip(H_HOST_IP), IPV4_PROTO_UDP, 1, 0, false, 64, udp,
		     sizeof(udp));
	len = h_eth(frame, host, peer, ETH_TYPE_IPV4, ip, len);
	h_host_input(&f->h, frame, len);
	ck_assert_uint_eq(h_stat(f->h.st, STAT_IpInAddrErrors), 1);
	ck_assert_uint_eq(f->r.n, 0);
	ufix_free(f);
}
END_TEST

/* Off-link datagrams would come back to us through the loopback path, and be dropped. */
START_TEST(gateway_must_not_be_our_address)
{
	struct stack_config c;
	const char *why;

	stack_config_defaults(&c);
	c.gateway = c.addr;
	ck_assert_int_eq(stack_config_check(&c, &why), -EINVAL);
	ck_assert_str_eq(why, "gateway must not be our own address");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("loopback");
	TCase *tc = tcase_create("loopback");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, udp_to_self);
	tcase_add_test(tc, udp_closed_port_on_self_is_refused);
	tcase_add_test(tc, ping_self);
	tcase_add_test(tc, tcp_to_self);
	tcase_add_test(tc, tcp_to_closed_port_on_self_is_refused);
	tcase_add_test(tc, tcp_super_segments_go_whole);
	tcase_add_test(tc, queue_bound_packets);
	tcase_add_test(tc, queue_bound_bytes);
	tcase_add_test(tc, broadcast_goes_to_the_wire);
	tcase_add_test(tc, own_source_from_the_wire_dropped);
	tcase_add_test(tc, gateway_must_not_be_our_address);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
