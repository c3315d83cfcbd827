/* AF_XDP backend: one XDP socket bound to (interface, queue), over a UMEM of page-aligned
 * 4096-byte frames, as a netif.
 *
 * Frame ownership is explicit: every UMEM frame is at any time either on the free-frame
 * stack (ours, idle), in the fill ring or RX ring (the kernel's, for receive), or in the TX
 * or completion ring (being sent). Receive hands each frame to the callback and puts it
 * straight back on the fill ring; transmit gives the netif fill callback a free frame, so the
 * stack writes the frame in place, and the completion ring returns it to the free stack.
 *
 * The XDP program redirects to the socket (through an XSKMAP) only the frames for the stack:
 * IPv4 to its address and ARP for its address, sent to its MAC or, for ARP, broadcast;
 * everything else goes to the kernel (XDP_PASS), so the kernel's own addresses on the
 * interface keep working. It is loaded and attached by us as a single program: what libxdp
 * does with LIBXDP_SKIP_DISPATCHER=1, without its program management, which needs
 * CAP_SYS_ADMIN.
 *
 * The UMEM is split: at most AFXDP_RX_FRAMES frames are lent to the kernel for receive
 * (fill ring, driver, RX ring), the rest is kept for transmit, so that a receive flood
 * cannot leave the stack without frames to answer with.
 * One ustackd per interface. A program left behind by a killed predecessor is detached at
 * open; ours is detached at close. */
#ifndef USTACK_BACKENDS_AF_XDP_H
#define USTACK_BACKENDS_AF_XDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/bpf.h>
#include <linux/if_xdp.h>

#include "backend.h"
#include "stack/addr.h"
#include "stack/netif.h"
#include "stack/wire/eth.h"


enum afxdp_mode {
	AFXDP_MODE_AUTO,
	AFXDP_MODE_SKB,
	AFXDP_MODE_NATIVE,
};

/* The bind(2) flags of the socket for a mode (issue 11 item 3). XDP_USE_NEED_WAKEUP always:
 * the kernel then asks for the kicks it needs (xsk_ring_kick) instead of us making a
 * system call for every batch. skb (generic XDP) can only copy: without XDP_COPY a
 * zero-copy capable driver (i40e, ice, mlx5) bound zero-copy under a generic-mode program
 * and TX kicks failed. Native and auto leave the choice to the kernel, which takes
 * zero-copy where the driver supports it and copy elsewhere (veth); afxdp_attach_mode()
 * says which it was. Unit-tested in tests/unit/test_xsk_frames.c. */
static inline uint16_t afxdp_bind_flags(enum afxdp_mode mode)
{
	return XDP_USE_NEED_WAKEUP | (mode == AFXDP_MODE_SKB ? XDP_COPY : 0);
}

struct afxdp_config {
	const char *ifname;
	unsigned queue;
	enum afxdp_mode mode;
	bool mac_set; /* false: use the interface's MAC */
	struct mac mac;
	struct in_addr addr; /* the stack's: IPv4 and ARP for it are redirected to us */
	unsigned mtu;
	/* A file where the id of the attached program is recorded, so that a successor
	 * recognises it after a kill; NULL: none. */
	const char *prog_record;
};

struct afxdp;

/* Returns 0 or a negative errno with a human-readable reason in why: -ENODEV (no such
 * interface), -EPERM (capabilities), -ENOMEM (memlock limit), -EBUSY (queue in use, or
 * another XDP program attached), -EINVAL (queue out of range, MTU too large),
 * -EOPNOTSUPP (native mode not supported by the driver). An MTU over afxdp_mtu_max() is
 * -EINVAL. */
int afxdp_open(const struct afxdp_config *cfg, struct afxdp **out, char *why, size_t whylen);
/* One UMEM frame per page: the default chunk size, and what copy mode and every driver
 * accept; no headroom of our own. */
#define AFXDP_FRAME_SIZE 4096u
#define AFXDP_FRAME_HEADROOM 0u

/* The largest MTU a UMEM frame carries on receive: the frame size minus the kernel's
 * XDP_PACKET_HEADROOM (256) and our headroom, minus the Ethernet header; the kernel drops
 * larger frames (xsk_rcv: len > xsk_pool_get_rx_frame_size(), issue 11 item 5: a 3841-byte
 * frame was lost). 3826 with 4096-byte frames. A driver's native XDP may allow less (its
 * buffer also holds skb_shared_info): the attach then fails with the driver's reason. */
static inline unsigned afxdp_mtu_max(void)
{
	return AFXDP_FRAME_SIZE - AFXDP_FRAME_HEADROOM - XDP_PACKET_HEADROOM - ETH_HDR_LEN;
}
/* Deletes the socket and UMEM and detaches our XDP program. */
void afxdp_close(struct afxdp *x);

struct netif *afxdp_netif(struct afxdp *x);
int afxdp_fd(const struct afxdp *x);
/* "skb" or "native", then "copy" or "zero-copy". */
const char *afxdp_attach_mode(const struct afxdp *x);
bool afxdp_zerocopy(const struct afxdp *x);
unsigned afxdp_ifmtu(const struct afxdp *x);
/* The id of a stale program (a killed predecessor's) detached at open, 0 when none. */
uint32_t afxdp_stale_prog_detached(const struct afxdp *x);

/* Receives up to max frames, calling fn for each and returning each frame to the fill
 * ring right after. Returns the number received or a negative errno. */
int afxdp_rx_batch(struct afxdp *x, unsigned max, backend_rx_fn fn, void *ctx);
/* Whether the socket still works: 0, or -ENODEV when the interface went away (the kernel
 * unbinds the socket), or the socket's pending error. Cheap; for a periodic check. */
int afxdp_check(struct afxdp *x);
/* Kicks the kernel to send what is on the TX ring and reclaims completed frames. Returns
 * true when frames remain queued (call again soon). */
bool afxdp_flush(struct afxdp *x);

struct afxdp_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t tx_ring_full; /* writes refused: no TX slot or no free frame */
	uint64_t kicks, kick_errors;
	uint64_t fill_wakeups; /* fill ring kicks when the driver asked (need_wakeup) */
	uint32_t free_frames_min; /* the fewest frames free for transmit at any time */
	uint32_t tx_reserve;	  /* the frames receive can never take */
};
const struct afxdp_stats *afxdp_stats(struct afxdp *x);
/* Frames on the free-frame stack now. */
unsigned afxdp_free_frames(const struct afxdp *x);

/* The kernel's drop counters for the socket (getsockopt XDP_STATISTICS): frames dropped
 * (no socket memory), RX ring full, fill ring empty, invalid RX/TX descriptors. 0 or a
 * negative errno. */
struct afxdp_kernel_stats {
	uint64_t rx_dropped, rx_ring_full, rx_fill_ring_empty, rx_invalid_descs,
		tx_invalid_descs;
};
int afxdp_kernel_stats(const struct afxdp *x, struct afxdp_kernel_stats *out);

/* Where the UMEM's frames are: ours (the free-frame stack), lent to the kernel for receive
 * (fill ring), received and not yet handled (RX ring), being sent (TX ring, the kernel, the
 * completion ring). Every frame is in exactly one place: the four add up to total, else a
 * frame was lost. */
struct afxdp_frame_census {
	uint32_t free, fill, rx, tx, total;
};
/* For the end of the run, before afxdp_close(): detaches our XDP program, so that nothing
 * more arrives, reclaims completed transmissions and counts the frames. */
void afxdp_quiesce(struct afxdp *x, struct afxdp_frame_census *c);

#endif
