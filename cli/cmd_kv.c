/* ustackctl kv: the key-value store (io.ustack.KV, docs/kv.md). Values are raw bytes on
 * stdin/stdout; values larger than one RPC message travel in pieces (Set + SetPartial,
 * GetPartial), as docs/kv.md "Limits" says. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/ctl.h"
#include "ipc/base64.h"

/* Value bytes per call: its base64 and envelope stay well inside one 8 MiB message. */
#define KV_PIECE_BYTES (4u << 20)

static int keep_reply(struct json_object *params, int continues, void *ctx)
{
	struct json_object **out = ctx;

	(void)continues;
	json_object_put(*out);
	*out = json_object_get(params);
	return 0;
}

/* "io.ustack.KV.NotFound" -> "not found" (design.md's names, spaced). */
static void kv_error_text(const char *name, char *buf, size_t len)
{
	static const struct {
		const char *member, *text;
	} names[] = {
		{ "NotFound", "not found" },
		{ "DictionaryExpected", "dictionary expected" },
		{ "ValueExpected", "value expected" },
		{ "NoSpace", "no space" },
		{ "AlreadyPresent", "already present" },
		{ "InvalidKey", "invalid key" },
		{ "StorageError", "storage error" },
		{ "TooLarge", "value too large for one reply" },
	};
	const char *m = strrchr(name, '.');

	for (size_t i = 0; m && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(m + 1, names[i].member) == 0) {
			snprintf(buf, len, "%s", names[i].text);
			return;
		}
	buf[0] = 0;
}

/* Calls io.ustack.KV.<member>; *reply on success. On failure prints "ustackctl: KEY: not
 * found" (a store error) or the errno failure, and returns CTL_EXIT_FAIL; *err gets the
 * negative errno (for callers that recover from EMSGSIZE). */
static int kv_call(struct ctl *c, const char *member, struct json_object *params,
		   const char *key, struct json_object **reply, int *err)
{
	char method[64], text[64];
	int r;

	*reply = NULL;
	r = ctl_open(c);
	if (r) {
		json_object_put(params);
		return r;
	}
	snprintf(method, sizeof(method), "io.ustack.KV.%s", member);
	r = ustackint_call_json(c->u, method, params, 0, -1, keep_reply, reply);
	if (err)
		*err = r < 0 ? r : 0;
	if (r >= 0) {
		if (!*reply)
			*reply = json_object_new_object();
		return CTL_EXIT_OK;
	}
	json_object_put(*reply);
	*reply = NULL;
	if (err && r == -EMSGSIZE)
		return CTL_EXIT_FAIL; /* the caller goes on in pieces */
	kv_error_text(ustackint_error_name(c->u), text, sizeof(text));
	if (text[0]) {
		fprintf(stderr, "ustackctl: %s: %s\n", key, text);
		return CTL_EXIT_FAIL;
	}
	return ctl_fail(c, r, key);
}

static struct json_object *key_params(const char *key)
{
	struct json_object *p = json_object_new_object();

	if (p)
		json_object_object_add(p, "key", json_object_new_string(key));
	return p;
}

static struct json_object *b64_string(const uint8_t *data, size_t len)
{
	char *text = malloc(base64_encoded_len(len) + 1);
	struct json_object *s;

	if (!text)
		return NULL;
	base64_encode(data, len, text);
	s = json_object_new_string_len(text, (int)base64_encoded_len(len));
	free(text);
	return s;
}

/* A reply's "value" decoded into *buf (malloc'd); -EBADMSG when it is not base64. */
static int reply_bytes(struct json_object *reply, uint8_t **buf, size_t *len)
{
	const char *t = ctl_str(reply, "value");
	size_t tl = t ? strlen(t) : 0;

	*buf = malloc(tl / 4 * 3 + 1);
	if (!*buf)
		return -ENOMEM;
	if (!t || base64_decode(t, tl, *buf, len) < 0) {
		free(*buf);
		*buf = NULL;
		return -EBADMSG;
	}
	return 0;
}

