/* The counters as a /proc/net/snmp-format file in the runtime directory, so that
 * `PROC_NET_SNMP=/run/ustackd/snmp nstat` and other /proc/net/snmp readers work: for each
 * group a line of names and a line of values, both starting with "Group:". Replaced
 * atomically (write + rename) and at most once a second (the caller's timer). */
#ifndef USTACKD_SNMP_FILE_H
#define USTACKD_SNMP_FILE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "stack/stats.h"

struct snmp_file {
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	uint8_t default_ttl;
	bool written;
	struct stats last;
};

/* The file is dir/snmp. */
int snmp_file_init(struct snmp_file *sf, const char *dir, uint8_t default_ttl);
/* Rewrites the file if the counters changed since the last write (or force). 0, or a
 * negative errno. */
int snmp_file_update(struct snmp_file *sf, const struct stats *s, bool force);
void snmp_file_remove(struct snmp_file *sf);
/* The text itself, for tests and the RPC: bytes written (snprintf semantics). */
size_t snmp_format(char *buf, size_t len, const struct stats *s, uint8_t default_ttl);

#endif
