/* The varlink codec: frame reader, envelope checks and builders (ipc/varlink.h). */
#include "ipc/varlink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/varlink_json.h"

/* Largest errno value tried when turning a name back into a number. */
#define VARLINK_ERRNO_LAST 200

void varlink_reader_init(struct varlink_reader *r, size_t max_bytes)
{
	memset(r, 0, sizeof(*r));
	r->max_bytes = max_bytes ? max_bytes : VARLINK_MSG_MAX_BYTES;
}

static void reader_close_cur(struct varlink_reader *r)
{
	for (size_t i = 0; i < r->cur_nfds; i++)
		close(r->cur_fds[i]);
	r->cur_nfds = 0;
}

void varlink_reader_fini(struct varlink_reader *r)
{
	reader_close_cur(r);
	for (size_t i = 0; i < r->nfds; i++)
		close(r->fds[i]);
	r->nfds = 0;
	free(r->buf);
	r->buf = NULL;
	r->len = r->start = r->cap = r->scanned = 0;
	if (r->tok)
		json_tokener_free(r->tok);
	r->tok = NULL;
}

int varlink_reader_reserve(struct varlink_reader *r, size_t want, char **space,
			   size_t *space_len)
{
	size_t pending = r->len - r->start;

	if (want == 0)
		want = 1;
	if (r->cap - r->len < want && r->start > 0) {
		/* Compact: what was returned already is dropped from the front. */
		memmove(r->buf, r->buf + r->start, pending);
		r->base += r->start;
		r->len = pending;
		r->start = 0;
	}
	if (r->cap - r->len < want) {
		size_t cap = r->cap ? r->cap : 4096;
		char *nb;

		if (want > SIZE_MAX / 2 - r->len)
			return -ENOMEM;
		while (cap - r->len < want)
			cap *= 2;
		nb = realloc(r->buf, cap);
		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = cap;
	}
	*space = r->buf + r->len;
	*space_len = r->cap - r->len;
	return 0;
}

/* The stream offset of the message the fds that came with the bytes [from, to) of buf
 * belong to. The sender attaches fds to the first byte of their message, and the kernel
 * ends a read right after the bytes that carried fds (unix(7): a read never goes past
 * them), so they belong to the last message that begins in those bytes; if none begins
 * there, to the message they continue. */
static uint64_t reader_fd_owner(const struct varlink_reader *r, size_t from, size_t to)
{
	for (size_t q = to - 1; q > from; q--)
		if (r->buf[q - 1] == '\0')
			return r->base + q;
	if (from == r->start || r->buf[from - 1] == '\0')
		return r->base + from;
	for (size_t q = from; q > r->start; q--)
		if (r->buf[q - 1] == '\0')
			return r->base + q;
	return r->base + r->start;
}

void varlink_reader_commit(struct varlink_reader *r, size_t len, const int *fds, size_t nfds)
{
	size_t from = r->len;

	r->len += len;
	for (size_t i = 0; i < nfds; i++) {
		if (len == 0 || r->nfds == VARLINK_FDS_MAX) {
			close(fds[i]);
			r->fds_dropped++;
			continue;
		}
		r->fds[r->nfds] = fds[i];
		r->fd_msg[r->nfds] = reader_fd_owner(r, from, r->len);
		r->nfds++;
	}
}

int varlink_reader_feed(struct varlink_reader *r, const void *data, size_t len, const int *fds,
			size_t nfds)
{
	char *space;
	size_t space_len;
	int err = varlink_reader_reserve(r, len, &space, &space_len);

	if (err < 0) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		return err;
	}
	if (len)
		memcpy(space, data, len);
	varlink_reader_commit(r, len, fds, nfds);
	return 0;
}

/* Hands the fds that belong to the message at stream offset `msg` to cur_fds; fds of
 * earlier messages (none, when the sender follows the rule) are closed. */
static void reader_take_msg_fds(struct varlink_reader *r, uint64_t msg)
{
	size_t keep = 0;

	for (size_t i = 0; i < r->nfds; i++) {
		if (r->fd_msg[i] == msg && r->cur_nfds < VARLINK_FDS_MAX) {
			r->cur_fds[r->cur_nfds++] = r->fds[i];
		} else if (r->fd_msg[i] <= msg) {
			close(r->fds[i]);
			r->fds_dropped++;
		} else {
			r->fds[keep] = r->fds[i];
			r->fd_msg[keep] = r->fd_msg[i];
			keep++;
		}
	}
	r->nfds = keep;
}

