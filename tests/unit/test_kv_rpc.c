/* daemon/kv/kv_rpc.c: io.ustack.KV over json-c, on the memory store, and ipc/base64.c.
 * Each method's reply, the interface's errors with their key, reason and batch index,
 * parameter checking, and the write permission. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kv/kv_rpc.h"
#include "harness.h"
#include "ipc/base64.h"

static struct kv *kv;
static struct kv_rpc_store st;
static struct kv_rpc_result res;

static void setup(void)
{
	struct kv_limits lim;

	kv_limits_default(&lim);
	lim.max_value_bytes = 64;
	ck_assert_int_eq(kv_open_memory(&lim, &kv), 0);
	st = (struct kv_rpc_store){ kv, NULL, lim.map_size_bytes, lim.max_value_bytes };
	res = (struct kv_rpc_result){ 0 };
}

static void teardown(void)
{
	json_object_put(res.params);
	kv_close(kv);
}

/* Runs member with the JSON parameters; the result is in res. */
static void call(const char *member, const char *json, bool may_write)
{
	struct json_object *p = json_tokener_parse(json);

	ck_assert_msg(p != NULL, "bad test JSON: %s", json);
	json_object_put(res.params);
	ck_assert_int_eq(kv_rpc_call(&st, member, p, may_write, 1500000000123456789ull, &res), 0);
	json_object_put(p);
}

static const char *field(const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(res.params, name, &v))
		return NULL;
	return json_object_get_string(v);
}

static void assert_ok(const char *member, const char *json)
{
	call(member, json, true);
	ck_assert_msg(res.error == NULL, "%s %s: %s %s", member, json, res.error,
		      json_object_to_json_string(res.params));
}

static void assert_error(const char *member, const char *json, const char *error,
			 const char *key)
{
	call(member, json, true);
	ck_assert_msg(res.error && strcmp(res.error, error) == 0, "%s %s: got %s, not %s",
		      member, json, res.error ? res.error : "a reply", error);
	if (key)
		ck_assert_str_eq(field("key"), key);
}

START_TEST(test_base64)
{
	static const struct {
		const char *plain, *b64;
	} v[] = { /* RFC 4648 §10 */
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[] = { "Zg=", "Zg", "Zh==", "Zm9=", "Z===", "Zg=a", "Zm9v\n",
					   "Zm 9", "Zm9v====", "=Zg=", "Zm*vYmFy", "Zm9v\xc3\xa9" "Fy",
					   "Zm9=Zm9v", "Zm9vYmF\x01" };
	char enc[16];
	uint8_t dec[16], all[256];
	char big[base64_encoded_len(256) + 1];
	size_t n;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		base64_encode((const uint8_t *)v[i].plain, strlen(v[i].plain), enc);
		ck_assert_str_eq(enc, v[i].b64);
		ck_assert_int_eq(base64_decode(v[i].b64, strlen(v[i].b64), dec, &n), 0);
		ck_assert_uint_eq(n, strlen(v[i].plain));
		ck_assert_mem_eq(dec, v[i].plain, n);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(base64_decode(bad[i], strlen(bad[i]), dec, &n) == -EINVAL,
			      "accepted '%s'", bad[i]);
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	base64_encode(all, 256, big);
	{
		uint8_t back[256 + 2];

		ck_assert_int_eq(base64_decode(big, strlen(big), back, &n), 0);
		ck_assert_uint_eq(n, 256);
		ck_assert_mem_eq(back, all, 256);
	}
}
END_TEST

START_TEST(test_reads_and_writes)
{
	struct json_object *entries, *e;

	assert_ok("Set", "{\"key\": \"/a/b\", \"value\": \"aGVsbG8=\"}"); /* "hello" */
	assert_ok("Get", "{\"key\": \"/a/b\"}");
	ck_assert_str_eq(field("value"), "aGVsbG8=");
	assert_ok("GetPartial", "{\"key\": \"/a/b\", \"offset\": 1, \"length\": 3}");
	ck_assert_str_eq(field("value"), "ZWxs"); /* "ell" */
	assert_ok("Exists", "{\"key\": \"/a\"}");
	ck_assert_str_eq(field("kind"), "dictionary");
	assert_ok("Exists", "{\"key\": \"/nope\"}");
	ck_assert_ptr_null(field("kind"));
	assert_ok("Size", "{\"key\": \"/a/b\"}");
	ck_assert_str_eq(field("size"), "5");
	assert_ok("Digest", "{\"key\": \"/a/b\"}"); /* sha256sum of "hello" */
	ck_assert_str_eq(field("digest"),
			 "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	assert_ok("LastModified", "{\"key\": \"/a/b\"}");
	ck_assert_str_eq(field("seconds"), "1500000000");
	ck_assert_str_eq(field("nanoseconds"), "123456789");
	assert_ok("SetPartial", "{\"key\": \"/a/c\", \"offset\": 2, \"value\": \"eA==\"}");
	assert_ok("Get", "{\"key\": \"/a/c\"}");
	ck_assert_str_eq(field("value"), "AAB4"); /* 00 00 'x' */
	assert_ok("List", "{\"key\": \"/a\"}");
	ck_assert(json_object_object_get_ex(res.params, "entries", &entries));
	ck_assert_uint_eq(json_object_array_length(entries), 2);
	e = json_object_array_get_idx(entries, 1);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(e, "name")), "c");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(e, "kind")), "value");
	assert_ok("Rename", "{\"source\": \"/a/c\", \"dest\": \"/d\"}");
	assert_ok("Remove", "{\"key\": \"/a\"}");
	assert_ok("Exists", "{\"key\": \"/a/b\"}");
	ck_assert_ptr_null(field("kind"));
	assert_ok("Info", "{}");
	ck_assert_str_eq(field("backend"), "memory");
	ck_assert_str_eq(field("max_value"), "64");
	ck_assert_ptr_null(field("path"));
}
END_TEST

