/* The control socket: listening (or socket activation), clients with their limits, the
 * output queue, and dispatch through the method tables (daemon/rpc.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemon.h"
#include "ipc/fdpass.h"
#include "log.h"
#include "rpc.h"

/* Bytes read per read(2) and reads per wake-up: other clients and the packet path get
 * their turn after at most this much from one client. */
#define RPC_READ_CHUNK (64u << 10)
#define RPC_READS_PER_WAKEUP 4

/* One queued message (or its unsent rest), with the fds that ride on its first byte. */
struct rpc_out {
	struct rpc_out *next;
	size_t len, off;
	int fds[VARLINK_FDS_MAX];
	size_t nfds;
	char data[];
};

struct rpc_client {
	struct rpc_server *srv;
	struct rpc_client *next, **pprev;
	int fd;
	struct event *ev_read, *ev_write;
	struct ucred cred;
	struct varlink_reader rd;
	struct rpc_out *out, **out_tail;
	size_t out_bytes;
	bool reading; /* ev_read is added */
	bool rd_eof;  /* the client shut its side (shutdown(SHUT_WR)): its streams go on */
	struct event *ev_hup; /* after rd_eof: notices when the client goes altogether */
	bool dead;    /* being freed: replies are refused */
	bool oneway;  /* the call being dispatched is oneway: no reply */
	int in_dispatch; /* >0: client_on_read() runs: it frees a dead client on return */
	struct rpc_stream *streams;
	unsigned nstreams, nsockets;
};

struct rpc_server {
	struct ustackd *d;
	int fd;
	bool activated; /* from systemd: not ours to unlink */
	struct event *ev_accept;
	struct rpc_client *clients;
	unsigned nclients;
	uint64_t next_socket_id;
	uint64_t refused_logged_ns;
	uint64_t counters[RPC__COUNT];
	char *text; /* a reply's text while it is sent (rpc_reply) */
	size_t text_cap;
	const struct rpc_method *last_method; /* found last: tried first (method_find) */
};

const char *const rpc_counter_names[RPC__COUNT] = {
#define RPC_C_NAME(name, desc) #name,
	RPC_COUNTERS(RPC_C_NAME)
#undef RPC_C_NAME
};

static const struct rpc_method *const rpc_tables[] = {
	rpc_service_methods,
	rpc_stack_methods,
	rpc_socket_methods,
	rpc_tcp_methods,
	rpc_udp_methods,
	rpc_ping_methods,
	rpc_traceroute_methods,
	rpc_capture_methods,
	rpc_kv_methods,
};

static void client_free(struct rpc_client *c);
static void client_destroy(struct rpc_client *c);
static void client_on_read(evutil_socket_t fd, short what, void *arg);
static void client_check_done(struct rpc_client *c);

void rpc_count(struct rpc_client *c, enum rpc_counter id)
{
	c->srv->counters[id]++;
}

struct ustackd *rpc_client_daemon(const struct rpc_client *c)
{
	return c->srv->d;
}

const struct ucred *rpc_client_cred(const struct rpc_client *c)
{
	return &c->cred;
}

bool rpc_client_privileged(const struct rpc_client *c)
{
	return c->cred.uid == 0 || c->cred.uid == geteuid();
}

uint64_t rpc_next_socket_id(struct rpc_client *c)
{
	return ++c->srv->next_socket_id;
}

unsigned rpc_server_clients(const struct ustackd *d)
{
	return d->rpc ? d->rpc->nclients : 0;
}

uint64_t rpc_server_counter(const struct ustackd *d, enum rpc_counter id)
{
	return d->rpc ? d->rpc->counters[id] : 0;
}

void rpc_kick(struct rpc_client *c)
{
	loop_kick(c->srv->d);
}

/* Drops a client that broke a limit or the protocol: logged once, counted. */
static void client_drop(struct rpc_client *c, const char *why)
{
	log_notice("control: dropping client pid %d uid %u: %s", (int)c->cred.pid,
		   (unsigned)c->cred.uid, why);
	rpc_count(c, RPC_RpcClientsDropped);
	client_free(c);
}

/* A client that shut its side is done once its streams ended and its replies are out. */
static void client_check_done(struct rpc_client *c)
{
	if (c->rd_eof && !c->dead && !c->streams && !c->out)
		client_free(c);
}

