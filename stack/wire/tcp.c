/* TCP header and options: parse and emit. */
#include "tcp.h"

#include <errno.h>
#include <string.h>

#include "csum.h"
#include "ipv4.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* RFC 9293 §3.1: options may be in any order; a malformed length must not crash us
 * (RFC 9293 MUST-7). We refuse the segment rather than guess. */
static int parse_opts(const uint8_t *p, size_t len, struct tcp_opts *o)
{
	size_t i = 0;

	while (i < len) {
		uint8_t kind = p[i];
		if (kind == TCP_OPT_EOL)
			break;
		if (kind == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -EINVAL; /* no room for the length byte */
		uint8_t olen = p[i + 1];
		if (olen < 2 || olen > len - i)
			return -EINVAL;
		const uint8_t *v = p + i + 2;
		switch (kind) {
		case TCP_OPT_MSS:
			if (olen == 4) {
				o->has_mss = true;
				o->mss = get16(v);
			}
			break;
		case TCP_OPT_WS:
			if (olen == 3) {
				o->has_ws = true;
				o->ws = v[0];
			}
			break;
		case TCP_OPT_SACK_PERM:
			if (olen == 2)
				o->sack_perm = true;
			break;
		case TCP_OPT_TS:
			if (olen == 10) {
				o->has_ts = true;
				o->tsval = get32(v);
				o->tsecr = get32(v + 4);
			}
			break;
		case TCP_OPT_SACK:
			if (olen >= 10 && (olen - 2) % 8 == 0) {
				unsigned n = (olen - 2u) / 8u;
				if (n > TCP_MAX_SACK)
					n = TCP_MAX_SACK;
				for (unsigned k = 0; k < n; k++) {
					o->sack[k].left = get32(v + 8 * k);
					o->sack[k].right = get32(v + 8 * k + 4);
				}
				o->nsack = (uint8_t)n;
			}
			break;
		default:
			break; /* unknown: skipped by its length */
		}
		i += olen;
	}
	return 0;
}

int tcp_hdr_parse(const uint8_t *buf, size_t len, struct in_addr src, struct in_addr dst,
		  bool verify_csum, struct tcp_hdr *h)
{
	if (len < TCP_HDR_LEN)
		return -EMSGSIZE;
	size_t hl = (size_t)(buf[12] >> 4) * 4;
	if (hl < TCP_HDR_LEN || hl > len)
		return -EMSGSIZE;
	if (verify_csum && len <= 0xffff) {
		struct csum c = CSUM_INIT;
		csum_feed_pseudo(&c, src, dst, IPV4_PROTO_TCP, (uint16_t)len);
		csum_feed(&c, buf, len);
		if (csum_finish(&c) != 0)
			return -EBADMSG;
	} else if (verify_csum) {
		return -EMSGSIZE;
	}
	memset(h, 0, sizeof(*h));
	h->sport = get16(buf);
	h->dport = get16(buf + 2);
	h->seq = get32(buf + 4);
	h->ack = get32(buf + 8);
	h->hdr_len = (uint8_t)hl;
	h->flags = buf[13];
	h->wnd = get16(buf + 14);
	memcpy(&h->csum, buf + 16, 2);
	h->urg = get16(buf + 18);
	return parse_opts(buf + TCP_HDR_LEN, hl - TCP_HDR_LEN, &h->opts);
}

/* How many SACK blocks fit next to the other options. */
static unsigned sack_fit(const struct tcp_opts *o, size_t other)
{
	unsigned n = o->nsack;
	if (n > TCP_MAX_SACK)
		n = TCP_MAX_SACK;
	while (n > 0 && other + 4 + 8u * n > TCP_OPT_MAX)
		n--;
	return n;
}

static size_t opts_len_nosack(const struct tcp_opts *o)
{
	size_t n = 0;
	if (o->has_mss)
		n += 4;
	if (o->has_ts)
		n += 12; /* NOP NOP TS, or SACK_PERM TS */
	else if (o->sack_perm)
		n += 4; /* NOP NOP SACK_PERM */
	if (o->has_ws)
		n += 4; /* NOP WS */
	return n;
}

size_t tcp_opts_len(const struct tcp_opts *o)
{
	size_t n = opts_len_nosack(o);
	unsigned ns = sack_fit(o, n);
	if (ns > 0)
		n += 4 + 8u * ns; /* NOP NOP SACK */
	return n;
}

/* The layout Linux uses (tcp_options_write), so captures look familiar. */
static size_t emit_opts(const struct tcp_opts *o, uint8_t *p)
{
	size_t i = 0;

	if (o->has_mss) {
		p[i++] = TCP_OPT_MSS;
		p[i++] = 4;
		put16(p + i, o->mss);
		i += 2;
	}
	if (o->has_ts) {
		if (o->sack_perm) {
			p[i++] = TCP_OPT_SACK_PERM;
			p[i++] = 2;
		} else {
			p[i++] = TCP_OPT_NOP;
			p[i++] = TCP_OPT_NOP;
		}
		p[i++] = TCP_OPT_TS;
		p[i++] = 10;
		put32(p + i, o->tsval);
		put32(p + i + 4, o->tsecr);
		i += 8;
	} else if (o->sack_perm) {
		p[i++] = TCP_OPT_NOP;
		p[i++] = TCP_OPT_NOP;
		p[i++] = TCP_OPT_SACK_PERM;
		p[i++] = 2;
	}
	if (o->has_ws) {
		p[i++] = TCP_OPT_NOP;
		p[i++] = TCP_OPT_WS;
		p[i++] = 3;
		p[i++] = o->ws;
	}
	unsigned ns = sack_fit(o, i);
	if (ns > 0) {
		p[i++] = TCP_OPT_NOP;
		p[i++] = TCP_OPT_NOP;
		p[i++] = TCP_OPT_SACK;
		p[i++] = (uint8_t)(2 + 8 * ns);
		for (unsigned k = 0; k < ns; k++) {
			put32(p + i, o->sack[k].left);
			put32(p + i + 4, o->sack[k].right);
			i += 8;
		}
	}
	return i;
}

size_t tcp_hdr_emit(const struct tcp_hdr *h, uint8_t *buf)
{
	size_t ol = emit_opts(&h->opts, buf + TCP_HDR_LEN);
	size_t hl = TCP_HDR_LEN + ol;

	put16(buf, h->sport);
	put16(buf + 2, h->dport);
	put32(buf + 4, h->seq);
	put32(buf + 8, h->ack);
	buf[12] = (uint8_t)((hl / 4) << 4);
	buf[13] = h->flags;
	put16(buf + 14, h->wnd);
	buf[16] = buf[17] = 0;
	put16(buf + 18, h->urg);
	return hl;
}

uint16_t tcp_csum(struct in_addr src, struct in_addr dst, const uint8_t *hdr, size_t hdr_len,
		  const struct iovec *payload, int npayload)
{
	size_t total = hdr_len;
	for (int i = 0; i < npayload; i++)
		total += payload[i].iov_len;
	struct csum c = CSUM_INIT;
	csum_feed_pseudo(&c, src, dst, IPV4_PROTO_TCP, (uint16_t)total);
	csum_feed(&c, hdr, hdr_len);
	if (npayload > 0)
		csum_feed_iov(&c, payload, npayload);
	return csum_finish(&c);
}

void tcp_hdr_set_csum(uint8_t *hdr, uint16_t csum)
{
	memcpy(hdr + 16, &csum, 2);
}
