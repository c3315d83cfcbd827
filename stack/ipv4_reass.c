/* IPv4 reassembly: RFC 791 §3.2 (the algorithm), RFC 815 (hole accounting), RFC 1122
 * §3.3.2 (timeout, ICMP 11/1), with the limits of design.md §2.
 *
 * Data structures
 *  - A datagram (struct ipv4_reass_dgram) is on two doubly-linked lists of the cache:
 *    the LRU list (most recently used first; a held fragment moves its datagram to the
 *    front, eviction takes from the back) and the age list (ordered by the deadline set
 *    when its first fragment arrived, so the earliest expiry is the head: O(1)).
 *  - Its fragments are a singly-linked list sorted by offset, highest first (at most
 *    max_frags, 16 by default), each node carrying a malloc'd copy of the payload.
 *    Duplicate and overlap checks only need the two neighbours of the insertion point,
 *    and in-order arrival, the common case, inserts at the head.
 *  - Any overlap drops the datagram, so held fragments are disjoint: the datagram is
 *    complete exactly when the last fragment is known and the payload held equals its
 *    end. No hole list is needed (RFC 815's descriptors reduce to one counter) and
 *    completion is an O(1) test.
 *  - Lookup by (src, dst, proto, id) goes through a chained hash table keyed with a
 *    secret (SipHash-2-4), with a bucket per datagram allowed (max_dgrams), so chains
 *    average at most one entry however the datagrams are chosen.
 *  - Memory: r->bytes is what the held records and fragments cost the heap (truesize, as
 *    Linux charges skb->truesize to ipfrag_high_thresh), not only their payload: a flood
 *    of 1-byte fragments used to fill a 256 KiB payload bound with 262,144 datagrams and
 *    ~60 MiB of heap (issue 11).
 *
 * Costs: a fragment is O(1) in order, O(n) at worst in the fragments of its datagram
 * (n <= max_frags), plus an O(1) expected lookup; completion copies the payload once;
 * eviction and expiry are O(1) per datagram plus freeing its fragments, and a datagram is
 * evicted at most once, so a flood costs O(1) per fragment. */
#include "ipv4_reass.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "siphash.h"
#include "wire/csum.h"

/* Buckets: the power of two at or above max_dgrams, at least this many. */
#define REASS_HASH_MIN 16u
#define REASS_DGRAMS_MIN 16u

struct ipv4_reass_frag {
	struct ipv4_reass_frag *next;
	uint16_t off; /* payload bytes from the start of the datagram's payload */
	uint16_t len; /* payload bytes, > 0 */
	bool mf;
	uint8_t data[]; /* len bytes */
};

struct ipv4_reass_dgram {
	struct ipv4_reass_dgram *lru_prev, *lru_next;
	struct ipv4_reass_dgram *age_prev, *age_next;
	struct ipv4_reass_dgram *hash_next, **hash_pprev;
	/* key */
	struct in_addr src, dst;
	uint8_t proto;
	uint16_t id;

	uint64_t deadline_ns; /* first fragment's arrival + timeout */
	struct ipv4_reass_frag *frags; /* by offset, highest first */
	unsigned nfrags;
	size_t held;	   /* payload bytes held (fragments are disjoint) */
	size_t charged;	   /* what it costs against max_bytes: its record and fragments */
	uint32_t max_end;  /* highest fragment end held */
	bool have_last;	   /* the MF=0 fragment has arrived ... */
	uint32_t last_end; /* ... and this is the payload length */
	/* The offset-0 fragment's header, which becomes the datagram's (RFC 791: "the header
	 * of the first fragment"), and is quoted by ICMP 11/1. */
	bool have_first;
	struct ipv4_hdr first_h;
	uint8_t first_hdr[IPV4_HDR_MAX];
	/* Dropped for a fault of its own (overlap, too many fragments, conflicting ends):
	 * kept without fragments until its deadline so that the rest of its fragments are
	 * dropped at once and the datagram is counted as failed once, not once per retry. */
	bool failed;
};

/* What an allocation of n bytes takes from the heap: glibc's malloc adds an 8-byte header
 * and rounds the chunk up to 16 bytes (32 at least); charging the request rounded up to 16
 * plus 16 is never less, whatever n. */
static size_t alloc_truesize(size_t n)
{
	return ((n + 15) & ~(size_t)15) + 16;
}

size_t ipv4_reass_dgram_truesize(void)
{
	return alloc_truesize(sizeof(struct ipv4_reass_dgram));
}

