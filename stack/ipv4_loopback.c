/* The loopback queue (ipv4_loopback.h): a bounded FIFO of datagrams to ourselves. */
#include "ipv4_loopback.h"

#include <errno.h>
#include <stdlib.h>

struct ipv4_loopback_pkt {
	struct ipv4_loopback_pkt *next;
	size_t len;
	size_t charge; /* what it counts against max_bytes */
	uint8_t data[];
};

void ipv4_loopback_init(struct ipv4_loopback *lo, size_t max_bytes, unsigned max_pkts,
			struct stats *stats)
{
	*lo = (struct ipv4_loopback){ .max_bytes = max_bytes, .max_pkts = max_pkts,
				      .stats = stats };
}

static struct ipv4_loopback_pkt *ipv4_loopback_pop(struct ipv4_loopback *lo)
{
	struct ipv4_loopback_pkt *p = lo->head;

	lo->head = p->next;
	if (!lo->head)
		lo->tail = NULL;
	lo->bytes -= p->charge;
	lo->pkts--;
	return p;
}

void ipv4_loopback_fini(struct ipv4_loopback *lo)
{
	while (lo->head)
		free(ipv4_loopback_pop(lo));
}

int ipv4_loopback_output(struct ipv4_loopback *lo, size_t size, ipv4_loopback_fill_fn fill,
			 void *ctx)
{
	size_t charge = sizeof(struct ipv4_loopback_pkt) + size;
	struct ipv4_loopback_pkt *p;

	/* A full queue is a full device ring: the sender sees -ENOBUFS and TCP retransmits
	 * (RFC 4293 ipSystemStatsOutDiscards: "no problems were encountered to prevent their
	 * transmission ... but were discarded (e.g., for lack of buffer space)"). */
	if (lo->pkts >= lo->max_pkts || charge > lo->max_bytes - lo->bytes) {
		stat_inc(lo->stats, STAT_IpOutDiscards);
		stat_inc(lo->stats, STAT_IpLoopbackDrops);
		return -ENOBUFS;
	}
	p = malloc(charge);
	if (!p) {
		stat_inc(lo->stats, STAT_IpOutDiscards);
		return -ENOMEM;
	}
	p->next = NULL;
	p->len = fill(p->data, size, ctx);
	p->charge = charge;
	if (lo->tail)
		lo->tail->next = p;
	else
		lo->head = p;
	lo->tail = p;
	lo->bytes += charge;
	lo->pkts++;
	stat_inc(lo->stats, STAT_IpLoopbackOut);
	return 0;
}

void ipv4_loopback_drain(struct ipv4_loopback *lo, ipv4_loopback_input_fn input, void *ctx)
{
	/* Only those queued now: what their delivery sends waits for the next drain. */
	for (unsigned n = lo->pkts; n > 0 && lo->head; n--) {
		struct ipv4_loopback_pkt *p = ipv4_loopback_pop(lo);

		input(ctx, p->data, p->len);
		free(p);
	}
}
