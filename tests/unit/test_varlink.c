/* The varlink codec (ipc/varlink.c) and fd passing (ipc/fdpass.c): framing across and
 * within reads, the size limit, bad JSON and non-objects, call and reply envelopes, the
 * builders, errno names, typed parameters, and fds riding with their message. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/fdpass.h"
#include "ipc/varlink.h"
#include "ipc/varlink_json.h"

/* Open fds of this process, to show that nothing leaks. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void feed_str(struct varlink_reader *r, const char *s, size_t len)
{
	ck_assert_int_eq(varlink_reader_feed(r, s, len, NULL, 0), 0);
}

/* The next message must be an object whose "method" is `method`. */
static void expect_method(struct varlink_reader *r, const char *method)
{
	struct json_object *m = NULL, *v;

	ck_assert_int_eq(varlink_reader_next(r, &m), 1);
	ck_assert(json_object_object_get_ex(m, "method", &v));
	ck_assert_str_eq(json_object_get_string(v), method);
	json_object_put(m);
}

START_TEST(split_across_reads)
{
	static const char msg[] = "{\"method\":\"io.ustack.Stack.Status\"}";
	struct varlink_reader r;
	struct json_object *m = NULL;

	varlink_reader_init(&r, 0);
	for (size_t i = 0; i < sizeof(msg) - 1; i++) {
		feed_str(&r, msg + i, 1);
		ck_assert_int_eq(varlink_reader_next(&r, &m), 0);
	}
	ck_assert_uint_eq(varlink_reader_pending(&r), sizeof(msg) - 1);
	feed_str(&r, "", 1); /* the NUL */
	expect_method(&r, "io.ustack.Stack.Status");
	ck_assert_int_eq(varlink_reader_next(&r, &m), 0);
	ck_assert_uint_eq(varlink_reader_pending(&r), 0);
	varlink_reader_fini(&r);
}
END_TEST

START_TEST(several_per_read)
{
	static const char two[] = "{\"method\":\"a.B\"}\0{\"method\":\"c.D\"}\0{\"meth";
	struct varlink_reader r;
	struct json_object *m = NULL;

	varlink_reader_init(&r, 0);
	feed_str(&r, two, sizeof(two) - 1);
	expect_method(&r, "a.B");
	expect_method(&r, "c.D");
	ck_assert_int_eq(varlink_reader_next(&r, &m), 0);
	feed_str(&r, "od\":\"e.F\"}", 10);
	ck_assert_int_eq(varlink_reader_next(&r, &m), 0);
	feed_str(&r, "\0{\"method\":\"g.H\"}\0", 18);
	expect_method(&r, "e.F");
	expect_method(&r, "g.H");
	ck_assert_int_eq(varlink_reader_next(&r, &m), 0);
	varlink_reader_fini(&r);
}
END_TEST

START_TEST(many_messages_compact)
{
	/* The buffer is reused: thousands of messages through small reads stay bounded. */
	static const char msg[] = "{\"method\":\"io.ustack.Stack.Stats\",\"parameters\":{}}";
	struct varlink_reader r;

	varlink_reader_init(&r, 64);
	for (int i = 0; i < 5000; i++) {
		feed_str(&r, msg, sizeof(msg)); /* with its NUL */
		expect_method(&r, "io.ustack.Stack.Stats");
	}
	ck_assert_uint_le(r.cap, 4096);
	varlink_reader_fini(&r);
}
END_TEST

