#include "snmp_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int snmp_file_init(struct snmp_file *sf, const char *dir, uint8_t default_ttl)
{
	memset(sf, 0, sizeof(*sf));
	if ((size_t)snprintf(sf->path, sizeof(sf->path), "%s/snmp", dir) >= sizeof(sf->path) ||
	    (size_t)snprintf(sf->tmp, sizeof(sf->tmp), "%s/.snmp.tmp", dir) >= sizeof(sf->tmp))
		return -ENAMETOOLONG;
	sf->default_ttl = default_ttl;
	return 0;
}

static size_t append(char *buf, size_t len, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t append(char *buf, size_t len, size_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(off < len ? buf + off : NULL, off < len ? len - off : 0, fmt, ap);
	va_end(ap);
	return off + (n > 0 ? (size_t)n : 0);
}

size_t snmp_format(char *buf, size_t len, const struct stats *s, uint8_t default_ttl)
{
	size_t off = 0;

	/* Counters of one group are adjacent in STATS_LIST. */
	for (int i = 0; i < STAT__COUNT;) {
		const char *group = stat_info[i].group;
		int end = i;

		while (end < STAT__COUNT && strcmp(stat_info[end].group, group) == 0)
			end++;
		off = append(buf, len, off, "%s:", group);
		/* Linux's Ip line starts with these two: keep readers that index by
		 * position from misreading ours. Forwarding 2: not a router (RFC 4293). */
		if (strcmp(group, "Ip") == 0)
			off = append(buf, len, off, " Forwarding DefaultTTL");
		for (int j = i; j < end; j++)
			off = append(buf, len, off, " %s", stat_info[j].field);
		off = append(buf, len, off, "\n%s:", group);
		if (strcmp(group, "Ip") == 0)
			off = append(buf, len, off, " 2 %u", default_ttl);
		for (int j = i; j < end; j++)
			off = append(buf, len, off, " %" PRIu64, s->v[j]);
		off = append(buf, len, off, "\n");
		i = end;
	}
	return off;
}

int snmp_file_update(struct snmp_file *sf, const struct stats *s, bool force)
{
	char buf[16384];
	size_t n;
	ssize_t w;
	int fd, r = 0;

	if (!force && sf->written && memcmp(&sf->last, s, sizeof(*s)) == 0)
		return 0;
	n = snmp_format(buf, sizeof(buf), s, sf->default_ttl);
	if (n >= sizeof(buf))
		return -ENOBUFS;
	fd = open(sf->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	/* 0644 whatever the umask (the unit's UMask=0077): counters are no secret, and nstat
	 * run by any user reads them (PROC_NET_SNMP=/run/ustackd/snmp nstat). */
	if (fchmod(fd, 0644) < 0)
		r = -errno;
	w = r < 0 ? 0 : write(fd, buf, n);
	if (r == 0 && (w < 0 || (size_t)w != n))
		r = w < 0 ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	/* rename(2) is atomic: a reader sees the old file or the new one, never half. */
	if (r == 0 && rename(sf->tmp, sf->path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(sf->tmp);
		return r;
	}
	sf->last = *s;
	sf->written = true;
	return 0;
}

void snmp_file_remove(struct snmp_file *sf)
{
	if (sf->written)
		unlink(sf->path);
	sf->written = false;
}
