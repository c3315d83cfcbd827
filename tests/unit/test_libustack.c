/* libustack against a scripted fake daemon: a child process serving a Unix socket in a
 * temporary directory, one handler per test. What the real daemon does not easily show:
 * replies split into single bytes or packed several to a read, errors mapped to errno,
 * a stream that ends with Errno after its fd went out, SetOption answered between a
 * stream's replies, a listener's accepted and ended reports in one read, a first reply
 * without its fd, garbage, and a daemon that goes away mid-call. */
#include <check.h>
#include <errno.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc/fdpass.h"
#include "ipc/ustack.h"

static char dir[64], path[96];
static pid_t server;

/* --- the fake daemon (runs in the child) ------------------------------------------------ */

/* Reads one NUL-terminated call into buf; false at EOF. */
static bool srv_recv(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, 1);

		if (r <= 0)
			return false;
		if (buf[n] == 0)
			return true;
		n++;
	}
	return false;
}

/* Sends `text` and its NUL, with `pass` (>= 0) attached. */
static void srv_send(int fd, const char *text, int pass)
{
	size_t len = strlen(text) + 1;

	ck_assert_int_eq(fdpass_send(fd, text, len, &pass, pass >= 0 ? 1 : 0, 0), (ssize_t)len);
}

typedef void (*srv_fn)(int conn);

/* Serves every connection with fn, until killed. */
static void start_server(srv_fn fn)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int l;

	snprintf(dir, sizeof(dir), "/tmp/test_libustack.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(l, 8), 0);
	server = fork();
	ck_assert_int_ge(server, 0);
	if (server == 0) {
		/* A process group, so that stop_server() ends every connection's handler. */
		setpgid(0, 0);
		signal(SIGPIPE, SIG_IGN);
		signal(SIGCHLD, SIG_IGN);
		for (;;) {
			int c = accept(l, NULL, NULL);

			if (c < 0)
				_exit(1);
			if (fork() == 0) { /* each connection its own handler, as in the daemon */
				fn(c);
				_exit(0);
			}
			close(c);
		}
	}
	setpgid(server, server);
	close(l);
}

static void stop_server(void)
{
	kill(-server, SIGKILL);
	waitpid(server, NULL, 0);
	unlink(path);
	rmdir(dir);
}

static struct ustack *open_client(void)
{
	struct ustack *u;

	ck_assert_int_eq(ustack_open(path, &u), 0);
	return u;
}

/* --- replies split and packed ----------------------------------------------------------- */

static void srv_status_bytewise(int c)
{
	static const char reply[] = "{\"parameters\":{\"address\":\"10.0.0.2\"}}";
	char buf[4096];

	while (srv_recv(c, buf, sizeof(buf))) {
		ck_assert_ptr_nonnull(strstr(buf, "io.ustack.Stack.Status"));
		for (size_t i = 0; i < sizeof(reply); i++) /* the NUL included */
			ck_assert_int_eq(write(c, reply + i, 1), 1);
	}
}

static int keep_json(const char *json, int continues, void *ctx)
{
	(void)continues;
	snprintf(ctx, 256, "%s", json);
	return 0;
}

START_TEST(call_reply_in_single_bytes)
{
	char got[256] = "";
	struct ustack *u;

	start_server(srv_status_bytewise);
	u = open_client();
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(ustack_call(u, "io.ustack.Stack.Status", NULL, 0, keep_json, got), 0);
		ck_assert_ptr_nonnull(strstr(got, "10.0.0.2"));
	}
	ustack_close(u);
	stop_server();
}
END_TEST

static void srv_ping_packed(int c)
{
	char buf[4096];

	while (srv_recv(c, buf, sizeof(buf))) {
		/* Three replies in one write: the reader must hand them out one by one. */
		static const char three[] =
			"{\"parameters\":{\"seq\":1,\"result\":\"reply\",\"bytes\":56,\"ttl\":64,"
			"\"rtt_us\":10},\"continues\":true}\0"
			"{\"parameters\":{\"seq\":2,\"result\":\"timeout\",\"bytes\":56},\"continues\":true}\0"
			"{\"parameters\":{\"seq\":3,\"result\":\"EHOSTUNREACH\",\"from\":\"10.0.0.1\",\"bytes\":56}}";

		ck_assert_int_eq(write(c, three, sizeof(three)), (ssize_t)sizeof(three));
	}
}

