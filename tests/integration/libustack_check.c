/* libustack's API against the real daemon, run by rpc_client.sh:
 *   libustack_check HOST ECHO_PORT LISTEN_PORT CLIENT_CMD
 * ($USTACK_SOCKET names the daemon.) Checks ustack_call, ustack_ping, a TCP connection to
 * an echo server at HOST:ECHO_PORT with options and ustack_setopt, a listener taken from a
 * poll() loop (CLIENT_CMD, run in the background, connects to LISTEN_PORT and sends
 * "hello"), and a UDP socket whose ICMP port unreachable comes back as an event. Prints
 * "ok - ..." / "not ok - ..." lines; the exit status is the number of failures. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <ustack.h>

static int failures;

static void check(int ok, const char *what, int r, struct ustack *u)
{
	if (ok) {
		printf("ok - %s\n", what);
		return;
	}
	failures++;
	printf("not ok - %s (r = %d %s: %s)\n", what, r, ustack_errno_name(r) ?: "?",
	       u ? ustack_error_message(u) : "");
}

static int on_status(const char *json, int continues, void *ctx)
{
	(void)continues;
	*(int *)ctx = strstr(json, "\"address\"") != NULL;
	return 0;
}

static int on_ping(const struct ustack_ping_reply *r, void *ctx)
{
	if (r->result == 0 && r->rtt_us >= 0)
		(*(int *)ctx)++;
	return 0;
}

/* The next event within timeout_ms, from a poll() loop as a client's own would be. */
static int wait_event(struct ustack *u, struct ustack_event *ev, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 100) {
		struct pollfd p = { .fd = ustack_event_fd(u), .events = POLLIN };

		if (ustack_next_event(u, ev) == 0)
			return 0;
		poll(&p, 1, 100);
	}
	return -ETIMEDOUT;
}

static ssize_t read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len && (n = read(fd, buf + got, len - got)) > 0)
		got += (size_t)n;
	return (ssize_t)got;
}

int main(int argc, char **argv)
{
	struct ustack_ping_opts po;
	struct ustack_endpoint peer, local;
	struct ustack_event ev;
	struct ustack_opts o;
	struct ustack *u;
	char buf[64] = { 0 }, cmd[512];
	int r, ok = 0, fd, l, replies = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: libustack_check HOST ECHO_PORT LISTEN_PORT CLIENT_CMD\n");
		return 2;
	}
	r = ustack_open(NULL, &u);
	check(r == 0, "ustack_open", r, NULL);
	if (r < 0)
		return failures;

	r = ustack_call(u, "io.ustack.Stack.Status", NULL, 0, on_status, &ok);
	check(r == 0 && ok, "ustack_call Status", r, u);
	r = ustack_call(u, "io.ustack.Stack.NoSuchMethod", "{}", 0, NULL, NULL);
	check(r == -EOPNOTSUPP && strstr(ustack_error_message(u), "MethodNotFound"),
	      "ustack_call of an unknown method: -EOPNOTSUPP with the varlink error", r, u);

	ustack_ping_opts_init(&po);
	po.count = 2;
	po.interval_ms = 200;
	r = ustack_ping(u, argv[1], &po, on_ping, &replies);
	check(r == 0 && replies == 2, "ustack_ping: 2 replies", r, u);

	/* TCP to the echo server, with options at creation and one set later. */
	ustack_opts_init(&o);
	o.nodelay = 1;
	r = ustack_tcp_connect(u, argv[1], (uint16_t)atoi(argv[2]), &o, &fd);
	check(r == 0, "ustack_tcp_connect with nodelay", r, u);
	if (r == 0) {
		r = ustack_setopt(u, fd, "keepidle_s", 30);
		check(r == 0, "ustack_setopt keepidle_s", r, u);
		r = ustack_setopt(u, fd, "no_such_option", 1);
		check(r < 0, "ustack_setopt of an unknown option fails", r, u);
		r = (int)write(fd, "abc", 3);
		shutdown(fd, SHUT_WR);
		r = (int)read_all(fd, buf, sizeof(buf) - 1);
		check(r == 3 && memcmp(buf, "abc", 3) == 0, "echo through the fd, then EOF", r, u);
		r = ustack_sock_end(u, fd, 5000);
		check(r == 0, "ustack_sock_end: an orderly close", r, u);
		check(ustack_sock_close(u, fd) == 0, "ustack_sock_close", 0, u);
	}
	r = ustack_sock_end(u, 12345, 0);
	check(r == -EBADF, "ustack_sock_end of an fd not ours: -EBADF", r, u);

	/* A listener taken from our own loop: nothing yet, then the kernel's connection. */
	r = ustack_tcp_listen(u, (uint16_t)atoi(argv[3]), 4, NULL, &l);
	check(r == 0, "ustack_tcp_listen", r, u);
	if (r == 0) {
		r = ustack_tcp_accept(u, l, USTACK_NONBLOCK, &fd, &peer);
		check(r == -EAGAIN, "ustack_tcp_accept non-blocking, nothing waiting: -EAGAIN", r, u);
		snprintf(cmd, sizeof(cmd), "%s &", argv[4]);
		if (system(cmd) != 0)
			check(0, "start the kernel's client", 0, NULL);
		r = wait_event(u, &ev, 10000);
		check(r == 0 && ev.type == USTACK_EV_ACCEPTED && ev.listener == l && ev.fd >= 0 &&
			      ev.peer.port != 0,
		      "USTACK_EV_ACCEPTED from ustack_next_event, with the peer", r, u);
		if (r == 0 && ev.type == USTACK_EV_ACCEPTED) {
			memset(buf, 0, sizeof(buf));
			r = (int)read_all(ev.fd, buf, sizeof(buf) - 1);
			check(r == 6 && memcmp(buf, "hello\n", 6) == 0, "the accepted fd reads hello",
			      r, u);
			shutdown(ev.fd, SHUT_WR);
			fd = ev.fd;
			r = wait_event(u, &ev, 10000);
			check(r == 0 && ev.type == USTACK_EV_ENDED && ev.fd == fd && ev.error == 0,
			      "USTACK_EV_ENDED, clean, for the accepted connection", r, u);
			ustack_sock_close(u, fd);
		}
		ustack_sock_close(u, l);
	}

	/* UDP to a closed port: the ICMP error reaches us as an event. */
	r = ustack_udp_connect(u, argv[1], 5999, NULL, &fd, &local);
	check(r == 0 && local.port != 0, "ustack_udp_connect, with the local port", r, u);
	if (r == 0) {
		r = (int)ustack_udp_send(fd, NULL, "x", 1);
		check(r == 1, "ustack_udp_send", r, u);
		r = wait_event(u, &ev, 5000);
		check(r == 0 && ev.type == USTACK_EV_ICMP_ERROR && ev.fd == fd &&
			      ev.error == -ECONNREFUSED,
		      "USTACK_EV_ICMP_ERROR: ECONNREFUSED for a closed port", r, u);
	}
	ustack_close(u); /* closes the UDP socket too */
	printf("libustack_check: %d failed\n", failures);
	return failures;
}