START_TEST(size_limit)
{
	struct varlink_reader r;
	struct json_object *m = NULL;
	char big[200];

	/* exactly the limit: accepted */
	varlink_reader_init(&r, 20);
	feed_str(&r, "{\"a\":\"0123456789ab\"}", 21);
	ck_assert_int_eq(varlink_reader_next(&r, &m), 1);
	json_object_put(m);
	varlink_reader_fini(&r);

	/* one more, NUL seen: refused, and the stream stays failed */
	varlink_reader_init(&r, 20);
	feed_str(&r, "{\"a\":\"0123456789abc\"}", 22);
	ck_assert_int_eq(varlink_reader_next(&r, &m), -EMSGSIZE);
	feed_str(&r, "{}", 3);
	ck_assert_int_eq(varlink_reader_next(&r, &m), -EMSGSIZE);
	varlink_reader_fini(&r);

	/* no NUL yet but already too long: refused before the end comes */
	varlink_reader_init(&r, 100);
	memset(big, ' ', sizeof(big));
	feed_str(&r, big, 100);
	ck_assert_int_eq(varlink_reader_next(&r, &m), 0);
	feed_str(&r, big, 1);
	ck_assert_int_eq(varlink_reader_next(&r, &m), -EMSGSIZE);
	varlink_reader_fini(&r);
}
END_TEST

START_TEST(bad_json_then_good)
{
	static const char *bad[] = { "{\"method\":", "{\"a\":1} x", "", "nul",
				     "{\"a\":1,}", "{\"a\" 1}", "\xff\xfe", "[[[[[[[[" };
	struct varlink_reader r;
	struct json_object *m = NULL;

	varlink_reader_init(&r, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		feed_str(&r, bad[i], strlen(bad[i]) + 1);
		ck_assert_msg(varlink_reader_next(&r, &m) == -EBADMSG, "accepted: %s", bad[i]);
		/* the bad one is consumed: the next message is read fine */
		feed_str(&r, "{\"method\":\"a.B\"} \n", 19);
		expect_method(&r, "a.B");
	}
	varlink_reader_fini(&r);
}
END_TEST

START_TEST(deep_nesting)
{
	struct varlink_reader r;
	struct json_object *m = NULL;
	char deep[20001];

	memset(deep, '[', 10000);
	memset(deep + 10000, ']', 10000);
	deep[20000] = '\0';
	varlink_reader_init(&r, 0);
	feed_str(&r, deep, sizeof(deep));
	ck_assert_int_eq(varlink_reader_next(&r, &m), -EBADMSG);
	varlink_reader_fini(&r);
}
END_TEST

START_TEST(not_an_object)
{
	static const char *vals[] = { "[]", "1", "\"s\"", "null", "true", "[{\"method\":1}]" };
	struct varlink_reader r;
	struct json_object *m = NULL;

	varlink_reader_init(&r, 0);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		feed_str(&r, vals[i], strlen(vals[i]) + 1);
		ck_assert_int_eq(varlink_reader_next(&r, &m), -EPROTO);
	}
	feed_str(&r, "{\"method\":\"a.B\"}", 17);
	expect_method(&r, "a.B");
	varlink_reader_fini(&r);
}
END_TEST

/* Decodes `text` as a call; returns the result and the bad field. */
static int decode_call(const char *text, struct varlink_call *c, const char **bad,
		       struct json_object **keep)
{
	struct json_object *m = json_tokener_parse(text);

	ck_assert_ptr_nonnull(m);
	*keep = m;
	return varlink_call_decode(m, c, bad);
}

