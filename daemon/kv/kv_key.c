/* Key syntax (design.md §2) and the depth-prefixed encoding of kv_key.h. */
#include "kv_key.h"

#include <errno.h>
#include <string.h>

int kv_key_check(const char *key, const char **why)
{
	struct kv_key k;

	return kv_key_parse(key, &k, why);
}

static int key_bad(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

int kv_key_parse(const char *path, struct kv_key *k, const char **why)
{
	size_t plen, seg_start;
	unsigned depth = 0;

	if (!path || path[0] != '/')
		return key_bad(why, "a key starts with '/'", -EINVAL);
	plen = strlen(path);
	if (plen > KV_KEY_MAX_BYTES)
		return key_bad(why, "key longer than 480 bytes", -ENAMETOOLONG);
	k->len = 1;
	if (plen == 1) {
		k->enc[0] = 0;
		return 0;
	}
	/* Segments: each ends at a '/' or at the end; path[0] is the first '/'. */
	seg_start = 1;
	for (size_t i = 1; i <= plen; i++) {
		uint8_t c = (uint8_t)path[i];

		if (c != '/' && c != '\0') {
			/* Names are listed one per line and logged: no control bytes. */
			if (c < 0x20 || c == 0x7f)
				return key_bad(why, "control character in a key", -EINVAL);
			continue;
		}
		size_t n = i - seg_start;

		if (n == 0)
			return key_bad(why, "empty segment in a key", -EINVAL);
		if ((n == 1 && path[seg_start] == '.') ||
		    (n == 2 && path[seg_start] == '.' && path[seg_start + 1] == '.'))
			return key_bad(why, "'.' or '..' segment in a key", -EINVAL);
		depth++;
		seg_start = i + 1;
	}
	/* Depth fits a byte: at most 240 segments of "/x" in 480 bytes. */
	k->enc[0] = (uint8_t)depth;
	memcpy(k->enc + 1, path + 1, plen - 1);
	k->len = plen;
	return 0;
}

int kv_key_from_enc(const uint8_t *enc, size_t len, struct kv_key *k)
{
	unsigned slashes = 0;

	if (len < 2 || len > KV_KEY_ENC_MAX)
		return -EIO;
	for (size_t i = 1; i < len; i++)
		slashes += enc[i] == '/';
	if (enc[0] != slashes + 1)
		return -EIO;
	memcpy(k->enc, enc, len);
	k->len = len;
	return 0;
}

bool kv_key_equal(const struct kv_key *a, const struct kv_key *b)
{
	return a->len == b->len && memcmp(a->enc, b->enc, a->len) == 0;
}

const uint8_t *kv_key_name(const struct kv_key *k, size_t *len)
{
	size_t i = k->len;

	while (i > 1 && k->enc[i - 1] != '/')
		i--;
	*len = k->len - i;
	return k->enc + i;
}

void kv_key_parent(const struct kv_key *k, struct kv_key *parent)
{
	size_t nlen;

	if (kv_key_depth(k) <= 1) {
		parent->enc[0] = 0;
		parent->len = 1;
		return;
	}
	kv_key_name(k, &nlen);
	memcpy(parent->enc, k->enc, k->len - nlen - 1); /* drop "/name" */
	parent->len = k->len - nlen - 1;
	parent->enc[0] = (uint8_t)(kv_key_depth(k) - 1);
}

void kv_key_child_prefix(const struct kv_key *dir, struct kv_key *prefix)
{
	memcpy(prefix->enc, dir->enc, dir->len);
	prefix->len = dir->len;
	prefix->enc[0] = (uint8_t)(kv_key_depth(dir) + 1);
	if (!kv_key_is_root(dir))
		prefix->enc[prefix->len++] = '/';
}

int kv_key_child(const struct kv_key *dir, const uint8_t *name, size_t len, struct kv_key *out)
{
	struct kv_key prefix;

	if (len == 0)
		return -EINVAL;
	kv_key_child_prefix(dir, &prefix);
	if (prefix.len + len > KV_KEY_ENC_MAX)
		return -ENAMETOOLONG;
	memcpy(out->enc, prefix.enc, prefix.len);
	memcpy(out->enc + prefix.len, name, len);
	out->len = prefix.len + len;
	return 0;
}

bool kv_key_within(const struct kv_key *k, const struct kv_key *anc)
{
	if (kv_key_is_root(anc))
		return true;
	if (kv_key_depth(k) < kv_key_depth(anc) || k->len < anc->len)
		return false;
	if (memcmp(k->enc + 1, anc->enc + 1, anc->len - 1) != 0)
		return false;
	return k->len == anc->len || k->enc[anc->len] == '/';
}