static bool json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A parser that held a string this long is freed after the message rather than kept:
 * json-c keeps its string buffer as large as the longest string it has read. */
#define VARLINK_TOK_KEEP_BYTES (64u << 10)

/* Parses exactly text[0, len) (text[len] is NUL) with r's parser: one JSON value, nothing
 * but whitespace after it. */
static int parse_json(struct varlink_reader *r, const char *text, size_t len,
		      struct json_object **out)
{
	struct json_object *obj;
	size_t end;
	int err = 0;

	if (len > INT32_MAX)
		return -EMSGSIZE;
	/* The common small calls without json-c's tokener; it decides all the rest. */
	if (varlink_json_parse_fast(text, len, out) == 0)
		return 0;
	if (!r->tok) {
		r->tok = json_tokener_new();
		if (!r->tok)
			return -ENOMEM;
		json_tokener_set_flags(r->tok, JSON_TOKENER_STRICT);
	}
	json_tokener_reset(r->tok);
	/* The NUL is passed too: json-c needs it to know that a number at the end is
	 * complete (text[len] is the frame's NUL). */
	obj = json_tokener_parse_ex(r->tok, text, (int)len + 1);
	if (json_tokener_get_error(r->tok) != json_tokener_success) {
		err = -EBADMSG;
	} else {
		end = json_tokener_get_parse_end(r->tok);
		while (end < len && json_ws(text[end]))
			end++;
		if (end != len)
			err = -EBADMSG;
	}
	if (len > VARLINK_TOK_KEEP_BYTES) {
		json_tokener_free(r->tok);
		r->tok = NULL;
	}
	if (err < 0) {
		json_object_put(obj);
		return err;
	}
	*out = obj;
	return 0;
}

/* The length of the whole message at r->start: 1 with *mlen set, 0 (not whole yet) or
 * -EMSGSIZE (the stream cannot go on). */
static int reader_find(struct varlink_reader *r, size_t *mlen)
{
	size_t pending = r->len - r->start;
	const char *text = r->buf + r->start, *nul;

	if (r->failed)
		return -EMSGSIZE;
	nul = pending > r->scanned ? memchr(text + r->scanned, '\0', pending - r->scanned) : NULL;
	if (!nul) {
		r->scanned = pending;
		if (pending > r->max_bytes) {
			r->failed = true;
			return -EMSGSIZE;
		}
		return 0;
	}
	*mlen = (size_t)(nul - text);
	if (*mlen > r->max_bytes) {
		r->failed = true;
		return -EMSGSIZE;
	}
	r->scanned = *mlen; /* found again at once by the next look */
	return 1;
}

/* Takes the message of mlen bytes at r->start (and the fds that came with it). */
static void reader_consume(struct varlink_reader *r, size_t mlen)
{
	uint64_t at = r->base + r->start;

	r->start += mlen + 1;
	r->scanned = 0;
	if (r->start == r->len) {
		r->base += r->len;
		r->start = r->len = 0;
	}
	reader_take_msg_fds(r, at);
}

int varlink_reader_next(struct varlink_reader *r, struct json_object **msg)
{
	struct json_object *obj = NULL;
	size_t mlen;
	int err;

	reader_close_cur(r);
	err = reader_find(r, &mlen);
	if (err <= 0)
		return err;
	err = parse_json(r, r->buf + r->start, mlen, &obj);
	reader_consume(r, mlen);
	if (err < 0)
		return err;
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return -EPROTO;
	}
	*msg = obj;
	return 1;
}

int varlink_reader_peek(struct varlink_reader *r, const char **text, size_t *len)
{
	if (r->nfds || reader_find(r, len) != 1)
		return 0;
	*text = r->buf + r->start;
	return 1;
}

void varlink_reader_skip(struct varlink_reader *r)
{
	size_t mlen;

	reader_close_cur(r);
	if (reader_find(r, &mlen) == 1)
		reader_consume(r, mlen);
}

size_t varlink_reader_pending(const struct varlink_reader *r)
{
	return r->len - r->start;
}

size_t varlink_reader_take_fds(struct varlink_reader *r, int *fds, size_t max)
{
	size_t n = r->cur_nfds < max ? r->cur_nfds : max;

	memcpy(fds, r->cur_fds, n * sizeof(int));
	memmove(r->cur_fds, r->cur_fds + n, (r->cur_nfds - n) * sizeof(int));
	r->cur_nfds -= n;
	return n;
}

