#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "kv/kv.h"
#include "log.h"
#include "notify.h"

uint64_t ustackd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ustackd_random(void *buf, size_t len, void *ctx)
{
	uint8_t *p = buf;

	(void)ctx;
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0)
			continue; /* EINTR; EAGAIN cannot happen without GRND_NONBLOCK */
		p += n;
		len -= (size_t)n;
	}
}

/* mkdir -p for a directory we own; 0 or negative errno. */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The key-value store: LMDB in <state-dir>/kv (durable: docs/kv.md), or memory. */
static int ustackd_kv_open(struct ustackd *d)
{
	const struct ustackd_config *c = &d->cfg;
	struct kv_limits lim = { .map_size_bytes = c->kv_map_size_bytes,
				 .max_value_bytes = c->kv_max_value_bytes };
	struct kv_stats st;
	char dir[PATH_MAX];
	int r;

	if (c->kv_memory) {
		r = kv_open_memory(&lim, &d->kv);
		snprintf(dir, sizeof(dir), "memory");
	} else if ((size_t)snprintf(dir, sizeof(dir), "%s/kv", c->state_dir) >= sizeof(dir)) {
		r = -ENAMETOOLONG;
	} else {
		r = mkdir_p(c->state_dir, 0750);
		if (r == 0)
			r = kv_open_lmdb(dir, &lim, &d->kv);
	}
	if (r == -EBUSY)
		return log_error_errno(r, "Cannot open the key-value store in %s: another process "
					  "(a second ustackd on the same --state-dir?) has it open",
				       dir);
	if (r == -EUCLEAN)
		return log_error_errno(r, "Cannot open the key-value store in %s: its redo log "
					  "(wal.log) starts after the last checkpoint in data.mdb, "
					  "so acknowledged writes are missing (data.mdb restored "
					  "alone?); move wal.log away to start without them",
				       dir);
	if (r < 0)
		return log_error_errno(r, "Cannot open the key-value store in %s", dir);
	log_info("key-value store: %s, map %zu bytes, values up to %zu bytes", dir,
		 c->kv_map_size_bytes, c->kv_max_value_bytes);
	kv_stats_get(d->kv, &st);
	if (st.replayed_records)
		log_notice("key-value store: replayed %" PRIu64 " log records (writes acknowledged "
			   "after the last checkpoint)", st.replayed_records);
	if (st.wal_forged_records)
		log_warning("key-value store: its redo log ended at a record with the next seq and "
			    "a good CRC but a wrong tag, not replayed (a value made to look like a "
			    "log record, or garbage; docs/kv.md, \"Durability\")");
	return 0;
}

/* Services, stack and device, in the reverse order of their start; each step copes with
 * what was never started, so it serves both a failed start and a stop. */
static void ustackd_teardown(struct ustackd *d)
{
	kv_close(d->kv); /* every acknowledged write is already on disk */
	d->kv = NULL;
	service_tcp_stop(&d->services);
	service_udp_stop(&d->services);
	if (d->st)
		stack_free(d->st);
	d->st = NULL;
	device_close(&d->dev);
}

int ustackd_start(struct ustackd *d)
{
	struct ustackd_config *c = &d->cfg;
	struct mac mac = c->mac;
	uint8_t seed[32];
	char addr[INET_ADDRSTRLEN];
	int r;

	d->start_ns = ustackd_now_ns();
	config_runtime_dir(c, d->runtime_dir, sizeof(d->runtime_dir));
	log_debug("config: backend %s, ifname %s, queue %u, xdp-mode %s, mtu %u, control %s, "
		  "state-dir %s, pcap %s, %u services, reasm %zu bytes/%u fragments/%u ms",
		  backend_name(c->backend), c->ifname, c->queue, xdp_mode_name(c->xdp_mode), c->mtu,
		  c->control, c->state_dir, c->pcap[0] ? c->pcap : "-", c->nservices,
		  c->stack.reasm_max_bytes, c->stack.reasm_max_fragments,
		  c->stack.reasm_timeout_ms);
	r = mkdir_p(d->runtime_dir, 0755);
	if (r < 0)
		log_warning_errno(r, "Cannot create the runtime directory %s", d->runtime_dir);
	if (c->backend == BACKEND_AF_XDP) {
		/* The id of our XDP program outlives a kill here, for the successor. */
		r = mkdir_p(c->state_dir, 0750);
		if (r < 0)
			log_warning_errno(r, "Cannot create the state directory %s", c->state_dir);
		if ((size_t)snprintf(d->prog_record, sizeof(d->prog_record), "%s/xdp-%s.prog",
				     c->state_dir, c->ifname) >= sizeof(d->prog_record))
			d->prog_record[0] = '\0';
	}
	if (!c->mac_set) {
		/* A random locally administered unicast MAC (IEEE 802: U/L bit set, I/G
		 * clear); the gratuitous ARP at start updates neighbours' caches. */
		ustackd_random(mac.b, sizeof(mac.b), NULL);
		mac.b[0] = (uint8_t)((mac.b[0] & 0xfe) | 0x02);
	}
	r = device_open(&d->dev, c, &mac, d->prog_record[0] ? d->prog_record : NULL);
	if (r < 0)
		return r;
	frame_tap_init(&d->tap, d->dev.nif);
	r = stack_new(&c->stack, &d->tap.nif, ustackd_random, NULL, ustackd_now_ns(), &d->st);
	if (r < 0) {
		log_error_errno(r, "Cannot create the stack");
		goto fail;
	}
	ustackd_random(seed, sizeof(seed), NULL);
	r = service_udp_start(&d->services, d->st, c->services, c->nservices, seed);
	if (r < 0)
		goto fail;
	r = service_tcp_start(&d->services, c->keepalive_idle_s, c->keepalive_interval_s,
			      c->keepalive_count);
	if (r < 0)
		goto fail;
	r = ustackd_kv_open(d);
	if (r < 0)
		goto fail;
	r = snmp_file_init(&d->snmp, d->runtime_dir, c->stack.default_ttl);
	if (r == 0) {
		d->snmp_on = true;
		r = snmp_file_update(&d->snmp, stack_stats(d->st), true);
		if (r < 0) {
			log_warning_errno(r, "Cannot write %s", d->snmp.path);
			d->snmp_on = false;
		}
	}
	r = stack_up(d->st, ustackd_now_ns());
	if (r < 0)
		log_warning_errno(r, "Gratuitous ARP not sent");
	device_flush(&d->dev);
	inet_ntop(AF_INET, &c->stack.addr, addr, sizeof(addr));
	log_notice("up: %s, %s/%u, MAC %02x:%02x:%02x:%02x:%02x:%02x, MTU %u", d->dev.desc, addr,
		   c->stack.prefix_len, d->dev.nif->mac.b[0], d->dev.nif->mac.b[1],
		   d->dev.nif->mac.b[2], d->dev.nif->mac.b[3], d->dev.nif->mac.b[4],
		   d->dev.nif->mac.b[5], c->mtu);
	return 0;
fail:
	ustackd_teardown(d);
	return r;
}

void ustackd_stop(struct ustackd *d)
{
	/* Abort the services' connections, send their RSTs, and only then quiesce the device
	 * (device_report detaches the XDP program): the other order left AF_XDP peers with
	 * half-open connections (issue 11 item 6). */
	service_tcp_stop(&d->services);
	service_udp_stop(&d->services);
	device_drain(&d->dev);
	if (d->st && d->snmp_on)
		snmp_file_update(&d->snmp, stack_stats(d->st), false);
	if (d->st)
		device_report(&d->dev);
	ustackd_teardown(d);
}
