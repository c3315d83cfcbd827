/* RFC 4648 §4 base64, strict (see base64.h). */
#include "base64.h"

#include <errno.h>
#include <stdbool.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t i, k = 0;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[k++] = alphabet[v >> 18 & 63];
		out[k++] = alphabet[v >> 12 & 63];
		out[k++] = alphabet[v >> 6 & 63];
		out[k++] = alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		out[k++] = alphabet[v >> 18 & 63];
		out[k++] = alphabet[v >> 12 & 63];
		out[k++] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
		out[k++] = '=';
	}
	out[k] = '\0';
}

/* The 6-bit value of c, or -1. */
static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *text, size_t text_len, uint8_t *out, size_t *len)
{
	size_t k = 0;

	if (text_len % 4 != 0)
		return -EINVAL;
	for (size_t i = 0; i < text_len; i += 4) {
		bool last = i + 4 == text_len;
		int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
		int s[4];
		uint32_t v = 0;

		if (pad == 1 && text[i + 2] == '=')
			return -EINVAL; /* "x=y=" */
		for (int j = 0; j < 4 - pad; j++) {
			s[j] = sextet(text[i + j]);
			if (s[j] < 0)
				return -EINVAL;
			v |= (uint32_t)s[j] << (18 - 6 * j);
		}
		/* The bits past the last byte must be zero (RFC 4648 §3.5: canonical). */
		if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
			return -EINVAL;
		out[k++] = (uint8_t)(v >> 16);
		if (pad < 2)
			out[k++] = (uint8_t)(v >> 8);
		if (pad < 1)
			out[k++] = (uint8_t)v;
	}
	*len = k;
	return 0;
}
