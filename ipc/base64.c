/* RFC 4648 §4 base64, strict (see base64.h). */
#include "base64.h"

#include <errno.h>

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

/* The 6-bit value of each character, 255 for one outside the alphabet: one load per
 * character instead of a chain of range tests (decoding was 4 % of the daemon's CPU
 * under batched sets, docs/performance.md "CPU per call"). */
static const uint8_t sextets[256] = {
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  62, 255, 255, 255,  63,
	 52,  53,  54,  55,  56,  57,  58,  59,  60,  61, 255, 255, 255, 255, 255, 255,
	255,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,
	 15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25, 255, 255, 255, 255, 255,
	255,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
	 41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};

/* The last n characters' 6-bit values in the top of 24 bits, or -1 when one is outside
 * the alphabet. */
static int32_t quad(const char *t, int n)
{
	uint32_t v = 0, bad = 0;

	for (int j = 0; j < n; j++) {
		uint8_t s = sextets[(uint8_t)t[j]];

		bad |= s;
		v |= (uint32_t)s << (18 - 6 * j);
	}
	return bad & 0x80 ? -1 : (int32_t)v;
}

int base64_decode(const char *text, size_t text_len, uint8_t *out, size_t *len)
{
	size_t k = 0, i;
	int pad;
	int32_t v;

	if (text_len % 4 != 0)
		return -EINVAL;
	if (text_len == 0) {
		*len = 0;
		return 0;
	}
	for (i = 0; i + 4 < text_len; i += 4) {
		const uint8_t *q = (const uint8_t *)text + i;
		uint32_t a = sextets[q[0]], b = sextets[q[1]], c = sextets[q[2]], d = sextets[q[3]];

		if ((a | b | c | d) & 0x80)
			return -EINVAL;
		v = (int32_t)(a << 18 | b << 12 | c << 6 | d);
		out[k++] = (uint8_t)(v >> 16);
		out[k++] = (uint8_t)(v >> 8);
		out[k++] = (uint8_t)v;
	}
	/* The last quad may end in padding: "xx==" or "xxx=", not "x=y=". */
	pad = (text[i + 3] == '=') + (text[i + 2] == '=');
	if (pad == 1 && text[i + 2] == '=')
		return -EINVAL;
	v = quad(text + i, 4 - pad);
	if (v < 0)
		return -EINVAL;
	/* The bits past the last byte must be zero (RFC 4648 §3.5: canonical). */
	if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
		return -EINVAL;
	out[k++] = (uint8_t)(v >> 16);
	if (pad < 2)
		out[k++] = (uint8_t)(v >> 8);
	if (pad < 1)
		out[k++] = (uint8_t)v;
	*len = k;
	return 0;
}
