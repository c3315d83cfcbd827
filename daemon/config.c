#include "config.h"

#include "backends/af_xdp.h"
#include "stack/stack_limits.h"
#include "stack/wire/eth.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kv/kv.h"

#ifndef USTACK_VERSION
#define USTACK_VERSION "unknown"
#endif

/* Bounds of the settings; the reasons are in the comments. */
/* The stack's own ranges (stack/stack_limits.h) where it has one: a value accepted here is
 * one the stack accepts, and the error names the setting. */
#define MTU_MIN STACK_MTU_MIN
#define MTU_MAX 65521  /* the largest MTU a Linux TAP accepts (AF_XDP: config_check) */
#define QUEUE_MAX 1023 /* far above any NIC's channel count */
/* Linux's limits for TCP_KEEPIDLE/TCP_KEEPINTVL (MAX_TCP_KEEPIDLE) and TCP_KEEPCNT */
#define KEEPALIVE_TIME_MAX 32767
#define KEEPALIVE_COUNT_MAX 127
/* Waiting for an AF_XDP interface at start: long enough for udev and a slow driver, short
 * enough to stay under systemd's default TimeoutStartSec= (90 s). */
#define WAIT_INTERFACE_MAX 80
#define BUSY_POLL_MAX 10000 /* µs: beyond that it is a dedicated core, not a wait */
/* The kv map: a few LMDB pages at least; at most what a 64-bit address space reserves
 * comfortably. A value: at most 1 GiB (it travels in one RPC message, base64). */
#define KV_MAP_SIZE_MIN (1ul << 20)
#define KV_MAP_SIZE_MAX (1ul << 40)
#define KV_MAX_VALUE_MAX (1ul << 30)

static int why_set(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *backend_name(enum backend_kind b)
{
	return b == BACKEND_AF_XDP ? "af_xdp" : "tap";
}

const char *xdp_mode_name(enum config_xdp_mode m)
{
	switch (m) {
	case CONFIG_XDP_SKB:
		return "skb";
	case CONFIG_XDP_NATIVE:
		return "native";
	default:
		return "auto";
	}
}

const char *service_name(enum service_kind k)
{
	switch (k) {
	case SERVICE_ECHO:
		return "echo";
	case SERVICE_DISCARD:
		return "discard";
	default:
		return "chargen";
	}
}

void config_defaults(struct ustackd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->backend = BACKEND_TAP;
	snprintf(c->ifname, sizeof(c->ifname), "%s", CONFIG_DEFAULT_IFNAME);
	c->xdp_mode = CONFIG_XDP_AUTO;
	snprintf(c->control, sizeof(c->control), "%s", CONFIG_DEFAULT_CONTROL);
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", CONFIG_DEFAULT_STATE_DIR);
	/* Linux's defaults: tcp_keepalive_time, _intvl, _probes */
	c->keepalive_idle_s = 7200;
	c->keepalive_interval_s = 75;
	c->keepalive_count = 9;
	c->log_level = LOG_LEVEL_INFO;
	stack_config_defaults(&c->stack); /* 10.203.0.2/24, no gateway */
	c->mtu = CONFIG_DEFAULT_MTU;
	c->tap_offload = true; /* falls back to plain when the kernel refuses */
	c->kv_map_size_bytes = KV_DEFAULT_MAP_SIZE_BYTES;
	c->kv_max_value_bytes = KV_DEFAULT_MAX_VALUE_BYTES;
}

/* A decimal unsigned integer in [min, max], nothing else (no sign, no suffix). */
static int parse_uint(const char *key, const char *s, unsigned long min, unsigned long max,
		      unsigned long *out, char *why, size_t whylen)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)s[0]))
		return why_set(why, whylen, "%s: '%s' is not a number", key, s);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0')
		return why_set(why, whylen, "%s: '%s' is not a number", key, s);
	if (errno == ERANGE || v < min || v > max)
		return why_set(why, whylen, "%s: %s is out of range [%lu, %lu]", key, s, min,
			       max);
	*out = v;
	return 0;
}

static int parse_bool(const char *key, const char *s, bool *out, char *why, size_t whylen)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return why_set(why, whylen, "%s: '%s' is not a boolean (yes/no)", key, s);
}

