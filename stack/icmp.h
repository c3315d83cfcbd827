/* ICMPv4 (RFC 792, RFC 1122 §3.2.2): echo replies, error generation with a global token
 * bucket rate limit, received errors matched to the socket they concern, and ICMP echo
 * ("ping") sockets for clients. */
#ifndef USTACK_ICMP_H
#define USTACK_ICMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "ipv4.h"

struct stack;
struct icmp_echo_sock;

struct icmp {
	struct stack *st;
	/* Error rate limit: a token bucket, as Linux's icmp_msgs_per_sec/icmp_msgs_burst. */
	uint64_t tokens_milli; /* thousandths of a token, so refills are exact */
	uint64_t refill_ns;
	struct icmp_echo_sock *echo_socks;
	uint16_t next_echo_id;
};

int icmp_init(struct icmp *ic, struct stack *st);
void icmp_fini(struct icmp *ic);
/* Sends an error of type/code about the received datagram `orig`, quoting its header and
 * the first 8 data bytes (RFC 792). Not sent, per RFC 1122 §3.2.2, about an ICMP error,
 * a broadcast or multicast datagram, a non-initial fragment, or a source that is not a
 * unicast host; and not when the rate limit is exhausted (counted). `info` is the 4 bytes
 * after the checksum (MTU for 3/4), host order. Returns 0, -EPERM (policy), -EAGAIN (rate
 * limited) or the ipv4_write error. */
int icmp_send_error(struct icmp *ic, const struct ipv4_pkt *orig, uint8_t type, uint8_t code,
		    uint32_t info);

/* ICMP echo sockets: send echo requests with an identifier, receive the matching replies
 * and the errors that quote our requests (ping, traceroute -I). */
struct icmp_echo_ops {
	void (*recv)(struct icmp_echo_sock *s, void *user, struct in_addr src, uint16_t seq,
		     uint8_t ttl, const uint8_t *data, size_t len);
	void (*error)(struct icmp_echo_sock *s, void *user, const struct icmp_err *e,
		      uint16_t seq);
};

/* id 0: pick a free identifier. -EADDRINUSE when id is taken, -ENOMEM. */
int icmp_echo_open(struct stack *st, uint16_t id, const struct icmp_echo_ops *ops, void *user,
		   struct icmp_echo_sock **out);
uint16_t icmp_echo_id(const struct icmp_echo_sock *s);
int icmp_echo_send(struct icmp_echo_sock *s, struct in_addr dst, uint16_t seq,
		   const uint8_t *data, size_t len, const struct ipv4_write_opts *o);
void icmp_echo_close(struct icmp_echo_sock *s);

#endif
