/* ustackctl status, stats, arp, sockets: one call each, printed as text or --json. */
#include <stdio.h>
#include <string.h>

#include "cli/ctl.h"

/* One reply kept for printing (a reference of its parameters). */
static int keep_reply(struct json_object *params, int continues, void *ctx)
{
	struct json_object **out = ctx;

	(void)continues;
	json_object_put(*out);
	*out = json_object_get(params);
	return 0;
}

/* Calls `method` and returns its reply (NULL after printing the failure). */
static struct json_object *call_one(struct ctl *c, const char *method,
				    struct json_object *params, int *rc)
{
	struct json_object *reply = NULL;
	int r;

	*rc = ctl_open(c);
	if (*rc) {
		json_object_put(params);
		return NULL;
	}
	r = ustackint_call_json(c->u, method, params, 0, -1, keep_reply, &reply);
	if (r < 0) {
		json_object_put(reply);
		*rc = ctl_fail(c, r, NULL);
		return NULL;
	}
	if (!reply)
		reply = json_object_new_object();
	return reply;
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
	struct json_object *r, *v;
	int rc;
	size_t i;

	(void)argc;
	(void)argv;
	r = call_one(c, "io.ustack.Stack.Status", NULL, &rc);
	if (!r)
		return rc;
	if (c->json) {
		ctl_print_json(r);
	} else {
		printf("ustackd %s, pid %lld, up %lld s\n", ctl_str(r, "version") ?: "?",
		       ctl_num(r, "pid", 0), ctl_num(r, "uptime_s", 0));
		printf("interface: %s (%s", ctl_str(r, "ifname") ?: "?", ctl_str(r, "backend") ?: "?");
		if (ctl_str(r, "xdp_mode"))
			printf(" %s, queue %lld", ctl_str(r, "xdp_mode"), ctl_num(r, "queue", 0));
		printf("), mtu %lld, mac %s\n", ctl_num(r, "mtu", 0), ctl_str(r, "mac") ?: "?");
		printf("address: %s/%lld", ctl_str(r, "address") ?: "?", ctl_num(r, "prefix_len", 0));
		if (ctl_str(r, "gateway"))
			printf(", gateway %s", ctl_str(r, "gateway"));
		printf("\nservices:");
		if (json_object_object_get_ex(r, "services", &v) &&
		    json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0) {
			for (i = 0; i < json_object_array_length(v); i++)
				printf(" %s", json_object_get_string(json_object_array_get_idx(v, i)));
		} else {
			printf(" none");
		}
		printf("\nsockets: %lld tcp, %lld udp; clients: %lld\n", ctl_num(r, "tcp_sockets", 0),
		       ctl_num(r, "udp_sockets", 0), ctl_num(r, "clients", 0));
	}
	json_object_put(r);
	return CTL_EXIT_OK;
}

int cmd_stats(struct ctl *c, int argc, char **argv)
{
	struct json_object *r, *counters;
	int rc;

	(void)argc;
	(void)argv;
	r = call_one(c, "io.ustack.Stack.Stats", NULL, &rc);
	if (!r)
		return rc;
	if (c->json) {
		ctl_print_json(r);
	} else if (json_object_object_get_ex(r, "counters", &counters) &&
		   json_object_is_type(counters, json_type_object)) {
		/* The layout of nstat -a: name, value. */
		json_object_object_foreach(counters, name, val)
			printf("%-32s %lld\n", name, (long long)json_object_get_int64(val));
	}
	json_object_put(r);
	return CTL_EXIT_OK;
}

static int arp_list(struct ctl *c)
{
	struct json_object *r, *entries;
	int rc;
	size_t i;

	r = call_one(c, "io.ustack.Stack.Arp", NULL, &rc);
	if (!r)
		return rc;
	if (c->json) {
		ctl_print_json(r);
	} else if (json_object_object_get_ex(r, "entries", &entries) &&
		   json_object_is_type(entries, json_type_array)) {
		printf("%-16s %-18s %-11s %s\n", "Address", "HWaddress", "State", "Expires");
		for (i = 0; i < json_object_array_length(entries); i++) {
			struct json_object *e = json_object_array_get_idx(entries, i);
			long long ms = ctl_num(e, "expires_ms", -1);
			char exp[32] = "-";

			if (ms >= 0)
				snprintf(exp, sizeof(exp), "%lld.%03llds", ms / 1000, ms % 1000);
			printf("%-16s %-18s %-11s %s\n", ctl_str(e, "address") ?: "?",
			       ctl_str(e, "mac") ?: "(incomplete)", ctl_str(e, "state") ?: "?", exp);
		}
	}
	json_object_put(r);
	return CTL_EXIT_OK;
}

