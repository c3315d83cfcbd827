/* A netif wrapper that records every frame in and out as classic pcap (LINKTYPE_ETHERNET,
 * microsecond timestamps), which tcpdump, tshark and Wireshark read.
 *
 * It wraps a device, it is not a flag inside one: the stack writes to the wrapper's netif,
 * which passes the write to the lower netif and records the frame the fill callback wrote;
 * the receive path calls pcap_netif_record_in() for each frame before stack_input(). A frame
 * is recorded only once the lower device took it: one it refused never was on the wire.
 *
 * Records go to a buffer that is written without blocking (O_NONBLOCK): a FIFO whose reader
 * (tcpdump -r -, a pipe to a slow disk) stalls never blocks the packet loop; records that
 * do not fit meanwhile are dropped whole and counted, so the stream stays valid. */
#ifndef USTACK_BACKENDS_PCAP_H
#define USTACK_BACKENDS_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stack/netif.h"

/* Transmit segmentation offload: the wrapper has the lower device's (netif_gso_max) and
 * records a TCP super-segment as it went to the device: one record of up to 64 KiB with a
 * partial TCP checksum, not the segments the device puts on the wire (tcpdump on a Linux
 * interface with TSO shows the same). */

/* Whole frames: with TAP receive offload a frame is up to 64 KiB of IP plus its Ethernet
 * header, more than the traditional 65535. tcpdump's own default is 262144. */
#define PCAP_SNAPLEN 262144

/* Room for the records between two flushes (each second, or every 64 KiB): a ping flood at
 * MTU 1500 or the largest offload frames. */
#define PCAP_BUF_SIZE (1u << 20)

struct pcap_netif {
	struct netif nif; /* first: the write op recovers the wrapper from it */
	struct netif *lower;
	int fd;
	char path[4096];
	uint64_t frames;  /* records taken (buffered or written) */
	uint64_t errors;  /* frames not recorded: write error, no file after a failed reopen */
	uint64_t dropped; /* frames not recorded: the buffer was full (a stalled reader) */
	uint64_t refused; /* frames the lower device refused: not recorded, not on the wire */
	size_t len;	  /* bytes in buf, from a record's start */
	uint64_t buffered; /* records (whole or the tail of one) in buf */
	uint8_t buf[PCAP_BUF_SIZE];
};

/* Opens (truncates) path and writes the file header. 0 or a negative errno: -ENXIO for a
 * FIFO that has no reader (never blocks). */
int pcap_netif_open(struct pcap_netif *p, struct netif *lower, const char *path);
/* Reopens the file (after a rotation: SIGHUP): a new file gets the header, an existing
 * non-empty one is appended to. Until a reopen succeeds, frames are counted in errors. */
int pcap_netif_reopen(struct pcap_netif *p);
void pcap_netif_close(struct pcap_netif *p);
/* Records a received frame. */
void pcap_netif_record_in(struct pcap_netif *p, const uint8_t *frame, size_t len);
/* Writes buffered records to the file, as far as it takes them without blocking. */
void pcap_netif_flush(struct pcap_netif *p);

#endif
