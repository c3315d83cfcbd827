/* A byte ring buffer for the TCP send and receive queues.
 *
 *                 head                        head+len          head+len+free
 *   buf: ... free |<------- used (readable) ------->|<--------- free --------->| ...
 *                 ^ offset 0 for peek/consume       ^ offset 0 for write_at/reserve
 *
 * Offsets are bytes, modulo cap; the storage wraps around. Two sides:
 *  - Send queue: the application's bytes are ring_write()n (or readv(2)n into
 *    ring_reserve_iov() + ring_commit()); TCP sends from ring_peek_iov(r, SND.NXT - SND.UNA,
 *    ...) without copying and ring_consume()s what the peer acknowledged.
 *  - Receive queue: a segment whose data starts at RCV.NXT + k is copied with
 *    ring_write_at(r, k, ...) into the free space (out-of-order data stays there, invisible
 *    to readers); when the assembler (buf/assembler.h) reports that n more bytes are
 *    contiguous, ring_commit(r, n) makes them readable; the application side
 *    ring_read()s them. The free space is exactly the receive window to advertise.
 *
 * The ring never moves data that was written beyond the used bytes: head only advances on
 * consume/read (it is NOT reset when the ring empties, since out-of-order bytes may sit in
 * the free space).
 *
 * Byte counts are size_t and saturate: a call asked for more than is possible does what is
 * possible and returns how much that was. Not thread-safe; no hidden allocation after
 * ring_init(). */
#ifndef USTACK_BUF_RING_H
#define USTACK_BUF_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct ring {
	uint8_t *buf; /* cap bytes, owned (ring_init/ring_fini) */
	size_t cap;   /* capacity in bytes */
	size_t head;  /* index in buf of the first used byte, < cap (0 when cap == 0) */
	size_t len;   /* used (readable) bytes, <= cap */
};

#define RING_WARN_UNUSED __attribute__((warn_unused_result))

/* Allocates cap bytes. 0 or -ENOMEM. cap == 0 is allowed (an empty ring that takes
 * nothing; buf NULL). On failure *r is a valid empty ring that ring_fini() accepts. */
int ring_init(struct ring *r, size_t cap);
/* Frees the storage; *r becomes an empty zero-capacity ring. Idempotent. */
void ring_fini(struct ring *r);

/* Readable bytes. */
static inline size_t ring_used(const struct ring *r)
{
	return r->len;
}

/* Free space in bytes (NOT a destructor: that is ring_fini). Marked warn_unused_result so a
 * mistaken `ring_free(r);` fails to build under -Werror. */
RING_WARN_UNUSED static inline size_t ring_free(const struct ring *r)
{
	return r->cap - r->len;
}

/* Appends up to len bytes; returns the number taken (< len when the ring fills up). */
size_t ring_write(struct ring *r, const void *data, size_t len);
/* Copies up to len readable bytes to dst and consumes them; returns the number read. */
size_t ring_read(struct ring *r, void *dst, size_t len);
/* Copies up to len readable bytes starting off bytes past head to dst, consuming nothing;
 * returns the number copied (0 when off >= used). */
size_t ring_peek(const struct ring *r, size_t off, void *dst, size_t len);
/* Zero-copy view of up to len readable bytes starting off bytes past head: fills iov[0]
 * and, when the range wraps, iov[1]; returns the number of iovecs filled (0, 1 or 2;
 * unused entries are set to {NULL, 0}). The view is read-only and valid until the next
 * call that changes the ring. Use with ipv4_write()'s payload iovec. */
int ring_peek_iov(const struct ring *r, size_t off, size_t len, struct iovec iov[2]);
/* Drops up to len readable bytes from the front; returns the number dropped. */
size_t ring_consume(struct ring *r, size_t len);

/* Copies up to len bytes into the free space, off bytes past the end of the used bytes
 * (off 0 = just after the last readable byte). They are not readable until committed.
 * Returns the number copied: min(len, free - off), 0 when off >= free. Overwrites whatever
 * was written at those positions before (re-received data is identical anyway). */
size_t ring_write_at(struct ring *r, size_t off, const void *data, size_t len);
/* Zero-copy view of up to len bytes of free space starting off bytes past the used bytes,
 * for writing in place (e.g. readv(2) from the application's socket); like ring_peek_iov().
 * Follow with ring_commit(). */
int ring_reserve_iov(struct ring *r, size_t off, size_t len, struct iovec iov[2]);
/* Makes up to len more bytes (from the start of the free space) readable; returns the
 * number committed: min(len, free). */
size_t ring_commit(struct ring *r, size_t len);

#endif
