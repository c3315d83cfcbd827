/* SYN cookies (RFC 4987 §3.6), in the format Linux uses (net/ipv4/syncookies.c).
 *
 * When the listen queue is full, a listener answers a SYN statelessly with a SYN-ACK whose
 * ISN is a cookie, and creates the connection only when the ACK comes back with
 * SEG.ACK - 1 equal to a cookie it can verify. The 32-bit cookie is
 *
 *	H1(4-tuple, peer_isn) + (count << 24) + ((H2(4-tuple, peer_isn, count) + mss_index)
 *	                                         mod 2^24)
 *
 * with H1, H2 SipHash-2-4 under a 128-bit secret (domain-separated), peer_isn the SYN's
 * SEG.SEQ, count = now / 64 s. The top 8 bits therefore carry the time slot and the low 24
 * bits a keyed MAC plus the MSS index, which the check recovers. Unlike Linux, which adds
 * peer_isn outside the hash (so an ACK whose SEG.SEQ is off by a few passes with another
 * MSS index), peer_isn is hashed: the ACK must carry exactly the SYN's ISN + 1. A cookie
 * from the current
 * or the previous 64 s slot is accepted (so a cookie lives between 64 and 128 s; "expired
 * after two slots"). A forged cookie passes with probability 4/2^24 per guess, and only for
 * the 4-tuple it was guessed for.
 *
 * MSS: the peer's MSS option is rounded down to one of TCP_SYNCOOKIE_MSS_TABLE (2 bits,
 * Linux's IPv4 table); a peer MSS below 536 still maps to 536, the size every host must
 * accept (RFC 9293 §3.7.1, RFC 1122 §3.3.2 EMTU_R >= 576).
 *
 * Options: the cookie itself carries only the MSS. Window scaling, SACK-permitted and ECN
 * cannot be remembered without timestamps, so a connection made from a cookie without
 * timestamps has none of them (Linux does the same). When the SYN carried a timestamp
 * option (RFC 7323), the low 6 bits of our SYN-ACK's TSval carry them, and the peer echoes
 * them back in the ACK's TSecr: tcp_syncookie_tsval() builds the TSval,
 * tcp_syncookie_tsecr_decode() reads it back. These 6 bits are not authenticated: they
 * only describe the peer's own SYN, so lying about them only hurts the peer.
 *   bits 0-3: the peer's window scale shift 0..14, 15 = no window scale option;
 *   bit 4: SACK permitted; bit 5: ECN (the SYN had ECE+CWR, RFC 3168 §6.1.1).
 *
 * Typical use (listener, queue full):
 *	SYN:  iss = tcp_syncookie_encode(key, laddr, lport, raddr, rport, seg.seq, seg.mss,
 *	                                 now_ns, &mss);
 *	      if (seg.has_ts) tsval = tcp_syncookie_tsval(ts_now, &opts);
 *	ACK:  if (tcp_syncookie_check(key, laddr, lport, raddr, rport, seg.seq - 1,
 *	                              seg.ack - 1, now_ns, &mss) == 0) { ...create... }
 *	      if (seg.has_ts) tcp_syncookie_tsecr_decode(seg.tsecr, &opts);
 */
#ifndef USTACK_TCP_SYNCOOKIE_H
#define USTACK_TCP_SYNCOOKIE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define TCP_SYNCOOKIE_KEY_LEN 16
#define TCP_SYNCOOKIE_SLOT_NS (64ull * 1000000000ull) /* the time counter's period: 64 s */
#define TCP_SYNCOOKIE_MAX_AGE_SLOTS 2		     /* current and previous slot accepted */
#define TCP_SYNCOOKIE_MSS_COUNT 4
/* Linux's IPv4 msstab, ascending: common values (536 minimum, 1300 tunnels/VPNs,
 * 1440 PPPoE-ish, 1460 Ethernet). */
extern const uint16_t TCP_SYNCOOKIE_MSS_TABLE[TCP_SYNCOOKIE_MSS_COUNT];

/* The cookie (our ISS) for a SYN from raddr:rport to laddr:lport with sequence number
 * peer_isn and MSS option peer_mss (0 when absent: 536, RFC 9293 §3.7.1). *mss_out (may be
 * NULL) gets the table MSS encoded, which the SYN-ACK should use as well. Addresses in
 * network byte order, ports in host byte order. */
uint32_t tcp_syncookie_encode(const uint8_t key[TCP_SYNCOOKIE_KEY_LEN], struct in_addr laddr,
			      uint16_t lport, struct in_addr raddr, uint16_t rport,
			      uint32_t peer_isn, uint16_t peer_mss, uint64_t now_ns,
			      uint16_t *mss_out);

/* Verifies cookie (the ACK's SEG.ACK - 1) for the ACK's 4-tuple, peer_isn being the ACK's
 * SEG.SEQ - 1. 0 and *mss_out (may be NULL) set to the MSS encoded; -EINVAL when the
 * cookie is not ours, is for another tuple or ISN, or is older than two slots. */
int tcp_syncookie_check(const uint8_t key[TCP_SYNCOOKIE_KEY_LEN], struct in_addr laddr,
			uint16_t lport, struct in_addr raddr, uint16_t rport, uint32_t peer_isn,
			uint32_t cookie, uint64_t now_ns, uint16_t *mss_out);

/* The SYN's options that a timestamp-carrying cookie remembers. */
struct tcp_syncookie_opts {
	bool wscale_ok;	  /* the SYN had a window scale option */
	uint8_t wscale;	  /* its shift count; encoded clamped to 14 (RFC 7323 §2.3) */
	bool sack_ok;	  /* the SYN had SACK-permitted (RFC 2018) */
	bool ecn_ok;	  /* the SYN was ECN-setup (RFC 3168) */
};

#define TCP_SYNCOOKIE_TS_BITS 6
#define TCP_SYNCOOKIE_TS_MASK ((1u << TCP_SYNCOOKIE_TS_BITS) - 1)

/* TSval for the SYN-ACK: ts_now with its low 6 bits replaced by the options, moved back by
 * 64 ticks if that would put it ahead of ts_now (TSval must not run ahead of our clock,
 * RFC 7323 §5.4). */
uint32_t tcp_syncookie_tsval(uint32_t ts_now, const struct tcp_syncookie_opts *o);
/* Reads the options back from the ACK's TSecr (every 6-bit value is meaningful). */
void tcp_syncookie_tsecr_decode(uint32_t tsecr, struct tcp_syncookie_opts *o);

#endif