struct pings {
	int n;
	int result[4];
};

static int on_ping(const struct ustack_ping_reply *r, void *ctx)
{
	struct pings *p = ctx;

	if (p->n < 4)
		p->result[p->n] = r->result;
	p->n++;
	return 0;
}

START_TEST(ping_replies_packed_in_one_read)
{
	struct ustack_ping_opts o;
	struct pings p = { 0 };
	struct ustack *u;

	start_server(srv_ping_packed);
	u = open_client();
	ustack_ping_opts_init(&o);
	o.count = 3;
	ck_assert_int_eq(ustack_ping(u, "10.0.0.1", &o, on_ping, &p), 0);
	ck_assert_int_eq(p.n, 3);
	ck_assert_int_eq(p.result[0], 0);
	ck_assert_int_eq(p.result[1], -ETIMEDOUT);
	ck_assert_int_eq(p.result[2], -EHOSTUNREACH);
	ustack_close(u);
	stop_server();
}
END_TEST

/* --- errors ----------------------------------------------------------------------------- */

static void srv_errors(int c)
{
	char buf[4096];

	while (srv_recv(c, buf, sizeof(buf))) {
		if (strstr(buf, "TcpConnect"))
			srv_send(c, "{\"error\":\"io.ustack.Socket.Errno\",\"parameters\":"
				    "{\"errno\":\"ECONNREFUSED\",\"message\":\"refused by 10.0.0.1\"}}",
				 -1);
		else if (strstr(buf, "ArpAdd"))
			srv_send(c, "{\"error\":\"org.varlink.service.PermissionDenied\"}", -1);
		else if (strstr(buf, "KV.Get\""))
			srv_send(c, "{\"error\":\"io.ustack.KV.NotFound\",\"parameters\":"
				    "{\"key\":\"/a/b\"}}", -1);
		else if (strstr(buf, "KV.GetPartial"))
			srv_send(c, "{\"error\":\"io.ustack.KV.TooLarge\",\"parameters\":"
				    "{\"key\":\"/big\",\"size\":9,\"max_bytes\":8}}", -1);
		else if (strstr(buf, "KV.Set"))
			srv_send(c, "{\"error\":\"io.ustack.KV.NoSpace\",\"parameters\":"
				    "{\"key\":\"/k\",\"reason\":\"value_too_large\"}}", -1);
		else if (strstr(buf, "KV.Remove"))
			srv_send(c, "{\"error\":\"io.ustack.KV.NoSpace\",\"parameters\":"
				    "{\"key\":\"/k\",\"reason\":\"store_full\"}}", -1);
		else if (strstr(buf, "KV.List"))
			srv_send(c, "{\"error\":\"io.ustack.KV.DictionaryExpected\","
				    "\"parameters\":{\"key\":\"/v\"}}", -1);
		else
			srv_send(c, "{\"error\":\"org.varlink.service.MethodNotFound\","
				    "\"parameters\":{\"method\":\"x.Y\"}}", -1);
	}
}