/* The peer closed its socket altogether (not only its write side): POLLHUP. */
static bool client_hung_up(const struct rpc_client *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void client_on_hup_check(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_client *c = arg;

	(void)fd;
	(void)what;
	if (client_hung_up(c))
		client_free(c);
}

static void client_update_read(struct rpc_client *c)
{
	bool want = !c->dead && !c->rd_eof && c->out_bytes < RPC_OUT_PAUSE_BYTES;

	if (want == c->reading)
		return;
	if (want)
		event_add(c->ev_read, NULL);
	else
		event_del(c->ev_read);
	c->reading = want;
}

static void out_free(struct rpc_out *o)
{
	for (size_t i = 0; i < o->nfds; i++)
		close(o->fds[i]);
	free(o);
}

/* Writes what the socket takes; 0, or -errno when the client is broken. */
static int client_flush(struct rpc_client *c)
{
	while (c->out) {
		struct rpc_out *o = c->out;
		ssize_t n = fdpass_send(c->fd, o->data + o->off, o->len - o->off, o->fds,
					o->nfds, 1);

		if (n == -EAGAIN)
			break;
		if (n < 0)
			return (int)n;
		/* sent: the kernel holds its own references to the fds */
		for (size_t i = 0; i < o->nfds; i++)
			close(o->fds[i]);
		o->nfds = 0;
		o->off += (size_t)n;
		c->out_bytes -= (size_t)n;
		if (o->off < o->len)
			break;
		c->out = o->next;
		if (!c->out)
			c->out_tail = &c->out;
		free(o);
	}
	if (c->out)
		event_add(c->ev_write, NULL);
	else
		event_del(c->ev_write);
	client_update_read(c);
	client_check_done(c);
	return 0;
}

static void client_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_client *c = arg;

	(void)fd;
	(void)what;
	if (client_flush(c) < 0)
		client_free(c);
}

/* Queues the message text[0, len) (NUL included) with fds (taken: closed on failure), and
 * tries to send. */
static int client_queue(struct rpc_client *c, const char *text, size_t len, const int *fds,
			size_t nfds)
{
	struct rpc_out *o;
	size_t sent = 0;

	if (c->dead)
		goto fail;
	if (c->out_bytes + len > RPC_OUT_MAX_BYTES) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		client_drop(c, "output queue full (the client does not read its replies)");
		return -ECONNRESET;
	}
	if (!c->out && !nfds) {
		/* Nothing queued: straight from the text to the socket, queueing only what it
		 * did not take (a copy and a malloc/free less per reply). */
		ssize_t n = fdpass_send(c->fd, text, len, NULL, 0, 1);

		if (n < 0 && n != -EAGAIN) {
			client_free(c);
			return -ECONNRESET;
		}
		sent = n > 0 ? (size_t)n : 0;
		if (sent == len) {
			client_check_done(c);
			return 0;
		}
	}
	o = malloc(sizeof(*o) + len - sent);
	if (!o && sent) { /* the rest of a message begun cannot be dropped alone */
		client_drop(c, "out of memory");
		return -ECONNRESET;
	}
	if (!o) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		return -ENOMEM;
	}
	memcpy(o->data, text + sent, len - sent);
	o->len = len - sent;
	o->off = 0;
	o->next = NULL;
	o->nfds = nfds;
	if (nfds)
		memcpy(o->fds, fds, nfds * sizeof(int));
	*c->out_tail = o;
	c->out_tail = &o->next;
	c->out_bytes += len - sent;
	if (client_flush(c) < 0) {
		client_free(c);
		return -ECONNRESET;
	}
	return 0;
fail:
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	return -ECONNRESET;
}

/* Queues msg (its reference is taken) with fds, and tries to send. */
static int client_send(struct rpc_client *c, struct json_object *msg, const int *fds,
		       size_t nfds)
{
	size_t len = 0;
	const char *text = msg ? varlink_msg_text(msg, &len) : NULL;
	int r;

	if (!text) {
		json_object_put(msg);
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		return -ENOMEM;
	}
	r = client_queue(c, text, len, fds, nfds);
	json_object_put(msg);
	return r;
}

bool rpc_client_oneway_set(struct rpc_client *c, bool oneway)
{
	bool old = c->oneway;

	c->oneway = oneway;
	return old;
}