static int parse_ipv4(const char *key, const char *s, struct in_addr *out, char *why,
		      size_t whylen)
{
	if (inet_pton(AF_INET, s, out) != 1)
		return why_set(why, whylen, "%s: '%s' is not an IPv4 address (A.B.C.D)", key,
			       s);
	return 0;
}

static int parse_address(const char *key, const char *s, struct stack_config *sc, char *why,
			 size_t whylen)
{
	char buf[INET_ADDRSTRLEN + 4];
	const char *slash = strchr(s, '/');
	unsigned long prefix;
	struct in_addr a;
	uint32_t h, mask;
	int r;

	if (!slash || (size_t)(slash - s) >= INET_ADDRSTRLEN)
		return why_set(why, whylen, "%s: '%s' is not A.B.C.D/PREFIX", key, s);
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	r = parse_ipv4(key, buf, &a, why, whylen);
	if (r < 0)
		return r;
	r = parse_uint(key, slash + 1, 1, 32, &prefix, why, whylen);
	if (r < 0)
		return why_set(why, whylen, "%s: prefix '%s' must be 1..32", key, slash + 1);
	h = addr_to_host(a);
	mask = addr_prefix_mask((unsigned)prefix);
	if (h == 0 || addr_is_multicast(a) || (h >> 24) == 127 || (h >> 28) == 0xf)
		return why_set(why, whylen, "%s: %s is not a unicast host address", key, buf);
	if (prefix <= 30 && ((h & ~mask) == 0 || (h & ~mask) == ~mask))
		return why_set(why, whylen,
			       "%s: %s is the network or broadcast address of /%lu", key, buf,
			       prefix);
	sc->addr = a;
	sc->prefix_len = (unsigned)prefix;
	return 0;
}

static int parse_mac(const char *key, const char *s, struct mac *m, char *why, size_t whylen)
{
	unsigned v[MAC_LEN];
	char tail;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
				      &v[4], &v[5], &tail) != 6)
		return why_set(why, whylen, "%s: '%s' is not XX:XX:XX:XX:XX:XX", key, s);
	for (int i = 0; i < MAC_LEN; i++)
		m->b[i] = (uint8_t)v[i];
	if (mac_is_multicast(*m) || mac_eq(*m, MAC_ZERO))
		return why_set(why, whylen, "%s: %s is not a unicast MAC address", key, s);
	return 0;
}

static int parse_services(const char *key, const char *s, struct ustackd_config *c, char *why,
			  size_t whylen)
{
	char buf[512];
	char *save = NULL;
	unsigned n = 0;

	if (strlen(s) >= sizeof(buf))
		return why_set(why, whylen, "%s: list too long", key);
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':');
		struct service_spec sp;
		unsigned long port;
		int r;

		if (!colon)
			return why_set(why, whylen, "%s: '%s' is not NAME:PORT", key, item);
		*colon = '\0';
		if (strcmp(item, "echo") == 0)
			sp.kind = SERVICE_ECHO;
		else if (strcmp(item, "discard") == 0)
			sp.kind = SERVICE_DISCARD;
		else if (strcmp(item, "chargen") == 0)
			sp.kind = SERVICE_CHARGEN;
		else
			return why_set(why, whylen,
				       "%s: unknown service '%s' (echo, discard, chargen)", key,
				       item);
		r = parse_uint(key, colon + 1, 1, 65535, &port, why, whylen);
		if (r < 0)
			return r;
		sp.port = (uint16_t)port;
		for (unsigned i = 0; i < n; i++)
			if (c->services[i].port == sp.port)
				return why_set(why, whylen, "%s: port %u given twice", key,
					       sp.port);
		if (n == CONFIG_MAX_SERVICES)
			return why_set(why, whylen, "%s: at most %d services", key,
				       CONFIG_MAX_SERVICES);
		c->services[n++] = sp;
	}
	if (n == 0)
		return why_set(why, whylen, "%s: empty list", key);
	c->nservices = n;
	return 0;
}

