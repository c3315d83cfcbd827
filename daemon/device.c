#include "device.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include "log.h"
#include "notify.h"

/* libbpf and libxdp print through us: one line each, without their trailing newlines. */
static void log_library_line(enum log_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_msg(level, "%s", line); /* libbpf prefixes its own name */
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	log_library_line(level == LIBBPF_WARN ? LOG_LEVEL_WARNING : LOG_LEVEL_DEBUG, fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	/* libxdp warns about things it then works around (no bpffs, no dispatcher). */
	log_library_line(level == LIBXDP_WARN ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG, fmt, ap);
	return 0;
}

/* --wait-interface: an AF_XDP interface that is not there yet (a driver or udev still
 * working at boot) is waited for, once a second up to wait_s, rather than failing at once:
 * a fast failure and Restart= would trip systemd's start limit (StartLimitBurst= within
 * StartLimitIntervalSec=) and leave the daemon dead. Logged when the wait starts and ends. */
static int device_wait_interface(const struct afxdp_config *xc, struct afxdp **out,
				 unsigned wait_s, char *why, size_t whylen)
{
	int r = -ENODEV;

	log_notice("af_xdp: %s; waiting up to %u s for it", why, wait_s);
	notify_status("Waiting up to %u s for interface %s", wait_s, xc->ifname);
	for (unsigned s = 1; s <= wait_s && r == -ENODEV; s++) {
		sleep(1);
		if (if_nametoindex(xc->ifname) == 0)
			continue;
		r = afxdp_open(xc, out, why, whylen);
		if (r == 0)
			log_notice("af_xdp: %s appeared after %u s", xc->ifname, s);
	}
	if (r == -ENODEV)
		snprintf(why, whylen, "no interface named %s appeared within %u s (--wait-interface)",
			 xc->ifname, wait_s);
	return r;
}

int device_open(struct device *d, const struct ustackd_config *c, const struct mac *tap_mac,
		const char *prog_record)
{
	char why[512];
	struct netif *lower;
	int r;

	memset(d, 0, sizeof(*d));
	d->kind = c->backend;
	if (c->backend == BACKEND_TAP) {
		struct tap_config tc = { .ifname = c->ifname,
					 .mtu = c->mtu,
					 .mac = *tap_mac,
					 .offload = c->tap_offload };

		r = tap_open(&tc, &d->tap, why, sizeof(why));
		if (r < 0) {
			log_error("tap: %s", why);
			return r;
		}
		if (tap_offload(d->tap))
			log_info("tap: receive offload on (IFF_VNET_HDR, csum, tso4)");
		else if (c->tap_offload)
			log_notice("tap: receive offload unavailable (%s): plain TAP",
				   tap_offload_why(d->tap));
		lower = tap_netif(d->tap);
		snprintf(d->desc, sizeof(d->desc), "tap %s", tap_ifname(d->tap));
	} else {
		struct afxdp_config xc = {
			.ifname = c->ifname,
			.queue = c->queue,
			.mode = c->xdp_mode == CONFIG_XDP_SKB	 ? AFXDP_MODE_SKB
				: c->xdp_mode == CONFIG_XDP_NATIVE ? AFXDP_MODE_NATIVE
								 : AFXDP_MODE_AUTO,
			.mac_set = c->mac_set,
			.mac = c->mac,
			.addr = c->stack.addr,
			.mtu = c->mtu,
			.prog_record = prog_record,
		};

		libbpf_set_print(libbpf_print);
		libxdp_set_print(libxdp_print);
		r = afxdp_open(&xc, &d->xdp, why, sizeof(why));
		if (r == -ENODEV && c->wait_interface_s)
			r = device_wait_interface(&xc, &d->xdp, c->wait_interface_s, why,
						  sizeof(why));
		if (r < 0) {
			log_error("af_xdp: %s", why);
			return r;
		}
		if (afxdp_stale_prog_detached(d->xdp))
			log_notice("af_xdp: detached the stale XDP program %u left on %s by a "
				   "previous instance",
				   afxdp_stale_prog_detached(d->xdp), c->ifname);
		lower = afxdp_netif(d->xdp);
		snprintf(d->desc, sizeof(d->desc), "af_xdp %s queue %u (%s)", c->ifname, c->queue,
			 afxdp_attach_mode(d->xdp));
	}
	d->nif = lower;
	if (c->pcap[0]) {
		r = pcap_netif_open(&d->pcap, lower, c->pcap);
		if (r < 0) {
			log_error_errno(r, "Cannot open the pcap file %s%s", c->pcap,
					r == -ENXIO ? " (a FIFO that nobody reads?)" : "");
			device_close(d);
			return r;
		}
		d->pcap_on = true;
		d->nif = &d->pcap.nif;
	}
	return 0;
}

void device_close(struct device *d)
{
	if (d->pcap_on)
		pcap_netif_close(&d->pcap);
	d->pcap_on = false;
	tap_close(d->tap);
	d->tap = NULL;
	afxdp_close(d->xdp);
	d->xdp = NULL;
}

void device_report(struct device *d)
{
	if (d->tap) {
		const struct tap_stats *s = tap_stats(d->tap);

		log_info("%s: received %llu frames (%llu bytes), sent %llu (%llu bytes); dropped: "
			 "%llu sends refused, %llu bad virtio-net headers; %llu receive errors",
			 d->desc, (unsigned long long)s->rx_frames, (unsigned long long)s->rx_bytes,
			 (unsigned long long)s->tx_frames, (unsigned long long)s->tx_bytes,
			 (unsigned long long)s->tx_errors, (unsigned long long)s->rx_vnet_drops,
			 (unsigned long long)s->rx_errors);
	}
	if (d->xdp) {
		const struct afxdp_stats *s = afxdp_stats(d->xdp);
		struct afxdp_kernel_stats k;
		struct afxdp_frame_census fc;
		uint32_t seen;

		afxdp_quiesce(d->xdp, &fc);
		if (afxdp_kernel_stats(d->xdp, &k) < 0)
			memset(&k, 0, sizeof(k));
		log_info("%s: received %llu frames (%llu bytes), sent %llu (%llu bytes); dropped: "
			 "%llu sends refused (TX ring full), %llu by the kernel (%llu RX ring "
			 "full, %llu fill ring empty, %llu bad RX and %llu bad TX descriptors); "
			 "%llu kicks, %llu failed",
			 d->desc, (unsigned long long)s->rx_frames, (unsigned long long)s->rx_bytes,
			 (unsigned long long)s->tx_frames, (unsigned long long)s->tx_bytes,
			 (unsigned long long)s->tx_ring_full, (unsigned long long)k.rx_dropped,
			 (unsigned long long)k.rx_ring_full, (unsigned long long)k.rx_fill_ring_empty,
			 (unsigned long long)k.rx_invalid_descs,
			 (unsigned long long)k.tx_invalid_descs, (unsigned long long)s->kicks,
			 (unsigned long long)s->kick_errors);
		seen = fc.free + fc.fill + fc.rx + fc.tx;
		if (seen == fc.total)
			log_info("%s: UMEM frames: all %u accounted for (%u free, %u fill ring, "
				 "%u RX ring, %u sending); lowest free %u (%u kept for transmit); "
				 "%llu fill ring wake-ups",
				 d->desc, fc.total, fc.free, fc.fill, fc.rx, fc.tx,
				 s->free_frames_min, s->tx_reserve,
				 (unsigned long long)s->fill_wakeups);
		else
			log_error("%s: UMEM frames: %u of %u accounted for (%u free, %u fill ring, "
				  "%u RX ring, %u sending): %d lost; lowest free %u (%u kept for "
				  "transmit)",
				  d->desc, seen, fc.total, fc.free, fc.fill, fc.rx, fc.tx,
				  (int)(fc.total - seen), s->free_frames_min, s->tx_reserve);
	}
	if (d->pcap_on) {
		pcap_netif_flush(&d->pcap);
		if (d->pcap.errors || d->pcap.dropped)
			log_warning("pcap %s: %llu frames recorded, %llu not (%llu write errors or "
				    "no file after a failed reopen, %llu dropped: the reader did not "
				    "keep up); %llu refused by the device, not recorded",
				    d->pcap.path, (unsigned long long)d->pcap.frames,
				    (unsigned long long)(d->pcap.errors + d->pcap.dropped),
				    (unsigned long long)d->pcap.errors,
				    (unsigned long long)d->pcap.dropped,
				    (unsigned long long)d->pcap.refused);
		else
			log_info("pcap %s: %llu frames recorded; %llu refused by the device, not "
				 "recorded",
				 d->pcap.path, (unsigned long long)d->pcap.frames,
				 (unsigned long long)d->pcap.refused);
	}
}

int device_fd(const struct device *d)
{
	return d->tap ? tap_fd(d->tap) : afxdp_fd(d->xdp);
}

static void device_rx_record(void *ctx, const uint8_t *frame, size_t len, unsigned flags)
{
	struct device *d = ctx;

	pcap_netif_record_in(&d->pcap, frame, len);
	d->rx_fn(d->rx_ctx, frame, len, flags);
}

int device_rx(struct device *d, unsigned max, backend_rx_fn fn, void *ctx)
{
	if (d->pcap_on) {
		d->rx_fn = fn;
		d->rx_ctx = ctx;
		fn = device_rx_record;
		ctx = d;
	}
	return d->tap ? tap_rx_batch(d->tap, max, fn, ctx) : afxdp_rx_batch(d->xdp, max, fn, ctx);
}

bool device_flush(struct device *d)
{
	return d->xdp ? afxdp_flush(d->xdp) : false;
}

/* At stop: what the stack wrote last (the RSTs of the aborted connections) leaves before
 * the device is quiesced. AF_XDP sends on kicks; a TAP write is already sent. */
#define DEVICE_DRAIN_TRIES 100
#define DEVICE_DRAIN_WAIT_US 1000

void device_drain(struct device *d)
{
	for (int i = 0; i < DEVICE_DRAIN_TRIES && device_flush(d); i++)
		usleep(DEVICE_DRAIN_WAIT_US);
}

int device_check(struct device *d)
{
	/* A TAP's failure shows on read(2) (EBADFD once the interface is deleted). */
	return d->xdp ? afxdp_check(d->xdp) : 0;
}

int device_pcap_reopen(struct device *d)
{
	return d->pcap_on ? pcap_netif_reopen(&d->pcap) : 0;
}

void device_pcap_flush(struct device *d)
{
	if (d->pcap_on)
		pcap_netif_flush(&d->pcap);
}