START_TEST(call_envelope)
{
	static const struct {
		const char *text, *bad;
	} cases[] = {
		{ "{}", "method" },
		{ "{\"parameters\":{}}", "method" },
		{ "{\"method\":1}", "method" },
		{ "{\"method\":null}", "method" },
		{ "{\"method\":\"Status\"}", "method" },
		{ "{\"method\":\"io.ustack.Stack.\"}", "method" },
		{ "{\"method\":\".Status\"}", "method" },
		{ "{\"method\":\"io.ustack.Stack.status\"}", "method" },
		{ "{\"method\":\"io.us tack.Stack.Status\"}", "method" },
		{ "{\"method\":\"io.ustack.Stack.Sta_tus\"}", "method" },
		{ "{\"method\":\"a.B\",\"parameters\":[]}", "parameters" },
		{ "{\"method\":\"a.B\",\"parameters\":\"x\"}", "parameters" },
		{ "{\"method\":\"a.B\",\"more\":1}", "more" },
		{ "{\"method\":\"a.B\",\"oneway\":\"yes\"}", "oneway" },
		{ "{\"method\":\"a.B\",\"more\":true,\"oneway\":true}", "more" },
	};
	struct varlink_call c;
	struct json_object *m;
	const char *bad;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(decode_call(cases[i].text, &c, &bad, &m) == -EBADMSG, "accepted %s",
			      cases[i].text);
		ck_assert_str_eq(bad, cases[i].bad);
		json_object_put(m);
	}

	ck_assert_int_eq(decode_call("{\"method\":\"io.ustack.Socket.TcpConnect\",\"more\":true,"
				     "\"parameters\":{\"remote\":{}},\"upgrade\":false}",
				     &c, &bad, &m),
			 0);
	ck_assert_str_eq(c.interface, "io.ustack.Socket");
	ck_assert_str_eq(c.member, "TcpConnect");
	ck_assert(c.more && !c.oneway);
	ck_assert(json_object_object_get_ex(c.params, "remote", NULL));
	json_object_put(m);

	/* parameters absent or null: {} */
	ck_assert_int_eq(decode_call("{\"method\":\"a.B\",\"oneway\":true,\"parameters\":null}", &c,
				     &bad, &m),
			 0);
	ck_assert(c.oneway && !c.more);
	ck_assert(json_object_is_type(c.params, json_type_object));
	ck_assert_int_eq(json_object_object_length(c.params), 0);
	json_object_put(m);
}
END_TEST

START_TEST(reply_envelope)
{
	struct varlink_reply rp;
	struct json_object *m;
	const char *bad;

	m = json_tokener_parse("{\"error\":7}");
	ck_assert_int_eq(varlink_reply_decode(m, &rp, &bad), -EBADMSG);
	ck_assert_str_eq(bad, "error");
	json_object_put(m);
	m = json_tokener_parse("{\"continues\":\"no\"}");
	ck_assert_int_eq(varlink_reply_decode(m, &rp, &bad), -EBADMSG);
	ck_assert_str_eq(bad, "continues");
	json_object_put(m);
	m = json_tokener_parse("{\"parameters\":5}");
	ck_assert_int_eq(varlink_reply_decode(m, &rp, &bad), -EBADMSG);
	ck_assert_str_eq(bad, "parameters");
	json_object_put(m);
	m = json_tokener_parse("{}");
	ck_assert_int_eq(varlink_reply_decode(m, &rp, &bad), 0);
	ck_assert_ptr_null(rp.error);
	ck_assert(!rp.continues);
	ck_assert_int_eq(json_object_object_length(rp.params), 0);
	json_object_put(m);
}
END_TEST

/* Builds msg, frames it, reads it back. */
static struct json_object *round_trip(struct json_object *msg)
{
	struct varlink_reader r;
	struct json_object *back = NULL;
	size_t len;
	const char *text = varlink_msg_text(msg, &len);

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(text[len - 1], '\0');
	ck_assert_uint_eq(strlen(text), len - 1);
	varlink_reader_init(&r, 0);
	feed_str(&r, text, len);
	ck_assert_int_eq(varlink_reader_next(&r, &back), 1);
	varlink_reader_fini(&r);
	json_object_put(msg);
	return back;
}

