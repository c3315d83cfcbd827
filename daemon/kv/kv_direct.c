/* io.ustack.KV's hot calls straight from their text (kv_direct.h). */
#include "kv_direct.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/base64.h"
#include "ipc/varlink.h"

struct scan {
	const char *p, *end;
};

struct span {
	const char *s;
	size_t n;
};

/* RFC 8259 §2: whitespace is space, tab, line feed and carriage return. */
static void scan_ws(struct scan *sc)
{
	while (sc->p < sc->end &&
	       (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
		sc->p++;
}

/* Whitespace, then the character c. */
static bool scan_eat(struct scan *sc, char c)
{
	scan_ws(sc);
	if (sc->p == sc->end || *sc->p != c)
		return false;
	sc->p++;
	return true;
}

/* Past the bytes from q on that are printable ASCII and neither '"' nor '\\', 8 at a time
 * (a Batch's base64 values are most of its text): a word is passed when none of its bytes
 * is below 0x20, has its top bit set, or is equal to either (the "has a zero byte" test of
 * x - 0x01.. & ~x & 0x80.., exact as to whether one exists). It may stop early, never
 * late: the byte loop after it decides. */
static const char *scan_plain(const char *q, const char *end)
{
	const uint64_t lo = 0x0101010101010101ull, hi = 0x8080808080808080ull;

	while (end - q >= 8) {
		uint64_t v, qv, bv;

		memcpy(&v, q, sizeof(v));
		qv = v ^ (lo * '"');
		bv = v ^ (lo * '\\');
		if ((((v - lo * 0x20) & ~v) | ((qv - lo) & ~qv) | ((bv - lo) & ~bv) | v) & hi)
			break;
		q += 8;
	}
	return q;
}

/* Whitespace, then a string of printable ASCII without escapes (anything else: the json-c
 * path decodes it). */
static bool scan_string(struct scan *sc, struct span *out)
{
	const char *q;

	if (!scan_eat(sc, '"'))
		return false;
	for (q = scan_plain(sc->p, sc->end); q < sc->end && *q != '"'; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x80 || *q == '\\')
			return false;
	if (q == sc->end)
		return false;
	out->s = sc->p;
	out->n = (size_t)(q - sc->p);
	sc->p = q + 1;
	return true;
}

static bool span_is(const struct span *sp, const char *lit)
{
	size_t n = strlen(lit);

	return sp->n == n && memcmp(sp->s, lit, n) == 0;
}

/* Whitespace, then `"name":` for the given name. */
static bool scan_name(struct scan *sc, const char *name)
{
	struct span k;

	return scan_string(sc, &k) && span_is(&k, name) && scan_eat(sc, ':');
}

/* The names an object of strings may have, each at most once. */
enum { M_KEY = 1, M_VALUE = 2, M_OP = 4 };

/* An object whose members are all strings named "key", "value" or "op", each at most
 * once: the mask of those present, their text in out[key, value, op]; -1 otherwise. */
static int scan_members(struct scan *sc, struct span out[3])
{
	static const char *const names[] = { "key", "value", "op" };
	int mask = 0;

	memset(out, 0, 3 * sizeof(out[0])); /* those absent: empty */
	if (!scan_eat(sc, '{'))
		return -1;
	do {
		struct span k, v;
		size_t i;

		if (!scan_string(sc, &k) || !scan_eat(sc, ':') || !scan_string(sc, &v))
			return -1;
		for (i = 0; i < 3 && !span_is(&k, names[i]); i++)
			;
		if (i == 3 || (mask & (1 << i)))
			return -1; /* unknown, or repeated: json-c's rules decide */
		mask |= 1 << i;
		out[i] = v;
	} while (scan_eat(sc, ','));
	return scan_eat(sc, '}') ? mask : -1;
}

struct dop {
	enum kv_op_kind kind;
	struct span key, value;
};

/* One Batch operation: {"op": "set", "key", "value"} or {"op": "remove", "key"}. */
static bool scan_op(struct scan *sc, struct dop *op)
{
	struct span m[3];
	int mask = scan_members(sc, m);

	if (mask < 0 || !(mask & M_OP))
		return false;
	op->key = m[0];
	op->value = m[1];
	if (span_is(&m[2], "set") && mask == (M_OP | M_KEY | M_VALUE))
		op->kind = KV_OP_SET;
	else if (span_is(&m[2], "remove") && mask == (M_OP | M_KEY))
		op->kind = KV_OP_REMOVE;
	else
		return false;
	return true;
}

/* The parameters of a Batch: {"operations": [op, ...]}, 1 to KV_DIRECT_OPS_MAX. */
static size_t scan_batch(struct scan *sc, struct dop *ops)
{
	size_t n = 0;

	if (!scan_eat(sc, '{') || !scan_name(sc, "operations") || !scan_eat(sc, '['))
		return 0;
	do {
		if (n == KV_DIRECT_OPS_MAX || !scan_op(sc, &ops[n]))
			return 0;
		n++;
	} while (scan_eat(sc, ','));
	return scan_eat(sc, ']') && scan_eat(sc, '}') ? n : 0;
}

/* The operations' keys (NUL-terminated) and decoded values copied into one write. */
static int write_of(const struct dop *ops, size_t n, bool batch, struct kv_rpc_write **out)
{
	struct kv_rpc_write *w;
	size_t need = 0;

	for (size_t i = 0; i < n; i++)
		need += ops[i].key.n + 1 + ops[i].value.n / 4 * 3; /* each below the message */
	w = kv_rpc_write_new(n, batch, need);
	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct kv_op *op = &w->ops[i];
		char *key = (char *)w->values + w->values_len;

		*op = (struct kv_op){ .kind = ops[i].kind, .key = key };
		memcpy(key, ops[i].key.s, ops[i].key.n);
		key[ops[i].key.n] = '\0';
		w->values_len += ops[i].key.n + 1;
		if (ops[i].kind != KV_OP_SET)
			continue;
		op->value = w->values + w->values_len;
		if (base64_decode(ops[i].value.s, ops[i].value.n, w->values + w->values_len,
				  &op->len) < 0) {
			kv_rpc_write_free(w); /* InvalidParameter: the json-c path names it */
			return -EAGAIN;
		}
		w->values_len += op->len;
	}
	*out = w;
	return 0;
}

int kv_direct_parse(const char *text, size_t len, struct kv_direct_call *call)
{
	struct scan sc = { text, text + len };
	struct dop ops[KV_DIRECT_OPS_MAX];
	struct span method, m[3];
	bool batch = false;
	size_t n = 1;
	int r;

	call->write = call->exists = false;
	call->w = NULL;
	if (!scan_eat(&sc, '{') || !scan_name(&sc, "method") || !scan_string(&sc, &method) ||
	    !scan_eat(&sc, ',') || !scan_name(&sc, "parameters"))
		return -EAGAIN;
	if (span_is(&method, "io.ustack.KV.Get") || span_is(&method, "io.ustack.KV.Exists")) {
		r = scan_members(&sc, m);
		if (r != M_KEY || m[0].n > KV_DIRECT_KEY_MAX)
			return -EAGAIN;
		memcpy(call->key, m[0].s, m[0].n);
		call->key[m[0].n] = '\0';
		call->exists = method.n == strlen("io.ustack.KV.Exists");
	} else if (span_is(&method, "io.ustack.KV.Set")) {
		if (scan_members(&sc, m) != (M_KEY | M_VALUE))
			return -EAGAIN;
		ops[0] = (struct dop){ KV_OP_SET, m[0], m[1] };
		call->write = true;
	} else if (span_is(&method, "io.ustack.KV.Batch")) {
		n = scan_batch(&sc, ops);
		if (n == 0)
			return -EAGAIN;
		call->write = batch = true;
	} else {
		return -EAGAIN;
	}
	if (!scan_eat(&sc, '}'))
		return -EAGAIN;
	scan_ws(&sc);
	if (sc.p != sc.end)
		return -EAGAIN;
	return call->write ? write_of(ops, n, batch, &call->w) : 0;
}

/* Room for need bytes in *buf. */
static int text_room(char **buf, size_t *cap, size_t need)
{
	char *nb;

	if (need <= *cap)
		return 0;
	nb = realloc(*buf, need);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = need;
	return 0;
}

/* Exists: {} when absent (kind is null, not an error), else its kind. */
static int exists_reply(const struct kv_rpc_store *st, const char *key, char **buf,
			size_t *cap, size_t *len)
{
	static const char absent[] = "{\"parameters\":{}}",
			  value[] = "{\"parameters\":{\"kind\":\"value\"}}",
			  dict[] = "{\"parameters\":{\"kind\":\"dictionary\"}}";
	enum kv_kind kind;
	const char *t;
	int r = kv_exists(st->kv, key, &kind);

	if (r < 0)
		return -EAGAIN;
	t = kind == KV_ABSENT ? absent : kind == KV_VALUE ? value : dict;
	*len = strlen(t) + 1;
	r = text_room(buf, cap, *len);
	if (r == 0)
		memcpy(*buf, t, *len);
	return r;
}

int kv_direct_read(const struct kv_rpc_store *st, const struct kv_direct_call *call,
		   char **buf, size_t *cap, size_t *len)
{
	static const char head[] = "{\"parameters\":{\"value\":\"", tail[] = "\"}}";
	size_t hlen = sizeof(head) - 1, vlen, blen;
	uint8_t *v;
	int r;

	if (call->exists)
		return exists_reply(st, call->key, buf, cap, len);
	r = kv_get(st->kv, call->key, &v, &vlen);
	if (r < 0)
		return -EAGAIN;
	if (st->max_reply_value_bytes && vlen > st->max_reply_value_bytes) {
		free(v);
		return -EAGAIN; /* TooLarge */
	}
	blen = base64_encoded_len(vlen);
	r = text_room(buf, cap, hlen + blen + sizeof(tail));
	if (r == 0) {
		memcpy(*buf, head, hlen);
		base64_encode(v, vlen, *buf + hlen);
		memcpy(*buf + hlen + blen, tail, sizeof(tail));
		*len = hlen + blen + sizeof(tail);
	}
	free(v);
	return r;
}

int kv_direct_call(const struct kv_rpc_store *st, const char *text, size_t len,
		   uint64_t now_ns, char **buf, size_t *cap, size_t *out_len)
{
	struct kv_direct_call call;
	struct kv_rpc_result res;
	struct json_object *msg;
	const char *t;
	int r = kv_direct_parse(text, len, &call);

	if (r < 0)
		return r;
	if (!call.write)
		return kv_direct_read(st, &call, buf, cap, out_len);
	call.w->req.result = kv_batch(st->kv, call.w->ops, call.w->n, now_ns, &call.w->req.failed);
	if (call.w->req.result == 0) {
		kv_rpc_write_free(call.w);
		r = text_room(buf, cap, KV_DIRECT_OK_LEN);
		if (r == 0)
			memcpy(*buf, KV_DIRECT_OK, KV_DIRECT_OK_LEN);
		*out_len = KV_DIRECT_OK_LEN;
		return r;
	}
	/* An error: the json-c path's words (kv_rpc_write_finish() frees w). */
	if (kv_rpc_write_finish(call.w, 0, &res) < 0)
		return -ENOMEM;
	msg = varlink_error_new(res.error, res.params);
	t = msg ? varlink_msg_text(msg, out_len) : NULL;
	r = t ? text_room(buf, cap, *out_len) : -ENOMEM;
	if (r == 0)
		memcpy(*buf, t, *out_len);
	json_object_put(msg);
	return r;
}
