/* io.ustack.KV load generator for bench/kv: CLIENTS connections to the daemon's socket, each
 * with one call outstanding at a time (as redis-benchmark without -P), for SECS seconds,
 * all from one thread (poll).
 *   kvload SOCK set|batch|get CLIENTS SECS VALUE_BYTES
 * set: Set of a random key of 10000 (redis-benchmark -r 10000); batch: Batch of 100 Sets
 * (counted as 100 operations, against redis -P 100); get: Get of a key written first.
 * Prints "<mode> <clients> <operations per second>". Replies are framed and parsed with
 * ipc/varlink.h; an error reply stops the run (exit 1). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ipc/base64.h"
#include "ipc/varlink.h"

#define KEYS 10000
#define BATCH 100

static const char *sock_path, *mode;
static double secs;
static char *value_b64;
static unsigned long total_ops;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_sock(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(sock_path);
		exit(1);
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One call's reply: 0 when it is not an error. */
static int recv_reply(int fd, struct varlink_reader *rd)
{
	struct json_object *msg;
	struct varlink_reply rep;
	const char *bad;
	int r;

	while ((r = varlink_reader_next(rd, &msg)) == 0) {
		char *space;
		size_t cap;
		ssize_t n;

		if (varlink_reader_reserve(rd, 1 << 16, &space, &cap) < 0)
			return -1;
		n = recv(fd, space, cap, 0);
		if (n <= 0)
			return -1;
		varlink_reader_commit(rd, (size_t)n, NULL, 0);
	}
	if (r < 0)
		return -1;
	r = varlink_reply_decode(msg, &rep, &bad) < 0 || rep.error ? -1 : 0;
	if (r < 0)
		fprintf(stderr, "kvload: %s\n", json_object_to_json_string(msg));
	json_object_put(msg);
	return r;
}

/* The call's text (NUL included) into buf: n operations on random keys. */
static size_t build(char *buf, size_t cap, unsigned *seed)
{
	size_t len = 0;

	if (strcmp(mode, "get") == 0)
		return (size_t)snprintf(buf, cap,
					"{\"method\":\"io.ustack.KV.Get\",\"parameters\":"
					"{\"key\":\"/bench/k%u\"}}",
					(unsigned)rand_r(seed) % KEYS) + 1;
	if (strcmp(mode, "set") == 0)
		return (size_t)snprintf(buf, cap,
					"{\"method\":\"io.ustack.KV.Set\",\"parameters\":"
					"{\"key\":\"/bench/k%u\",\"value\":\"%s\"}}",
					(unsigned)rand_r(seed) % KEYS, value_b64) + 1;
	len += (size_t)snprintf(buf, cap,
				"{\"method\":\"io.ustack.KV.Batch\",\"parameters\":{\"operations\":[");
	for (int i = 0; i < BATCH; i++)
		len += (size_t)snprintf(buf + len, cap - len,
					"%s{\"op\":\"set\",\"key\":\"/bench/k%u\",\"value\":\"%s\"}",
					i ? "," : "", (unsigned)rand_r(seed) % KEYS, value_b64);
	len += (size_t)snprintf(buf + len, cap - len, "]}}");
	return len + 1;
}

/* All clients from one thread with poll(), as redis-benchmark does (threads would spend
 * the shared CPUs on context switches): each connection sends its next call when the
 * reply to the previous one is in. */
struct conn {
	int fd;
	struct varlink_reader rd;
};

static int conn_read(struct conn *k)
{
	struct json_object *msg;
	struct varlink_reply rep;
	const char *bad;
	char *space;
	size_t cap;
	ssize_t n;
	int r, got = 0;

	if (varlink_reader_reserve(&k->rd, 1 << 16, &space, &cap) < 0)
		return -1;
	n = recv(k->fd, space, cap, MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0)
		return -1;
	varlink_reader_commit(&k->rd, (size_t)n, NULL, 0);
	while ((r = varlink_reader_next(&k->rd, &msg)) == 1) {
		r = varlink_reply_decode(msg, &rep, &bad) < 0 || rep.error ? -1 : 0;
		if (r < 0)
			fprintf(stderr, "kvload: %s\n", json_object_to_json_string(msg));
		json_object_put(msg);
		if (r < 0)
			return -1;
		got++;
	}
	return r < 0 ? -1 : got;
}

