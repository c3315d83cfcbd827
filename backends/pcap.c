#include "pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pcap_buf.h"
#include "pcap_format.h"

/* Written out once this much is buffered, else on the next flush (each second). */
#define PCAP_FLUSH_BYTES (64u * 1024)

/* Writes what the buffer holds without blocking (pcap_buf_drain()). A FIFO whose reader
 * stalls takes part of it or nothing (EAGAIN): the rest waits, and records that do not fit
 * meanwhile are dropped whole, so the stream stays valid. Any other error: the file is given up until
 * the next reopen (a partial record may be in it, nothing may follow). */
static void pcap_buf_write(struct pcap_netif *p)
{
	size_t off = 0;
	int r;

	if (p->fd < 0)
		return;
	r = pcap_buf_drain(p->fd, p->buf, p->len, &off);
	if (r < 0 && r != -EAGAIN) {
		p->errors += p->buffered;
		p->buffered = 0;
		close(p->fd);
		p->fd = -1;
		off = p->len;
	}
	memmove(p->buf, p->buf + off, p->len - off);
	p->len -= off;
	if (p->len == 0)
		p->buffered = 0;
}

/* Where the next record of rec_len bytes goes, or NULL (counted) when it does not fit. */
static uint8_t *pcap_reserve(struct pcap_netif *p, size_t rec_len)
{
	if (p->fd < 0) {
		p->errors++; /* the file could not be reopened (SIGHUP): not recorded */
		return NULL;
	}
	if (p->len + rec_len > sizeof(p->buf))
		pcap_buf_write(p);
	if (p->len + rec_len > sizeof(p->buf)) {
		p->dropped++; /* the reader does not keep up: drop, never block the loop */
		return NULL;
	}
	return p->buf + p->len;
}

/* Writes one record at the end of the buffer without committing it; its length, or 0. */
static size_t pcap_stage(struct pcap_netif *p, const uint8_t *frame, size_t len)
{
	struct pcap_rec_hdr h = pcap_rec_hdr_now(len, PCAP_SNAPLEN);
	uint8_t *at = pcap_reserve(p, sizeof(h) + h.incl_len);

	if (!at)
		return 0;
	memcpy(at, &h, sizeof(h));
	memcpy(at + sizeof(h), frame, h.incl_len);
	return sizeof(h) + h.incl_len;
}

static void pcap_commit(struct pcap_netif *p, size_t rec_len)
{
	p->len += rec_len;
	p->buffered++;
	p->frames++;
	if (p->len >= PCAP_FLUSH_BYTES)
		pcap_buf_write(p);
}

struct pcap_fill_ctx {
	struct pcap_netif *p;
	netif_fill_fn fill;
	void *ctx;
	size_t staged;
};

static size_t pcap_fill(uint8_t *buf, size_t len, void *ctx)
{
	struct pcap_fill_ctx *c = ctx;
	size_t n = c->fill(buf, len, c->ctx);

	/* The frame is in the device's buffer only during this call: stage a copy now and
	 * commit it once the device has taken the frame. */
	c->staged = pcap_stage(c->p, buf, n);
	return n;
}

/* A frame the device refused (a full TAP queue) never was on the wire: not recorded. */
static int pcap_settle(struct pcap_netif *p, const struct pcap_fill_ctx *c, int r)
{
	if (r == 0 && c->staged)
		pcap_commit(p, c->staged);
	else if (r < 0 && c->staged)
		p->refused++;
	return r;
}

static int pcap_write(struct netif *nif, size_t size, netif_fill_fn fill, void *ctx)
{
	struct pcap_netif *p = (struct pcap_netif *)nif;
	struct pcap_fill_ctx c = { p, fill, ctx, 0 };

	return pcap_settle(p, &c, netif_write(p->lower, size, pcap_fill, &c));
}

/* A TSO super-segment is recorded as it goes to the device, whole (as tcpdump on a Linux
 * interface with TSO shows it): one record up to 64 KiB, its TCP checksum the partial
 * one the device completes, so readers flag it as incorrect. */
static int pcap_write_gso(struct netif *nif, size_t size, unsigned gso_size, netif_fill_fn fill,
			  void *ctx)
{
	struct pcap_netif *p = (struct pcap_netif *)nif;
	struct pcap_fill_ctx c = { p, fill, ctx, 0 };

	return pcap_settle(p, &c, netif_write_gso(p->lower, size, gso_size, pcap_fill, &c));
}

static const struct netif_ops pcap_ops = {
	.write = pcap_write,
	.write_gso = pcap_write_gso,
};

/* Opens p->path: truncated at start, appended to on a reopen (a SIGHUP without a rotation
 * must not wipe the capture; a rotated path is created anew and gets the file header).
 * O_NONBLOCK: a FIFO without a reader fails with ENXIO instead of blocking the daemon (at
 * start, or in the packet loop on SIGHUP), and a reader that stalls costs records, never
 * the loop. */
static int pcap_file_open(struct pcap_netif *p, bool truncate)
{
	struct pcap_file_hdr h = pcap_file_hdr_of(PCAP_SNAPLEN);
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct stat st;
	int fd, r;

	fd = open(p->path, flags | (truncate ? O_TRUNC : O_APPEND), 0666);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	p->fd = fd;
	p->len = 0;
	p->buffered = 0;
	if (S_ISREG(st.st_mode) && st.st_size > 0)
		return 0; /* the same file again: records go on after the existing ones */
	memcpy(p->buf, &h, sizeof(h));
	p->len = sizeof(h);
	pcap_buf_write(p);
	if (p->fd < 0)
		return -EIO;
	return 0;
}

int pcap_netif_open(struct pcap_netif *p, struct netif *lower, const char *path)
{
	int r;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if (strlen(path) >= sizeof(p->path))
		return -ENAMETOOLONG;
	memcpy(p->path, path, strlen(path) + 1);
	p->lower = lower;
	p->nif.gso_max = netif_gso_max(lower);
	p->nif.ops = &pcap_ops;
	p->nif.mac = lower->mac;
	p->nif.mtu = lower->mtu;
	r = pcap_file_open(p, true);
	if (r < 0)
		pcap_netif_close(p);
	return r;
}

/* The records still buffered when the file is closed: written if the file takes them now,
 * else counted as dropped. */
static void pcap_file_close(struct pcap_netif *p)
{
	if (p->fd < 0)
		return;
	pcap_buf_write(p);
	p->dropped += p->buffered;
	p->buffered = 0;
	p->len = 0;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

int pcap_netif_reopen(struct pcap_netif *p)
{
	pcap_file_close(p);
	return pcap_file_open(p, false);
}

void pcap_netif_close(struct pcap_netif *p)
{
	pcap_file_close(p);
}

void pcap_netif_record_in(struct pcap_netif *p, const uint8_t *frame, size_t len)
{
	size_t n = pcap_stage(p, frame, len);

	if (n)
		pcap_commit(p, n);
}

void pcap_netif_flush(struct pcap_netif *p)
{
	pcap_buf_write(p);
}