START_TEST(errors_become_errno_with_message)
{
	struct ustack *u;
	int fd = -1;

	start_server(srv_errors);
	u = open_client();
	ck_assert_int_eq(ustack_tcp_connect(u, "10.0.0.1", 80, NULL, &fd), -ECONNREFUSED);
	ck_assert_int_eq(fd, -1);
	ck_assert_str_eq(ustack_error_message(u), "refused by 10.0.0.1");
	ck_assert_str_eq(ustack_errno_name(-ECONNREFUSED), "ECONNREFUSED");
	ck_assert_int_eq(ustack_call(u, "io.ustack.Stack.ArpAdd", "{}", 0, NULL, NULL), -EPERM);
	ck_assert_int_eq(ustack_call(u, "x.Y", NULL, 0, NULL, NULL), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(ustack_error_message(u), "x.Y"));
	ck_assert_int_eq(ustack_call(u, "x.Y", "[not an object", 0, NULL, NULL), -EINVAL);
	/* io.ustack.KV's errors: the store's errnos, the key in the message */
	ck_assert_int_eq(ustack_call(u, "io.ustack.KV.Get", "{\"key\":\"/a/b\"}", 0, NULL, NULL),
			 -ENOENT);
	ck_assert_str_eq(ustack_error_message(u), "io.ustack.KV.NotFound: /a/b");
	ck_assert_int_eq(ustack_call(u, "io.ustack.KV.GetPartial", NULL, 0, NULL, NULL),
			 -EMSGSIZE);
	ck_assert_int_eq(ustack_call(u, "io.ustack.KV.Set", NULL, 0, NULL, NULL), -EFBIG);
	ck_assert_str_eq(ustack_error_message(u), "io.ustack.KV.NoSpace: /k (value_too_large)");
	ck_assert_int_eq(ustack_call(u, "io.ustack.KV.Remove", NULL, 0, NULL, NULL), -ENOSPC);
	ck_assert_int_eq(ustack_call(u, "io.ustack.KV.List", NULL, 0, NULL, NULL), -ENOTDIR);
	ustack_close(u);
	stop_server();
}
END_TEST

/* --- a TCP socket's end, SetOption between the stream's replies ---------------------------- */

/* Takes the TcpConnect call and answers with socket 7 and its fd; returns our end (-1
 * when the client went away). */
static int srv_tcp_open(int c, char *buf, size_t cap)
{
	int sp[2];

	if (!srv_recv(c, buf, cap))
		return -1;
	ck_assert_ptr_nonnull(strstr(buf, "TcpConnect"));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	srv_send(c, "{\"parameters\":{\"socket\":7},\"continues\":true}", sp[0]);
	close(sp[0]);
	return sp[1];
}

static void srv_tcp(int c)
{
	char buf[4096];
	int fd = srv_tcp_open(c, buf, sizeof(buf));

	if (fd < 0)
		return;
	ck_assert_int_eq(write(fd, "data", 4), 4);
	/* SetOption: answered while the stream is open; a wrong name fails. */
	while (srv_recv(c, buf, sizeof(buf)) && strstr(buf, "SetOption")) {
		ck_assert_ptr_nonnull(strstr(buf, "\"socket\":7"));
		if (strstr(buf, "nodelay"))
			srv_send(c, "{\"parameters\":{}}", -1);
		else
			srv_send(c, "{\"error\":\"io.ustack.Socket.Errno\",\"parameters\":"
				    "{\"errno\":\"ENOPROTOOPT\",\"message\":\"no such option\"}}", -1);
	}
}

START_TEST(tcp_socket_setopt)
{
	struct ustack *u;
	char buf[8] = "";
	int fd;

	start_server(srv_tcp);
	u = open_client();
	ck_assert_int_eq(ustack_tcp_connect(u, "10.0.0.1", 80, NULL, &fd), 0);
	ck_assert_int_eq(read(fd, buf, 4), 4);
	ck_assert_int_eq(memcmp(buf, "data", 4), 0);
	ck_assert_int_eq(ustack_setopt(u, fd, "nodelay", 1), 0);
	ck_assert_int_eq(ustack_setopt(u, fd, "frobnicate", 1), -ENOPROTOOPT);
	ck_assert_int_eq(ustack_sock_end(u, fd, 0), -EAGAIN);
	ck_assert_int_eq(ustack_sock_end(u, fd + 1000, 0), -EBADF);
	ck_assert_int_eq(ustack_sock_close(u, fd), 0);
	ustack_close(u);
	stop_server();
}
END_TEST