size_t ipv4_reass_frag_truesize(size_t len)
{
	return alloc_truesize(sizeof(struct ipv4_reass_frag) + len);
}

static void count(struct ipv4_reass *r, enum stat_id id)
{
	if (r->stats)
		stat_inc(r->stats, id);
}

/* ---- lists ---- */

static void lru_unlink(struct ipv4_reass *r, struct ipv4_reass_dgram *d)
{
	if (d->lru_prev)
		d->lru_prev->lru_next = d->lru_next;
	else
		r->lru_head = d->lru_next;
	if (d->lru_next)
		d->lru_next->lru_prev = d->lru_prev;
	else
		r->lru_tail = d->lru_prev;
	d->lru_prev = d->lru_next = NULL;
}

static void lru_push_front(struct ipv4_reass *r, struct ipv4_reass_dgram *d)
{
	d->lru_prev = NULL;
	d->lru_next = r->lru_head;
	if (r->lru_head)
		r->lru_head->lru_prev = d;
	else
		r->lru_tail = d;
	r->lru_head = d;
}

static void lru_touch(struct ipv4_reass *r, struct ipv4_reass_dgram *d)
{
	if (r->lru_head == d)
		return;
	lru_unlink(r, d);
	lru_push_front(r, d);
}

static void age_unlink(struct ipv4_reass *r, struct ipv4_reass_dgram *d)
{
	if (d->age_prev)
		d->age_prev->age_next = d->age_next;
	else
		r->age_head = d->age_next;
	if (d->age_next)
		d->age_next->age_prev = d->age_prev;
	else
		r->age_tail = d->age_prev;
	d->age_prev = d->age_next = NULL;
}

/* Datagrams are created in arrival order, so with a monotonic clock this appends in O(1);
 * the backward walk only keeps the list sorted if the caller's clock ever steps back. */
static void age_insert(struct ipv4_reass *r, struct ipv4_reass_dgram *d)
{
	struct ipv4_reass_dgram *p = r->age_tail;

	while (p && p->deadline_ns > d->deadline_ns)
		p = p->age_prev;
	d->age_prev = p;
	d->age_next = p ? p->age_next : r->age_head;
	if (d->age_next)
		d->age_next->age_prev = d;
	else
		r->age_tail = d;
	if (p)
		p->age_next = d;
	else
		r->age_head = d;
}

/* ---- datagrams ---- */

static bool dgram_match(const struct ipv4_reass_dgram *d, const struct ipv4_hdr *h)
{
	return d->id == h->id && d->proto == h->proto && addr_eq(d->src, h->src) &&
	       addr_eq(d->dst, h->dst);
}

static struct ipv4_reass_dgram **bucket(const struct ipv4_reass *r, const struct ipv4_hdr *h)
{
	uint8_t k[11];

	memcpy(k, &h->src.s_addr, 4);
	memcpy(k + 4, &h->dst.s_addr, 4);
	k[8] = h->proto;
	k[9] = (uint8_t)(h->id >> 8);
	k[10] = (uint8_t)h->id;
	return &r->hash[siphash24(r->cfg.hash_key, k, sizeof(k)) & r->hash_mask];
}

/* Without a table (its allocation failed), the LRU list is walked, most recent first. */
static struct ipv4_reass_dgram *dgram_find(struct ipv4_reass *r, const struct ipv4_hdr *h)
{
	struct ipv4_reass_dgram *d = r->hash ? *bucket(r, h) : r->lru_head;

	for (; d; d = r->hash ? d->hash_next : d->lru_next) {
		r->probes++;
		if (dgram_match(d, h))
			return d;
	}
	return NULL;
}

static void hash_insert(struct ipv4_reass *r, struct ipv4_reass_dgram *d,
			const struct ipv4_hdr *h)
{
	struct ipv4_reass_dgram **b;

	if (!r->hash)
		return;
	b = bucket(r, h);
	d->hash_next = *b;
	if (*b)
		(*b)->hash_pprev = &d->hash_next;
	d->hash_pprev = b;
	*b = d;
}

static void hash_unlink(struct ipv4_reass_dgram *d)
{
	if (!d->hash_pprev)
		return;
	*d->hash_pprev = d->hash_next;
	if (d->hash_next)
		d->hash_next->hash_pprev = d->hash_pprev;
	d->hash_next = NULL;
	d->hash_pprev = NULL;
}

