#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stack/wire/eth.h"
#include "stack/wire/ipv4.h"
#include "vnet.h"

/* With offload the kernel may send one TCP segment of up to a 64 KiB IPv4 datagram
 * (gso_max_size 65536; the datagram's total length is 16 bits). */
#define TAP_GSO_FRAME_MAX (ETH_HDR_LEN + 65535)

struct tap {
	struct netif nif; /* first: tap_write() recovers the tap from it */
	int fd;
	char ifname[IFNAMSIZ];
	size_t buf_len;	   /* the largest frame we send: MTU + Ethernet header */
	size_t rx_len;	   /* the largest frame we read: buf_len, or a GSO frame */
	size_t tx_len;	   /* the largest frame we write: buf_len, or a GSO frame */
	size_t hdr_len;	   /* VNET_HDR_LEN with offload, else 0 */
	uint8_t *rx_buf;   /* hdr_len + rx_len */
	uint8_t *tx_buf;   /* hdr_len + tx_len: the header, then the frame */
	bool offload;
	char offload_why[256];
	struct vnet_stats vnet;
	struct tap_stats stats;
};

static int tap_write(struct netif *nif, size_t size, netif_fill_fn fill, void *ctx)
{
	struct tap *t = (struct tap *)nif;
	size_t len;
	ssize_t n;

	if (size > t->buf_len)
		return -EMSGSIZE;
	/* The stack writes the frame in place after the header: no copy. */
	len = fill(t->tx_buf + t->hdr_len, t->buf_len, ctx);
	if (len > t->buf_len)
		len = t->buf_len; /* a fill that overran its contract: never write past it */
	if (t->hdr_len)
		vnet_hdr_emit_none(t->tx_buf); /* complete checksums, one frame: no offload */
	/* A TAP write is atomic: the whole frame or an error. EAGAIN means the kernel's
	 * queue for the device is full: the frame is lost, as on a full NIC ring. */
	n = write(t->fd, t->tx_buf, t->hdr_len + len);
	if (n < 0) {
		t->stats.tx_errors++;
		return errno == EAGAIN ? -ENOBUFS : -errno;
	}
	t->stats.tx_frames++;
	t->stats.tx_bytes += len;
	return 0;
}

/* Transmit offload: one TCP/IPv4 super-segment (stack/netif.h) after a virtio-net header
 * that asks the kernel to finish its checksum and cut it into gso_size segments. */
static int tap_write_gso(struct netif *nif, size_t size, unsigned gso_size, netif_fill_fn fill,
			 void *ctx)
{
	struct tap *t = (struct tap *)nif;
	size_t len;
	ssize_t n;

	if (!t->offload)
		return -EOPNOTSUPP;
	if (size > t->tx_len)
		return -EMSGSIZE;
	len = fill(t->tx_buf + t->hdr_len, t->tx_len, ctx);
	if (len > t->tx_len)
		len = t->tx_len;
	if (vnet_hdr_emit_gso(t->tx_buf, t->tx_buf + t->hdr_len, len, gso_size) < 0) {
		t->stats.tx_errors++;
		return -EINVAL;
	}
	n = write(t->fd, t->tx_buf, t->hdr_len + len);
	if (n < 0) {
		t->stats.tx_errors++;
		return errno == EAGAIN ? -ENOBUFS : -errno;
	}
	t->stats.tx_frames++;
	t->stats.tx_gso_frames++;
	t->stats.tx_bytes += len;
	return 0;
}

static const struct netif_ops tap_ops = {
	.write = tap_write,
	.write_gso = tap_write_gso,
};

/* ioctls on the kernel side of the interface (SIOC[GS]IF*) go through any socket: an
 * AF_UNIX one keeps the daemon inside RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_XDP. */
static int tap_link_setup(const char *ifname, unsigned mtu, char *why, size_t whylen)
{
	struct ifreq ifr;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;

	if (s < 0) {
		r = -errno;
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return r;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_mtu = (int)mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
		r = -errno;
		snprintf(why, whylen, "cannot set the MTU of %s to %u: %s", ifname, mtu,
			 strerror(errno));
		goto out;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		r = -errno;
		snprintf(why, whylen, "cannot read the flags of %s: %s", ifname, strerror(errno));
		goto out;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
			r = -errno;
			snprintf(why, whylen, "cannot bring %s up: %s", ifname, strerror(errno));
		}
	}
out:
	close(s);
	return r;
}

/* Attaches t->fd (opened) to the TAP with the given extra flags. */
static int tap_attach(struct tap *t, const char *ifname, short extra, char *why, size_t whylen)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	/* No packet information header: read and write plain Ethernet frames (after a
	 * virtio-net header with IFF_VNET_HDR). */
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | extra);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int r = -errno;

		if (errno == EPERM)
			snprintf(why, whylen,
				 "cannot create or attach TAP %s: permission denied (needs "
				 "CAP_NET_ADMIN, or a persistent TAP owned by this user)",
				 ifname);
		else if (errno == EBUSY)
			snprintf(why, whylen,
				 "TAP %s is busy: another process has it open (another ustackd?)",
				 ifname);
		else if (errno == EINVAL)
			snprintf(why, whylen,
				 "cannot use %s as a TAP: an interface of another kind has that "
				 "name",
				 ifname);
		else
			snprintf(why, whylen, "TUNSETIFF %s: %s", ifname, strerror(errno));
		return r;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	return 0;
}

static int tap_open_fd(struct tap *t, char *why, size_t whylen)
{
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		int r = -errno;

		snprintf(why, whylen, "cannot open /dev/net/tun: %s%s", strerror(errno),
			 errno == ENOENT	 ? " (is the tun module loaded?)"
			 : errno == EACCES ? " (its file mode does not let this user open it)"
					   : "");
		return r;
	}
	return 0;
}

