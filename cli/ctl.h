/* ustackctl: the verb table and what every verb group shares. */
#ifndef USTACK_CLI_CTL_H
#define USTACK_CLI_CTL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "ipc/libustack_int.h"
#include "ipc/proto.h"

/* Exit codes of design.md §4. */
#define CTL_EXIT_OK 0
#define CTL_EXIT_FAIL 1
#define CTL_EXIT_USAGE 2

struct ctl {
	const char *socket_path; /* NULL: $USTACK_SOCKET or the default */
	bool json;
	struct ustack *u; /* opened by ctl_open() */
};

/* A verb: argv[0] is its name; min/max count the arguments after it, options included
 * (CTL_ARGS_ANY: no limit). fn returns the exit code. */
#define CTL_ARGS_ANY (-1)
struct ctl_verb {
	const char *name;
	int min_args;
	int max_args;
	unsigned flags;
	int (*fn)(struct ctl *c, int argc, char **argv);
	const char *usage; /* "add IP MAC" */
};
/* The verb reads state: --json applies to it. */
#define CTL_VERB_READ 1u

/* Runs the verb argv[0] of `verbs` (`group`: "tcp" for a sub-table, NULL at the top). */
int ctl_dispatch(struct ctl *c, const struct ctl_verb *verbs, size_t n, const char *group,
		 int argc, char **argv);

/* Prints "ustackctl: MESSAGE" and a hint to --help; returns CTL_EXIT_USAGE. */
int ctl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "ustackctl: ENAME: message" for a negative errno `err` (the daemon's message when
 * it sent one, else strerror's, lower-cased), prefixed by `what` if not NULL; returns
 * CTL_EXIT_FAIL. */
int ctl_fail(struct ctl *c, int err, const char *what);
/* Connects to the daemon; on failure prints why and returns CTL_EXIT_FAIL. */
int ctl_open(struct ctl *c);
/* A number argument in [min, max]; false (and a usage message) otherwise. */
bool ctl_int_arg(const char *opt, const char *s, long min, long max, long *out);
/* A dotted IPv4 address argument; false (and a usage message) otherwise. */
bool ctl_ipv4_arg(const char *s);
/* A reply's string member (NULL when absent or null) and number member (dflt). */
const char *ctl_str(struct json_object *o, const char *key);
long long ctl_num(struct json_object *o, const char *key, long long dflt);
/* Prints `o` as pretty JSON on stdout. */
void ctl_print_json(struct json_object *o);
/* Installs SIGINT/SIGTERM handlers that only interrupt blocking calls (no SA_RESTART). */
void ctl_catch_signals(void);
extern volatile int ctl_signalled;

/* The verb groups, one file each. */
int cmd_status(struct ctl *c, int argc, char **argv);
int cmd_stats(struct ctl *c, int argc, char **argv);
int cmd_arp(struct ctl *c, int argc, char **argv);
int cmd_sockets(struct ctl *c, int argc, char **argv);
int cmd_ping(struct ctl *c, int argc, char **argv);
int cmd_traceroute(struct ctl *c, int argc, char **argv);
int cmd_tcp(struct ctl *c, int argc, char **argv);
int cmd_udp(struct ctl *c, int argc, char **argv);
int cmd_capture(struct ctl *c, int argc, char **argv);
int cmd_kv(struct ctl *c, int argc, char **argv);

#endif
