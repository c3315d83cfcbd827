/* TCP segmentation offload: how much data one super-segment may carry (netif.h TSO). */
#include "tcp_var.h"
#include "wire/ipv4.h"

/* Linux tcp_tso_autosize(): about 1 ms of data at the pacing rate, which Linux sets to
 * cwnd / SRTT times 200 % in slow start and 120 % after (tcp_pacing_ss_ratio,
 * tcp_pacing_ca_ratio); and tcp_cwnd_test(): at most half the cwnd in one, so that at
 * least two are in flight and ACKs keep coming; never fewer than 2 segments
 * (tcp_min_tso_segs). Without this a super-segment would always be 64 KiB: a burst at
 * line rate into the path's queue however slow the path is (RFC 5681 §3 leaves the
 * burst size to the sender, RFC 8085 §3.1.10 asks to avoid large bursts). */
uint32_t tcp_tso_max_bytes(const struct tcp_sock *s, uint32_t mss)
{
	unsigned gso = netif_gso_max(s->st->nif);
	const struct tcp_cc *cc = &s->cc;
	uint64_t segs, max_segs;

	if (gso > IPV4_MAX_LEN)
		gso = IPV4_MAX_LEN;
	/* Room for the headers at their largest, so the datagram always fits the device. */
	if (mss == 0 || gso <= IPV4_HDR_LEN + TCP_HDR_MAX)
		return mss;
	max_segs = (gso - IPV4_HDR_LEN - TCP_HDR_MAX) / mss;
	if (max_segs < 2)
		return mss;
	segs = max_segs;
	if (s->srtt_us) {
		uint64_t pct = cc->cwnd_bytes < cc->ssthresh_bytes ? 200 : 120;
		uint64_t bytes_per_ms = (uint64_t)cc->cwnd_bytes * pct * 10 / s->srtt_us;

		segs = bytes_per_ms / mss;
	}
	if (segs > cc->cwnd_bytes / 2 / mss)
		segs = cc->cwnd_bytes / 2 / mss;
	if (segs < 2)
		segs = 2;
	if (segs > max_segs)
		segs = max_segs;
	return (uint32_t)segs * mss;
}
