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

struct service_inst {
	struct service_spec spec;
	struct service_set *set;
	struct udp_sock *udp;
	/* TCP: the listener, when the TCP layer exists */
	uint64_t udp_in, udp_out, udp_refused;
};

struct service_set {
	struct stack *st;
	struct rng rng; /* chargen lengths */
	unsigned n;
	struct service_inst inst[CONFIG_MAX_SERVICES];
};

/* Opens the UDP side of every service. 0, or a negative errno (logged): -EADDRINUSE. */
int service_udp_start(struct service_set *set, struct stack *st, const struct service_spec *specs,
		      unsigned n, const uint8_t seed[32]);
void service_udp_stop(struct service_set *set);

/* The RFC 864 character pattern: 72-character lines of the 95 printable ASCII characters,
 * each line starting one character later. Writes len bytes from position pos of the endless
 * stream (TCP continues where it left off; UDP starts each datagram at 0). */
void service_chargen_fill(uint8_t *buf, size_t len, uint64_t pos);

#endif
