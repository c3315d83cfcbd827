/* TCP sockets: the connection table, ports, listen/accept, the user calls, and the stack
 * hooks. Segment processing is in tcp_input.c, sending in tcp_output.c, timers in
 * tcp_timer.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tcp_var.h"

static const char *const state_names[] = {
	[TCP_STATE_CLOSED] = "CLOSED",
	[TCP_STATE_LISTEN] = "LISTEN",
	[TCP_STATE_SYN_SENT] = "SYN-SENT",
	[TCP_STATE_SYN_RECEIVED] = "SYN-RECEIVED",
	[TCP_STATE_ESTABLISHED] = "ESTABLISHED",
	[TCP_STATE_FIN_WAIT_1] = "FIN-WAIT-1",
	[TCP_STATE_FIN_WAIT_2] = "FIN-WAIT-2",
	[TCP_STATE_CLOSE_WAIT] = "CLOSE-WAIT",
	[TCP_STATE_CLOSING] = "CLOSING",
	[TCP_STATE_LAST_ACK] = "LAST-ACK",
	[TCP_STATE_TIME_WAIT] = "TIME-WAIT",
};

const char *tcp_state_name(enum tcp_state s)
{
	if ((unsigned)s >= sizeof(state_names) / sizeof(state_names[0]))
		return "?";
	return state_names[s];
}

/* ---- busy sections and deferred frees ------------------------------------------------ */

void tcp_enter(struct tcp *t)
{
	t->busy++;
}

static void sock_free(struct tcp_sock *s);

void tcp_leave(struct tcp *t)
{
	if (--t->busy > 0)
		return;
	while (t->reap) {
		struct tcp_sock *s = t->reap;
		t->reap = s->hnext;
		sock_free(s);
	}
}

/* ---- hash table, listeners, ports ---------------------------------------------------- */

static size_t tuple_hash(const struct tcp *t, struct in_addr laddr, uint16_t lport,
			 struct in_addr raddr, uint16_t rport)
{
	uint8_t k[12];
	memcpy(k, &laddr.s_addr, 4);
	memcpy(k + 4, &raddr.s_addr, 4);
	memcpy(k + 8, &lport, 2);
	memcpy(k + 10, &rport, 2);
	/* Keyed, so that a peer cannot aim its connections at one chain. */
	return (size_t)siphash24(t->hash_key, k, sizeof(k)) & t->hash_mask;
}

void tcp_hash_insert(struct tcp_sock *s)
{
	struct tcp *t = s->tcp;
	size_t h = tuple_hash(t, s->laddr, s->lport, s->raddr, s->rport);
	s->hnext = t->hash[h];
	t->hash[h] = s;
	s->hashed = true;
}

void tcp_hash_remove(struct tcp_sock *s)
{
	if (!s->hashed)
		return;
	struct tcp *t = s->tcp;
	size_t h = tuple_hash(t, s->laddr, s->lport, s->raddr, s->rport);
	for (struct tcp_sock **pp = &t->hash[h]; *pp; pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	}
	s->hnext = NULL;
	s->hashed = false;
}

struct tcp_sock *tcp_lookup(struct tcp *t, struct in_addr laddr, uint16_t lport,
			    struct in_addr raddr, uint16_t rport)
{
	size_t h = tuple_hash(t, laddr, lport, raddr, rport);
	for (struct tcp_sock *s = t->hash[h]; s; s = s->hnext) {
		if (s->lport == lport && s->rport == rport && addr_eq(s->laddr, laddr) &&
		    addr_eq(s->raddr, raddr))
			return s;
	}
	return NULL;
}

struct tcp_sock *tcp_lookup_listener(struct tcp *t, struct in_addr laddr, uint16_t lport)
{
	struct tcp_sock *wild = NULL;
	for (struct tcp_sock *s = t->listeners; s; s = s->hnext) {
		if (s->lport != lport)
			continue;
		if (addr_eq(s->laddr, laddr))
			return s;
		if (addr_is_any(s->laddr))
			wild = s;
	}
	return wild;
}

static void listener_remove(struct tcp_sock *s)
{
	if (!s->listening)
		return;
	for (struct tcp_sock **pp = &s->tcp->listeners; *pp; pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	}
	s->hnext = NULL;
	s->listening = false;
}

void tcp_port_ref(struct tcp *t, uint16_t port)
{
	t->port_refs[port]++;
}

void tcp_port_unref(struct tcp *t, uint16_t port)
{
	if (t->port_refs[port] > 0)
		t->port_refs[port]--;
}

/* ---- state and notifications ---------------------------------------------------------- */

static void orphan_uncount(struct tcp_sock *s)
{
	if (!s->orphan_counted)
		return;
	s->orphan_counted = false;
	if (s->tcp->norphans > 0)
		s->tcp->norphans--;
}

static bool counts_as_estab(enum tcp_state s)
{
	return s == TCP_STATE_ESTABLISHED || s == TCP_STATE_CLOSE_WAIT;
}

void tcp_set_state(struct tcp_sock *s, enum tcp_state ns)
{
	struct stack *st = s->st;
	enum tcp_state os = s->state;

	if (os == ns)
		return;
	tcp_batch_state_change(s, ns);
	/* RFC 4022 tcpCurrEstab: ESTABLISHED or CLOSE-WAIT. */
	if (counts_as_estab(os) && !counts_as_estab(ns))
		st->stats.v[STAT_TcpCurrEstab]--;
	else if (!counts_as_estab(os) && counts_as_estab(ns))
		STAT_INC(st, TcpCurrEstab);
	/* RFC 4022 tcpAttemptFails and tcpEstabResets. */
	if ((os == TCP_STATE_SYN_SENT || os == TCP_STATE_SYN_RECEIVED) &&
	    (ns == TCP_STATE_CLOSED || ns == TCP_STATE_LISTEN))
		STAT_INC(st, TcpAttemptFails);
	if (counts_as_estab(os) && ns == TCP_STATE_CLOSED)
		STAT_INC(st, TcpEstabResets);
	if (os == TCP_STATE_TIME_WAIT && s->tcp->ntime_wait > 0)
		s->tcp->ntime_wait--;
	/* An orphan stops counting against tcp_max_orphans once it is in TIME-WAIT (which
	 * has its own bound) or gone. */
	if (ns == TCP_STATE_TIME_WAIT || ns == TCP_STATE_CLOSED)
		orphan_uncount(s);
	if (ns == TCP_STATE_TIME_WAIT)
		s->tcp->ntime_wait++;
	s->state = ns;
}

