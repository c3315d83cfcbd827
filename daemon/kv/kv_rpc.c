/* io.ustack.KV over json-c (kv_rpc.h): parameters checked, the store called, its errno
 * turned into the interface's errors (ipc/io.ustack.KV.varlink), values in base64. */
#include "kv_rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/base64.h"

#define KV_ERR(name) "io.ustack.KV." name

static int result(struct kv_rpc_result *res, const char *error, struct json_object *params)
{
	if (!params)
		return -ENOMEM;
	res->error = error;
	res->params = params;
	return 0;
}

static int reply_empty(struct kv_rpc_result *res)
{
	return result(res, NULL, json_object_new_object());
}

/* A reply {name: v}; takes v. */
static int reply_field(struct kv_rpc_result *res, const char *name, struct json_object *v)
{
	struct json_object *p = json_object_new_object();

	if (!p || !v) {
		json_object_put(p);
		json_object_put(v);
		return -ENOMEM;
	}
	json_object_object_add(p, name, v);
	return result(res, NULL, p);
}

static int invalid_parameter(struct kv_rpc_result *res, const char *name)
{
	struct json_object *p = json_object_new_object();

	if (p)
		json_object_object_add(p, "parameter", json_object_new_string(name));
	return result(res, "org.varlink.service.InvalidParameter", p);
}

/* A required string parameter. */
static int param_string(struct json_object *params, const char *name, const char **out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(params, name, &v) || !json_object_is_type(v, json_type_string))
		return -EINVAL;
	*out = json_object_get_string(v);
	/* A NUL inside would cut the key short unseen: not a key. */
	return strlen(*out) == (size_t)json_object_get_string_len(v) ? 0 : -EINVAL;
}

/* A required integer parameter, not negative. */
static int param_u64(struct json_object *params, const char *name, uint64_t *out)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(params, name, &v) || !json_object_is_type(v, json_type_int))
		return -EINVAL;
	x = json_object_get_int64(v);
	if (x < 0)
		return -EINVAL;
	*out = (uint64_t)x;
	return 0;
}

/* The bytes a base64 parameter decodes to at most (0 when absent or not a string). */
static size_t param_bytes_max(struct json_object *params, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(params, name, &v) || !json_object_is_type(v, json_type_string))
		return 0;
	return (size_t)json_object_get_string_len(v) / 4 * 3;
}

/* A required base64 parameter, decoded into the write's value buffer (sized beforehand by
 * param_bytes_max(): one allocation for all the values of a batch, not one each). */
static int param_bytes(struct json_object *params, const char *name, struct kv_rpc_write *w,
		       const void **buf, size_t *len)
{
	struct json_object *v;
	const char *text;
	size_t tlen;

	if (!json_object_object_get_ex(params, name, &v) || !json_object_is_type(v, json_type_string))
		return -EINVAL;
	text = json_object_get_string(v);
	tlen = (size_t)json_object_get_string_len(v);
	if (tlen / 4 * 3 > w->values_cap - w->values_len)
		return -EINVAL; /* cannot be: sized from the same string */
	if (base64_decode(text, tlen, w->values + w->values_len, len) < 0)
		return -EINVAL;
	*buf = w->values + w->values_len;
	w->values_len += *len;
	return 0;
}

/* The store's errno as the interface's error. key: the call's key; dest: a rename's
 * destination (NULL otherwise); index: a batch operation's position, or -1. */
