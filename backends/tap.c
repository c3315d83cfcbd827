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


struct tap {
	struct netif nif; /* first: tap_write() recovers the tap from it */
	int fd;
	char ifname[IFNAMSIZ];
	size_t buf_len;
	uint8_t *rx_buf; /* one frame: MTU + Ethernet header */
	uint8_t *tx_buf;
	struct tap_stats stats;
};

static int tap_write(struct netif *nif, size_t size, netif_fill_fn fill, void *ctx)
{
	struct tap *t = (struct tap *)nif;
	size_t len;
	ssize_t n;

	if (size > t->buf_len)
		return -EMSGSIZE;
	len = fill(t->tx_buf, t->buf_len, ctx);
	if (len > t->buf_len)
		len = t->buf_len; /* a fill that overran its contract: never write past it */
	/* A TAP write is atomic: the whole frame or an error. EAGAIN means the kernel's
	 * queue for the device is full: the frame is lost, as on a full NIC ring. */
	n = write(t->fd, t->tx_buf, len);
	if (n < 0) {
		t->stats.tx_errors++;
		return errno == EAGAIN ? -ENOBUFS : -errno;
	}
	t->stats.tx_frames++;
	t->stats.tx_bytes += len;
	return 0;
}

static const struct netif_ops tap_ops = {
	.write = tap_write,
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

int tap_open(const struct tap_config *cfg, struct tap **out, char *why, size_t whylen)
{
	struct ifreq ifr;
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
	t->rx_buf = malloc(t->buf_len);
	t->tx_buf = malloc(t->buf_len);
	if (!t->rx_buf || !t->tx_buf) {
		snprintf(why, whylen, "out of memory");
		r = -ENOMEM;
		goto fail;
	}
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		r = -errno;
		snprintf(why, whylen, "cannot open /dev/net/tun: %s%s", strerror(errno),
			 errno == ENOENT	 ? " (is the tun module loaded?)"
			 : errno == EACCES ? " (its file mode does not let this user open it)"
					   : "");
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	/* No packet information header: read and write plain Ethernet frames. */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg->ifname);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		if (errno == EPERM)
			snprintf(why, whylen,
				 "cannot create or attach TAP %s: permission denied (needs "
				 "CAP_NET_ADMIN, or a persistent TAP owned by this user)",
				 cfg->ifname);
		else if (errno == EBUSY)
			snprintf(why, whylen,
				 "TAP %s is busy: another process has it open (another ustackd?)",
				 cfg->ifname);
		else if (errno == EINVAL)
			snprintf(why, whylen,
				 "cannot use %s as a TAP: an interface of another kind has that "
				 "name",
				 cfg->ifname);
		else
			snprintf(why, whylen, "TUNSETIFF %s: %s", cfg->ifname, strerror(errno));
		goto fail;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	r = tap_link_setup(t->ifname, cfg->mtu, why, whylen);
	if (r < 0)
		goto fail;
	t->nif.ops = &tap_ops;
	t->nif.mac = cfg->mac;
	t->nif.mtu = cfg->mtu;
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
		ssize_t len = read(t->fd, t->rx_buf, t->buf_len);

		if (len < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			t->stats.rx_errors++;
			return -errno;
		}
		if (len == 0)
			break;
		t->stats.rx_frames++;
		t->stats.rx_bytes += (size_t)len;
		fn(ctx, t->rx_buf, (size_t)len);
		n++;
	}
	return (int)n;
}