static bool user_sees(const struct tcp_sock *s)
{
	return !s->orphan && s->parent == NULL && s->ops != NULL;
}

void tcp_notify_readable(struct tcp_sock *s)
{
	if (user_sees(s) && s->ops->readable)
		s->ops->readable(s, s->user);
}

static size_t send_lowat(const struct tcp_sock *s);

void tcp_notify_writable(struct tcp_sock *s)
{
	if (!s->want_writable || ring_free(&s->sndbuf) == 0 ||
	    ring_free(&s->sndbuf) < send_lowat(s))
		return;
	s->want_writable = false;
	if (user_sees(s) && s->ops->writable)
		s->ops->writable(s, s->user);
}

static void deliver_closed(struct tcp_sock *s, int err)
{
	if (user_sees(s) && s->ops->closed)
		s->ops->closed(s, s->user, err);
}

static void tell_closed(struct tcp_sock *s, int err)
{
	if (s->closed_told)
		return;
	s->closed_told = true;
	if (s->hold_closed) {
		s->closed_held = true;
		s->closed_held_err = err;
		return;
	}
	deliver_closed(s, err);
}

void tcp_hold_closed(struct tcp_sock *s)
{
	s->hold_closed = true;
}

void tcp_release_closed(struct tcp_sock *s)
{
	s->hold_closed = false;
	if (!s->closed_held)
		return;
	s->closed_held = false;
	deliver_closed(s, s->closed_held_err);
}

static void accept_queue_remove(struct tcp_sock *ls, struct tcp_sock *c)
{
	for (struct tcp_sock **pp = &ls->acc_head; *pp; pp = &(*pp)->acc_next) {
		if (*pp == c) {
			*pp = c->acc_next;
			if (ls->acc_tail == c) {
				ls->acc_tail = NULL;
				for (struct tcp_sock *x = ls->acc_head; x; x = x->acc_next)
					ls->acc_tail = x;
			}
			ls->acc_len--;
			break;
		}
	}
	c->acc_next = NULL;
	c->in_accept_queue = false;
}

/* Cuts a not-yet-accepted child from its listener. */
static void unlink_parent(struct tcp_sock *s)
{
	struct tcp_sock *ls = s->parent;
	if (!ls)
		return;
	if (s->in_accept_queue)
		accept_queue_remove(ls, s);
	else if (ls->syn_len > 0)
		ls->syn_len--;
	s->parent = NULL;
}

void tcp_child_established(struct tcp_sock *s)
{
	struct tcp_sock *ls = s->parent;
	if (!ls)
		return;
	if (ls->syn_len > 0)
		ls->syn_len--;
	s->in_accept_queue = true;
	s->acc_next = NULL;
	if (ls->acc_tail)
		ls->acc_tail->acc_next = s;
	else
		ls->acc_head = s;
	ls->acc_tail = s;
	ls->acc_len++;
	if (user_sees(ls) && ls->ops->accept_ready)
		ls->ops->accept_ready(ls, ls->user);
}

void tcp_drop(struct tcp_sock *s, int err)
{
	tcp_timer_stop_all(s);
	if (s->state != TCP_STATE_CLOSED)
		tcp_set_state(s, TCP_STATE_CLOSED);
	tcp_hash_remove(s);
	if (err && !s->err)
		s->err = err;
	if (s->parent) {
		/* Never seen by the user: goes away with its listener's bookkeeping. */
		unlink_parent(s);
		s->orphan = true;
	}
	tell_closed(s, err);
	if (s->orphan)
		tcp_sock_release(s);
}

void tcp_enter_time_wait(struct tcp_sock *s)
{
	struct tcp *t = s->tcp;

	tcp_timer_stop_all(s);
	if (t->ntime_wait >= t->max_time_wait) {
		/* Over the bound: close now, as Linux does when tcp_max_tw_buckets is hit. */
		STAT_INC(s->st, TcpExtTimeWaitOverflow);
		tcp_drop(s, 0);
		return;
	}
	tcp_set_state(s, TCP_STATE_TIME_WAIT);
	tcp_timer_set(s, TCP_T_2MSL, tcp_now(s) + (uint64_t)t->time_wait_ms * NS_PER_MS);
	tell_closed(s, 0);
	/* Nothing more is sent or read: give the buffers back now. */
	if (s->orphan)
		tcp_sock_free_buffers(s);
}

/* ---- allocation ---------------------------------------------------------------------- */

uint16_t tcp_mss_for_mtu(unsigned mtu)
{
	if (mtu <= TCP_IPV4_OVERHEAD + TCP_MIN_MSS)
		return TCP_MIN_MSS;
	if (mtu - TCP_IPV4_OVERHEAD > 0xffff)
		return 0xffff;
	return (uint16_t)(mtu - TCP_IPV4_OVERHEAD);
}

