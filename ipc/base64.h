/* Base64 (RFC 4648 §4, the standard alphabet, with padding): how byte strings travel in
 * varlink's JSON (design.md §4). Strict on decode: no whitespace, no missing or extra
 * padding, no bits left over in the last character, so one value has one encoding. */
#ifndef USTACK_IPC_BASE64_H
#define USTACK_IPC_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters base64_encode() writes for len bytes, without the NUL. */
static inline size_t base64_encoded_len(size_t len)
{
	return (len + 2) / 3 * 4;
}

/* Writes base64_encoded_len(len) characters and a NUL to out. */
void base64_encode(const uint8_t *in, size_t len, char *out);

/* Decodes text of text_len characters into out, which holds at least text_len / 4 * 3
 * bytes. 0 with *len set, or -EINVAL when the text is not canonical base64. */
int base64_decode(const char *text, size_t text_len, uint8_t *out, size_t *len);

#endif
