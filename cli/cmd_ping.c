/* ustackctl ping and traceroute: the stack's ICMP tools, printed like iputils ping and
 * traceroute -n, streamed as the daemon reports each probe. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/ctl.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* "1.5" seconds as milliseconds, for -i and -W. */
static bool secs_arg(const char *opt, const char *s, long min_ms, long max_ms, long *ms)
{
	double v;
	char *end;

	v = strtod(s, &end);
	if (end == s || *end || !(v * 1000 >= (double)min_ms) || !(v * 1000 <= (double)max_ms)) {
		ctl_usage("%s: '%s' is not a time in %g..%g s", opt, s, min_ms / 1e3, max_ms / 1e3);
		return false;
	}
	*ms = (long)(v * 1000 + 0.5);
	return true;
}

struct ping_run {
	struct ctl *c;
	const char *host;
	long transmitted, received, errors;
	double min_ms, max_ms, sum_ms, sum2_ms;
	struct json_object *replies; /* --json */
};

static int on_ping(struct json_object *p, int continues, void *ctx)
{
	struct ping_run *run = ctx;
	const char *result = ctl_str(p, "result") ?: "?";
	const char *from = ctl_str(p, "from") ?: run->host;
	long long seq = ctl_num(p, "seq", 0);

	(void)continues;
	run->transmitted++;
	if (run->replies)
		json_object_array_add(run->replies, json_object_get(p));
	if (strcmp(result, "reply") == 0) {
		double ms = (double)ctl_num(p, "rtt_us", 0) / 1e3;

		run->received++;
		run->min_ms = run->received == 1 || ms < run->min_ms ? ms : run->min_ms;
		run->max_ms = ms > run->max_ms ? ms : run->max_ms;
		run->sum_ms += ms;
		run->sum2_ms += ms * ms;
		if (!run->replies)
			/* iputils counts the ICMP header (8 bytes) with the payload. */
			printf("%lld bytes from %s: icmp_seq=%lld ttl=%lld time=%.3f ms\n",
			       ctl_num(p, "bytes", 0) + 8, from, seq, ctl_num(p, "ttl", 0), ms);
	} else if (strcmp(result, "timeout") != 0) {
		/* An ICMP error: iputils' wording for the common ones. */
		const char *what = strcmp(result, "EHOSTUNREACH") == 0 ? "Destination Host Unreachable"
				   : strcmp(result, "ENETUNREACH") == 0 ? "Destination Net Unreachable"
				   : strcmp(result, "EPROTO") == 0 ? "Time to live exceeded"
								    : result;

		run->errors++;
		if (!run->replies)
			printf("From %s icmp_seq=%lld %s\n", from, seq, what);
	}
	if (!run->replies)
		fflush(stdout);
	return 0;
}

