/* daemon/kv/kv_direct.c: io.ustack.KV's hot calls without json-c. Every call, generated
 * (valid and invalid: many keys, values of every byte, escapes, unicode, huge numbers,
 * repeated, missing, mistyped and extra fields, envelope flags), runs on two memory
 * stores with the same history: the direct path on one (the json-c path when it does not
 * take the call, as the server does), the json-c path on the other; the replies must be
 * the same bytes. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ipc/base64.h"
#include "tests/kv_direct_ref.h"

#define NOW_NS 1500000000123456789ull

static struct kv *kv_fast, *kv_slow;
static struct kv_rpc_store st_fast, st_slow;
static unsigned taken, declined;

static void setup(void)
{
	struct kv_limits lim;

	kv_limits_default(&lim);
	lim.max_value_bytes = 64;
	ck_assert_int_eq(kv_open_memory(&lim, &kv_fast), 0);
	ck_assert_int_eq(kv_open_memory(&lim, &kv_slow), 0);
	st_fast = (struct kv_rpc_store){ kv_fast, NULL, lim.map_size_bytes, lim.max_value_bytes,
					 48 };
	st_slow = st_fast;
	st_slow.kv = kv_slow;
	taken = declined = 0;
}

static void teardown(void)
{
	kv_close(kv_fast);
	kv_close(kv_slow);
}

/* Runs text both ways; returns whether the direct path took it. */
static bool both(const char *text)
{
	char *fast = NULL, *slow;
	size_t cap = 0, flen = 0, slen;
	int r = kv_direct_call(&st_fast, text, strlen(text), NOW_NS, &fast, &cap, &flen);

	ck_assert_msg(r == 0 || r == -EAGAIN, "%s: %d", text, r);
	if (r == -EAGAIN) {
		declined++;
		ck_assert_int_eq(ref_call(&st_fast, text, strlen(text), NOW_NS, &fast, &flen), 0);
	} else {
		taken++;
	}
	ck_assert_int_eq(ref_call(&st_slow, text, strlen(text), NOW_NS, &slow, &slen), 0);
	ck_assert_msg(flen == slen && memcmp(fast, slow, slen) == 0,
		      "%s:\n direct %.*s\n json-c %.*s", text, (int)flen, fast, (int)slen, slow);
	free(fast);
	free(slow);
	return r == 0;
}

/* The plain calls clients send are taken, and answered as json-c answers them. */
START_TEST(test_taken)
{
	static const char *const calls[] = {
		"{\"method\":\"io.ustack.KV.Set\",\"parameters\":{\"key\":\"/a/b\",\"value\":\"Zm9v\"}}",
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"/a/b\"}}",
		"{ \"method\" : \"io.ustack.KV.Set\" , \"parameters\" : { \"value\" : \"\" ,"
		" \"key\" : \"/e\" } }\n",
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"/e\"}}",
		"{\"method\":\"io.ustack.KV.Batch\",\"parameters\":{\"operations\":["
		"{\"op\":\"set\",\"key\":\"/c\",\"value\":\"AAEC\"},"
		"{\"key\":\"/a/b\",\"op\":\"remove\"}]}}",
		/* store errors: the json-c path's words, with the batch index */
		"{\"method\":\"io.ustack.KV.Set\",\"parameters\":{\"key\":\"/c/d\",\"value\":\"\"}}",
		"{\"method\":\"io.ustack.KV.Set\",\"parameters\":{\"key\":\"bad\",\"value\":\"\"}}",
		"{\"method\":\"io.ustack.KV.Batch\",\"parameters\":{\"operations\":["
		"{\"op\":\"set\",\"key\":\"/f\",\"value\":\"AAEC\"},"
		"{\"op\":\"remove\",\"key\":\"/nothing\"}]}}",
		"{\"method\":\"io.ustack.KV.Set\",\"parameters\":{\"key\":\"/big\",\"value\":"
		"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"AAAAAAAAAAAAAAAA\"}}",
		"{\"method\":\"io.ustack.KV.Set\",\"parameters\":{\"key\":\"/c\",\"value\":\"\"}}",
		"{\"method\":\"io.ustack.KV.Exists\",\"parameters\":{\"key\":\"/c\"}}",
		"{\"method\":\"io.ustack.KV.Exists\",\"parameters\":{\"key\":\"/f\"}}",
		"{\"method\":\"io.ustack.KV.Exists\",\"parameters\":{\"key\":\"/\"}}",
		"{\"method\":\"io.ustack.KV.Exists\",\"parameters\":{\"key\":\"/nothing\"}}",
	};

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		ck_assert_msg(both(calls[i]), "not taken: %s", calls[i]);
}
END_TEST