START_TEST(test_errors)
{
	assert_ok("Set", "{\"key\": \"/v\", \"value\": \"\"}");
	assert_error("Get", "{\"key\": \"/x\"}", "io.ustack.KV.NotFound", "/x");
	assert_error("Get", "{\"key\": \"/\"}", "io.ustack.KV.ValueExpected", "/");
	assert_error("List", "{\"key\": \"/v\"}", "io.ustack.KV.DictionaryExpected", "/v");
	assert_error("Set", "{\"key\": \"/v/w\", \"value\": \"\"}",
		     "io.ustack.KV.DictionaryExpected", "/v/w");
	assert_error("Set", "{\"key\": \"/big\", \"value\": \""
			    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
		     "io.ustack.KV.NoSpace", "/big"); /* 66 bytes > 64 */
	ck_assert_str_eq(field("reason"), "value_too_large");
	assert_error("Get", "{\"key\": \"/a//b\"}", "io.ustack.KV.InvalidKey", "/a//b");
	ck_assert_str_eq(field("reason"), "empty segment in a key");
	/* Rename: the source when it is missing, else the destination. */
	assert_error("Rename", "{\"source\": \"/x\", \"dest\": \"/y\"}", "io.ustack.KV.NotFound",
		     "/x");
	assert_ok("Set", "{\"key\": \"/d1/sub/x\", \"value\": \"\"}");
	assert_ok("Set", "{\"key\": \"/sub/y\", \"value\": \"\"}");
	assert_error("Rename", "{\"source\": \"/sub\", \"dest\": \"/d1\"}",
		     "io.ustack.KV.AlreadyPresent", "/d1");
	assert_error("Rename", "{\"source\": \"/sub\", \"dest\": \"/sub/in\"}",
		     "io.ustack.KV.InvalidKey", "/sub");
	ck_assert_ptr_nonnull(strstr(field("reason"), "into itself"));
	assert_error("Rename", "{\"source\": \"/sub\", \"dest\": \"/..\"}",
		     "io.ustack.KV.InvalidKey", "/..");
}
END_TEST

