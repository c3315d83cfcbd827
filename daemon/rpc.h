/* The daemon's varlink server (docs/rpc.md): the control socket, its clients, the method
 * table and what the method files (rpc_*.c) share.
 *
 * Everything is non-blocking and runs in the packet loop: a client costs only its own
 * connection. Each client has bounded input (one message, RPC_MSG_MAX_BYTES), bounded
 * output (RPC_OUT_MAX_BYTES queued; past it the client is dropped), at most
 * RPC_MAX_STREAMS open streaming calls and RPC_MAX_SOCKETS sockets; at most
 * RPC_MAX_CLIENTS clients at once. */
#ifndef USTACKD_RPC_H
#define USTACKD_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <json-c/json.h>

#include "ipc/varlink.h"

struct ustackd;
struct event;

#define RPC_MAX_CLIENTS 256
#define RPC_MSG_MAX_BYTES VARLINK_MSG_MAX_BYTES
/* Output queued for one client: replies wait here while its socket is full. Reading its
 * calls pauses above RPC_OUT_PAUSE_BYTES; above RPC_OUT_MAX_BYTES (a client that does not
 * read its replies, e.g. of a stream) it is dropped. */
#define RPC_OUT_PAUSE_BYTES (256u << 10)
#define RPC_OUT_MAX_BYTES (16u << 20)
#define RPC_MAX_STREAMS 64  /* open streaming calls ("more") per client */
#define RPC_MAX_SOCKETS 256 /* sockets per client, accepted connections included */

/* The server's counters, in Stats under these names (docs/rpc.md, "Counters"). */
#define RPC_COUNTERS(C)                                                                        \
	C(RpcClientsAccepted, "control connections accepted")                                 \
	C(RpcClientsRefused, "connections closed at once: RPC_MAX_CLIENTS reached")           \
	C(RpcClientsDropped, "clients dropped: output past RPC_OUT_MAX_BYTES, framing error") \
	C(RpcCalls, "calls received")                                                          \
	C(RpcOversizeMessages, "messages longer than RPC_MSG_MAX_BYTES (client dropped)")     \
	C(RpcBadMessages, "messages that are not JSON objects or not valid calls")            \
	C(RpcMethodNotFound, "calls of an unknown method or interface")                       \
	C(RpcInvalidParameters, "calls with a missing or mistyped parameter")                 \
	C(RpcPermissionDenied, "state-changing calls from an unprivileged uid")               \
	C(RpcLimitRefusals, "calls refused by a per-client limit (streams, sockets)")         \
	C(RpcUnexpectedFds, "fds that came with a call that takes none (closed)")             \
	C(RpcFdDrops, "datagrams or capture frames dropped: a client fd was full")

enum rpc_counter {
#define RPC_C_ENUM(name, desc) RPC_##name,
	RPC_COUNTERS(RPC_C_ENUM)
#undef RPC_C_ENUM
	RPC__COUNT
};

struct rpc_client;

/* A streaming call that outlives its dispatch (TcpConnect, Ping, ...): linked to its
 * client, cancelled (resources released, no reply) when the client goes away. */
struct rpc_stream {
	struct rpc_client *client;
	struct rpc_stream *next;
	void (*cancel)(struct rpc_stream *s);
	bool is_call;
};

/* A socket handed to a client (rpc_socket.c keeps the table): TCP connections and
 * listeners (rpc_tcp.c), UDP sockets (rpc_udp.c). */
struct rpc_sock;
struct rpc_sock_ops {
	const char *protocol; /* "tcp", "udp" */
	/* 0 or negative errno (-ENOPROTOOPT: not for this kind of socket) */
	int (*setopt)(struct rpc_sock *s, const char *name, int64_t value);
	int (*shutdown)(struct rpc_sock *s, int how); /* SHUT_RD, SHUT_WR, SHUT_RDWR */
	/* Ends the socket and its call; called from the Close method. */
	void (*close)(struct rpc_sock *s);
};
struct rpc_sock {
	uint64_t id;
	struct rpc_client *client;
	const struct rpc_sock_ops *ops;
	const void *key; /* the stack's socket (tcp_sock, udp_sock): for the owner pid */
	struct rpc_sock *next;
};
/* Registers s (id assigned) / removes it. */
void rpc_sock_register(struct rpc_client *c, struct rpc_sock *s, const struct rpc_sock_ops *ops,
		       const void *key);
void rpc_sock_unregister(struct rpc_sock *s);
/* The pid of the client holding the stack socket `key`, or 0 (the daemon's own). */
int rpc_sock_owner_pid(const void *key);
/* Applies an io.ustack.Socket Options object: 0, or the first failure (negative errno)
 * with *bad naming the option. Options of another protocol are ignored. */
int rpc_sock_apply_options(struct rpc_sock *s, struct json_object *options, const char **bad);

/* One call being dispatched. */
struct rpc_req {
	struct rpc_client *client;
	const struct varlink_call *call;
	const char *errno_error; /* "io.ustack.Socket.Errno": the interface's Errno */
	int fds[VARLINK_FDS_MAX]; /* fds that came with the call (a method may take them) */
	size_t nfds;
};