static int store_error(struct kv_rpc_result *res, int err, const char *key, const char *dest,
		       long index)
{
	struct json_object *p = json_object_new_object();
	const char *name, *about = key, *why = NULL;

	if (!p)
		return -ENOMEM;
	if (dest && err != -ENOENT)
		about = dest; /* a rename fails on its destination, unless the source is absent */
	switch (err) {
	case -ENOENT:
		name = KV_ERR("NotFound");
		break;
	case -ENOTDIR:
		name = KV_ERR("DictionaryExpected");
		break;
	case -EISDIR:
		name = KV_ERR("ValueExpected");
		break;
	case -ENOSPC:
	case -EFBIG:
		name = KV_ERR("NoSpace");
		json_object_object_add(p, "reason", json_object_new_string(
			err == -EFBIG ? "value_too_large" : "store_full"));
		break;
	case -EEXIST:
		name = KV_ERR("AlreadyPresent");
		break;
	case -EINVAL:
	case -ENAMETOOLONG:
		name = KV_ERR("InvalidKey");
		about = key;
		if (kv_key_check(key, &why) < 0)
			break;
		if (dest && kv_key_check(dest, &why) < 0)
			about = dest;
		else /* both keys are fine: the rename itself is impossible */
			why = err == -ENAMETOOLONG ? "a moved key would be longer than 480 bytes"
						   : "cannot rename \"/\" or a dictionary into itself";
		break;
	default:
		json_object_put(p);
		p = json_object_new_object();
		if (p)
			json_object_object_add(p, "message", json_object_new_string(strerror(-err)));
		if (p && index >= 0)
			json_object_object_add(p, "index", json_object_new_int64(index));
		return result(res, KV_ERR("StorageError"), p);
	}
	json_object_object_add(p, "key", json_object_new_string(about ? about : ""));
	if (why)
		json_object_object_add(p, "reason", json_object_new_string(why));
	if (index >= 0)
		json_object_object_add(p, "index", json_object_new_int64(index));
	return result(res, name, p);
}

static const char *kind_name(enum kv_kind k)
{
	return k == KV_VALUE ? "value" : "dictionary";
}

/* TooLarge: len bytes of key's value, more than one reply carries. */
static int too_large(const struct kv_rpc_store *st, struct kv_rpc_result *res, const char *key,
		     size_t len)
{
	struct json_object *p = json_object_new_object();

	if (p) {
		json_object_object_add(p, "key", json_object_new_string(key));
		json_object_object_add(p, "size", json_object_new_int64((int64_t)len));
		json_object_object_add(p, "max_bytes",
				       json_object_new_int64((int64_t)st->max_reply_value_bytes));
	}
	return result(res, KV_ERR("TooLarge"), p);
}

/* A reply {value: base64(data)}, or TooLarge; takes data. Checked on the value read, not
 * by a size lookup first: an ordinary Get costs one lookup. */
static int reply_value(const struct kv_rpc_store *st, struct kv_rpc_result *res,
		       const char *key, uint8_t *data, size_t len)
{
	const char *name = "value";
	char *text;
	struct json_object *p;
	int r = -ENOMEM;

	if (st->max_reply_value_bytes && len > st->max_reply_value_bytes) {
		free(data);
		return too_large(st, res, key, len);
	}
	text = malloc(base64_encoded_len(len) + 1);
	p = json_object_new_object();
	if (text && p) {
		base64_encode(data, len, text);
		json_object_object_add(p, name,
				       json_object_new_string_len(text, (int)base64_encoded_len(len)));
		r = result(res, NULL, p);
		p = NULL;
	}
	json_object_put(p);
	free(text);
	free(data);
	return r;
}

/* The read methods: the "key" parameter, checked by the dispatcher, then one store call. */
static int h_exists(const struct kv_rpc_store *st, struct json_object *params, const char *key,
		    struct kv_rpc_result *res)
{
	enum kv_kind kind;
	int r = kv_exists(st->kv, key, &kind);

	(void)params;
	if (r < 0)
		return store_error(res, r, key, NULL, -1);
	if (kind == KV_ABSENT) /* not an error: kind is null */
		return reply_empty(res);
	return reply_field(res, "kind", json_object_new_string(kind_name(kind)));
}

static int h_get(const struct kv_rpc_store *st, struct json_object *params, const char *key,
		 struct kv_rpc_result *res)
{
	uint8_t *v;
	size_t len;
	int r = kv_get(st->kv, key, &v, &len);

	(void)params;
	return r < 0 ? store_error(res, r, key, NULL, -1) : reply_value(st, res, key, v, len);
}

