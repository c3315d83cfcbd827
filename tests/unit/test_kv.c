/* daemon/kv: the key-value store of design.md §2. Every case runs twice, as a Check loop
 * test: _i == 0 on the memory backend, _i == 1 on LMDB in a fresh directory. The same
 * semantics are checked on both: every operation and error, nested dictionaries, subtree
 * removal, rename over and into, batch atomicity, order-independent digests, binary values,
 * bad keys, the value size limit and a full map. Time is a plain number (virtual clock). */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/kv/kv.h"
#include "harness.h"
#include "kv_check.h"

static char base_dir[] = "/tmp/ustack-test-kv-XXXXXX";

static void base_setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(base_dir));
}

static void base_teardown(void)
{
	rm_tree(base_dir);
}

static const char *backend_name(int i)
{
	return i == 0 ? "memory" : "lmdb";
}

/* A fresh store; dir (for LMDB) is filled in for a reopen. KV_TEST_WAL_MAX_BYTES (the
 * kv-checkpoints run) makes LMDB checkpoint every few writes. */
static struct kv *open_with(int backend, const struct kv_limits *limits, char *dir,
			    size_t dirlen)
{
	const char *wal_max = getenv("KV_TEST_WAL_MAX_BYTES");
	struct kv_limits l = *limits, *lim = &l;
	struct kv *kv = NULL;
	int r;

	if (wal_max)
		l.wal_max_bytes = strtoull(wal_max, NULL, 10);

	if (backend == 0) {
		r = kv_open_memory(lim, &kv);
	} else {
		char tmpl[64];

		snprintf(tmpl, sizeof(tmpl), "%s/s-XXXXXX", base_dir);
		ck_assert_ptr_nonnull(mkdtemp(tmpl));
		if (dir)
			snprintf(dir, dirlen, "%s", tmpl);
		r = kv_open_lmdb(tmpl, lim, &kv);
	}
	ck_assert_msg(r == 0, "open %s: %s", backend_name(backend), strerror(-r));
	return kv;
}

static struct kv *open_store(int backend)
{
	struct kv_limits lim;

	kv_limits_default(&lim);
	return open_with(backend, &lim, NULL, 0);
}

static void set_str(struct kv *kv, const char *key, const char *v, uint64_t now_ns)
{
	int r = kv_set(kv, key, v, strlen(v), now_ns);

	ck_assert_msg(r == 0, "set %s: %s", key, strerror(-r));
}

START_TEST(test_set_get_exists)
{
	struct kv *kv = open_store(_i);
	uint8_t *v;
	size_t len;

	ck_assert_int_eq(kind_of(kv, "/"), KV_DICTIONARY);
	ck_assert_int_eq(kind_of(kv, "/a"), KV_ABSENT);
	ck_assert_int_eq(kv_get(kv, "/a", &v, &len), -ENOENT);
	set_str(kv, "/a", "hello", 1);
	ck_assert_int_eq(kind_of(kv, "/a"), KV_VALUE);
	assert_value(kv, "/a", "hello");
	set_str(kv, "/a", "replaced", 2);
	assert_value(kv, "/a", "replaced");
	set_str(kv, "/a", "", 3); /* an empty value is a value */
	assert_value(kv, "/a", "");
	ck_assert_int_eq(kind_of(kv, "/a"), KV_VALUE);
	kv_close(kv);
}
END_TEST

START_TEST(test_nested_dictionaries)
{
	struct kv *kv = open_store(_i);
	struct kv_entry *e;
	uint8_t *v;
	size_t n, len;

	set_str(kv, "/a/b/c", "deep", 1);
	ck_assert_int_eq(kind_of(kv, "/a"), KV_DICTIONARY);
	ck_assert_int_eq(kind_of(kv, "/a/b"), KV_DICTIONARY);
	ck_assert_int_eq(kind_of(kv, "/a/b/c"), KV_VALUE);
	assert_value(kv, "/a/b/c", "deep");
	/* A value where a dictionary is needed, a dictionary where a value is. */
	ck_assert_int_eq(kv_set(kv, "/a/b/c/d", "x", 1, 2), -ENOTDIR);
	ck_assert_int_eq(kv_set(kv, "/a/b", "x", 1, 2), -EISDIR);
	ck_assert_int_eq(kv_set(kv, "/", "x", 1, 2), -EISDIR);
	ck_assert_int_eq(kv_get(kv, "/a", &v, &len), -EISDIR);
	ck_assert_int_eq(kv_list(kv, "/a/b/c", &e, &n), -ENOTDIR);
	ck_assert_int_eq(kv_list(kv, "/nope", &e, &n), -ENOENT);
	ck_assert_int_eq(kv_list(kv, "/a/b/c/d", &e, &n), -ENOENT);
	ck_assert_int_eq(kind_of(kv, "/a/b/c/d"), KV_ABSENT);
	/* The failed sets changed nothing. */
	ck_assert_int_eq(kind_of(kv, "/a/b"), KV_DICTIONARY);
	kv_close(kv);
}
END_TEST