static int parse_keepalive(const char *key, const char *s, struct ustackd_config *c,
			   char *why, size_t whylen)
{
	char buf[64], *p[3], *save = NULL;
	unsigned long v[3];
	int n = 0, r;

	if (strlen(s) >= sizeof(buf))
		return why_set(why, whylen, "%s: '%s' is not IDLE_S,INTERVAL_S,COUNT", key, s);
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n == 3)
			return why_set(why, whylen, "%s: '%s' is not IDLE_S,INTERVAL_S,COUNT",
				       key, s);
		p[n++] = t;
	}
	if (n != 3)
		return why_set(why, whylen, "%s: '%s' is not IDLE_S,INTERVAL_S,COUNT", key, s);
	if ((r = parse_uint("tcp-keepalive idle", p[0], 1, KEEPALIVE_TIME_MAX, &v[0], why,
			    whylen)) < 0 ||
	    (r = parse_uint("tcp-keepalive interval", p[1], 1, KEEPALIVE_TIME_MAX, &v[1], why,
			    whylen)) < 0 ||
	    (r = parse_uint("tcp-keepalive count", p[2], 1, KEEPALIVE_COUNT_MAX, &v[2], why,
			    whylen)) < 0)
		return r;
	c->keepalive_idle_s = (uint32_t)v[0];
	c->keepalive_interval_s = (uint32_t)v[1];
	c->keepalive_count = (uint32_t)v[2];
	return 0;
}

static int copy_string(const char *key, const char *s, char *dst, size_t dstlen, char *why,
		       size_t whylen)
{
	if (s[0] == '\0')
		return why_set(why, whylen, "%s: empty value", key);
	if (strlen(s) >= dstlen)
		return why_set(why, whylen, "%s: '%s' is longer than %zu bytes", key, s,
			       dstlen - 1);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). The
 * offset of the first bad byte, or -1 when s is valid. */
static long utf8_invalid_at(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	for (const unsigned char *p = s; *p;) {
		unsigned char b = *p;
		size_t n;
		uint32_t cp, min;

		if (b < 0x80) {
			p++;
			continue;
		}
		if (b >= 0xc2 && b <= 0xdf) {
			n = 1, cp = b & 0x1fu, min = 0x80;
		} else if (b >= 0xe0 && b <= 0xef) {
			n = 2, cp = b & 0x0fu, min = 0x800;
		} else if (b >= 0xf0 && b <= 0xf4) {
			n = 3, cp = b & 0x07u, min = 0x10000;
		} else {
			return (long)(p - s);
		}
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
				return (long)(p - s);
			cp = (cp << 6) | (p[i] & 0x3fu);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (long)(p - s);
		p += n + 1;
	}
	return -1;
}

/* Every value, from the file or a flag: text, so that it can be logged and shown as is. */
static int check_text(const char *key, const char *value, char *why, size_t whylen)
{
	long bad = utf8_invalid_at(value);

	if (bad >= 0)
		return why_set(why, whylen, "%s: the value is not valid UTF-8 (byte %ld)", key,
			       bad + 1);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return why_set(why, whylen,
				       "%s: the value contains a control character (0x%02x)", key,
				       *p);
	return 0;
}