static int write_all(const uint8_t *p, size_t len)
{
	return len && fwrite(p, 1, len, stdout) != len ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

/* A value larger than one message: its size, then GetPartial piece by piece to stdout. */
static int get_in_pieces(struct ctl *c, const char *key)
{
	struct json_object *reply, *p;
	long long size;
	int rc;

	rc = kv_call(c, "Size", key_params(key), key, &reply, NULL);
	if (rc)
		return rc;
	size = ctl_num(reply, "size", 0);
	json_object_put(reply);
	for (long long off = 0; off < size; off += KV_PIECE_BYTES) {
		uint8_t *buf;
		size_t len;

		p = key_params(key);
		json_object_object_add(p, "offset", json_object_new_int64(off));
		json_object_object_add(p, "length", json_object_new_int64(KV_PIECE_BYTES));
		rc = kv_call(c, "GetPartial", p, key, &reply, NULL);
		if (rc)
			return rc;
		if (reply_bytes(reply, &buf, &len) < 0) {
			json_object_put(reply);
			return ctl_fail(c, -EBADMSG, key);
		}
		json_object_put(reply);
		rc = write_all(buf, len);
		free(buf);
		if (rc || len == 0)
			return rc;
	}
	return CTL_EXIT_OK;
}

static int kv_get(struct ctl *c, int argc, char **argv)
{
	struct json_object *reply;
	uint8_t *buf;
	size_t len;
	int rc, err;

	(void)argc;
	rc = kv_call(c, "Get", key_params(argv[1]), argv[1], &reply, &err);
	if (rc && err == -EMSGSIZE && !c->json)
		return get_in_pieces(c, argv[1]);
	if (rc && err == -EMSGSIZE) /* io.ustack.KV.TooLarge: --json prints one reply */
		fprintf(stderr, "ustackctl: %s: value too large for one reply (read it without "
				"--json)\n", argv[1]);
	if (rc)
		return rc;
	if (c->json) {
		ctl_print_json(reply);
		json_object_put(reply);
		return CTL_EXIT_OK;
	}
	rc = reply_bytes(reply, &buf, &len);
	json_object_put(reply);
	if (rc < 0)
		return ctl_fail(c, rc, argv[1]);
	rc = write_all(buf, len);
	free(buf);
	return rc;
}

/* All of stdin. */
static int read_stdin(uint8_t **buf, size_t *len)
{
	size_t cap = 1 << 16;
	ssize_t n;

	*len = 0;
	*buf = malloc(cap);
	while (*buf) {
		if (*len == cap) {
			uint8_t *b = realloc(*buf, cap * 2);

			if (!b)
				break;
			*buf = b;
			cap *= 2;
		}
		n = read(0, *buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(*buf);
			*buf = NULL;
			return -errno;
		}
		if (n == 0)
			return 0;
		*len += (size_t)n;
	}
	free(*buf);
	*buf = NULL;
	return -ENOMEM;
}

static int kv_set(struct ctl *c, int argc, char **argv)
{
	const char *key = argv[1];
	struct json_object *reply, *p;
	uint8_t *data = NULL;
	size_t len, off = 0;
	int rc;

	if (argc > 2) {
		data = (uint8_t *)argv[2];
		len = strlen(argv[2]);
	} else if ((rc = read_stdin(&data, &len)) < 0) {
		return ctl_fail(c, rc, "reading the value from stdin");
	}
	/* One Set, or (a value over one message) Set of the first piece and SetPartial of
	 * the others: each piece durable on its own (docs/kv.md, "Limits"). */
	do {
		size_t n = len - off < KV_PIECE_BYTES ? len - off : KV_PIECE_BYTES;

		p = key_params(key);
		if (off)
			json_object_object_add(p, "offset", json_object_new_int64((int64_t)off));
		json_object_object_add(p, "value", b64_string(data + off, n));
		rc = kv_call(c, off ? "SetPartial" : "Set", p, key, &reply, NULL);
		json_object_put(reply);
		off += n;
	} while (!rc && off < len);
	if (argc <= 2)
		free(data);
	return rc;
}

static int kv_simple(struct ctl *c, const char *member, const char *key)
{
	struct json_object *reply;
	int rc = kv_call(c, member, key_params(key), key, &reply, NULL);

	json_object_put(reply);
	return rc;
}

static int kv_rm(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return kv_simple(c, "Remove", argv[1]);
}

static int kv_mv(struct ctl *c, int argc, char **argv)
{
	struct json_object *p = json_object_new_object(), *reply;
	int rc;

	(void)argc;
	json_object_object_add(p, "source", json_object_new_string(argv[1]));
	json_object_object_add(p, "dest", json_object_new_string(argv[2]));
	rc = kv_call(c, "Rename", p, argv[1], &reply, NULL);
	json_object_put(reply);
	return rc;
}

/* A read: the reply printed as JSON with --json, else by `print`. */
static int kv_read(struct ctl *c, const char *member, const char *key,
		   int (*print)(struct json_object *reply, const char *key))
{
	struct json_object *reply;
	int rc = kv_call(c, member, key_params(key), key, &reply, NULL);

	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(reply);
	else
		rc = print(reply, key);
	json_object_put(reply);
	return rc;
}

static int print_exists(struct json_object *r, const char *key)
{
	const char *kind = ctl_str(r, "kind");

	if (!kind) {
		fprintf(stderr, "ustackctl: %s: not found\n", key);
		return CTL_EXIT_FAIL;
	}
	puts(kind);
	return CTL_EXIT_OK;
}

static int print_list(struct json_object *r, const char *key)
{
	struct json_object *entries, *e;

	(void)key;
	if (!json_object_object_get_ex(r, "entries", &entries))
		return CTL_EXIT_OK;
	for (size_t i = 0; i < json_object_array_length(entries); i++) {
		e = json_object_array_get_idx(entries, i);
		printf("%s\t%s\n", ctl_str(e, "name") ?: "?", ctl_str(e, "kind") ?: "?");
	}
	return CTL_EXIT_OK;
}

static int print_mtime(struct json_object *r, const char *key)
{
	(void)key;
	printf("%lld\n", ctl_num(r, "seconds", 0));
	return CTL_EXIT_OK;
}

static int print_digest(struct json_object *r, const char *key)
{
	(void)key;
	puts(ctl_str(r, "digest") ?: "");
	return CTL_EXIT_OK;
}

static int kv_exists(struct ctl *c, int argc, char **argv)
{
	struct json_object *reply;
	int rc;

	(void)argc;
	if (!c->json)
		return kv_read(c, "Exists", argv[1], print_exists);
	/* --json prints {"kind": null} for an absent key, and still exits 1 */
	rc = kv_call(c, "Exists", key_params(argv[1]), argv[1], &reply, NULL);
	if (rc)
		return rc;
	ctl_print_json(reply);
	rc = ctl_str(reply, "kind") ? CTL_EXIT_OK : CTL_EXIT_FAIL;
	json_object_put(reply);
	return rc;
}

static int kv_ls(struct ctl *c, int argc, char **argv)
{
	return kv_read(c, "List", argc > 1 ? argv[1] : "/", print_list);
}

static int kv_mtime(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return kv_read(c, "LastModified", argv[1], print_mtime);
}

static int kv_digest(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return kv_read(c, "Digest", argv[1], print_digest);
}

/* One line of `kv batch` (ustackctl(1)): "set KEY VALUE" (VALUE: the rest of the line,
 * maybe empty), "rm KEY", "mv FROM TO"; blank lines and lines starting with # skipped.
 * 0 with *op set (or NULL for a skipped line), -EINVAL. */
static int batch_line(char *line, struct json_object **op)
{
	char *verb = strtok(line, " "), *key, *rest;

	*op = NULL;
	if (!verb || verb[0] == '#')
		return 0;
	key = strtok(NULL, " ");
	rest = strtok(NULL, "");
	if (!key)
		return -EINVAL;
	*op = json_object_new_object();
	json_object_object_add(*op, "key", json_object_new_string(key));
	if (strcmp(verb, "set") == 0) {
		json_object_object_add(*op, "op", json_object_new_string("set"));
		json_object_object_add(*op, "value", b64_string((const uint8_t *)(rest ?: ""),
								 rest ? strlen(rest) : 0));
	} else if (strcmp(verb, "rm") == 0 && !rest) {
		json_object_object_add(*op, "op", json_object_new_string("remove"));
	} else if (strcmp(verb, "mv") == 0 && rest && !strchr(rest, ' ')) {
		json_object_object_add(*op, "op", json_object_new_string("rename"));
		json_object_object_add(*op, "dest", json_object_new_string(rest));
	} else {
		json_object_put(*op);
		*op = NULL;
		return -EINVAL;
	}
	return 0;
}

static int kv_batch(struct ctl *c, int argc, char **argv)
{
	struct json_object *ops = json_object_new_array(), *p, *reply, *op;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc, lineno = 0;

	(void)argc;
	(void)argv;
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = 0;
		if (batch_line(line, &op) < 0) {
			free(line);
			json_object_put(ops);
			return ctl_usage("kv batch: line %d: expected 'set KEY VALUE', 'rm KEY' "
					 "or 'mv FROM TO'",
					 lineno);
		}
		if (op)
			json_object_array_add(ops, op);
	}
	free(line);
	p = json_object_new_object();
	json_object_object_add(p, "operations", ops);
	rc = kv_call(c, "Batch", p, "batch", &reply, NULL);
	json_object_put(reply);
	return rc;
}

