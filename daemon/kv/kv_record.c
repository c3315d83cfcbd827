/* The record stored with each key: kind, mtime and, for a value, its SHA-256 and data
 * (layout in kv_backend.h). Keeping the digest with the value makes kv_digest() a read. */
/* SHA256_Init & co. without deprecation warnings: why, above sha256(). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "kv_backend.h"

void kv_be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

uint64_t kv_be64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int kv_rec_decode(struct kv_bytes raw, struct kv_rec *rec)
{
	if (raw.len < KV_REC_DICT_BYTES)
		return -EIO;
	rec->mtime_ns = kv_be64_get(raw.p + 8);
	switch (raw.p[0]) {
	case KV_REC_DICT:
		rec->kind = KV_DICTIONARY;
		rec->digest = NULL;
		rec->data = NULL;
		rec->len = 0;
		return 0;
	case KV_REC_VALUE:
		if (raw.len < KV_REC_VALUE_HDR_BYTES)
			return -EIO;
		rec->kind = KV_VALUE;
		rec->digest = raw.p + 16;
		rec->data = raw.p + KV_REC_VALUE_HDR_BYTES;
		rec->len = raw.len - KV_REC_VALUE_HDR_BYTES;
		return 0;
	default:
		return -EIO;
	}
}

/* SHA-256 of data into out, with libcrypto's SHA256_Init/Update/Final: deprecated since
 * OpenSSL 3.0 in favour of EVP, but EVP costs twice as much for the small values this is
 * mostly for (64 bytes: 232 ns with an algorithm fetched once and one context reused, 122
 * ns here; the one-shot SHA256() goes through EVP_Q_digest, 540 ns): its init allocates
 * and frees provider state each time. A Batch of 100 sets spent 15 % of its time in EVP
 * (docs/performance.md, "A batched set: one tree search, ..."). Both use the same SHA-NI
 * block function. */
static void sha256(const uint8_t *data, size_t len, uint8_t *out)
{
	SHA256_CTX c;

	SHA256_Init(&c);
	SHA256_Update(&c, data, len);
	SHA256_Final(out, &c);
}

void kv_rec_value_header(uint8_t hdr[KV_REC_VALUE_HDR_BYTES], uint64_t mtime_ns,
			 const uint8_t *data, size_t len)
{
	memset(hdr, 0, KV_REC_VALUE_HDR_BYTES);
	hdr[0] = KV_REC_VALUE;
	kv_be64_put(hdr + 8, mtime_ns);
	sha256(len ? data : (const uint8_t *)"", len, hdr + 16);
}

void kv_rec_dict(uint8_t rec[KV_REC_DICT_BYTES], uint64_t mtime_ns)
{
	memset(rec, 0, KV_REC_DICT_BYTES);
	rec[0] = KV_REC_DICT;
	kv_be64_put(rec + 8, mtime_ns);
}

int kv_array_grow(void *arr, size_t *cap, size_t n, size_t elem_bytes)
{
	void *p, *np;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? 2 * *cap : 16;
	memcpy(&p, arr, sizeof(p));
	np = realloc(p, ncap * elem_bytes);
	if (!np)
		return -ENOMEM;
	memcpy(arr, &np, sizeof(np));
	*cap = ncap;
	return 0;
}