/* Anything unusual goes the json-c way, which answers it as before. */
START_TEST(test_declined)
{
	static const char *const calls[] = {
		"{\"parameters\":{\"key\":\"/a\"},\"method\":\"io.ustack.KV.Get\"}",
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"/a\"},\"more\":true}",
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"/a\"},\"oneway\":true}",
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"/a\",\"x\":1}}",
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"/a\",\"key\":\"/b\"}}",
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"/\\u0061\"}}",
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"/\xc3\xa9\"}}",
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"/nothing\"}}",
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":12345678901234567890123}}",
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{}}",
		"{\"method\":\"io.ustack.KV.Get\"}",
		"{\"method\":\"io.ustack.KV.Set\",\"parameters\":{\"key\":\"/a\",\"value\":\"Zg=\"}}",
		"{\"method\":\"io.ustack.KV.Set\",\"parameters\":{\"key\":\"/a\",\"value\":null}}",
		"{\"method\":\"io.ustack.KV.Set\",\"parameters\":{\"key\":\"/a\"}}",
		"{\"method\":\"io.ustack.KV.Batch\",\"parameters\":{\"operations\":[]}}",
		"{\"method\":\"io.ustack.KV.Batch\",\"parameters\":{\"operations\":[{\"op\":\"rename\","
		"\"key\":\"/a\",\"dest\":\"/b\"}]}}",
		"{\"method\":\"io.ustack.KV.Batch\",\"parameters\":{\"operations\":[{\"op\":\"set\","
		"\"key\":\"/a\"}]}}",
		"{\"method\":\"io.ustack.KV.Batch\",\"parameters\":{\"operations\":[1]}}",
		"{\"method\":\"io.ustack.KV.Exists\",\"parameters\":{\"key\":\"bad\"}}",
		"{\"method\":\"io.ustack.KV.Size\",\"parameters\":{\"key\":\"/a\"}}",
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"/a\"}} x",
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"/a\"}",
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"/a\"},}",
	};

	both("{\"method\":\"io.ustack.KV.Set\",\"parameters\":{\"key\":\"/a\",\"value\":\"Zm9v\"}}");
	/* a value past max_reply_value_bytes (48): TooLarge */
	both("{\"method\":\"io.ustack.KV.Set\",\"parameters\":{\"key\":\"/l\",\"value\":"
	     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}}");
	ck_assert(!both("{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"/l\"}}"));
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		ck_assert_msg(!both(calls[i]), "taken: %s", calls[i]);
}
END_TEST

/* A byte the direct path leaves to json-c, at every position of a long key (its strings
 * are checked 8 bytes at a time): never taken; the same key without it: taken. */
START_TEST(test_odd_byte_anywhere)
{
	static const char odd[] = { '"', '\\', 0x01, 0x1f, 0x7f, (char)0x80, (char)0xc3, (char)0xff };
	struct kv_direct_call call;
	char text[128], key[41];

	for (size_t at = 1; at < sizeof(key) - 1; at++) {
		for (size_t k = 0; k < sizeof(odd); k++) {
			memset(key, 'a', sizeof(key) - 1);
			key[0] = '/';
			key[sizeof(key) - 1] = '\0';
			snprintf(text, sizeof(text),
				 "{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"%s\"}}",
				 key);
			ck_assert_int_eq(kv_direct_parse(text, strlen(text), &call), 0);
			ck_assert_str_eq(call.key, key);
			text[strlen(text) - 3 - (sizeof(key) - 1) + at] = odd[k];
			/* 0x7f (DEL) is plain JSON, and taken */
			ck_assert_int_eq(kv_direct_parse(text, strlen(text), &call),
					 odd[k] == 0x7f ? 0 : -EAGAIN);
		}
	}
}
END_TEST

static uint32_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state % n;
}

struct text {
	char buf[1 << 16];
	size_t len;
};

static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	ck_assert(n >= 0 && (size_t)n < sizeof(t->buf) - t->len);
	t->len += (size_t)n;
}

static void add_ws(struct text *t)
{
	static const char *const ws[] = { "", "", "", " ", "\n", "\t ", "\r\n" };

	add(t, "%s", ws[rnd(sizeof(ws) / sizeof(ws[0]))]);
}

/* A key: mostly a few valid ones (so that calls meet), sometimes anything. */
static void add_key(struct text *t)
{
	static const char *const keys[] = {
		"\"/a\"", "\"/a/b\"", "\"/b\"", "\"/c/d/e\"", "\"/k1\"", "\"/k2\"", "\"/\"",
		"\"a\"", "\"//x\"", "\"/a/../b\"", "\"/.\"", "\"/a\\/b\"", "\"/\\u00e9\"",
		"\"/\xc3\xa9\"", "\"/\\u0000\"", "\"/a\\\"b\"", "\"\"", "12", "null", "true",
		"[\"/a\"]", "{}", "123456789012345678901234567890", "-0", "1e3",
	};
	uint32_t k = rnd(60);

	if (k < sizeof(keys) / sizeof(keys[0]))
		add(t, "%s", keys[k]);
	else if (k < 58)
		add(t, "\"/k%u\"", k % 7);
	else
		add(t, "\"/%0*u\"", 300 + rnd(300), 7); /* long: past 480 bytes sometimes */
}