struct tcp_sock *tcp_sock_alloc(struct stack *st)
{
	struct tcp *t = st->tcp;
	struct tcp_sock *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->tcp = t;
	s->st = st;
	s->state = TCP_STATE_CLOSED;
	s->heap_idx = SIZE_MAX;
	s->deadline = UINT64_MAX;
	s->sndbuf_size = t->sndbuf;
	s->rcvbuf_size = t->rcvbuf;
	s->cc_ops = t->cc_ops;
	s->keep_idle_s = t->keep_idle_s;
	s->keep_intvl_s = t->keep_intvl_s;
	s->keep_cnt = t->keep_cnt;
	s->rto_ms = t->rto_initial_ms;
	asm_init(&s->ooo);
	s->all_next = t->all;
	if (t->all)
		t->all->all_prev = s;
	t->all = s;
	t->nsocks++;
	return s;
}

int tcp_sock_init_buffers(struct tcp_sock *s)
{
	if (s->sndbuf.cap == 0 && ring_init(&s->sndbuf, s->sndbuf_size) < 0)
		return -ENOMEM;
	if (s->rcvbuf.cap == 0 && ring_init(&s->rcvbuf, s->rcvbuf_size) < 0) {
		ring_fini(&s->sndbuf);
		return -ENOMEM;
	}
	return 0;
}

void tcp_mem_sync(struct tcp_sock *s)
{
	struct tcp *t = s->tcp;
	size_t now = ring_used(&s->sndbuf) + ring_used(&s->rcvbuf);

	t->mem_bytes = t->mem_bytes - s->mem_charged + now;
	s->mem_charged = now;
	bool over = t->mem_bytes > t->mem_max_bytes;
	/* Counted once per episode, as Linux's TCPMemoryPressures. */
	if (over && !t->mem_pressure)
		STAT_INC(s->st, TcpExtTCPMemoryPressures);
	t->mem_pressure = over;
}

void tcp_sock_free_buffers(struct tcp_sock *s)
{
	ring_fini(&s->sndbuf);
	ring_fini(&s->rcvbuf);
	tcp_mem_sync(s);
}

bool tcp_orphan_out_of_memory(struct tcp_sock *s)
{
	if (!s->orphan || !s->tcp->mem_pressure || ring_used(&s->sndbuf) == 0)
		return false;
	STAT_INC(s->st, TcpExtTCPAbortOnMemory);
	tcp_send_rst(s);
	tcp_drop(s, 0);
	/* Give the memory back now, not when a busy section ends: the next orphan's
	 * check must see it. */
	tcp_sock_free_buffers(s);
	return true;
}

uint16_t tcp_adv_mss(const struct tcp_sock *s)
{
	uint16_t mss = tcp_mss_for_mtu(netif_mtu(s->st->nif));
	if (s->maxseg_user && s->maxseg_user < mss)
		mss = (uint16_t)(s->maxseg_user < TCP_MIN_MSS ? TCP_MIN_MSS : s->maxseg_user);
	return mss;
}

uint8_t tcp_rcv_wscale(size_t rcvbuf)
{
	/* RFC 7323 §2.2: the smallest shift that lets us offer the whole buffer. */
	unsigned ws = 0;
	while (ws < TCP_RCV_WS_MAX && (rcvbuf >> ws) > TCP_MAX_WIN)
		ws++;
	return (uint8_t)ws;
}

uint32_t tcp_ts_offset(const struct tcp *t, struct in_addr laddr, struct in_addr raddr)
{
	uint8_t k[8];
	memcpy(k, &laddr.s_addr, 4);
	memcpy(k + 4, &raddr.s_addr, 4);
	return (uint32_t)(siphash24(t->hash_key, k, sizeof(k)) >> 32);
}

/* Parameters fixed before the first SYN: our MSS, window scale, timestamp offset. */
void tcp_sock_init_params(struct tcp_sock *s)
{
	s->adv_mss = tcp_adv_mss(s);
	s->pmtu = (uint16_t)netif_mtu(s->st->nif);
	s->rcv_ws = tcp_rcv_wscale(s->rcvbuf_size);
	s->ts_offset = tcp_ts_offset(s->tcp, s->laddr, s->raddr);
	s->rto_ms = s->tcp->rto_initial_ms;
	s->recover = s->iss;
}

static void sock_free(struct tcp_sock *s)
{
	struct tcp *t = s->tcp;

	tcp_batch_forget(s);
	tcp_timer_heap_remove(s);
	tcp_hash_remove(s);
	listener_remove(s);
	if (s->state == TCP_STATE_TIME_WAIT || counts_as_estab(s->state))
		tcp_set_state(s, TCP_STATE_CLOSED);
	orphan_uncount(s);
	tcp_sock_free_buffers(s);
	if (s->bound)
		tcp_port_unref(t, s->lport);
	if (s->all_prev)
		s->all_prev->all_next = s->all_next;
	else
		t->all = s->all_next;
	if (s->all_next)
		s->all_next->all_prev = s->all_prev;
	t->nsocks--;
	free(s);
}

void tcp_sock_release(struct tcp_sock *s)
{
	struct tcp *t = s->tcp;
	/* Out of every table now, so nothing finds it; memory goes later if busy. */
	tcp_timer_stop_all(s);
	tcp_timer_heap_remove(s);
	tcp_hash_remove(s);
	listener_remove(s);
	unlink_parent(s);
	s->ops = NULL;
	s->orphan = true;
	if (s->released)
		return;
	s->released = true;
	if (t->busy > 0) {
		/* The reap list uses hnext, unused once unhashed. */
		s->hnext = t->reap;
		t->reap = s;
		return;
	}
	sock_free(s);
}

/* ---- stack hooks --------------------------------------------------------------------- */

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