static void frags_free(struct ipv4_reass_frag *f)
{
	while (f) {
		struct ipv4_reass_frag *next = f->next;

		free(f);
		f = next;
	}
}

/* Takes d out of the cache (both lists and the byte count) without freeing it. */
static void dgram_unlink(struct ipv4_reass *r, struct ipv4_reass_dgram *d)
{
	lru_unlink(r, d);
	age_unlink(r, d);
	hash_unlink(d);
	assert(r->bytes >= d->charged && r->count > 0);
	r->bytes -= d->charged;
	r->count--;
}

static void dgram_free(struct ipv4_reass_dgram *d)
{
	frags_free(d->frags);
	free(d);
}

static void dgram_destroy(struct ipv4_reass *r, struct ipv4_reass_dgram *d)
{
	dgram_unlink(r, d);
	dgram_free(d);
}

/* Drops a whole datagram for a reason (one counter, plus IpReasmFails); returns err. */
static int dgram_drop(struct ipv4_reass *r, struct ipv4_reass_dgram *d, enum stat_id why,
		      int err)
{
	count(r, STAT_IpReasmFails);
	if (why != STAT_IpReasmFails)
		count(r, why);
	dgram_destroy(r, d);
	return err;
}

/* Fails a datagram for a fault of its own: counted once, its fragments freed, its key
 * (and record) kept until the deadline or its eviction (see `failed`). Returns err. */
static int dgram_fail(struct ipv4_reass *r, struct ipv4_reass_dgram *d, enum stat_id why,
		      int err)
{
	count(r, STAT_IpReasmFails);
	if (why != STAT_IpReasmFails)
		count(r, why);
	frags_free(d->frags);
	d->frags = NULL;
	d->nfrags = 0;
	d->have_first = false;
	d->have_last = false;
	d->failed = true;
	d->held = 0;
	r->bytes -= d->charged - ipv4_reass_dgram_truesize();
	d->charged = ipv4_reass_dgram_truesize();
	return err;
}

/* Evicts least recently used datagrams other than keep until `bytes` more fit and, for a
 * new datagram, until there is a place for it. Returns false if they still do not (only
 * keep is left and is too big). A failed datagram's key was counted failed already. */
static bool make_room(struct ipv4_reass *r, size_t bytes, bool new_dgram,
		      const struct ipv4_reass_dgram *keep)
{
	while (r->bytes + bytes > r->cfg.max_bytes ||
	       (new_dgram && r->count >= r->cfg.max_dgrams)) {
		struct ipv4_reass_dgram *victim = r->lru_tail;

		if (victim == keep)
			victim = victim->lru_prev;
		if (!victim)
			return false;
		if (!victim->failed)
			count(r, STAT_IpReasmFails);
		count(r, STAT_IpReasmEvictions);
		dgram_destroy(r, victim);
	}
	return true;
}

/* The reassembled datagram: the first fragment's header, options kept, with total length,
 * MF, fragment offset and checksum rewritten, then the payload. Consumes d's fragments. */
static int dgram_complete(struct ipv4_reass *r, struct ipv4_reass_dgram *d,
			  struct ipv4_reass_out *out)
{
	size_t hdr_len = d->first_h.hdr_len;
	size_t len = hdr_len + d->last_end;
	uint8_t *buf;

	/* Each fragment's end was checked against its own header length; the datagram takes
	 * the first fragment's, which may carry more options than the others. */
	if (len > IPV4_MAX_LEN)
		return dgram_drop(r, d, STAT_IpReasmFails, -E2BIG);
	buf = malloc(len);
	if (!buf)
		return dgram_drop(r, d, STAT_IpReasmFails, -ENOMEM);

	struct ipv4_hdr h = d->first_h;

	h.total_len = (uint16_t)len;
	h.mf = false;
	h.frag_off = 0;
	if (hdr_len == IPV4_HDR_LEN) {
		ipv4_hdr_emit(&h, buf);
	} else {
		uint16_t v;

		memcpy(buf, d->first_hdr, hdr_len);
		v = htons((uint16_t)len);
		memcpy(buf + 2, &v, 2);
		/* Keep the reserved bit and DF (RFC 791 §3.1 flags); clear MF and the offset. */
		memcpy(&v, buf + 6, 2);
		v = htons(ntohs(v) & 0xc000);
		memcpy(buf + 6, &v, 2);
		memset(buf + 10, 0, 2);
		v = csum_buf(buf, hdr_len);
		memcpy(buf + 10, &v, 2);
	}
	memcpy(&h.csum, buf + 10, 2);
	for (const struct ipv4_reass_frag *f = d->frags; f; f = f->next)
		memcpy(buf + hdr_len + f->off, f->data, f->len);

