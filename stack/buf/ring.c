/* Byte ring buffer; see ring.h. */
#include "ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static inline size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Index in buf of the byte pos bytes past head, pos <= cap; always < cap (0 if cap 0). */
static inline size_t ring_index(const struct ring *r, size_t pos)
{
	size_t i = r->head + pos;
	return i >= r->cap ? i - r->cap : i;
}

int ring_init(struct ring *r, size_t cap)
{
	memset(r, 0, sizeof(*r));
	if (cap == 0)
		return 0;
	r->buf = malloc(cap);
	if (!r->buf)
		return -ENOMEM;
	r->cap = cap;
	return 0;
}

void ring_fini(struct ring *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/* The (up to two) spans of n bytes starting pos bytes past head; pos + n <= cap. */
static int ring_spans(const struct ring *r, size_t pos, size_t n, struct iovec iov[2])
{
	iov[0] = (struct iovec){ NULL, 0 };
	iov[1] = (struct iovec){ NULL, 0 };
	if (n == 0)
		return 0;
	size_t i = ring_index(r, pos);
	size_t first = min_sz(n, r->cap - i);
	iov[0].iov_base = r->buf + i;
	iov[0].iov_len = first;
	if (first == n)
		return 1;
	iov[1].iov_base = r->buf;
	iov[1].iov_len = n - first;
	return 2;
}

static void ring_copy_in(struct ring *r, size_t pos, const void *data, size_t n)
{
	struct iovec iov[2];
	int k = ring_spans(r, pos, n, iov);
	const uint8_t *p = data;
	for (int j = 0; j < k; j++) {
		memcpy(iov[j].iov_base, p, iov[j].iov_len);
		p += iov[j].iov_len;
	}
}

static void ring_copy_out(const struct ring *r, size_t pos, void *dst, size_t n)
{
	struct iovec iov[2];
	int k = ring_spans(r, pos, n, iov);
	uint8_t *p = dst;
	for (int j = 0; j < k; j++) {
		memcpy(p, iov[j].iov_base, iov[j].iov_len);
		p += iov[j].iov_len;
	}
}

size_t ring_write(struct ring *r, const void *data, size_t len)
{
	size_t n = ring_write_at(r, 0, data, len);
	r->len += n;
	return n;
}

size_t ring_read(struct ring *r, void *dst, size_t len)
{
	size_t n = ring_peek(r, 0, dst, len);
	return ring_consume(r, n);
}

size_t ring_peek(const struct ring *r, size_t off, void *dst, size_t len)
{
	if (off >= r->len)
		return 0;
	size_t n = min_sz(len, r->len - off);
	ring_copy_out(r, off, dst, n);
	return n;
}

int ring_peek_iov(const struct ring *r, size_t off, size_t len, struct iovec iov[2])
{
	size_t n = off >= r->len ? 0 : min_sz(len, r->len - off);
	return ring_spans(r, n ? off : 0, n, iov);
}

size_t ring_consume(struct ring *r, size_t len)
{
	size_t n = min_sz(len, r->len);
	r->head = ring_index(r, n);
	r->len -= n;
	return n;
}

size_t ring_write_at(struct ring *r, size_t off, const void *data, size_t len)
{
	size_t free_bytes = r->cap - r->len;
	if (off >= free_bytes)
		return 0;
	size_t n = min_sz(len, free_bytes - off);
	ring_copy_in(r, r->len + off, data, n);
	return n;
}

int ring_reserve_iov(struct ring *r, size_t off, size_t len, struct iovec iov[2])
{
	size_t free_bytes = r->cap - r->len;
	size_t n = off >= free_bytes ? 0 : min_sz(len, free_bytes - off);
	return ring_spans(r, n ? r->len + off : 0, n, iov);
}

size_t ring_commit(struct ring *r, size_t len)
{
	size_t n = min_sz(len, r->cap - r->len);
	r->len += n;
	return n;
}