int config_set(struct ustackd_config *c, const char *key, const char *value, char *why,
	       size_t whylen)
{
	unsigned long v;
	int r;

	if (check_text("key", key, why, whylen) < 0)
		return why_set(why, whylen, "a key that is not printable text");
	r = check_text(key, value, why, whylen);
	if (r < 0)
		return r;
	if (strcmp(key, "backend") == 0) {
		if (strcmp(value, "tap") == 0)
			c->backend = BACKEND_TAP;
		else if (strcmp(value, "af_xdp") == 0 || strcmp(value, "af-xdp") == 0)
			c->backend = BACKEND_AF_XDP;
		else
			return why_set(why, whylen, "backend: '%s' is not tap or af_xdp", value);
		return 0;
	}
	if (strcmp(key, "ifname") == 0) {
		/* Linux's dev_valid_name(): no '/', ':' or white space, not "." or "..". */
		if (strpbrk(value, "/: \t") || strcmp(value, ".") == 0 || strcmp(value, "..") == 0)
			return why_set(why, whylen, "ifname: '%s' is not an interface name",
				       value);
		return copy_string(key, value, c->ifname, sizeof(c->ifname), why, whylen);
	}
	if (strcmp(key, "queue") == 0) {
		r = parse_uint(key, value, 0, QUEUE_MAX, &v, why, whylen);
		if (r == 0)
			c->queue = (unsigned)v;
		return r;
	}
	if (strcmp(key, "xdp-mode") == 0) {
		if (strcmp(value, "auto") == 0)
			c->xdp_mode = CONFIG_XDP_AUTO;
		else if (strcmp(value, "skb") == 0)
			c->xdp_mode = CONFIG_XDP_SKB;
		else if (strcmp(value, "native") == 0)
			c->xdp_mode = CONFIG_XDP_NATIVE;
		else
			return why_set(why, whylen, "xdp-mode: '%s' is not auto, skb or native",
				       value);
		return 0;
	}
	if (strcmp(key, "address") == 0)
		return parse_address(key, value, &c->stack, why, whylen);
	if (strcmp(key, "gateway") == 0)
		return parse_ipv4(key, value, &c->stack.gateway, why, whylen);
	if (strcmp(key, "mac") == 0) {
		r = parse_mac(key, value, &c->mac, why, whylen);
		if (r == 0)
			c->mac_set = true;
		return r;
	}
	if (strcmp(key, "mtu") == 0) {
		r = parse_uint(key, value, MTU_MIN, MTU_MAX, &v, why, whylen);
		if (r == 0)
			c->mtu = (unsigned)v;
		return r;
	}
	if (strcmp(key, "control") == 0) {
		if (value[0] != '/')
			return why_set(why, whylen, "control: '%s' is not an absolute path",
				       value);
		return copy_string(key, value, c->control, sizeof(c->control), why, whylen);
	}
	if (strcmp(key, "state-dir") == 0) {
		if (value[0] != '/')
			return why_set(why, whylen, "state-dir: '%s' is not an absolute path",
				       value);
		return copy_string(key, value, c->state_dir, sizeof(c->state_dir), why, whylen);
	}
	if (strcmp(key, "kv-memory") == 0)
		return parse_bool(key, value, &c->kv_memory, why, whylen);
	if (strcmp(key, "kv-map-size") == 0) {
		r = parse_uint(key, value, KV_MAP_SIZE_MIN, KV_MAP_SIZE_MAX, &v, why, whylen);
		if (r == 0)
			c->kv_map_size_bytes = v;
		return r;
	}
	if (strcmp(key, "kv-max-value") == 0) {
		r = parse_uint(key, value, 1, KV_MAX_VALUE_MAX, &v, why, whylen);
		if (r == 0)
			c->kv_max_value_bytes = v;
		return r;
	}
	if (strcmp(key, "pcap") == 0)
		return copy_string(key, value, c->pcap, sizeof(c->pcap), why, whylen);
	if (strcmp(key, "service") == 0)
		return parse_services(key, value, c, why, whylen);
	if (strcmp(key, "tcp-keepalive") == 0)
		return parse_keepalive(key, value, c, why, whylen);
	if (strcmp(key, "reasm-max-bytes") == 0) {
		r = parse_uint(key, value, STACK_REASM_BYTES_MIN, STACK_REASM_BYTES_MAX, &v, why,
			       whylen);
		if (r == 0)
			c->stack.reasm_max_bytes = v;
		return r;
	}
	if (strcmp(key, "reasm-max-fragments") == 0) {
		r = parse_uint(key, value, STACK_REASM_FRAGMENTS_MIN, STACK_REASM_FRAGMENTS_MAX, &v,
			       why, whylen);
		if (r == 0)
			c->stack.reasm_max_fragments = (unsigned)v;
		return r;
	}
	if (strcmp(key, "reasm-max-datagrams") == 0) {
		r = parse_uint(key, value, 1, STACK_REASM_DATAGRAMS_MAX, &v, why, whylen);
		if (r == 0)
			c->stack.reasm_max_datagrams = (unsigned)v;
		return r;
	}
	if (strcmp(key, "reasm-timeout") == 0) {
		r = parse_uint(key, value, STACK_REASM_TIMEOUT_S_MIN, STACK_REASM_TIMEOUT_S_MAX, &v,
			       why, whylen);
		if (r == 0)
			c->stack.reasm_timeout_ms = (uint32_t)v * 1000;
		return r;
	}
	if (strcmp(key, "tap-offload") == 0) {
		if (strcmp(value, "on") == 0)
			c->tap_offload = true;
		else if (strcmp(value, "off") == 0)
			c->tap_offload = false;
		else
			return why_set(why, whylen, "tap-offload: '%s' is not on or off", value);
		return 0;
	}
	if (strcmp(key, "wait-interface") == 0) {
		r = parse_uint(key, value, 0, WAIT_INTERFACE_MAX, &v, why, whylen);
		if (r == 0)
			c->wait_interface_s = (unsigned)v;
		return r;
	}
	if (strcmp(key, "busy-poll") == 0) {
		r = parse_uint(key, value, 0, BUSY_POLL_MAX, &v, why, whylen);
		if (r == 0)
			c->busy_poll_us = (unsigned)v;
		return r;
	}
	if (strcmp(key, "log-level") == 0) {
		if (log_level_parse(value, &c->log_level) < 0)
			return why_set(why, whylen,
				       "log-level: '%s' is not debug, info, notice, warning or err",
				       value);
		return 0;
	}
	return why_set(why, whylen, "unknown key '%s'", key);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* One line of at most len - 1 bytes into buf, without its newline. 1: a line, 0: the end
 * of the file, -E2BIG: longer, -EILSEQ: a NUL byte in it (the rest of the line would be
 * lost to strlen), or the read error. Never reads more than the line's first len bytes, so
 * that an endless file (/dev/zero) ends in an error rather than a hang. */
static int read_line(FILE *f, char *buf, size_t len)
{
	size_t n = 0;
	int ch;

	errno = 0;
	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (ch == '\0')
			return -EILSEQ;
		if (n == len - 1)
			return -E2BIG;
		buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	if (ch == EOF && ferror(f))
		return errno ? -errno : -EIO;
	return ch == EOF && n == 0 ? 0 : 1;
}

int config_load_file(struct ustackd_config *c, const char *path, char *why, size_t whylen)
{
	char line[1024], msg[512];
	unsigned lineno = 0;
	FILE *f = fopen(path, "re");
	int r = 0;

	if (!f) {
		r = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return r;
	}
	for (;;) {
		char *s, *eq, *key, *value;

		lineno++;
		r = read_line(f, line, sizeof(line));
		if (r == 0)
			break;
		if (r == -E2BIG) {
			r = why_set(why, whylen, "%s:%u: line too long (more than %zu bytes)", path,
				    lineno, sizeof(line) - 1);
			break;
		}
		if (r == -EILSEQ) {
			r = why_set(why, whylen, "%s:%u: a NUL byte (not a text file?)", path,
				    lineno);
			break;
		}
		if (r < 0) {
			/* fopen(3) opens a directory; reading it fails with EISDIR */
			snprintf(why, whylen, "%s: %s", path, strerror(-r));
			break;
		}
		r = 0;
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			r = why_set(why, whylen, "%s:%u: expected 'key = value'", path, lineno);
			break;
		}
		*eq = '\0';
		key = trim(s);
		value = trim(eq + 1);
		/* Allow "value" quoting, as systemd's EnvironmentFile does. */
		if (strlen(value) >= 2 && value[0] == '"' && value[strlen(value) - 1] == '"') {
			value[strlen(value) - 1] = '\0';
			value++;
		}
		if (strcmp(key, "config") == 0) {
			r = why_set(why, whylen, "%s:%u: 'config' cannot be nested", path, lineno);
			break;
		}
		r = config_set(c, key, value, msg, sizeof(msg));
		if (r < 0) {
			snprintf(why, whylen, "%s:%u: %s", path, lineno, msg);
			break;
		}
	}
	fclose(f);
	return r;
}