	out->buf = buf;
	out->hdr_len = hdr_len;
	out->len = len;
	out->h = h;
	count(r, STAT_IpReasmOKs);
	dgram_destroy(r, d);
	return 1;
}

/* ---- API ---- */

void ipv4_reass_init(struct ipv4_reass *r, const struct ipv4_reass_config *cfg,
		     struct stats *stats)
{
	memset(r, 0, sizeof(*r));
	/* A zero (or absent) limit means the default of design.md §2. */
	if (cfg)
		r->cfg = *cfg;
	if (r->cfg.max_bytes == 0)
		r->cfg.max_bytes = IPV4_REASS_DEFAULT_MAX_BYTES;
	if (r->cfg.max_frags == 0)
		r->cfg.max_frags = IPV4_REASS_DEFAULT_MAX_FRAGS;
	if (r->cfg.timeout_ms == 0)
		r->cfg.timeout_ms = IPV4_REASS_DEFAULT_TIMEOUT_MS;
	if (r->cfg.max_dgrams == 0) {
		size_t n = r->cfg.max_bytes / IPV4_REASS_BYTES_PER_DGRAM;

		r->cfg.max_dgrams = n < REASS_DGRAMS_MIN	     ? REASS_DGRAMS_MIN
				    : n > IPV4_REASS_MAX_DGRAMS ? IPV4_REASS_MAX_DGRAMS
								 : (unsigned)n;
	}
	r->stats = stats;

	size_t n = REASS_HASH_MIN;

	while (n < r->cfg.max_dgrams)
		n *= 2;
	r->hash = calloc(n, sizeof(*r->hash));
	r->hash_mask = r->hash ? n - 1 : 0;
}

void ipv4_reass_fini(struct ipv4_reass *r)
{
	while (r->lru_head)
		dgram_destroy(r, r->lru_head);
	assert(r->bytes == 0 && r->count == 0 && !r->age_head);
	free(r->hash);
	r->hash = NULL;
}

