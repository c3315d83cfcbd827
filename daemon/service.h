/* The built-in services of --service (design.md §3): echo (RFC 862), discard (RFC 863) and
 * chargen (RFC 864), each on UDP and TCP at the same port. This file is the set; the UDP
 * side is service_udp.c, the TCP side comes with the TCP layer (service_tcp.c). */
#ifndef USTACKD_SERVICE_H
#define USTACKD_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "stack/rand.h"
#include "stack/stack.h"

struct service_conn; /* service_tcp.c */
struct tcp_sock;     /* stack/tcp.h */

struct service_inst {
	struct service_spec spec;
	struct service_set *set;
	struct udp_sock *udp;
	/* TCP: the listener, when the TCP layer exists */
	uint64_t udp_in, udp_out, udp_refused;
	/* TCP side (service_tcp.c): the listener and the open connections */
	struct tcp_sock *tcp;
	struct service_conn *conns;
	unsigned nconns;
	uint64_t tcp_accepted, tcp_refused, tcp_closed, tcp_dropped, tcp_in, tcp_out;
};

struct service_set {
	struct stack *st;
	struct rng rng; /* chargen lengths */
	unsigned n;
	struct service_inst inst[CONFIG_MAX_SERVICES];
	/* TCP keepalive of every accepted connection (--tcp-keepalive, design.md §3) */
	uint32_t ka_idle_s, ka_interval_s, ka_count;
};

/* Opens the UDP side of every service. 0, or a negative errno (logged): -EADDRINUSE. */
int service_udp_start(struct service_set *set, struct stack *st, const struct service_spec *specs,
		      unsigned n, const uint8_t seed[32]);
void service_udp_stop(struct service_set *set);

/* Opens the TCP listener of every service that service_udp_start() set up (call it after),
 * with keepalive on for the accepted connections. 0, or a negative errno (logged). */
int service_tcp_start(struct service_set *set, uint32_t keepalive_idle_s,
		      uint32_t keepalive_interval_s, uint32_t keepalive_count);
/* Closes the listeners and resets the open connections; call before service_udp_stop(). */
void service_tcp_stop(struct service_set *set);

/* The RFC 864 character pattern: 72-character lines of the 95 printable ASCII characters,
 * each line starting one character later. Writes len bytes from position pos of the endless
 * stream (TCP continues where it left off; UDP starts each datagram at 0). */
void service_chargen_fill(uint8_t *buf, size_t len, uint64_t pos);

#endif
