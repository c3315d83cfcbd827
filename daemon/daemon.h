/* ustackd's state: the configuration, the device, the stack and the services, driven by the
 * libevent loop of loop.c. */
#ifndef USTACKD_DAEMON_H
#define USTACKD_DAEMON_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "device.h"
#include "frame_tap.h"
#include "service.h"
#include "snmp_file.h"
#include "stack/stack.h"

struct event_base;
struct event;
struct kv;
struct rpc_server;

struct ustackd {
	struct ustackd_config cfg;
	char runtime_dir[PATH_MAX];
	char prog_record[PATH_MAX];
	struct device dev;
	struct stack *st;
	struct service_set services;
	struct snmp_file snmp;
	bool snmp_on;
	struct kv *kv; /* the key-value store (design.md §2) */

	/* loop.c */
	struct event_base *base;
	struct event *ev_rx, *ev_timer, *ev_tx_retry, *ev_tick, *ev_watchdog;
	struct event *ev_sigterm, *ev_sigint, *ev_sighup;
	uint64_t timer_armed_ns; /* the deadline ev_timer is armed for; 0: not armed */
	uint64_t watchdog_usec;
	uint64_t ticks;
	bool dev_failed; /* the device returned a fatal error: the packet loop is dead */
	int exit_code;

	struct rpc_server *rpc; /* the control socket (rpc_server.c); NULL when off */
	struct frame_tap tap;	/* between the stack and the device: Capture's frames */
	uint64_t start_ns;	/* ustackd_start(), for uptime */
};

/* Monotonic time in nanoseconds: the clock the stack runs on. */
uint64_t ustackd_now_ns(void);
/* getrandom(2), the stack's randomness; never fails (blocks until the pool is ready). */
void ustackd_random(void *buf, size_t len, void *ctx);

/* Opens the device, creates the stack and the services. 0, or a negative errno (logged). */
int ustackd_start(struct ustackd *d);
void ustackd_stop(struct ustackd *d);

/* loop.c: runs until SIGTERM/SIGINT or a fatal device error. Returns the exit code. */
int loop_run(struct ustackd *d);
/* loop.c: after the stack was called outside the loop's own events (an RPC method): pushes
 * its output and re-arms its timer. */
void loop_kick(struct ustackd *d);

#endif
