/* IPv4 layer: input validation and demultiplexing, output with routing (on-link or default
 * gateway), fragmentation and reassembly. */
#ifndef USTACK_IPV4_H
#define USTACK_IPV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "addr.h"
#include "ipv4_id.h"
#include "ipv4_loopback.h"
#include "ipv4_reass.h"
#include "wire/ipv4.h"

struct stack;

#define IPV4_DEFAULT_TTL 64 /* RFC 1700, as Linux */

struct ipv4_write_opts {
	bool fragment;	    /* false: DF set, and a datagram over the MTU is -EMSGSIZE */
	uint8_t ttl;	    /* 0: the stack's default */
	uint8_t tos;
	struct in_addr src; /* INADDR_ANY: our address */
	/* TCP only, 0: none. The datagram is a TCP super-segment whose data goes on the
	 * wire in segments of gso_size bytes (the MSS less TCP options); see ipv4_write. */
	uint16_t gso_size;
};

/* What NULL opts mean. */
#define IPV4_WRITE_OPTS_DEFAULT ((struct ipv4_write_opts){ .fragment = true })

typedef size_t (*ipv4_fill_fn)(uint8_t *buf, size_t len, void *ctx);

/* A received datagram as the upper layers see it. */
struct ipv4_pkt {
	struct ipv4_hdr h;
	const uint8_t *hdr; /* the header as received (h.hdr_len bytes), for ICMP quotes */
	const uint8_t *data;
	size_t len;
	bool l2_bcast; /* Ethernet broadcast/multicast destination */
	bool ip_bcast; /* limited or subnet broadcast destination */
	bool reassembled;
	bool l4_csum_ok; /* the device verified the TCP/UDP checksum (STACK_RX_L4_CSUM_OK) */
};

/* A received ICMP error, matched to the protocol of the datagram it quotes. */
struct icmp_err {
	uint8_t type, code;
	uint16_t mtu;	      /* 3/4: next-hop MTU (RFC 1191), else 0 */
	int err;	      /* errno for the socket: ECONNREFUSED, EHOSTUNREACH, EMSGSIZE, ... */
	bool local;	      /* generated locally (ARP failure), not received */
	struct in_addr from;  /* who sent the error */
	struct ipv4_hdr ih;   /* the quoted header: ih.src is us, ih.dst the peer */
	const uint8_t *l4;    /* the quoted transport bytes */
	size_t l4_len;	      /* at least 8 */
};

typedef void (*ipv4_input_fn)(void *ctx, const struct ipv4_pkt *p);
typedef void (*ipv4_error_fn)(void *ctx, const struct icmp_err *e);

struct ipv4_proto {
	ipv4_input_fn input;
	ipv4_error_fn error;
	void *ctx;
};

struct ipv4 {
	struct stack *st;
	struct in_addr addr;
	uint32_t mask; /* host order */
	struct in_addr gateway;
	struct ipv4_id ids; /* Identification values per destination */
	struct ipv4_reass reass;
	struct ipv4_loopback lo; /* datagrams to our own address (ipv4_loopback.h) */
	struct ipv4_proto proto[256];
	uint8_t *scratch; /* IPV4_MAX_LEN bytes: a datagram being fragmented */
};

int ipv4_init(struct ipv4 *ip, struct stack *st);
void ipv4_fini(struct ipv4 *ip);
int ipv4_register(struct ipv4 *ip, uint8_t proto, ipv4_input_fn input, ipv4_error_fn error,
		  void *ctx);
void ipv4_input(struct ipv4 *ip, const uint8_t *pkt, size_t len, bool l2_bcast);

/* Sends one datagram (design.md §2). The layer writes the IPv4 header; `fill` writes at most
 * `size` bytes of upper header (and data) in place and returns how many it wrote; `payload`
 * is copied after it. Over the MTU it is sent as fragments (offsets in 8-byte units, any
 * MTU) unless o->fragment is false: then DF is set and the result is -EMSGSIZE.
 * Returns 0 or: -EMSGSIZE, -ENETUNREACH (off-link, no gateway), -EHOSTUNREACH (ARP
 * failed), -ENOBUFS (device ring or ARP queue full), -EINVAL.
 *
 * With o->gso_size (TSO, netif.h) the datagram is one TCP header and up to 64 KiB of data
 * (at most IPV4_MAX_LEN in all), sent with DF and never fragmented: whole when its data
 * fits one segment (gso_size) and the MTU, to the device in one write when it has TSO (netif_gso_max) and the next hop's MAC
 * is known, else cut here into the same wire segments (stack/wire/gso.h; a segment must
 * fit the MTU: -EMSGSIZE). The TCP checksum is then this layer's job, whatever the fill
 * left in the field: complete, or the pseudo-header part when the device completes it.
 * The segments take consecutive IP IDs. IpOutRequests counts wire segments, as the peer's
 * IpInReceives will (Linux counts the super-segment once); IpOutGsoRequests or
 * IpOutGsoSoftware counts the super-segment. Other protocols: -EINVAL.
 *
 * To our own address (not a broadcast) nothing goes to ARP or the device: the finished
 * datagram, checksums complete, is copied to the loopback queue (ipv4_loopback.h), whose
 * MTU is IPV4_LOOPBACK_MTU (no fragments), and delivered by the next stack_poll(). A
 * super-segment goes whole (IpOutRequests 1, as the receiving IpInReceives): TCP input
 * takes a segment of any length within its window, as Linux's lo passes GSO packets on
 * uncut. A full queue is -ENOBUFS. */
int ipv4_write(struct ipv4 *ip, const struct ipv4_write_opts *o, struct in_addr dst,
	       uint8_t proto, size_t size, ipv4_fill_fn fill, void *ctx,
	       const struct iovec *payload, int npayload);

/* ARP gave up on a queued IPv4 packet: report it to its protocol as a local host
 * unreachable, as Linux does (ip_link_failure). */
void ipv4_link_failure(struct ipv4 *ip, const uint8_t *pkt, size_t len);

/* Is this destination one of ours (unicast or broadcast)? */
bool ipv4_is_local(const struct ipv4 *ip, struct in_addr a);
bool ipv4_is_broadcast(const struct ipv4 *ip, struct in_addr a);

void ipv4_poll(struct ipv4 *ip, uint64_t now_ns);
uint64_t ipv4_next_deadline(const struct ipv4 *ip);

#endif
