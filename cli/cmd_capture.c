/* ustackctl capture -w FILE|-: classic pcap of every frame in and out of the stack. We
 * open the file (the daemon may not be able to: its own user, ProtectSystem) and pass the
 * descriptor with the call; the daemon writes to it until -c frames, -d seconds, or
 * Ctrl-C (which closes our connection). The totals go to stderr, as tcpdump's do. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/ctl.h"

static int on_capture(struct json_object *p, int continues, void *ctx)
{
	struct json_object *f, *b, *d;

	(void)ctx;
	if (continues)
		return 0; /* "started" */
	json_object_object_get_ex(p, "frames", &f);
	json_object_object_get_ex(p, "bytes", &b);
	json_object_object_get_ex(p, "dropped", &d);
	fprintf(stderr, "%lld frames captured (%lld bytes), %lld dropped\n",
		(long long)json_object_get_int64(f), (long long)json_object_get_int64(b),
		(long long)json_object_get_int64(d));
	return 0;
}

int cmd_capture(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "usage: capture -w FILE|- [-c COUNT] [-d SECS] [-s SNAPLEN]";
	long count = 0, secs = 0, snaplen = 0;
	const char *file = NULL;
	struct json_object *params;
	int opt, fd, r;

	while ((opt = getopt(argc, argv, "+w:c:d:s:")) != -1) {
		switch (opt) {
		case 'w':
			file = optarg;
			break;
		case 'c':
			if (!ctl_int_arg("-c", optarg, 1, 2000000000, &count))
				return CTL_EXIT_USAGE;
			break;
		case 'd':
			if (!ctl_int_arg("-d", optarg, 1, 2000000000, &secs))
				return CTL_EXIT_USAGE;
			break;
		case 's':
			if (!ctl_int_arg("-s", optarg, 64, 262144, &snaplen))
				return CTL_EXIT_USAGE;
			break;
		default:
			return ctl_usage("%s", use);
		}
	}
	if (!file || !*file || optind != argc)
		return ctl_usage("%s", use);
	if (strcmp(file, "-") == 0) {
		if (isatty(1))
			return ctl_usage("capture -w -: refusing to write pcap to a terminal");
		fd = 1;
	} else {
		fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "ustackctl: %s: %s\n", file, strerror(errno));
			return CTL_EXIT_FAIL;
		}
	}
	if ((r = ctl_open(c)))
		goto out;
	params = json_object_new_object();
	if (snaplen)
		json_object_object_add(params, "snaplen", json_object_new_int64(snaplen));
	if (count)
		json_object_object_add(params, "count", json_object_new_int64(count));
	if (secs)
		json_object_object_add(params, "duration_s", json_object_new_int64(secs));
	ctl_catch_signals(); /* Ctrl-C: our connection closes, the daemon stops writing */
	r = ustackint_call_json(c->u, "io.ustack.Stack.Capture", params, 1, fd, on_capture, NULL);
	r = r < 0 && r != -EINTR ? ctl_fail(c, r, NULL) : CTL_EXIT_OK;
out:
	if (fd != 1)
		close(fd);
	return r;
}
