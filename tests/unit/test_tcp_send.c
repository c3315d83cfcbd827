/* TCP send side and the socket API for the daemon's data plane: zero-copy peek/consume
 * and reserve/commit, the send low-water mark, the pending error; and the send-side
 * deviations found in review (issue 10): payload sizing with SACK options, local send
 * failures, zero-window probing (RFC 1122 §4.2.2.17), the restart window after idle
 * (RFC 5681 §4.1, RFC 9438 §5.8) and the TCP memory budget. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"
#include "stack/stack_var.h"
#include "stack/tcp.h"
#include "stack/tcp_var.h"
#include "tcp_peer.h"

static void cfg_init(struct stack_config *c, const char *addr)
{
	stack_config_defaults(c);
	c->addr = h_ip(addr);
	c->prefix_len = 24;
}

/* Copies the spans out, checking that their total is n. */
static void iov_copy(const struct iovec iov[2], uint8_t *dst, size_t n)
{
	ck_assert_uint_eq(iov[0].iov_len + iov[1].iov_len, n);
	memcpy(dst, iov[0].iov_base, iov[0].iov_len);
	if (iov[1].iov_len)
		memcpy(dst + iov[0].iov_len, iov[1].iov_base, iov[1].iov_len);
}

/* ---- socket API: peek/consume, reserve/commit, low-water mark, pending error ---------- */

START_TEST(recv_peek_consume_wraps)
{
	struct conn c;
	struct stack_config cb;
	cfg_init(&cb, H_PEER_IP);
	cb.tcp_rcvbuf = 4096;
	conn_setup(&c, 1500, NULL, &cb, 1);
	uint8_t d[8192], o[8192];
	struct iovec iov[2];
	pattern(d, sizeof(d), 1);

	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 4096), -EAGAIN);
	ck_assert_int_eq(tcp_recv_peek(c.ls, iov, 4096), -ENOTCONN);
	ck_assert_int_eq(tcp_recv_consume(c.ls, 1), -ENOTCONN);
	ck_assert_int_eq(tcp_send(c.cli, d, 3000), 3000);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 0), -EINVAL);
	/* One span, nothing consumed by peeking. */
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 100000), 3000);
	ck_assert_uint_eq(iov[1].iov_len, 0);
	ck_assert_ptr_null(iov[1].iov_base);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 1000), 1000);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 100000), 3000);
	iov_copy(iov, o, 3000);
	ck_assert_mem_eq(o, d, 3000);
	ck_assert_int_eq(tcp_recv_consume(c.srv, 3000), 3000);
	/* The window opened again: the next 3000 bytes wrap around the 4096-byte ring. */
	ck_assert_int_eq(tcp_send(c.cli, d + 3000, 3000), 3000);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 100000), 3000);
	ck_assert_uint_eq(iov[0].iov_len, 1096);
	ck_assert_uint_eq(iov[1].iov_len, 1904);
	iov_copy(iov, o, 3000);
	ck_assert_mem_eq(o, d + 3000, 3000);
	/* Partial consume; more than held is clamped. */
	ck_assert_int_eq(tcp_recv_consume(c.srv, 1000), 1000);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 100000), 2000);
	ck_assert_mem_eq(iov[0].iov_base, d + 4000, 96);
	ck_assert_int_eq(tcp_recv_consume(c.srv, 5000), 2000);
	ck_assert_int_eq(tcp_recv_consume(c.srv, 1), 0);
	/* EOF after the data: the data first, then 0, with nothing consumed by peeking. */
	ck_assert_int_eq(tcp_send(c.cli, d, 10), 10);
	ck_assert_int_eq(tcp_shutdown(c.cli, SHUT_WR), 0);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 100), 10);
	ck_assert_int_eq(tcp_recv_consume(c.srv, 10), 10);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 100), 0);
	ck_assert_int_eq(tcp_recv_peek(c.srv, iov, 100), 0);
	ck_assert_int_eq(tcp_sock_error(c.srv), 0);
	conn_teardown(&c);
}
END_TEST

/* Consuming what a full window brought opens it with a window update, as tcp_recv(). */
START_TEST(recv_consume_sends_window_update)
{
	struct conn c;
	struct stack_config cb;
	cfg_init(&cb, H_PEER_IP);
	cb.tcp_rcvbuf = 8192;
	conn_setup(&c, 1500, NULL, &cb, 2);
	static uint8_t d[32768], o[32768];
	pattern(d, sizeof(d), 2);
	size_t sent = 0, got = 0;
	struct iovec iov[2];
	for (int i = 0; i < 200 && got < sizeof(d); i++) {
		if (sent < sizeof(d)) {
			ssize_t r = tcp_send(c.cli, d + sent, sizeof(d) - sent);
			if (r > 0)
				sent += (size_t)r;
		}
		h_net_run(&c.n, 20 * H_MS, 0);
		ssize_t n = tcp_recv_peek(c.srv, iov, sizeof(o) - got);
		if (n > 0) {
			iov_copy(iov, o + got, (size_t)n);
			ck_assert_int_eq(tcp_recv_consume(c.srv, (size_t)n), n);
			got += (size_t)n;
		}
	}
	ck_assert_uint_eq(got, sizeof(d));
	ck_assert_mem_eq(o, d, sizeof(d));
	/* Only window updates, never the persist timer, reopened the window. */
	ck_assert_uint_eq(h_stat(c.n.a, STAT_TcpExtTCPWinProbe), 0);
	conn_teardown(&c);
}
END_TEST

