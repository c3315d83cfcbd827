/* libustack: the client's varlink connections, calls and errors (ipc/ustack.h). The
 * framing and the JSON envelope are ipc/varlink.c's, the fd passing ipc/fdpass.c's. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc/fdpass.h"
#include "ipc/libustack_priv.h"
#include "ipc/proto.h"

/* Bytes asked of the kernel per read: a Stats reply fits in one. */
#define UCONN_READ_BYTES (64 * 1024)

int uconn_open(struct ustack *u, struct uconn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(u->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, u->path, strlen(u->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	c->fd = fd;
	varlink_reader_init(&c->rd, 0);
	return 0;
}

void uconn_close(struct uconn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	varlink_reader_fini(&c->rd);
}

int uconn_send_call(struct ustack *u, struct uconn *c, const char *method,
		    struct json_object *params, unsigned flags, int send_fd)
{
	struct json_object *msg = varlink_call_new(method, params, flags);
	const char *text;
	size_t len, off = 0;
	int err = 0;

	(void)u;
	if (!msg)
		return -ENOMEM;
	text = varlink_msg_text(msg, &len);
	if (!text) {
		json_object_put(msg);
		return -ENOMEM;
	}
	while (off < len) {
		/* The fd rides on the first byte of its message (docs/rpc.md). */
		ssize_t n = fdpass_send(c->fd, text + off, len - off, &send_fd,
					off == 0 && send_fd >= 0 ? 1 : 0, 0);

		if (n < 0) {
			err = (int)n;
			break;
		}
		off += (size_t)n;
	}
	json_object_put(msg);
	return err;
}

int uconn_next(struct uconn *c, int timeout_ms, struct json_object **msg, int *fd)
{
	for (;;) {
		int fds[VARLINK_FDS_MAX];
		size_t nfds = 0, space_len;
		char *space;
		ssize_t n;
		int r;

		r = varlink_reader_next(&c->rd, msg);
		if (r == 1) {
			size_t k = varlink_reader_take_fds(&c->rd, fds, VARLINK_FDS_MAX);

			*fd = k ? fds[0] : -1;
			while (k > 1)
				close(fds[--k]); /* every message carries at most one */
			return 1;
		}
		if (r < 0)
			return r;
		/* poll() first, then a non-blocking read: a signal interrupts the wait (-EINTR:
		 * ustackctl's Ctrl-C), where a blocking recvmsg() would be restarted. */
		{
			struct pollfd p = { .fd = c->fd, .events = POLLIN };

			r = poll(&p, 1, timeout_ms);
			if (r < 0)
				return -errno;
			if (r == 0)
				return -EAGAIN;
		}
		r = varlink_reader_reserve(&c->rd, UCONN_READ_BYTES, &space, &space_len);
		if (r < 0)
			return r;
		n = fdpass_recv(c->fd, space, space_len, fds, VARLINK_FDS_MAX, &nfds, NULL, 1);
		if (n == -EAGAIN)
			continue;
		if (n < 0)
			return (int)n == -ECONNRESET ? -EPIPE : (int)n;
		if (n == 0)
			return -EPIPE;
		varlink_reader_commit(&c->rd, (size_t)n, fds, nfds);
	}
}

void uclient_clear_error(struct ustack *u)
{
	u->errmsg[0] = 0;
	u->errname[0] = 0;
}

/* varlink's own errors and io.ustack.KV's (errors without an errno parameter), as the
 * errno a C caller expects: the store's own errnos (daemon/kv/kv.h) for KV. */
static const struct {
	const char *name;
	int err;
} service_errors[] = {
	{ "org.varlink.service.InterfaceNotFound", EOPNOTSUPP },
	{ "org.varlink.service.MethodNotFound", EOPNOTSUPP },
	{ "org.varlink.service.MethodNotImplemented", EOPNOTSUPP },
	{ "org.varlink.service.InvalidParameter", EINVAL },
	{ "org.varlink.service.ExpectedMore", EINVAL },
	{ "org.varlink.service.PermissionDenied", EPERM },
	{ "io.ustack.KV.NotFound", ENOENT },
	{ "io.ustack.KV.DictionaryExpected", ENOTDIR },
	{ "io.ustack.KV.ValueExpected", EISDIR },
	{ "io.ustack.KV.NoSpace", ENOSPC }, /* EFBIG for reason "value_too_large" */
	{ "io.ustack.KV.AlreadyPresent", EEXIST },
	{ "io.ustack.KV.InvalidKey", EINVAL },
	{ "io.ustack.KV.StorageError", EIO },
	{ "io.ustack.KV.TooLarge", EMSGSIZE },
};

int uclient_set_error(struct ustack *u, const char *error, struct json_object *params)
{
	const char *en = NULL, *msg = NULL, *param = NULL, *reason = NULL;
	size_t i;
	int err = EIO;

	snprintf(u->errname, sizeof(u->errname), "%s", error);
	varlink_get_string(params, "errno", &en);
	varlink_get_string(params, "message", &msg);
	varlink_get_string(params, "reason", &reason);
	/* What the service errors name: the parameter, method or interface at fault; KV's
	 * errors: the key. */
	if (varlink_get_string(params, "parameter", &param) < 0 &&
	    varlink_get_string(params, "method", &param) < 0 &&
	    varlink_get_string(params, "interface", &param) < 0)
		varlink_get_string(params, "key", &param);
	if (en) {
		err = varlink_errno_from_name(en);
		if (!err)
			err = EIO;
	} else {
		for (i = 0; i < sizeof(service_errors) / sizeof(service_errors[0]); i++)
			if (strcmp(error, service_errors[i].name) == 0)
				err = service_errors[i].err;
		if (err == ENOSPC && reason && strcmp(reason, "value_too_large") == 0)
			err = EFBIG;
	}
	if (msg)
		snprintf(u->errmsg, sizeof(u->errmsg), "%s", msg);
	else if (err == EPERM)
		snprintf(u->errmsg, sizeof(u->errmsg),
			 "permission denied: needs uid 0 or the daemon's uid (%s)", error);
	else if (param && reason)
		snprintf(u->errmsg, sizeof(u->errmsg), "%s: %s (%s)", error, param, reason);
	else if (param)
		snprintf(u->errmsg, sizeof(u->errmsg), "%s: %s", error, param);
	else if (!en)
		snprintf(u->errmsg, sizeof(u->errmsg), "%s", error);
	else
		u->errmsg[0] = 0;
	return -err;
}

const char *ustack_error_message(const struct ustack *u)
{
	return u->errmsg;
}

const char *ustackint_error_name(const struct ustack *u)
{
	return u->errname;
}

const char *ustack_errno_name(int err)
{
	const char *n = varlink_errno_name(err);

	return strcmp(n, "EUNKNOWN") == 0 ? NULL : n;
}

int ustack_open(const char *path, struct ustack **out)
{
	struct ustack *u;
	int err;

	if (!path || !*path)
		path = getenv("USTACK_SOCKET");
	if (!path || !*path)
		path = USTACK_SOCKET_DEFAULT;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->ctl.fd = -1;
	u->evq_tail = &u->evq;
	u->path = strdup(path);
	u->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!u->path || u->epfd < 0) {
		err = u->path ? -errno : -ENOMEM;
		goto fail;
	}
	err = uconn_open(u, &u->ctl);
	if (err < 0)
		goto fail;
	*out = u;
	return 0;
fail:
	if (u->epfd >= 0)
		close(u->epfd);
	free(u->path);
	free(u);
	return err;
}

void ustack_close(struct ustack *u)
{
	struct uevent *e;

	if (!u)
		return;
	usock_free_all(u);
	while ((e = u->evq)) {
		u->evq = e->next;
		if (e->ev.type == USTACK_EV_ACCEPTED && e->ev.fd >= 0)
			close(e->ev.fd); /* never handed out */
		free(e);
	}
	uconn_close(&u->ctl);
	close(u->epfd);
	free(u->path);
	free(u);
}

int ustackint_call_json(struct ustack *u, const char *method, struct json_object *params,
			int more, int send_fd, ustack_json_fn fn, void *ctx)
{
	int r;

	uclient_clear_error(u);
	if (u->ctl.fd < 0 && (r = uconn_open(u, &u->ctl)) < 0) {
		json_object_put(params);
		return r;
	}
	r = uconn_send_call(u, &u->ctl, method, params, more ? VARLINK_CALL_MORE : 0, send_fd);
	if (r < 0)
		goto broken;
	for (;;) {
		struct varlink_reply rep;
		struct json_object *msg;
		const char *bad;
		int fd;

		r = uconn_next(&u->ctl, -1, &msg, &fd);
		if (r < 0)
			goto broken;
		if (fd >= 0)
			close(fd); /* no reply of a one-shot call carries one */
		if (varlink_reply_decode(msg, &rep, &bad) < 0) {
			json_object_put(msg);
			r = -EBADMSG;
			goto broken;
		}
		if (rep.error) {
			r = uclient_set_error(u, rep.error, rep.params);
			json_object_put(msg);
			return r;
		}
		r = fn ? fn(rep.params, rep.continues, ctx) : 0;
		json_object_put(msg);
		if (r)
			goto stop; /* the rest of the replies are not wanted */
		if (!rep.continues)
			return 0;
	}
broken:
	if (r == -EPIPE)
		snprintf(u->errmsg, sizeof(u->errmsg), "ustackd closed the connection");
stop:
	/* Replies may still come for this call: a fresh connection for the next one. */
	uconn_close(&u->ctl);
	return r;
}

struct text_call {
	ustack_reply_fn fn;
	void *ctx;
};

static int text_reply(struct json_object *params, int continues, void *ctx)
{
	struct text_call *t = ctx;

	return t->fn(json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN), continues,
		     t->ctx);
}

int ustack_call(struct ustack *u, const char *method, const char *params_json, int more,
		ustack_reply_fn fn, void *ctx)
{
	struct text_call t = { fn, ctx };
	struct json_object *params = NULL;

	if (params_json) {
		params = json_tokener_parse(params_json);
		if (!params || !json_object_is_type(params, json_type_object)) {
			json_object_put(params);
			return -EINVAL;
		}
	}
	return ustackint_call_json(u, method, params, more, -1, fn ? text_reply : NULL, &t);
}
