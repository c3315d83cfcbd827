/* ARP (RFC 826, RFC 1122 §2.3.2, RFC 5227 for announcements). */
#include "arp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "netif.h"
#include "stack_var.h"
#include "wire/arp.h"
#include "wire/eth.h"

/* A packet waiting for its next hop's MAC: the Ethernet payload, materialised by calling
 * the writer's fill once, because a fill context cannot outlive ipv4_write(). */
struct arp_qpkt {
	struct arp_qpkt *next;
	uint16_t ethertype;
	size_t len;
	uint8_t data[];
};

static uint64_t ms_to_ns(uint32_t ms)
{
	return (uint64_t)ms * NS_PER_MS;
}

int arp_init(struct arp *arp, struct stack *st)
{
	memset(arp, 0, sizeof(*arp));
	arp->st = st;
	arp->cap = st->cfg.arp_cache_size;
	arp->tab = calloc(arp->cap, sizeof(*arp->tab));
	arp->timers = calloc(arp->cap, sizeof(*arp->timers));
	if (!arp->tab || !arp->timers) {
		free(arp->tab);
		free(arp->timers);
		return -ENOMEM;
	}
	return 0;
}

/* ---- timers: a binary min-heap of entries on deadline_ns ---- */

static bool arp_timer_less(const struct arp *arp, unsigned i, unsigned j)
{
	return arp->tab[arp->timers[i]].deadline_ns < arp->tab[arp->timers[j]].deadline_ns;
}

static void arp_timer_swap(struct arp *arp, unsigned i, unsigned j)
{
	unsigned a = arp->timers[i], b = arp->timers[j];

	arp->timers[i] = b;
	arp->timers[j] = a;
	arp->tab[b].timer_pos = i + 1;
	arp->tab[a].timer_pos = j + 1;
}