START_TEST(test_list_direct_children_sorted)
{
	struct kv *kv = open_store(_i);
	struct kv_entry *e;
	size_t n;

	set_str(kv, "/d/c", "3", 1);
	set_str(kv, "/d/a", "1", 1);
	set_str(kv, "/d/e/f", "deeper", 1);
	set_str(kv, "/d/b", "2", 1);
	set_str(kv, "/dz", "sibling with a longer name", 1);
	set_str(kv, "/d-", "sibling sorting between", 1);
	ck_assert_int_eq(kv_list(kv, "/d", &e, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(e[0].name, "a");
	ck_assert_str_eq(e[1].name, "b");
	ck_assert_str_eq(e[2].name, "c");
	ck_assert_str_eq(e[3].name, "e");
	ck_assert_int_eq(e[0].kind, KV_VALUE);
	ck_assert_int_eq(e[3].kind, KV_DICTIONARY);
	kv_entries_free(e, n);
	ck_assert_int_eq(kv_list(kv, "/", &e, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(e[0].name, "d");
	ck_assert_str_eq(e[1].name, "d-");
	ck_assert_str_eq(e[2].name, "dz");
	kv_entries_free(e, n);
	ck_assert_int_eq(kv_list(kv, "/d/e", &e, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(e[0].name, "f");
	kv_entries_free(e, n);
	kv_close(kv);
}
END_TEST

static void assert_partial_n(struct kv *kv, const char *key, uint64_t off, size_t len,
			     const void *want, size_t want_len)
{
	uint8_t *v;
	size_t got;

	ck_assert_int_eq(kv_get_partial(kv, key, off, len, &v, &got), 0);
	ck_assert_uint_eq(got, want_len);
	ck_assert_mem_eq(v, want, got);
	free(v);
}

static void assert_partial(struct kv *kv, const char *key, uint64_t off, size_t len,
			   const char *want)
{
	assert_partial_n(kv, key, off, len, want, strlen(want));
}

START_TEST(test_get_partial)
{
	struct kv *kv = open_store(_i);
	uint8_t *v;
	size_t len;

	set_str(kv, "/p", "0123456789", 1);
	assert_partial(kv, "/p", 2, 3, "234");
	assert_partial(kv, "/p", 0, 10, "0123456789");
	assert_partial(kv, "/p", 8, 10, "89");
	assert_partial(kv, "/p", 10, 1, "");
	assert_partial(kv, "/p", UINT64_MAX, 5, "");
	assert_partial(kv, "/p", 3, 0, "");
	ck_assert_int_eq(kv_get_partial(kv, "/q", 0, 1, &v, &len), -ENOENT);
	ck_assert_int_eq(kv_get_partial(kv, "/", 0, 1, &v, &len), -EISDIR);
	kv_close(kv);
}
END_TEST

static void assert_sha256(struct kv *kv, const char *key, const void *data, size_t len)
{
	uint8_t want[SHA256_DIGEST_LENGTH], got[KV_DIGEST_BYTES];

	SHA256(data, len, want);
	ck_assert_int_eq(kv_digest(kv, key, got), 0);
	ck_assert_mem_eq(got, want, sizeof(want));
}

START_TEST(test_set_partial)
{
	struct kv *kv = open_store(_i);
	uint64_t size;

	/* Absent: created, zero-filled up to the offset. */
	ck_assert_int_eq(kv_set_partial(kv, "/s/p", 3, "ab", 2, 1), 0);
	ck_assert_int_eq(kv_size(kv, "/s/p", &size), 0);
	ck_assert_uint_eq(size, 5);
	assert_partial_n(kv, "/s/p", 0, 5, "\0\0\0ab", 5);
	/* Inside: overwritten in place; past the end: extended. */
	ck_assert_int_eq(kv_set_partial(kv, "/s/p", 0, "xyz", 3, 2), 0);
	assert_value(kv, "/s/p", "xyzab");
	ck_assert_int_eq(kv_set_partial(kv, "/s/p", 4, "QRS", 3, 3), 0);
	assert_value(kv, "/s/p", "xyzaQRS");
	assert_sha256(kv, "/s/p", "xyzaQRS", 7);
	ck_assert_int_eq(kv_set_partial(kv, "/s", 0, "x", 1, 4), -EISDIR);
	ck_assert_int_eq(kv_set_partial(kv, "/s/p/q", 0, "x", 1, 4), -ENOTDIR);
	kv_close(kv);
}
END_TEST

START_TEST(test_remove_subtree)
{
	struct kv *kv = open_store(_i);
	struct kv_entry *e;
	size_t n;

	set_str(kv, "/a/b/c", "1", 1);
	set_str(kv, "/a/b/d", "2", 1);
	set_str(kv, "/a/e", "3", 1);
	set_str(kv, "/ab", "not under /a", 1);
	set_str(kv, "/z/y", "4", 1);
	ck_assert_int_eq(kv_remove(kv, "/a/b/c", 2), 0);
	ck_assert_int_eq(kind_of(kv, "/a/b/c"), KV_ABSENT);
	ck_assert_int_eq(kind_of(kv, "/a/b"), KV_DICTIONARY); /* stays, with /a/b/d */
	ck_assert_int_eq(kv_remove(kv, "/a", 2), 0);
	ck_assert_int_eq(kind_of(kv, "/a"), KV_ABSENT);
	ck_assert_int_eq(kind_of(kv, "/a/b"), KV_ABSENT);
	ck_assert_int_eq(kind_of(kv, "/a/b/d"), KV_ABSENT);
	ck_assert_int_eq(kind_of(kv, "/a/e"), KV_ABSENT);
	assert_value(kv, "/ab", "not under /a");
	assert_value(kv, "/z/y", "4");
	ck_assert_int_eq(kv_remove(kv, "/a", 3), -ENOENT);
	/* An emptied dictionary stays until removed itself. */
	ck_assert_int_eq(kv_remove(kv, "/z/y", 3), 0);
	ck_assert_int_eq(kind_of(kv, "/z"), KV_DICTIONARY);
	ck_assert_int_eq(kv_remove(kv, "/", 4), 0);
	ck_assert_int_eq(kv_list(kv, "/", &e, &n), 0);
	ck_assert_uint_eq(n, 0);
	kv_entries_free(e, n);
	ck_assert_int_eq(kind_of(kv, "/"), KV_DICTIONARY);
	kv_close(kv);
}
END_TEST

START_TEST(test_rename_over)
{
	struct kv *kv = open_store(_i);

	set_str(kv, "/x", "from x", 1);
	set_str(kv, "/y", "old y", 1);
	ck_assert_int_eq(kv_rename(kv, "/x", "/y", 2), 0); /* over a value: replaced */
	ck_assert_int_eq(kind_of(kv, "/x"), KV_ABSENT);
	assert_value(kv, "/y", "from x");
	/* A subtree to a new place: missing parents created, every entry moved. */
	set_str(kv, "/t/a", "1", 3);
	set_str(kv, "/t/s/b", "2", 3);
	ck_assert_int_eq(kv_rename(kv, "/t", "/p/q/t2", 4), 0);
	ck_assert_int_eq(kind_of(kv, "/t"), KV_ABSENT);
	ck_assert_int_eq(kind_of(kv, "/t/s/b"), KV_ABSENT);
	ck_assert_int_eq(kind_of(kv, "/p/q"), KV_DICTIONARY);
	assert_value(kv, "/p/q/t2/a", "1");
	assert_value(kv, "/p/q/t2/s/b", "2");
	/* A dictionary over a value. */
	ck_assert_int_eq(kv_rename(kv, "/p/q/t2/s", "/y", 5), 0);
	assert_value(kv, "/y/b", "2");
	/* Onto itself: nothing to do. */
	ck_assert_int_eq(kv_rename(kv, "/y", "/y", 6), 0);
	assert_value(kv, "/y/b", "2");
	kv_close(kv);
}
END_TEST

START_TEST(test_rename_into_and_errors)
{
	struct kv *kv = open_store(_i);

	set_str(kv, "/f", "file", 1);
	set_str(kv, "/dir/keep", "k", 1);
	ck_assert_int_eq(kv_rename(kv, "/f", "/dir", 2), 0); /* into a dictionary */
	assert_value(kv, "/dir/f", "file");
	assert_value(kv, "/dir/keep", "k");
	set_str(kv, "/sub/inner", "i", 3);
	ck_assert_int_eq(kv_rename(kv, "/sub", "/dir", 4), 0);
	assert_value(kv, "/dir/sub/inner", "i");
	/* Into a dictionary that has a dictionary of that name: already_present. */
	set_str(kv, "/sub/other", "o", 5);
	ck_assert_int_eq(kv_rename(kv, "/sub", "/dir", 6), -EEXIST);
	assert_value(kv, "/sub/other", "o");
	assert_value(kv, "/dir/sub/inner", "i");
	/* Into its own parent: already there. */
	ck_assert_int_eq(kv_rename(kv, "/dir/f", "/dir", 7), 0);
	assert_value(kv, "/dir/f", "file");
	ck_assert_int_eq(kv_rename(kv, "/nope", "/dir", 7), -ENOENT);
	ck_assert_int_eq(kv_rename(kv, "/dir", "/dir/sub/x", 7), -EINVAL); /* into itself */
	ck_assert_int_eq(kv_rename(kv, "/", "/x", 7), -EINVAL);
	ck_assert_int_eq(kv_rename(kv, "/sub", "/dir/f/x", 7), -ENOTDIR);
	assert_value(kv, "/sub/other", "o");
	ck_assert_int_eq(kv_rename(kv, "/sub", "//", 7), -EINVAL);
	kv_close(kv);
}
END_TEST

START_TEST(test_batch_all_or_nothing)
{
	struct kv *kv = open_store(_i);
	size_t failed = 99;
	struct kv_op ok[] = {
		{ .kind = KV_OP_SET, .key = "/b/1", .value = "one", .len = 3 },
		{ .kind = KV_OP_SET, .key = "/b/2", .value = "two", .len = 3 },
		{ .kind = KV_OP_RENAME, .key = "/b/2", .dest = "/b/3" },
		{ .kind = KV_OP_SET_PARTIAL, .key = "/b/1", .offset = 3, .value = "!", .len = 1 },
	};
	struct kv_op bad[] = {
		{ .kind = KV_OP_SET, .key = "/c/1", .value = "new", .len = 3 },
		{ .kind = KV_OP_REMOVE, .key = "/b" },
		{ .kind = KV_OP_SET, .key = "/c/1/x", .value = "v", .len = 1 }, /* ENOTDIR */
		{ .kind = KV_OP_SET, .key = "/c/2", .value = "never", .len = 5 },
	};
	struct kv_op bad_key[] = {
		{ .kind = KV_OP_REMOVE, .key = "/b/1" },
		{ .kind = KV_OP_SET, .key = "/b/../x", .value = "v", .len = 1 },
	};

	ck_assert_int_eq(kv_batch(kv, ok, 4, 1, &failed), 0);
	assert_value(kv, "/b/1", "one!");
	assert_value(kv, "/b/3", "two");
	ck_assert_int_eq(kind_of(kv, "/b/2"), KV_ABSENT);
	ck_assert_int_eq(kv_batch(kv, bad, 4, 2, &failed), -ENOTDIR);
	ck_assert_uint_eq(failed, 2);
	/* Nothing of it applied: /c never appeared, the removed /b is back whole. */
	ck_assert_int_eq(kind_of(kv, "/c"), KV_ABSENT);
	assert_value(kv, "/b/1", "one!");
	assert_value(kv, "/b/3", "two");
	ck_assert_int_eq(kv_batch(kv, bad_key, 2, 3, &failed), -EINVAL);
	ck_assert_uint_eq(failed, 1);
	assert_value(kv, "/b/1", "one!");
	ck_assert_int_eq(kv_batch(kv, NULL, 0, 4, &failed), 0); /* empty batch */
	kv_close(kv);
}
END_TEST

/* docs/kv.md's definition, computed here independently of the store. */
static void dict_digest(const char *const *names, const char *const *values, size_t n,
			uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	ck_assert_ptr_nonnull(md);
	ck_assert_int_eq(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t hdr[5] = { 'v', 0, 0, 0, (uint8_t)strlen(names[i]) }, d[32];

		SHA256((const uint8_t *)values[i], strlen(values[i]), d);
		EVP_DigestUpdate(md, hdr, 5);
		EVP_DigestUpdate(md, names[i], strlen(names[i]));
		EVP_DigestUpdate(md, d, 32);
	}
	ck_assert_int_eq(EVP_DigestFinal_ex(md, out, NULL), 1);
	EVP_MD_CTX_free(md);
}

START_TEST(test_digest)
{
	struct kv *kv = open_store(_i);
	static const char *const names[] = { "a", "b", "c" };
	static const char *const values[] = { "alpha", "beta", "gamma" };
	uint8_t d1[32], d2[32], d3[32], want[32];
	static const uint8_t abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	}; /* SHA-256("abc"), FIPS 180-2 appendix B.1 */

	set_str(kv, "/v", "abc", 1);
	ck_assert_int_eq(kv_digest(kv, "/v", d1), 0);
	ck_assert_mem_eq(d1, abc, 32);
	/* The same entries in two insertion orders, at different times. */
	set_str(kv, "/o1/a", "alpha", 1);
	set_str(kv, "/o1/b", "beta", 2);
	set_str(kv, "/o1/c", "gamma", 3);
	set_str(kv, "/o2/c", "gamma", 7);
	set_str(kv, "/o2/a", "alpha", 8);
	set_str(kv, "/o2/b", "beta", 9);
	ck_assert_int_eq(kv_digest(kv, "/o1", d1), 0);
	ck_assert_int_eq(kv_digest(kv, "/o2", d2), 0);
	ck_assert_mem_eq(d1, d2, 32);
	dict_digest(names, values, 3, want);
	ck_assert_mem_eq(d1, want, 32);
	/* A change below changes the dictionary's digest, and the root's. */
	ck_assert_int_eq(kv_digest(kv, "/", d3), 0);
	set_str(kv, "/o2/b", "BETA", 10);
	ck_assert_int_eq(kv_digest(kv, "/o2", d2), 0);
	ck_assert_mem_ne(d1, d2, 32);
	ck_assert_int_eq(kv_digest(kv, "/", d2), 0);
	ck_assert_mem_ne(d3, d2, 32);
	ck_assert_int_eq(kv_digest(kv, "/none", d2), -ENOENT);
	kv_close(kv);
}
END_TEST

START_TEST(test_binary_values)
{
	struct kv *kv = open_store(_i);
	uint8_t all[256], *v;
	size_t len;
	uint64_t size;

	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	ck_assert_int_eq(kv_set(kv, "/bin", all, sizeof(all), 1), 0);
	ck_assert_int_eq(kv_get(kv, "/bin", &v, &len), 0);
	ck_assert_uint_eq(len, 256);
	ck_assert_mem_eq(v, all, 256);
	free(v);
	ck_assert_int_eq(kv_size(kv, "/bin", &size), 0);
	ck_assert_uint_eq(size, 256);
	assert_sha256(kv, "/bin", all, sizeof(all));
	ck_assert_int_eq(kv_get_partial(kv, "/bin", 250, 100, &v, &len), 0);
	ck_assert_uint_eq(len, 6);
	ck_assert_mem_eq(v, all + 250, 6);
	free(v);
	kv_close(kv);
}
END_TEST

START_TEST(test_bad_keys)
{
	struct kv *kv = open_store(_i);
	static const char *const bad[] = {
		"", "a", "a/b", "//", "/a/", "/a//b", "/.", "/..", "/a/./b", "/a/..", "/a\nb",
		"/tab\there", "/\x7f",
	};
	char longest[KV_KEY_MAX_BYTES + 2];
	const char *why = NULL;
	struct kv_entry *e;
	enum kv_kind k;
	uint8_t *v;
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(kv_key_check(bad[i], &why) == -EINVAL, "key %zu accepted", i);
		ck_assert_ptr_nonnull(why);
		ck_assert_int_eq(kv_set(kv, bad[i], "x", 1, 1), -EINVAL);
		ck_assert_int_eq(kv_get(kv, bad[i], &v, &n), -EINVAL);
		ck_assert_int_eq(kv_exists(kv, bad[i], &k), -EINVAL);
		ck_assert_int_eq(kv_list(kv, bad[i], &e, &n), -EINVAL);
		ck_assert_int_eq(kv_remove(kv, bad[i], 1), -EINVAL);
		ck_assert_int_eq(kv_rename(kv, bad[i], "/ok", 1), -EINVAL);
	}
	ck_assert_int_eq(kv_key_check(NULL, &why), -EINVAL);
	/* Dots inside a name, spaces and UTF-8 are fine. */
	set_str(kv, "/.hidden/a..b/.../x y/\xc3\xa9t\xc3\xa9", "ok", 1);
	/* The byte limit: KV_KEY_MAX_BYTES exactly is accepted, one more is not. */
	memset(longest, 'k', sizeof(longest));
	longest[0] = '/';
	longest[KV_KEY_MAX_BYTES] = '\0';
	set_str(kv, longest, "long", 1);
	assert_value(kv, longest, "long");
	longest[KV_KEY_MAX_BYTES] = 'k';
	longest[KV_KEY_MAX_BYTES + 1] = '\0';
	ck_assert_int_eq(kv_key_check(longest, &why), -ENAMETOOLONG);
	ck_assert_int_eq(kv_set(kv, longest, "x", 1, 1), -ENAMETOOLONG);
	/* A rename whose moved entries would exceed the limit fails whole. */
	memset(longest, 'k', sizeof(longest));
	longest[0] = '/';
	longest[KV_KEY_MAX_BYTES - 2] = '\0';
	ck_assert_int_eq(kv_rename(kv, "/.hidden", longest, 2), -ENAMETOOLONG);
	ck_assert_int_eq(kind_of(kv, "/.hidden"), KV_DICTIONARY);
	ck_assert_str_eq(kv_error_name(-EINVAL), "invalid_key");
	kv_close(kv);
}
END_TEST

START_TEST(test_value_size_limit)
{
	struct kv_limits lim;
	struct kv *kv;
	uint8_t *big;

	kv_limits_default(&lim);
	ck_assert_uint_eq(lim.max_value_bytes, 16u << 20);
	lim.max_value_bytes = 1024;
	kv = open_with(_i, &lim, NULL, 0);
	big = calloc(1, 1025);
	ck_assert_int_eq(kv_set(kv, "/v", big, 1024, 1), 0);
	ck_assert_int_eq(kv_set(kv, "/w", big, 1025, 1), -EFBIG);
	ck_assert_str_eq(kv_error_name(-EFBIG), "no_space");
	ck_assert_int_eq(kv_set_partial(kv, "/v", 1024, "x", 1, 2), -EFBIG);
	ck_assert_int_eq(kv_set_partial(kv, "/v", UINT64_MAX, "x", 1, 2), -EFBIG);
	ck_assert_int_eq(kv_set_partial(kv, "/v", 1023, "x", 1, 2), 0);
	ck_assert_int_eq(kind_of(kv, "/w"), KV_ABSENT);
	free(big);
	kv_close(kv);
}
END_TEST

START_TEST(test_no_space)
{
	struct kv_limits lim;
	struct kv *kv;
	uint8_t *chunk = malloc(8192);
	char key[32];
	int r = 0, i;

	kv_limits_default(&lim);
	lim.map_size_bytes = 256 << 10; /* a tiny map */
	kv = open_with(_i, &lim, NULL, 0);
	memset(chunk, 0xa5, 8192);
	for (i = 0; i < 100 && r == 0; i++) {
		snprintf(key, sizeof(key), "/fill/%03d", i);
		r = kv_set(kv, key, chunk, 8192, (uint64_t)i);
	}
	ck_assert_int_eq(r, -ENOSPC);
	ck_assert_str_eq(kv_error_name(r), "no_space");
	ck_assert_int_gt(i, 2);
	/* What was acknowledged is intact; the failed write left nothing. */
	ck_assert_int_eq(kind_of(kv, key), KV_ABSENT);
	snprintf(key, sizeof(key), "/fill/%03d", 0);
	ck_assert_int_eq(kind_of(kv, key), KV_VALUE);
	/* Room again after a removal. LMDB reuses the pages a transaction freed only from
	 * the second transaction after it (the previous snapshot stays intact until a newer
	 * meta page is on disk), hence a small write in between (docs/kv.md). */
	ck_assert_int_eq(kv_remove(kv, "/fill", 200), 0);
	set_str(kv, "/tick", "t", 201);
	ck_assert_int_eq(kv_set(kv, "/after", chunk, 8192, 202), 0);
	free(chunk);
	kv_close(kv);
}
END_TEST

START_TEST(test_last_modified_and_size)
{
	struct kv *kv = open_store(_i);
	uint64_t t, size;

	set_str(kv, "/m/a", "12345", 1000);
	ck_assert_int_eq(kv_last_modified(kv, "/m/a", &t), 0);
	ck_assert_uint_eq(t, 1000);
	set_str(kv, "/m/b", "123", 3000);
	set_str(kv, "/m/a", "1234567", 2000);
	ck_assert_int_eq(kv_last_modified(kv, "/m/a", &t), 0);
	ck_assert_uint_eq(t, 2000);
	ck_assert_int_eq(kv_last_modified(kv, "/m", &t), 0); /* its latest entry */
	ck_assert_uint_eq(t, 3000);
	ck_assert_int_eq(kv_last_modified(kv, "/x", &t), -ENOENT);
	set_str(kv, "/m/sub/c", "1", 500);
	ck_assert_int_eq(kv_size(kv, "/m/a", &size), 0);
	ck_assert_uint_eq(size, 7);
	ck_assert_int_eq(kv_size(kv, "/m", &size), 0); /* every value below */
	ck_assert_uint_eq(size, 11);
	ck_assert_int_eq(kv_size(kv, "/", &size), 0);
	ck_assert_uint_eq(size, 11);
	ck_assert_int_eq(kv_size(kv, "/none", &size), -ENOENT);
	/* A rename moves data, it does not rewrite it. */
	ck_assert_int_eq(kv_rename(kv, "/m/a", "/n", 9000), 0);
	ck_assert_int_eq(kv_last_modified(kv, "/n", &t), 0);
	ck_assert_uint_eq(t, 2000);
	kv_close(kv);
}
END_TEST

/* Independent batches in one transaction: each stands or falls alone, all share the commit. */
START_TEST(test_group_commit)
{
	struct kv *kv = open_store(_i);
	struct kv_op a[] = { { .kind = KV_OP_SET, .key = "/g/1", .value = "a", .len = 1 } };
	struct kv_op b[] = { { .kind = KV_OP_SET, .key = "/g/1/x", .value = "b", .len = 1 } };
	struct kv_op c[] = { { .kind = KV_OP_REMOVE, .key = "/nothing" } };
	struct kv_op d[] = {
		{ .kind = KV_OP_SET, .key = "/g/2", .value = "d", .len = 1 },
		{ .kind = KV_OP_RENAME, .key = "/g/2", .dest = "/g/3" },
	};
	struct kv_op e[] = {
		{ .kind = KV_OP_SET, .key = "/g/4", .value = "e", .len = 1 },
		{ .kind = KV_OP_REMOVE, .key = "/g/1" }, /* undone with the rest of e */
		{ .kind = KV_OP_SET, .key = "/g/4/x", .value = "e", .len = 1 },
	};
	struct kv_batch_req reqs[] = { { a, 1, 9, 9 }, { b, 1, 9, 9 }, { c, 1, 9, 9 },
				       { d, 2, 9, 9 }, { e, 3, 9, 9 } };

	ck_assert_int_eq(kv_group_commit(kv, reqs, 5, 10), 0);
	ck_assert_int_eq(reqs[0].result, 0);
	ck_assert_int_eq(reqs[1].result, -ENOTDIR); /* sees a's write: same transaction */
	ck_assert_uint_eq(reqs[1].failed, 0);
	ck_assert_int_eq(reqs[2].result, -ENOENT);
	ck_assert_int_eq(reqs[3].result, 0);
	ck_assert_int_eq(reqs[4].result, -ENOTDIR);
	ck_assert_uint_eq(reqs[4].failed, 2);
	assert_value(kv, "/g/1", "a");
	assert_value(kv, "/g/3", "d");
	ck_assert_int_eq(kind_of(kv, "/g/2"), KV_ABSENT);
	ck_assert_int_eq(kind_of(kv, "/g/4"), KV_ABSENT);
	ck_assert_int_eq(kv_group_commit(kv, NULL, 0, 11), 0);
	/* All succeeding (no savepoints): in order, each result 0, all there. */
	struct kv_op f[] = { { .kind = KV_OP_SET, .key = "/h/1", .value = "f", .len = 1 } };
	struct kv_op g[] = { { .kind = KV_OP_RENAME, .key = "/h/1", .dest = "/h/2" },
			     { .kind = KV_OP_SET, .key = "/h/1", .value = "g", .len = 1 } };
	struct kv_batch_req ok[] = { { f, 1, 9, 9 }, { g, 2, 9, 9 } };

	ck_assert_int_eq(kv_group_commit(kv, ok, 2, 12), 0);
	ck_assert_int_eq(ok[0].result, 0);
	ck_assert_int_eq(ok[1].result, 0);
	assert_value(kv, "/h/1", "g");
	assert_value(kv, "/h/2", "f");
	kv_close(kv);
}
END_TEST

/* kv_write.c remembers the last parent dictionary found or made in a transaction: a
 * removal, or the undo of the batch that made it, must make the next set create it again
 * (a child without its dictionary would be unreachable by list and remove). */
START_TEST(test_group_parent_forgotten)
{
	struct kv *kv = open_store(_i);
	struct kv_op a[] = { { .kind = KV_OP_SET, .key = "/p/1", .value = "a", .len = 1 } };
	struct kv_op rm[] = { { .kind = KV_OP_REMOVE, .key = "/p" } };
	struct kv_op b[] = { { .kind = KV_OP_SET, .key = "/p/2", .value = "b", .len = 1 } };
	struct kv_op undone[] = {
		{ .kind = KV_OP_SET, .key = "/q/1", .value = "c", .len = 1 },
		{ .kind = KV_OP_SET, .key = "/q/1/x", .value = "c", .len = 1 }, /* ENOTDIR */
	};
	struct kv_op c[] = { { .kind = KV_OP_SET, .key = "/q/2", .value = "d", .len = 1 } };
	struct kv_batch_req reqs[] = { { a, 1, 9, 9 }, { rm, 1, 9, 9 }, { b, 1, 9, 9 },
				       { undone, 2, 9, 9 }, { c, 1, 9, 9 } };
	struct kv_entry *ents;
	size_t n;

	ck_assert_int_eq(kv_group_commit(kv, reqs, 5, 10), 0);
	ck_assert_int_eq(reqs[0].result, 0);
	ck_assert_int_eq(reqs[1].result, 0);
	ck_assert_int_eq(reqs[2].result, 0);
	ck_assert_int_eq(reqs[3].result, -ENOTDIR);
	ck_assert_int_eq(reqs[4].result, 0);
	ck_assert_int_eq(kind_of(kv, "/p"), KV_DICTIONARY);
	ck_assert_int_eq(kind_of(kv, "/p/1"), KV_ABSENT);
	assert_value(kv, "/p/2", "b");
	ck_assert_int_eq(kind_of(kv, "/q"), KV_DICTIONARY);
	ck_assert_int_eq(kind_of(kv, "/q/1"), KV_ABSENT);
	ck_assert_int_eq(kv_list(kv, "/q", &ents, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ents[0].name, "2");
	kv_entries_free(ents, n);
	/* The same through single batches. */
	ck_assert_int_eq(kv_batch(kv, undone, 2, 11, NULL), -ENOTDIR);
	ck_assert_int_eq(kv_remove(kv, "/q", 12), 0);
	ck_assert_int_eq(kv_set(kv, "/q/3", "e", 1, 13), 0);
	ck_assert_int_eq(kind_of(kv, "/q"), KV_DICTIONARY);
	kv_close(kv);
}
END_TEST

/* A full map inside a group: the batches that did not fit fail alone, or the commit fails
 * and then nothing at all is applied. */
START_TEST(test_group_commit_no_space)
{
	struct kv_limits lim;
	struct kv *kv;
	uint8_t *chunk = calloc(1, 8192);
	char keys[60][16];
	struct kv_op ops[60];
	struct kv_batch_req reqs[60];
	int r, nospace = 0, applied = 0;

	kv_limits_default(&lim);
	lim.map_size_bytes = 256 << 10;
	kv = open_with(_i, &lim, NULL, 0);
	for (int i = 0; i < 60; i++) {
		snprintf(keys[i], sizeof(keys[i]), "/f/%02d", i);
		ops[i] = (struct kv_op){ .kind = KV_OP_SET, .key = keys[i], .value = chunk,
					 .len = 8192 };
		reqs[i] = (struct kv_batch_req){ &ops[i], 1, 0, 0 };
	}
	r = kv_group_commit(kv, reqs, 60, 1);
	for (int i = 0; i < 60; i++) {
		nospace += reqs[i].result == -ENOSPC;
		ck_assert(reqs[i].result == 0 || reqs[i].result == -ENOSPC);
		if (kind_of(kv, keys[i]) == KV_VALUE) {
			ck_assert_int_eq(r, 0);
			ck_assert_int_eq(reqs[i].result, 0);
			applied++;
		} else {
			ck_assert(r < 0 || reqs[i].result < 0);
		}
	}
	ck_assert_int_gt(nospace + (r == -ENOSPC), 0);
	ck_assert(r == 0 || r == -ENOSPC);
	ck_assert(r < 0 || applied > 0);
	/* The store stays usable: what fit can be removed again. */
	if (applied > 0)
		ck_assert_int_eq(kv_remove(kv, "/f", 2), 0);
	ck_assert_int_eq(kind_of(kv, "/f/00"), KV_ABSENT);
	free(chunk);
	kv_close(kv);
}
END_TEST

/* LMDB only: what was acknowledged is there after a close and a reopen. */
START_TEST(test_lmdb_reopen)
{
	struct kv_limits lim;
	char dir[256];
	struct kv *kv;

	kv_limits_default(&lim);
	kv = open_with(1, &lim, dir, sizeof(dir));
	set_str(kv, "/keep/me", "persistent", 42);
	kv_close(kv);
	ck_assert_int_eq(kv_open_lmdb(dir, &lim, &kv), 0);
	assert_value(kv, "/keep/me", "persistent");
	kv_close(kv);
}
END_TEST

/* The two backends side by side under the same random operations: every result must
 * agree, and after each write so must the digest of "/" (names, kinds and bytes of
 * everything). Catches a backend that drifts, e.g. an undo log that does not restore what
 * a failed batch touched. Two shapes: a small tree of short values (3 names a level), and
 * one of thousands of keys whose values change size, some past a page (LMDB's overflow
 * pages), so that LMDB splits and merges pages under the cursor that the LMDB backend
 * keeps for all of its gets and puts (kv_lmdb.c, main_cursor()). */
struct op_shape {
	int names;	  /* segment names per level */
	size_t max_len;	  /* values of 0 .. max_len - 1 bytes */
	int big_percent;  /* and this many of big_len - 1 at most */
	size_t big_len;
	int checkpoint_every; /* ops between LMDB checkpoints (0: none) */
	int digest_every;     /* ops between comparisons of the root digest */
};

#define SHAPE_BUF_BYTES 6000

static void rand_key(unsigned *seed, char *key, size_t cap, int names)
{
	int depth = 1 + rand_r(seed) % 3;
	size_t n = 0;

	if (rand_r(seed) % 20 == 0) {
		snprintf(key, cap, "/");
		return;
	}
	for (int d = 0; d < depth; d++)
		n += (size_t)snprintf(key + n, cap - n, "/%c", 'a' + rand_r(seed) % names);
}

static void rand_op(unsigned *seed, const struct op_shape *sh, struct kv_op *op, char *key,
		    char *dest, uint8_t *buf)
{
	size_t cap = rand_r(seed) % 100 < sh->big_percent ? sh->big_len : sh->max_len;

	rand_key(seed, key, 32, sh->names);
	rand_key(seed, dest, 32, sh->names);
	*op = (struct kv_op){ .kind = (enum kv_op_kind)(rand_r(seed) % 4), .key = key,
			      .dest = dest, .value = buf, .len = (size_t)rand_r(seed) % cap,
			      .offset = (uint64_t)(rand_r(seed) % 50) };
	for (size_t i = 0; i < op->len; i++)
		buf[i] = (uint8_t)rand_r(seed);
}

static void same_read(struct kv *m, struct kv *l, const char *key)
{
	uint8_t dm[32], dl[32], *vm = NULL, *vl = NULL;
	uint64_t um = 0, ul = 0;
	size_t nm = 0, nl = 0;
	struct kv_entry *em = NULL, *el = NULL;
	enum kv_kind km, kl;

	ck_assert_int_eq(kv_exists(m, key, &km), kv_exists(l, key, &kl));
	ck_assert_int_eq(km, kl);
	ck_assert_int_eq(kv_get(m, key, &vm, &nm), kv_get(l, key, &vl, &nl));
	ck_assert_uint_eq(nm, nl);
	if (vm && nm)
		ck_assert_mem_eq(vm, vl, nm);
	free(vm);
	free(vl);
	ck_assert_int_eq(kv_list(m, key, &em, &nm), kv_list(l, key, &el, &nl));
	ck_assert_uint_eq(nm, nl);
	for (size_t i = 0; em && i < nm; i++) {
		ck_assert_str_eq(em[i].name, el[i].name);
		ck_assert_int_eq(em[i].kind, el[i].kind);
	}
	if (em)
		kv_entries_free(em, nm);
	if (el)
		kv_entries_free(el, nl);
	ck_assert_int_eq(kv_size(m, key, &um), kv_size(l, key, &ul));
	ck_assert_uint_eq(um, ul);
	ck_assert_int_eq(kv_last_modified(m, key, &um), kv_last_modified(l, key, &ul));
	ck_assert_uint_eq(um, ul);
	ck_assert_int_eq(kv_digest(m, key, dm), kv_digest(l, key, dl));
}

static void backends_agree(const struct op_shape *sh, int nops, unsigned seed)
{
	struct kv *m = open_store(0), *l = open_store(1);
	static uint8_t bufs[3][SHAPE_BUF_BYTES];

	for (int i = 0; i < nops; i++) {
		char keys[3][2][32];
		uint8_t dm[32], dl[32];
		struct kv_op ops[3];
		size_t n = rand_r(&seed) % 4 == 0 ? 3 : 1, fm = 0, fl = 0;
		int rm, rl;

		for (size_t j = 0; j < n; j++)
			rand_op(&seed, sh, &ops[j], keys[j][0], keys[j][1], bufs[j]);
		rm = kv_batch(m, ops, n, (uint64_t)i, &fm);
		rl = kv_batch(l, ops, n, (uint64_t)i, &fl);
		ck_assert_msg(rm == rl, "op %d: memory %d, lmdb %d", i, rm, rl);
		if (rm < 0)
			ck_assert_uint_eq(fm, fl);
		if (i % sh->digest_every == 0 || i == nops - 1) {
			ck_assert_int_eq(kv_digest(m, "/", dm), 0);
			ck_assert_int_eq(kv_digest(l, "/", dl), 0);
			ck_assert_msg(memcmp(dm, dl, 32) == 0, "op %d: the stores differ", i);
		}
		same_read(m, l, keys[0][0]);
		if (sh->checkpoint_every && i % sh->checkpoint_every == 0)
			ck_assert_int_eq(kv_checkpoint(l), 0);
	}
	kv_close(m);
	kv_close(l);
}

START_TEST(test_backends_agree)
{
	static const struct op_shape small = { .names = 3, .max_len = 40, .big_len = 40,
					       .digest_every = 1 };

	backends_agree(&small, 1000, 8);
}
END_TEST

START_TEST(test_backends_agree_pages)
{
	static const struct op_shape pages = { .names = 14, .max_len = 300, .big_percent = 5,
					       .big_len = SHAPE_BUF_BYTES,
					       .checkpoint_every = 700, .digest_every = 20 };

	/* The kv-checkpoints run checkpoints LMDB after every write already (two synced
	 * commits each): fewer operations there, the same shape. */
	backends_agree(&pages, getenv("KV_TEST_WAL_MAX_BYTES") ? 400 : 4000, 11);
}
END_TEST

START_TEST(test_error_names)
{
	ck_assert_str_eq(kv_error_name(-ENOENT), "not_found");
	ck_assert_str_eq(kv_error_name(-ENOTDIR), "dictionary_expected");
	ck_assert_str_eq(kv_error_name(-EISDIR), "value_expected");
	ck_assert_str_eq(kv_error_name(-ENOSPC), "no_space");
	ck_assert_str_eq(kv_error_name(-EEXIST), "already_present");
	ck_assert_str_eq(kv_error_name(-ENAMETOOLONG), "invalid_key");
	ck_assert_str_eq(kv_error_name(-EIO), "storage_error");
}
END_TEST

static Suite *kv_suite(void)
{
	Suite *s = suite_create("kv");
	TCase *tc = tcase_create("both backends");

	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	/* Check's default is 4 s a test: test_backends_agree_pages takes ~2 s under ASan on
	 * an idle machine, and CI's machine is not idle. */
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_set_get_exists, 0, 2);
	tcase_add_loop_test(tc, test_nested_dictionaries, 0, 2);
	tcase_add_loop_test(tc, test_list_direct_children_sorted, 0, 2);
	tcase_add_loop_test(tc, test_get_partial, 0, 2);
	tcase_add_loop_test(tc, test_set_partial, 0, 2);
	tcase_add_loop_test(tc, test_remove_subtree, 0, 2);
	tcase_add_loop_test(tc, test_rename_over, 0, 2);
	tcase_add_loop_test(tc, test_rename_into_and_errors, 0, 2);
	tcase_add_loop_test(tc, test_batch_all_or_nothing, 0, 2);
	tcase_add_loop_test(tc, test_digest, 0, 2);
	tcase_add_loop_test(tc, test_binary_values, 0, 2);
	tcase_add_loop_test(tc, test_bad_keys, 0, 2);
	tcase_add_loop_test(tc, test_value_size_limit, 0, 2);
	tcase_add_loop_test(tc, test_no_space, 0, 2);
	tcase_add_loop_test(tc, test_last_modified_and_size, 0, 2);
	tcase_add_loop_test(tc, test_group_commit, 0, 2);
	tcase_add_loop_test(tc, test_group_parent_forgotten, 0, 2);
	tcase_add_loop_test(tc, test_group_commit_no_space, 0, 2);
	tcase_add_test(tc, test_lmdb_reopen);
	tcase_add_test(tc, test_error_names);
	tcase_add_test(tc, test_backends_agree);
	tcase_add_test(tc, test_backends_agree_pages);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(kv_suite());
}