int rpc_reply(struct rpc_client *c, struct json_object *params, bool continues,
	      const int *fds, size_t nfds)
{
	size_t len;
	int r;

	if (c->oneway) {
		json_object_put(params);
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		return 0;
	}
	/* The envelope written around the parameters' text: no object built per reply. */
	r = varlink_reply_text(params, continues, &c->srv->text, &c->srv->text_cap, &len);
	json_object_put(params);
	if (r < 0) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		return r;
	}
	r = client_queue(c, c->srv->text, len, fds, nfds);
	if (c->srv->text_cap > RPC_READ_CHUNK) { /* a large value's: not kept */
		free(c->srv->text);
		c->srv->text = NULL;
		c->srv->text_cap = 0;
	}
	return r;
}

int rpc_reply_text(struct rpc_client *c, const char *text, size_t len)
{
	if (c->oneway)
		return 0;
	return client_queue(c, text, len, NULL, 0);
}

int rpc_error(struct rpc_client *c, const char *error, struct json_object *params)
{
	if (c->oneway) {
		json_object_put(params);
		return 0;
	}
	return client_send(c, varlink_error_new(error, params), NULL, 0);
}

int rpc_error_errno(struct rpc_client *c, const char *error, int err, const char *message)
{
	if (c->oneway)
		return 0;
	return client_send(c, varlink_error_errno_new(error, err, message), NULL, 0);
}

static int error_with(struct rpc_client *c, const char *error, const char *key,
		      const char *value)
{
	struct json_object *p = json_object_new_object();

	if (p)
		json_object_object_add(p, key, json_object_new_string(value));
	return rpc_error(c, error, p);
}

int rpc_invalid_param(struct rpc_req *req, const char *param)
{
	rpc_count(req->client, RPC_RpcInvalidParameters);
	error_with(req->client, "org.varlink.service.InvalidParameter", "parameter", param);
	return 0;
}

int rpc_need_more(struct rpc_req *req)
{
	if (req->call->more)
		return 1;
	rpc_error(req->client, "org.varlink.service.ExpectedMore", NULL);
	return 0;
}

int rpc_stream_add(struct rpc_client *c, struct rpc_stream *s, void (*cancel)(struct rpc_stream *),
		   bool is_call)
{
	if (is_call && c->nstreams >= RPC_MAX_STREAMS) {
		rpc_count(c, RPC_RpcLimitRefusals);
		return -EMFILE;
	}
	s->client = c;
	s->cancel = cancel;
	s->is_call = is_call;
	s->next = c->streams;
	c->streams = s;
	c->nstreams += is_call;
	return 0;
}

void rpc_stream_del(struct rpc_stream *s)
{
	struct rpc_client *c = s->client;

	if (!c)
		return;
	for (struct rpc_stream **pp = &c->streams; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			c->nstreams -= s->is_call;
			break;
		}
	s->client = NULL;
	s->next = NULL;
	client_check_done(c);
}

int rpc_socket_get(struct rpc_client *c)
{
	if (c->nsockets >= RPC_MAX_SOCKETS) {
		rpc_count(c, RPC_RpcLimitRefusals);
		return -EMFILE;
	}
	c->nsockets++;
	return 0;
}

void rpc_socket_put(struct rpc_client *c)
{
	if (c->nsockets)
		c->nsockets--;
}