START_TEST(builders_round_trip)
{
	struct json_object *p = json_object_new_object(), *m;
	struct varlink_call c;
	struct varlink_reply rp;
	const char *bad, *s;
	int64_t n;

	json_object_object_add(p, "count", json_object_new_int(3));
	m = round_trip(varlink_call_new("io.ustack.Stack.Ping", p, VARLINK_CALL_MORE));
	ck_assert_int_eq(varlink_call_decode(m, &c, &bad), 0);
	ck_assert_str_eq(c.method, "io.ustack.Stack.Ping");
	ck_assert(c.more && !c.oneway);
	ck_assert_int_eq(varlink_get_int(c.params, "count", 0, 10, &n), 0);
	ck_assert_int_eq(n, 3);
	json_object_put(m);

	m = round_trip(varlink_call_new("a.B", NULL, VARLINK_CALL_ONEWAY));
	ck_assert_int_eq(varlink_call_decode(m, &c, &bad), 0);
	ck_assert(c.oneway);
	json_object_put(m);

	m = round_trip(varlink_reply_new(NULL, true));
	ck_assert_int_eq(varlink_reply_decode(m, &rp, &bad), 0);
	ck_assert(rp.continues);
	ck_assert_ptr_null(rp.error);
	json_object_put(m);

	m = round_trip(varlink_error_errno_new("io.ustack.Socket.Errno", -ECONNRESET, NULL));
	ck_assert_int_eq(varlink_reply_decode(m, &rp, &bad), 0);
	ck_assert_str_eq(rp.error, "io.ustack.Socket.Errno");
	ck_assert(!rp.continues);
	ck_assert_int_eq(varlink_get_string(rp.params, "errno", &s), 0);
	ck_assert_str_eq(s, "ECONNRESET");
	ck_assert_int_eq(varlink_errno_from_name(s), ECONNRESET);
	ck_assert_int_eq(varlink_get_string(rp.params, "message", &s), 0);
	ck_assert_str_eq(s, strerror(ECONNRESET));
	json_object_put(m);

	/* the text has no raw NUL and escapes what JSON must */
	p = json_object_new_object();
	json_object_object_add(p, "s", json_object_new_string_len("a\0b/\"", 5));
	m = round_trip(varlink_reply_new(p, false));
	ck_assert_int_eq(varlink_reply_decode(m, &rp, &bad), 0);
	ck_assert_int_eq(varlink_get_string(rp.params, "s", &s), 0);
	ck_assert_int_eq(json_object_get_string_len(json_object_object_get(rp.params, "s")), 5);
	json_object_put(m);
}
END_TEST

/* json-c's strict parse of a whole text, as the reader falls back to (NULL: refused). */
static struct json_object *jsonc_strict(const char *text)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;

	ck_assert_ptr_nonnull(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)strlen(text) + 1);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* The lean parser takes the usual calls and builds what json-c builds; everything else,
 * valid or not, it leaves to json-c (-EAGAIN). */
START_TEST(fast_parser_agrees_with_json_c)
{
	static const char *const taken[] = {
		"{\"method\":\"io.ustack.KV.Get\",\"parameters\":{\"key\":\"/bench/k0042\"}}",
		" {\"method\" : \"x.Y\" , \"more\":true,\"oneway\":false,\"parameters\":"
		"{\"a\":[1,-2,0,[],{}],\"b\":null}}\n",
		"{\"operations\":[{\"op\":\"set\",\"key\":\"/a\",\"value\":\"eHg=\"},"
		"{\"op\":\"remove\",\"key\":\"/b\"}]}",
		"{\"a\":1,\"a\":\"again\"}", "{}", "{\"\":123456789012345678}",
		"{\"n\":-123456789012345678,\"t\":[true,false,null],\"s\":\"a b/c~\"}",
	};
	static const char *const left[] = {
		"{\"a\":\"\\n\"}", "{\"a\":1.5}", "{\"a\":1e3}", "{\"a\":-0}", "{\"a\":01}",
		"{\"a\":1234567890123456789}", "{\"a\":\"\xc3\xa9\"}", "{\"a\":\"\t\"}", "[1]",
		"\"s\"", "{\"a\":1,}", "{\"a\":[1,]}", "{\"a\" 1}", "{\"a\":1} x", "{\"a\":tru}",
		"{\"a\":truex}", "{\"a\":nul", "{\"a\":\"x", "{'a':1}", "{\"a\":+1}", "{\"a\":-}",
		"", "   ", "{\"a\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}", "{\"a\":1}{}",
		"{\"a\":\f1}",
	};
	char longkey[300 + 8];
	struct json_object *o, *want;

	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		ck_assert_msg(varlink_json_parse_fast(taken[i], strlen(taken[i]), &o) == 0,
			      "not taken: %s", taken[i]);
		want = jsonc_strict(taken[i]);
		ck_assert_msg(want && json_object_equal(o, want), "differs from json-c: %s",
			      taken[i]);
		json_object_put(o);
		json_object_put(want);
	}
	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++)
		ck_assert_msg(varlink_json_parse_fast(left[i], strlen(left[i]), &o) == -EAGAIN,
			      "taken: %s", left[i]);
	{ /* an array longer than the parser's stack of elements */
		char big[16 + 300 * 4];
		size_t at = (size_t)sprintf(big, "{\"a\":[");

		for (int i = 0; i < 300; i++)
			at += (size_t)sprintf(big + at, "%s%d", i ? "," : "", i);
		strcpy(big + at, "]}");
		ck_assert_int_eq(varlink_json_parse_fast(big, strlen(big), &o), 0);
		want = jsonc_strict(big);
		ck_assert(want && json_object_equal(o, want));
		json_object_put(o);
		json_object_put(want);
	}
	memset(longkey, 'k', sizeof(longkey));
	memcpy(longkey, "{\"", 2);
	memcpy(longkey + 300, "\":1}", 5);
	ck_assert_int_eq(varlink_json_parse_fast(longkey, strlen(longkey), &o), -EAGAIN);
}
END_TEST