static void srv_tcp_then_reset(int c)
{
	char buf[4096];
	int fd = srv_tcp_open(c, buf, sizeof(buf));

	if (fd < 0)
		return;
	close(fd); /* EOF on the client's fd... */
	usleep(100 * 1000);
	/* ...and the call says why. */
	srv_send(c, "{\"error\":\"io.ustack.Socket.Errno\",\"parameters\":"
		    "{\"errno\":\"ECONNRESET\",\"message\":\"connection reset by peer\"}}", -1);
	while (srv_recv(c, buf, sizeof(buf)))
		;
}

START_TEST(tcp_eof_then_reset_reported)
{
	struct ustack_event ev;
	struct ustack *u;
	char b;
	int fd;

	start_server(srv_tcp_then_reset);
	u = open_client();
	ck_assert_int_eq(ustack_tcp_connect(u, "10.0.0.1", 80, NULL, &fd), 0);
	ck_assert_int_eq(read(fd, &b, 1), 0); /* EOF, as for a clean close */
	ck_assert_int_eq(ustack_sock_end(u, fd, 5000), -ECONNRESET);
	/* The same end as an event. */
	ck_assert_int_eq(ustack_next_event(u, &ev), 0);
	ck_assert_int_eq(ev.type, USTACK_EV_ENDED);
	ck_assert_int_eq(ev.fd, fd);
	ck_assert_int_eq(ev.error, -ECONNRESET);
	ck_assert_int_eq(ustack_next_event(u, &ev), -EAGAIN);
	ustack_close(u);
	stop_server();
}
END_TEST

/* --- a listener: two connections and an end in one read ----------------------------------- */

static void srv_listen(int c)
{
	char buf[4096];
	int a[2], b[2];
	static const char acc[] =
		"{\"parameters\":{\"socket\":1,\"accepted\":{\"socket\":%d,\"local\":{\"address\":"
		"\"10.0.0.2\",\"port\":80},\"remote\":{\"address\":\"10.0.0.9\",\"port\":%d}}},"
		"\"continues\":true}";
	char m1[512], m2[512], all[2048];
	size_t n1, n2, n3;
	static const char end[] =
		"{\"parameters\":{\"socket\":1,\"ended\":{\"socket\":2}},\"continues\":true}";
	static const char stray[] =
		"{\"parameters\":{\"socket\":1,\"ended\":{\"socket\":99,\"errno\":\"ECONNRESET\"}},"
		"\"continues\":true}";

	if (!srv_recv(c, buf, sizeof(buf)))
		return;
	srv_send(c, "{\"parameters\":{\"socket\":1,\"local\":{\"address\":\"10.0.0.2\",\"port\":80}},"
		    "\"continues\":true}", -1);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	n1 = (size_t)snprintf(m1, sizeof(m1), acc, 2, 4001) + 1;
	n2 = (size_t)snprintf(m2, sizeof(m2), acc, 3, 4002) + 1;
	n3 = sizeof(end);
	/* Each accepted message with its fd (one message per sendmsg, as the daemon sends
	 * them: the codec gives a read's fds to the last message that began in it), then
	 * the first connection's end and a stray report for a socket we do not know, in
	 * one send: all of it waiting before the client reads. */
	ck_assert_int_eq(fdpass_send(c, m1, n1, &a[0], 1, 0), (ssize_t)n1);
	ck_assert_int_eq(fdpass_send(c, m2, n2, &b[0], 1, 0), (ssize_t)n2);
	memcpy(all, end, n3);
	memcpy(all + n3, stray, sizeof(stray));
	ck_assert_int_eq(write(c, all, n3 + sizeof(stray)), (ssize_t)(n3 + sizeof(stray)));
	close(a[0]);
	close(b[0]);
	while (srv_recv(c, buf, sizeof(buf)))
		;
	close(a[1]);
	close(b[1]);
}

