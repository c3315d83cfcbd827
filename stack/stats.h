/* Counters. One per drop reason; SNMP MIB names (RFC 4293 IP-MIB, RFC 4022 TCP-MIB,
 * RFC 4113 UDP-MIB) where one exists, otherwise Linux's names (IpExt, TcpExt), otherwise
 * our own in the same style. The group is the /proc/net/snmp line prefix; the full name is
 * group + field, e.g. "Ip" + "ReasmFails" = IpReasmFails.
 *
 * Adding a counter: add one STAT() line in the right group; everything else (enum, names,
 * snmp file) follows. */
#ifndef USTACK_STATS_H
#define USTACK_STATS_H

#include <stddef.h>
#include <stdint.h>

#define STATS_LIST(STAT)                                                                       \
	STAT(Eth, InFrames, "frames received")                                                 \
	STAT(Eth, InRunts, "frames shorter than an Ethernet header")                           \
	STAT(Eth, InOtherHost, "unicast frames for another MAC")                               \
	STAT(Eth, InMulticastDrops, "multicast frames (not broadcast), not joined")            \
	STAT(Eth, InVlanDrops, "802.1Q/802.1ad tagged frames")                                 \
	STAT(Eth, InUnknownType, "EtherType neither IPv4 nor ARP, or an 802.3 length")         \
	STAT(Eth, OutFrames, "frames handed to the device")                                    \
	STAT(Eth, OutErrors, "frames the device refused (ring full, too big)")                 \
	STAT(Arp, InRequests, "requests received")                                             \
	STAT(Arp, InReplies, "replies received")                                               \
	STAT(Arp, InErrors, "malformed or unsupported; sender MAC zero or multicast")         \
	STAT(Arp, InIgnored, "packets neither for us nor about a known sender")                \
	STAT(Arp, OutRequests, "requests sent (incl. gratuitous and retries)")                 \
	STAT(Arp, OutReplies, "replies sent")                                                  \
	STAT(Arp, ResolveFails, "resolutions that got no reply after all retries")             \
	STAT(Arp, QueueDrops, "packets dropped from or refused by the resolution queue")       \
	STAT(Arp, CacheEvictions, "entries evicted because the cache was full")                \
	STAT(Ip, InReceives, "datagrams received, including those in error")                   \
	STAT(Ip, InHdrErrors, "bad version, header length, TTL or checksum")                   \
	STAT(Ip, InAddrErrors, "destination not ours nor broadcast")                           \
	STAT(Ip, InUnknownProtos, "no handler for the protocol")                               \
	STAT(Ip, InDiscards, "discarded for lack of resources")                                \
	STAT(Ip, InDelivers, "datagrams delivered to ICMP, UDP, TCP")                          \
	STAT(Ip, InTruncatedPkts, "frame shorter than the IPv4 total length")                  \
	STAT(Ip, InCsumErrors, "IPv4 header checksum wrong")                                   \
	STAT(Ip, InOptions, "datagrams with IP options (skipped)")                             \
	STAT(Ip, OutRequests, "datagrams handed to IPv4 for sending")                          \
	STAT(Ip, OutDiscards, "discarded on output for lack of resources")                     \
	STAT(Ip, OutNoRoutes, "no route: off-link without a gateway")                          \
	STAT(Ip, ReasmTimeout, "datagrams whose reassembly timed out")                         \
	STAT(Ip, ReasmReqds, "fragments received that needed reassembly")                      \
	STAT(Ip, ReasmOKs, "datagrams reassembled")                                            \
	STAT(Ip, ReasmFails, "reassembly failures (timeout, overlap, limits)")                 \
	STAT(Ip, ReasmOverlaps, "datagrams dropped because fragments overlapped")              \
	STAT(Ip, ReasmDuplicates, "exact duplicate fragments ignored")                         \
	STAT(Ip, ReasmTooManyFrags, "datagrams over the per-datagram fragment limit")          \
	STAT(Ip, ReasmFailedFrags, "fragments of a datagram that already failed")            \
	STAT(Ip, ReasmEvictions, "datagrams evicted by the memory or datagram bound")          \
	STAT(Ip, FragOKs, "datagrams fragmented")                                              \
	STAT(Ip, FragFails, "datagrams not fragmented because DF was set")                     \
	STAT(Ip, FragCreates, "fragments created")                                             \
	STAT(Ip, OutGsoRequests, "TCP super-segments the device cuts (TSO), one write each")   \
	STAT(Ip, OutGsoSoftware, "TCP super-segments cut by the stack (no TSO, ARP pending)")  \
	STAT(Ip, LoopbackOut, "datagrams to our own address, queued for local delivery")      \
	STAT(Ip, LoopbackDrops, "datagrams to our own address dropped: loopback queue full")   \
	STAT(Icmp, InMsgs, "messages received, including those in error")                      \
	STAT(Icmp, InErrors, "messages with bad checksum, length or content")                  \
	STAT(Icmp, InCsumErrors, "messages with a bad checksum")                               \
	STAT(Icmp, InDestUnreachs, "destination unreachable received")                         \
	STAT(Icmp, InTimeExcds, "time exceeded received")                                      \
	STAT(Icmp, InParmProbs, "parameter problem received")                                  \
	STAT(Icmp, InEchos, "echo requests received")                                          \
	STAT(Icmp, InEchoReps, "echo replies received")                                        \
	STAT(Icmp, InUnmatchedErrors, "errors about no socket of ours")                        \
	STAT(Icmp, InUnmatchedEchoReps, "echo replies for no echo socket")                     \
	STAT(Icmp, InBcastEchoIgnored, "echo requests to a broadcast address (RFC 1122)")      \
	STAT(Icmp, InIgnored, "types not acted on: redirect, source quench, timestamp, ...")   \
	STAT(Icmp, OutMsgs, "messages sent")                                                   \
	STAT(Icmp, OutErrors, "messages not sent (no route, device full)")                     \
	STAT(Icmp, OutRateLimitGlobal, "errors suppressed by the rate limit")                  \
	STAT(Icmp, OutDestUnreachs, "destination unreachable sent")                            \
	STAT(Icmp, OutTimeExcds, "time exceeded sent")                                         \
	STAT(Icmp, OutEchos, "echo requests sent")                                             \
	STAT(Icmp, OutEchoReps, "echo replies sent")                                           \
	STAT(Udp, InDatagrams, "datagrams delivered to a socket")                              \
	STAT(Udp, NoPorts, "datagrams to a port without a socket")                             \
	STAT(Udp, InErrors, "datagrams not delivered: bad length, checksum, full queue")       \
	STAT(Udp, OutDatagrams, "datagrams sent")                                              \
	STAT(Udp, RcvbufErrors, "datagrams dropped because the receiver was full")             \
	STAT(Udp, InCsumErrors, "datagrams with a bad checksum")                               \
	STAT(Udp, IgnoredMulti, "broadcast datagrams without a socket (no ICMP)")              \
	STAT(Tcp, ActiveOpens, "CLOSED -> SYN-SENT transitions (connects)")                    \
	STAT(Tcp, PassiveOpens, "LISTEN -> SYN-RECEIVED transitions (incl. SYN cookies)")      \
	STAT(Tcp, AttemptFails, "SYN-SENT/SYN-RECEIVED -> CLOSED or LISTEN")                   \
	STAT(Tcp, EstabResets, "ESTABLISHED/CLOSE-WAIT -> CLOSED directly (resets)")           \
	STAT(Tcp, CurrEstab, "gauge: connections in ESTABLISHED or CLOSE-WAIT")                \
	STAT(Tcp, InSegs, "segments received, including those in error")                       \
	STAT(Tcp, OutSegs, "segments sent, excluding retransmissions")                         \
	STAT(Tcp, RetransSegs, "segments retransmitted")                                       \
	STAT(Tcp, InErrs, "segments in error (bad checksum, header or options)")               \
	STAT(Tcp, OutRsts, "segments sent with RST")                                           \
	STAT(Tcp, InCsumErrors, "segments with a bad checksum")                                \
	STAT(TcpExt, InBadOpts, "segments with a malformed option length (dropped)")           \
	STAT(TcpExt, InBcastDrops, "segments to a broadcast or multicast address")             \
	STAT(TcpExt, InNoPort, "segments to a port without a socket (RST sent unless RST)")    \
	STAT(TcpExt, SyncookiesSent, "SYN cookies sent (SYN queue full)")                      \
	STAT(TcpExt, SyncookiesRecv, "valid SYN cookies received (connections made)")          \
	STAT(TcpExt, SyncookiesFailed, "ACKs to a listener with an invalid cookie")            \
	STAT(TcpExt, ListenOverflows, "SYNs or cookie ACKs dropped: accept queue full")        \
	STAT(TcpExt, ListenDrops, "SYNs dropped: SYN queue full, cookies off, or no memory")   \
	STAT(TcpExt, ListenBadSegs, "segments to a listener: RST, SYN+FIN, no SYN or ACK")     \
	STAT(TcpExt, SynSentBadSegs, "SYN-SENT segments ignored: bad ACK, bare RST, no SYN")   \
	STAT(TcpExt, TimeWaitOverflow, "connections closed without TIME-WAIT: limit reached")  \
	STAT(TcpExt, TW, "TIME-WAIT connections that ended by the 2MSL timer")                 \
	STAT(TcpExt, TWRecycled, "TIME-WAIT connections reopened by a new SYN")                \
	STAT(TcpExt, PAWSEstab, "segments dropped by PAWS (RFC 7323 §5)")                      \
	STAT(TcpExt, OutOfWindow, "unacceptable segments (outside the receive window)")        \
	STAT(TcpExt, TCPChallengeACK, "challenge ACKs sent (RFC 5961)")                        \
	STAT(TcpExt, TCPChallengeACKLimited, "challenge ACKs suppressed by the global budget")  \
	STAT(TcpExt, TCPACKSkippedChallenge, "challenge ACKs suppressed by the per-connection limit") \
	STAT(TcpExt, TCPSYNChallenge, "SYNs in a synchronized state (RFC 5961 §4)")            \
	STAT(TcpExt, TCPRstInWindow, "in-window RSTs not at RCV.NXT (RFC 5961 §3)")            \
	STAT(TcpExt, TCPAckTooNew, "ACKs for data not yet sent (dropped, RFC 5961 §5)")        \
	STAT(TcpExt, TCPAckTooOld, "ACKs below SND.UNA - MAX.SND.WND (dropped, RFC 5961 §5)")  \
	STAT(TcpExt, TCPNoAckDrops, "segments without ACK in a synchronized state")            \
	STAT(TcpExt, TCPOFOQueue, "out-of-order segments queued")                              \
	STAT(TcpExt, TCPOFODrop, "out-of-order segments dropped: too many holes")              \
	STAT(TcpExt, TCPRcvQDrop, "data beyond the receive buffer (dropped)")                  \
	STAT(TcpExt, TCPZeroWindowDrop, "data dropped: our receive window was 0 (ACK taken)") \
	STAT(TcpExt, TCPDataAfterFin, "new data after the peer's FIN (ignored)")              \
	STAT(TcpExt, SynRecvBadAcks, "SYN-RECEIVED segments with an unacceptable ACK (RST sent)") \
	STAT(TcpExt, TCPDataAfterClose, "data after shutdown/close of the read side (RST)")    \
	STAT(TcpExt, TCPAbortOnClose, "closes with unread data (lost; RST sent if still open)") \
	STAT(TcpExt, TCPAbortOnTimeout, "connections dropped after the retransmission limit")  \
	STAT(TcpExt, TCPAbortOnMemory, "closes reset at once: too many orphans (tcp_max_orphans)") \
	STAT(TcpExt, TCPMemoryPressures, "times queued bytes exceeded tcp_mem_max_bytes")      \
	STAT(TcpExt, TCPAbortOnUserTimeout, "connections dropped by the user timeout")         \
	STAT(TcpExt, TCPKeepAliveProbes, "keepalive probes sent")                              \
	STAT(TcpExt, TCPKeepAliveDrops, "connections dropped after unanswered keepalives")     \
	STAT(TcpExt, DelayedACKs, "delayed ACKs sent by the timer")                            \
	STAT(TcpExt, TCPFastRetrans, "fast retransmissions (3 duplicate ACKs or SACK)")        \
	STAT(TcpExt, TCPTimeouts, "retransmission timer expiries")                             \
	STAT(TcpExt, TCPPartialAcks, "NewReno partial ACKs in recovery (RFC 6582)")            \
	STAT(TcpExt, TCPSackRecovery, "recoveries that used SACK (RFC 6675)")                  \
	STAT(TcpExt, TCPWinProbe, "zero-window probes sent")                                   \
	STAT(TcpExt, TCPPMTUUpdates, "ICMP 3/4 that lowered a connection's MSS (RFC 1191)")    \
	STAT(TcpExt, TCPIcmpIgnored, "ICMP errors about unknown connections or stale SEQ")     \
	STAT(TcpExt, TCPOutErrors, "segments IPv4 refused to send (no route, ring full)")     \
	STAT(TcpExt, TCPBatchAckCoalesced, "ACKs not sent: a later one of the receive batch said it")

enum stat_id {
#define STAT_ENUM(group, field, desc) STAT_##group##field,
	STATS_LIST(STAT_ENUM)
#undef STAT_ENUM
	STAT__COUNT
};

struct stat_info {
	const char *group; /* "Ip" */
	const char *field; /* "ReasmFails" */
	const char *name;  /* "IpReasmFails" */
	const char *desc;
};

extern const struct stat_info stat_info[STAT__COUNT];

struct stats {
	uint64_t v[STAT__COUNT];
};

static inline void stat_inc(struct stats *s, enum stat_id id)
{
	s->v[id]++;
}

static inline void stat_add(struct stats *s, enum stat_id id, uint64_t n)
{
	s->v[id] += n;
}

/* Looks a counter up by its full name ("IpReasmFails"); -1 when unknown. */
int stat_lookup(const char *name);

#endif
