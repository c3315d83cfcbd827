/* The load generator of bench/rpc, over libustack (built by meson as build/cli/rpcload).
 *
 *   rpcload status CLIENTS SECS   CLIENTS processes, each with its own connection, call
 *                                 io.ustack.Stack.Status back to back for SECS s; prints
 *                                 "CALLS SECONDS"
 *   rpcload sink PORT             listens on PORT of the stack and reads every accepted
 *                                 connection to its end (the fd data plane's discard);
 *                                 runs until killed
 *   rpcload source PORT           the same, writing zeros until the peer goes (chargen)
 * The control socket is $USTACK_SOCKET. Exit status 1 on any error (with a message), so
 * the bench never reports a figure from a run that failed. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <ustack.h>

#define IO_BUF (256 * 1024)

static char buf[IO_BUF];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct ustack *open_or_die(void)
{
	struct ustack *u;
	int r = ustack_open(NULL, &u);

	if (r < 0) {
		fprintf(stderr, "rpcload: ustack_open: %s\n", strerror(-r));
		exit(1);
	}
	return u;
}

/* One client: Status calls for `secs` from `start`; writes its count to `out`. */
static int status_client(double start, double secs, int out)
{
	struct ustack *u = open_or_die();
	long long calls = 0;
	int r;

	while (now_s() < start) /* all clients begin together */
		usleep(1000);
	while (now_s() < start + secs) {
		r = ustack_call(u, "io.ustack.Stack.Status", NULL, 0, NULL, NULL);
		if (r < 0) {
			fprintf(stderr, "rpcload: Status: %s (%s)\n", strerror(-r),
				ustack_error_message(u));
			return 1;
		}
		calls++;
	}
	ustack_close(u);
	return write(out, &calls, sizeof(calls)) == sizeof(calls) ? 0 : 1;
}

static int status_load(int clients, double secs)
{
	double start = now_s() + 0.2 + clients * 0.002;
	long long total = 0, n;
	int p[2], i, st, failed = 0;

	if (pipe(p) < 0)
		return 1;
	for (i = 0; i < clients; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			close(p[0]);
			_exit(status_client(start, secs, p[1]));
		}
	}
	close(p[1]);
	while (read(p[0], &n, sizeof(n)) == sizeof(n))
		total += n;
	while (wait(&st) > 0)
		failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	if (failed)
		return 1;
	printf("%lld %.3f\n", total, secs);
	return 0;
}

static int serve(int port, int source)
{
	struct ustack *u = open_or_die();
	int l, fd, r;

	r = ustack_tcp_listen(u, (uint16_t)port, 0, NULL, &l);
	if (r < 0) {
		fprintf(stderr, "rpcload: listen: %s (%s)\n", strerror(-r), ustack_error_message(u));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		r = ustack_tcp_accept(u, l, 0, &fd, NULL);
		if (r < 0) {
			fprintf(stderr, "rpcload: accept: %s\n", strerror(-r));
			return 1;
		}
		if (source) {
			while (write(fd, buf, sizeof(buf)) > 0)
				;
		} else {
			while (read(fd, buf, sizeof(buf)) > 0)
				;
		}
		ustack_sock_close(u, fd);
	}
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "status") == 0)
		return status_load(atoi(argv[2]), atof(argv[3]));
	if (argc == 3 && strcmp(argv[1], "sink") == 0)
		return serve(atoi(argv[2]), 0);
	if (argc == 3 && strcmp(argv[1], "source") == 0)
		return serve(atoi(argv[2]), 1);
	fprintf(stderr, "usage: rpcload status CLIENTS SECS | sink PORT | source PORT\n");
	return 2;
}
