/* libFuzzer target: io.ustack.KV as a client drives it (daemon/kv/kv_rpc.c over the
 * memory store, the store of daemon/kv/ and ipc/base64.c).
 *
 * The input is one call per line: the member name, a space, the parameters as JSON
 * ("Set {\"key\": \"/a\", \"value\": \"eA==\"}"). Each line runs on one store that lives
 * for the whole input, with small limits (64 KiB map, 1 KiB values) so that no_space is
 * reached; lines that are not JSON objects still go in as {}, so every method's parameter
 * checks are fuzzed too. Nothing may crash, leak or corrupt the store: after the input, "/"
 * must still answer digest, size and list, and a reply must be either a reply or an error
 * of the interface. Each line also goes as a whole varlink message ({"method":
 * "io.ustack.KV.<member>", "parameters": <the rest of the line, as it is>}) to two more
 * stores: the direct path (daemon/kv/kv_direct.c, the json-c path when it declines) on one,
 * the json-c path on the other; their replies must be the same bytes.
 * Seeds: tests/fuzz/corpus/kv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kv/kv_rpc.h"
#include "tests/kv_direct_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The line as a message, through the direct path on st[0] and json-c's on st[1]. */
static void fz_direct(const struct kv_rpc_store st[2], const char *member, const char *params)
{
	char *msg, *fast = NULL, *slow = NULL;
	size_t len, cap = 0, flen = 0, slen = 0;
	int r;

	len = strlen(member) + strlen(params) + 64;
	msg = malloc(len);
	if (!msg)
		abort();
	len = (size_t)snprintf(msg, len, "{\"method\":\"io.ustack.KV.%s\",\"parameters\":%s}",
			       member, params);
	r = kv_direct_call(&st[0], msg, len, 1000000000ull, &fast, &cap, &flen);
	if (r == -EAGAIN)
		r = ref_call(&st[0], msg, len, 1000000000ull, &fast, &flen);
	if (r < 0 || ref_call(&st[1], msg, len, 1000000000ull, &slow, &slen) < 0)
		abort();
	if (flen != slen || memcmp(fast, slow, slen) != 0)
		abort(); /* the direct path answered otherwise */
	free(fast);
	free(slow);
	free(msg);
}

static void fz_line(const struct kv_rpc_store *st, const struct kv_rpc_store direct[2],
		    const char *line)
{
	struct kv_rpc_result res;
	struct json_object *params = NULL;
	const char *sp = strchr(line, ' ');
	char member[32];
	size_t mlen = sp ? (size_t)(sp - line) : strlen(line);

	if (mlen >= sizeof(member))
		return;
	memcpy(member, line, mlen);
	member[mlen] = '\0';
	if (sp) {
		params = json_tokener_parse(sp + 1);
		fz_direct(direct, member, sp + 1);
	}
	if (!params)
		params = json_object_new_object();
	if (!params)
		abort();
	if (kv_rpc_call(st, member, params, true, 1000000000ull, &res) == 0) {
		if (!res.params)
			abort(); /* every result has parameters, {} at least */
		if (res.error && strncmp(res.error, "io.ustack.KV.", 13) != 0 &&
		    strncmp(res.error, "org.varlink.service.", 20) != 0)
			abort();
		json_object_put(res.params);
	}
	json_object_put(params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_limits lim = { .map_size_bytes = 64 << 10, .max_value_bytes = 1 << 10 };
	struct kv_rpc_store st, direct[2];
	struct kv *dkv[2];
	struct kv_entry *e;
	uint8_t digest[KV_DIGEST_BYTES];
	uint64_t total;
	char *text;
	size_t n;
	struct kv *kv;

	if (kv_open_memory(&lim, &kv) < 0)
		abort();
	st = (struct kv_rpc_store){ kv, NULL, lim.map_size_bytes, lim.max_value_bytes };
	for (int i = 0; i < 2; i++) {
		if (kv_open_memory(&lim, &dkv[i]) < 0)
			abort();
		direct[i] = (struct kv_rpc_store){ dkv[i], NULL, lim.map_size_bytes,
						   lim.max_value_bytes, 512 };
	}
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0'; /* a NUL inside ends the input early: still a string */
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		fz_line(&st, direct, line);
	}
	free(text);
	if (kv_digest(kv, "/", digest) < 0 || kv_size(kv, "/", &total) < 0 ||
	    kv_list(kv, "/", &e, &n) < 0)
		abort();
	kv_entries_free(e, n);
	kv_close(kv);
	kv_close(dkv[0]);
	kv_close(dkv[1]);
	return 0;
}
