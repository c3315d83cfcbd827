/* Test sockets that record what the stack hands them: UDP datagrams and ICMP echo replies,
 * and the ICMP errors matched to either. */
#ifndef USTACK_TESTS_SOCK_REC_H
#define USTACK_TESTS_SOCK_REC_H

#include <stddef.h>
#include <stdint.h>

#include "stack/icmp.h"
#include "stack/udp.h"

struct rec {
	unsigned n, errs;
	int err;
	uint8_t type, code;
	uint16_t sport, seq;
	struct in_addr src; /* of the last datagram or echo reply */
	size_t len;
	uint8_t data[65536]; /* the last one's data, cut to fit */
	int verdict; /* what recv returns */
};

/* user: a struct rec */
extern const struct udp_sock_ops rec_udp_ops;
extern const struct icmp_echo_ops rec_echo_ops;

#endif