int tcp_init(struct stack *st)
{
	const struct stack_config *c = &st->cfg;
	struct tcp *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->st = st;
	t->hash_mask = ((size_t)1 << TCP_HASH_BITS) - 1;
	t->hash = calloc(t->hash_mask + 1, sizeof(*t->hash));
	t->port_refs = calloc(65536, sizeof(*t->port_refs));
	if (!t->hash || !t->port_refs) {
		free(t->hash);
		free(t->port_refs);
		free(t);
		return -ENOMEM;
	}
	st->random(t->isn_key, sizeof(t->isn_key), st->random_ctx);
	st->random(t->cookie_key, sizeof(t->cookie_key), st->random_ctx);
	st->random(t->hash_key, sizeof(t->hash_key), st->random_ctx);
	unsigned nports = TCP_EPHEMERAL_MAX - TCP_EPHEMERAL_MIN + 1;
	t->next_ephemeral = (uint16_t)(TCP_EPHEMERAL_MIN + rng_below(&st->rng, nports));

	t->rto_initial_ms = or_default(c->tcp_rto_initial_ms, 1000);
	t->rto_min_ms = or_default(c->tcp_rto_min_ms, 200);
	t->rto_max_ms = or_default(c->tcp_rto_max_ms, 120000);
	t->time_wait_ms = or_default(c->tcp_time_wait_ms, 60000);
	t->fin_timeout_ms = or_default(c->tcp_fin_timeout_ms, 60000);
	t->delack_ms = or_default(c->tcp_delack_ms, 40);
	t->max_time_wait = or_default(c->tcp_max_time_wait, 16384);
	t->max_orphans = or_default(c->tcp_max_orphans, 4096);
	t->syn_backlog = or_default(c->tcp_syn_backlog, 256);
	t->max_backlog = or_default(c->tcp_max_backlog, 4096);
	t->syn_retries = or_default(c->tcp_syn_retries, 6);
	t->synack_retries = or_default(c->tcp_synack_retries, 5);
	t->retries2 = or_default(c->tcp_retries2, 15);
	t->chack_limit = or_default(c->tcp_challenge_ack_limit, 1000);
	t->chack_sec = UINT64_MAX; /* no budget drawn yet */
	t->sndbuf = c->tcp_sndbuf ? c->tcp_sndbuf : 262144;
	t->rcvbuf = c->tcp_rcvbuf ? c->tcp_rcvbuf : 262144;
	t->syncookies = c->tcp_syncookies != 2;
	t->cc_ops = c->tcp_cc == TCP_CC_ALGO_NEWRENO ? &tcp_cc_newreno_ops : &tcp_cc_cubic_ops;
	t->keep_idle_s = or_default(c->tcp_keepalive_idle_s, 7200);
	t->keep_intvl_s = or_default(c->tcp_keepalive_interval_s, 75);
	t->keep_cnt = or_default(c->tcp_keepalive_count, 9);
	t->mem_max_bytes = c->tcp_mem_max_bytes ? c->tcp_mem_max_bytes : (size_t)256 << 20;
	if (t->rto_min_ms > t->rto_max_ms)
		t->rto_min_ms = t->rto_max_ms;

	int r = ipv4_register(&st->ip, IPV4_PROTO_TCP, tcp_input, tcp_icmp_error, t);
	if (r < 0) {
		free(t->hash);
		free(t->port_refs);
		free(t);
		return r;
	}
	st->tcp = t;
	return 0;
}

void tcp_fini(struct stack *st)
{
	struct tcp *t = st->tcp;
	if (!t)
		return;
	tcp_batch_discard(t);
	t->busy = 0;
	while (t->reap) {
		struct tcp_sock *s = t->reap;
		t->reap = s->hnext;
		sock_free(s);
	}
	while (t->all)
		sock_free(t->all);
	free(t->heap);
	free(t->hash);
	free(t->port_refs);
	free(t);
	st->tcp = NULL;
}

/* ---- user calls ---------------------------------------------------------------------- */

int tcp_open(struct stack *st, const struct tcp_sock_ops *ops, void *user,
	     struct tcp_sock **out)
{
	struct tcp_sock *s = tcp_sock_alloc(st);
	if (!s)
		return -ENOMEM;
	s->ops = ops;
	s->user = user;
	*out = s;
	return 0;
}

void tcp_set_ops(struct tcp_sock *s, const struct tcp_sock_ops *ops, void *user)
{
	s->ops = ops;
	s->user = user;
}

static bool port_bind_conflict(struct tcp *t, struct in_addr addr, uint16_t port)
{
	if (t->port_refs[port] == 0)
		return false;
	/* Connections (and TIME-WAIT) on the port do not block a new listener, as with
	 * SO_REUSEADDR; another listener or a bound, unconnected socket does. */
	for (struct tcp_sock *s = t->all; s; s = s->all_next) {
		if (!s->bound || s->lport != port || s->hashed || s->parent)
			continue;
		if (s->state != TCP_STATE_CLOSED && s->state != TCP_STATE_LISTEN)
			continue;
		if (addr_is_any(s->laddr) || addr_is_any(addr) || addr_eq(s->laddr, addr))
			return true;
	}
	return false;
}

static int bind_ephemeral(struct tcp_sock *s)
{
	struct tcp *t = s->tcp;
	unsigned n = TCP_EPHEMERAL_MAX - TCP_EPHEMERAL_MIN + 1;
	for (unsigned i = 0; i < n; i++) {
		uint16_t p = t->next_ephemeral;
		t->next_ephemeral = p >= TCP_EPHEMERAL_MAX ? TCP_EPHEMERAL_MIN : (uint16_t)(p + 1);
		if (t->port_refs[p] == 0) {
			s->lport = p;
			s->bound = true;
			tcp_port_ref(t, p);
			return 0;
		}
	}
	return -EAGAIN;
}

