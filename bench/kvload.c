/* io.ustack.KV load generator for bench/kv: CLIENTS connections to the daemon's socket, each
 * with one call outstanding at a time (as redis-benchmark without -P), for SECS seconds,
 * all from one thread (poll).
 *   kvload SOCK set|batch|get CLIENTS SECS VALUE_BYTES
 * set: Set of a random key of 10000 (redis-benchmark -r 10000); batch: Batch of 100 Sets
 * (counted as 100 operations, against redis -P 100); get: Get of a key written first.
 * Prints "<mode> <clients> <operations per second> <client CPU µs per call>".
 *
 * The client costs about what redis-benchmark's does, so that the daemon is what is
 * measured (docs/performance.md, "CPU per call"): like redis-benchmark, which builds its
 * command once and overwrites the digits of its random keys in place before each request,
 * the call's JSON text is built once with fixed-width keys ("/bench/k0042") and only their
 * four digits are rewritten per call. A reply is framed by its NUL and checked by its
 * start alone: the daemon writes a reply as {"parameters":...} and an error as
 * {"error":...} (ipc/varlink.c), so anything else stops the run (exit 1) with the message
 * printed; redis-benchmark too reads replies without decoding their values. The client's
 * own CPU per call (getrusage) is printed to show how small it is. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ipc/base64.h"

#define KEYS 10000
#define KEY_DIGITS 4 /* KEYS - 1 in fixed width */
#define BATCH 100
#define REPLY_PREFIX "{\"parameters\":"
#define RECV_BYTES (1u << 16)

static const char *sock_path;
static double secs;
static unsigned long total_ops, total_calls;

/* A call's text built once (NUL included) and the offsets of its keys' digits. */
struct call_tpl {
	char *text;
	size_t len;
	size_t key_at[BATCH];
	size_t nkeys;
};

