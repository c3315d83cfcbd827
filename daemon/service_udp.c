#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "service.h"

/* RFC 864: "send a datagram containing a random number (between 0 and 512) of
 * characters". */
#define CHARGEN_UDP_MAX 512
#define CHARGEN_LINE 72 /* characters, then CR LF */
#define CHARGEN_CHARS 95 /* ' ' .. '~' */

void service_chargen_fill(uint8_t *buf, size_t len, uint64_t pos)
{
	for (size_t i = 0; i < len; i++, pos++) {
		uint64_t line = pos / (CHARGEN_LINE + 2), col = pos % (CHARGEN_LINE + 2);

		if (col == CHARGEN_LINE)
			buf[i] = '\r';
		else if (col == CHARGEN_LINE + 1)
			buf[i] = '\n';
		else
			buf[i] = (uint8_t)(' ' + (line + col) % CHARGEN_CHARS);
	}
}

/* Datagrams from another simple service's port are not answered: an echo or chargen
 * server talking to ours (a spoofed source, "fraggle") would loop forever. Port 0 cannot be
 * answered. */
static bool service_udp_refuse(const struct udp_dgram *d)
{
	switch (d->sport) {
	case 0:
	case 7:	 /* echo */
	case 13: /* daytime */
	case 17: /* qotd */
	case 19: /* chargen */
	case 37: /* time */
		return true;
	default:
		return false;
	}
}

/* Our unicast address, not a broadcast (limited or subnet) nor a multicast one. */
static bool addr_is_unicast_for(struct stack *st, struct in_addr a)
{
	const struct stack_config *c = stack_config(st);
	uint32_t mask = addr_prefix_mask(c->prefix_len);

	if (addr_is_multicast(a) || addr_is_limited_broadcast(a))
		return false;
	if (c->prefix_len <= 30 && (addr_to_host(a) & ~mask) == ~mask)
		return false;
	return true;
}

static int service_udp_recv(struct udp_sock *s, void *user, const struct udp_dgram *d)
{
	struct service_inst *in = user;
	uint8_t line[CHARGEN_UDP_MAX];
	struct iovec iov;
	int r;

	in->udp_in++;
	if (in->spec.kind == SERVICE_DISCARD)
		return 0;
	/* Never answer a broadcast: one datagram would draw a reply from every host. */
	if (service_udp_refuse(d) || !addr_is_unicast_for(in->set->st, d->dst)) {
		in->udp_refused++;
		return 0;
	}
	if (in->spec.kind == SERVICE_ECHO) {
		iov.iov_base = (void *)d->data;
		iov.iov_len = d->len;
	} else {
		iov.iov_len = rng_below(&in->set->rng, CHARGEN_UDP_MAX + 1);
		service_chargen_fill(line, iov.iov_len, 0);
		iov.iov_base = line;
	}
	r = udp_sendto(s, d->src, d->sport, &iov, 1, NULL);
	if (r == 0)
		in->udp_out++;
	else
		log_debug("%s/udp: reply to %s:%u not sent: %s", service_name(in->spec.kind),
			  inet_ntoa(d->src), d->sport, strerror(-r));
	return 0; /* delivered: a reply lost to a full ring is the sender's loss, as UDP */
}

static const struct udp_sock_ops service_udp_ops = {
	.recv = service_udp_recv,
	.error = NULL, /* an ICMP error about a reply: nothing to do, the stack counts it */
};

int service_udp_start(struct service_set *set, struct stack *st, const struct service_spec *specs,
		      unsigned n, const uint8_t seed[32])
{
	memset(set, 0, sizeof(*set));
	set->st = st;
	rng_seed(&set->rng, seed);
	for (unsigned i = 0; i < n && i < CONFIG_MAX_SERVICES; i++) {
		struct service_inst *in = &set->inst[i];
		int r;

		in->spec = specs[i];
		in->set = set;
		r = udp_open(st, specs[i].port, &service_udp_ops, in, &in->udp);
		if (r < 0) {
			log_error_errno(r, "Cannot open the %s service on UDP port %u",
					service_name(specs[i].kind), specs[i].port);
			service_udp_stop(set);
			return r;
		}
		set->n = i + 1;
		log_info("service %s on udp port %u", service_name(specs[i].kind),
			 specs[i].port);
	}
	return 0;
}

void service_udp_stop(struct service_set *set)
{
	for (unsigned i = 0; i < set->n; i++)
		if (set->inst[i].udp) {
			udp_close(set->inst[i].udp);
			set->inst[i].udp = NULL;
		}
	set->n = 0;
}