int tcp_bind(struct tcp_sock *s, struct in_addr addr, uint16_t port)
{
	struct tcp *t = s->tcp;
	if (s->state != TCP_STATE_CLOSED || s->bound || s->err)
		return -EINVAL;
	if (!addr_is_any(addr) && !addr_eq(addr, s->st->ip.addr))
		return -EADDRNOTAVAIL;
	s->laddr = addr;
	if (port == 0)
		return bind_ephemeral(s);
	if (port_bind_conflict(t, addr, port))
		return -EADDRINUSE;
	s->lport = port;
	s->bound = true;
	tcp_port_ref(t, port);
	return 0;
}

int tcp_listen(struct tcp_sock *s, unsigned backlog)
{
	struct tcp *t = s->tcp;
	if (s->state == TCP_STATE_LISTEN) {
		s->backlog = backlog ? backlog : TCP_DEFAULT_BACKLOG;
		if (s->backlog > t->max_backlog)
			s->backlog = t->max_backlog;
		return 0;
	}
	if (s->state != TCP_STATE_CLOSED || s->err || s->hashed)
		return -EINVAL;
	if (!s->bound) {
		int r = tcp_bind(s, (struct in_addr){ INADDR_ANY }, 0);
		if (r < 0)
			return r;
	}
	struct tcp_sock *other = tcp_lookup_listener(t, s->laddr, s->lport);
	if (other && addr_eq(other->laddr, s->laddr))
		return -EADDRINUSE;
	s->backlog = backlog ? backlog : TCP_DEFAULT_BACKLOG;
	if (s->backlog > t->max_backlog)
		s->backlog = t->max_backlog;
	s->state = TCP_STATE_LISTEN;
	s->hnext = t->listeners;
	t->listeners = s;
	s->listening = true;
	return 0;
}

void tcp_inherit_opts(struct tcp_sock *c, const struct tcp_sock *ls)
{
	c->nodelay = ls->nodelay;
	c->ttl = ls->ttl;
	c->keepalive = ls->keepalive;
	c->keep_idle_s = ls->keep_idle_s;
	c->keep_intvl_s = ls->keep_intvl_s;
	c->keep_cnt = ls->keep_cnt;
	c->user_timeout_ms = ls->user_timeout_ms;
}

int tcp_accept(struct tcp_sock *ls, const struct tcp_sock_ops *ops, void *user,
	       struct tcp_sock **out)
{
	if (ls->state != TCP_STATE_LISTEN)
		return -EINVAL;
	struct tcp_sock *c = ls->acc_head;
	if (!c)
		return -EAGAIN;
	accept_queue_remove(ls, c);
	c->parent = NULL;
	c->ops = ops;
	c->user = user;
	/* The listener's options may have changed since the SYN: take them again. */
	tcp_inherit_opts(c, ls);
	c->linger_rst = ls->linger_rst;
	tcp_rearm_keepalive(c);
	/* Data or the FIN that came before: the readable it could not get then is owed,
	 * from the next stack_poll (callbacks never run inside a user's call). */
	if (ring_used(&c->rcvbuf) > 0 || c->fin_rcvd)
		tcp_timer_set(c, TCP_T_NOTIFY, tcp_now(c));
	*out = c;
	return 0;
}

int tcp_connect(struct tcp_sock *s, struct in_addr addr, uint16_t port)
{
	struct tcp *t = s->tcp;
	struct stack *st = s->st;

	if (s->state != TCP_STATE_CLOSED)
		return s->state == TCP_STATE_LISTEN ? -EINVAL : -EISCONN;
	if (s->err || s->hashed)
		return -EISCONN;
	if (port == 0 || addr_is_any(addr) || addr_is_multicast(addr) ||
	    addr_is_limited_broadcast(addr) || ipv4_is_broadcast(&st->ip, addr))
		return -EINVAL;
	if (!s->bound) {
		int r = bind_ephemeral(s);
		if (r < 0)
			return r;
	}
	struct in_addr laddr = addr_is_any(s->laddr) ? st->ip.addr : s->laddr;
	if (tcp_lookup(t, laddr, s->lport, addr, port))
		return -EADDRINUSE;
	int r = tcp_sock_init_buffers(s);
	if (r < 0)
		return r;
	s->laddr = laddr;
	s->raddr = addr;
	s->rport = port;
	tcp_sock_init_params(s);
	/* Offer every option; the SYN-ACK says which the peer takes (RFC 7323, RFC 2018). */
	s->ws_ok = s->ts_ok = s->sack_ok = true;
	s->iss = tcp_isn(t->isn_key, s->laddr, s->lport, s->raddr, s->rport, tcp_now(s));
	s->snd_una = s->snd_nxt = s->snd_max = s->iss;
	s->snd_buf_seq = s->iss + 1;
	s->snd_wnd = 0;
	tcp_hash_insert(s);
	tcp_set_state(s, TCP_STATE_SYN_SENT);
	STAT_INC(st, TcpActiveOpens);
	tcp_output(s);
	return 0;
}

static int conn_error(const struct tcp_sock *s)
{
	return s->err ? -s->err : 0;
}

int tcp_sock_error(const struct tcp_sock *s)
{
	return s->err;
}

/* 0 when the user may queue data now, else what tcp_send() returns instead. */
static int send_check(const struct tcp_sock *s)
{
	switch (s->state) {
	case TCP_STATE_SYN_SENT:
	case TCP_STATE_SYN_RECEIVED:
	case TCP_STATE_ESTABLISHED:
	case TCP_STATE_CLOSE_WAIT:
		break;
	case TCP_STATE_CLOSED:
		if (s->err)
			return conn_error(s);
		return s->closed_told ? -EPIPE : -ENOTCONN;
	case TCP_STATE_LISTEN:
		return -ENOTCONN;
	default:
		return -EPIPE;
	}
	if (s->shut_wr || s->orphan)
		return -EPIPE;
	return 0;
}

