/* Keys as the backends store them, ordered so that a dictionary's direct children are one
 * contiguous range (docs/kv.md, "Key encoding"):
 *
 *   enc = depth (1 byte) || seg1 '/' seg2 '/' ... segN
 *
 * "/a/b" is "\x02a/b". Sorting by depth first keeps grandchildren out of the range of
 * children: the children of "/a" are exactly the keys with the prefix "\x02a/", and since a
 * segment holds no '/', they sort by name. The root "/" (depth 0) is never stored. */
#ifndef USTACKD_KV_KEY_H
#define USTACKD_KV_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv.h"

/* The path without its leading '/' plus the depth byte: as long as the path. */
#define KV_KEY_ENC_MAX KV_KEY_MAX_BYTES

struct kv_key {
	uint8_t enc[KV_KEY_ENC_MAX + 1]; /* + 1: a child prefix of a longest key */
	size_t len;
};

int kv_key_parse(const char *path, struct kv_key *k, const char **why);
/* From bytes a backend returned; -EIO if they are not a well-formed encoding. */
int kv_key_from_enc(const uint8_t *enc, size_t len, struct kv_key *k);

static inline unsigned kv_key_depth(const struct kv_key *k) { return k->enc[0]; }
static inline bool kv_key_is_root(const struct kv_key *k) { return k->enc[0] == 0; }
bool kv_key_equal(const struct kv_key *a, const struct kv_key *b);

/* The last segment (not NUL-terminated); empty for the root. */
const uint8_t *kv_key_name(const struct kv_key *k, size_t *len);
void kv_key_parent(const struct kv_key *k, struct kv_key *parent);
/* The prefix shared by the direct children of dir. */
void kv_key_child_prefix(const struct kv_key *dir, struct kv_key *prefix);
/* dir/name; -ENAMETOOLONG past the limit. */
int kv_key_child(const struct kv_key *dir, const uint8_t *name, size_t len, struct kv_key *out);
/* Whether k is anc or lies below it. */
bool kv_key_within(const struct kv_key *k, const struct kv_key *anc);

#endif