int ipv4_reass_input(struct ipv4_reass *r, const struct ipv4_hdr *h, const uint8_t *hdr,
		     const uint8_t *payload, uint64_t now_ns, struct ipv4_reass_out *out)
{
	struct ipv4_reass_dgram *d;
	struct ipv4_reass_frag *f, **link = NULL;
	uint32_t off = h->frag_off, len, end;

	out->buf = NULL;
	count(r, STAT_IpReasmReqds);

	/* The fragment on its own. */
	if (h->hdr_len < IPV4_HDR_LEN || h->hdr_len > IPV4_HDR_MAX) {
		count(r, STAT_IpReasmFails); /* not from ipv4_hdr_parse() */
		return -EINVAL;
	}
	if (h->total_len <= h->hdr_len) {
		count(r, STAT_IpReasmFails); /* nothing to place */
		return -EINVAL;
	}
	len = (uint32_t)h->total_len - h->hdr_len;
	end = off + len;
	if (h->mf && len % IPV4_FRAG_UNIT != 0) {
		count(r, STAT_IpReasmFails); /* RFC 791: all but the last carry 8-byte units */
		return -EINVAL;
	}
	if (end > (uint32_t)IPV4_MAX_LEN - h->hdr_len) {
		count(r, STAT_IpReasmFails); /* the datagram would exceed 65535 bytes */
		return -E2BIG;
	}

	/* The fragment against its datagram. */
	d = dgram_find(r, h);
	if (d && d->failed) {
		count(r, STAT_IpReasmFailedFrags);
		return -ECANCELED;
	}
	if (d) {
		struct ipv4_reass_frag *next = NULL, *prev;

		/* The insertion point: after the fragments that start later (the nearest of
		 * which is next), before prev, the one starting at or before off. */
		for (link = &d->frags; *link && (*link)->off > off; link = &(*link)->next)
			next = *link;
		prev = *link;
		if (prev && prev->off == off && prev->len == len && prev->mf == h->mf) {
			count(r, STAT_IpReasmDuplicates);
			return 0; /* exact duplicate: ignored, the datagram untouched */
		}
		if ((prev && (uint32_t)prev->off + prev->len > off) || (next && next->off < end))
			return dgram_fail(r, d, STAT_IpReasmOverlaps, -EEXIST);
		/* One end per datagram: nothing past a known end, no end before data held.
		 * A second last fragment with another end fails one of the two (the first
		 * one's end is in max_end). */
		if (d->have_last && end > d->last_end)
			return dgram_fail(r, d, STAT_IpReasmFails, -EINVAL);
		if (!h->mf && end < d->max_end)
			return dgram_fail(r, d, STAT_IpReasmFails, -EINVAL);
		if (d->nfrags >= r->cfg.max_frags)
			return dgram_fail(r, d, STAT_IpReasmTooManyFrags, -E2BIG);
	}

	/* Room for it: the fragment, and a record for a new datagram. */
	size_t need = ipv4_reass_frag_truesize(len) + (d ? 0 : ipv4_reass_dgram_truesize());

	if (need > r->cfg.max_bytes) {
		/* It can never be held, so neither can its datagram complete. */
		if (d)
			return dgram_drop(r, d, STAT_IpReasmFails, -ENOMEM);
		count(r, STAT_IpReasmFails);
		return -ENOMEM;
	}
	if (d)
		lru_touch(r, d);
	if (!make_room(r, need, !d, d)) {
		/* Only d is left, and it would outgrow the cache: it cannot complete. */
		assert(d);
		return dgram_drop(r, d, STAT_IpReasmEvictions, -ENOMEM);
	}

	f = malloc(sizeof(*f) + len);
	if (!f) {
		if (d)
			return dgram_drop(r, d, STAT_IpReasmFails, -ENOMEM);
		count(r, STAT_IpReasmFails);
		return -ENOMEM;
	}
	f->off = (uint16_t)off;
	f->len = (uint16_t)len;
	f->mf = h->mf;
	memcpy(f->data, payload, len);

	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d) {
			free(f);
			count(r, STAT_IpReasmFails);
			return -ENOMEM;
		}
		d->src = h->src;
		d->dst = h->dst;
		d->proto = h->proto;
		d->id = h->id;
		d->deadline_ns = now_ns + (uint64_t)r->cfg.timeout_ms * 1000000u;
		lru_push_front(r, d);
		age_insert(r, d);
		hash_insert(r, d, h);
		r->count++;
		d->charged = ipv4_reass_dgram_truesize();
		r->bytes += d->charged;
		link = &d->frags;
	}

	/* make_room() evicted other datagrams only: link still points into d's list. */
	f->next = *link;
	*link = f;
	d->nfrags++;
	d->held += len;
	d->charged += ipv4_reass_frag_truesize(len);
	r->bytes += ipv4_reass_frag_truesize(len);
	if (end > d->max_end)
		d->max_end = end;
	if (!h->mf) {
		d->have_last = true;
		d->last_end = end;
	}
	if (off == 0) {
		d->have_first = true;
		d->first_h = *h;
		memcpy(d->first_hdr, hdr, h->hdr_len);
	}

	/* Disjoint fragments covering [0, last_end) sum to last_end: no holes left. */
	if (d->have_last && d->held == d->last_end) {
		assert(d->have_first);
		return dgram_complete(r, d, out);
	}
	return 0;
}

void ipv4_reass_poll(struct ipv4_reass *r, uint64_t now_ns, ipv4_reass_expire_fn expire,
		     void *ctx)
{
	struct ipv4_reass_dgram *d;

	while ((d = r->age_head) && d->deadline_ns <= now_ns) {
		/* Out of the cache before the callback, which may well re-enter the stack. */
		dgram_unlink(r, d);
		if (d->failed) { /* counted when it failed */
			dgram_free(d);
			continue;
		}
		count(r, STAT_IpReasmTimeout);
		count(r, STAT_IpReasmFails);
		/* RFC 1122 §3.3.2: time exceeded only if fragment zero has been received. */
		if (d->have_first && expire) {
			const struct ipv4_reass_frag *f = d->frags;

			while (f->next) /* the lowest offset is last */
				f = f->next;
			assert(f->off == 0);
			expire(ctx, &d->first_h, d->first_hdr, f->data, f->len < 8 ? f->len : 8);
		}
		dgram_free(d);
	}
}

uint64_t ipv4_reass_next_deadline(const struct ipv4_reass *r)
{
	return r->age_head ? r->age_head->deadline_ns : UINT64_MAX;
}