START_TEST(test_parameters_and_permission)
{
	assert_error("Get", "{}", "org.varlink.service.InvalidParameter", NULL);
	ck_assert_str_eq(field("parameter"), "key");
	assert_error("Get", "{\"key\": 5}", "org.varlink.service.InvalidParameter", NULL);
	assert_error("Set", "{\"key\": \"/k\", \"value\": \"not base64!\"}",
		     "org.varlink.service.InvalidParameter", NULL);
	ck_assert_str_eq(field("parameter"), "value");
	assert_error("GetPartial", "{\"key\": \"/k\", \"offset\": -1, \"length\": 1}",
		     "org.varlink.service.InvalidParameter", NULL);
	ck_assert_str_eq(field("parameter"), "offset");
	assert_error("Rename", "{\"source\": \"/k\"}", "org.varlink.service.InvalidParameter",
		     NULL);
	ck_assert_str_eq(field("parameter"), "dest");
	assert_error("Get", "{\"key\": \"/a\\u0000b\"}", "org.varlink.service.InvalidParameter",
		     NULL);
	call("Set", "{\"key\": \"/k\", \"value\": \"\"}", false);
	ck_assert_str_eq(res.error, "org.varlink.service.PermissionDenied");
	call("Get", "{\"key\": \"/k\"}", false); /* reads are open */
	ck_assert_str_eq(res.error, "io.ustack.KV.NotFound");
	{
		struct json_object *p = json_object_new_object();

		json_object_put(res.params);
		ck_assert_int_eq(kv_rpc_call(&st, "Frobnicate", p, true, 0, &res), -ENOENT);
		json_object_put(p);
	}
}
END_TEST

START_TEST(test_batch)
{
	assert_ok("Batch", "{\"operations\": ["
			   "{\"op\": \"set\", \"key\": \"/b/1\", \"value\": \"MQ==\"},"
			   "{\"op\": \"set_partial\", \"key\": \"/b/1\", \"offset\": 1, \"value\": \"Mg==\"},"
			   "{\"op\": \"rename\", \"key\": \"/b/1\", \"dest\": \"/b/2\"},"
			   "{\"op\": \"set\", \"key\": \"/b/3\", \"value\": \"Mw==\"}]}");
	assert_ok("Get", "{\"key\": \"/b/2\"}");
	ck_assert_str_eq(field("value"), "MTI="); /* "12" */
	assert_ok("Get", "{\"key\": \"/b/3\"}"); /* each value decoded in its own place */
	ck_assert_str_eq(field("value"), "Mw==");
	assert_error("Batch", "{\"operations\": ["
			      "{\"op\": \"remove\", \"key\": \"/b\"},"
			      "{\"op\": \"set\", \"key\": \"/c\", \"value\": \"\"},"
			      "{\"op\": \"remove\", \"key\": \"/nothing\"}]}",
		     "io.ustack.KV.NotFound", "/nothing");
	ck_assert_str_eq(field("index"), "2");
	assert_ok("Exists", "{\"key\": \"/b/3\"}"); /* the batch left nothing behind */
	ck_assert_str_eq(field("kind"), "value");
	assert_ok("Exists", "{\"key\": \"/c\"}");
	ck_assert_ptr_null(field("kind"));
	assert_error("Batch", "{\"operations\": [{\"op\": \"remove\", \"key\": \"/b\"},"
			      "{\"op\": \"explode\", \"key\": \"/b\"}]}",
		     "org.varlink.service.InvalidParameter", NULL);
	ck_assert_str_eq(field("parameter"), "operations[1].op");
	assert_error("Batch", "{\"operations\": [{\"op\": \"set\", \"key\": \"/b\"}]}",
		     "org.varlink.service.InvalidParameter", NULL);
	ck_assert_str_eq(field("parameter"), "operations[0].value");
	assert_error("Batch", "{\"operations\": {}}", "org.varlink.service.InvalidParameter",
		     NULL);
	assert_ok("Batch", "{\"operations\": []}");
	assert_ok("Exists", "{\"key\": \"/b/3\"}");
	ck_assert_str_eq(field("kind"), "value");
}
END_TEST

/* A value (or slice) larger than one reply carries: TooLarge with its size and the limit,
 * nothing encoded; what fits is read. */
START_TEST(test_too_large)
{
	st.max_reply_value_bytes = 4;
	assert_ok("Set", "{\"key\": \"/v\", \"value\": \"aGVsbG8=\"}"); /* "hello" */
	assert_error("Get", "{\"key\": \"/v\"}", "io.ustack.KV.TooLarge", "/v");
	ck_assert_str_eq(field("size"), "5");
	ck_assert_str_eq(field("max_bytes"), "4");
	assert_error("GetPartial", "{\"key\": \"/v\", \"offset\": 0, \"length\": 9}",
		     "io.ustack.KV.TooLarge", "/v");
	assert_ok("GetPartial", "{\"key\": \"/v\", \"offset\": 1, \"length\": 9}");
	ck_assert_str_eq(field("value"), "ZWxsbw=="); /* "ello" */
	assert_ok("Set", "{\"key\": \"/w\", \"value\": \"aGVsbA==\"}"); /* "hell" */
	assert_ok("Get", "{\"key\": \"/w\"}");
	ck_assert_str_eq(field("value"), "aGVsbA==");
}
END_TEST