int cmd_ping(struct ctl *c, int argc, char **argv)
{
	struct ping_run run = { .c = c };
	long count = 0, size = 56, ttl = -1, interval_ms = 1000, timeout_ms = -1;
	struct json_object *params;
	double start;
	int opt, r;

	while ((opt = getopt(argc, argv, "+c:s:t:i:W:")) != -1) {
		switch (opt) {
		case 'c':
			if (!ctl_int_arg("-c", optarg, 1, 1000000000, &count))
				return CTL_EXIT_USAGE;
			break;
		case 's':
			if (!ctl_int_arg("-s", optarg, 0, USTACK_UDP_MAX_PAYLOAD - 0, &size))
				return CTL_EXIT_USAGE;
			break;
		case 't':
			if (!ctl_int_arg("-t", optarg, 1, 255, &ttl))
				return CTL_EXIT_USAGE;
			break;
		case 'i':
			if (!secs_arg("-i", optarg, 10, 3600000, &interval_ms))
				return CTL_EXIT_USAGE;
			break;
		case 'W':
			if (!secs_arg("-W", optarg, 1, 3600000, &timeout_ms))
				return CTL_EXIT_USAGE;
			break;
		default:
			return ctl_usage("usage: ping [-c N] [-s SIZE] [-t TTL] [-i SECS] [-W SECS] HOST");
		}
	}
	if (optind != argc - 1)
		return ctl_usage("usage: ping [-c N] [-s SIZE] [-t TTL] [-i SECS] [-W SECS] HOST");
	run.host = argv[optind];
	if (!ctl_ipv4_arg(run.host))
		return CTL_EXIT_USAGE;
	if ((r = ctl_open(c)))
		return r;

	params = json_object_new_object();
	json_object_object_add(params, "address", json_object_new_string(run.host));
	json_object_object_add(params, "count", json_object_new_int64(count));
	json_object_object_add(params, "size", json_object_new_int64(size));
	if (ttl > 0)
		json_object_object_add(params, "ttl", json_object_new_int64(ttl));
	json_object_object_add(params, "interval_ms", json_object_new_int64(interval_ms));
	if (timeout_ms > 0)
		json_object_object_add(params, "timeout_ms", json_object_new_int64(timeout_ms));
	if (c->json)
		run.replies = json_object_new_array();
	else
		printf("PING %s (%s) %ld(%ld) bytes of data.\n", run.host, run.host, size,
		       size + 28);
	fflush(stdout);
	ctl_catch_signals(); /* Ctrl-C ends the run with the summary, as ping does */
	start = now_ms();
	r = ustackint_call_json(c->u, "io.ustack.Stack.Ping", params, 1, -1, on_ping, &run);
	if (r < 0 && r != -EINTR) {
		json_object_put(run.replies);
		return ctl_fail(c, r, NULL);
	}
	if (run.replies) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "address", json_object_new_string(run.host));
		json_object_object_add(o, "transmitted", json_object_new_int64(run.transmitted));
		json_object_object_add(o, "received", json_object_new_int64(run.received));
		json_object_object_add(o, "errors", json_object_new_int64(run.errors));
		json_object_object_add(o, "replies", run.replies);
		ctl_print_json(o);
		json_object_put(o);
	} else {
		printf("\n--- %s ping statistics ---\n", run.host);
		printf("%ld packets transmitted, %ld received, ", run.transmitted, run.received);
		if (run.errors)
			printf("+%ld errors, ", run.errors);
		printf("%g%% packet loss, time %.0fms\n",
		       run.transmitted ? floor(100.0 * (double)(run.transmitted - run.received) /
					       (double)run.transmitted)
				       : 0.0,
		       now_ms() - start);
		if (run.received) {
			double avg = run.sum_ms / (double)run.received;
			double var = run.sum2_ms / (double)run.received - avg * avg;

			printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", run.min_ms, avg,
			       run.max_ms, var > 0 ? sqrt(var) : 0.0);
		}
	}
	/* iputils: 1 when no reply came back. */
	return run.received ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

struct trace_run {
	long hop;	   /* the hop being printed, 0 before the first */
	char from[64];	   /* the last address printed on this line */
	struct json_object *replies;
	bool reached;
};

static const char *unreach_mark(const char *err)
{
	if (!err)
		return " !X";
	if (strcmp(err, "EHOSTUNREACH") == 0)
		return " !H";
	if (strcmp(err, "ENETUNREACH") == 0)
		return " !N";
	if (strcmp(err, "ENOPROTOOPT") == 0 || strcmp(err, "EPROTONOSUPPORT") == 0)
		return " !P";
	if (strcmp(err, "EMSGSIZE") == 0)
		return " !F";
	return " !X";
}

