/* TCP initial sequence numbers, RFC 6528 §3:
 *
 *	ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 *
 * M is a timer that ticks every 4 microseconds (RFC 9293 §3.4.1), here now_ns / 4000
 * truncated to 32 bits; F is SipHash-2-4 (siphash.h) of the 4-tuple under a 128-bit secret
 * key, truncated to 32 bits. The key is drawn once from the stack's stack_random_fn
 * (rand.h) at start and never leaves the stack; RFC 6528 §3 suggests it may be changed
 * from time to time (changing it breaks the monotonicity across incarnations of the same
 * 4-tuple that TIME-WAIT reuse relies on, so do it rarely, e.g. only at restart).
 *
 * For one 4-tuple, ISNs increase with the clock (mod 2^32, wrapping every ~4.77 hours) so
 * a new incarnation's ISN lies above the old one's sequence space; different 4-tuples get
 * unrelated offsets, so an off-path attacker cannot guess ours from its own connections. */
#ifndef USTACK_TCP_ISN_H
#define USTACK_TCP_ISN_H

#include <netinet/in.h>
#include <stdint.h>

#define TCP_ISN_KEY_LEN 16
#define TCP_ISN_TICK_NS 4000u /* M's period: 4 us */

/* Addresses in network byte order (struct in_addr), ports in host byte order. */
uint32_t tcp_isn(const uint8_t key[TCP_ISN_KEY_LEN], struct in_addr laddr, uint16_t lport,
		 struct in_addr raddr, uint16_t rport, uint64_t now_ns);

#endif
