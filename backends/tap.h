/* TAP backend: a Linux TAP device (IFF_TAP | IFF_NO_PI) as a netif.
 *
 * The kernel side of the TAP is the host's end of the link. tap_open() attaches to the
 * interface, creating it if missing, makes the descriptor non-blocking, sets the kernel
 * side's MTU to ours and brings it up. Receive is a batch of read(2)s per wake-up; write
 * fills a buffer owned by the backend and sends it with one write(2).
 *
 * Receive offload (tap_config.offload): the TAP is opened with IFF_VNET_HDR and
 * TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4), so the kernel may skip its checksums and hand
 * over TCP segments of up to a 64 KiB datagram (GSO) instead of MSS-sized ones: fewer,
 * cheaper read(2)s. Each frame read comes after a struct virtio_net_hdr; the backend
 * finishes a partial checksum (backends/vnet.h) before the frame goes up, so the stack and
 * everything above rx_batch (pcap, counters) sees ordinary frames with correct checksums,
 * only some larger than the MTU. A frame whose checksum the header vouches for (DATA_VALID,
 * or just completed) goes up with BACKEND_RX_L4_CSUM_OK: the stack does not sum it again. Transmit prepends a header that asks for nothing: the
 * stack still computes every checksum and never sends more than the MTU. When the kernel
 * refuses an ioctl the TAP is reopened plain (tap_offload() says which it is). */
#ifndef USTACK_BACKENDS_TAP_H
#define USTACK_BACKENDS_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "stack/netif.h"


struct tap;

struct tap_config {
	const char *ifname;
	unsigned mtu;
	struct mac mac; /* the stack's MAC (not the kernel side's) */
	bool offload;	/* try IFF_VNET_HDR with checksum and TSO4 offload */
};

/* Returns 0 or a negative errno with a human-readable reason in why: -ENOENT (no
 * /dev/net/tun), -EPERM (needs CAP_NET_ADMIN), -EBUSY (in use by another process). */
int tap_open(const struct tap_config *cfg, struct tap **out, char *why, size_t whylen);
void tap_close(struct tap *t);

struct netif *tap_netif(struct tap *t);
int tap_fd(const struct tap *t);
const char *tap_ifname(const struct tap *t);
/* Whether receive offload is on; when it was asked for and is off, why (else "").
 *
 * With it the netif also has transmit segmentation offload (TSO, stack/netif.h):
 * netif_gso_max() is 65535 and netif_write_gso() sends a TCP super-segment of up to 64 KiB
 * in one write(2), after a header asking the kernel to finish its checksum and cut it
 * (VIRTIO_NET_HDR_GSO_TCPV4, backends/vnet.h). The ordinary write above is unchanged. */
bool tap_offload(const struct tap *t);
const char *tap_offload_why(const struct tap *t);
/* Reads up to max frames, calling fn for each. Returns the number read (0: none waiting)
 * or a negative errno when the device failed. */
int tap_rx_batch(struct tap *t, unsigned max, backend_rx_fn fn, void *ctx);

struct tap_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes, tx_errors, rx_errors;
	uint64_t tx_gso_frames; /* TSO super-segments written for the kernel to cut */
	/* offload: frames whose checksum was finished here, GSO (larger than MTU) frames,
	 * and frames dropped for a bad virtio-net header (short, checksum position outside
	 * the frame, unexpected GSO type). */
	uint64_t rx_csum_completed, rx_gso_frames, rx_vnet_drops;
	uint64_t rx_csum_trusted; /* DATA_VALID: checked by the kernel, not summed here */
};
const struct tap_stats *tap_stats(const struct tap *t);

#endif
