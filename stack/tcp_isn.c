/* RFC 6528 initial sequence numbers; see tcp_isn.h. */
#include "tcp_isn.h"

#include <string.h>

#include "siphash.h"

uint32_t tcp_isn(const uint8_t key[TCP_ISN_KEY_LEN], struct in_addr laddr, uint16_t lport,
		 struct in_addr raddr, uint16_t rport, uint64_t now_ns)
{
	/* F(localip, localport, remoteip, remoteport, secretkey), RFC 6528 §3: the 4-tuple in
	 * a fixed 12-byte layout (addresses as on the wire, ports big-endian). */
	uint8_t m[12];
	memcpy(m, &laddr.s_addr, 4);
	memcpy(m + 4, &raddr.s_addr, 4);
	m[8] = (uint8_t)(lport >> 8);
	m[9] = (uint8_t)lport;
	m[10] = (uint8_t)(rport >> 8);
	m[11] = (uint8_t)rport;
	uint32_t f = (uint32_t)siphash24(key, m, sizeof(m));
	/* M: the 4-microsecond timer (RFC 9293 §3.4.1), mod 2^32. */
	uint32_t mtimer = (uint32_t)(now_ns / TCP_ISN_TICK_NS);
	return mtimer + f;
}
