/* ustackctl: the command-line client of ustackd (design.md §4). A thin main: global
 * options, then the verb table; each verb group lives in its own cmd_*.c file. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"

#ifndef USTACK_VERSION
#define USTACK_VERSION "unknown"
#endif

static const struct ctl_verb top_verbs[] = {
	{ "status", 0, 0, CTL_VERB_READ, cmd_status, "status" },
	{ "stats", 0, 0, CTL_VERB_READ, cmd_stats, "stats" },
	{ "arp", 0, 3, CTL_VERB_READ, cmd_arp, "arp [add IP MAC | del IP]" },
	{ "sockets", 0, 0, CTL_VERB_READ, cmd_sockets, "sockets" },
	{ "ping", 1, CTL_ARGS_ANY, CTL_VERB_READ, cmd_ping,
	  "ping [-c N] [-s SIZE] [-t TTL] [-i SECS] [-W SECS] HOST" },
	{ "traceroute", 1, CTL_ARGS_ANY, CTL_VERB_READ, cmd_traceroute,
	  "traceroute [-m MAXHOPS] [-q PROBES] [-w SECS] [-p PORT] [-I|-U] HOST" },
	{ "tcp", 1, CTL_ARGS_ANY, 0, cmd_tcp, "tcp connect HOST PORT | tcp listen [-k] PORT" },
	{ "udp", 1, CTL_ARGS_ANY, CTL_VERB_READ, cmd_udp,
	  "udp send [-w SECS] HOST PORT | udp listen [-c N] PORT" },
	{ "capture", 2, CTL_ARGS_ANY, 0, cmd_capture,
	  "capture -w FILE|- [-c COUNT] [-d SECS] [-s SNAPLEN]" },
	{ "kv", 1, CTL_ARGS_ANY, CTL_VERB_READ, cmd_kv,
	  "kv get|exists|ls|mtime|digest KEY | kv set KEY [VALUE] | kv rm KEY | kv mv FROM TO | "
	  "kv batch" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: ustackctl [--socket PATH] [--json] COMMAND ...\n"
		   "The client of ustackd: state, network tools and sockets of the stack.\n\n"
		   "Commands:\n");
	for (i = 0; i < sizeof(top_verbs) / sizeof(top_verbs[0]); i++)
		fprintf(f, "  %s\n", top_verbs[i].usage);
	fprintf(f, "\nOptions:\n"
		   "  -S, --socket PATH  control socket (default $USTACK_SOCKET or %s)\n"
		   "  -j, --json         print the replies of read commands as JSON\n"
		   "  -h, --help         this text\n"
		   "  -V, --version      the version\n"
		   "Exit status: 0 success, 1 failure, 2 usage error. See ustackctl(1).\n",
		USTACK_SOCKET_DEFAULT);
}

volatile int ctl_signalled;

static void on_signal(int sig)
{
	ctl_signalled = sig;
}

void ctl_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: waits see EINTR */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int ctl_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("ustackctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'ustackctl --help'.\n", stderr);
	return CTL_EXIT_USAGE;
}

int ctl_fail(struct ctl *c, int err, const char *what)
{
	const char *name = ustack_errno_name(err);
	const char *msg = c && c->u ? ustack_error_message(c->u) : "";
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", msg && *msg ? msg : strerror(err < 0 ? -err : err));
	/* "connection reset by peer": a message follows a colon in lower case (not an
	 * acronym such as "ICMP"). */
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	msg = buf;
	fprintf(stderr, "ustackctl: %s%s%s: %s\n", what ? what : "", what ? ": " : "",
		name ? name : "error", msg);
	return CTL_EXIT_FAIL;
}

int ctl_open(struct ctl *c)
{
	int r;

	if (c->u)
		return 0;
	r = ustack_open(c->socket_path, &c->u);
	if (r < 0) {
		const char *p = c->socket_path ? c->socket_path : getenv("USTACK_SOCKET");
		char what[300];

		snprintf(what, sizeof(what), "cannot connect to %s",
			 p && *p ? p : USTACK_SOCKET_DEFAULT);
		return ctl_fail(NULL, r, what);
	}
	return 0;
}

bool ctl_int_arg(const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		ctl_usage("%s: '%s' is not a number in %ld..%ld", opt, s, min, max);
		return false;
	}
	*out = v;
	return true;
}

bool ctl_ipv4_arg(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) == 1)
		return true;
	/* The stack has no resolver of its own, and asking the host's would send traffic
	 * outside the stack: addresses only. */
	ctl_usage("'%s' is not an IPv4 address (A.B.C.D; names are not resolved)", s);
	return false;
}

const char *ctl_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

long long ctl_num(struct json_object *o, const char *key, long long dflt)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return dflt;
	return json_object_get_int64(v);
}

void ctl_print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_SPACED |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
}

int ctl_dispatch(struct ctl *c, const struct ctl_verb *verbs, size_t n, const char *group,
		 int argc, char **argv)
{
	const struct ctl_verb *v = NULL;
	size_t i;
	int nargs = argc - 1;

	for (i = 0; i < n; i++)
		if (strcmp(verbs[i].name, argv[0]) == 0)
			v = &verbs[i];
	if (!v)
		return ctl_usage("unknown command '%s%s%s'", group ? group : "", group ? " " : "",
				 argv[0]);
	if (nargs < v->min_args || (v->max_args != CTL_ARGS_ANY && nargs > v->max_args))
		return ctl_usage("%s%s%s: too %s arguments (usage: %s%s%s)", group ? group : "",
				 group ? " " : "", v->name, nargs < v->min_args ? "few" : "many",
				 group ? group : "", group ? " " : "", v->usage);
	if (c->json && !(v->flags & CTL_VERB_READ) && !group)
		return ctl_usage("--json applies to read commands only, not '%s'", v->name);
	optind = 0; /* each verb parses its own options with getopt() */
	return v->fn(c, argc, argv);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct ctl c = { 0 };
	int opt, r;

	/* "+": options stop at the command, whose own options follow it. */
	while ((opt = getopt_long(argc, argv, "+S:jhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'S':
			if (!*optarg)
				return ctl_usage("--socket: empty path");
			c.socket_path = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("ustackctl %s\n", USTACK_VERSION);
			return CTL_EXIT_OK;
		default:
			return ctl_usage("bad option");
		}
	}
	if (optind >= argc)
		return ctl_usage("no command given");
	/* A socket's reader or writer that goes away is an error of that write, not a
	 * signal that kills us before the daemon hears of it. */
	signal(SIGPIPE, SIG_IGN);
	r = ctl_dispatch(&c, top_verbs, sizeof(top_verbs) / sizeof(top_verbs[0]), NULL,
			 argc - optind, argv + optind);
	if (c.u)
		ustack_close(c.u);
	if (fflush(stdout) != 0 && r == CTL_EXIT_OK) {
		/* A reader that stopped early (| head) is no news: exit 1 quietly, as the
		 * SIGPIPE we ignore would have. */
		if (errno != EPIPE)
			fprintf(stderr, "ustackctl: writing output: %s\n", strerror(errno));
		r = CTL_EXIT_FAIL;
	}
	return r;
}