/* The writable callback waits until the free space reaches the low-water mark (at least 1
 * byte, at most the whole buffer). */
static size_t send_lowat(const struct tcp_sock *s)
{
	size_t lowat = s->sndlowat ? s->sndlowat : 1;
	return lowat < s->sndbuf.cap ? lowat : s->sndbuf.cap;
}

ssize_t tcp_send_reserve(struct tcp_sock *s, struct iovec iov[2])
{
	int r = send_check(s);
	if (r < 0)
		return r;
	size_t space = ring_free(&s->sndbuf);
	ring_reserve_iov(&s->sndbuf, 0, space, iov);
	/* Too little room to be worth filling: ops->writable says when there is more. */
	if (space < send_lowat(s))
		s->want_writable = true;
	return space > 0 ? (ssize_t)space : -EAGAIN;
}

ssize_t tcp_send_commit(struct tcp_sock *s, size_t n)
{
	int r = send_check(s);
	if (r < 0)
		return r;
	size_t took = ring_commit(&s->sndbuf, n);
	tcp_mem_sync(s);
	if (took > 0 && s->state != TCP_STATE_SYN_SENT && s->state != TCP_STATE_SYN_RECEIVED)
		tcp_output(s);
	return (ssize_t)took;
}

ssize_t tcp_sendv(struct tcp_sock *s, const struct iovec *iov, int niov)
{
	size_t want = 0, total = 0;
	for (int i = 0; i < niov; i++)
		want += iov[i].iov_len;
	if (want == 0)
		return send_check(s);
	struct iovec span[2];
	ssize_t space = tcp_send_reserve(s, span);
	if (space < 0 && space != -EAGAIN)
		return space;
	/* Gather the caller's iovecs into the (up to two) free spans of the ring. */
	unsigned k = 0;
	size_t koff = 0;
	for (int i = 0; i < niov && k < 2; i++) {
		const uint8_t *src = iov[i].iov_base;
		size_t left = iov[i].iov_len;
		while (left > 0 && k < 2) {
			size_t room = span[k].iov_len - koff;
			size_t c = left < room ? left : room;
			if (c)
				memcpy((uint8_t *)span[k].iov_base + koff, src, c);
			src += c;
			left -= c;
			koff += c;
			total += c;
			if (koff == span[k].iov_len) {
				k++;
				koff = 0;
			}
		}
	}
	if (total < want)
		s->want_writable = true;
	if (total == 0)
		return -EAGAIN;
	return tcp_send_commit(s, total);
}

ssize_t tcp_send(struct tcp_sock *s, const void *buf, size_t len)
{
	struct iovec iov = { (void *)(uintptr_t)buf, len };
	return tcp_sendv(s, &iov, 1);
}

/* RFC 1122 §4.2.3.3 / RFC 9293 §3.8.6.2.2: after the application reads, tell the peer
 * when the window opens by at least min(buffer/2, MSS) beyond what we last offered. */
static void maybe_window_update(struct tcp_sock *s)
{
	if (s->state < TCP_STATE_ESTABLISHED || s->state == TCP_STATE_TIME_WAIT ||
	    s->fin_rcvd)
		return;
	uint32_t wnd = tcp_rcv_window(s);
	uint32_t adv = s->rcv_adv - s->rcv_nxt;
	uint32_t thresh = (uint32_t)(s->rcvbuf.cap / 2);
	if (thresh > s->adv_mss)
		thresh = s->adv_mss;
	if (wnd > adv && wnd - adv >= 2 * thresh) {
		s->ack_now = true;
		tcp_output(s);
	} else if (adv == 0 && wnd >= thresh) {
		s->ack_now = true;
		tcp_output(s);
	}
}

ssize_t tcp_recv_peek(const struct tcp_sock *s, struct iovec iov[2], size_t len)
{
	iov[0] = iov[1] = (struct iovec){ NULL, 0 };
	if (s->state == TCP_STATE_LISTEN)
		return -ENOTCONN;
	if (ring_used(&s->rcvbuf) == 0) {
		if (s->err)
			return conn_error(s);
		if (s->fin_rcvd || s->shut_rd)
			return 0;
		if (s->state == TCP_STATE_CLOSED)
			return s->closed_told ? 0 : -ENOTCONN;
		return -EAGAIN;
	}
	if (len == 0)
		return -EINVAL;
	ring_peek_iov(&s->rcvbuf, 0, len, iov);
	return (ssize_t)(iov[0].iov_len + iov[1].iov_len);
}

ssize_t tcp_recv_consume(struct tcp_sock *s, size_t n)
{
	if (s->state == TCP_STATE_LISTEN)
		return -ENOTCONN;
	size_t took = ring_consume(&s->rcvbuf, n);
	tcp_mem_sync(s);
	if (took > 0)
		maybe_window_update(s);
	return (ssize_t)took;
}

ssize_t tcp_recv(struct tcp_sock *s, void *buf, size_t len)
{
	struct iovec iov[2];
	ssize_t n = tcp_recv_peek(s, iov, len ? len : 1);
	if (n <= 0 || len == 0)
		return n < 0 ? n : 0;
	memcpy(buf, iov[0].iov_base, iov[0].iov_len);
	if (iov[1].iov_len)
		memcpy((uint8_t *)buf + iov[0].iov_len, iov[1].iov_base, iov[1].iov_len);
	return tcp_recv_consume(s, (size_t)n);
}