/* An optional member: 0 present with the type (or absent: *out NULL), -EBADMSG otherwise. */
static int member(struct json_object *msg, const char *key, enum json_type type,
		  struct json_object **out)
{
	*out = NULL;
	if (!json_object_object_get_ex(msg, key, out) || !*out)
		return 0;
	return json_object_is_type(*out, type) ? 0 : -EBADMSG;
}

/* The parameters of msg, {} added when absent so that callers always get an object. */
static int params_of(struct json_object *msg, struct json_object **out)
{
	struct json_object *p;

	if (member(msg, "parameters", json_type_object, &p) < 0)
		return -EBADMSG;
	if (!p) {
		p = json_object_new_object();
		if (!p || json_object_object_add(msg, "parameters", p) < 0) {
			json_object_put(p);
			return -ENOMEM;
		}
	}
	*out = p;
	return 0;
}

/* "interface.Member": the interface is a reverse-domain name, the member a capitalised
 * identifier (varlink.org, "Interface Name" and "Method Name"). */
static bool method_name_ok(const char *m, size_t *dot)
{
	const char *last = strrchr(m, '.');
	size_t ilen;

	if (!last || last == m || !last[1])
		return false;
	ilen = (size_t)(last - m);
	if (ilen >= 256 || !(last[1] >= 'A' && last[1] <= 'Z'))
		return false;
	for (const char *p = m; p < last; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return false;
	for (const char *p = last + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9')))
			return false;
	*dot = ilen;
	return true;
}

int varlink_call_decode(struct json_object *msg, struct varlink_call *call, const char **bad)
{
	struct json_object *m, *more, *oneway;
	size_t dot;
	int err;

	memset(call, 0, sizeof(*call));
	*bad = "method";
	if (member(msg, "method", json_type_string, &m) < 0 || !m)
		return -EBADMSG;
	call->method = json_object_get_string(m);
	if (!method_name_ok(call->method, &dot))
		return -EBADMSG;
	memcpy(call->iface_buf, call->method, dot);
	call->iface_buf[dot] = '\0';
	call->interface = call->iface_buf;
	call->member = call->method + dot + 1;
	*bad = "parameters";
	err = params_of(msg, &call->params);
	if (err < 0)
		return err;
	*bad = "more";
	if (member(msg, "more", json_type_boolean, &more) < 0)
		return -EBADMSG;
	call->more = more && json_object_get_boolean(more);
	*bad = "oneway";
	if (member(msg, "oneway", json_type_boolean, &oneway) < 0)
		return -EBADMSG;
	call->oneway = oneway && json_object_get_boolean(oneway);
	if (call->more && call->oneway) {
		*bad = "more";
		return -EBADMSG;
	}
	*bad = NULL;
	return 0;
}

int varlink_reply_decode(struct json_object *msg, struct varlink_reply *reply, const char **bad)
{
	struct json_object *e, *c;
	int err;

	memset(reply, 0, sizeof(*reply));
	*bad = "error";
	if (member(msg, "error", json_type_string, &e) < 0)
		return -EBADMSG;
	reply->error = e ? json_object_get_string(e) : NULL;
	*bad = "parameters";
	err = params_of(msg, &reply->params);
	if (err < 0)
		return err;
	*bad = "continues";
	if (member(msg, "continues", json_type_boolean, &c) < 0)
		return -EBADMSG;
	reply->continues = c && json_object_get_boolean(c);
	*bad = NULL;
	return 0;
}

/* Adds key: value to obj, taking the value's reference; false (value freed) on failure. */
static bool add(struct json_object *obj, const char *key, struct json_object *value)
{
	if (!value || json_object_object_add(obj, key, value) < 0) {
		json_object_put(value);
		return false;
	}
	return true;
}

static struct json_object *with_params(struct json_object *msg, struct json_object *params)
{
	if (!params)
		params = json_object_new_object();
	if (!msg) {
		json_object_put(params);
		return NULL;
	}
	if (!add(msg, "parameters", params)) {
		json_object_put(msg);
		return NULL;
	}
	return msg;
}

struct json_object *varlink_call_new(const char *method, struct json_object *params,
				     unsigned flags)
{
	struct json_object *msg = json_object_new_object();

	if (msg && (!add(msg, "method", json_object_new_string(method)) ||
		    ((flags & VARLINK_CALL_MORE) &&
		     !add(msg, "more", json_object_new_boolean(1))) ||
		    ((flags & VARLINK_CALL_ONEWAY) &&
		     !add(msg, "oneway", json_object_new_boolean(1))))) {
		json_object_put(msg);
		msg = NULL;
	}
	return with_params(msg, params);
}

struct json_object *varlink_reply_new(struct json_object *params, bool continues)
{
	struct json_object *msg = json_object_new_object();

	if (msg && continues && !add(msg, "continues", json_object_new_boolean(1))) {
		json_object_put(msg);
		msg = NULL;
	}
	return with_params(msg, params);
}

struct json_object *varlink_error_new(const char *error, struct json_object *params)
{
	struct json_object *msg = json_object_new_object();

	if (msg && !add(msg, "error", json_object_new_string(error))) {
		json_object_put(msg);
		msg = NULL;
	}
	return with_params(msg, params);
}

struct json_object *varlink_error_errno_new(const char *error, int err, const char *message)
{
	struct json_object *p = json_object_new_object();

	if (err < 0)
		err = -err;
	if (p && (!add(p, "errno", json_object_new_string(varlink_errno_name(err))) ||
		  !add(p, "message", json_object_new_string(message ? message : strerror(err))))) {
		json_object_put(p);
		return NULL;
	}
	return p ? varlink_error_new(error, p) : NULL;
}

const char *varlink_msg_text(struct json_object *msg, size_t *len)
{
	size_t n = 0;
	const char *s = json_object_to_json_string_length(
		msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);

	if (!s)
		return NULL;
	*len = n + 1; /* json-c terminates the text: the NUL is the frame's end */
	return s;
}

int varlink_reply_text(struct json_object *params, bool continues, char **buf, size_t *cap,
		       size_t *len)
{
	static const char head[] = "{\"parameters\":", head_more[] = "{\"continues\":true,"
									"\"parameters\":";
	const char *h = continues ? head_more : head, *p = "{}";
	size_t hlen = continues ? sizeof(head_more) - 1 : sizeof(head) - 1, plen = 2, need;

	if (params) {
		p = json_object_to_json_string_length(
			params, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &plen);
		if (!p)
			return -ENOMEM;
	}
	need = hlen + plen + 2; /* "}" and the NUL */
	if (need > *cap) {
		char *nb = realloc(*buf, need);

		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = need;
	}
	memcpy(*buf, h, hlen);
	memcpy(*buf + hlen, p, plen);
	memcpy(*buf + hlen + plen, "}", 2);
	*len = need;
	return 0;
}

const char *varlink_errno_name(int err)
{
	const char *name;

	if (err < 0)
		err = -err;
	name = strerrorname_np(err);
	return name ? name : "EUNKNOWN";
}

int varlink_errno_from_name(const char *name)
{
	for (int e = 1; e <= VARLINK_ERRNO_LAST; e++) {
		const char *n = strerrorname_np(e);

		if (n && strcmp(n, name) == 0)
			return e;
	}
	return 0;
}

/* params[key] when present, not null and of `type`: 0, -ENOENT or -EINVAL. */
static int get_typed(struct json_object *params, const char *key, enum json_type type,
		     struct json_object **v)
{
	if (!json_object_object_get_ex(params, key, v) || !*v)
		return -ENOENT;
	return json_object_is_type(*v, type) ? 0 : -EINVAL;
}

int varlink_get_int(struct json_object *params, const char *key, int64_t min, int64_t max,
		    int64_t *out)
{
	struct json_object *v;
	int err = get_typed(params, key, json_type_int, &v);
	int64_t x;

	if (err < 0)
		return err;
	errno = 0;
	x = json_object_get_int64(v);
	/* json-c saturates values beyond int64 (and may set errno) */
	if (errno || x < min || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

int varlink_get_bool(struct json_object *params, const char *key, bool *out)
{
	struct json_object *v;
	int err = get_typed(params, key, json_type_boolean, &v);

	if (err == 0)
		*out = json_object_get_boolean(v);
	return err;
}

int varlink_get_string(struct json_object *params, const char *key, const char **out)
{
	struct json_object *v;
	int err = get_typed(params, key, json_type_string, &v);

	if (err == 0)
		*out = json_object_get_string(v);
	return err;
}

int varlink_get_object(struct json_object *params, const char *key, struct json_object **out)
{
	struct json_object *v;
	int err = get_typed(params, key, json_type_object, &v);

	if (err == 0)
		*out = v;
	return err;
}
