/* io.ustack.Stack: Status, Stats, Arp, ArpAdd, ArpDelete, Sockets (ipc/io.ustack.Stack.varlink).
 * Ping, Traceroute and Capture have files of their own. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backends/af_xdp.h"
#include "daemon.h"
#include "rpc.h"
#include "stack/stack_var.h"
#include "stack/tcp.h"

static void add_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static int count_tcp(void *ctx, const struct tcp_sock *s)
{
	(void)s;
	(*(int64_t *)ctx)++;
	return 0;
}

static int stack_status(struct rpc_req *req)
{
	struct ustackd *d = rpc_client_daemon(req->client);
	const struct ustackd_config *c = &d->cfg;
	const struct stack_config *sc = stack_config(d->st);
	struct json_object *p = json_object_new_object(), *svcs = json_object_new_array();
	const uint8_t *m = d->dev.nif->mac.b;
	int64_t ntcp = 0;
	char buf[64];

	if (!p || !svcs) {
		json_object_put(p);
		json_object_put(svcs);
		return -ENOMEM;
	}
	add_str(p, "version", USTACK_VERSION);
	add_int(p, "pid", getpid());
	add_int(p, "uptime_s", (int64_t)((ustackd_now_ns() - d->start_ns) / 1000000000ull));
	add_str(p, "backend", backend_name(c->backend));
	add_str(p, "ifname", c->ifname);
	add_int(p, "queue", c->backend == BACKEND_AF_XDP ? c->queue : 0);
	if (c->backend == BACKEND_AF_XDP && d->dev.xdp) {
		/* "skb, copy" and the like: the attach mode is the first word */
		snprintf(buf, sizeof(buf), "%s", afxdp_attach_mode(d->dev.xdp));
		buf[strcspn(buf, " ,")] = '\0';
		add_str(p, "xdp_mode", buf);
	}
	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		 m[5]);
	add_str(p, "mac", buf);
	json_object_object_add(p, "address", rpc_addr_json(sc->addr));
	add_int(p, "prefix_len", sc->prefix_len);
	if (sc->gateway.s_addr)
		json_object_object_add(p, "gateway", rpc_addr_json(sc->gateway));
	add_int(p, "mtu", c->mtu);
	for (unsigned i = 0; i < c->nservices; i++) {
		snprintf(buf, sizeof(buf), "%s:%u", service_name(c->services[i].kind),
			 c->services[i].port);
		json_object_array_add(svcs, json_object_new_string(buf));
	}
	json_object_object_add(p, "services", svcs);
	tcp_foreach(d->st, count_tcp, &ntcp);
	add_int(p, "tcp_sockets", ntcp);
	add_int(p, "udp_sockets", d->st->udp.nsocks);
	add_int(p, "clients", rpc_server_clients(d));
	rpc_reply(req->client, p, false, NULL, 0);
	return 0;
}

static int stack_stats_method(struct rpc_req *req)
{
	struct ustackd *d = rpc_client_daemon(req->client);
	const struct stats *s = stack_stats(d->st);
	struct json_object *p = json_object_new_object(), *cs = json_object_new_object();

	if (!p || !cs) {
		json_object_put(p);
		json_object_put(cs);
		return -ENOMEM;
	}
	for (int i = 0; i < STAT__COUNT; i++)
		add_int(cs, stat_info[i].name, (int64_t)s->v[i]);
	for (int i = 0; i < RPC__COUNT; i++)
		add_int(cs, rpc_counter_names[i], (int64_t)rpc_server_counter(d, i));
	rpc_kv_counters(d, cs);
	json_object_object_add(p, "counters", cs);
	rpc_reply(req->client, p, false, NULL, 0);
	return 0;
}

static int stack_arp_list(struct rpc_req *req)
{
	struct ustackd *d = rpc_client_daemon(req->client);
	const struct stack_config *sc = stack_config(d->st);
	struct arp_entry_info info[512];
	size_t n = arp_dump(stack_arp(d->st), info, sizeof(info) / sizeof(info[0]));
	struct json_object *p = json_object_new_object(), *es = json_object_new_array();
	char mac[32];

	if (!p || !es) {
		json_object_put(p);
		json_object_put(es);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();
		const uint8_t *m = info[i].mac.b;

		if (!e)
			break;
		json_object_object_add(e, "address", rpc_addr_json(info[i].ip));
		if (info[i].state != ARP_STATE_INCOMPLETE && info[i].state != ARP_STATE_FAILED) {
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
				 m[2], m[3], m[4], m[5]);
			add_str(e, "mac", mac);
		}
		add_str(e, "state", arp_state_name(info[i].state));
		if (info[i].state == ARP_STATE_REACHABLE || info[i].state == ARP_STATE_STALE) {
			uint64_t limit = info[i].state == ARP_STATE_REACHABLE ? sc->arp_reachable_ms
									       : sc->arp_expire_ms;

			add_int(e, "expires_ms",
				(int64_t)(info[i].age_ms < limit ? limit - info[i].age_ms : 0));
		}
		json_object_array_add(es, e);
	}
	json_object_object_add(p, "entries", es);
	rpc_reply(req->client, p, false, NULL, 0);
	return 0;
}