START_TEST(listener_accepts_and_ends)
{
	struct ustack_endpoint peer;
	struct ustack *u;
	int l, fd1, fd2, fd3;

	start_server(srv_listen);
	u = open_client();
	ck_assert_int_eq(ustack_tcp_listen(u, 80, 0, NULL, &l), 0);
	ck_assert_int_eq(ustack_tcp_accept(u, l, 0, &fd1, &peer), 0);
	ck_assert_int_eq(peer.port, 4001);
	ck_assert_int_eq(ustack_tcp_accept(u, l, 0, &fd2, &peer), 0);
	ck_assert_int_eq(peer.port, 4002);
	ck_assert_int_ne(fd1, fd2);
	ck_assert_int_eq(ustack_sock_end(u, fd1, 5000), 0);
	ck_assert_int_eq(ustack_sock_end(u, fd2, 0), -EAGAIN);
	ck_assert_int_eq(ustack_tcp_accept(u, l, USTACK_NONBLOCK, &fd3, NULL), -EAGAIN);
	ck_assert_int_eq(ustack_sock_close(u, fd1), 0);
	ck_assert_int_eq(ustack_sock_close(u, l), 0);
	ustack_close(u); /* fd2 with it */
	stop_server();
}
END_TEST

/* --- what a broken daemon sends ---------------------------------------------------------- */

static void srv_no_fd(int c)
{
	char buf[4096];

	while (srv_recv(c, buf, sizeof(buf))) {
		if (strstr(buf, "TcpConnect"))
			srv_send(c, "{\"parameters\":{\"socket\":9},\"continues\":true}", -1);
		else if (strstr(buf, "Status"))
			ck_assert_int_eq(write(c, "not json\0", 9), 9);
		else
			return; /* hang up mid-call */
	}
}

START_TEST(broken_daemon)
{
	struct ustack *u;
	int fd = -1;

	start_server(srv_no_fd);
	u = open_client();
	ck_assert_int_eq(ustack_tcp_connect(u, "10.0.0.1", 80, NULL, &fd), -EBADMSG);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_lt(ustack_call(u, "io.ustack.Stack.Status", NULL, 0, NULL, NULL), 0);
	ck_assert_int_eq(ustack_call(u, "io.ustack.Stack.Stats", NULL, 0, NULL, NULL), -EPIPE);
	ck_assert_str_eq(ustack_error_message(u), "ustackd closed the connection");
	/* A fresh connection for the next call. */
	ck_assert_int_eq(ustack_call(u, "io.ustack.Stack.Stats", NULL, 0, NULL, NULL), -EPIPE);
	ustack_close(u);
	stop_server();
	ck_assert_int_eq(ustack_open("/nonexistent/ctl.sock", &u), -ENOENT);
}
END_TEST

/* --- UDP records ------------------------------------------------------------------------- */

START_TEST(udp_records_carry_the_address)
{
	struct ustack_endpoint to = { .port = 5353 }, from;
	char buf[16];
	int sp[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	to.addr.s_addr = htonl(0x0a000001);
	ck_assert_int_eq(ustack_udp_send(sp[0], &to, "hello", 5), 5);
	ck_assert_int_eq(ustack_udp_recv(sp[1], &from, buf, sizeof(buf)), 5);
	ck_assert_int_eq(from.port, 5353);
	ck_assert_uint_eq(from.addr.s_addr, htonl(0x0a000001));
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	ck_assert_int_eq(ustack_udp_send(sp[0], NULL, buf, 65508), -EMSGSIZE);
	ck_assert_int_eq(write(sp[0], "abc", 3), 3); /* shorter than the header */
	ck_assert_int_eq(ustack_udp_recv(sp[1], &from, buf, sizeof(buf)), -EBADMSG);
	close(sp[0]);
	ck_assert_int_eq(ustack_udp_recv(sp[1], &from, buf, sizeof(buf)), 0);
	close(sp[1]);
}
END_TEST

static Suite *libustack_suite(void)
{
	Suite *s = suite_create("libustack");
	TCase *tc = tcase_create("client");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, call_reply_in_single_bytes);
	tcase_add_test(tc, ping_replies_packed_in_one_read);
	tcase_add_test(tc, errors_become_errno_with_message);
	tcase_add_test(tc, tcp_socket_setopt);
	tcase_add_test(tc, tcp_eof_then_reset_reported);
	tcase_add_test(tc, listener_accepts_and_ends);
	tcase_add_test(tc, broken_daemon);
	tcase_add_test(tc, udp_records_carry_the_address);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(libustack_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
