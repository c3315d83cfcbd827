/* The writer side of kv_crash.sh: a stream of acknowledged writes to the LMDB store, to be
 * killed with SIGKILL at any moment, and the check of what a restart finds.
 *
 *   kv_crash_writer DIR LAST_ACK
 *
 * First verifies the store in DIR against LAST_ACK, the last generation a previous run
 * acknowledged (-1: none), then writes generations LAST_ACK+1, LAST_ACK+2, ... forever,
 * printing "ack N ok" after the write of generation N returned (that is: was committed).
 * Exit 0 is never reached by the writer; 1: the verification failed (message on stderr).
 * With a third argument "verify", only verifies.
 *
 * Generation g writes key /w/<g % KEYS> with a value that names g, of a length and bytes
 * derived from g; every tenth generation is a batch that also writes /b/x and /b/y with
 * the same value, which a crash must never leave different (all or nothing). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/kv/kv.h"

#define KEYS 64
#define VALUE_MAX_BYTES 6000

static size_t gen_value(long g, uint8_t *buf)
{
	uint64_t x = (uint64_t)g * 0x9e3779b97f4a7c15ull + 1;
	size_t len = 24 + (size_t)((uint64_t)g * 7919 % (VALUE_MAX_BYTES - 24));
	int head = snprintf((char *)buf, 24, "gen %ld;", g);

	for (size_t i = (size_t)head; i < len; i++) {
		x ^= x << 13; /* xorshift64: bytes of every value, cheap, from g alone */
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	return len;
}

static int fail(const char *what, long g, const char *why)
{
	fprintf(stderr, "kv_crash_writer: %s (generation %ld): %s\n", what, g, why);
	return 1;
}

/* The generation a stored value names, after checking that it is exactly that value. */
static int stored_gen(struct kv *kv, const char *key, long *g)
{
	uint8_t *v, want[VALUE_MAX_BYTES];
	size_t len;
	int r = kv_get(kv, key, &v, &len);

	if (r < 0)
		return r;
	if (len < 5 || sscanf((const char *)v, "gen %ld;", g) != 1 || gen_value(*g, want) != len ||
	    memcmp(v, want, len) != 0)
		r = -EBADMSG;
	free(v);
	return r;
}

/* Every key must hold the last acknowledged generation written to it, or the one write
 * that may have been committed but not acknowledged (last_ack + 1). */
static int verify(struct kv *kv, long last_ack)
{
	long next = last_ack + 1;
	char key[32];

	for (int k = 0; k < KEYS; k++) {
		long want = -1, g;
		int r;

		for (long j = last_ack; j >= 0 && j > last_ack - KEYS; j--)
			if (j % KEYS == k) {
				want = j;
				break;
			}
		snprintf(key, sizeof(key), "/w/%d", k);
		r = stored_gen(kv, key, &g);
		if (r == -ENOENT && want < 0)
			continue; /* never acknowledged (maybe in flight, not committed) */
		if (r < 0)
			return fail(key, want, r == -EBADMSG ? "torn or wrong value" : strerror(-r));
		if (g != want && !(g == next && next % KEYS == k))
			return fail(key, want, "an acknowledged write is missing");
	}
	/* The batch pair: always equal, and at least the last acknowledged batch. */
	if (last_ack >= 0) {
		long gx, gy, want = last_ack - last_ack % 10;
		int r = stored_gen(kv, "/b/x", &gx);

		if (r == 0)
			r = stored_gen(kv, "/b/y", &gy);
		if (r < 0)
			return fail("/b", want, strerror(-r));
		if (gx != gy)
			return fail("/b", gx, "half a batch applied");
		if (gx < want)
			return fail("/b", want, "an acknowledged batch is missing");
		if (gx > next)
			return fail("/b", gx, "a batch from the future");
	}
	return 0;
}

static int write_gen(struct kv *kv, long g, uint64_t now_ns)
{
	static uint8_t buf[VALUE_MAX_BYTES];
	char key[32];
	size_t len = gen_value(g, buf);
	struct kv_op ops[3] = {
		{ .kind = KV_OP_SET, .key = key, .value = buf, .len = len },
		{ .kind = KV_OP_SET, .key = "/b/x", .value = buf, .len = len },
		{ .kind = KV_OP_SET, .key = "/b/y", .value = buf, .len = len },
	};

	snprintf(key, sizeof(key), "/w/%ld", g % KEYS);
	return kv_batch(kv, ops, g % 10 == 0 ? 3 : 1, now_ns, NULL);
}

int main(int argc, char **argv)
{
	struct kv_limits lim;
	struct kv *kv;
	long last_ack;
	int r;

	if (argc < 3) {
		fprintf(stderr, "usage: %s DIR LAST_ACK [verify]\n", argv[0]);
		return 2;
	}
	last_ack = strtol(argv[2], NULL, 10);
	kv_limits_default(&lim);
	lim.map_size_bytes = 64 << 20;
	/* kv-crash-checkpoints: a tiny redo log, so that kills land inside checkpoints. */
	if (getenv("KV_CRASH_WAL_MAX_BYTES"))
		lim.wal_max_bytes = strtoull(getenv("KV_CRASH_WAL_MAX_BYTES"), NULL, 10);
	r = kv_open_lmdb(argv[1], &lim, &kv);
	if (r < 0)
		return fail("open", last_ack, strerror(-r));
	if (verify(kv, last_ack) != 0) {
		kv_close(kv);
		return 1;
	}
	if (argc > 3) {
		kv_close(kv);
		return 0;
	}
	for (long g = last_ack + 1;; g++) {
		char line[48];
		int n;

		r = write_gen(kv, g, (uint64_t)g * 1000000000ull);
		if (r < 0)
			return fail("write", g, strerror(-r));
		/* One write(2) per line: a kill leaves whole lines, or a cut one without "ok". */
		n = snprintf(line, sizeof(line), "ack %ld ok\n", g);
		if (write(STDOUT_FILENO, line, (size_t)n) != n)
			return fail("stdout", g, strerror(errno));
	}
}