/* A method handler: 0 when it replied (or started a stream that will), or a negative errno
 * that the server sends as the interface's Errno. */
typedef int (*rpc_method_fn)(struct rpc_req *req);

struct rpc_method {
	const char *name;
	rpc_method_fn fn;
	bool privileged; /* state-changing: uid 0 or the daemon's uid */
	bool takes_fds;
	/* answered later, after a group commit (rpc_kv.c): other calls of a client that has
	 * one waiting commit the group first, to keep its replies in order */
	bool grouped;
};

/* The server (rpc_server.c). */
int rpc_server_start(struct ustackd *d);
void rpc_server_stop(struct ustackd *d);
unsigned rpc_server_clients(const struct ustackd *d);
uint64_t rpc_server_counter(const struct ustackd *d, enum rpc_counter c);
void rpc_count(struct rpc_client *c, enum rpc_counter id);
extern const char *const rpc_counter_names[RPC__COUNT];

struct ustackd *rpc_client_daemon(const struct rpc_client *c);
const struct ucred *rpc_client_cred(const struct rpc_client *c);
bool rpc_client_privileged(const struct rpc_client *c);
/* Whether replies to c are dropped now (the call being dispatched is oneway); returns the
 * old setting. For answering an earlier call of c in the middle of a later one. */
bool rpc_client_oneway_set(struct rpc_client *c, bool oneway);
/* A new socket id, unique for the daemon's lifetime. */
uint64_t rpc_next_socket_id(struct rpc_client *c);

/* Replies. Each takes over params (NULL: {}); fds are sent with the reply's first byte
 * and closed here once sent (or when the client goes). A reply to a oneway call is not
 * sent. Returns 0, or -ECONNRESET when the client is gone or was dropped now (its output
 * passed RPC_OUT_MAX_BYTES): a stream must then stop using it. */
int rpc_reply(struct rpc_client *c, struct json_object *params, bool continues,
	      const int *fds, size_t nfds);
int rpc_error(struct rpc_client *c, const char *error, struct json_object *params);
/* A reply already as text[0, len), NUL included (rpc_kv.c's direct path). */
int rpc_reply_text(struct rpc_client *c, const char *text, size_t len);
int rpc_error_errno(struct rpc_client *c, const char *error, int err, const char *message);
/* org.varlink.service.InvalidParameter {parameter}: returns 0 (the call is answered). */
int rpc_invalid_param(struct rpc_req *req, const char *param);
/* org.varlink.service.ExpectedMore when the call lacks "more" (returns 0, answered), else 1. */
int rpc_need_more(struct rpc_req *req);

/* Streams of a client: what must be cancelled when it goes. A call (is_call) counts
 * against RPC_MAX_STREAMS (-EMFILE past it); an accepted connection does not (its socket
 * counts instead). rpc_stream_del() unlinks (no cancel). */
int rpc_stream_add(struct rpc_client *c, struct rpc_stream *s, void (*cancel)(struct rpc_stream *),
		   bool is_call);
void rpc_stream_del(struct rpc_stream *s);
/* Socket accounting per client: -EMFILE past RPC_MAX_SOCKETS. */
int rpc_socket_get(struct rpc_client *c);
void rpc_socket_put(struct rpc_client *c);

/* After calls into the stack outside the packet loop's own callbacks: flushes output and
 * re-arms the stack's timer (loop.c). */
void rpc_kick(struct rpc_client *c);

/* Parameter helpers: "address" strings and Endpoint objects. 0 or -EINVAL. */
int rpc_parse_addr(const char *s, struct in_addr *out);
struct json_object *rpc_addr_json(struct in_addr a);
struct json_object *rpc_endpoint_json(struct in_addr a, uint16_t port);

/* The method tables of the rpc_*.c files, each ended by a { NULL } entry. */
extern const struct rpc_method rpc_service_methods[];
extern const struct rpc_method rpc_stack_methods[];
extern const struct rpc_method rpc_socket_methods[];
extern const struct rpc_method rpc_tcp_methods[];
extern const struct rpc_method rpc_udp_methods[];
extern const struct rpc_method rpc_ping_methods[];
extern const struct rpc_method rpc_traceroute_methods[];
extern const struct rpc_method rpc_capture_methods[];
extern const struct rpc_method rpc_kv_methods[];

/* io.ustack.KV's group commit (rpc_kv.c): whether c has a write waiting for it; commit
 * the waiting writes now and answer them; commit and release at server stop. */
bool rpc_kv_client_waiting(const struct rpc_client *c);
void rpc_kv_commit(struct ustackd *d);
void rpc_kv_stop(struct ustackd *d);
/* The next message in rd when it is one of io.ustack.KV's hot calls in their plain form
 * (kv/kv_direct.h): taken and answered (or added to the group) without json-c, true;
 * else false, and the server goes on as usual with it. */
bool rpc_kv_direct(struct rpc_client *c, struct varlink_reader *rd);
/* The store's redo-log counters (docs/kv.md, "Counters") into a Stats reply's counters. */
void rpc_kv_counters(struct ustackd *d, struct json_object *counters);

/* The description of an interface served (rpc_service.c), or NULL. */
const char *rpc_interface_description(const char *name);


#endif
