/* ustackctl udp send / udp listen: datagrams through the stack.
 * `udp send HOST PORT` sends the whole of stdin as ONE datagram (at most 65507 bytes, so
 * that binary data and exact sizes go through unchanged); with -w SECS it then prints the
 * datagrams that come back for that long. `udp listen PORT` prints every datagram it
 * gets: the payload as is, or with --json one object per line with its source and the
 * payload in base64. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/ctl.h"

static char dgram[USTACK_UDP_MAX_PAYLOAD + 1];

static void print_json_dgram(const struct ustack_endpoint *from, const char *p, size_t n)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static char enc[(USTACK_UDP_MAX_PAYLOAD + 2) / 3 * 4 + 1];
	struct json_object *o = json_object_new_object();
	char addr[INET_ADDRSTRLEN];
	size_t i, k = 0;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)p[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)p[i + 2];
		enc[k++] = b64[(v >> 18) & 63];
		enc[k++] = b64[(v >> 12) & 63];
		enc[k++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		enc[k++] = i + 2 < n ? b64[v & 63] : '=';
	}
	enc[k] = 0;
	inet_ntop(AF_INET, &from->addr, addr, sizeof(addr));
	json_object_object_add(o, "address", json_object_new_string(addr));
	json_object_object_add(o, "port", json_object_new_int(from->port));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)n));
	json_object_object_add(o, "data", json_object_new_string(enc));
	/* One object per line (JSON lines), so that a stream can be read as it comes. */
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* Prints datagrams of `fd` until `count` (0: no limit) or `wait_ms` (-1: no limit) or an
 * ICMP error (exit 1). Returns the exit code. */
static int receive(struct ctl *c, int fd, long count, long wait_ms)
{
	struct timespec t0;
	long got = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (count == 0 || got < count) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = ustack_event_fd(c->u), .events = POLLIN } };
		struct ustack_endpoint from;
		struct ustack_event ev;
		struct timespec t;
		long left = -1;
		ssize_t n;
		int r;

		if (wait_ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			left = wait_ms - ((t.tv_sec - t0.tv_sec) * 1000 +
					  (t.tv_nsec - t0.tv_nsec) / 1000000);
			if (left <= 0)
				break;
		}
		r = poll(p, 2, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ctl_fail(c, -errno, "poll");
		if (p[1].revents) {
			while (ustack_next_event(c->u, &ev) == 0) {
				if (ev.type == USTACK_EV_ICMP_ERROR) {
					char who[INET_ADDRSTRLEN], what[64];

					inet_ntop(AF_INET, &ev.from, who, sizeof(who));
					snprintf(what, sizeof(what), "ICMP error from %s", who);
					return ctl_fail(c, ev.error, what);
				}
				if (ev.type == USTACK_EV_ENDED && ev.fd == fd)
					return ev.error ? ctl_fail(c, ev.error, NULL) : CTL_EXIT_OK;
			}
		}
		if (!p[0].revents)
			continue;
		n = ustack_udp_recv(fd, &from, dgram, sizeof(dgram));
		if (n == -EAGAIN || n == -EINTR)
			continue;
		if (n < 0)
			return ctl_fail(c, (int)n, "receiving");
		if (n == 0 && from.port == 0)
			return CTL_EXIT_OK; /* the daemon closed the socket */
		got++;
		if (c->json) {
			print_json_dgram(&from, dgram, (size_t)n);
		} else if (fwrite(dgram, 1, (size_t)n, stdout) != (size_t)n) {
			return ctl_fail(c, -errno, "writing stdout");
		}
		fflush(stdout);
	}
	return CTL_EXIT_OK;
}

static int udp_send(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "usage: udp send [-w SECS] HOST PORT";
	long port, wait_s = 0;
	size_t len = 0;
	ssize_t n;
	int opt, fd, r;

	while ((opt = getopt(argc, argv, "+w:")) != -1) {
		if (opt != 'w' || !ctl_int_arg("-w", optarg, 0, 3600, &wait_s))
			return opt == 'w' ? CTL_EXIT_USAGE : ctl_usage("%s", use);
	}
	if (optind != argc - 2)
		return ctl_usage("%s", use);
	if (!ctl_ipv4_arg(argv[optind]) || !ctl_int_arg("PORT", argv[optind + 1], 1, 65535, &port))
		return CTL_EXIT_USAGE;
	while ((n = read(0, dgram + len, sizeof(dgram) - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ctl_fail(c, -errno, "reading stdin");
		len += (size_t)n;
		if (len == sizeof(dgram)) {
			fprintf(stderr, "ustackctl: stdin holds more than %d bytes: a datagram is at "
					"most that\n", USTACK_UDP_MAX_PAYLOAD);
			return CTL_EXIT_FAIL;
		}
	}
	if ((r = ctl_open(c)))
		return r;
	r = ustack_udp_connect(c->u, argv[optind], (uint16_t)port, NULL, &fd, NULL);
	if (r < 0)
		return ctl_fail(c, r, NULL);
	n = ustack_udp_send(fd, NULL, dgram, len);
	if (n < 0) {
		ustack_sock_close(c->u, fd);
		return ctl_fail(c, (int)n, "sending");
	}
	r = wait_s ? receive(c, fd, 0, wait_s * 1000) : CTL_EXIT_OK;
	ustack_sock_close(c->u, fd);
	return r;
}

static int udp_listen(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "usage: udp listen [-c COUNT] PORT";
	long port, count = 0;
	int opt, fd, r;

	while ((opt = getopt(argc, argv, "+c:")) != -1) {
		if (opt != 'c' || !ctl_int_arg("-c", optarg, 1, 1000000000, &count))
			return opt == 'c' ? CTL_EXIT_USAGE : ctl_usage("%s", use);
	}
	if (optind != argc - 1)
		return ctl_usage("%s", use);
	if (!ctl_int_arg("PORT", argv[optind], 1, 65535, &port))
		return CTL_EXIT_USAGE;
	if ((r = ctl_open(c)))
		return r;
	r = ustack_udp_bind(c->u, (uint16_t)port, NULL, &fd, NULL);
	if (r < 0)
		return ctl_fail(c, r, NULL);
	r = receive(c, fd, count, -1);
	ustack_sock_close(c->u, fd);
	return r;
}

static const struct ctl_verb udp_verbs[] = {
	{ "send", 2, 4, 0, udp_send, "send [-w SECS] HOST PORT" },
	{ "listen", 1, 3, CTL_VERB_READ, udp_listen, "listen [-c COUNT] PORT" },
};

int cmd_udp(struct ctl *c, int argc, char **argv)
{
	if (c->json && argc > 1 && strcmp(argv[1], "send") == 0)
		return ctl_usage("--json applies to 'udp listen' only");
	return ctl_dispatch(c, udp_verbs, sizeof(udp_verbs) / sizeof(udp_verbs[0]), "udp",
			    argc - 1, argv + 1);
}