static const struct ctl_verb kv_verbs[] = {
	{ "get", 1, 1, CTL_VERB_READ, kv_get, "get KEY" },
	{ "set", 1, 2, 0, kv_set, "set KEY [VALUE]" },
	{ "ls", 0, 1, CTL_VERB_READ, kv_ls, "ls [KEY]" },
	{ "rm", 1, 1, 0, kv_rm, "rm KEY" },
	{ "exists", 1, 1, CTL_VERB_READ, kv_exists, "exists KEY" },
	{ "mtime", 1, 1, CTL_VERB_READ, kv_mtime, "mtime KEY" },
	{ "digest", 1, 1, CTL_VERB_READ, kv_digest, "digest KEY" },
	{ "mv", 2, 2, 0, kv_mv, "mv FROM TO" },
	{ "batch", 0, 0, 0, kv_batch, "batch < OPERATIONS" },
};

int cmd_kv(struct ctl *c, int argc, char **argv)
{
	const struct ctl_verb *v = NULL;

	for (size_t i = 0; i < sizeof(kv_verbs) / sizeof(kv_verbs[0]); i++)
		if (strcmp(kv_verbs[i].name, argv[1]) == 0)
			v = &kv_verbs[i];
	if (v && c->json && !(v->flags & CTL_VERB_READ))
		return ctl_usage("--json applies to read commands only, not 'kv %s'", v->name);
	return ctl_dispatch(c, kv_verbs, sizeof(kv_verbs) / sizeof(kv_verbs[0]), "kv", argc - 1,
			    argv + 1);
}
