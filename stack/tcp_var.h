/* TCP internals shared by tcp.c, tcp_input.c, tcp_output.c and tcp_timer.c. */
#ifndef USTACK_TCP_VAR_H
#define USTACK_TCP_VAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf/assembler.h"
#include "buf/ring.h"
#include "siphash.h"
#include "stack_var.h"
#include "tcp.h"
#include "tcp_cc.h"
#include "tcp_isn.h"
#include "tcp_syncookie.h"
#include "wire/tcp.h"

/* Sequence space comparisons (RFC 9293 §3.4), as BSD's SEQ_LT. */
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)
#define SEQ_MAX(a, b) (SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b) (SEQ_LT(a, b) ? (a) : (b))

#define TCP_DEFAULT_MSS 536	/* RFC 9293 §3.7.1: when the peer sends none */
#define TCP_MIN_MSS 88		/* Linux's floor against tiny-MSS attacks */
#define TCP_IPV4_OVERHEAD 40	/* IPv4 + TCP headers without options */
#define TCP_MIN_PMTU 552	/* Linux min_pmtu: ICMP 3/4 below this is clamped */
#define TCP_MAX_WIN 65535
#define TCP_RCV_WS_MAX 14
#define TCP_DEFAULT_BACKLOG 128
#define TCP_PERSIST_MIN_MS 200
#define TCP_PERSIST_MAX_MS 60000
#define TCP_OOO_MAX_RANGES 32	/* out-of-order holes kept per connection */
#define TCP_PAWS_24DAYS_NS (24ull * 86400 * 1000000000ull) /* RFC 7323 §5.5 */
#define TCP_TS_HZ 1000		/* timestamp clock: 1 ms (RFC 7323 §5.4: 1 ms..1 s) */
#define TCP_MSL_SYNRECV_TIMEOUT_MS 75000
#define TCP_RTO_SYN_FALLBACK_MS 3000 /* RFC 6298 §5.7 */
#define TCP_EPHEMERAL_MIN 32768
#define TCP_EPHEMERAL_MAX 60999
#define TCP_HASH_BITS 12
#define TCP_SACK_SB_MAX 16
/* Linux tcp_invalid_ratelimit: one challenge ACK per connection per 500 ms. */
#define TCP_CHACK_CONN_INTERVAL_NS (500ull * 1000000ull)
/* A listener takes an ACK as a SYN cookie only while its cookies can still be valid
 * (Linux TCP_SYNCOOKIE_VALID, tcp_synq_no_recent_overflow). */
#define TCP_SYNCOOKIE_RECENT_NS (TCP_SYNCOOKIE_MAX_AGE_SLOTS * TCP_SYNCOOKIE_SLOT_NS)

/* Per-connection timers; one deadline each, 0 when not armed. */
enum tcp_timer {
	TCP_T_REXMT,   /* retransmission (RFC 6298), also SYN and FIN retransmission */
	TCP_T_PERSIST, /* zero-window probe (RFC 9293 §3.8.6.1) */
	TCP_T_DELACK,  /* delayed ACK (RFC 1122 §4.2.3.2) */
	TCP_T_KEEP,    /* keepalive (RFC 1122 §4.2.3.6) */
	TCP_T_2MSL,    /* TIME-WAIT, and an orphan's FIN-WAIT-2 */
	TCP_T_NOTIFY,  /* a readable owed since tcp_accept() (never called from inside it) */
	TCP_T_COUNT
};

struct tcp_sock {
	struct tcp *tcp;
	struct stack *st;
	enum tcp_state state;
	struct in_addr laddr, raddr;
	uint16_t lport, rport;
	bool bound;	/* holds a reference on its local port */
	bool hashed;	/* in the connection hash */
	bool listening; /* in the listener list */
	struct tcp_sock *hnext;		/* hash chain or listener list */
	struct tcp_sock *all_prev, *all_next; /* every socket, for tcp_foreach */

	const struct tcp_sock_ops *ops;
	void *user;

