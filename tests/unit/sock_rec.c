/* Recording test sockets (sock_rec.h). */
#include "sock_rec.h"

#include <string.h>

static void rec_data(struct rec *r, const uint8_t *data, size_t len)
{
	r->n++;
	r->len = len;
	memcpy(r->data, data, len < sizeof(r->data) ? len : sizeof(r->data));
}

static int rec_udp(struct udp_sock *s, void *user, const struct udp_dgram *d)
{
	struct rec *r = user;

	(void)s;
	rec_data(r, d->data, d->len);
	r->sport = d->sport;
	r->src = d->src;
	return r->verdict;
}

static void rec_err(struct rec *r, const struct icmp_err *e)
{
	r->errs++;
	r->err = e->err;
	r->type = e->type;
	r->code = e->code;
}

static void rec_udp_err(struct udp_sock *s, void *user, const struct icmp_err *e)
{
	(void)s;
	rec_err(user, e);
}

const struct udp_sock_ops rec_udp_ops = { rec_udp, rec_udp_err };

static void rec_echo(struct icmp_echo_sock *s, void *user, struct in_addr src, uint16_t seq,
		     uint8_t ttl, const uint8_t *data, size_t len)
{
	struct rec *r = user;

	(void)s, (void)ttl;
	rec_data(r, data, len);
	r->seq = seq;
	r->src = src;
}

static void rec_echo_err(struct icmp_echo_sock *s, void *user, const struct icmp_err *e,
			 uint16_t seq)
{
	struct rec *r = user;

	(void)s;
	rec_err(r, e);
	r->seq = seq;
}

const struct icmp_echo_ops rec_echo_ops = { rec_echo, rec_echo_err };
