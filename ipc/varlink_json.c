/* The varlink codec's lean JSON parser (ipc/varlink_json.h). */
#include "ipc/varlink_json.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FAST_DEPTH_MAX 16
#define FAST_KEY_MAX 255
#define FAST_INT_DIGITS_MAX 18 /* always within int64 */

struct fast {
	const char *p, *end;
};

static bool fast_at(const struct fast *f, char c)
{
	return f->p < f->end && *f->p == c;
}

/* RFC 8259 §2: whitespace is space, tab, line feed and carriage return. */
static void fast_ws(struct fast *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' || *f->p == '\n' || *f->p == '\r'))
		f->p++;
}

static int fast_value(struct fast *f, int depth, struct json_object **out);

/* A string of printable ASCII without escapes: its bytes [*s, *s + *n). */
static int fast_string(struct fast *f, const char **s, size_t *n)
{
	const char *q;

	if (!fast_at(f, '"'))
		return -EAGAIN;
	for (q = f->p + 1; q < f->end && *q != '"'; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x80 || *q == '\\')
			return -EAGAIN;
	if (q == f->end)
		return -EAGAIN;
	*s = f->p + 1;
	*n = (size_t)(q - *s);
	f->p = q + 1;
	return 0;
}

/* An integer: -?(0|[1-9][0-9]*), at most 18 digits, no fraction or exponent. */
static int fast_int(struct fast *f, struct json_object **out)
{
	const char *q = f->p;
	bool neg = q < f->end && *q == '-';
	int64_t v = 0;
	int digits = 0;

	q += neg;
	if (q == f->end || *q < '0' || *q > '9')
		return -EAGAIN;
	if (*q == '0' && (neg || (q + 1 < f->end && q[1] >= '0' && q[1] <= '9')))
		return -EAGAIN; /* "-0" and leading zeros: json-c's to judge */
	for (; q < f->end && *q >= '0' && *q <= '9'; q++) {
		if (++digits > FAST_INT_DIGITS_MAX)
			return -EAGAIN;
		v = v * 10 + (*q - '0');
	}
	if (q < f->end && (*q == '.' || *q == 'e' || *q == 'E'))
		return -EAGAIN;
	*out = json_object_new_int64(neg ? -v : v);
	if (!*out)
		return -ENOMEM;
	f->p = q;
	return 0;
}

/* true, false or null (*out NULL, as json-c has it). */
static int fast_literal(struct fast *f, struct json_object **out)
{
	static const struct {
		const char *text;
		size_t len;
		int value; /* 0, 1; -1: null */
	} lits[] = { { "true", 4, 1 }, { "false", 5, 0 }, { "null", 4, -1 } };

	for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		if ((size_t)(f->end - f->p) < lits[i].len ||
		    memcmp(f->p, lits[i].text, lits[i].len) != 0)
			continue;
		*out = NULL;
		if (lits[i].value >= 0 && !(*out = json_object_new_boolean(lits[i].value)))
			return -ENOMEM;
		f->p += lits[i].len;
		return 0;
	}
	return -EAGAIN;
}

/* After an element of a container: ',' (true, go on) or `close` (false, done). */
static int fast_next(struct fast *f, char close, bool *more)
{
	fast_ws(f);
	if (fast_at(f, ',') || fast_at(f, close)) {
		*more = *f->p == ',';
		f->p++;
		fast_ws(f);
		return 0;
	}
	return -EAGAIN;
}

static int fast_object(struct fast *f, int depth, struct json_object **out)
{
	struct json_object *o = json_object_new_object(), *v;
	char key[FAST_KEY_MAX + 1];
	bool more = true;
	int r = 0;

	if (!o)
		return -ENOMEM;
	f->p++; /* '{' */
	fast_ws(f);
	if (fast_at(f, '}')) {
		f->p++;
		more = false;
	}
	while (more) {
		const char *s;
		size_t n;

		r = fast_string(f, &s, &n);
		if (r == 0 && n > FAST_KEY_MAX)
			r = -EAGAIN;
		if (r < 0)
			break;
		memcpy(key, s, n);
		key[n] = '\0';
		fast_ws(f);
		if (!fast_at(f, ':')) {
			r = -EAGAIN;
			break;
		}
		f->p++;
		fast_ws(f);
		r = fast_value(f, depth + 1, &v);
		if (r < 0)
			break;
		/* a repeated key replaces the earlier value, as json-c's tokener does */
		if (json_object_object_add(o, key, v) < 0) {
			json_object_put(v);
			r = -ENOMEM;
			break;
		}
		r = fast_next(f, '}', &more);
		if (r < 0)
			break;
	}
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	*out = o;
	return 0;
}

/* Elements are collected first and the array made at its final size: json-c's own growth
 * (32, 64, 128 slots by realloc) made a 1 KiB request per Batch of 100, and such a request
 * makes glibc consolidate every small chunk freed since (8 % of the daemon's CPU under
 * batched sets). */
#define FAST_ARRAY_STACK 128

static int fast_array(struct fast *f, int depth, struct json_object **out)
{
	struct json_object *stack_items[FAST_ARRAY_STACK], **items = stack_items, *a = NULL;
	size_t n = 0, cap = FAST_ARRAY_STACK;
	bool more = true;
	int r = 0;

	f->p++; /* '[' */
	fast_ws(f);
	if (fast_at(f, ']')) {
		f->p++;
		more = false;
	}
	while (more) {
		if (n == cap) {
			struct json_object **ni = malloc(2 * cap * sizeof(*ni));

			if (!ni) {
				r = -ENOMEM;
				break;
			}
			memcpy(ni, items, n * sizeof(*ni));
			if (items != stack_items)
				free(items);
			items = ni;
			cap *= 2;
		}
		r = fast_value(f, depth + 1, &items[n]);
		if (r < 0)
			break;
		n++;
		r = fast_next(f, ']', &more);
		if (r < 0)
			break;
	}
	if (r == 0) {
		/* one slot spare: json-c's array_list_add() grows a full array even when the
		 * element it adds is the one that fills it */
		a = json_object_new_array_ext((int)n + 1);
		if (!a)
			r = -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (r == 0 && json_object_array_add(a, items[i]) == 0)
			continue;
		r = r < 0 ? r : -ENOMEM;
		json_object_put(items[i]);
	}
	if (items != stack_items)
		free(items);
	if (r < 0) {
		json_object_put(a);
		return r;
	}
	*out = a;
	return 0;
}

static int fast_value(struct fast *f, int depth, struct json_object **out)
{
	const char *s;
	size_t n;
	int r;

	if (f->p == f->end || depth > FAST_DEPTH_MAX)
		return -EAGAIN;
	switch (*f->p) {
	case '{':
		return fast_object(f, depth, out);
	case '[':
		return fast_array(f, depth, out);
	case '"':
		r = fast_string(f, &s, &n);
		if (r == 0 && !(*out = json_object_new_string_len(s, (int)n)))
			r = -ENOMEM;
		return r;
	case 't':
	case 'f':
	case 'n':
		return fast_literal(f, out);
	default:
		return fast_int(f, out);
	}
}

int varlink_json_parse_fast(const char *text, size_t len, struct json_object **out)
{
	struct fast f = { text, text + len };
	struct json_object *o;
	int r;

	fast_ws(&f);
	if (!fast_at(&f, '{'))
		return -EAGAIN;
	r = fast_object(&f, 1, &o);
	if (r < 0)
		return r;
	fast_ws(&f);
	if (f.p != f.end) {
		json_object_put(o);
		return -EAGAIN;
	}
	*out = o;
	return 0;
}