	/* User side */
	bool orphan;	   /* tcp_close()d: no callbacks, the stack frees it */
	bool shut_wr;	   /* FIN queued after the send buffer */
	bool shut_rd;	   /* received data is discarded */
	bool nodelay, keepalive, linger_rst;
	uint8_t ttl;	   /* TCP_SO_TTL; 0: the stack's default_ttl */
	bool want_writable; /* tcp_send() came up short: say when space frees */
	bool closed_told;  /* ops->closed called (or held, below) */
	bool hold_closed;  /* in segment processing: `closed` waits for `readable` */
	bool closed_held;  /* a `closed` is owed once the hold ends */
	int closed_held_err;
	bool passive;	   /* opened by a listener (SYN-RECEIVED returns to LISTEN on RST) */
	bool released;	   /* out of every table, waiting to be freed */
	bool orphan_counted; /* in tcp.norphans: closed by the user, still closing */
	int err;	   /* positive errno reported to the user; 0 none */
	int soft_err;	   /* last ICMP soft error, reported on timeout instead of ETIMEDOUT */
	const struct tcp_cc_ops *cc_ops;
	uint32_t maxseg_user;
	size_t sndbuf_size, rcvbuf_size;
	size_t sndlowat;     /* TCP_SO_SNDLOWAT; 0: 1 byte */
	size_t mem_charged;  /* bytes of this socket in tcp.mem_bytes (tcp_mem_sync) */

	/* Listener */
	struct tcp_sock *parent;	      /* child of a listener until accepted */
	struct tcp_sock *acc_head, *acc_tail; /* established, not yet accepted */
	struct tcp_sock *acc_next;
	unsigned backlog, acc_len, syn_len;
	uint64_t cookie_sent_ns; /* last SYN cookie sent (0: never) */
	bool in_accept_queue;

	/* Send sequence space (RFC 9293 §3.3.1) */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd, snd_wl1, snd_wl2, max_sndwnd;
	uint32_t snd_buf_seq;	/* sequence number of the first byte in sndbuf */
	uint8_t snd_ws, rcv_ws; /* window shifts: applied to the peer's / our windows */
	bool fin_sent;		/* our FIN has a sequence number (snd_buf_seq + used) */
	struct ring sndbuf;

	/* Receive sequence space */
	uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge last advertised */
	struct ring rcvbuf;
	struct assembler ooo;
	bool fin_rcvd;
	bool ooo_fin;	/* a FIN was seen at ooo_fin_seq, beyond a hole */
	uint32_t ooo_fin_seq;

	/* Options */
	uint16_t mss;	   /* send MSS: peer's MSS, PMTU and user cap (no options) */
	uint16_t adv_mss;  /* the MSS we advertised */
	uint16_t pmtu;
	bool ws_ok, ts_ok, sack_ok;
	uint32_t ts_recent;
	uint64_t ts_recent_ns;
	uint32_t ts_offset; /* per-connection random timestamp offset */
	uint32_t last_ack_sent;

	/* RTT (RFC 6298): microseconds */
	uint32_t srtt_us, rttvar_us, rto_ms;
	bool rtt_timing;
	uint32_t rtt_seq;
	uint64_t rtt_start_ns;
	unsigned rexmt_shift; /* consecutive timeouts */
	uint64_t una_since_ns; /* when SND.UNA's data was last acknowledged or first sent */
	uint64_t total_retrans;
	uint32_t user_timeout_ms;

	/* Congestion control and loss recovery */
	struct tcp_cc cc;
	unsigned dupacks;
	bool in_recovery;
	uint32_t recover;   /* RFC 6582: snd_max when recovery started */
	bool recover_passed; /* SND.UNA reached recover since it was set (no wraparound) */
	uint32_t high_rxt;  /* RFC 6675 HighRxt */
	/* SACK scoreboard (RFC 6675): blocks the peer reported above snd_una, sorted,
	 * disjoint; the oldest are forgotten when full (a reneging-safe hint only). */
	struct tcp_sack_block sacked[TCP_SACK_SB_MAX];
	unsigned nsacked;

	/* Receive side ACK policy */
	unsigned delack_segs; /* full segments received since our last ACK */
	uint32_t rcv_mss;     /* the peer's full segment size, as seen (Linux rcv_mss) */
	uint32_t rcv_last_len; /* the previous data segment's length */
	uint64_t chack_last_ns; /* our last challenge ACK, for the per-connection limit */
	bool ack_now;
	uint64_t last_rcv_ns;  /* for keepalive */
	/* An ACK deferred to the end of the receive batch (tcp_batch.c), on tcp.ack_defer. */
	bool ack_deferred;
	struct tcp_sock *ack_defer_next;
	uint64_t ack_defer_frame; /* EthInFrames at the last deferral: one count per frame */

	/* Keepalive */
	uint32_t keep_idle_s, keep_intvl_s, keep_cnt;
	unsigned keep_probes;

	unsigned persist_shift;
	/* Zero-window probes not answered (RFC 1122 §4.2.2.17: probing goes on while they
	 * are): how many, when the first and the last were sent (Linux icsk_probes_out,
	 * icsk_probes_tstamp). An acceptable segment after the last one answers them. */
	unsigned probes_out;
	uint64_t probe_first_ns, probe_last_ns;
	uint64_t last_data_ns; /* a data segment last sent (RFC 5681 §4.1 idle; Linux lsndtime) */
	bool force_send; /* persist expiry: send into a small window despite SWS avoidance */