int config_check(const struct ustackd_config *c, char *why, size_t whylen)
{
	const char *sw = NULL;
	struct stack_config sc = c->stack;

	if (!addr_is_any(sc.gateway)) {
		uint32_t mask = addr_prefix_mask(sc.prefix_len);

		if ((addr_to_host(sc.gateway) & mask) != (addr_to_host(sc.addr) & mask))
			return why_set(why, whylen, "gateway: %s is not on the link of the address",
				       inet_ntoa(sc.gateway));
		if (addr_eq(sc.gateway, sc.addr))
			return why_set(why, whylen, "gateway: it is our own address");
	}
	if (c->kv_max_value_bytes >= c->kv_map_size_bytes)
		return why_set(why, whylen, "kv-max-value: %zu is not below kv-map-size (%zu)",
			       c->kv_max_value_bytes, c->kv_map_size_bytes);
	if (c->backend == BACKEND_TAP && c->queue != 0)
		return why_set(why, whylen, "queue: only the af_xdp backend has queues");
	if (c->backend == BACKEND_AF_XDP && c->mtu > afxdp_mtu_max())
		return why_set(why, whylen,
			       "mtu: %u is too large for af_xdp: a %u-byte UMEM frame less the "
			       "kernel's %u bytes of XDP headroom carries at most %u-byte frames, "
			       "an MTU of %u",
			       c->mtu, AFXDP_FRAME_SIZE, XDP_PACKET_HEADROOM,
			       afxdp_mtu_max() + ETH_HDR_LEN, afxdp_mtu_max());
	if (stack_config_check(&sc, &sw) < 0)
		return why_set(why, whylen, "stack configuration: %s", sw ? sw : "invalid");
	return 0;
}

