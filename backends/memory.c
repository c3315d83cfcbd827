/* In-memory netif pair with seeded fault injection (tests only; no I/O). */
#include "memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/stack.h"
#include "stack/wire/be.h"
#include "stack/wire/eth.h"
#include "stack/wire/gso.h"

#define MEMNET_MAX_FRAME (65535 + ETH_HDR_LEN)

static bool memnet_chance(struct memnet_port *p, uint32_t ppm)
{
	return ppm > 0 && rng_below(&p->rng, 1000000) < ppm;
}

static struct memnet_frame *memnet_frame_new(const uint8_t *data, size_t len)
{
	struct memnet_frame *f = malloc(sizeof(*f) + len);

	if (!f)
		return NULL;
	f->next = NULL;
	f->len = len;
	memcpy(f->data, data, len);
	return f;
}

/* Queues f at the peer; with `overtake`, just before the frame queued last. */
static void memnet_enqueue(struct memnet_port *to, struct memnet_frame *f, bool overtake)
{
	if (overtake && to->head == to->tail && to->head) {
		f->next = to->head;
		to->head = f;
	} else if (overtake && to->head) {
		struct memnet_frame *prev = to->head;
		while (prev->next != to->tail)
			prev = prev->next;
		f->next = to->tail;
		prev->next = f;
	} else {
		if (to->tail)
			to->tail->next = f;
		else
			to->head = f;
		to->tail = f;
	}
	to->queued++;
}

static int memnet_deliver(struct memnet_port *from, const uint8_t *frame, size_t len,
			  bool faults)
{
	struct memnet_port *to = from->peer;
	const struct memnet_faults *fl = &from->faults;
	struct memnet_frame *f;
	unsigned copies = 1;

	if (to->queued >= to->queue_limit) {
		from->stats.refused++;
		return -ENOBUFS;
	}
	from->stats.written++;
	if (faults && memnet_chance(from, fl->drop_ppm)) {
		from->stats.dropped++;
		return 0; /* lost on the wire: the writer never knows */
	}
	if (faults && memnet_chance(from, fl->dup_ppm)) {
		from->stats.duplicated++;
		copies = 2;
	}
	for (unsigned i = 0; i < copies; i++) {
		f = memnet_frame_new(frame, len);
		if (!f)
			return -ENOMEM;
		if (faults && len > ETH_HDR_LEN && memnet_chance(from, fl->corrupt_ppm)) {
			size_t bit = ETH_HDR_LEN * 8 +
				     rng_below(&from->rng, (uint32_t)((len - ETH_HDR_LEN) * 8));
			f->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			from->stats.corrupted++;
		}
		if (faults && len > 1 && memnet_chance(from, fl->truncate_ppm)) {
			f->len = 1 + rng_below(&from->rng, (uint32_t)(len - 1));
			from->stats.truncated++;
		}
		bool overtake = faults && memnet_chance(from, fl->reorder_ppm);
		if (overtake)
			from->stats.reordered++;
		memnet_enqueue(to, f, overtake);
	}
	if (from->on_write)
		from->on_write(from->on_write_ctx, frame, len);
	return 0;
}

static int memnet_write(struct netif *nif, size_t size, netif_fill_fn fill, void *ctx)
{
	struct memnet_port *p = (struct memnet_port *)nif; /* nif is the first member */
	static uint8_t buf[MEMNET_MAX_FRAME];
	size_t len;

	if (size > nif->mtu + ETH_HDR_LEN || size > sizeof(buf))
		return -EMSGSIZE;
	if (p->peer->queued >= p->peer->queue_limit) {
		p->stats.refused++;
		return -ENOBUFS;
	}
	len = fill(buf, size, ctx);
	return memnet_deliver(p, buf, len, true);
}

/* TSO as a TAP's kernel does it: the super-segment is cut (stack/wire/gso.h) and each
 * segment goes on the wire, faults and on_write included, as if written one by one. */
