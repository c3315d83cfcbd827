/* ustackd: a userspace TCP/IP stack daemon on a TAP device or an AF_XDP socket. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

int main(int argc, char **argv)
{
	static struct ustackd d; /* large (the device, the services): not on the stack */
	int r;

	setvbuf(stderr, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	/* Over a file size limit (RLIMIT_FSIZE) a write fails with EFBIG, which the store
	 * handles (docs/kv.md, "Failures"), instead of the signal killing the daemon. */
	signal(SIGXFSZ, SIG_IGN);
	/* SIGHUP reopens the pcap file once the loop runs (loop.c installs the handler); until
	 * then its default action would kill us mid-start, and the file is new anyway. */
	signal(SIGHUP, SIG_IGN);
	config_defaults(&d.cfg);
	r = config_parse_args(&d.cfg, argc, argv);
	if (r > 0)
		exit(EXIT_SUCCESS);
	if (r < 0)
		exit(2);
	log_set_level(d.cfg.log_level);
	if (ustackd_start(&d) < 0)
		exit(EXIT_FAILURE);
	r = loop_run(&d);
	ustackd_stop(&d);
	log_info("stopped");
	exit(r);
}
