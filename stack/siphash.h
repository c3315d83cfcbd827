/* SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012), the
 * reference algorithm: a keyed 64-bit PRF for short inputs. Used for the secret function F
 * of TCP initial sequence numbers (RFC 6528 §3) and for SYN cookies, as Linux does. */
#ifndef USTACK_SIPHASH_H
#define USTACK_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/* SipHash-2-4 of len bytes at data under a 128-bit key (k0 = first 8 bytes, little
 * endian, as in the paper). data may be NULL when len is 0. */
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len);

#endif