static int h_get_partial(const struct kv_rpc_store *st, struct json_object *params,
			 const char *key, struct kv_rpc_result *res)
{
	uint64_t offset, length;
	uint8_t *v;
	size_t len;
	int r;

	if (param_u64(params, "offset", &offset) < 0)
		return invalid_parameter(res, "offset");
	if (param_u64(params, "length", &length) < 0)
		return invalid_parameter(res, "length");
	r = kv_get_partial(st->kv, key, offset, length, &v, &len);
	return r < 0 ? store_error(res, r, key, NULL, -1) : reply_value(st, res, key, v, len);
}

static int h_list(const struct kv_rpc_store *st, struct json_object *params, const char *key,
		  struct kv_rpc_result *res)
{
	struct kv_entry *e;
	struct json_object *arr;
	size_t n;
	int r = kv_list(st->kv, key, &e, &n);

	(void)params;
	if (r < 0)
		return store_error(res, r, key, NULL, -1);
	arr = json_object_new_array_ext((int)n);
	for (size_t i = 0; arr && i < n; i++) {
		struct json_object *o = json_object_new_object();

		if (!o)
			break;
		json_object_object_add(o, "name", json_object_new_string(e[i].name));
		json_object_object_add(o, "kind", json_object_new_string(kind_name(e[i].kind)));
		json_object_array_add(arr, o);
	}
	kv_entries_free(e, n);
	if (arr && json_object_array_length(arr) != n) {
		json_object_put(arr);
		return -ENOMEM;
	}
	return reply_field(res, "entries", arr);
}

static int h_last_modified(const struct kv_rpc_store *st, struct json_object *params,
			   const char *key, struct kv_rpc_result *res)
{
	uint64_t t;
	struct json_object *p;
	int r = kv_last_modified(st->kv, key, &t);

	(void)params;
	if (r < 0)
		return store_error(res, r, key, NULL, -1);
	/* Seconds and nanoseconds apart: a JSON reader with doubles keeps both exact. */
	p = json_object_new_object();
	if (p) {
		json_object_object_add(p, "seconds", json_object_new_int64((int64_t)(t / 1000000000)));
		json_object_object_add(p, "nanoseconds",
				       json_object_new_int64((int64_t)(t % 1000000000)));
	}
	return result(res, NULL, p);
}

static int h_digest(const struct kv_rpc_store *st, struct json_object *params, const char *key,
		    struct kv_rpc_result *res)
{
	uint8_t d[KV_DIGEST_BYTES];
	char hex[2 * KV_DIGEST_BYTES + 1];
	int r = kv_digest(st->kv, key, d);

	(void)params;
	if (r < 0)
		return store_error(res, r, key, NULL, -1);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return reply_field(res, "digest", json_object_new_string(hex));
}

static int h_size(const struct kv_rpc_store *st, struct json_object *params, const char *key,
		  struct kv_rpc_result *res)
{
	uint64_t size;
	int r = kv_size(st->kv, key, &size);

	(void)params;
	if (r < 0)
		return store_error(res, r, key, NULL, -1);
	return reply_field(res, "size", json_object_new_int64((int64_t)size));
}

/* One write operation from its parameters (a call's, or a batch element's): the op filled
 * in, its value decoded into w->values. Returns 0, or the name of the bad parameter in
 * *bad (-EINVAL). */
static int parse_op(struct json_object *o, enum kv_op_kind kind, struct kv_rpc_write *w,
		    struct kv_op *op, const char **bad)
{
	*op = (struct kv_op){ .kind = kind };
	/* A Rename call names its source "source"; a batch operation, like all, "key". */
	*bad = kind == KV_OP_RENAME && !json_object_object_get_ex(o, "op", NULL) ? "source" : "key";
	if (param_string(o, *bad, &op->key) < 0)
		return -EINVAL;
	if (kind == KV_OP_RENAME) {
		*bad = "dest";
		return param_string(o, "dest", &op->dest);
	}
	if (kind == KV_OP_SET_PARTIAL) {
		*bad = "offset";
		if (param_u64(o, "offset", &op->offset) < 0)
			return -EINVAL;
	}
	if (kind == KV_OP_REMOVE)
		return 0;
	*bad = "value";
	return param_bytes(o, "value", w, &op->value, &op->len);
}

