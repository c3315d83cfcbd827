/* The virtio-net header of a TAP opened with IFF_VNET_HDR (receive and transmit offload).
 *
 * With TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4) the kernel hands the TAP reader frames whose
 * TCP/UDP checksum is not computed yet (VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum field
 * holds the pseudo-header sum, the rest is to be summed from csum_start and stored at
 * csum_start + csum_offset) and TCP segments larger than the MSS, up to a 64 KiB IPv4
 * datagram (gso_type VIRTIO_NET_HDR_GSO_TCPV4). vnet_rx_fixup() finishes the checksum in
 * place so that the stack, pcap and the counters see an ordinary (if large) frame;
 * vnet_rx_csum_trusted() then says the stack need not verify it again. Pure: no I/O, no
 * allocation.
 *
 * The header's 16-bit fields are in the host's byte order (a TAP without TUNSETVNETLE/BE
 * uses the legacy virtio convention, native endianness). */
#ifndef USTACK_BACKENDS_VNET_H
#define USTACK_BACKENDS_VNET_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VNET_HDR_LEN sizeof(struct virtio_net_hdr) /* 10 */

struct vnet_stats {
	uint64_t csum_completed; /* NEEDS_CSUM frames finished here */
	uint64_t gso_frames;	 /* TCPv4 segments larger than the MSS passed on whole */
	uint64_t bad_csum_pos;	 /* csum_start/csum_offset outside the frame: dropped */
	uint64_t bad_gso;	 /* a GSO type we did not ask for (UDP, TCPv6): dropped */
	uint64_t csum_trusted;	 /* DATA_VALID frames: verified by the kernel, not summed */
};

/* Transmit offload: writes the header for frame (len bytes, Ethernet + a TCP/IPv4
 * super-segment with a partial checksum, stack/netif.h) asking the kernel to finish the
 * TCP checksum (NEEDS_CSUM, csum_start at the TCP header, csum_offset 16) and, when the
 * data is longer than gso_size, to cut it (gso_type TCPV4, with ECN when the header has
 * CWR, as Linux marks such a segment SKB_GSO_TCP_ECN; gso_size; hdr_len: Ethernet, IPv4
 * and TCP headers). Returns 0 or -EINVAL when the frame is not such a super-segment. */
int vnet_hdr_emit_gso(uint8_t *hdr, const uint8_t *frame, size_t len, unsigned gso_size);

/* Reads the header (hdr: VNET_HDR_LEN bytes, any alignment) into h. */
void vnet_hdr_parse(const uint8_t *hdr, struct virtio_net_hdr *h);

/* Writes a header that asks for nothing (no checksum to finish, no segmentation). */
void vnet_hdr_emit_none(uint8_t *hdr);

/* Whether the frame's transport checksum needs no verifying after vnet_rx_fixup(): the
 * kernel verified it (VIRTIO_NET_HDR_F_DATA_VALID, its CHECKSUM_UNNECESSARY, e.g. a frame
 * forwarded from a NIC that checked it), or vnet_rx_fixup() just computed it
 * (NEEDS_CSUM: the kernel's own data, summed once here). Summing a 64 KiB GSO frame a
 * second time in the stack is what this saves. Covers TCP/UDP of that one frame only. */
bool vnet_rx_csum_trusted(const struct virtio_net_hdr *h);

/* Prepares frame (len bytes of Ethernet frame after the header h) for the stack: finishes
 * a partial checksum, accepts a TCPv4 GSO frame as it is. Returns 0 (pass it on), -EINVAL
 * (csum_start/csum_offset do not fit the frame) or -EPROTONOSUPPORT (a GSO type other than
 * TCPv4); either error is counted in st (may be NULL) and the frame must be dropped. */
int vnet_rx_fixup(const struct virtio_net_hdr *h, uint8_t *frame, size_t len,
		  struct vnet_stats *st);

#endif
