#include "pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

/* https://www.tcpdump.org/manpages/pcap-savefile.5.html */
#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
#define PCAP_LINKTYPE_ETHERNET 1

struct pcap_file_hdr {
	uint32_t magic;
	uint16_t version_major, version_minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};

struct pcap_rec_hdr {
	uint32_t ts_sec, ts_usec, incl_len, orig_len;
};

static void pcap_record(struct pcap_netif *p, const uint8_t *frame, size_t len)
{
	struct pcap_rec_hdr h;
	struct timespec ts;

	if (!p->f) {
		p->errors++; /* the file could not be reopened (SIGHUP): not recorded */
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	h.ts_sec = (uint32_t)ts.tv_sec;
	h.ts_usec = (uint32_t)(ts.tv_nsec / 1000);
	h.orig_len = (uint32_t)len;
	h.incl_len = (uint32_t)(len < PCAP_SNAPLEN ? len : PCAP_SNAPLEN);
	if (fwrite(&h, sizeof(h), 1, p->f) != 1 || fwrite(frame, h.incl_len, 1, p->f) != 1)
		p->errors++;
	else
		p->frames++;
}

struct pcap_fill_ctx {
	struct pcap_netif *p;
	netif_fill_fn fill;
	void *ctx;
};

static size_t pcap_fill(uint8_t *buf, size_t len, void *ctx)
{
	struct pcap_fill_ctx *c = ctx;
	size_t n = c->fill(buf, len, c->ctx);

	pcap_record(c->p, buf, n);
	return n;
}

static int pcap_write(struct netif *nif, size_t size, netif_fill_fn fill, void *ctx)
{
	struct pcap_netif *p = (struct pcap_netif *)nif;
	struct pcap_fill_ctx c = { p, fill, ctx };

	return netif_write(p->lower, size, pcap_fill, &c);
}

/* A TSO super-segment is recorded as it goes to the device, whole (as tcpdump on a Linux
 * interface with TSO shows it): one record up to 64 KiB, its TCP checksum the partial
 * one the device completes, so readers flag it as incorrect. */
static int pcap_write_gso(struct netif *nif, size_t size, unsigned gso_size, netif_fill_fn fill,
			  void *ctx)
{
	struct pcap_netif *p = (struct pcap_netif *)nif;
	struct pcap_fill_ctx c = { p, fill, ctx };

	return netif_write_gso(p->lower, size, gso_size, pcap_fill, &c);
}

static const struct netif_ops pcap_ops = {
	.write = pcap_write,
	.write_gso = pcap_write_gso,
};

/* Opens p->path: truncated at start, appended to on a reopen (a SIGHUP without a rotation
 * must not wipe the capture; a rotated path is created anew and gets the file header).
 * O_NONBLOCK on open(2) only: a FIFO without a reader fails with ENXIO instead of blocking
 * the daemon (at start, or in the packet loop on SIGHUP); writes then block as usual. */
static int pcap_file_open(struct pcap_netif *p, bool truncate)
{
	struct pcap_file_hdr h = {
		.magic = PCAP_MAGIC_USEC, /* written in host order: readers detect it */
		.version_major = PCAP_VERSION_MAJOR,
		.version_minor = PCAP_VERSION_MINOR,
		.snaplen = PCAP_SNAPLEN,
		.linktype = PCAP_LINKTYPE_ETHERNET,
	};
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct stat st;
	FILE *f;
	int fd, fl, r;

	fd = open(p->path, flags | (truncate ? O_TRUNC : O_APPEND), 0666);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		return r;
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0) {
		p->f = f; /* the same file again: records go on after the existing ones */
		return 0;
	}
	if (fwrite(&h, sizeof(h), 1, f) != 1 || fflush(f) != 0) {
		r = -errno;
		fclose(f);
		return r ? r : -EIO;
	}
	p->f = f;
	return 0;
}

int pcap_netif_open(struct pcap_netif *p, struct netif *lower, const char *path)
{
	memset(p, 0, sizeof(*p));
	if (strlen(path) >= sizeof(p->path))
		return -ENAMETOOLONG;
	memcpy(p->path, path, strlen(path) + 1);
	p->lower = lower;
	p->nif.gso_max = netif_gso_max(lower);
	p->nif.ops = &pcap_ops;
	p->nif.mac = lower->mac;
	p->nif.mtu = lower->mtu;
	return pcap_file_open(p, true);
}

int pcap_netif_reopen(struct pcap_netif *p)
{
	if (p->f)
		fclose(p->f);
	p->f = NULL;
	return pcap_file_open(p, false);
}

void pcap_netif_close(struct pcap_netif *p)
{
	if (p->f)
		fclose(p->f);
	p->f = NULL;
}

void pcap_netif_record_in(struct pcap_netif *p, const uint8_t *frame, size_t len)
{
	pcap_record(p, frame, len);
}

void pcap_netif_flush(struct pcap_netif *p)
{
	if (p->f)
		fflush(p->f);
}