void config_runtime_dir(const struct ustackd_config *c, char *out, size_t outlen)
{
	const char *slash = strrchr(c->control, '/');
	size_t n = slash ? (size_t)(slash - c->control) : 0;

	if (n == 0) {
		snprintf(out, outlen, "/");
		return;
	}
	snprintf(out, outlen, "%.*s", (int)n, c->control);
}

void config_usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [OPTION...]\n"
		"A userspace TCP/IP stack on a TAP device or an AF_XDP socket.\n\n"
		"  --config FILE             read 'key = value' lines (keys: the flags below)\n"
		"  --backend tap|af_xdp      network device (default tap)\n"
		"  --ifname NAME             interface (default " CONFIG_DEFAULT_IFNAME ")\n"
		"  --queue N                 AF_XDP queue (default 0)\n"
		"  --xdp-mode auto|skb|native  XDP attach mode (default auto)\n"
		"  --address A.B.C.D/PREFIX  our address (default 10.203.0.2/24)\n"
		"  --gateway A.B.C.D         default gateway (default none)\n"
		"  --mac XX:XX:XX:XX:XX:XX   our MAC (default: random for tap, the interface's "
		"for af_xdp)\n"
		"  --mtu N                   MTU (default 1500)\n"
		"  --control PATH            control socket; its directory is the runtime\n"
		"                            directory (default " CONFIG_DEFAULT_CONTROL ")\n"
		"  --state-dir DIR           persistent state (default " CONFIG_DEFAULT_STATE_DIR
		")\n"
		"  --kv-memory               keep the key-value store in memory\n"
		"  --kv-map-size BYTES       the store's largest size (default 1073741824)\n"
		"  --kv-max-value BYTES      the largest value (default 16777216)\n"
		"  --pcap FILE               write every frame in and out as pcap\n"
		"  --service NAME:PORT[,...] echo, discard, chargen servers (RFC 862/863/864)\n"
		"  --tcp-keepalive IDLE_S,INTERVAL_S,COUNT  (default 7200,75,9)\n"
		"  --reasm-max-bytes N       fragment cache memory (default 262144)\n"
		"  --reasm-max-datagrams N   datagrams in it (default: one per KiB)\n"
		"  --reasm-max-fragments N   fragments per datagram (default 16)\n"
		"  --reasm-timeout S         reassembly timeout (default 10)\n"
		"  --wait-interface S        af_xdp: wait up to S s for the interface to appear\n"
		"                            (default 0: fail at once)\n"
		"  --busy-poll USEC          after a frame, poll the device this long before\n"
		"                            sleeping (lower latency, more CPU; default 0)\n"
		"  --tap-offload on|off      TAP receive offload: checksum and TSO (64 KiB\n"
		"                            segments) via IFF_VNET_HDR (default on if the\n"
		"                            kernel has it)\n"
		"  --log-level debug|info|notice|warning|err  (default info)\n"
		"  -h, --help                this help\n"
		"  -V, --version             the version\n",
		prog);
}

