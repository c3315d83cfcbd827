/* io.ustack.KV's hot calls without json-c (docs/performance.md, "KV calls without json-c
 * objects"): a Get, Exists, Set or Batch message parsed straight from its text into store
 * operations, and a read's or a write's success answered straight as text. It takes only
 * the plainest form of those calls, the one clients send: the envelope {"method",
 * "parameters"} in that order, the parameters each exactly once and nothing else, strings
 * of printable ASCII without escapes, a Batch of 1 to KV_DIRECT_OPS_MAX "set"/"remove"
 * operations. Anything else answers -EAGAIN and goes the json-c way (kv_rpc.h), which
 * also answers every error, so both give the same bytes for the same call
 * (tests/unit/test_kv_direct.c compares them; tests/fuzz/fuzz_kv.c too). */
#ifndef USTACKD_KV_DIRECT_H
#define USTACKD_KV_DIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv_rpc.h"

#define KV_DIRECT_OPS_MAX 256
/* Longer keys are invalid anyway (kv_key.h: 480 bytes): the json-c path says so. */
#define KV_DIRECT_KEY_MAX 1023

struct kv_direct_call {
	bool write;		/* Set or Batch: w to run; else a Get or Exists of key */
	bool exists;		/* an Exists */
	struct kv_rpc_write *w; /* its keys and values copied: the text may go */
	char key[KV_DIRECT_KEY_MAX + 1];
};

/* The message text[0, len) (its NUL not included). 0 with *call set (a write's w owned by
 * the caller: kv_rpc_write_finish() or kv_rpc_write_free()), -EAGAIN: not taken here,
 * -ENOMEM. */
int kv_direct_parse(const char *text, size_t len, struct kv_direct_call *call);

/* A Get's or Exists's reply text, NUL included, into *buf (grown as needed, *cap its
 * size). 0, or -EAGAIN when the answer is an error (the json-c path gives it: a read has
 * no effect, so it may run again), -ENOMEM. */
int kv_direct_read(const struct kv_rpc_store *st, const struct kv_direct_call *call,
		   char **buf, size_t *cap, size_t *len);

/* The reply text of a write that succeeded (NUL included in KV_DIRECT_OK_LEN). */
#define KV_DIRECT_OK "{\"parameters\":{}}"
#define KV_DIRECT_OK_LEN sizeof(KV_DIRECT_OK)

/* A whole call on its own (a write is a group of one), its reply or error text into *buf
 * as the RPC server would send it: 0, -EAGAIN (not taken: nothing done), -ENOMEM. For
 * tests and the fuzzer; the server splits it to commit writes in groups (rpc_kv.c). */
int kv_direct_call(const struct kv_rpc_store *st, const char *text, size_t len,
		   uint64_t now_ns, char **buf, size_t *cap, size_t *out_len);

#endif
