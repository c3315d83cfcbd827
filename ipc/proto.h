/* What the daemon and its clients agree on beyond the JSON of the ipc/ .varlink files:
 * the record header of UDP sockets handed out as SOCK_SEQPACKET fds, and the framing
 * limits. */
#ifndef USTACK_IPC_PROTO_H
#define USTACK_IPC_PROTO_H

#include <stdint.h>

/* Default control socket; clients also read $USTACK_SOCKET. */
#define USTACK_SOCKET_DEFAULT "/run/ustackd/ctl.sock"

/* Every record on a UDP socket's fd starts with this header; the datagram follows.
 * Received: the source. Sent: the destination (ignored on a connected socket). */
struct ustack_udp_hdr {
	uint8_t addr[4];  /* IPv4 address, network byte order */
	uint16_t port_be; /* port, network byte order */
	uint16_t flags;	  /* 0; non-zero: the record is refused (EINVAL) */
};
_Static_assert(sizeof(struct ustack_udp_hdr) == 8, "ustack_udp_hdr is 8 bytes on the wire");

/* Largest UDP payload over IPv4 (65535 - 20 - 8). */
#define USTACK_UDP_MAX_PAYLOAD 65507

#endif