enum {
	OPT_CONFIG = 256,
	OPT_KV_MEMORY,
	OPT_KEYED, /* every other long option: the key is its name */
};

static const struct option long_options[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "backend", required_argument, NULL, OPT_KEYED },
	{ "ifname", required_argument, NULL, OPT_KEYED },
	{ "queue", required_argument, NULL, OPT_KEYED },
	{ "xdp-mode", required_argument, NULL, OPT_KEYED },
	{ "address", required_argument, NULL, OPT_KEYED },
	{ "gateway", required_argument, NULL, OPT_KEYED },
	{ "mac", required_argument, NULL, OPT_KEYED },
	{ "mtu", required_argument, NULL, OPT_KEYED },
	{ "control", required_argument, NULL, OPT_KEYED },
	{ "state-dir", required_argument, NULL, OPT_KEYED },
	{ "kv-memory", no_argument, NULL, OPT_KV_MEMORY },
	{ "kv-map-size", required_argument, NULL, OPT_KEYED },
	{ "kv-max-value", required_argument, NULL, OPT_KEYED },
	{ "pcap", required_argument, NULL, OPT_KEYED },
	{ "service", required_argument, NULL, OPT_KEYED },
	{ "tcp-keepalive", required_argument, NULL, OPT_KEYED },
	{ "reasm-max-bytes", required_argument, NULL, OPT_KEYED },
	{ "reasm-max-fragments", required_argument, NULL, OPT_KEYED },
	{ "reasm-max-datagrams", required_argument, NULL, OPT_KEYED },
	{ "reasm-timeout", required_argument, NULL, OPT_KEYED },
	{ "log-level", required_argument, NULL, OPT_KEYED },
	{ "busy-poll", required_argument, NULL, OPT_KEYED },
	{ "wait-interface", required_argument, NULL, OPT_KEYED },
	{ "tap-offload", required_argument, NULL, OPT_KEYED },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

int config_parse_args(struct ustackd_config *c, int argc, char **argv)
{
	char why[600];
	const char *prog = argv[0];
	int opt, idx, r;

	/* Pass 1: --config, --help, --version, and usage errors. */
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":hV", long_options, &idx)) != -1) {
		switch (opt) {
		case 'h':
			config_usage(stdout, prog);
			return 1;
		case 'V':
			printf("ustackd %s\n", USTACK_VERSION);
			return 1;
		case OPT_CONFIG:
			r = copy_string("config", optarg, c->config_file, sizeof(c->config_file),
					why, sizeof(why));
			if (r < 0)
				goto bad;
			break;
		case ':':
			snprintf(why, sizeof(why), "option '%s' needs a value", argv[optind - 1]);
			goto bad;
		case '?':
			snprintf(why, sizeof(why), "unknown option '%s'", argv[optind - 1]);
			goto bad;
		default:
			break;
		}
	}
	if (optind < argc) {
		snprintf(why, sizeof(why), "unexpected argument '%s'", argv[optind]);
		goto bad;
	}
	if (c->config_file[0]) {
		r = config_load_file(c, c->config_file, why, sizeof(why));
		if (r < 0)
			goto bad;
	}
	/* Pass 2: the flags, over the file's values. */
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":hV", long_options, &idx)) != -1) {
		if (opt == OPT_KV_MEMORY) {
			c->kv_memory = true;
		} else if (opt == OPT_KEYED) {
			r = config_set(c, long_options[idx].name, optarg, why, sizeof(why));
			if (r < 0)
				goto bad;
		}
	}
	r = config_check(c, why, sizeof(why));
	if (r < 0)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "<%d>ustackd: %s (see --help)\n", LOG_LEVEL_ERR, why);
	return -EINVAL;
}