START_TEST(send_reserve_commit_wraps)
{
	struct conn c;
	struct stack_config ca;
	cfg_init(&ca, H_HOST_IP);
	ca.tcp_sndbuf = 4096;
	memset(&c, 0, sizeof(c));
	h_net_init(&c.n, 1500, &ca, NULL, 3);
	conn_listen(&c);
	ck_assert_int_eq(tcp_open(c.n.a, &ev_ops, &c.ce, &c.cli), 0);
	struct iovec iov[2];
	/* Never connected. */
	ck_assert_int_eq(tcp_send_reserve(c.cli, iov), -ENOTCONN);
	ck_assert_int_eq(tcp_send_commit(c.cli, 1), -ENOTCONN);
	ck_assert_int_eq(tcp_send_reserve(c.ls, iov), -ENOTCONN);
	ck_assert_int_eq(tcp_connect(c.cli, h_ip(H_PEER_IP), SRV_PORT), 0);
	/* Data may be queued in SYN-SENT, as with tcp_send(). */
	uint8_t d[8192], o[8192];
	pattern(d, sizeof(d), 3);
	ck_assert_int_eq(tcp_send_reserve(c.cli, iov), 4096);
	ck_assert_uint_eq(iov[0].iov_len, 4096);
	ck_assert_uint_eq(iov[1].iov_len, 0);
	memcpy(iov[0].iov_base, d, 3000);
	ck_assert_int_eq(tcp_send_commit(c.cli, 3000), 3000);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_int_eq(tcp_accept(c.ls, &ev_ops, &c.se, &c.srv), 0);
	ck_assert_int_eq(tcp_recv(c.srv, o, sizeof(o)), 3000);
	ck_assert_mem_eq(o, d, 3000);
	/* All acknowledged: the free space now wraps (3000..4095, 0..2999). */
	ck_assert_int_eq(tcp_send_reserve(c.cli, iov), 4096);
	ck_assert_uint_eq(iov[0].iov_len, 1096);
	ck_assert_uint_eq(iov[1].iov_len, 3000);
	memcpy(iov[0].iov_base, d + 3000, 1096);
	memcpy(iov[1].iov_base, d + 4096, 904);
	ck_assert_int_eq(tcp_send_commit(c.cli, 2000), 2000);
	/* Committing more than is free queues what fits. */
	ck_assert_int_eq(tcp_send_reserve(c.cli, iov), 2096);
	memcpy(iov[0].iov_base, d + 5000, 2096);
	ck_assert_int_eq(tcp_send_commit(c.cli, 9999), 2096);
	ck_assert_int_eq(tcp_send_reserve(c.cli, iov), -EAGAIN);
	ck_assert_int_eq(tcp_send_commit(c.cli, 0), 0);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_uint_eq(c.ce.writable, 1); /* armed by the full reserve */
	ck_assert_int_eq(tcp_recv(c.srv, o, sizeof(o)), 4096);
	ck_assert_mem_eq(o, d + 3000, 4096);
	/* After SHUT_WR: -EPIPE, and nothing is queued. */
	ck_assert_int_eq(tcp_shutdown(c.cli, SHUT_WR), 0);
	ck_assert_int_eq(tcp_send_reserve(c.cli, iov), -EPIPE);
	ck_assert_int_eq(tcp_send_commit(c.cli, 10), -EPIPE);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_int_eq(tcp_recv(c.srv, o, sizeof(o)), 0);
	conn_teardown(&c);
}
END_TEST

/* tcp_sendv over several iovecs lands in the ring in order, also across the wrap. */
START_TEST(sendv_gathers_across_wrap)
{
	struct conn c;
	struct stack_config ca;
	cfg_init(&ca, H_HOST_IP);
	ca.tcp_sndbuf = 4096;
	conn_setup(&c, 1500, &ca, NULL, 4);
	uint8_t d[6000], o[6000];
	pattern(d, sizeof(d), 4);
	ck_assert_int_eq(tcp_send(c.cli, d, 3000), 3000);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_int_eq(tcp_recv(c.srv, o, sizeof(o)), 3000);
	struct iovec v[3] = { { d + 3000, 500 }, { d + 3500, 1000 }, { d + 4500, 1500 } };
	ck_assert_int_eq(tcp_sendv(c.cli, v, 3), 3000);
	h_net_run(&c.n, 50 * H_MS, 0);
	ck_assert_int_eq(tcp_recv(c.srv, o, sizeof(o)), 3000);
	ck_assert_mem_eq(o, d + 3000, 3000);
	ck_assert_int_eq(tcp_sendv(c.cli, v, 0), 0);
	conn_teardown(&c);
}
END_TEST