int rpc_parse_addr(const char *s, struct in_addr *out)
{
	return inet_pton(AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

struct json_object *rpc_addr_json(struct in_addr a)
{
	char buf[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, buf, sizeof(buf));
	return json_object_new_string(buf);
}

struct json_object *rpc_endpoint_json(struct in_addr a, uint16_t port)
{
	struct json_object *e = json_object_new_object();

	if (e) {
		json_object_object_add(e, "address", rpc_addr_json(a));
		json_object_object_add(e, "port", json_object_new_int(port));
	}
	return e;
}

static const struct rpc_method *method_find(struct rpc_server *srv, const char *name,
					    bool *iface_known, const char *iface)
{
	size_t il = strlen(iface);

	*iface_known = false;
	/* A client mostly calls one method over and over (a KV load: Get after Get): the
	 * last one found is tried first, one strcmp instead of a walk over every table. */
	if (srv->last_method && strcmp(srv->last_method->name, name) == 0)
		return srv->last_method;
	for (size_t t = 0; t < sizeof(rpc_tables) / sizeof(rpc_tables[0]); t++)
		for (const struct rpc_method *m = rpc_tables[t]; m->name; m++) {
			if (strcmp(m->name, name) == 0)
				return srv->last_method = m;
			if (strncmp(m->name, iface, il) == 0 && m->name[il] == '.')
				*iface_known = true;
		}
	return NULL;
}

/* The Errno error of the interface a method belongs to; org.varlink.service has none. */
static const char *errno_error_of(const char *iface)
{
	if (strcmp(iface, "io.ustack.Stack") == 0)
		return "io.ustack.Stack.Errno";
	if (strcmp(iface, "io.ustack.Socket") == 0)
		return "io.ustack.Socket.Errno";
	return "io.ustack.Stack.Errno";
}

/* A call answered now by a client with a write waiting for the group commit: commit
 * first, so that its replies keep the order of its calls (rpc_kv.c). */
static void keep_order(struct rpc_client *c, const struct rpc_method *m)
{
	if (!(m && m->grouped) && rpc_kv_client_waiting(c))
		rpc_kv_commit(c->srv->d);
}

static void dispatch(struct rpc_client *c, struct json_object *msg)
{
	struct varlink_call call;
	struct rpc_req req = { .client = c, .call = &call };
	const struct rpc_method *m;
	const char *bad;
	bool iface_known;
	int err;

	req.nfds = varlink_reader_take_fds(&c->rd, req.fds, VARLINK_FDS_MAX);
	rpc_count(c, RPC_RpcCalls);
	c->oneway = false;
	err = varlink_call_decode(msg, &call, &bad);
	if (err < 0) {
		keep_order(c, NULL);
		rpc_count(c, RPC_RpcBadMessages);
		error_with(c, "org.varlink.service.InvalidParameter", "parameter",
			   bad ? bad : "method");
		goto out;
	}
	c->oneway = call.oneway;
	req.errno_error = errno_error_of(call.interface);
	m = method_find(c->srv, call.method, &iface_known, call.interface);
	keep_order(c, m);
	if (!m) {
		rpc_count(c, RPC_RpcMethodNotFound);
		if (iface_known)
			error_with(c, "org.varlink.service.MethodNotFound", "method", call.method);
		else
			error_with(c, "org.varlink.service.InterfaceNotFound", "interface",
				   call.interface);
		goto out;
	}
	if (req.nfds && !m->takes_fds) {
		c->srv->counters[RPC_RpcUnexpectedFds] += req.nfds;
		rpc_error_errno(c, req.errno_error, EBADF,
				"this method takes no file descriptors (closed)");
		goto out;
	}
	if (m->privileged && !rpc_client_privileged(c)) {
		rpc_count(c, RPC_RpcPermissionDenied);
		log_info("control: %s refused to uid %u (pid %d): needs uid 0 or %u", call.method,
			 (unsigned)c->cred.uid, (int)c->cred.pid, (unsigned)geteuid());
		rpc_error(c, "org.varlink.service.PermissionDenied", NULL);
		goto out;
	}
	err = m->fn(&req);
	if (err < 0)
		rpc_error_errno(c, req.errno_error, err, NULL);
	rpc_kick(c);
out:
	for (size_t i = 0; i < req.nfds; i++)
		if (req.fds[i] >= 0)
			close(req.fds[i]);
	c->oneway = false;
}

/* Takes the complete messages in the reader; false when the client was dropped. */
static bool client_process(struct rpc_client *c)
{
	struct json_object *msg;
	int r;

	while (!c->dead) {
		/* io.ustack.KV's hot calls without json-c (rpc_kv.c) */
		if (rpc_kv_direct(c, &c->rd))
			continue;
		r = varlink_reader_next(&c->rd, &msg);
		if (r == 0)
			break;
		if (r == -EMSGSIZE) {
			rpc_count(c, RPC_RpcOversizeMessages);
			error_with(c, "org.varlink.service.InvalidParameter", "parameter",
				   "message too long");
			client_flush(c);
			client_drop(c, "message longer than the limit");
			return false;
		}
		if (r < 0) {
			keep_order(c, NULL);
			rpc_count(c, RPC_RpcBadMessages);
			error_with(c, "org.varlink.service.InvalidParameter", "parameter",
				   r == -EPROTO ? "message is not a JSON object"
						: "message is not JSON");
			continue;
		}
		dispatch(c, msg);
		json_object_put(msg);
	}
	return !c->dead;
}

static void client_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_client *c = arg;

	(void)fd;
	(void)what;
	if (c->dead) {
		client_destroy(c);
		return;
	}
	c->in_dispatch++;
	for (int i = 0; i < RPC_READS_PER_WAKEUP && c->reading && !c->dead; i++) {
		int fds[FDPASS_MAX_FDS];
		size_t nfds = 0, dropped = 0, cap;
		char *space;
		ssize_t n;

		if (varlink_reader_reserve(&c->rd, RPC_READ_CHUNK, &space, &cap) < 0) {
			client_drop(c, "out of memory");
			break;
		}
		n = fdpass_recv(c->fd, space, RPC_READ_CHUNK, fds, FDPASS_MAX_FDS, &nfds,
				&dropped, 1);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			struct timeval one_s = { 1, 0 };

			if (varlink_reader_pending(&c->rd))
				log_info("control: client pid %d closed with a partial message",
					 (int)c->cred.pid);
			/* Gone, or nothing left to do: its streams end with it. Only its
			 * write side shut (socat, `printf ... | nc -U`): the streams it
			 * started go on, checked every second for a full close. */
			if (n < 0 || client_hung_up(c) || (!c->streams && !c->out)) {
				c->dead = true;
				break;
			}
			c->rd_eof = true;
			client_update_read(c);
			c->ev_hup = event_new(c->srv->d->base, -1, EV_PERSIST,
					      client_on_hup_check, c);
			if (c->ev_hup)
				event_add(c->ev_hup, &one_s);
			break;
		}
		c->srv->counters[RPC_RpcUnexpectedFds] += dropped;
		varlink_reader_commit(&c->rd, (size_t)n, fds, nfds);
		if (!client_process(c))
			break;
		/* A short read emptied the socket: one more read would only say EAGAIN, a
		 * system call per call for a client that waits for each reply. */
		if ((size_t)n < RPC_READ_CHUNK)
			break;
	}
	c->in_dispatch--;
	if (c->dead)
		client_destroy(c);
}