/* The server's reply text is the bytes json-c prints for the reply object. */
START_TEST(reply_text_as_json_c)
{
	static const char *const params[] = {
		NULL, "{}", "{\"value\":\"aGVsbG8=\"}", "{\"a\":[1,2,{\"b\":null}],\"s\":\"x/\\\"\\n\\u0001\"}",
	};
	char *buf = NULL;
	size_t cap = 0, len, want_len;

	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		for (int more = 0; more < 2; more++) {
			struct json_object *p = params[i] ? json_tokener_parse(params[i]) : NULL;
			struct json_object *msg;
			const char *want;

			ck_assert(!params[i] || p);
			ck_assert_int_eq(varlink_reply_text(p, more, &buf, &cap, &len), 0);
			msg = varlink_reply_new(p, more);
			want = varlink_msg_text(msg, &want_len);
			ck_assert_uint_eq(len, want_len);
			ck_assert_mem_eq(buf, want, len);
			json_object_put(msg);
		}
	free(buf);
}
END_TEST

START_TEST(errno_names)
{
	static const int errs[] = { ECONNREFUSED, ETIMEDOUT, ECONNRESET, EHOSTUNREACH, EINVAL,
				    ENOENT, EPERM, EBADF, EMSGSIZE, ENETUNREACH, EPROTO };

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		ck_assert_int_eq(varlink_errno_from_name(varlink_errno_name(errs[i])), errs[i]);
		ck_assert_str_eq(varlink_errno_name(-errs[i]), varlink_errno_name(errs[i]));
	}
	ck_assert_str_eq(varlink_errno_name(ETIMEDOUT), "ETIMEDOUT");
	ck_assert_str_eq(varlink_errno_name(100000), "EUNKNOWN");
	ck_assert_int_eq(varlink_errno_from_name("ENOTANERRNO"), 0);
	ck_assert_int_eq(varlink_errno_from_name(""), 0);
}
END_TEST