START_TEST(writable_low_water_mark)
{
	struct raw r;
	struct stack_config cfg;
	cfg_init(&cfg, H_HOST_IP);
	cfg.tcp_sndbuf = 8192;
	raw_connect(&r, &cfg, NULL, 65535);
	int v;
	ck_assert_int_eq(tcp_getopt(r.s, TCP_SO_SNDLOWAT, &v), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_SNDLOWAT, -1), -EINVAL);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_SNDLOWAT, 4096), 0);
	ck_assert_int_eq(tcp_getopt(r.s, TCP_SO_SNDLOWAT, &v), 0);
	ck_assert_int_eq(v, 4096);
	uint8_t d[8193];
	pattern(d, sizeof(d), 5);
	ck_assert_int_eq(tcp_send(r.s, d, sizeof(d)), 8192);
	struct tcp_hdr h;
	size_t len;
	uint32_t first = 0;
	unsigned n = 0;
	while (raw_recv(&r, &h, &len, NULL))
		if (len > 0 && n++ == 0)
			first = h.seq;
	ck_assert_uint_ge(n, 3);
	/* 1460 bytes acknowledged: free space below the mark, no callback. */
	raw_send(&r, TCP_ACK, r.seq, first + 1460, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.writable, 0);
	/* A reserve below the mark arms the callback too (it already is). */
	struct iovec iov[2];
	ck_assert_int_eq(tcp_send_reserve(r.s, iov), 1460);
	raw_send(&r, TCP_ACK, r.seq, first + 2920, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.writable, 0);
	raw_send(&r, TCP_ACK, r.seq, first + 4380, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.writable, 1);
	ck_assert_uint_ge(tcp_send_space(r.s), 4096);
	/* Edge-triggered: no more until a send comes up short again. */
	raw_send(&r, TCP_ACK, r.seq, first + 5840, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.writable, 1);
	/* A mark above the buffer size means the whole buffer. */
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_SNDLOWAT, 1 << 20), 0);
	ck_assert_int_eq(tcp_setopt(r.s, TCP_SO_NODELAY, 1), 0); /* no Nagle tail */
	ck_assert_int_eq(tcp_send(r.s, d, sizeof(d)), 5840);
	while (raw_recv(&r, &h, &len, NULL))
		;
	raw_send(&r, TCP_ACK, r.seq, first + 8192, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.writable, 1);
	while (raw_recv(&r, &h, &len, NULL))
		;
	ck_assert_uint_eq(h.seq + len, first + 8192 + 5840);
	raw_send(&r, TCP_ACK, r.seq, first + 8192 + 5840, 65535, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.writable, 2);
	raw_fini(&r);
}
END_TEST

START_TEST(pending_error_not_consumed)
{
	struct raw r;
	raw_connect(&r, NULL, NULL, 65535);
	ck_assert_int_eq(tcp_sock_error(r.s), 0);
	raw_send(&r, TCP_ACK | TCP_PSH, r.seq, r.ack, 65535, NULL, "hello", 5);
	r.seq += 5;
	raw_send(&r, TCP_RST, r.seq, 0, 0, NULL, NULL, 0);
	ck_assert_uint_eq(r.e.closed, 1);
	ck_assert_int_eq(r.e.err, ECONNRESET);
	/* Reading the error leaves the data and the error in place. */
	ck_assert_int_eq(tcp_sock_error(r.s), ECONNRESET);
	ck_assert_int_eq(tcp_sock_error(r.s), ECONNRESET);
	struct iovec iov[2];
	ck_assert_int_eq(tcp_recv_peek(r.s, iov, 100), 5);
	ck_assert_mem_eq(iov[0].iov_base, "hello", 5);
	ck_assert_int_eq(tcp_recv_consume(r.s, 5), 5);
	ck_assert_int_eq(tcp_recv_peek(r.s, iov, 100), -ECONNRESET);
	ck_assert_int_eq(tcp_sock_error(r.s), ECONNRESET);
	ck_assert_int_eq(tcp_send_reserve(r.s, iov), -ECONNRESET);
	ck_assert_int_eq(tcp_send_commit(r.s, 1), -ECONNRESET);
	raw_fini(&r);
}
END_TEST

static Suite *tcp_send_suite(void)
{
	Suite *s = suite_create("tcp_send");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, recv_peek_consume_wraps);
	tcase_add_test(tc, recv_consume_sends_window_update);
	tcase_add_test(tc, send_reserve_commit_wraps);
	tcase_add_test(tc, sendv_gathers_across_wrap);
	tcase_add_test(tc, writable_low_water_mark);
	tcase_add_test(tc, pending_error_not_consumed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(tcp_send_suite());
}