static int run_clients(int clients)
{
	size_t cap = (strlen(value_b64) + 64) * BATCH + 256;
	unsigned long per = strcmp(mode, "batch") == 0 ? BATCH : 1, ops = 0;
	struct pollfd *pfd = calloc((size_t)clients, sizeof(*pfd));
	struct conn *k = calloc((size_t)clients, sizeof(*k));
	char *buf = malloc(cap);
	unsigned seed = 1;
	double end;

	if (!pfd || !k || !buf)
		return -1;
	for (int i = 0; i < clients; i++) {
		k[i].fd = connect_sock();
		varlink_reader_init(&k[i].rd, 0);
		pfd[i] = (struct pollfd){ .fd = k[i].fd, .events = POLLIN };
	}
	end = now_s() + secs;
	for (int i = 0; i < clients; i++)
		if (send_all(k[i].fd, buf, build(buf, cap, &seed)) < 0)
			return -1;
	while (now_s() < end) {
		if (poll(pfd, (nfds_t)clients, 1000) < 0 && errno != EINTR)
			return -1;
		for (int i = 0; i < clients; i++) {
			int got;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = conn_read(&k[i]);
			if (got < 0)
				return -1;
			ops += (unsigned long)got * per;
			if (got && send_all(k[i].fd, buf, build(buf, cap, &seed)) < 0)
				return -1;
		}
	}
	total_ops = ops;
	for (int i = 0; i < clients; i++) {
		varlink_reader_fini(&k[i].rd);
		close(k[i].fd);
	}
	free(pfd);
	free(k);
	free(buf);
	return 0;
}

/* Every key of the key space written once, so that each get finds a value. */
static void fill(void)
{
	const char *saved = mode;
	size_t cap = (strlen(value_b64) + 64) * BATCH + 256;
	char *buf = malloc(cap);
	struct varlink_reader rd;
	int fd = connect_sock();

	varlink_reader_init(&rd, 0);
	mode = "fill";
	for (unsigned k = 0; buf && k < KEYS; k += BATCH) {
		size_t len = (size_t)snprintf(buf, cap, "{\"method\":\"io.ustack.KV.Batch\","
						       "\"parameters\":{\"operations\":[");

		for (unsigned i = 0; i < BATCH; i++)
			len += (size_t)snprintf(buf + len, cap - len,
						"%s{\"op\":\"set\",\"key\":\"/bench/k%u\",\"value\":\"%s\"}",
						i ? "," : "", k + i, value_b64);
		len += (size_t)snprintf(buf + len, cap - len, "]}}") + 1;
		if (send_all(fd, buf, len) < 0 || recv_reply(fd, &rd) < 0) {
			fprintf(stderr, "kvload: filling the key space failed\n");
			exit(1);
		}
	}
	mode = saved;
	varlink_reader_fini(&rd);
	close(fd);
	free(buf);
}

int main(int argc, char **argv)
{
	size_t value_bytes;
	uint8_t *value;
	int clients;
	double start;

	if (argc != 6) {
		fprintf(stderr, "usage: kvload SOCK set|batch|get CLIENTS SECS VALUE_BYTES\n");
		return 2;
	}
	sock_path = argv[1];
	mode = argv[2];
	clients = atoi(argv[3]);
	secs = atof(argv[4]);
	value_bytes = (size_t)atol(argv[5]);
	if (clients < 1 || secs <= 0 ||
	    (strcmp(mode, "set") && strcmp(mode, "batch") && strcmp(mode, "get"))) {
		fprintf(stderr, "kvload: bad arguments\n");
		return 2;
	}
	value = malloc(value_bytes + 1);
	value_b64 = malloc(base64_encoded_len(value_bytes) + 1);
	if (!value || !value_b64)
		return 1;
	memset(value, 'x', value_bytes);
	base64_encode(value, value_bytes, value_b64);
	if (strcmp(mode, "get") == 0)
		fill();
	start = now_s();
	if (run_clients(clients) < 0)
		return 1;
	printf("%s %d %.0f\n", mode, clients, (double)total_ops / (now_s() - start));
	free(value);
	free(value_b64);
	return 0;
}