static bool mac_arg(const char *s)
{
	unsigned b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) == 6 && strlen(s) == 17)
		return true;
	ctl_usage("'%s' is not a MAC address (XX:XX:XX:XX:XX:XX)", s);
	return false;
}

static int arp_change(struct ctl *c, const char *method, struct json_object *params)
{
	struct json_object *r;
	int rc;

	r = call_one(c, method, params, &rc);
	if (!r)
		return rc;
	json_object_put(r);
	return CTL_EXIT_OK;
}

int cmd_arp(struct ctl *c, int argc, char **argv)
{
	struct json_object *p;

	if (argc == 1)
		return arp_list(c);
	if (c->json)
		return ctl_usage("--json applies to 'arp' (the list) only");
	if (strcmp(argv[1], "add") == 0) {
		if (argc != 4)
			return ctl_usage("usage: arp add IP MAC");
		if (!ctl_ipv4_arg(argv[2]) || !mac_arg(argv[3]))
			return CTL_EXIT_USAGE;
		p = json_object_new_object();
		json_object_object_add(p, "address", json_object_new_string(argv[2]));
		json_object_object_add(p, "mac", json_object_new_string(argv[3]));
		return arp_change(c, "io.ustack.Stack.ArpAdd", p);
	}
	if (strcmp(argv[1], "del") == 0) {
		if (argc != 3)
			return ctl_usage("usage: arp del IP");
		if (!ctl_ipv4_arg(argv[2]))
			return CTL_EXIT_USAGE;
		p = json_object_new_object();
		json_object_object_add(p, "address", json_object_new_string(argv[2]));
		return arp_change(c, "io.ustack.Stack.ArpDelete", p);
	}
	return ctl_usage("unknown command 'arp %s' (arp, arp add IP MAC, arp del IP)", argv[1]);
}

static void endpoint(struct json_object *s, const char *key, char *buf, size_t n)
{
	struct json_object *e;

	if (!json_object_object_get_ex(s, key, &e) || !json_object_is_type(e, json_type_object)) {
		snprintf(buf, n, "*:*");
		return;
	}
	snprintf(buf, n, "%s:%lld", ctl_str(e, "address") ?: "*", ctl_num(e, "port", 0));
}

int cmd_sockets(struct ctl *c, int argc, char **argv)
{
	struct json_object *r, *socks;
	int rc;
	size_t i;

	(void)argc;
	(void)argv;
	r = call_one(c, "io.ustack.Stack.Sockets", NULL, &rc);
	if (!r)
		return rc;
	if (c->json) {
		ctl_print_json(r);
	} else if (json_object_object_get_ex(r, "sockets", &socks) &&
		   json_object_is_type(socks, json_type_array)) {
		/* The columns of ss -tuan, then who holds the socket. */
		printf("%-5s %-12s %8s %8s %-21s %-21s %s\n", "Netid", "State", "Recv-Q",
		       "Send-Q", "Local Address:Port", "Peer Address:Port", "Process");
		for (i = 0; i < json_object_array_length(socks); i++) {
			struct json_object *s = json_object_array_get_idx(socks, i);
			char local[48], peer[48], owner[32] = "ustackd";
			long long pid = ctl_num(s, "owner_pid", -1);

			endpoint(s, "local", local, sizeof(local));
			endpoint(s, "remote", peer, sizeof(peer));
			if (pid >= 0)
				snprintf(owner, sizeof(owner), "pid=%lld", pid);
			printf("%-5s %-12s %8lld %8lld %-21s %-21s %s\n", ctl_str(s, "protocol") ?: "?",
			       ctl_str(s, "state") ?: "?", ctl_num(s, "recv_queue", 0),
			       ctl_num(s, "send_queue", 0), local, peer, owner);
		}
	}
	json_object_put(r);
	return CTL_EXIT_OK;
}
