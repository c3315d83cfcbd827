/* ICMPv4 (RFC 792; host rules of RFC 1122 §3.2.2). */
#include "icmp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack_var.h"
#include "wire/csum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/ipv4_quote.h"

/* RFC 1812 §4.3.2.3: quote as much of the offending datagram as keeps the error within
 * 576 bytes (Linux does the same); RFC 792's minimum is the header plus 8 bytes. */
#define ICMP_ERROR_MAX_LEN 576

struct icmp_echo_sock {
	struct icmp_echo_sock *next;
	struct icmp *ic;
	uint16_t id;
	const struct icmp_echo_ops *ops;
	void *user;
};

/* A message: an 8-byte header written in place, the rest copied by ipv4_write. */
struct icmp_msg_ctx {
	struct icmp_hdr h;
	const struct iovec *iov;
	int niov;
};

static size_t icmp_fill(uint8_t *buf, size_t len, void *ctx)
{
	struct icmp_msg_ctx *c = ctx;
	struct csum sum = CSUM_INIT;

	(void)len;
	icmp_hdr_emit(&c->h, buf);
	csum_feed(&sum, buf, ICMP_HDR_LEN);
	csum_feed_iov(&sum, c->iov, c->niov);
	icmp_csum_store(buf, csum_finish(&sum));
	return ICMP_HDR_LEN;
}

static int icmp_send(struct icmp *ic, const struct ipv4_write_opts *o, struct in_addr dst,
		     const struct icmp_hdr *h, const struct iovec *iov, int niov)
{
	struct icmp_msg_ctx c = { .h = *h, .iov = iov, .niov = niov };
	int r = ipv4_write(&ic->st->ip, o, dst, IPV4_PROTO_ICMP, ICMP_HDR_LEN, icmp_fill, &c,
			   iov, niov);

	if (r < 0) {
		STAT_INC(ic->st, IcmpOutErrors);
		return r;
	}
	STAT_INC(ic->st, IcmpOutMsgs);
	return 0;
}

/* Token bucket: icmp_rate_per_s tokens a second, at most icmp_burst saved. */
static bool icmp_rate_allow(struct icmp *ic)
{
	const struct stack_config *cfg = &ic->st->cfg;
	uint64_t now = ic->st->now_ns;
	uint64_t max = (uint64_t)cfg->icmp_burst * 1000;

	if (now > ic->refill_ns) {
		/* 1000 milli-tokens per token, rate tokens per 1e9 ns */
		uint64_t add = (now - ic->refill_ns) / 1000 * cfg->icmp_rate_per_s / 1000;
		ic->tokens_milli = ic->tokens_milli + add > max ? max : ic->tokens_milli + add;
		ic->refill_ns = now;
	}
	if (ic->tokens_milli < 1000)
		return false;
	ic->tokens_milli -= 1000;
	return true;
}

static bool icmp_type_is_error(uint8_t type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH ||
	       type == ICMP_REDIRECT || type == ICMP_TIME_EXCEEDED || type == ICMP_PARAM_PROBLEM;
}

/* RFC 1122 §3.2.2 (e) and RFC 1812 §4.3.2.7: an error goes only to a source that names a
 * single host: not 0/8 (this host or network), 127/8 (loopback), 224/4 (multicast),
 * 240/4 (class E, reserved, which holds the limited broadcast) nor a broadcast of ours.
 * IPv4 input already drops most of these; this holds for every caller. */
static bool icmp_error_dst_ok(const struct icmp *ic, struct in_addr a)
{
	uint32_t net8 = addr_to_host(a) >> 24;

	if (net8 == 0 || net8 == 127 || net8 >= 224)
		return false;
	return !ipv4_is_broadcast(&ic->st->ip, a);
}

int icmp_send_error(struct icmp *ic, const struct ipv4_pkt *orig, uint8_t type, uint8_t code,
		    uint32_t info)
{
	struct stack *st = ic->st;
	struct icmp_hdr h = { .type = type, .code = code, .id = (uint16_t)(info >> 16),
			      .seq = (uint16_t)info };
	size_t room = ICMP_ERROR_MAX_LEN - IPV4_HDR_LEN - ICMP_HDR_LEN - orig->h.hdr_len;
	struct iovec iov[2] = {
		{ (void *)orig->hdr, orig->h.hdr_len },
		{ (void *)orig->data, orig->len < room ? orig->len : room },
	};
	int r;

	/* RFC 1122 §3.2.2: never about an ICMP error, a datagram to a broadcast or
	 * multicast address (IP or link layer), a non-initial fragment, or a datagram whose
	 * source does not name a single host. */
	if (orig->h.proto == IPV4_PROTO_ICMP &&
	    (orig->len < 1 || icmp_type_is_error(orig->data[0])))
		return -EPERM;
	if (orig->l2_bcast || orig->ip_bcast || orig->h.frag_off != 0 ||
	    !icmp_error_dst_ok(ic, orig->h.src))
		return -EPERM;
	if (!icmp_rate_allow(ic)) {
		STAT_INC(st, IcmpOutRateLimitGlobal);
		return -EAGAIN;
	}
	r = icmp_send(ic, NULL, orig->h.src, &h, iov, 2);
	if (r < 0)
		return r;
	if (type == ICMP_DEST_UNREACH)
		STAT_INC(st, IcmpOutDestUnreachs);
	else if (type == ICMP_TIME_EXCEEDED)
		STAT_INC(st, IcmpOutTimeExcds);
	return 0;
}

