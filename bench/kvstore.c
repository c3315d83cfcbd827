/* The key-value store's own speed (daemon/kv), called directly: the floor under what the
 * RPC will add. bench/kv-store builds and runs it next to redis-server.
 *   kvstore DIR VALUE_BYTES SECS
 * Prints one line per measurement: "NAME OPS_PER_S". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/kv/kv.h"

#define KEYS 10000
#define BATCH 100

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "kvstore: %s: %s\n", what, kv_error_name(r));
	exit(1);
}

/* Sets, one per transaction (batch 1) or BATCH per transaction, for secs. */
static double bench_set(struct kv *kv, const uint8_t *value, size_t len, size_t batch,
			double secs)
{
	static char keys[BATCH][32];
	struct kv_op ops[BATCH];
	double t0 = now_s(), t, pending_since = 0;
	long n = 0;

	do {
		for (size_t j = 0; j < batch; j++) {
			snprintf(keys[j], sizeof(keys[j]), "/bench/k%ld", (n + (long)j) % KEYS);
			ops[j] = (struct kv_op){ .kind = KV_OP_SET, .key = keys[j], .value = value,
						 .len = len };
		}
		int r = kv_batch(kv, ops, batch, wall_ns(), NULL);

		if (r < 0)
			die("set", r);
		n += (long)batch;
		t = now_s() - t0;
		/* Checkpoints as the daemon runs them (rpc_kv.c): their cost is part of a set's. */
		if (!pending_since && kv_checkpoint_pending(kv)) {
			pending_since = t0 + t;
		} else if (pending_since && t0 + t - pending_since >= KV_CHECKPOINT_DELAY_MS / 1e3) {
			r = kv_checkpoint(kv);
			if (r < 0)
				die("checkpoint", r);
			pending_since = 0;
		}
	} while (t < secs);
	return (double)n / t;
}

static double bench_get(struct kv *kv, double secs)
{
	double t0 = now_s(), t;
	char key[32];
	long n = 0;

	do {
		uint8_t *v;
		size_t len;
		int r;

		snprintf(key, sizeof(key), "/bench/k%ld", (n * 7919) % KEYS);
		r = kv_get(kv, key, &v, &len);
		if (r < 0)
			die("get", r);
		free(v);
		n++;
		t = now_s() - t0;
	} while (t < secs);
	return (double)n / t;
}

static void run(const char *name, struct kv *kv, size_t len, double secs)
{
	uint8_t *value = malloc(len ? len : 1);

	memset(value, 'x', len);
	/* Fill every key first so that the gets find them and the sets overwrite. */
	bench_set(kv, value, len, BATCH, 0);
	for (long i = 0; i < KEYS; i += BATCH)
		bench_set(kv, value, len, BATCH, 0);
	printf("%s_set %.0f\n", name, bench_set(kv, value, len, 1, secs));
	printf("%s_set_batch%d %.0f\n", name, BATCH, bench_set(kv, value, len, BATCH, secs));
	printf("%s_get %.0f\n", name, bench_get(kv, secs));
	free(value);
}

int main(int argc, char **argv)
{
	struct kv_limits lim;
	struct kv *kv;
	size_t len;
	double secs;
	int r;

	if (argc != 4) {
		fprintf(stderr, "usage: %s DIR VALUE_BYTES SECS\n", argv[0]);
		return 2;
	}
	len = strtoul(argv[2], NULL, 10);
	secs = atof(argv[3]);
	kv_limits_default(&lim);
	/* To compare the redo log's two ways to restart (docs/performance.md). */
	lim.wal_truncate = getenv("KVSTORE_WAL_TRUNCATE") != NULL;
	r = kv_open_lmdb(argv[1], &lim, &kv);
	if (r < 0)
		die("open", r);
	run("lmdb", kv, len, secs);
	kv_close(kv);
	r = kv_open_memory(&lim, &kv);
	if (r < 0)
		die("open", r);
	run("memory", kv, len, secs);
	kv_close(kv);
	return 0;
}