/* IFF_VNET_HDR is set: the header size and the offloads. Returns false with the reason
 * in t->offload_why when the kernel refuses either. */
static bool tap_offload_setup(struct tap *t)
{
	int hdr = (int)VNET_HDR_LEN;

	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		snprintf(t->offload_why, sizeof(t->offload_why), "TUNSETVNETHDRSZ %d: %s", hdr,
			 strerror(errno));
		return false;
	}
	if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4)) < 0) {
		snprintf(t->offload_why, sizeof(t->offload_why),
			 "TUNSETOFFLOAD TUN_F_CSUM|TUN_F_TSO4: %s", strerror(errno));
		return false;
	}
	return true;
}

int tap_open(const struct tap_config *cfg, struct tap **out, char *why, size_t whylen)
{
	struct tap *t;
	int r;

	if (strlen(cfg->ifname) >= IFNAMSIZ) {
		snprintf(why, whylen, "interface name '%s' is longer than %d bytes", cfg->ifname,
			 IFNAMSIZ - 1);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	t->fd = -1;
	t->buf_len = (size_t)cfg->mtu + ETH_HDR_LEN;
	r = tap_open_fd(t, why, whylen);
	if (r < 0)
		goto fail;
	if (cfg->offload) {
		r = tap_attach(t, cfg->ifname, IFF_VNET_HDR, why, whylen);
		if (r < 0)
			goto fail; /* not an offload problem: plain would fail the same way */
		t->offload = tap_offload_setup(t);
		if (!t->offload) {
			/* An old kernel: start again without the header. Closing a TAP that is
			 * not persistent deletes it; the attach below creates it again. */
			close(t->fd);
			t->fd = -1;
			r = tap_open_fd(t, why, whylen);
			if (r < 0)
				goto fail;
		}
	}
	if (!t->offload) {
		r = tap_attach(t, cfg->ifname, 0, why, whylen);
		if (r < 0)
			goto fail;
		/* A persistent TAP keeps the offloads a previous owner set: without the
		 * header the kernel would hand us unfinished checksums. Best effort. */
		(void)ioctl(t->fd, TUNSETOFFLOAD, 0UL);
	}
	t->hdr_len = t->offload ? VNET_HDR_LEN : 0;
	t->rx_len = t->buf_len;
	if (t->offload && t->rx_len < TAP_GSO_FRAME_MAX)
		t->rx_len = TAP_GSO_FRAME_MAX;
	t->tx_len = t->offload ? t->rx_len : t->buf_len;
	t->rx_buf = malloc(t->hdr_len + t->rx_len);
	t->tx_buf = malloc(t->hdr_len + t->tx_len);
	if (!t->rx_buf || !t->tx_buf) {
		snprintf(why, whylen, "out of memory");
		r = -ENOMEM;
		goto fail;
	}
	r = tap_link_setup(t->ifname, cfg->mtu, why, whylen);
	if (r < 0)
		goto fail;
	t->nif.ops = &tap_ops;
	t->nif.mac = cfg->mac;
	t->nif.mtu = cfg->mtu;
	/* The kernel cuts what a TAP with IFF_VNET_HDR is given: up to a 64 KiB datagram. */
	t->nif.gso_max = t->offload ? IPV4_MAX_LEN : 0;
	*out = t;
	return 0;
fail:
	tap_close(t);
	return r;
}

void tap_close(struct tap *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t->rx_buf);
	free(t->tx_buf);
	free(t);
}

struct netif *tap_netif(struct tap *t)
{
	return &t->nif;
}

int tap_fd(const struct tap *t)
{
	return t->fd;
}

const char *tap_ifname(const struct tap *t)
{
	return t->ifname;
}

bool tap_offload(const struct tap *t)
{
	return t->offload;
}

const char *tap_offload_why(const struct tap *t)
{
	return t->offload_why;
}

const struct tap_stats *tap_stats(const struct tap *t)
{
	return &t->stats;
}

int tap_rx_batch(struct tap *t, unsigned max, backend_rx_fn fn, void *ctx)
{
	unsigned n = 0;

	while (n < max) {
		/* A frame larger than the buffer (the host raised the TAP's MTU above ours)
		 * is truncated by read(2); the stack sees the IP total length disagree and
		 * counts it. */
		ssize_t len = read(t->fd, t->rx_buf, t->hdr_len + t->rx_len);
		uint8_t *frame = t->rx_buf + t->hdr_len;
		unsigned flags = 0;

		if (len < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			t->stats.rx_errors++;
			return -errno;
		}
		if (len == 0)
			break;
		n++;
		if (t->hdr_len) {
			struct virtio_net_hdr h;

			if ((size_t)len < t->hdr_len) {
				t->stats.rx_vnet_drops++;
				continue;
			}
			len -= (ssize_t)t->hdr_len;
			vnet_hdr_parse(t->rx_buf, &h);
			if (vnet_rx_fixup(&h, frame, (size_t)len, &t->vnet) < 0) {
				t->stats.rx_vnet_drops++;
				continue;
			}
			t->stats.rx_csum_completed = t->vnet.csum_completed;
			t->stats.rx_csum_trusted = t->vnet.csum_trusted;
			t->stats.rx_gso_frames = t->vnet.gso_frames;
			if (vnet_rx_csum_trusted(&h))
				flags |= BACKEND_RX_L4_CSUM_OK;
		}
		t->stats.rx_frames++;
		t->stats.rx_bytes += (size_t)len;
		fn(ctx, frame, (size_t)len, flags);
	}
	return (int)n;
}
