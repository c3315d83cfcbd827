/* UDP (RFC 768, RFC 1122 §4.1.3). */
#include "udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "icmp.h"
#include "stack_var.h"
#include "wire/icmp.h"
#include "wire/csum.h"
#include "wire/udp.h"

#define UDP_PORTS 65536
#define UDP_MAX_DATA (IPV4_MAX_LEN - IPV4_HDR_LEN - UDP_HDR_LEN) /* 65507 */

struct udp_sock {
	struct udp *u;
	uint16_t port;
	const struct udp_sock_ops *ops;
	void *user;
};

static void udp_input(void *ctx, const struct ipv4_pkt *p)
{
	struct udp *u = ctx;
	struct stack *st = u->st;
	struct udp_hdr h;
	struct udp_sock *s;
	struct udp_dgram d;
	int r;

	r = udp_hdr_parse_verify(p->data, p->len, p->h.src, p->h.dst, !p->l4_csum_ok, &h);
	if (r < 0) {
		if (r == -EBADMSG)
			STAT_INC(st, UdpInCsumErrors);
		STAT_INC(st, UdpInErrors);
		return;
	}
	s = u->ports[h.dport];
	if (!s) {
		if (p->ip_bcast || p->l2_bcast) {
			/* RFC 1122 §4.1.3.1: no port unreachable for broadcasts. */
			STAT_INC(st, UdpIgnoredMulti);
			return;
		}
		STAT_INC(st, UdpNoPorts);
		icmp_send_error(&st->icmp, p, ICMP_DEST_UNREACH, ICMP_UNREACH_PORT, 0);
		return;
	}
	d = (struct udp_dgram){
		.src = p->h.src,
		.dst = p->h.dst,
		.sport = h.sport,
		.dport = h.dport,
		.ttl = p->h.ttl,
		.data = p->data + UDP_HDR_LEN,
		.len = h.len - UDP_HDR_LEN,
	};
	if (s->ops->recv(s, s->user, &d) < 0) {
		STAT_INC(st, UdpRcvbufErrors);
		STAT_INC(st, UdpInErrors);
		return;
	}
	STAT_INC(st, UdpInDatagrams);
}

/* An ICMP error about a datagram we sent from the quoted source port. */
static void udp_error(void *ctx, const struct icmp_err *e)
{
	struct udp *u = ctx;
	uint16_t sport = (uint16_t)(e->l4[0] << 8 | e->l4[1]);
	struct udp_sock *s = u->ports[sport];

	if (!s || !s->ops->error) {
		STAT_INC(u->st, IcmpInUnmatchedErrors);
		return;
	}
	s->ops->error(s, s->user, e);
}

int udp_init(struct udp *u, struct stack *st)
{
	memset(u, 0, sizeof(*u));
	u->st = st;
	u->ports = calloc(UDP_PORTS, sizeof(*u->ports));
	if (!u->ports)
		return -ENOMEM;
	u->next_ephemeral = (uint16_t)(UDP_EPHEMERAL_MIN +
				       rng_below(&st->rng, UDP_EPHEMERAL_MAX - UDP_EPHEMERAL_MIN + 1));
	return ipv4_register(&st->ip, IPV4_PROTO_UDP, udp_input, udp_error, u);
}

void udp_fini(struct udp *u)
{
	if (!u->ports)
		return;
	for (unsigned i = 0; i < UDP_PORTS && u->nsocks > 0; i++) {
		if (u->ports[i]) {
			free(u->ports[i]);
			u->nsocks--;
		}
	}
	free(u->ports);
	u->ports = NULL;
}

static int udp_pick_port(struct udp *u, uint16_t *port)
{
	unsigned range = UDP_EPHEMERAL_MAX - UDP_EPHEMERAL_MIN + 1;

	for (unsigned i = 0; i < range; i++) {
		uint16_t p = u->next_ephemeral;
		u->next_ephemeral = p == UDP_EPHEMERAL_MAX ? UDP_EPHEMERAL_MIN : p + 1;
		if (!u->ports[p]) {
			*port = p;
			return 0;
		}
	}
	return -EAGAIN;
}

int udp_open(struct stack *st, uint16_t port, const struct udp_sock_ops *ops, void *user,
	     struct udp_sock **out)
{
	struct udp *u = &st->udp;
	struct udp_sock *s;
	int r;

	if (!ops || !ops->recv)
		return -EINVAL;
	if (port == 0) {
		r = udp_pick_port(u, &port);
		if (r < 0)
			return r;
	} else if (u->ports[port]) {
		return -EADDRINUSE;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->u = u;
	s->port = port;
	s->ops = ops;
	s->user = user;
	u->ports[port] = s;
	u->nsocks++;
	*out = s;
	return 0;
}

uint16_t udp_sock_port(const struct udp_sock *s)
{
	return s->port;
}

struct udp_fill_ctx {
	struct udp_hdr h;
	struct in_addr src, dst;
	const struct iovec *iov;
	int niov;
};

static size_t udp_fill(uint8_t *buf, size_t len, void *ctx)
{
	struct udp_fill_ctx *c = ctx;
	struct csum sum = CSUM_INIT;

	(void)len;
	c->h.csum = 0;
	udp_hdr_emit(&c->h, buf);
	csum_feed_pseudo(&sum, c->src, c->dst, IPV4_PROTO_UDP, c->h.len);
	csum_feed(&sum, buf, UDP_HDR_LEN);
	csum_feed_iov(&sum, c->iov, c->niov);
	c->h.csum = udp_csum_finish(&sum); /* never 0, which would mean "none" */
	udp_hdr_emit(&c->h, buf);
	return UDP_HDR_LEN;
}

int udp_sendto(struct udp_sock *s, struct in_addr dst, uint16_t dport, const struct iovec *iov,
	       int niov, const struct ipv4_write_opts *o)
{
	struct stack *st = s->u->st;
	struct udp_fill_ctx c = {
		.h = { .sport = s->port, .dport = dport },
		.src = (o && !addr_is_any(o->src)) ? o->src : st->ip.addr,
		.dst = dst,
		.iov = iov,
		.niov = niov,
	};
	size_t len = 0;
	int r;

	for (int i = 0; i < niov; i++)
		len += iov[i].iov_len;
	if (len > UDP_MAX_DATA)
		return -EMSGSIZE;
	if (dport == 0)
		return -EINVAL;
	c.h.len = (uint16_t)(UDP_HDR_LEN + len);
	r = ipv4_write(&st->ip, o, dst, IPV4_PROTO_UDP, UDP_HDR_LEN, udp_fill, &c, iov, niov);
	if (r == 0)
		STAT_INC(st, UdpOutDatagrams);
	return r;
}

void udp_close(struct udp_sock *s)
{
	s->u->ports[s->port] = NULL;
	s->u->nsocks--;
	free(s);
}
