/* The daemon's view of its network device: the backend chosen by the configuration (TAP
 * or AF_XDP), optionally wrapped by the pcap recorder. The stack writes to device.nif. */
#ifndef USTACKD_DEVICE_H
#define USTACKD_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/af_xdp.h"
#include "backends/pcap.h"
#include "backends/tap.h"
#include "config.h"

struct device {
	enum backend_kind kind;
	struct tap *tap;
	struct afxdp *xdp;
	bool pcap_on;
	struct pcap_netif pcap;
	struct netif *nif; /* what the stack writes to: the pcap wrapper or the backend */
	char desc[128];	   /* "tap ustack0" / "af_xdp veth0 queue 0 (skb, copy)" */
	/* rx callback state */
	backend_rx_fn rx_fn;
	void *rx_ctx;
};

/* Opens the backend of c. The MAC: c->mac if set, else random (TAP) or the interface's
 * (AF_XDP). 0 or a negative errno, logged. */
int device_open(struct device *d, const struct ustackd_config *c, const struct mac *tap_mac,
		const char *prog_record);
void device_close(struct device *d);
/* At the end of the run, before device_close(): the backend's and the pcap recorder's
 * counters (every drop they count) to the log, and for AF_XDP the UMEM frame census (an
 * error when a frame is missing). Stops AF_XDP receive (detaches the program). */
void device_report(struct device *d);
int device_fd(const struct device *d);
/* Receives up to max frames (recorded to pcap, then fn). Count or negative errno. */
int device_rx(struct device *d, unsigned max, backend_rx_fn fn, void *ctx);
/* Pushes queued transmissions; true when some remain (call again soon). */
bool device_flush(struct device *d);
/* Pushes queued transmissions until none remain, for up to 100 ms. */
void device_drain(struct device *d);
/* 0 while the device works, else a negative errno (the interface went away). */
int device_check(struct device *d);
int device_pcap_reopen(struct device *d);
void device_pcap_flush(struct device *d);

#endif