static int on_hop(struct json_object *p, int continues, void *ctx)
{
	struct trace_run *run = ctx;
	long hop = (long)ctl_num(p, "hop", 0);
	const char *kind = ctl_str(p, "kind") ?: "?";
	const char *from = ctl_str(p, "from");
	struct json_object *v;

	(void)continues;
	if (json_object_object_get_ex(p, "reached", &v) && json_object_get_boolean(v))
		run->reached = true;
	if (run->replies) {
		json_object_array_add(run->replies, json_object_get(p));
		return 0;
	}
	if (hop != run->hop) {
		printf("%s%2ld ", run->hop ? "\n" : "", hop);
		run->hop = hop;
		run->from[0] = 0;
	}
	if (strcmp(kind, "timeout") == 0) {
		printf(" *");
	} else {
		if (from && strcmp(from, run->from) != 0) {
			printf(" %s", from);
			snprintf(run->from, sizeof(run->from), "%s", from);
		}
		printf("  %.3f ms", (double)ctl_num(p, "rtt_us", 0) / 1e3);
		if (strcmp(kind, "unreachable") == 0)
			printf("%s", unreach_mark(ctl_str(p, "errno")));
	}
	fflush(stdout);
	return 0;
}

int cmd_traceroute(struct ctl *c, int argc, char **argv)
{
	static const char use[] =
		"usage: traceroute [-m MAXHOPS] [-q PROBES] [-w SECS] [-p PORT] [-I|-U] HOST";
	struct trace_run run = { 0 };
	long max_hops = 30, probes = 3, port = -1, wait_ms = -1;
	const char *proto = "udp";
	struct json_object *params;
	int opt, r;

	while ((opt = getopt(argc, argv, "+m:q:w:p:IU")) != -1) {
		switch (opt) {
		case 'm':
			if (!ctl_int_arg("-m", optarg, 1, 255, &max_hops))
				return CTL_EXIT_USAGE;
			break;
		case 'q':
			if (!ctl_int_arg("-q", optarg, 1, 10, &probes))
				return CTL_EXIT_USAGE;
			break;
		case 'w':
			if (!secs_arg("-w", optarg, 1, 60000, &wait_ms))
				return CTL_EXIT_USAGE;
			break;
		case 'p':
			if (!ctl_int_arg("-p", optarg, 1, 65535, &port))
				return CTL_EXIT_USAGE;
			break;
		case 'I':
			proto = "icmp";
			break;
		case 'U':
			proto = "udp";
			break;
		default:
			return ctl_usage("%s", use);
		}
	}
	if (optind != argc - 1)
		return ctl_usage("%s", use);
	if (!ctl_ipv4_arg(argv[optind]))
		return CTL_EXIT_USAGE;
	if ((r = ctl_open(c)))
		return r;

	params = json_object_new_object();
	json_object_object_add(params, "address", json_object_new_string(argv[optind]));
	json_object_object_add(params, "max_hops", json_object_new_int64(max_hops));
	json_object_object_add(params, "probes", json_object_new_int64(probes));
	json_object_object_add(params, "protocol", json_object_new_string(proto));
	if (port > 0)
		json_object_object_add(params, "port", json_object_new_int64(port));
	if (wait_ms > 0)
		json_object_object_add(params, "timeout_ms", json_object_new_int64(wait_ms));
	if (c->json)
		run.replies = json_object_new_array();
	else
		printf("traceroute to %s (%s), %ld hops max\n", argv[optind], argv[optind],
		       max_hops);
	fflush(stdout);
	ctl_catch_signals();
	r = ustackint_call_json(c->u, "io.ustack.Stack.Traceroute", params, 1, -1, on_hop, &run);
	if (run.replies) {
		if (r >= 0 || r == -EINTR) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "address", json_object_new_string(argv[optind]));
			json_object_object_add(o, "reached", json_object_new_boolean(run.reached));
			json_object_object_add(o, "probes", run.replies);
			ctl_print_json(o);
			json_object_put(o);
		} else {
			json_object_put(run.replies);
		}
	} else if (run.hop) {
		printf("\n");
	}
	if (r < 0 && r != -EINTR)
		return ctl_fail(c, r, NULL);
	return r == -EINTR ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