/* The errno a socket sees for an ICMP error, as RFC 1122 §4.2.3.9 and Linux map them. */
static int icmp_errno(uint8_t type, uint8_t code)
{
	static const int unreach[] = {
		ENETUNREACH, EHOSTUNREACH, ENOPROTOOPT, ECONNREFUSED, EMSGSIZE,
		EOPNOTSUPP,  ENETUNREACH,  EHOSTDOWN,	ENONET,	      ENETUNREACH,
		EHOSTUNREACH, ENETUNREACH, EHOSTUNREACH, EHOSTUNREACH,
	};

	switch (type) {
	case ICMP_DEST_UNREACH:
		return code < sizeof(unreach) / sizeof(unreach[0]) ? unreach[code] : EHOSTUNREACH;
	case ICMP_TIME_EXCEEDED:
		return EHOSTUNREACH;
	case ICMP_PARAM_PROBLEM:
		return EPROTO;
	default:
		return 0;
	}
}

static void icmp_error_input(struct icmp *ic, const struct ipv4_pkt *p,
			     const struct icmp_hdr *h)
{
	struct stack *st = ic->st;
	const uint8_t *quote = p->data + ICMP_HDR_LEN;
	size_t qlen = p->len - ICMP_HDR_LEN;
	struct icmp_err e = {
		.type = h->type,
		.code = h->code,
		.mtu = (h->type == ICMP_DEST_UNREACH && h->code == ICMP_UNREACH_NEEDFRAG) ? h->seq
										     : 0,
		.err = icmp_errno(h->type, h->code),
		.from = p->h.src,
	};
	const struct ipv4_proto *pr;

	if (ipv4_hdr_parse_quoted(quote, qlen, &e.ih) < 0 || !addr_eq(e.ih.src, st->ip.addr)) {
		/* Too short to name a socket, or not about a datagram we sent. */
		STAT_INC(st, IcmpInErrors);
		return;
	}
	e.l4 = quote + e.ih.hdr_len;
	e.l4_len = qlen - e.ih.hdr_len;
	pr = &st->ip.proto[e.ih.proto];
	if (!pr->error || e.err == 0 || e.ih.frag_off != 0) {
		STAT_INC(st, IcmpInUnmatchedErrors);
		return;
	}
	pr->error(pr->ctx, &e);
}

static void icmp_echo_request(struct icmp *ic, const struct ipv4_pkt *p,
			      const struct icmp_hdr *h)
{
	struct stack *st = ic->st;
	struct icmp_hdr rh = { .type = ICMP_ECHO_REPLY, .id = h->id, .seq = h->seq };
	struct iovec iov = { (void *)(p->data + ICMP_HDR_LEN), p->len - ICMP_HDR_LEN };

	if (p->ip_bcast || p->l2_bcast) {
		/* RFC 1122 §3.2.2.6 allows ignoring broadcast echo; Linux does by default
		 * (smurf amplification). */
		STAT_INC(st, IcmpInBcastEchoIgnored);
		return;
	}
	/* RFC 1122 §3.2.2.6: the reply carries the request's data; our address (the
	 * request's destination) is its source. */
	if (icmp_send(ic, NULL, p->h.src, &rh, &iov, 1) == 0)
		STAT_INC(st, IcmpOutEchoReps);
}

static struct icmp_echo_sock *icmp_echo_find(const struct icmp *ic, uint16_t id)
{
	struct icmp_echo_sock *s;

