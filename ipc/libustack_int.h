/* libustack's JSON-level call, shared by the library and ustackctl (not installed): the
 * parameters and replies as json-c objects rather than text. */
#ifndef USTACK_LIBUSTACK_INT_H
#define USTACK_LIBUSTACK_INT_H

#include <json-c/json.h>

#include "ipc/ustack.h"

/* Called for every reply; `params` is borrowed for the call. Non-zero stops the call. */
typedef int (*ustack_json_fn)(struct json_object *params, int continues, void *ctx);

/* Calls `method` on the shared control connection. `params` (may be NULL) is taken.
 * `send_fd` >= 0 travels with the call (SCM_RIGHTS), e.g. Capture's file. Returns 0, the
 * callback's non-zero value, -EINTR when a signal interrupted the wait (the connection is
 * then reopened on the next call), or the error's negative errno. */
int ustackint_call_json(struct ustack *u, const char *method, struct json_object *params, int more,
		     int send_fd, ustack_json_fn fn, void *ctx);

/* The daemon's error reply as text ("io.ustack.Socket.Errno: ECONNRESET: ..."). */
const char *ustackint_error_name(const struct ustack *u);

#endif
