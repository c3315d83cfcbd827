/* ustackd configuration: the flags of design.md §3 (plus --busy-poll), each also a `key = value` line in the
 * file given with --config (the key is the flag without its dashes). Precedence: embedded
 * defaults < config file < command-line flags. */
#ifndef USTACKD_CONFIG_H
#define USTACKD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "stack/stack.h"

enum backend_kind {
	BACKEND_TAP,
	BACKEND_AF_XDP,
};

enum config_xdp_mode {
	CONFIG_XDP_AUTO,	 /* native when the driver has it, else skb (generic) */
	CONFIG_XDP_SKB,	 /* generic XDP: any driver, copy mode */
	CONFIG_XDP_NATIVE, /* driver XDP */
};

enum service_kind {
	SERVICE_ECHO,	 /* RFC 862 */
	SERVICE_DISCARD, /* RFC 863 */
	SERVICE_CHARGEN, /* RFC 864 */
};

#define CONFIG_MAX_SERVICES 16

struct service_spec {
	enum service_kind kind;
	uint16_t port;
};

struct ustackd_config {
	char config_file[PATH_MAX]; /* "" when none */
	enum backend_kind backend;
	char ifname[16];	    /* IFNAMSIZ */
	unsigned queue;
	enum config_xdp_mode xdp_mode;
	bool mac_set;		    /* false: TAP random, AF_XDP the interface's */
	struct mac mac;
	char control[108];	    /* sun_path; its directory is the runtime directory */
	char state_dir[PATH_MAX];
	bool kv_memory;
	size_t kv_map_size_bytes;  /* LMDB map size (the store's largest size) */
	size_t kv_max_value_bytes; /* the largest value the store accepts */
	char pcap[PATH_MAX];	    /* "" when none */
	struct service_spec services[CONFIG_MAX_SERVICES];
	unsigned nservices;
	uint32_t keepalive_idle_s, keepalive_interval_s, keepalive_count;
	enum log_level log_level;
	unsigned busy_poll_us; /* keep polling the device this long after a frame; 0: never */
	bool tap_offload;      /* TAP receive offload (IFF_VNET_HDR, TSO4); default on */
	unsigned wait_interface_s; /* AF_XDP: wait this long for the interface; 0: not */
	struct stack_config stack; /* address, prefix, gateway, MTU-independent limits */
	unsigned mtu;
};

#define CONFIG_DEFAULT_IFNAME "ustack0"
#define CONFIG_DEFAULT_CONTROL "/run/ustackd/ctl.sock"
#define CONFIG_DEFAULT_STATE_DIR "/var/lib/ustackd"
#define CONFIG_DEFAULT_MTU 1500

void config_defaults(struct ustackd_config *c);

/* Parses argv (after reading the --config file, if any, so that flags win). Returns 0,
 * 1 when --help or --version was printed (exit 0), or -EINVAL after printing a one-line
 * error to stderr (exit 2). */
int config_parse_args(struct ustackd_config *c, int argc, char **argv);

/* Applies one setting by key ("mtu", "address", ...) and value; used for both sources.
 * Returns 0 or -EINVAL with a message in why. */
int config_set(struct ustackd_config *c, const char *key, const char *value, char *why,
	       size_t whylen);

/* Reads `key = value` lines ('#' comments, blank lines). 0 or negative errno, with a
 * message naming the file and line. */
int config_load_file(struct ustackd_config *c, const char *path, char *why, size_t whylen);

/* Cross-field checks (e.g. the stack's own ranges). */
int config_check(const struct ustackd_config *c, char *why, size_t whylen);

/* The runtime directory: the directory of the control socket (/run/ustackd by default,
 * $RUNTIME_DIRECTORY under systemd). */
void config_runtime_dir(const struct ustackd_config *c, char *out, size_t outlen);

const char *backend_name(enum backend_kind b);
const char *xdp_mode_name(enum config_xdp_mode m);
const char *service_name(enum service_kind k);

void config_usage(FILE *f, const char *prog);

#endif
