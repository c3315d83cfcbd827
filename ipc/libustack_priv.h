/* libustack's inside: the varlink connections of a client and the sockets made over them.
 * Split by job: libustack.c (connections, calls, errors), libustack_sock.c (sockets,
 * events), libustack_ping.c (Ping). */
#ifndef USTACK_LIBUSTACK_PRIV_H
#define USTACK_LIBUSTACK_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "ipc/libustack_int.h"
#include "ipc/varlink.h"

/* One varlink connection to the daemon. */
struct uconn {
	int fd; /* -1: closed */
	struct varlink_reader rd;
};

enum usock_kind { USOCK_TCP, USOCK_LISTENER, USOCK_UDP, USOCK_ACCEPTED };

/* A socket made through the client: its fd, and the call that reports on it. */
struct usock {
	struct usock *next;
	enum usock_kind kind;
	int fd;		    /* the data fd; for a listener, its connection's fd */
	int64_t id;	    /* the daemon's socket id */
	struct uconn conn;  /* its own call (fd -1 for an accepted connection) */
	struct usock *owner; /* accepted: its listener */
	bool ended;
	int end_err; /* 0: orderly close; negative errno */
	int simple_pending; /* SetOption & co. sent on conn, not yet answered */
	int simple_result;
	bool simple_done;
};

struct uevent {
	struct uevent *next;
	struct ustack_event ev;
};

struct ustack {
	char *path;
	struct uconn ctl; /* one-shot calls (Status, Ping, ...) */
	int epfd;	  /* every socket's call, for ustack_event_fd() */
	struct usock *socks;
	struct uevent *evq, **evq_tail;
	char errmsg[256];
	char errname[128];
};

/* libustack.c */
int uconn_open(struct ustack *u, struct uconn *c);
void uconn_close(struct uconn *c);
/* Sends a call (taking `params`), with `send_fd` (>= 0) attached. */
int uconn_send_call(struct ustack *u, struct uconn *c, const char *method,
		    struct json_object *params, unsigned flags, int send_fd);
/* The next message: 1 with *msg (owned) and its fd in *fd (or -1); -EAGAIN when nothing
 * came within timeout_ms (-1: wait for ever); -EPIPE when the daemon closed the connection;
 * -EINTR; other negative errno on a broken stream. */
int uconn_next(struct uconn *c, int timeout_ms, struct json_object **msg, int *fd);
/* An error reply as a negative errno, its text kept for ustack_error_message(). */
int uclient_set_error(struct ustack *u, const char *error, struct json_object *params);
void uclient_clear_error(struct ustack *u);

/* libustack_sock.c */
void usock_free_all(struct ustack *u);

#endif