/* Moves the timer at i up or down to its place. */
static void arp_timer_sift(struct arp *arp, unsigned i)
{
	while (i > 0 && arp_timer_less(arp, i, (i - 1) / 2)) {
		arp_timer_swap(arp, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		unsigned l = 2 * i + 1, r = l + 1, m = i;

		if (l < arp->ntimers && arp_timer_less(arp, l, m))
			m = l;
		if (r < arp->ntimers && arp_timer_less(arp, r, m))
			m = r;
		if (m == i)
			return;
		arp_timer_swap(arp, i, m);
		i = m;
	}
}

static void arp_timer_remove(struct arp *arp, struct arp_entry *e)
{
	unsigned i = e->timer_pos - 1, last;

	if (!e->timer_pos)
		return;
	last = --arp->ntimers;
	if (i != last)
		arp_timer_swap(arp, i, last);
	e->timer_pos = 0;
	if (i != last)
		arp_timer_sift(arp, i);
}

/* e's state, timers or confirmation changed: recompute its deadline and move it to its
 * place among the timers (O(log n)). */
static void arp_timer_update(struct arp *arp, struct arp_entry *e)
{
	e->deadline_ns = arp_entry_deadline(arp, e);
	if (e->deadline_ns == UINT64_MAX) {
		arp_timer_remove(arp, e);
		return;
	}
	if (!e->timer_pos) {
		arp->timers[arp->ntimers] = (unsigned)(e - arp->tab);
		e->timer_pos = ++arp->ntimers;
	}
	arp_timer_sift(arp, e->timer_pos - 1);
}

/* ---- queues ---- */

/* Takes e's queue off it (and out of the totals), for sending or dropping. */
static struct arp_qpkt *arp_queue_take(struct arp *arp, struct arp_entry *e)
{
	struct arp_qpkt *q = e->queue;

	arp->queued_bytes -= e->queued_bytes;
	e->queue = NULL;
	e->queued_bytes = 0;
	return q;
}

/* Frees a queue taken off its entry; report: tell IPv4 that each packet's next hop did
 * not answer. The reports may re-enter arp_output(), which the entry, already updated by
 * the caller, answers consistently. */
static void arp_queue_drop(struct arp *arp, struct arp_qpkt *q, bool report)
{
	while (q) {
		struct arp_qpkt *next = q->next;

		if (report) {
			STAT_INC(arp->st, ArpQueueDrops);
			if (q->ethertype == ETH_TYPE_IPV4)
				ipv4_link_failure(&arp->st->ip, q->data, q->len);
		}
		free(q);
		q = next;
	}
}

static void arp_entry_clear(struct arp *arp, struct arp_entry *e)
{
	struct arp_qpkt *q = arp_queue_take(arp, e);

	arp_timer_remove(arp, e);
	memset(e, 0, sizeof(*e));
	arp_queue_drop(arp, q, true);
}

void arp_fini(struct arp *arp)
{
	if (!arp->tab)
		return;
	for (unsigned i = 0; i < arp->cap; i++)
		arp_queue_drop(arp, arp_queue_take(arp, &arp->tab[i]), false);
	free(arp->tab);
	free(arp->timers);
	arp->tab = NULL;
	arp->timers = NULL;
}

static struct arp_entry *arp_find(const struct arp *arp, struct in_addr ip)
{
	for (unsigned i = 0; i < arp->cap; i++) {
		struct arp_entry *e = &arp->tab[i];
		if (e->state != ARP_STATE_FREE && addr_eq(e->ip, ip))
			return e;
	}
	return NULL;
}

/* A free slot, or the least recently used dynamic entry evicted. NULL when every entry is
 * static. */
static struct arp_entry *arp_alloc(struct arp *arp, struct in_addr ip)
{
	struct arp_entry *victim = NULL;

	for (unsigned i = 0; i < arp->cap; i++) {
		struct arp_entry *e = &arp->tab[i];
		if (e->state == ARP_STATE_FREE) {
			victim = e;
			break;
		}
		if (e->state != ARP_STATE_STATIC && (!victim || e->used_ns < victim->used_ns))
			victim = e;
	}
	if (!victim)
		return NULL;
	if (victim->state != ARP_STATE_FREE) {
		STAT_INC(arp->st, ArpCacheEvictions);
		arp_entry_clear(arp, victim);
	}
	victim->ip = ip;
	victim->used_ns = arp->st->now_ns;
	return victim;
}


static size_t arp_fill(uint8_t *buf, size_t len, void *ctx)
{
	const struct arp_pkt *p = ctx;

	(void)len;
	arp_pkt_emit(p, buf);
	return ARP_PKT_LEN;
}

static int arp_send(struct arp *arp, uint16_t op, struct mac eth_dst, struct mac tha,
		    struct in_addr tpa)
{
	struct stack *st = arp->st;
	struct arp_pkt p = {
		.op = op,
		.sha = netif_mac(st->nif),
		.spa = st->ip.addr,
		.tha = tha,
		.tpa = tpa,
	};
	int r = eth_write(&st->eth, NULL, eth_dst, ETH_TYPE_ARP, ARP_PKT_LEN, arp_fill, &p);

	if (r == 0) {
		if (op == ARP_OP_REQUEST)
			STAT_INC(st, ArpOutRequests);
		else
			STAT_INC(st, ArpOutReplies);
	}
	return r;
}

static int arp_request(struct arp *arp, struct arp_entry *e, bool unicast)
{
	e->tries++;
	e->timer_ns = arp->st->now_ns + ms_to_ns(arp->st->cfg.arp_retry_ms);
	arp_timer_update(arp, e);
	return arp_send(arp, ARP_OP_REQUEST, unicast ? e->mac : MAC_BROADCAST, MAC_ZERO, e->ip);
}

int arp_announce(struct arp *arp)
{
	/* RFC 5227 §3: an announcement is a request with sender and target our address. */
	return arp_send(arp, ARP_OP_REQUEST, MAC_BROADCAST, MAC_ZERO, arp->st->ip.addr);
}

/* The MAC is known now: send what waited for it, oldest first. */
static void arp_queue_flush(struct arp *arp, struct arp_entry *e)
{
	struct arp_qpkt *q = arp_queue_take(arp, e);

	while (q) {
		struct arp_qpkt *next = q->next;
		struct fill_copy c = { q->data, q->len };

		if (eth_write(&arp->st->eth, NULL, e->mac, q->ethertype, q->len, fill_copy, &c) < 0)
			STAT_INC(arp->st, ArpQueueDrops);
		free(q);
		q = next;
	}
}

static int arp_enqueue(struct arp *arp, struct arp_entry *e, uint16_t ethertype, size_t size,
		       eth_fill_fn fill, void *ctx)
{
	const struct stack_config *cfg = &arp->st->cfg;
	struct arp_qpkt *q, **tail;

	if (e->queued_bytes + size > cfg->arp_queue_entry_bytes ||
	    arp->queued_bytes + size > cfg->arp_queue_max_bytes) {
		STAT_INC(arp->st, ArpQueueDrops);
		return -ENOBUFS;
	}
	q = malloc(sizeof(*q) + size);
	if (!q) {
		STAT_INC(arp->st, ArpQueueDrops);
		return -ENOMEM;
	}
	q->next = NULL;
	q->ethertype = ethertype;
	q->len = fill(q->data, size, ctx);
	for (tail = &e->queue; *tail; tail = &(*tail)->next)
		;
	*tail = q;
	e->queued_bytes += q->len;
	arp->queued_bytes += q->len;
	return 0;
}

/* A packet goes to e's MAC now: age a reachable entry, revalidate a stale one. */
static void arp_use(struct arp *arp, struct arp_entry *e)
{
	struct stack *st = arp->st;

	switch (e->state) {
	case ARP_STATE_REACHABLE:
		if (st->now_ns - e->confirmed_ns < ms_to_ns(st->cfg.arp_reachable_ms))
			break;
		e->state = ARP_STATE_STALE;
		/* fall through */
	case ARP_STATE_STALE:
		/* RFC 1122 §2.3.2.1: keep using the entry, revalidate it with a unicast
		 * request; a reply makes it reachable again. */
		if (!e->refreshing) {
			e->refreshing = true;
			e->tries = 0;
			arp_request(arp, e, true);
		}
		break;
	default:
		break;
	}
}

int arp_output(struct arp *arp, struct in_addr nexthop, uint16_t ethertype, size_t size,
	       eth_fill_fn fill, void *ctx)
{
	struct stack *st = arp->st;
	struct arp_entry *e = arp_find(arp, nexthop);
	uint64_t now = st->now_ns;
	int r;

	if (e && e->state == ARP_STATE_FAILED) {
		if (now < e->timer_ns)
			return -EHOSTUNREACH;
		arp_entry_clear(arp, e);
		e = NULL;
	}
	if (!e) {
		e = arp_alloc(arp, nexthop);
		if (!e) {
			STAT_INC(st, ArpQueueDrops);
			return -ENOBUFS;
		}
		e->state = ARP_STATE_INCOMPLETE;
		r = arp_enqueue(arp, e, ethertype, size, fill, ctx);
		arp_request(arp, e, false);
		return r;
	}
	e->used_ns = now;
	if (e->state == ARP_STATE_INCOMPLETE)
		return arp_enqueue(arp, e, ethertype, size, fill, ctx);
	arp_use(arp, e);
	return eth_write(&st->eth, NULL, e->mac, ethertype, size, fill, ctx);
}

int arp_resolved(struct arp *arp, struct in_addr nexthop, struct mac *mac)
{
	struct arp_entry *e = arp_find(arp, nexthop);

	if (!e || (e->state != ARP_STATE_REACHABLE && e->state != ARP_STATE_STALE &&
		   e->state != ARP_STATE_STATIC))
		return -ENOENT;
	e->used_ns = arp->st->now_ns;
	arp_use(arp, e);
	*mac = e->mac;
	return 0;
}

static void arp_confirm(struct arp *arp, struct arp_entry *e, struct mac mac)
{
	bool was_incomplete = e->state == ARP_STATE_INCOMPLETE;

	e->mac = mac;
	e->state = ARP_STATE_REACHABLE;
	e->confirmed_ns = arp->st->now_ns;
	e->refreshing = false;
	e->tries = 0;
	e->timer_ns = 0;
	arp_timer_update(arp, e);
	if (was_incomplete)
		arp_queue_flush(arp, e);
}

void arp_input(struct arp *arp, const uint8_t *pkt, size_t len)
{
	struct stack *st = arp->st;
	struct in_addr me = st->ip.addr;
	struct arp_pkt p;
	struct arp_entry *e;
	bool merge = false;

	/* A sender MAC of all zeros or a group address names no station: learning it would
	 * send our traffic nowhere or everywhere (RFC 1812 §3.3.2 for the group case). */
	if (arp_pkt_parse(pkt, len, &p) < 0 ||
	    (p.op != ARP_OP_REQUEST && p.op != ARP_OP_REPLY) || !mac_is_unicast(p.sha)) {
		STAT_INC(st, ArpInErrors);
		return;
	}
	if (p.op == ARP_OP_REQUEST)
		STAT_INC(st, ArpInRequests);
	else
		STAT_INC(st, ArpInReplies);
	if (mac_eq(p.sha, netif_mac(st->nif)) || addr_eq(p.spa, me)) {
		/* Our own frame looped back, or someone claiming our address: never let it
		 * into the cache. */
		STAT_INC(st, ArpInIgnored);
		return;
	}

	/* RFC 826 "Packet reception": update the sender's entry if we have one ... */
	if (!addr_is_any(p.spa)) {
		e = arp_find(arp, p.spa);
		if (e && e->state != ARP_STATE_STATIC) {
			if (e->state == ARP_STATE_FAILED)
				e->state = ARP_STATE_INCOMPLETE; /* confirmed below */
			arp_confirm(arp, e, p.sha);
			merge = true;
		} else if (e) {
			merge = true; /* static: the network never overrides it */
		}
	}
	if (!addr_eq(p.tpa, me)) {
		if (!merge)
			STAT_INC(st, ArpInIgnored);
		return;
	}
	/* ... and, when we are the target, add it if it was not there. A probe (sender
	 * 0.0.0.0, RFC 5227 §2.1.1) teaches nothing. */
	if (!merge && !addr_is_any(p.spa)) {
		e = arp_alloc(arp, p.spa);
		if (e) {
			e->state = ARP_STATE_INCOMPLETE;
			arp_confirm(arp, e, p.sha);
		}
	}
	if (p.op == ARP_OP_REQUEST)
		arp_send(arp, ARP_OP_REPLY, p.sha, p.sha, p.spa);
}

int arp_add_static(struct arp *arp, struct in_addr ip, struct mac mac)
{
	struct arp_entry *e = arp_find(arp, ip);

	if (!mac_is_unicast(mac) || addr_is_any(ip))
		return -EINVAL;
	if (!e) {
		e = arp_alloc(arp, ip);
		if (!e)
			return -ENOSPC;
		e->state = ARP_STATE_INCOMPLETE;
	}
	if (e->state == ARP_STATE_INCOMPLETE) {
		e->mac = mac;
		arp_queue_flush(arp, e);
	}
	e->mac = mac;
	e->state = ARP_STATE_STATIC;
	e->refreshing = false;
	e->timer_ns = 0;
	e->confirmed_ns = arp->st->now_ns;
	arp_timer_update(arp, e); /* static entries have none */
	return 0;
}

int arp_remove(struct arp *arp, struct in_addr ip)
{
	struct arp_entry *e = arp_find(arp, ip);

	if (!e)
		return -ENOENT;
	arp_entry_clear(arp, e);
	return 0;
}

int arp_lookup(const struct arp *arp, struct in_addr ip, struct mac *mac)
{
	const struct arp_entry *e = arp_find(arp, ip);

	if (!e || e->state == ARP_STATE_INCOMPLETE || e->state == ARP_STATE_FAILED)
		return -ENOENT;
	*mac = e->mac;
	return 0;
}

size_t arp_dump(const struct arp *arp, struct arp_entry_info *out, size_t max)
{
	size_t n = 0;

	for (unsigned i = 0; i < arp->cap && n < max; i++) {
		const struct arp_entry *e = &arp->tab[i];
		if (e->state == ARP_STATE_FREE)
			continue;
		out[n].ip = e->ip;
		out[n].mac = e->mac;
		out[n].state = e->state;
		out[n].age_ms = (arp->st->now_ns - e->confirmed_ns) / NS_PER_MS;
		n++;
	}
	return n;
}

uint64_t arp_entry_deadline(const struct arp *arp, const struct arp_entry *e)
{
	const struct stack_config *cfg = &arp->st->cfg;

	switch (e->state) {
	case ARP_STATE_INCOMPLETE:
	case ARP_STATE_FAILED:
		return e->timer_ns;
	case ARP_STATE_REACHABLE:
	case ARP_STATE_STALE:
		if (e->refreshing)
			return e->timer_ns;
		return e->confirmed_ns + ms_to_ns(cfg->arp_expire_ms);
	default:
		return UINT64_MAX;
	}
}

/* Visits the due entries only, earliest first. Each visit moves the entry's deadline past
 * now_ns or ends it, except INCOMPLETE -> FAILED with arp_failed_ms 0, which the next
 * round clears: the loop ends. */
void arp_poll(struct arp *arp, uint64_t now_ns)
{
	const struct stack_config *cfg = &arp->st->cfg;

	while (arp->ntimers > 0) {
		struct arp_entry *e = &arp->tab[arp->timers[0]];

		if (e->deadline_ns > now_ns)
			break;
		switch (e->state) {
		case ARP_STATE_INCOMPLETE:
			if (e->tries < cfg->arp_retries) {
				arp_request(arp, e, false);
				break;
			}
			/* RFC 1122 §2.3.2.1: give up, and tell the writers (who find the
			 * entry failed already if they write again at once). */
			STAT_INC(arp->st, ArpResolveFails);
			e->state = ARP_STATE_FAILED;
			e->timer_ns = now_ns + ms_to_ns(cfg->arp_failed_ms);
			arp_timer_update(arp, e);
			arp_queue_drop(arp, arp_queue_take(arp, e), true);
			break;
		case ARP_STATE_REACHABLE:
		case ARP_STATE_STALE:
			if (e->refreshing && e->tries < cfg->arp_retries) {
				arp_request(arp, e, true);
				break;
			}
			/* Expired unused, or the refresh went unanswered: forget it; the next
			 * use resolves afresh by broadcast. */
			if (e->refreshing)
				STAT_INC(arp->st, ArpResolveFails);
			arp_entry_clear(arp, e);
			break;
		default: /* FAILED ends */
			arp_entry_clear(arp, e);
			break;
		}
	}
}

uint64_t arp_next_deadline(const struct arp *arp)
{
	return arp->ntimers ? arp->tab[arp->timers[0]].deadline_ns : UINT64_MAX;
}

const char *arp_state_name(enum arp_state s)
{
	switch (s) {
	case ARP_STATE_FREE:
		return "free";
	case ARP_STATE_INCOMPLETE:
		return "incomplete";
	case ARP_STATE_REACHABLE:
		return "reachable";
	case ARP_STATE_STALE:
		return "stale";
	case ARP_STATE_FAILED:
		return "failed";
	case ARP_STATE_STATIC:
		return "static";
	}
	return "?";
}