static int op_kind(const char *name, enum kv_op_kind *kind)
{
	static const struct {
		const char *name;
		enum kv_op_kind kind;
	} ops[] = {
		{ "set", KV_OP_SET },
		{ "set_partial", KV_OP_SET_PARTIAL },
		{ "remove", KV_OP_REMOVE },
		{ "rename", KV_OP_RENAME },
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(name, ops[i].name) == 0) {
			*kind = ops[i].kind;
			return 0;
		}
	return -EINVAL;
}

void kv_rpc_write_free(struct kv_rpc_write *w)
{
	if (!w)
		return;
	free(w->values);
	free(w);
}

struct kv_rpc_write *kv_rpc_write_new(size_t n, bool batch, size_t values_max)
{
	struct kv_rpc_write *w;

	if (n > (SIZE_MAX - sizeof(*w)) / sizeof(w->ops_mem[0]))
		return NULL;
	w = calloc(1, sizeof(*w) + n * sizeof(w->ops_mem[0]));
	if (!w)
		return NULL;
	w->n = n;
	w->batch = batch;
	w->ops = w->ops_mem;
	w->values_cap = values_max;
	w->values = malloc(values_max ? values_max : 1);
	if (!w->values) {
		kv_rpc_write_free(w);
		return NULL;
	}
	w->req = (struct kv_batch_req){ .ops = w->ops, .n = n };
	return w;
}

/* A Batch call's operations into w; 0, 1 with the error in res, or -ENOMEM. */
static int parse_batch(struct json_object *arr, struct kv_rpc_write *w,
		       struct kv_rpc_result *res)
{
	char bad_name[64];

	for (size_t i = 0; i < w->n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		const char *opname, *bad = "op";
		enum kv_op_kind kind;
		int r = -EINVAL;

		if (json_object_is_type(o, json_type_object) && param_string(o, "op", &opname) == 0 &&
		    op_kind(opname, &kind) == 0)
			r = parse_op(o, kind, w, &w->ops[i], &bad);
		if (r < 0) {
			snprintf(bad_name, sizeof(bad_name), "operations[%zu].%s", i, bad);
			r = invalid_parameter(res, bad_name);
			return r < 0 ? r : 1;
		}
	}
	return 0;
}

/* What the values of a call (arr NULL) or of a Batch's operations decode to at most. */
static size_t values_max(struct json_object *params, struct json_object *arr)
{
	size_t n, sum = 0;

	if (!arr)
		return param_bytes_max(params, "value");
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);

		if (json_object_is_type(o, json_type_object))
			sum += param_bytes_max(o, "value"); /* each below the message's size */
	}
	return sum;
}

static const struct {
	const char *member;
	enum kv_op_kind kind;
} writes[] = {
	{ "Set", KV_OP_SET },
	{ "SetPartial", KV_OP_SET_PARTIAL },
	{ "Remove", KV_OP_REMOVE },
	{ "Rename", KV_OP_RENAME },
};

static int permission_denied(struct kv_rpc_result *res)
{
	return result(res, "org.varlink.service.PermissionDenied", json_object_new_object());
}

int kv_rpc_write_parse(const char *member, struct json_object *params, bool may_write,
		       struct kv_rpc_write **out, struct kv_rpc_result *res)
{
	struct json_object *arr = NULL;
	struct kv_rpc_write *w;
	const char *bad;
	size_t i;
	int r;