/* A value: base64 of bytes of every value, or not base64, or not a string. */
static void add_value(struct text *t)
{
	static const char *const odd[] = { "\"Zg=\"", "\"Zh==\"", "\"Zm9v\\n\"", "\"Zm9\\u0076\"",
					   "null", "0", "{}", "[]", "\"=\"", "99999999999999999999" };
	uint8_t v[80];
	char b64[120];
	size_t n = rnd(80);

	if (rnd(10) == 0) {
		add(t, "%s", odd[rnd(sizeof(odd) / sizeof(odd[0]))]);
		return;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = (uint8_t)rnd(256);
	base64_encode(v, n, b64);
	add(t, "\"%s\"", b64);
}

/* An object of params: the names wanted, sometimes one missing, repeated or extra. */
static void add_members(struct text *t, const char *const *names, size_t n)
{
	bool first = true;

	add(t, "{");
	for (size_t i = 0; i < n + 1; i++) {
		const char *name = i < n ? names[i] : NULL;
		uint32_t odd = rnd(40);

		if (!name && odd > 2)
			break;
		if (!name)
			name = odd == 0 ? "extra" : odd == 1 ? names[0] : "value";
		else if (odd == 0)
			continue; /* missing */
		add(t, "%s", first ? "" : ",");
		first = false;
		add_ws(t);
		add(t, "\"%s\"", name);
		add_ws(t);
		add(t, ":");
		add_ws(t);
		if (strcmp(name, "op") == 0)
			add(t, "%s", rnd(8) == 0 ? "\"rename\"" : rnd(3) == 0 ? "\"remove\"" : "\"set\"");
		else if (strcmp(name, "value") == 0)
			add_value(t);
		else if (strcmp(name, "extra") == 0)
			add(t, "%s", rnd(2) ? "1" : "[true,null]");
		else
			add_key(t);
		add_ws(t);
	}
	add(t, "}");
}

static void gen_call(struct text *t)
{
	static const char *const get[] = { "key" }, *const set[] = { "key", "value" },
				 *const op[] = { "op", "key", "value" }, *const rm[] = { "op", "key" };
	static const char *const methods[] = { "Get", "Set", "Batch", "Get", "Set", "Batch",
					       "Exists", "Remove" };
	const char *m = methods[rnd(sizeof(methods) / sizeof(methods[0]))];
	uint32_t env = rnd(30);

	t->len = 0;
	add(t, "{");
	add_ws(t);
	if (env == 0)
		add(t, "\"oneway\":true,");
	add(t, "\"method\":");
	add_ws(t);
	add(t, "\"io.ustack.KV.%s\",", m);
	add_ws(t);
	if (env == 1)
		add(t, "\"more\":false,");
	add(t, "\"parameters\":");
	if (strcmp(m, "Batch") == 0) {
		size_t n = rnd(12);

		add(t, "{\"operations\":[");
		for (size_t i = 0; i < n; i++) {
			add(t, "%s", i ? "," : "");
			add_ws(t);
			if (rnd(30) == 0)
				add(t, "\"set\"");
			else if (rnd(3) == 0)
				add_members(t, rm, 2);
			else
				add_members(t, op, 3);
		}
		add(t, "]}");
	} else {
		add_members(t, strcmp(m, "Set") == 0 ? set : get, strcmp(m, "Set") == 0 ? 2 : 1);
	}
	add_ws(t);
	if (env == 2)
		add(t, ",\"method\":\"io.ustack.KV.Get\"");
	add(t, "}");
	add_ws(t);
}

START_TEST(test_generated)
{
	static struct text t;

	rnd_state = 0x9e3779b9u + (uint32_t)_i;
	for (int i = 0; i < 20000; i++) {
		gen_call(&t);
		t.buf[t.len] = '\0';
		both(t.buf);
	}
	/* both kinds were met often: the comparison was not empty */
	ck_assert_msg(taken > 2000 && declined > 2000, "taken %u, declined %u", taken, declined);
}
END_TEST

static Suite *kv_direct_suite(void)
{
	Suite *s = suite_create("kv_direct");
	TCase *tc = tcase_create("io.ustack.KV direct");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_taken);
	tcase_add_test(tc, test_declined);
	tcase_add_test(tc, test_odd_byte_anywhere);
	tcase_add_loop_test(tc, test_generated, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(kv_direct_suite());
}
