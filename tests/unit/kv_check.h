/* Assertions shared by the key-value store's suites (test_kv.c, test_kv_wal.c). */
#ifndef USTACK_TESTS_KV_CHECK_H
#define USTACK_TESTS_KV_CHECK_H

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kv/kv.h"

static inline void assert_value(struct kv *kv, const char *key, const char *want)
{
	uint8_t *v;
	size_t len;
	int r = kv_get(kv, key, &v, &len);

	ck_assert_msg(r == 0, "get %s: %s", key, strerror(-r));
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_mem_eq(v, want, len);
	free(v);
}

static inline enum kv_kind kind_of(struct kv *kv, const char *key)
{
	enum kv_kind k;

	ck_assert_int_eq(kv_exists(kv, key, &k), 0);
	return k;
}

static inline int kv_check_rm_one(const char *path, const struct stat *st, int flag,
				  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes a store's directory (a test's temporary tree). */
static inline void rm_tree(const char *dir)
{
	nftw(dir, kv_check_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
