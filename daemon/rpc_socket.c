/* The sockets handed to clients: their table (ids, owners) and the io.ustack.Socket methods
 * that act on any of them: SetOption, Shutdown, Close (ipc/io.ustack.Socket.varlink). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "rpc.h"

/* Every client socket of the daemon; few enough (RPC_MAX_CLIENTS * RPC_MAX_SOCKETS at
 * most) for a list. The daemon has one server, so the table is the process's. */
static struct rpc_sock *rpc_socks;
static uint64_t rpc_sock_last_id;

void rpc_sock_register(struct rpc_client *c, struct rpc_sock *s, const struct rpc_sock_ops *ops,
		       const void *key)
{
	s->id = ++rpc_sock_last_id;
	s->client = c;
	s->ops = ops;
	s->key = key;
	s->next = rpc_socks;
	rpc_socks = s;
}

void rpc_sock_unregister(struct rpc_sock *s)
{
	for (struct rpc_sock **pp = &rpc_socks; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	s->next = NULL;
}

int rpc_sock_owner_pid(const void *key)
{
	for (struct rpc_sock *s = rpc_socks; s; s = s->next)
		if (s->key == key && s->client)
			return (int)rpc_client_cred(s->client)->pid;
	return 0;
}

static const char *const rpc_option_names[] = {
	"nodelay", "keepalive", "keepidle_s", "keepintvl_s", "keepcnt",
	"sndbuf",  "rcvbuf",	"ttl",	      "user_timeout_ms",
};

int rpc_sock_apply_options(struct rpc_sock *s, struct json_object *options, const char **bad)
{
	for (size_t i = 0; i < sizeof(rpc_option_names) / sizeof(rpc_option_names[0]); i++) {
		const char *name = rpc_option_names[i];
		int64_t v;
		bool b = false; /* copied to v below even when the option is absent (UBSan) */
		int err;

		*bad = name;
		if (strcmp(name, "nodelay") == 0 || strcmp(name, "keepalive") == 0) {
			err = varlink_get_bool(options, name, &b);
			v = b;
		} else {
			err = varlink_get_int(options, name, 0, INT32_MAX, &v);
		}
		if (err == -ENOENT)
			continue;
		if (err == 0)
			err = s->ops->setopt(s, name, v);
		if (err == -ENOPROTOOPT)
			continue; /* not for this protocol (nodelay on UDP): ignored */
		if (err < 0)
			return err;
	}
	*bad = NULL;
	return 0;
}

/* The caller's socket `socket`, or NULL with *ret what the method returns: the call was
 * answered (bad parameter) or -EBADF (not a socket of this connection). */
static struct rpc_sock *sock_of(struct rpc_req *req, int *ret)
{
	int64_t id;

	if (varlink_get_int(req->call->params, "socket", 0, INT64_MAX, &id) < 0) {
		*ret = rpc_invalid_param(req, "socket");
		return NULL;
	}
	for (struct rpc_sock *s = rpc_socks; s; s = s->next)
		if (s->id == (uint64_t)id && s->client == req->client)
			return s;
	*ret = -EBADF;
	return NULL;
}

static int socket_set_option(struct rpc_req *req)
{
	struct rpc_sock *s;
	const char *name;
	int64_t v;
	int err;
	bool known = false;

	if (varlink_get_string(req->call->params, "name", &name) < 0)
		return rpc_invalid_param(req, "name");
	for (size_t i = 0; i < sizeof(rpc_option_names) / sizeof(rpc_option_names[0]); i++)
		known |= strcmp(name, rpc_option_names[i]) == 0;
	if (!known)
		return rpc_invalid_param(req, "name");
	if (varlink_get_int(req->call->params, "value", INT32_MIN, INT32_MAX, &v) < 0)
		return rpc_invalid_param(req, "value");
	s = sock_of(req, &err);
	if (!s)
		return err;
	err = s->ops->setopt(s, name, v);
	if (err < 0)
		return err;
	rpc_reply(req->client, NULL, false, NULL, 0);
	return 0;
}

static int socket_shutdown(struct rpc_req *req)
{
	struct rpc_sock *s;
	const char *how;
	int err, h;

	s = sock_of(req, &err);
	if (!s)
		return err;
	if (varlink_get_string(req->call->params, "how", &how) < 0)
		return rpc_invalid_param(req, "how");
	if (strcmp(how, "read") == 0)
		h = SHUT_RD;
	else if (strcmp(how, "write") == 0)
		h = SHUT_WR;
	else if (strcmp(how, "both") == 0)
		h = SHUT_RDWR;
	else
		return rpc_invalid_param(req, "how");
	err = s->ops->shutdown(s, h);
	if (err < 0)
		return err;
	rpc_reply(req->client, NULL, false, NULL, 0);
	return 0;
}

static int socket_close(struct rpc_req *req)
{
	struct rpc_sock *s;
	int err;

	s = sock_of(req, &err);
	if (!s)
		return err;
	s->ops->close(s); /* ends the socket's own call first */
	rpc_reply(req->client, NULL, false, NULL, 0);
	return 0;
}

const struct rpc_method rpc_socket_methods[] = {
	{ "io.ustack.Socket.SetOption", socket_set_option, true, false },
	{ "io.ustack.Socket.Shutdown", socket_shutdown, true, false },
	{ "io.ustack.Socket.Close", socket_close, true, false },
	{ NULL, NULL, false, false },
};
