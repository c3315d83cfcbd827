/* TCP header and options (RFC 9293 §3.1; options: MSS RFC 9293 §3.7.1, window scale and
 * timestamps RFC 7323, SACK RFC 2018). Host order everywhere except the bytes in buf. */
#ifndef USTACK_WIRE_TCP_H
#define USTACK_WIRE_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../addr.h"

#define TCP_HDR_LEN 20	   /* without options */
#define TCP_HDR_MAX 60	   /* data offset 15 */
#define TCP_OPT_MAX 40	   /* bytes of options */
#define TCP_MAX_SACK 4	   /* blocks that fit without timestamps (2 + 4 * 8 = 34) */

/* Flags, as in the header's low byte. */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

/* Option kinds (IANA). */
#define TCP_OPT_EOL 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2	   /* length 4 */
#define TCP_OPT_WS 3	   /* length 3 */
#define TCP_OPT_SACK_PERM 4 /* length 2 */
#define TCP_OPT_SACK 5	   /* length 2 + 8n */
#define TCP_OPT_TS 8	   /* length 10 */

#define TCP_WS_MAX 14 /* RFC 7323 §2.3: larger shifts are used as 14 */

/* One SACK block (RFC 2018 §3), host byte order: the sequence numbers of the first byte
 * and of the byte just after the block. */
struct tcp_sack_block {
	uint32_t left;
	uint32_t right;
};

/* Options present in a segment. A has_ flag is set only when the option had the exact
 * length its kind requires; one of another length is skipped as unknown. */
struct tcp_opts {
	bool has_mss, has_ws, sack_perm, has_ts;
	uint16_t mss;
	uint8_t ws; /* as received, not clamped */
	uint32_t tsval, tsecr;
	uint8_t nsack;
	struct tcp_sack_block sack[TCP_MAX_SACK];
};

struct tcp_hdr {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t hdr_len; /* bytes, data offset * 4 */
	uint8_t flags;	 /* TCP_SYN | ... */
	uint16_t wnd;	 /* as in the header, unscaled */
	uint16_t csum;	 /* as on the wire (network order) */
	uint16_t urg;
	struct tcp_opts opts;
};

/* Parses a segment of len bytes (the IP payload). Returns 0 or:
 *   -EMSGSIZE  len < 20, data offset < 5 or data offset * 4 > len
 *   -EINVAL    an option whose length is < 2 or runs past the header
 *   -EBADMSG   the checksum (with the pseudo-header of src, dst) is wrong; checked first
 *              after the lengths, and only when verify_csum.
 * Unknown options are skipped by their length; parsing stops at EOL. */
int tcp_hdr_parse(const uint8_t *buf, size_t len, struct in_addr src, struct in_addr dst,
		  bool verify_csum, struct tcp_hdr *h);

/* The bytes of options tcp_hdr_emit() writes for o (a multiple of 4, at most 40; SACK
 * blocks beyond what fits are left out). */
size_t tcp_opts_len(const struct tcp_opts *o);
/* Writes the header and options (h->hdr_len is ignored and computed) with a zero checksum
 * to buf, which has room for TCP_HDR_MAX bytes; returns the header length. */
size_t tcp_hdr_emit(const struct tcp_hdr *h, uint8_t *buf);
/* The checksum of a segment: header (hdr_len bytes, checksum field zero) and payload;
 * network order, ready to store at offset 16. */
uint16_t tcp_csum(struct in_addr src, struct in_addr dst, const uint8_t *hdr, size_t hdr_len,
		  const struct iovec *payload, int npayload);
/* Stores a checksum computed by tcp_csum() in an emitted header. */
void tcp_hdr_set_csum(uint8_t *hdr, uint16_t csum);

#endif