static int parse_mac(const char *s, struct mac *m)
{
	unsigned b[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		m->b[i] = (uint8_t)b[i];
	return 0;
}

static int stack_arp_add(struct rpc_req *req)
{
	struct ustackd *d = rpc_client_daemon(req->client);
	struct in_addr a;
	struct mac m;
	const char *s;
	int err;

	if (varlink_get_string(req->call->params, "address", &s) < 0 || rpc_parse_addr(s, &a) < 0)
		return rpc_invalid_param(req, "address");
	if (varlink_get_string(req->call->params, "mac", &s) < 0 || parse_mac(s, &m) < 0)
		return rpc_invalid_param(req, "mac");
	err = arp_add_static(stack_arp(d->st), a, m);
	if (err < 0)
		return err;
	rpc_reply(req->client, NULL, false, NULL, 0);
	return 0;
}

static int stack_arp_delete(struct rpc_req *req)
{
	struct ustackd *d = rpc_client_daemon(req->client);
	struct in_addr a;
	const char *s;
	int err;

	if (varlink_get_string(req->call->params, "address", &s) < 0 || rpc_parse_addr(s, &a) < 0)
		return rpc_invalid_param(req, "address");
	err = arp_remove(stack_arp(d->st), a);
	if (err < 0)
		return err;
	rpc_reply(req->client, NULL, false, NULL, 0);
	return 0;
}

struct sockets_ctx {
	struct ustackd *d;
	struct json_object *arr;
};

static int list_tcp(void *ctx, const struct tcp_sock *s)
{
	struct sockets_ctx *sc = ctx;
	struct tcp_sock_info i;
	struct json_object *e = json_object_new_object();
	int pid;

	if (!e)
		return -ENOMEM;
	tcp_sock_get_info(s, &i);
	add_str(e, "protocol", "tcp");
	add_str(e, "state", tcp_state_name(i.state));
	json_object_object_add(e, "local", rpc_endpoint_json(i.laddr, i.lport));
	if (i.state != TCP_STATE_LISTEN && i.state != TCP_STATE_CLOSED)
		json_object_object_add(e, "remote", rpc_endpoint_json(i.raddr, i.rport));
	add_int(e, "send_queue", (int64_t)i.snd_queued);
	add_int(e, "recv_queue",
		(int64_t)(i.state == TCP_STATE_LISTEN ? i.accept_queued : i.rcv_queued));
	pid = rpc_sock_owner_pid(s);
	if (pid > 0)
		add_int(e, "owner_pid", pid);
	if (i.state != TCP_STATE_LISTEN) {
		add_int(e, "rto_ms", i.rto_ms);
		add_int(e, "cwnd", i.cwnd);
		add_int(e, "srtt_us", i.srtt_us);
	}
	json_object_array_add(sc->arr, e);
	return 0;
}

static int stack_sockets(struct rpc_req *req)
{
	struct ustackd *d = rpc_client_daemon(req->client);
	struct sockets_ctx sc = { d, json_object_new_array() };
	struct json_object *p = json_object_new_object();
	struct in_addr any = { 0 };

	if (!p || !sc.arr) {
		json_object_put(p);
		json_object_put(sc.arr);
		return -ENOMEM;
	}
	tcp_foreach(d->st, list_tcp, &sc);
	for (uint32_t port = 1; port < 65536 && d->st->udp.ports; port++) {
		struct json_object *e;
		int pid;

		if (!d->st->udp.ports[port])
			continue;
		e = json_object_new_object();
		if (!e)
			break;
		add_str(e, "protocol", "udp");
		pid = rpc_sock_owner_pid(d->st->udp.ports[port]);
		add_str(e, "state", "BOUND");
		json_object_object_add(e, "local", rpc_endpoint_json(any, (uint16_t)port));
		add_int(e, "send_queue", 0);
		add_int(e, "recv_queue", 0);
		if (pid > 0)
			add_int(e, "owner_pid", pid);
		json_object_array_add(sc.arr, e);
	}
	json_object_object_add(p, "sockets", sc.arr);
	rpc_reply(req->client, p, false, NULL, 0);
	return 0;
}

const struct rpc_method rpc_stack_methods[] = {
	{ "io.ustack.Stack.Status", stack_status, false, false },
	{ "io.ustack.Stack.Stats", stack_stats_method, false, false },
	{ "io.ustack.Stack.Arp", stack_arp_list, false, false },
	{ "io.ustack.Stack.ArpAdd", stack_arp_add, true, false },
	{ "io.ustack.Stack.ArpDelete", stack_arp_delete, true, false },
	{ "io.ustack.Stack.Sockets", stack_sockets, false, false },
	{ NULL, NULL, false, false },
};
