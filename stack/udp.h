/* UDP (RFC 768, RFC 1122 §4.1): a bind table of sockets with receive and error callbacks,
 * for the daemon's built-in services and, later, client sockets. */
#ifndef USTACK_UDP_H
#define USTACK_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "addr.h"
#include "ipv4.h"

struct stack;
struct udp_sock;

/* Ephemeral ports as Linux's default ip_local_port_range. */
#define UDP_EPHEMERAL_MIN 32768
#define UDP_EPHEMERAL_MAX 60999

struct udp_dgram {
	struct in_addr src, dst;
	uint16_t sport, dport;
	uint8_t ttl;
	const uint8_t *data;
	size_t len;
};

struct udp_sock_ops {
	/* Returns 0, or -ENOBUFS when the receiver had no room (counted as
	 * UdpRcvbufErrors: UDP drops rather than block the stack). */
	int (*recv)(struct udp_sock *s, void *user, const struct udp_dgram *d);
	/* An ICMP error about a datagram this socket sent (e->err: ECONNREFUSED, ...). */
	void (*error)(struct udp_sock *s, void *user, const struct icmp_err *e);
};

struct udp {
	struct stack *st;
	struct udp_sock **ports; /* 65536 slots, NULL when free */
	unsigned nsocks;
	uint16_t next_ephemeral;
};

int udp_init(struct udp *u, struct stack *st);
void udp_fini(struct udp *u);

/* port 0: an ephemeral port. -EADDRINUSE, -EAGAIN (no ephemeral port left), -ENOMEM. */
int udp_open(struct stack *st, uint16_t port, const struct udp_sock_ops *ops, void *user,
	     struct udp_sock **out);
uint16_t udp_sock_port(const struct udp_sock *s);
/* Sends one datagram; o may be NULL (ttl, DF, source). Returns 0 or the ipv4_write error
 * (-EMSGSIZE over 65507 bytes of data). */
int udp_sendto(struct udp_sock *s, struct in_addr dst, uint16_t dport, const struct iovec *iov,
	       int niov, const struct ipv4_write_opts *o);
void udp_close(struct udp_sock *s);

#endif
