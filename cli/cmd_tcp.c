/* ustackctl tcp connect HOST PORT / tcp listen [-k] PORT: netcat over the stack. stdin goes
 * to the connection and the connection to stdout. stdin's EOF half-closes (our FIN); the
 * peer's FIN ends the command as it ends nc's (our FIN follows if not sent yet), with the
 * end the daemon reports: 0 for an orderly close, 1 and "ustackctl: ECONNRESET: connection
 * reset by peer" (or ETIMEDOUT, ECONNREFUSED, EHOSTUNREACH, ...) when it failed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/ctl.h"

#define RELAY_BUF (256 * 1024)

/* How long the daemon has to report the end once both FINs went by; the connection is
 * closed by then, so this is only the time of a reply on a local socket. */
#define END_WAIT_MS 10000

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The end the daemon reported for `fd` (waiting up to END_WAIT_MS), as an exit code. */
static int report_end(struct ctl *c, int fd)
{
	int r = ustack_sock_end(c->u, fd, END_WAIT_MS);

	if (r == 0)
		return CTL_EXIT_OK;
	if (r == -EAGAIN) {
		fprintf(stderr, "ustackctl: the daemon did not report the end of the connection "
				"within %d s\n", END_WAIT_MS / 1000);
		return CTL_EXIT_FAIL;
	}
	return ctl_fail(c, r, NULL);
}

/* Copies stdin to `fd` and `fd` to stdout until both directions ended (or the connection
 * failed); returns the exit code. */
static int relay(struct ctl *c, int fd)
{
	static char in[RELAY_BUF], out[RELAY_BUF];
	size_t in_len = 0, in_off = 0;
	bool in_open = true, net_open = true, shut = false;
	int r;

	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return ctl_fail(c, -errno, "fcntl");
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = in_open && in_len == 0 ? 0 : -1, .events = POLLIN },
			{ .fd = fd, .events = (short)((net_open ? POLLIN : 0) | (in_len ? POLLOUT : 0)) },
			{ .fd = ustack_event_fd(c->u), .events = POLLIN },
		};
		if ((!in_open && in_len == 0) || !net_open) {
			/* stdin's EOF: our FIN, after everything read from it. The peer's FIN ends
			 * the session as it does nc's: what stdin still holds is not sent, and
			 * our FIN lets the connection close. */
			if (!shut)
				shutdown(fd, SHUT_WR);
			shut = true;
			if (!net_open)
				break;
		}
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return ctl_fail(c, -errno, "poll");
		}
		if (p[2].revents) {
			/* The call reports an end while data may still be moving: a failure ends
			 * the command at once; an orderly close leaves the fd to drain. (Not
			 * ustack_next_event(): a listener's next connection must stay queued.) */
			r = ustack_sock_end(c->u, fd, 0);
			if (r < 0 && r != -EAGAIN)
				return ctl_fail(c, r, NULL);
		}
		if (p[0].revents) {
			ssize_t n = read(0, in, sizeof(in));

			if (n < 0 && errno != EINTR && errno != EAGAIN)
				return ctl_fail(c, -errno, "reading stdin");
			if (n == 0)
				in_open = false;
			if (n > 0) {
				in_len = (size_t)n;
				in_off = 0;
			}
		}
		if (p[1].revents & (POLLOUT | POLLERR | POLLHUP) && in_len) {
			ssize_t n = write(fd, in + in_off, in_len - in_off);

			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return report_end(c, fd); /* the daemon closed it: ask why */
			if (n > 0) {
				in_off += (size_t)n;
				if (in_off == in_len)
					in_len = in_off = 0;
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR) && net_open) {
			ssize_t n = read(fd, out, sizeof(out));

			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return report_end(c, fd);
			if (n == 0)
				net_open = false; /* the peer's FIN, or the end: the call says which */
			if (n > 0 && (r = write_all(1, out, (size_t)n)) < 0)
				return ctl_fail(c, r, "writing stdout");
		}
	}
	return report_end(c, fd);
}

static bool port_arg(const char *s, long *port)
{
	return ctl_int_arg("PORT", s, 1, 65535, port);
}

static int tcp_connect(struct ctl *c, int argc, char **argv)
{
	long port;
	int fd, r;

	if (argc != 3)
		return ctl_usage("usage: tcp connect HOST PORT");
	if (!ctl_ipv4_arg(argv[1]) || !port_arg(argv[2], &port))
		return CTL_EXIT_USAGE;
	if ((r = ctl_open(c)))
		return r;
	r = ustack_tcp_connect(c->u, argv[1], (uint16_t)port, NULL, &fd);
	if (r < 0)
		return ctl_fail(c, r, NULL);
	r = relay(c, fd);
	ustack_sock_close(c->u, fd);
	return r;
}

static int tcp_listen(struct ctl *c, int argc, char **argv)
{
	bool keep = false;
	long port;
	int opt, l, r;

	while ((opt = getopt(argc, argv, "+k")) != -1) {
		if (opt != 'k')
			return ctl_usage("usage: tcp listen [-k] PORT");
		keep = true;
	}
	if (optind != argc - 1)
		return ctl_usage("usage: tcp listen [-k] PORT");
	if (!port_arg(argv[optind], &port))
		return CTL_EXIT_USAGE;
	if ((r = ctl_open(c)))
		return r;
	r = ustack_tcp_listen(c->u, (uint16_t)port, 0, NULL, &l);
	if (r < 0)
		return ctl_fail(c, r, NULL);
	do {
		int fd;

		r = ustack_tcp_accept(c->u, l, 0, &fd, NULL);
		if (r < 0) {
			r = ctl_fail(c, r, "accept");
			break;
		}
		r = relay(c, fd);
		ustack_sock_close(c->u, fd);
	} while (keep);
	ustack_sock_close(c->u, l);
	return r;
}

static const struct ctl_verb tcp_verbs[] = {
	{ "connect", 2, 2, 0, tcp_connect, "connect HOST PORT" },
	{ "listen", 1, 2, 0, tcp_listen, "listen [-k] PORT" },
};

int cmd_tcp(struct ctl *c, int argc, char **argv)
{
	return ctl_dispatch(c, tcp_verbs, sizeof(tcp_verbs) / sizeof(tcp_verbs[0]), "tcp",
			    argc - 1, argv + 1);
}
