/* Sends one TCP/IPv4 super-segment through the stack's transmit offload to a TAP, for
 * tap_tso.sh to check what the kernel makes of it. Not a TCP connection: one hand-built
 * TCP header (SEQ 1000, ACK|PSH|FIN) and DATA_LEN bytes of a known pattern, handed to
 * ipv4_write() with gso_size, through the pcap wrapper (which records what went to the
 * device) to the TAP opened with IFF_VNET_HDR.
 *
 *   tso_probe IFNAME ADDR/PREFIX GATEWAY GATEWAY_MAC DST PORT GSO_SIZE DATA_LEN PCAP
 *
 * Exits 0 when the write succeeded through the TAP's offload, 77 when the TAP has no
 * offload here (the reason on stderr), 1 on any other failure. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/uio.h>

#include "backends/pcap.h"
#include "backends/tap.h"
#include "stack/stack.h"
#include "stack/stack_var.h"
#include "stack/wire/be.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"

static void probe_random(void *buf, size_t len, void *ctx)
{
	(void)ctx;
	if (getrandom(buf, len, 0) != (ssize_t)len)
		memset(buf, 0x5a, len); /* a probe: any bytes will do */
}

struct probe_tcp {
	uint16_t port;
};

static size_t probe_tcp_fill(uint8_t *th, size_t len, void *ctx)
{
	const struct probe_tcp *p = ctx;

	(void)len;
	memset(th, 0, TCP_HDR_LEN);
	be16_store(th, 40000);
	be16_store(th + 2, p->port);
	be32_store(th + 4, 1000);
	be32_store(th + 8, 1);
	th[12] = (TCP_HDR_LEN / 4) << 4;
	th[13] = TCP_ACK | TCP_PSH | TCP_FIN;
	be16_store(th + 14, 65535);
	return TCP_HDR_LEN; /* the checksum is the IPv4 layer's with gso_size */
}

static int parse_mac(const char *s, struct mac *m)
{
	unsigned b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		m->b[i] = (uint8_t)b[i];
	return 0;
}

int main(int argc, char **argv)
{
	struct tap_config tc = { .mtu = 1500, .mac = { { 0x02, 0x75, 0, 0, 0, 0x02 } },
				 .offload = true };
	struct stack_config cfg;
	struct ipv4_write_opts o = IPV4_WRITE_OPTS_DEFAULT;
	struct probe_tcp pt;
	struct pcap_netif pc;
	struct tap *tap = NULL;
	struct stack *st = NULL;
	struct in_addr gw, dst;
	struct mac gw_mac;
	struct iovec iov;
	uint8_t *data = NULL;
	size_t data_len;
	char why[256] = "", *slash;
	int r, rc = 1;

	if (argc != 10) {
		fprintf(stderr, "usage: %s IFNAME ADDR/PREFIX GATEWAY GATEWAY_MAC DST PORT "
				"GSO_SIZE DATA_LEN PCAP\n", argv[0]);
		return 2;
	}
	stack_config_defaults(&cfg);
	slash = strchr(argv[2], '/');
	if (!slash || (*slash = 0, inet_pton(AF_INET, argv[2], &cfg.addr) != 1) ||
	    inet_pton(AF_INET, argv[3], &gw) != 1 || parse_mac(argv[4], &gw_mac) < 0 ||
	    inet_pton(AF_INET, argv[5], &dst) != 1) {
		fprintf(stderr, "tso_probe: bad address argument\n");
		return 2;
	}
	cfg.prefix_len = (unsigned)atoi(slash + 1);
	cfg.gateway = gw;
	pt.port = (uint16_t)atoi(argv[6]);
	o.gso_size = (uint16_t)atoi(argv[7]);
	data_len = strtoul(argv[8], NULL, 10);

	tc.ifname = argv[1];
	r = tap_open(&tc, &tap, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "tso_probe: %s\n", why);
		return 1;
	}
	if (!tap_offload(tap)) {
		fprintf(stderr, "SKIP: the TAP has no offload here: %s\n", tap_offload_why(tap));
		rc = 77;
		goto out;
	}
	r = pcap_netif_open(&pc, tap_netif(tap), argv[9]);
	if (r < 0) {
		fprintf(stderr, "tso_probe: pcap %s: %s\n", argv[9], strerror(-r));
		goto out;
	}
	if (netif_gso_max(&pc.nif) != IPV4_MAX_LEN) {
		fprintf(stderr, "tso_probe: gso_max %u through the pcap wrapper\n",
			netif_gso_max(&pc.nif));
		goto out_pcap;
	}
	r = stack_new(&cfg, &pc.nif, probe_random, NULL, 1, &st);
	if (r < 0 || (r = arp_add_static(stack_arp(st), gw, gw_mac)) < 0) {
		fprintf(stderr, "tso_probe: stack: %s\n", strerror(-r));
		goto out_pcap;
	}
	data = malloc(data_len ? data_len : 1);
	if (!data)
		goto out_pcap;
	for (size_t i = 0; i < data_len; i++)
		data[i] = (uint8_t)(i * 13 + (i >> 9) + 1);
	iov.iov_base = data;
	iov.iov_len = data_len;
	r = ipv4_write(&st->ip, &o, dst, IPV4_PROTO_TCP, TCP_HDR_LEN, probe_tcp_fill, &pt, &iov,
		       1);
	if (r < 0) {
		fprintf(stderr, "tso_probe: ipv4_write: %s\n", strerror(-r));
		goto out_pcap;
	}
	printf("wrote %zu bytes: tx_gso_frames %llu IpOutGsoRequests %llu IpOutRequests %llu\n",
	       data_len, (unsigned long long)tap_stats(tap)->tx_gso_frames,
	       (unsigned long long)stack_stats(st)->v[STAT_IpOutGsoRequests],
	       (unsigned long long)stack_stats(st)->v[STAT_IpOutRequests]);
	rc = tap_stats(tap)->tx_gso_frames == 1 ? 0 : 1;
out_pcap:
	pcap_netif_close(&pc);
out:
	free(data);
	stack_free(st);
	tap_close(tap);
	return rc;
}
