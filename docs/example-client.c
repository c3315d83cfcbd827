/* A client of ustackd in C with libustack (docs/rpc.md): a TCP echo round trip through the
 * stack, in a poll() loop of our own, then how the connection ended.
 *
 *   cc example-client.c $(pkg-config --cflags --libs ustack) -o example-client
 *   ./example-client 10.203.0.1 7          # an echo server the stack can reach
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <ustack.h>

int main(int argc, char **argv)
{
	static const char hello[] = "hello through ustack\n";
	struct ustack_opts opts;
	struct ustack *u;
	char buf[4096];
	int fd, r, end;

	if (argc != 3) {
		fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
		return 2;
	}
	r = ustack_open(NULL, &u); /* $USTACK_SOCKET or /run/ustackd/ctl.sock */
	if (r < 0) {
		fprintf(stderr, "ustack_open: %s\n", strerror(-r));
		return 1;
	}
	ustack_opts_init(&opts);
	opts.nodelay = 1;
	r = ustack_tcp_connect(u, argv[1], (uint16_t)atoi(argv[2]), &opts, &fd);
	if (r < 0) {
		fprintf(stderr, "connect: %s: %s\n", ustack_errno_name(r),
			ustack_error_message(u));
		ustack_close(u);
		return 1;
	}
	/* fd is a plain socket: write, half-close, read to EOF. */
	if (write(fd, hello, strlen(hello)) < 0 || shutdown(fd, SHUT_WR) < 0)
		perror("write");
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = ustack_event_fd(u), .events = POLLIN } };
		struct ustack_event ev;
		ssize_t n;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		/* News from the daemon: a failure ends the connection at once. */
		while (ustack_next_event(u, &ev) == 0)
			if (ev.type == USTACK_EV_ENDED && ev.fd == fd && ev.error < 0)
				goto done;
		if (!p[0].revents)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break; /* EOF: the peer's FIN, or the end; the call says which */
		fwrite(buf, 1, (size_t)n, stdout);
	}
done:
	/* EOF looks the same for a clean close and a reset: ask. */
	end = ustack_sock_end(u, fd, 5000);
	if (end == 0)
		printf("closed cleanly\n");
	else
		printf("ended: %s (%s)\n", ustack_errno_name(end) ? ustack_errno_name(end) : "?",
		       ustack_error_message(u));
	ustack_sock_close(u, fd);
	ustack_close(u);
	return end == 0 ? 0 : 1;
}