START_TEST(typed_params)
{
	struct json_object *p = json_tokener_parse(
		"{\"i\":5,\"neg\":-1,\"big\":99999999999999999999,\"f\":1.5,\"s\":\"x\","
		"\"b\":true,\"o\":{},\"n\":null}");
	struct json_object *o;
	const char *s;
	int64_t n = 42;
	bool b;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(varlink_get_int(p, "i", 0, 10, &n), 0);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(varlink_get_int(p, "neg", 0, 10, &n), -EINVAL);
	ck_assert_int_eq(varlink_get_int(p, "i", 6, 10, &n), -EINVAL);
	ck_assert_int_eq(varlink_get_int(p, "big", 0, INT32_MAX, &n), -EINVAL);
	ck_assert_int_eq(varlink_get_int(p, "f", 0, 10, &n), -EINVAL);
	ck_assert_int_eq(varlink_get_int(p, "s", 0, 10, &n), -EINVAL);
	ck_assert_int_eq(varlink_get_int(p, "absent", 0, 10, &n), -ENOENT);
	ck_assert_int_eq(varlink_get_int(p, "n", 0, 10, &n), -ENOENT);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(varlink_get_bool(p, "b", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(varlink_get_bool(p, "i", &b), -EINVAL);
	ck_assert_int_eq(varlink_get_string(p, "s", &s), 0);
	ck_assert_str_eq(s, "x");
	ck_assert_int_eq(varlink_get_string(p, "i", &s), -EINVAL);
	ck_assert_int_eq(varlink_get_object(p, "o", &o), 0);
	ck_assert_int_eq(varlink_get_object(p, "s", &o), -EINVAL);
	ck_assert_int_eq(varlink_get_object(p, "absent", &o), -ENOENT);
	json_object_put(p);
}
END_TEST

/* Sends text (NUL included) with fds over sock, reads it into the reader. */
static void wire(int tx, int rx, struct varlink_reader *r, const char *text, size_t len,
		 const int *fds, size_t nfds)
{
	char buf[4096];
	int got[FDPASS_MAX_FDS];
	size_t ngot = 0, dropped = 9;
	ssize_t n;

	ck_assert_int_eq(fdpass_send(tx, text, len, fds, nfds, 1), (ssize_t)len);
	n = fdpass_recv(rx, buf, sizeof(buf), got, FDPASS_MAX_FDS, &ngot, &dropped, 1);
	ck_assert_int_eq(n, (ssize_t)len);
	ck_assert_uint_eq(ngot, nfds);
	ck_assert_uint_eq(dropped, 0);
	ck_assert_int_eq(varlink_reader_feed(r, buf, (size_t)n, got, ngot), 0);
}

/* Ends a test with a reader, a socketpair and a pipe: no fd may be left behind. */
static void fds_fini(struct varlink_reader *r, int sp[2], int pipefd[2], int before)
{
	varlink_reader_fini(r);
	close(sp[0]);
	close(sp[1]);
	close(pipefd[0]);
	close(pipefd[1]);
	ck_assert_int_eq(open_fds(), before);
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

START_TEST(fds_ride_with_their_message)
{
	struct varlink_reader r;
	struct json_object *m = NULL;
	int sp[2], pipefd[2], got[4];
	int before = open_fds();
	static const char first[] = "{\"method\":\"a.B\"}";
	static const char second[] = "{\"method\":\"io.ustack.Stack.Capture\",\"more\":true}";

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	ck_assert_int_eq(pipe(pipefd), 0);
	varlink_reader_init(&r, 0);

	/* a message without fds, then one with: one read takes both */
	ck_assert_int_eq(fdpass_send(sp[0], first, sizeof(first), NULL, 0, 1),
			 (ssize_t)sizeof(first));
	ck_assert_int_eq(fdpass_send(sp[0], second, sizeof(second), &pipefd[1], 1, 1),
			 (ssize_t)sizeof(second));
	{
		char buf[256];
		size_t ngot = 0;
		ssize_t n = fdpass_recv(sp[1], buf, sizeof(buf), got, 4, &ngot, NULL, 1);

		ck_assert_int_eq(n, (ssize_t)(sizeof(first) + sizeof(second)));
		ck_assert_uint_eq(ngot, 1);
		ck_assert_int_eq(varlink_reader_feed(&r, buf, (size_t)n, got, ngot), 0);
	}
	expect_method(&r, "a.B");
	ck_assert_uint_eq(varlink_reader_take_fds(&r, got, 4), 0);
	expect_method(&r, "io.ustack.Stack.Capture");
	ck_assert_uint_eq(varlink_reader_take_fds(&r, got, 4), 1);
	ck_assert(fd_is_open(got[0]));
	ck_assert(fcntl(got[0], F_GETFD) & FD_CLOEXEC); /* MSG_CMSG_CLOEXEC */
	ck_assert_int_eq(write(got[0], "x", 1), 1);	/* it is the pipe's write end */
	close(got[0]);

	/* fds not taken are closed when the next message is read */
	wire(sp[0], sp[1], &r, first, sizeof(first), &pipefd[1], 1);
	expect_method(&r, "a.B");
	ck_assert_uint_eq(r.cur_nfds, 1);
	got[0] = r.cur_fds[0];
	ck_assert_int_eq(varlink_reader_next(&r, &m), 0);
	ck_assert(!fd_is_open(got[0]));

	/* fds that came with a half message belong to it */
	wire(sp[0], sp[1], &r, second, 10, &pipefd[1], 1);
	wire(sp[0], sp[1], &r, second + 10, sizeof(second) - 10, NULL, 0);
	expect_method(&r, "io.ustack.Stack.Capture");
	ck_assert_uint_eq(varlink_reader_take_fds(&r, got, 4), 1);
	close(got[0]);

	fds_fini(&r, sp, pipefd, before);
}
END_TEST

START_TEST(fds_held_at_fini_are_closed)
{
	struct varlink_reader r;
	int sp[2], pipefd[2];
	int before = open_fds();

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	ck_assert_int_eq(pipe(pipefd), 0);
	varlink_reader_init(&r, 0);
	wire(sp[0], sp[1], &r, "{\"me", 4, pipefd, 2);
	ck_assert_uint_eq(r.nfds, 2);
	fds_fini(&r, sp, pipefd, before);
}
END_TEST

START_TEST(fdpass_extra_fds_closed)
{
	int sp[2], fds[FDPASS_MAX_FDS], got[2];
	size_t ngot, dropped;
	char c;
	int before = open_fds();

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	for (int i = 0; i < FDPASS_MAX_FDS; i++)
		fds[i] = dup(0);
	ck_assert_int_eq(fdpass_send(sp[0], "x", 1, fds, FDPASS_MAX_FDS, 1), 1);
	for (int i = 0; i < FDPASS_MAX_FDS; i++)
		close(fds[i]);
	ck_assert_int_eq(fdpass_recv(sp[1], &c, 1, got, 2, &ngot, &dropped, 1), 1);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_uint_eq(dropped, FDPASS_MAX_FDS - 2);
	close(got[0]);
	close(got[1]);
	/* nothing to read: -EAGAIN when non-blocking; fds need a byte; EOF is 0 */
	ck_assert_int_eq(fdpass_recv(sp[1], &c, 1, got, 2, &ngot, NULL, 1), -EAGAIN);
	ck_assert_int_eq(fdpass_send(sp[0], "", 0, fds, 1, 1), -EINVAL);
	close(sp[0]);
	ck_assert_int_eq(fdpass_recv(sp[1], &c, 1, got, 2, &ngot, NULL, 1), 0);
	ck_assert_int_eq(fdpass_send(sp[1], "x", 1, NULL, 0, 1), -EPIPE);
	close(sp[1]);
	ck_assert_int_eq(open_fds(), before);
}
END_TEST

static Suite *varlink_suite(void)
{
	Suite *s = suite_create("varlink");
	TCase *t = tcase_create("codec");

	tcase_add_test(t, split_across_reads);
	tcase_add_test(t, several_per_read);
	tcase_add_test(t, many_messages_compact);
	tcase_add_test(t, size_limit);
	tcase_add_test(t, bad_json_then_good);
	tcase_add_test(t, deep_nesting);
	tcase_add_test(t, not_an_object);
	tcase_add_test(t, call_envelope);
	tcase_add_test(t, reply_envelope);
	tcase_add_test(t, builders_round_trip);
	tcase_add_test(t, reply_text_as_json_c);
	tcase_add_test(t, fast_parser_agrees_with_json_c);
	tcase_add_test(t, errno_names);
	tcase_add_test(t, typed_params);
	suite_add_tcase(s, t);
	t = tcase_create("fds");
	tcase_add_test(t, fds_ride_with_their_message);
	tcase_add_test(t, fds_held_at_fini_are_closed);
	tcase_add_test(t, fdpass_extra_fds_closed);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(varlink_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