/* Frees a client now: its streams are cancelled (their sockets released), queued
 * output and held fds dropped. Only from client_on_read() and rpc_server_stop(), so that
 * no caller is left holding a freed client or stream. */
static void client_destroy(struct rpc_client *c)
{
	c->dead = true;
	while (c->streams) {
		struct rpc_stream *s = c->streams;

		rpc_stream_del(s);
		s->cancel(s);
	}
	while (c->out) {
		struct rpc_out *o = c->out;

		c->out = o->next;
		out_free(o);
	}
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	if (c->ev_hup)
		event_free(c->ev_hup);
	varlink_reader_fini(&c->rd);
	close(c->fd);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	c->srv->nclients--;
	rpc_kick(c);
	free(c);
}

/* Marks the client gone (replies refused from now) and frees it from the loop, outside
 * whatever callback noticed. */
static void client_free(struct rpc_client *c)
{
	if (c->dead && !c->reading)
		return;
	c->dead = true;
	if (c->reading)
		event_del(c->ev_read);
	c->reading = false;
	event_del(c->ev_write);
	if (!c->in_dispatch)
		event_active(c->ev_read, EV_READ, 0);
}

static void server_refuse(struct rpc_server *srv, int fd)
{
	static const char msg[] = "{\"error\":\"io.ustack.Stack.Errno\",\"parameters\":"
				  "{\"errno\":\"EUSERS\",\"message\":\"too many clients\"}}";
	uint64_t now = ustackd_now_ns();

	srv->counters[RPC_RpcClientsRefused]++;
	(void)!send(fd, msg, sizeof(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	if (now - srv->refused_logged_ns > 10000000000ull) {
		log_warning("control: %u clients connected, refusing more (%llu refused so far)",
			    RPC_MAX_CLIENTS,
			    (unsigned long long)srv->counters[RPC_RpcClientsRefused]);
		srv->refused_logged_ns = now;
	}
}

static void server_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct rpc_server *srv = arg;

	(void)what;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct rpc_client *c;
		socklen_t len;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warning_errno(-errno, "control: accept");
			return;
		}
		if (srv->nclients >= RPC_MAX_CLIENTS) {
			server_refuse(srv, fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->srv = srv;
		c->fd = fd;
		c->out_tail = &c->out;
		len = sizeof(c->cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0) {
			/* without credentials the client is treated as nobody */
			c->cred.uid = (uid_t)-1;
			c->cred.gid = (gid_t)-1;
		}
		varlink_reader_init(&c->rd, RPC_MSG_MAX_BYTES);
		c->ev_read = event_new(srv->d->base, fd, EV_READ | EV_PERSIST, client_on_read, c);
		c->ev_write = event_new(srv->d->base, fd, EV_WRITE | EV_PERSIST, client_on_write, c);
		c->next = srv->clients;
		c->pprev = &srv->clients;
		if (c->next)
			c->next->pprev = &c->next;
		srv->clients = c;
		srv->nclients++;
		srv->counters[RPC_RpcClientsAccepted]++;
		if (!c->ev_read || !c->ev_write) {
			client_destroy(c);
			continue;
		}
		client_update_read(c);
		log_debug("control: client pid %d uid %u connected", (int)c->cred.pid,
			  (unsigned)c->cred.uid);
	}
}

/* Binds the control socket at path: 0660, group ustackd when it exists. */
static int server_bind(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct group *g;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_error_errno(-ENAMETOOLONG, "control: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_error_errno(-errno, "control: socket");
	/* A file left by a daemon that died: nobody answers on it, so replace it. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		log_error("control: %s is in use by another daemon", path);
		return -EADDRINUSE;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = log_error_errno(-errno, "control: bind %s", path);
		goto fail;
	}
	g = getgrnam("ustackd");
	if (g) {
		if (chown(path, (uid_t)-1, g->gr_gid) < 0)
			log_warning_errno(-errno, "control: chgrp ustackd %s", path);
	} else {
		log_notice("control: no group 'ustackd': %s is for root only (0660, group %u)",
			   path, (unsigned)getegid());
	}
	if (chmod(path, 0660) < 0) {
		r = log_error_errno(-errno, "control: chmod %s", path);
		goto fail;
	}
	if (listen(fd, 128) < 0) {
		r = log_error_errno(-errno, "control: listen %s", path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	unlink(path);
	return r;
}

int rpc_server_start(struct ustackd *d)
{
	struct rpc_server *srv = calloc(1, sizeof(*srv));
	int n;

	if (!srv)
		return log_error_errno(-ENOMEM, "control");
	srv->d = d;
	n = sd_listen_fds(1);
	if (n > 1) {
		log_error("control: %d sockets passed by systemd, expected one", n);
		free(srv);
		return -EINVAL;
	}
	if (n == 1) {
		srv->fd = SD_LISTEN_FDS_START;
		srv->activated = true;
		if (sd_is_socket_unix(srv->fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
			log_error("control: the socket passed by systemd is not a listening "
				  "stream Unix socket");
			free(srv);
			return -EINVAL;
		}
		fcntl(srv->fd, F_SETFL, fcntl(srv->fd, F_GETFL) | O_NONBLOCK);
		fcntl(srv->fd, F_SETFD, FD_CLOEXEC);
	} else {
		srv->fd = server_bind(d->cfg.control);
		if (srv->fd < 0) {
			n = srv->fd;
			free(srv);
			return n;
		}
	}
	srv->ev_accept = event_new(d->base, srv->fd, EV_READ | EV_PERSIST, server_on_accept, srv);
	if (!srv->ev_accept) {
		if (!srv->activated)
			unlink(d->cfg.control);
		close(srv->fd);
		free(srv);
		return log_error_errno(-ENOMEM, "control");
	}
	event_add(srv->ev_accept, NULL);
	d->rpc = srv;
	log_info("control: serving varlink on %s%s", srv->activated ? "the socket from systemd"
								: d->cfg.control,
		 "");
	return 0;
}

void rpc_server_stop(struct ustackd *d)
{
	struct rpc_server *srv = d->rpc;

	if (!srv)
		return;
	rpc_kv_stop(d); /* answers the writes still waiting, before the clients go */
	while (srv->clients)
		client_destroy(srv->clients);
	event_free(srv->ev_accept);
	close(srv->fd);
	if (!srv->activated)
		unlink(d->cfg.control);
	free(srv->text);
	free(srv);
	d->rpc = NULL;
}