/* The server's group commit: write calls parsed, run in one kv_group_commit(), answered. */
START_TEST(test_group_commit)
{
	static const char *const calls[][2] = {
		{ "Set", "{\"key\": \"/g/a\", \"value\": \"YQ==\"}" },
		{ "Set", "{\"key\": \"/g/a/x\", \"value\": \"\"}" }, /* /g/a is a value */
		{ "Batch", "{\"operations\": [{\"op\": \"set\", \"key\": \"/g/b\", \"value\": \"Yg==\"},"
			   "{\"op\": \"remove\", \"key\": \"/none\"}]}" },
		{ "Rename", "{\"source\": \"/g/a\", \"dest\": \"/h\"}" },
	};
	struct json_object *params[4];
	struct kv_rpc_write *w[4];
	struct kv_batch_req reqs[4];
	struct kv_rpc_result r;

	for (int i = 0; i < 4; i++) {
		params[i] = json_tokener_parse(calls[i][1]);
		ck_assert_int_eq(kv_rpc_write_parse(calls[i][0], params[i], true, &w[i], &r), 0);
		reqs[i] = w[i]->req;
	}
	ck_assert_int_eq(kv_group_commit(kv, reqs, 4, 7000000000ull), 0);
	for (int i = 0; i < 4; i++)
		w[i]->req = reqs[i];
	ck_assert_int_eq(kv_rpc_write_finish(w[0], 0, &r), 0);
	ck_assert_ptr_null(r.error);
	json_object_put(r.params);
	ck_assert_int_eq(kv_rpc_write_finish(w[1], 0, &r), 0);
	ck_assert_str_eq(r.error, "io.ustack.KV.DictionaryExpected");
	json_object_put(r.params);
	ck_assert_int_eq(kv_rpc_write_finish(w[2], 0, &r), 0);
	ck_assert_str_eq(r.error, "io.ustack.KV.NotFound");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(r.params, "index")), "1");
	json_object_put(r.params);
	ck_assert_int_eq(kv_rpc_write_finish(w[3], 0, &r), 0);
	ck_assert_ptr_null(r.error);
	json_object_put(r.params);
	for (int i = 0; i < 4; i++)
		json_object_put(params[i]);
	assert_ok("Get", "{\"key\": \"/h\"}");
	ck_assert_str_eq(field("value"), "YQ==");
	assert_ok("Exists", "{\"key\": \"/g/b\"}"); /* the failed batch left nothing */
	ck_assert_ptr_null(field("kind"));
	/* What parsing answers itself, and what is not a write. */
	params[0] = json_tokener_parse("{\"key\": \"/k\"}");
	ck_assert_int_eq(kv_rpc_write_parse("Set", params[0], true, &w[0], &r), 1);
	ck_assert_str_eq(r.error, "org.varlink.service.InvalidParameter");
	json_object_put(r.params);
	ck_assert_int_eq(kv_rpc_write_parse("Remove", params[0], false, &w[0], &r), 1);
	ck_assert_str_eq(r.error, "org.varlink.service.PermissionDenied");
	json_object_put(r.params);
	ck_assert_int_eq(kv_rpc_write_parse("Get", params[0], true, &w[0], &r), -ENOENT);
	/* A failed group commit fails every call in it. */
	ck_assert_int_eq(kv_rpc_write_parse("Remove", params[0], true, &w[0], &r), 0);
	ck_assert_int_eq(kv_rpc_write_finish(w[0], -EIO, &r), 0);
	ck_assert_str_eq(r.error, "io.ustack.KV.StorageError");
	json_object_put(r.params);
	json_object_put(params[0]);
}
END_TEST

static Suite *kv_rpc_suite(void)
{
	Suite *s = suite_create("kv_rpc");
	TCase *tc = tcase_create("io.ustack.KV");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_base64);
	tcase_add_test(tc, test_reads_and_writes);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_parameters_and_permission);
	tcase_add_test(tc, test_batch);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_group_commit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(kv_rpc_suite());
}
