/* The load generator of bench/tcp (compiled by it, not by meson): one TCP connection at a
 * time, kernel sockets, timed by CLOCK_MONOTONIC.
 *
 *   tcpload send HOST PORT SECS   write zeros for SECS s; prints "BYTES SECONDS"
 *   tcpload recv HOST PORT SECS   read for SECS s (a chargen server); prints "BYTES SECONDS"
 *   tcpload conn HOST PORT SECS   open, half-close, wait for the server's FIN, close, for
 *                                 SECS s; prints "CONNECTIONS SECONDS"
 *   tcpload serve PORT discard|source
 *                                 the kernel's side of the baseline: accepts connections
 *                                 one after the other and reads them to the end (discard,
 *                                 which also closes after the peer's FIN: the conn/s
 *                                 server) or writes zeros until the peer goes (source, like
 *                                 chargen); runs until killed.
 *   tcpload relay TAP_A TAP_B     creates two TAP interfaces and copies every frame from one
 *                                 to the other, one read and one write per frame as a TAP
 *                                 stack does: the kernel-to-kernel link over TAP (the
 *                                 caller moves each TAP to its namespace); runs until killed.
 * Exit status 1 on any socket error (with a message), so the bench never reports a figure
 * from a run that failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IO_BUF (256 * 1024)

static char buf[IO_BUF];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

static int serve(int port, const char *what)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 128) < 0) {
		perror("bind/listen");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int fd = accept(ls, NULL, NULL);

		if (fd < 0)
			continue;
		if (strcmp(what, "source") == 0) {
			while (write(fd, buf, sizeof(buf)) > 0)
				;
		} else {
			while (read(fd, buf, sizeof(buf)) > 0)
				;
		}
		close(fd);
	}
}

static int tap_open(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		perror(name);
		exit(1);
	}
	return fd;
}

_Noreturn static void relay(const char *a, const char *b)
{
	struct pollfd p[2] = { { .fd = tap_open(a), .events = POLLIN },
			       { .fd = tap_open(b), .events = POLLIN } };

	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (poll(p, 2, -1) < 0)
			continue;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!(p[i].revents & POLLIN))
				continue;
			/* A batch per wake-up, bounded so that one direction cannot starve the
			 * other; a frame the other TAP refuses is dropped, as a full ring would. */
			for (int k = 0; k < 64 && (n = read(p[i].fd, buf, sizeof(buf))) > 0; k++)
				(void)!write(p[1 - i].fd, buf, (size_t)n);
		}
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	double t0, t1, secs;
	unsigned long long n = 0;
	int fd;

	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return serve(atoi(argv[2]), argv[3]);
	if (argc == 4 && strcmp(argv[1], "relay") == 0)
		relay(argv[2], argv[3]);
	if (argc != 5 || inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
		fprintf(stderr, "usage: tcpload send|recv|conn HOST PORT SECS | serve PORT KIND | "
				"relay TAP_A TAP_B\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[3]));
	secs = atof(argv[4]);
	signal(SIGPIPE, SIG_IGN);
	t0 = now_s();
	if (strcmp(argv[1], "send") == 0 || strcmp(argv[1], "recv") == 0) {
		int snd = argv[1][0] == 's';

		fd = dial(&sa);
		t0 = now_s();
		do {
			ssize_t r = snd ? write(fd, buf, sizeof(buf)) : read(fd, buf, sizeof(buf));

			if (r <= 0) {
				fprintf(stderr, "%s: %s\n", argv[1], r == 0 ? "EOF" : strerror(errno));
				return 1;
			}
			n += (unsigned long long)r;
		} while (now_s() - t0 < secs);
		t1 = now_s();
		close(fd);
	} else if (strcmp(argv[1], "conn") == 0) {
		do {
			fd = dial(&sa);
			shutdown(fd, SHUT_WR);
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			close(fd);
			n++;
		} while (now_s() - t0 < secs);
		t1 = now_s();
	} else {
		fprintf(stderr, "tcpload: unknown mode %s\n", argv[1]);
		return 2;
	}
	printf("%llu %.3f\n", n, t1 - t0);
	return 0;
}