	*out = NULL;
	*res = (struct kv_rpc_result){ 0 };
	for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
		if (strcmp(member, writes[i].member) == 0)
			break;
	if (i == sizeof(writes) / sizeof(writes[0]) && strcmp(member, "Batch") != 0)
		return -ENOENT;
	if (!may_write)
		r = permission_denied(res);
	else if (!json_object_is_type(params, json_type_object))
		r = invalid_parameter(res, "parameters");
	else if (i == sizeof(writes) / sizeof(writes[0]) &&
		 (!json_object_object_get_ex(params, "operations", &arr) ||
		  !json_object_is_type(arr, json_type_array)))
		r = invalid_parameter(res, "operations");
	else
		goto parse;
	return r < 0 ? r : 1;
parse:
	w = kv_rpc_write_new(arr ? json_object_array_length(arr) : 1, arr != NULL,
		      values_max(params, arr));
	if (!w)
		return -ENOMEM;
	if (arr) {
		r = parse_batch(arr, w, res);
	} else {
		r = parse_op(params, writes[i].kind, w, &w->ops[0], &bad);
		if (r == -EINVAL)
			r = invalid_parameter(res, bad) < 0 ? -ENOMEM : 1;
	}
	if (r != 0) {
		kv_rpc_write_free(w);
		return r;
	}
	*out = w;
	return 0;
}

int kv_rpc_write_finish(struct kv_rpc_write *w, int commit_r, struct kv_rpc_result *res)
{
	int err = commit_r < 0 ? commit_r : w->req.result;
	size_t at = commit_r < 0 ? w->n : w->req.failed; /* n: the commit */
	long index;
	int r;

	*res = (struct kv_rpc_result){ 0 };
	index = w->batch ? (long)at : -1;
	if (err == 0) {
		r = reply_empty(res);
	} else if (w->n == 0) {
		r = store_error(res, err, "/", NULL, index);
	} else {
		const struct kv_op *f = &w->ops[at < w->n ? at : w->n - 1];

		r = store_error(res, err, f->key, f->dest, index);
	}
	kv_rpc_write_free(w);
	return r;
}

static int h_info(const struct kv_rpc_store *st, struct kv_rpc_result *res)
{
	struct json_object *p = json_object_new_object();

	if (!p)
		return -ENOMEM;
	json_object_object_add(p, "backend", json_object_new_string(st->path ? "lmdb" : "memory"));
	if (st->path)
		json_object_object_add(p, "path", json_object_new_string(st->path));
	json_object_object_add(p, "map_size", json_object_new_int64((int64_t)st->map_size_bytes));
	json_object_object_add(p, "max_value",
			       json_object_new_int64((int64_t)st->max_value_bytes));
	return result(res, NULL, p);
}

typedef int (*kv_read_fn)(const struct kv_rpc_store *st, struct json_object *params,
			  const char *key, struct kv_rpc_result *res);

static const struct {
	const char *member;
	kv_read_fn fn;
} reads[] = {
	{ "Exists", h_exists },
	{ "Get", h_get },
	{ "GetPartial", h_get_partial },
	{ "List", h_list },
	{ "LastModified", h_last_modified },
	{ "Digest", h_digest },
	{ "Size", h_size },
};

int kv_rpc_call(const struct kv_rpc_store *st, const char *member, struct json_object *params,
		bool may_write, uint64_t now_ns, struct kv_rpc_result *res)
{
	struct kv_rpc_write *w;
	const char *key;
	int r;

	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		if (strcmp(member, reads[i].member) != 0)
			continue;
		*res = (struct kv_rpc_result){ 0 };
		if (!json_object_is_type(params, json_type_object))
			return invalid_parameter(res, "parameters");
		if (param_string(params, "key", &key) < 0)
			return invalid_parameter(res, "key");
		return reads[i].fn(st, params, key, res);
	}
	if (strcmp(member, "Info") == 0) {
		*res = (struct kv_rpc_result){ 0 };
		return h_info(st, res);
	}
	/* A write on its own: a group of one. */
	r = kv_rpc_write_parse(member, params, may_write, &w, res);
	if (r != 0)
		return r == 1 ? 0 : r;
	w->req.result = kv_batch(st->kv, w->ops, w->n, now_ns, &w->req.failed);
	return kv_rpc_write_finish(w, 0, res);
}
