/* The load generator of bench/tcp (compiled by it, not by meson): one TCP connection at a
 * time, kernel sockets, timed by CLOCK_MONOTONIC.
 *
 *   tcpload send HOST PORT SECS   write zeros for SECS s; prints "BYTES SECONDS"
 *   tcpload recv HOST PORT SECS   read for SECS s (a chargen server); prints "BYTES SECONDS"
 *   tcpload conn HOST PORT SECS   open, half-close, wait for the server's FIN, close, for
 *                                 SECS s; prints "CONNECTIONS SECONDS"
 *   tcpload serve PORT discard|source|close
 *                                 the kernel's side of the baseline: accepts connections
 *                                 one after the other and reads them to the end (discard),
 *                                 writes zeros until the peer goes (source, like chargen),
 *                                 or closes after the peer's FIN (close); runs until killed.
 * Exit status 1 on any socket error (with a message), so the bench never reports a figure
 * from a run that failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	double t0, t1, secs;
	unsigned long long n = 0;
	int fd;

	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return serve(atoi(argv[2]), argv[3]);
	if (argc != 5 || inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
		fprintf(stderr, "usage: tcpload send|recv|conn HOST PORT SECS | serve PORT KIND\n");
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