	for (s = ic->echo_socks; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static void icmp_input(void *ctx, const struct ipv4_pkt *p)
{
	struct icmp *ic = ctx;
	struct stack *st = ic->st;
	struct icmp_hdr h;
	struct icmp_echo_sock *s;
	int r;

	STAT_INC(st, IcmpInMsgs);
	r = icmp_hdr_parse(p->data, p->len, &h);
	if (r < 0) {
		if (r == -EBADMSG)
			STAT_INC(st, IcmpInCsumErrors);
		STAT_INC(st, IcmpInErrors);
		return;
	}
	switch (h.type) {
	case ICMP_ECHO_REQUEST:
		STAT_INC(st, IcmpInEchos);
		icmp_echo_request(ic, p, &h);
		break;
	case ICMP_ECHO_REPLY:
		STAT_INC(st, IcmpInEchoReps);
		s = icmp_echo_find(ic, h.id);
		if (!s) {
			STAT_INC(st, IcmpInUnmatchedEchoReps);
			break;
		}
		if (s->ops->recv)
			s->ops->recv(s, s->user, p->h.src, h.seq, p->h.ttl, p->data + ICMP_HDR_LEN,
				     p->len - ICMP_HDR_LEN);
		break;
	case ICMP_DEST_UNREACH:
		STAT_INC(st, IcmpInDestUnreachs);
		icmp_error_input(ic, p, &h);
		break;
	case ICMP_TIME_EXCEEDED:
		STAT_INC(st, IcmpInTimeExcds);
		icmp_error_input(ic, p, &h);
		break;
	case ICMP_PARAM_PROBLEM:
		STAT_INC(st, IcmpInParmProbs);
		icmp_error_input(ic, p, &h);
		break;
	default:
		/* Source quench (RFC 6633), redirects (we have one route), timestamps and
		 * the rest: not acted on. */
		STAT_INC(st, IcmpInIgnored);
		break;
	}
}

/* An error about an echo request we sent: hand it to the echo socket that sent it. */
static void icmp_echo_error(void *ctx, const struct icmp_err *e)
{
	struct icmp *ic = ctx;
	struct icmp_hdr qh;
	struct icmp_echo_sock *s;

	/* The quote is truncated: no checksum check, only the header fields. */
	if (e->l4_len < ICMP_HDR_LEN || e->l4[0] != ICMP_ECHO_REQUEST) {
		STAT_INC(ic->st, IcmpInUnmatchedErrors);
		return;
	}
	icmp_hdr_parse_quoted(e->l4, e->l4_len, &qh);
	s = icmp_echo_find(ic, qh.id);
	if (!s || !s->ops->error) {
		STAT_INC(ic->st, IcmpInUnmatchedErrors);
		return;
	}
	s->ops->error(s, s->user, e, qh.seq);
}

int icmp_init(struct icmp *ic, struct stack *st)
{
	memset(ic, 0, sizeof(*ic));
	ic->st = st;
	ic->tokens_milli = (uint64_t)st->cfg.icmp_burst * 1000;
	ic->refill_ns = st->now_ns;
	ic->next_echo_id = (uint16_t)rng_u32(&st->rng);
	return ipv4_register(&st->ip, IPV4_PROTO_ICMP, icmp_input, icmp_echo_error, ic);
}

void icmp_fini(struct icmp *ic)
{
	while (ic->echo_socks)
		icmp_echo_close(ic->echo_socks);
}

int icmp_echo_open(struct stack *st, uint16_t id, const struct icmp_echo_ops *ops, void *user,
		   struct icmp_echo_sock **out)
{
	struct icmp *ic = &st->icmp;
	struct icmp_echo_sock *s;

	if (id == 0) {
		/* Any identifier not in use; 0 itself is never handed out. */
		for (unsigned tries = 0; tries < 65536; tries++) {
			uint16_t cand = ic->next_echo_id++;
			if (cand != 0 && !icmp_echo_find(ic, cand)) {
				id = cand;
				break;
			}
		}
		if (id == 0)
			return -EAGAIN;
	} else if (icmp_echo_find(ic, id)) {
		return -EADDRINUSE;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ic = ic;
	s->id = id;
	s->ops = ops;
	s->user = user;
	s->next = ic->echo_socks;
	ic->echo_socks = s;
	*out = s;
	return 0;
}

uint16_t icmp_echo_id(const struct icmp_echo_sock *s)
{
	return s->id;
}

int icmp_echo_send(struct icmp_echo_sock *s, struct in_addr dst, uint16_t seq,
		   const uint8_t *data, size_t len, const struct ipv4_write_opts *o)
{
	struct icmp_hdr h = { .type = ICMP_ECHO_REQUEST, .id = s->id, .seq = seq };
	struct iovec iov = { (void *)data, len };
	int r = icmp_send(s->ic, o, dst, &h, &iov, len ? 1 : 0);

	if (r == 0)
		STAT_INC(s->ic->st, IcmpOutEchos);
	return r;
}

void icmp_echo_close(struct icmp_echo_sock *s)
{
	struct icmp_echo_sock **pp;

	for (pp = &s->ic->echo_socks; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	free(s);
}