static void queue_fin(struct tcp_sock *s)
{
	s->shut_wr = true;
	switch (s->state) {
	case TCP_STATE_ESTABLISHED:
		tcp_set_state(s, TCP_STATE_FIN_WAIT_1);
		break;
	case TCP_STATE_CLOSE_WAIT:
		tcp_set_state(s, TCP_STATE_LAST_ACK);
		break;
	case TCP_STATE_SYN_RECEIVED:
		/* RFC 9293 §3.10.4: FIN after the handshake completes; we send it once
		 * ESTABLISHED would be reached (tcp_input moves us to FIN-WAIT-1). */
		return;
	default:
		return;
	}
	tcp_output(s);
}

int tcp_shutdown(struct tcp_sock *s, int how)
{
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	if (s->state == TCP_STATE_LISTEN || s->state == TCP_STATE_CLOSED) {
		if (s->state == TCP_STATE_CLOSED && !s->closed_told && !s->err)
			return -ENOTCONN;
		return s->state == TCP_STATE_LISTEN ? -ENOTCONN : 0;
	}
	if (how == SHUT_RD || how == SHUT_RDWR) {
		s->shut_rd = true;
		ring_consume(&s->rcvbuf, ring_used(&s->rcvbuf));
		tcp_mem_sync(s);
	}
	if ((how == SHUT_WR || how == SHUT_RDWR) && !s->shut_wr) {
		if (s->state == TCP_STATE_SYN_SENT) {
			/* Nothing sent yet that needs a FIN: RFC 9293 §3.10.4 says delete. */
			s->shut_wr = true;
			return 0;
		}
		queue_fin(s);
	}
	return 0;
}

static void close_listener(struct tcp_sock *ls)
{
	/* Children not yet accepted are reset (Linux inet_csk_listen_stop). */
	for (struct tcp_sock *c = ls->acc_head; c;) {
		struct tcp_sock *n = c->acc_next;
		tcp_send_rst(c);
		tcp_drop(c, ECONNRESET);
		c = n;
	}
	for (struct tcp_sock *c = ls->tcp->all; c;) {
		struct tcp_sock *n = c->all_next;
		if (c->parent == ls) {
			tcp_send_rst(c);
			tcp_drop(c, ECONNRESET);
		}
		c = n;
	}
}

/* tcp_close() left s finishing its close alone (FIN-WAIT-1/2, CLOSING, LAST-ACK, or
 * SYN-RECEIVED of a simultaneous open). Such orphans hold buffers and timers for a peer
 * that may never answer, so their number is bounded: past tcp_max_orphans the connection
 * is reset at once (Linux tcp_close -> tcp_check_oom, TCPAbortOnMemory). */
static void close_orphan(struct tcp_sock *s)
{
	struct tcp *t = s->tcp;
	if (s->released || s->state == TCP_STATE_CLOSED || s->state == TCP_STATE_TIME_WAIT)
		return;
	if (t->norphans >= t->max_orphans) {
		STAT_INC(s->st, TcpExtTCPAbortOnMemory);
		tcp_send_rst(s);
		tcp_drop(s, 0);
		return;
	}
	if (tcp_orphan_out_of_memory(s))
		return;
	s->orphan_counted = true;
	t->norphans++;
	/* An orphan in FIN-WAIT-2 does not wait forever (Linux tcp_fin_timeout). */
	if (s->state == TCP_STATE_FIN_WAIT_2)
		tcp_timer_set(s, TCP_T_2MSL, tcp_now(s) + (uint64_t)t->fin_timeout_ms * NS_PER_MS);
}

void tcp_close(struct tcp_sock *s)
{
	struct tcp *t = s->tcp;
	tcp_enter(t);
	s->orphan = true;
	s->ops = NULL;
	switch (s->state) {
	case TCP_STATE_LISTEN:
		close_listener(s);
		tcp_set_state(s, TCP_STATE_CLOSED);
		tcp_sock_release(s);
		break;
	case TCP_STATE_CLOSED:
		if (ring_used(&s->rcvbuf) > 0)
			STAT_INC(s->st, TcpExtTCPAbortOnClose); /* unread: lost, not silently */
		tcp_sock_release(s);
		break;
	case TCP_STATE_SYN_SENT:
		tcp_drop(s, 0);
		break;
	case TCP_STATE_TIME_WAIT:
		/* The peer is done and acknowledged; unread data is lost all the same. */
		if (ring_used(&s->rcvbuf) > 0)
			STAT_INC(s->st, TcpExtTCPAbortOnClose);
		ring_fini(&s->sndbuf);
		ring_fini(&s->rcvbuf);
		tcp_mem_sync(s);
		break; /* the 2MSL timer frees it */
	default:
		if (ring_used(&s->rcvbuf) > 0 || s->linger_rst) {
			/* RFC 2525 §2.17: data the user never read is lost; say so. */
			if (ring_used(&s->rcvbuf) > 0)
				STAT_INC(s->st, TcpExtTCPAbortOnClose);
			tcp_send_rst(s);
			tcp_drop(s, 0);
			break;
		}
		if (!s->shut_wr)
			queue_fin(s);
		close_orphan(s);
		break;
	}
	tcp_leave(t);
}

void tcp_abort(struct tcp_sock *s)
{
	struct tcp *t = s->tcp;
	tcp_enter(t);
	s->orphan = true;
	s->ops = NULL;
	if (s->state == TCP_STATE_LISTEN)
		close_listener(s);
	else if (tcp_synchronized(s->state) && s->state != TCP_STATE_TIME_WAIT)
		tcp_send_rst(s);
	if (s->state != TCP_STATE_CLOSED && s->state != TCP_STATE_LISTEN)
		tcp_set_state(s, TCP_STATE_CLOSED);
	s->state = TCP_STATE_CLOSED;
	tcp_sock_release(s);
	tcp_leave(t);
}