	/* Timers: the earliest armed deadline is the key in the stack's heap. */
	uint64_t timer[TCP_T_COUNT];
	uint64_t deadline;  /* min of timer[], UINT64_MAX when none */
	size_t heap_idx;    /* SIZE_MAX when not in the heap */
};

struct tcp {
	struct stack *st;
	struct tcp_sock **hash; /* connections by 4-tuple */
	size_t hash_mask;
	struct tcp_sock *listeners;
	struct tcp_sock *all;
	uint32_t *port_refs; /* 65536 counters of sockets bound to each port */
	uint16_t next_ephemeral;
	unsigned nsocks, ntime_wait;
	unsigned norphans; /* orphans still closing (not TIME-WAIT), tcp_sock.orphan_counted */
	/* Bytes queued in every socket's send and receive rings (as Linux's
	 * tcp_memory_allocated), and the budget beyond which orphans are reset. */
	size_t mem_bytes, mem_max_bytes;
	bool mem_pressure; /* mem_bytes above the budget (TcpExtTCPMemoryPressures) */

	/* Timer heap: a binary min-heap of sockets keyed by deadline. */
	struct tcp_sock **heap;
	size_t heap_len, heap_cap;

	/* Deferred frees: sockets released while the stack was inside tcp code. */
	unsigned busy;
	struct tcp_sock *reap;

	/* Inside stack_input_batch_begin/end: pure ACKs wait on ack_defer (tcp_batch.c). */
	bool batch;
	struct tcp_sock *ack_defer;

	/* RFC 5961 §7: a global challenge ACK budget per second, drawn at random. */
	uint64_t chack_sec; /* the second (now / 1 s) the budget is for */
	unsigned chack_left;

	uint8_t isn_key[TCP_ISN_KEY_LEN];
	uint8_t cookie_key[TCP_SYNCOOKIE_KEY_LEN];
	uint8_t hash_key[SIPHASH_KEY_LEN];

	/* Config with defaults filled in */
	uint32_t rto_initial_ms, rto_min_ms, rto_max_ms;
	uint32_t time_wait_ms, fin_timeout_ms, delack_ms;
	unsigned max_time_wait, max_orphans, syn_backlog, max_backlog;
	unsigned syn_retries, synack_retries, retries2;
	unsigned chack_limit;
	size_t sndbuf, rcvbuf;
	bool syncookies;
	const struct tcp_cc_ops *cc_ops;
	uint32_t keep_idle_s, keep_intvl_s, keep_cnt;
};

static inline struct tcp *tcp_of(const struct stack *st)
{
	return st->tcp;
}

/* tcp.c */
struct tcp_sock *tcp_sock_alloc(struct stack *st);
/* Copies a listener's per-connection options (Nagle, TTL, keepalive, user timeout) to
 * a child: at the SYN and again at tcp_accept(). */
void tcp_inherit_opts(struct tcp_sock *c, const struct tcp_sock *ls);
void tcp_sock_release(struct tcp_sock *s); /* frees now, or after the busy section */
void tcp_hash_insert(struct tcp_sock *s);
void tcp_hash_remove(struct tcp_sock *s);
struct tcp_sock *tcp_lookup(struct tcp *t, struct in_addr laddr, uint16_t lport,
			    struct in_addr raddr, uint16_t rport);
struct tcp_sock *tcp_lookup_listener(struct tcp *t, struct in_addr laddr, uint16_t lport);
void tcp_port_ref(struct tcp *t, uint16_t port);
void tcp_port_unref(struct tcp *t, uint16_t port);
void tcp_set_state(struct tcp_sock *s, enum tcp_state ns);
/* The connection is over: CLOSED, timers off, user told (err 0: orderly), unhashed, and
 * freed if the user is gone. */
void tcp_drop(struct tcp_sock *s, int err);
/* Enters TIME-WAIT (or closes right away over the limit). */
void tcp_enter_time_wait(struct tcp_sock *s);
void tcp_notify_readable(struct tcp_sock *s);
/* While held, `closed` is kept until tcp_release_closed(), so that it follows the
 * `readable` of the same segment (data first, then the end). */