/* A connection: its socket and what it read of a reply not yet whole. */
struct conn {
	int fd;
	char *buf;
	size_t len;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
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

/* Appends printf output to t->text (sized by the caller). */
#define TPL_ADD(t, ...) ((t)->len += (size_t)sprintf((t)->text + (t)->len, __VA_ARGS__))

/* One key "/bench/kNNNN" appended, its digits' offset noted. */
static void tpl_key(struct call_tpl *t, unsigned k)
{
	TPL_ADD(t, "\"/bench/k");
	t->key_at[t->nkeys++] = t->len;
	TPL_ADD(t, "%0*u\"", KEY_DIGITS, k);
}

/* The call of `mode` with keys first, first + 1, ...: the template, or a fill batch. */
static void tpl_build(struct call_tpl *t, const char *mode, const char *value_b64,
		      unsigned first)
{
	t->text = malloc((strlen(value_b64) + 64) * BATCH + 256);
	if (!t->text)
		exit(1);
	t->len = t->nkeys = 0;
	if (strcmp(mode, "get") == 0) {
		TPL_ADD(t, "{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":");
		tpl_key(t, first);
		TPL_ADD(t, "}}");
	} else if (strcmp(mode, "set") == 0) {
		TPL_ADD(t, "{\"method\":\"io.ustack.KV.Set\",\"parameters\":{\"key\":");
		tpl_key(t, first);
		TPL_ADD(t, ",\"value\":\"%s\"}}", value_b64);
	} else {
		TPL_ADD(t, "{\"method\":\"io.ustack.KV.Batch\",\"parameters\":{\"operations\":[");
		for (unsigned i = 0; i < BATCH; i++) {
			TPL_ADD(t, "%s{\"op\":\"set\",\"key\":", i ? "," : "");
			tpl_key(t, first + i);
			TPL_ADD(t, ",\"value\":\"%s\"}", value_b64);
		}
		TPL_ADD(t, "]}}");
	}
	t->len++; /* the NUL that sprintf wrote ends the frame */
}

/* Random keys written over the template's digits (redis-benchmark's __rand_int__). */
static void tpl_randomize(struct call_tpl *t, unsigned *seed)
{
	for (size_t i = 0; i < t->nkeys; i++) {
		unsigned k = (unsigned)rand_r(seed) % KEYS;
		char *d = t->text + t->key_at[i];

		for (int j = KEY_DIGITS - 1; j >= 0; j--, k /= 10)
			d[j] = (char)('0' + k % 10);
	}
}

/* Whole replies in k->buf checked and consumed; how many, or -1 on an error reply. */
static int conn_replies(struct conn *k)
{
	size_t at = 0;
	char *nul;
	int got = 0;

	while ((nul = memchr(k->buf + at, '\0', k->len - at))) {
		if (strncmp(k->buf + at, REPLY_PREFIX, sizeof(REPLY_PREFIX) - 1) != 0) {
			fprintf(stderr, "kvload: %s\n", k->buf + at);
			return -1;
		}
		at = (size_t)(nul - k->buf) + 1;
		got++;
	}
	memmove(k->buf, k->buf + at, k->len - at);
	k->len -= at;
	return got;
}

/* Reads what came; the number of whole replies, or -1. */
static int conn_read(struct conn *k, int flags)
{
	ssize_t n;

	if (k->len == RECV_BYTES) {
		fprintf(stderr, "kvload: a reply longer than %u bytes\n", RECV_BYTES);
		return -1;
	}
	n = recv(k->fd, k->buf + k->len, RECV_BYTES - k->len, flags);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0)
		return -1;
	k->len += (size_t)n;
	return conn_replies(k);
}

/* All clients from one thread with poll(), as redis-benchmark does (threads would spend
 * the shared CPUs on context switches): each connection sends its next call when the
 * reply to the previous one is in. */
static int run_clients(const char *mode, const char *value_b64, int clients)
{
	unsigned long per = strcmp(mode, "batch") == 0 ? BATCH : 1, ops = 0, calls = 0;
	struct pollfd *pfd = calloc((size_t)clients, sizeof(*pfd));
	struct conn *k = calloc((size_t)clients, sizeof(*k));
	struct call_tpl t;
	unsigned seed = 1;
	double end;

	if (!pfd || !k)
		return -1;
	tpl_build(&t, mode, value_b64, 0);
	for (int i = 0; i < clients; i++) {
		k[i].fd = connect_sock();
		k[i].buf = malloc(RECV_BYTES);
		if (!k[i].buf)
			return -1;
		pfd[i] = (struct pollfd){ .fd = k[i].fd, .events = POLLIN };
	}
	end = now_s() + secs;
	for (int i = 0; i < clients; i++) {
		tpl_randomize(&t, &seed);
		if (send_all(k[i].fd, t.text, t.len) < 0)
			return -1;
	}
	while (now_s() < end) {
		if (poll(pfd, (nfds_t)clients, 1000) < 0 && errno != EINTR)
			return -1;
		for (int i = 0; i < clients; i++) {
			int got;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = conn_read(&k[i], MSG_DONTWAIT);
			if (got < 0)
				return -1;
			ops += (unsigned long)got * per;
			calls += (unsigned long)got;
			if (!got)
				continue;
			tpl_randomize(&t, &seed);
			if (send_all(k[i].fd, t.text, t.len) < 0)
				return -1;
		}
	}
	total_ops = ops;
	total_calls = calls;
	for (int i = 0; i < clients; i++) {
		close(k[i].fd);
		free(k[i].buf);
	}
	free(pfd);
	free(k);
	free(t.text);
	return 0;
}

/* Every key of the key space written once, so that each get finds a value. */
static void fill(const char *value_b64)
{
	struct conn k = { .fd = connect_sock(), .buf = malloc(RECV_BYTES) };

	for (unsigned first = 0; k.buf && first < KEYS; first += BATCH) {
		struct call_tpl t;
		int got = 0;

		tpl_build(&t, "batch", value_b64, first);
		if (send_all(k.fd, t.text, t.len) < 0)
			got = -1;
		while (got == 0)
			got = conn_read(&k, 0);
		free(t.text);
		if (got < 0) {
			fprintf(stderr, "kvload: filling the key space failed\n");
			exit(1);
		}
	}
	close(k.fd);
	free(k.buf);
}

int main(int argc, char **argv)
{
	size_t value_bytes;
	const char *mode;
	uint8_t *value;
	char *value_b64;
	int clients;
	double start, cpu, elapsed;

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
		fill(value_b64);
	start = now_s();
	cpu = cpu_s();
	if (run_clients(mode, value_b64, clients) < 0)
		return 1;
	elapsed = now_s() - start;
	cpu = cpu_s() - cpu;
	printf("%s %d %.0f %.1f\n", mode, clients, (double)total_ops / elapsed,
	       total_calls ? cpu * 1e6 / (double)total_calls : 0.0);
	free(value);
	free(value_b64);
	return 0;
}
