/* libFuzzer target: the varlink codec (ipc/varlink.c), what the daemon runs on every byte a
 * client sends.
 *
 * The input is a byte stream cut into reads: the first byte picks the read size (1..256),
 * so that messages split across reads and several per read are both covered. Every whole
 * message is checked as a call and as a reply, its typed parameters read, and an error
 * reply built and framed for it, as the server does. Nothing may crash, overflow, leak or
 * hang. A small message limit (4 KiB) makes the oversize path reachable. The input's text
 * is also parsed by the lean parser (ipc/varlink_json.h) and, when it takes it, by json-c,
 * which must agree. When the first byte is odd, every message is also looked at unparsed
 * first (varlink_reader_peek(), the server's direct KV path) and, when its bit 1 is set,
 * taken unparsed (varlink_reader_skip()). Seeds:
 * tests/fuzz/corpus/varlink. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/varlink.h"
#include "ipc/varlink_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_message(struct json_object *msg)
{
	struct varlink_call call;
	struct varlink_reply reply;
	struct json_object *out, *o;
	const char *bad = NULL, *s;
	int64_t n;
	bool b;
	size_t len;

	if (varlink_call_decode(msg, &call, &bad) == 0) {
		(void)varlink_get_int(call.params, "count", 0, 1000, &n);
		(void)varlink_get_bool(call.params, "nodelay", &b);
		(void)varlink_get_string(call.params, "address", &s);
		if (varlink_get_object(call.params, "remote", &o) == 0)
			(void)varlink_get_int(o, "port", 0, 65535, &n);
		out = varlink_reply_new(json_object_get(call.params), call.more);
	} else {
		out = varlink_error_new("org.varlink.service.InvalidParameter",
					json_object_new_object());
		if (out && bad)
			json_object_object_add(json_object_object_get(out, "parameters"),
					       "parameter", json_object_new_string(bad));
	}
	if (out) {
		s = varlink_msg_text(out, &len);
		if (s && (len == 0 || s[len - 1] != '\0' || strlen(s) != len - 1))
			__builtin_trap(); /* the frame must be one NUL-terminated text */
		json_object_put(out);
	}
	if (varlink_reply_decode(msg, &reply, &bad) == 0 && reply.error)
		(void)varlink_errno_from_name(reply.error);
}

/* The lean parser against json-c: whatever it takes (the input's text up to its first
 * NUL), json-c's strict tokener must parse, whole, to an equal object. */
static void fz_fast_parser(const uint8_t *data, size_t size)
{
	size_t len = strnlen((const char *)data, size);
	char *text = malloc(len + 1);
	struct json_object *fast, *slow = NULL;
	struct json_tokener *tok;

	if (!text)
		return;
	memcpy(text, data, len);
	text[len] = '\0';
	if (varlink_json_parse_fast(text, len, &fast) != 0) {
		free(text);
		return;
	}
	tok = json_tokener_new();
	if (tok) {
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		slow = json_tokener_parse_ex(tok, text, (int)len + 1);
		if (json_tokener_get_error(tok) != json_tokener_success)
			__builtin_trap(); /* taken by the lean parser, refused by json-c */
		if (!json_object_equal(fast, slow))
			__builtin_trap();
		json_tokener_free(tok);
	}
	json_object_put(slow);
	json_object_put(fast);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct varlink_reader r;
	size_t chunk, off = 1;

	if (size == 0)
		return 0;
	fz_fast_parser(data + 1, size - 1);
	chunk = (size_t)data[0] + 1;
	varlink_reader_init(&r, 4096);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		struct json_object *msg;
		int err;

		if (varlink_reader_feed(&r, data + off, n, NULL, 0) < 0)
			break;
		off += n;
		while (1) {
			const char *text;
			size_t tlen;

			if ((data[0] & 1) && varlink_reader_peek(&r, &text, &tlen) == 1) {
				if (text[tlen] != '\0' || memchr(text, '\0', tlen) || tlen > 4096)
					__builtin_trap(); /* one whole message, its NUL after it */
				if (data[0] & 2) {
					varlink_reader_skip(&r);
					continue;
				}
			}
			err = varlink_reader_next(&r, &msg);
			if (err == 0)
				break;
			if (err == -EMSGSIZE || err == -ENOMEM)
				goto out;
			if (err == 1) {
				fz_message(msg);
				json_object_put(msg);
			}
		}
	}
out:
	varlink_reader_fini(&r);
	return 0;
}