void tcp_hold_closed(struct tcp_sock *s);
void tcp_release_closed(struct tcp_sock *s);
void tcp_notify_writable(struct tcp_sock *s);
void tcp_child_established(struct tcp_sock *s);
void tcp_enter(struct tcp *t);
void tcp_leave(struct tcp *t);
uint16_t tcp_mss_for_mtu(unsigned mtu);
/* The MSS a socket advertises: from the device MTU, capped by TCP_SO_MAXSEG. */
uint16_t tcp_adv_mss(const struct tcp_sock *s);
/* The window shift we offer for a receive buffer (RFC 7323 §2.2). */
uint8_t tcp_rcv_wscale(size_t rcvbuf);
/* Per address pair timestamp offset (as Linux's secure_tcp_ts_off), so that a connection
 * made from a SYN cookie continues the clock its SYN-ACK used. */
uint32_t tcp_ts_offset(const struct tcp *t, struct in_addr laddr, struct in_addr raddr);
int tcp_sock_init_buffers(struct tcp_sock *s);
/* Brings tcp.mem_bytes up to date with s's queued bytes; call after queues change. */
void tcp_mem_sync(struct tcp_sock *s);
/* Frees both rings (nothing more is sent or read). */
void tcp_sock_free_buffers(struct tcp_sock *s);
/* An orphan that holds queued data while TCP is over its memory budget: reset it
 * (TcpExtTCPAbortOnMemory) and return true, as Linux's tcp_check_oom(). */
bool tcp_orphan_out_of_memory(struct tcp_sock *s);
void tcp_sock_init_params(struct tcp_sock *s);

/* tcp_input.c */
void tcp_input(void *ctx, const struct ipv4_pkt *p);
void tcp_icmp_error(void *ctx, const struct icmp_err *e);

/* tcp_output.c */
/* Sends what the windows, Nagle and the ACK policy allow. */
void tcp_output(struct tcp_sock *s);
/* One segment from seq with len bytes of the send buffer and flags; returns 0 or the
 * ipv4_write error. */
int tcp_send_segment(struct tcp_sock *s, uint32_t seq, size_t len, uint8_t flags);
void tcp_send_ack(struct tcp_sock *s);
/* The payload of a full-sized segment now: MSS less timestamps and SACK blocks. */
uint32_t tcp_seg_payload_max(const struct tcp_sock *s);
/* A RST answering a segment without a connection (RFC 9293 §3.10.7.1). */
void tcp_send_reset_reply(struct tcp *t, const struct ipv4_pkt *p, const struct tcp_hdr *h,
			  size_t seg_len);
void tcp_send_rst(struct tcp_sock *s);
/* The stateless SYN-ACK of a listener whose SYN queue is full (RFC 4987 §3.6). */
void tcp_send_synack_cookie(struct tcp_sock *ls, const struct ipv4_pkt *p,
			    const struct tcp_hdr *h, uint32_t iss);
uint32_t tcp_rcv_window(struct tcp_sock *s);
uint32_t tcp_ts_now(const struct tcp_sock *s);
/* Bytes in flight (RFC 6675 pipe when SACK recovery is on). */
uint32_t tcp_in_flight(const struct tcp_sock *s);

/* tcp_tso.c */
/* With TSO (netif_gso_max), the most data one super-segment of mss-byte pieces may carry
 * now, a multiple of mss (as Linux tcp_tso_autosize); without it, mss. */
uint32_t tcp_tso_max_bytes(const struct tcp_sock *s, uint32_t mss);

/* tcp_timer.c */
void tcp_timer_set(struct tcp_sock *s, enum tcp_timer which, uint64_t when_ns);
void tcp_timer_stop(struct tcp_sock *s, enum tcp_timer which);
void tcp_timer_stop_all(struct tcp_sock *s);
void tcp_timer_heap_remove(struct tcp_sock *s);
void tcp_rearm_rexmt(struct tcp_sock *s);
void tcp_rearm_keepalive(struct tcp_sock *s);
void tcp_rtt_sample(struct tcp_sock *s, uint32_t rtt_us);
uint32_t tcp_rto_backed_off_ms(const struct tcp_sock *s);

/* tcp_batch.c: ACK coalescing in a receive batch. */
/* True when s's pure ACK was deferred to the end of the batch (not sent now). */
bool tcp_batch_defer_ack(struct tcp_sock *s);
/* Before s->state becomes ns: a deferred ACK leaves now if ns does not defer. */
void tcp_batch_state_change(struct tcp_sock *s, enum tcp_state ns);
/* s is being freed: off the list, nothing sent. */
void tcp_batch_forget(struct tcp_sock *s);
/* The stack is going away: the list is emptied, nothing sent. */
void tcp_batch_discard(struct tcp *t);

static inline uint64_t tcp_now(const struct tcp_sock *s)
{
	return s->st->now_ns;
}

static inline bool tcp_synchronized(enum tcp_state st)
{
	return st >= TCP_STATE_ESTABLISHED ||
	       st == TCP_STATE_SYN_RECEIVED; /* has a peer's ISN */
}

#endif