static int memnet_write_gso(struct netif *nif, size_t size, unsigned gso_size,
			    netif_fill_fn fill, void *ctx)
{
	struct memnet_port *p = (struct memnet_port *)nif;
	static uint8_t buf[MEMNET_MAX_FRAME], seg[MEMNET_MAX_FRAME];
	struct gso_tcp4 g;
	size_t len;
	int r;

	if (size > (size_t)nif->gso_max + ETH_HDR_LEN || size > sizeof(buf))
		return -EMSGSIZE;
	if (p->peer->queued >= p->peer->queue_limit) {
		p->stats.refused++;
		return -ENOBUFS;
	}
	len = fill(buf, size, ctx);
	if (len < ETH_HDR_LEN || be16_load(buf + 12) != ETH_TYPE_IPV4 ||
	    gso_tcp4_parse(&g, buf + ETH_HDR_LEN, len - ETH_HDR_LEN, gso_size) < 0 ||
	    g.hdr_len + (g.segs > 1 ? gso_size : g.data_len) > nif->mtu) {
		p->stats.gso_refused++; /* the kernel refuses what it cannot cut */
		return -EINVAL;
	}
	p->stats.gso_writes++;
	memcpy(seg, buf, ETH_HDR_LEN);
	for (unsigned i = 0; i < g.segs; i++) {
		size_t n = gso_tcp4_segment(&g, i, seg + ETH_HDR_LEN);

		r = memnet_deliver(p, seg, ETH_HDR_LEN + n, true);
		if (r < 0)
			return r;
	}
	return 0;
}

static const struct netif_ops memnet_ops = {
	.write = memnet_write,
	.write_gso = memnet_write_gso,
};

static void memnet_port_init(struct memnet_port *p, struct memnet_port *peer, unsigned mtu,
			     struct mac mac, uint64_t seed)
{
	uint8_t s[32] = { 0 };

	memset(p, 0, sizeof(*p));
	p->nif.ops = &memnet_ops;
	p->nif.mac = mac;
	p->nif.mtu = mtu;
	p->peer = peer;
	p->queue_limit = MEMNET_DEFAULT_QUEUE_LIMIT;
	memcpy(s, &seed, sizeof(seed));
	s[31] = mac.b[5];
	rng_seed(&p->rng, s);
}

void memnet_pair_init(struct memnet_pair *p, unsigned mtu, struct mac mac_a, struct mac mac_b,
		      uint64_t seed)
{
	memnet_port_init(&p->a, &p->b, mtu, mac_a, seed);
	memnet_port_init(&p->b, &p->a, mtu, mac_b, seed);
}

static void memnet_port_flush(struct memnet_port *p)
{
	struct memnet_frame *f, *next;

	for (f = p->head; f; f = next) {
		next = f->next;
		free(f);
	}
	p->head = p->tail = NULL;
	p->queued = 0;
}

void memnet_pair_fini(struct memnet_pair *p)
{
	memnet_port_flush(&p->a);
	memnet_port_flush(&p->b);
}

void memnet_set_faults(struct memnet_port *port, const struct memnet_faults *f)
{
	port->faults = *f;
}

void memnet_set_gso_max(struct memnet_port *port, unsigned gso_max)
{
	port->nif.gso_max = gso_max;
}

static struct memnet_frame *memnet_pop(struct memnet_port *port)
{
	struct memnet_frame *f = port->head;

	if (!f)
		return NULL;
	port->head = f->next;
	if (!port->head)
		port->tail = NULL;
	port->queued--;
	return f;
}

size_t memnet_recv(struct memnet_port *port, uint8_t *buf, size_t cap)
{
	struct memnet_frame *f = memnet_pop(port);
	size_t len;

	if (!f)
		return 0;
	len = f->len < cap ? f->len : cap;
	memcpy(buf, f->data, len);
	free(f);
	return len;
}

int memnet_inject(struct memnet_port *port, const uint8_t *frame, size_t len)
{
	return memnet_deliver(port, frame, len, false);
}

size_t memnet_pump(struct memnet_pair *p, struct stack *sa, struct stack *sb, uint64_t now_ns,
		   size_t max_frames)
{
	size_t n = 0;

	while (n < max_frames && (p->a.head || p->b.head)) {
		struct memnet_port *ports[2] = { &p->a, &p->b };
		struct stack *stacks[2] = { sa, sb };

		for (int i = 0; i < 2 && n < max_frames; i++) {
			struct memnet_frame *f = memnet_pop(ports[i]);
			if (!f)
				continue;
			if (stacks[i])
				stack_input(stacks[i], &ports[i]->nif, f->data, f->len, now_ns);
			free(f);
			n++;
		}
	}
	return n;
}