int tcp_setopt(struct tcp_sock *s, enum tcp_sockopt opt, int v)
{
	bool fresh = s->state == TCP_STATE_CLOSED && !s->hashed;
	switch (opt) {
	case TCP_SO_NODELAY:
		s->nodelay = v != 0;
		if (s->nodelay && s->state >= TCP_STATE_ESTABLISHED)
			tcp_output(s);
		return 0;
	case TCP_SO_KEEPALIVE:
		s->keepalive = v != 0;
		tcp_rearm_keepalive(s);
		return 0;
	case TCP_SO_KEEPIDLE_S:
		if (v < 1 || v > 32767)
			return -EINVAL;
		s->keep_idle_s = (uint32_t)v;
		tcp_rearm_keepalive(s);
		return 0;
	case TCP_SO_KEEPINTVL_S:
		if (v < 1 || v > 32767)
			return -EINVAL;
		s->keep_intvl_s = (uint32_t)v;
		return 0;
	case TCP_SO_KEEPCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		s->keep_cnt = (uint32_t)v;
		return 0;
	case TCP_SO_USER_TIMEOUT_MS:
		if (v < 0)
			return -EINVAL;
		s->user_timeout_ms = (uint32_t)v;
		return 0;
	case TCP_SO_SNDBUF:
	case TCP_SO_RCVBUF:
		if (!fresh && s->state != TCP_STATE_LISTEN)
			return -EISCONN;
		if (v < 2048 || v > (1 << 30))
			return -EINVAL;
		if (opt == TCP_SO_SNDBUF)
			s->sndbuf_size = (size_t)v;
		else
			s->rcvbuf_size = (size_t)v;
		return 0;
	case TCP_SO_CC:
		if (!fresh && s->state != TCP_STATE_LISTEN)
			return -EISCONN;
		if (v == TCP_CC_ALGO_CUBIC)
			s->cc_ops = &tcp_cc_cubic_ops;
		else if (v == TCP_CC_ALGO_NEWRENO)
			s->cc_ops = &tcp_cc_newreno_ops;
		else
			return -EINVAL;
		return 0;
	case TCP_SO_MAXSEG:
		if (!fresh && s->state != TCP_STATE_LISTEN)
			return -EISCONN;
		if (v < 0 || v > 65535)
			return -EINVAL;
		s->maxseg_user = (uint32_t)v;
		return 0;
	case TCP_SO_LINGER_RST:
		s->linger_rst = v != 0;
		return 0;
	case TCP_SO_SNDLOWAT:
		if (v < 0)
			return -EINVAL;
		s->sndlowat = (size_t)v;
		return 0;
	case TCP_SO_TTL:
		if (v < 0 || v > 255)
			return -EINVAL;
		s->ttl = (uint8_t)v; /* the next segment on: any state, as IP_TTL */
		return 0;
	}
	return -ENOPROTOOPT;
}

int tcp_getopt(const struct tcp_sock *s, enum tcp_sockopt opt, int *v)
{
	switch (opt) {
	case TCP_SO_NODELAY: *v = s->nodelay; return 0;
	case TCP_SO_KEEPALIVE: *v = s->keepalive; return 0;
	case TCP_SO_KEEPIDLE_S: *v = (int)s->keep_idle_s; return 0;
	case TCP_SO_KEEPINTVL_S: *v = (int)s->keep_intvl_s; return 0;
	case TCP_SO_KEEPCNT: *v = (int)s->keep_cnt; return 0;
	case TCP_SO_USER_TIMEOUT_MS: *v = (int)s->user_timeout_ms; return 0;
	case TCP_SO_SNDBUF: *v = (int)s->sndbuf_size; return 0;
	case TCP_SO_RCVBUF: *v = (int)s->rcvbuf_size; return 0;
	case TCP_SO_CC:
		*v = s->cc_ops == &tcp_cc_newreno_ops ? TCP_CC_ALGO_NEWRENO : TCP_CC_ALGO_CUBIC;
		return 0;
	case TCP_SO_MAXSEG: *v = s->mss ? s->mss : (int)s->maxseg_user; return 0;
	case TCP_SO_LINGER_RST: *v = s->linger_rst; return 0;
	case TCP_SO_SNDLOWAT: *v = s->sndlowat ? (int)s->sndlowat : 1; return 0;
	case TCP_SO_TTL: *v = s->ttl ? s->ttl : s->st->cfg.default_ttl; return 0;
	}
	return -ENOPROTOOPT;
}

enum tcp_state tcp_sock_state(const struct tcp_sock *s)
{
	return s->state;
}

size_t tcp_send_space(const struct tcp_sock *s)
{
	return ring_free(&s->sndbuf);
}

void tcp_sock_get_info(const struct tcp_sock *s, struct tcp_sock_info *in)
{
	memset(in, 0, sizeof(*in));
	in->state = s->state;
	in->laddr = s->laddr;
	in->raddr = s->raddr;
	in->lport = s->lport;
	in->rport = s->rport;
	in->snd_queued = ring_used(&s->sndbuf);
	in->rcv_queued = ring_used(&s->rcvbuf);
	in->accept_queued = s->acc_len;
	in->mss = s->mss;
	in->cwnd = s->cc.cwnd_bytes;
	in->ssthresh = s->cc.ssthresh_bytes;
	in->snd_wnd = s->snd_wnd;
	in->rcv_wnd = s->rcv_adv - s->rcv_nxt;
	in->srtt_us = s->srtt_us;
	in->rttvar_us = s->rttvar_us;
	in->rto_ms = s->rto_ms;
	in->retransmits = s->rexmt_shift;
	in->total_retrans = s->total_retrans;
	in->orphan = s->orphan;
}

int tcp_foreach(struct stack *st, int (*fn)(void *ctx, const struct tcp_sock *s), void *ctx)
{
	for (struct tcp_sock *s = st->tcp->all; s; s = s->all_next) {
		int r = fn(ctx, s);
		if (r)
			return r;
	}
	return 0;
}
