#include "af_xdp.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/xdp_diag.h>
#include <net/if.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#include "stack/wire/eth.h"
#include "xsk_frames.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

/* At most AFXDP_RX_FRAMES frames are lent to the kernel for receive (fill ring, driver, RX
 * ring together); as many again are kept for transmit (AFXDP_TX_RESERVE). Refilling the
 * fill ring to the brim while the RX ring still holds a backlog would lend the TX frames
 * too: under a receive flood the free frames fell from 2048 to 122 and replies failed with
 * -ENOBUFS. With the budget, a flood costs received frames (the kernel counts "fill ring
 * empty"), never the ability to answer. 4096 frames = 16 MiB of UMEM: enough to absorb a
 * burst of 2048 frames each way without the stack seeing -ENOBUFS. */
#define AFXDP_RX_RING_SIZE 2048
#define AFXDP_TX_RING_SIZE 2048
#define AFXDP_FILL_RING_SIZE AFXDP_RX_RING_SIZE
#define AFXDP_COMP_RING_SIZE AFXDP_TX_RING_SIZE
#define AFXDP_NUM_FRAMES (AFXDP_FILL_RING_SIZE + AFXDP_TX_RING_SIZE)
#define AFXDP_RX_FRAMES AFXDP_FILL_RING_SIZE
#define AFXDP_TX_RESERVE (AFXDP_NUM_FRAMES - AFXDP_RX_FRAMES)
/* In copy mode one sendto(2) sends at most 32 descriptors (the kernel's TX_BATCH_SIZE) and
 * returns EAGAIN when more remain; this bounds the kicks of one flush. */
#define AFXDP_MAX_KICKS 128
/* Kick without waiting for the flush once this many frames are queued, so that a burst
 * written inside one receive batch (a fragmented reply) starts leaving early. */
#define AFXDP_TX_KICK_THRESHOLD 64
#define AFXDP_PROG_NAME "ustack_xsk"

/* The UMEM and its two rings, and who owns its frames (xsk_frames.h). */
struct afxdp_umem_info {
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_umem *umem;
	void *area;
	size_t size;
	struct xsk_frames frames;
	struct xsk_kick fill_kick; /* fill_wakeup() */
	uint64_t free_store[AFXDP_NUM_FRAMES]; /* the free stack's storage */
};

struct afxdp_socket_info {
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_socket *xsk;
	int fd;
	struct xsk_kick tx_kick; /* tx_wakeup() */
	uint32_t tx_outstanding; /* submitted to TX, not yet back on the completion ring */
	uint32_t tx_unkicked;	 /* submitted since the last kick */
};

struct afxdp {
	struct netif nif; /* first: afxdp_write() recovers the afxdp from it */
	struct afxdp_umem_info um;
	struct afxdp_socket_info sk;
	char ifname[IF_NAMESIZE];
	int ifindex;
	unsigned queue;
	unsigned ifmtu;
	uint32_t prog_id; /* the program we attached, 0 when none */
	int prog_fd;	  /* our redirect program, -1 when none */
	int map_fd;	  /* its XSKMAP: queue index -> socket */
	uint32_t attach_flags;
	uint32_t stale_prog_id; /* a predecessor's program we detached at open */
	bool attached;		/* our program is attached: detach it at close */
	bool zerocopy;
	char mode_name[32];
	char prog_record[512];
	struct afxdp_stats stats;
};

static int why_errno(char *why, size_t whylen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int why_errno(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return err;
}

/* The fill ring's kick, called by xsk_ring_kick() only when the driver asked for it: a
 * zero-copy driver that found the fill ring empty waits for this before it uses the frames
 * put on it since (issue 11 item 4). */
static bool fill_wakeup(void *ctx)
{
	struct afxdp *x = ctx;

	x->stats.fill_wakeups++;
	recvfrom(x->sk.fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
	return false;
}

/* Moves free frames to the fill ring until it is full, receive has its share of the UMEM
 * (AFXDP_RX_FRAMES), or no frame is free; kicks it when the driver asks. */
static void fill_ring_refill(struct afxdp *x)
{
	xsk_frames_fill(&x->um.frames, &x->um.fill, &x->um.fill_kick);
}

/* Returns the frames the kernel has finished sending to the free stack. */
static void comp_ring_drain(struct afxdp *x)
{
	struct afxdp_umem_info *um = &x->um;
	uint32_t idx, n = xsk_ring_cons__peek(&um->comp, AFXDP_COMP_RING_SIZE, &idx);

	for (uint32_t i = 0; i < n; i++)
		xsk_frames_push(&um->frames, *xsk_ring_cons__comp_addr(&um->comp, idx + i));
	if (n) {
		xsk_ring_cons__release(&um->comp, n);
		x->sk.tx_outstanding -= n < x->sk.tx_outstanding ? n : x->sk.tx_outstanding;
	}
}

/* One sendto(2) to make the kernel process the TX ring. EAGAIN (copy mode: more than one
 * batch queued), ENOBUFS (no skb memory, the device queue is full) and EBUSY (another
 * kick in progress) are normal: the frames stay on the ring for the next kick. Returns true
 * when another kick could make progress now. */
static bool tx_wakeup(void *ctx)
{
	struct afxdp *x = ctx;

	x->stats.kicks++;
	if (sendto(x->sk.fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
		return false;
	if (errno == EAGAIN)
		return true;
	if (errno != ENOBUFS && errno != EBUSY && errno != ENETDOWN)
		x->stats.kick_errors++;
	return false;
}

/* Kicks TX when the driver asks; otherwise it polls the ring by itself. */
static bool tx_kick(struct afxdp *x)
{
	x->sk.tx_unkicked = 0;
	return xsk_ring_kick(&x->sk.tx, &x->sk.tx_kick);
}

static uint32_t tx_ring_queued(struct afxdp *x)
{
	return AFXDP_TX_RING_SIZE - xsk_prod_nb_free(&x->sk.tx, AFXDP_TX_RING_SIZE);
}

bool afxdp_flush(struct afxdp *x)
{
	for (int i = 0; i < AFXDP_MAX_KICKS && x->sk.tx_outstanding; i++) {
		comp_ring_drain(x);
		if (!tx_kick(x))
			break;
	}
	comp_ring_drain(x);
	fill_ring_refill(x);
	return tx_ring_queued(x) > 0;
}

static int afxdp_write(struct netif *nif, size_t size, netif_fill_fn fill, void *ctx)
{
	struct afxdp *x = (struct afxdp *)nif;
	struct xdp_desc *desc;
	uint64_t addr;
	uint32_t idx;
	size_t len;

	if (size > AFXDP_FRAME_SIZE || size > (size_t)nif->mtu + ETH_HDR_LEN)
		return -EMSGSIZE;
	if (x->um.frames.nfree == 0 || xsk_prod_nb_free(&x->sk.tx, 1) == 0) {
		comp_ring_drain(x);
		if (x->um.frames.nfree == 0 || xsk_prod_nb_free(&x->sk.tx, 1) == 0) {
			tx_kick(x);
			comp_ring_drain(x);
		}
	}
	if (x->um.frames.nfree == 0 || xsk_ring_prod__reserve(&x->sk.tx, 1, &idx) != 1) {
		x->stats.tx_ring_full++;
		return -ENOBUFS;
	}
	xsk_frames_pop(&x->um.frames, &addr);
	/* The stack writes the frame straight into the UMEM: no copy. */
	len = fill(xsk_umem__get_data(x->um.area, addr), AFXDP_FRAME_SIZE, ctx);
	if (len > AFXDP_FRAME_SIZE)
		len = AFXDP_FRAME_SIZE;
	desc = xsk_ring_prod__tx_desc(&x->sk.tx, idx);
	desc->addr = addr;
	desc->len = (uint32_t)len;
	desc->options = 0;
	xsk_ring_prod__submit(&x->sk.tx, 1);
	x->sk.tx_outstanding++;
	x->stats.tx_frames++;
	x->stats.tx_bytes += len;
	if (++x->sk.tx_unkicked >= AFXDP_TX_KICK_THRESHOLD)
		tx_kick(x);
	return 0;
}

static const struct netif_ops afxdp_ops = {
	.write = afxdp_write,
};

int afxdp_rx_batch(struct afxdp *x, unsigned max, backend_rx_fn fn, void *ctx)
{
	uint32_t idx_rx, n;

	n = xsk_ring_cons__peek(&x->sk.rx, max, &idx_rx);
	if (n == 0) {
		/* the driver may wait for one to start receiving again */
		xsk_ring_kick(&x->um.fill, &x->um.fill_kick);
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->sk.rx, idx_rx + i);

		fn(ctx, xsk_umem__get_data(x->um.area, d->addr), d->len, 0);
		x->stats.rx_frames++;
		x->stats.rx_bytes += d->len;
	}
	/* Each frame goes back to the fill ring once the stack has seen it. */
	xsk_frames_rx_done(&x->um.frames, &x->um.fill, &x->sk.rx, idx_rx, n, &x->um.fill_kick);
	return (int)n;
}

int afxdp_check(struct afxdp *x)
{
	char name[IF_NAMESIZE];
	int err = 0;
	socklen_t len = sizeof(err);

	/* An unregistered device unbinds its sockets and sets ENETDOWN on them; nothing
	 * arrives any more and poll(2) stays quiet, so it must be asked. */
	if (!if_indextoname((unsigned)x->ifindex, name))
		return -ENODEV;
	if (getsockopt(x->sk.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err)
		return -err;
	return 0;
}

/* Sockets */

/* Counts the AF_XDP sockets bound to ifindex in this network namespace, through sock_diag
 * (what `ss --xdp` shows), and whether one is on queue. -errno when diag is unavailable. */
static int xsk_bound_sockets(int ifindex, unsigned queue, bool *on_queue)
{
	struct {
		struct nlmsghdr nlh;
		struct xdp_diag_req req;
	} msg;
	char buf[16384];
	int s, count = 0, r = 0;
	bool done = false;

	*on_queue = false;
	s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (s < 0)
		return -errno;
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.req.sdiag_family = AF_XDP;
	msg.req.xdiag_show = XDP_SHOW_INFO;
	if (send(s, &msg, sizeof(msg), 0) < 0) {
		r = -errno;
		goto out;
	}
	while (!done) {
		ssize_t len = recv(s, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0) {
			r = -errno;
			goto out;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			struct xdp_diag_msg *m;
			struct rtattr *a;
			int alen;

			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				r = e->error ? e->error : -EIO;
				goto out;
			}
			m = NLMSG_DATA(h);
			a = (struct rtattr *)(m + 1);
			alen = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
			for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				struct xdp_diag_info *info = RTA_DATA(a);

				if (a->rta_type != XDP_DIAG_INFO ||
				    RTA_PAYLOAD(a) < sizeof(*info))
					continue;
				if ((int)info->ifindex == ifindex) {
					count++;
					if (info->queue_id == queue)
						*on_queue = true;
				}
			}
		}
	}
	r = count;
out:
	close(s);
	return r;
}

static uint32_t attached_prog(int ifindex, uint32_t *flags)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	*flags = 0;
	if (bpf_xdp_query(ifindex, 0, &q) < 0)
		return 0;
	if (q.skb_prog_id) {
		*flags = XDP_FLAGS_SKB_MODE;
		return q.skb_prog_id;
	}
	if (q.drv_prog_id) {
		*flags = XDP_FLAGS_DRV_MODE;
		return q.drv_prog_id;
	}
	if (q.hw_prog_id) {
		*flags = XDP_FLAGS_HW_MODE;
		return q.hw_prog_id;
	}
	return 0;
}

/* The program's name, when we may read it (needs CAP_SYS_ADMIN); "" otherwise. */
static void prog_name(uint32_t id, char *name, size_t len)
{
	struct bpf_prog_info info;
	uint32_t ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	name[0] = '\0';
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) == 0)
		snprintf(name, len, "%s", info.name);
	close(fd);
}

/* A process's start time (field 22 of /proc/PID/stat, clock ticks since boot): with the
 * pid it names one process for good, where a pid alone is recycled. 0 when unknown. */
static unsigned long long proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name (field 2) may hold spaces and parentheses: count from its last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
				"%*d %*d %*d %*d %llu",
			 &t) != 1)
		return 0;
	return t;
}

/* The record of the program we attached: "PROG_ID PID START_TIME". */
struct prog_record {
	uint32_t id;
	pid_t pid;
	unsigned long long start; /* 0: not recorded (an older ustackd) */
};

static void prog_record_read(const char *path, struct prog_record *rec)
{
	unsigned long id = 0;
	long p = 0;
	FILE *f;
	int n;

	memset(rec, 0, sizeof(*rec));
	if (!path[0] || !(f = fopen(path, "re")))
		return;
	n = fscanf(f, "%lu %ld %llu", &id, &p, &rec->start);
	fclose(f);
	if (n < 2)
		return;
	if (n < 3)
		rec->start = 0;
	rec->id = (uint32_t)id;
	rec->pid = (pid_t)p;
}

static void prog_record_write(const char *path, uint32_t id)
{
	FILE *f;

	if (!path[0])
		return;
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "%u %ld %llu\n", id, (long)getpid(), proc_start_time(getpid()));
	fclose(f);
}

/* Is the recorded process a live ustackd? A killed daemon's pid may belong to another
 * process by now, even another ustackd (on another interface): only the same pid with the
 * same start time is the same process. Without a recorded start time, its name. */
static bool record_owner_alive(const struct prog_record *rec)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (rec->pid <= 0 || (kill(rec->pid, 0) < 0 && errno == ESRCH))
		return false;
	if (rec->start)
		return proc_start_time(rec->pid) == rec->start;
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)rec->pid);
	f = fopen(path, "re");
	if (!f)
		return true; /* alive, name unknown: assume it is */
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "ustackd", 7) == 0;
}

/* A program on the interface that no AF_XDP socket uses any more: ours, left by a
 * predecessor that was killed before it could detach (`ip link set dev IF xdp off`).
 * Whether a socket still uses it is asked of sock_diag (`ss --xdp`) when the kernel has it
 * (CONFIG_XDP_SOCKETS_DIAG); otherwise the record says which ustackd attached it and
 * whether that process is gone. Any other program is someone else's and is left alone. */
static int clear_stale_prog(struct afxdp *x, char *why, size_t whylen)
{
	uint32_t flags, id = attached_prog(x->ifindex, &flags);
	char name[BPF_OBJ_NAME_LEN];
	struct prog_record rec;
	bool on_queue, stale;
	int n, r;

	n = xsk_bound_sockets(x->ifindex, x->queue, &on_queue);
	if (n > 0 && on_queue)
		return why_errno(why, whylen, -EBUSY,
				 "queue %u of %s is busy: another AF_XDP socket is bound to it "
				 "(another ustackd? see `ss --xdp`)",
				 x->queue, x->ifname);
	if (id == 0 || n > 0)
		return 0; /* nothing attached, or a live user: libxdp shares the program */
	prog_record_read(x->prog_record, &rec);
	prog_name(id, name, sizeof(name));
	if (rec.id == id)
		/* Ours: a live ustackd binds its socket before it attaches, so when sock_diag
		 * says no socket is bound, the program is stale whoever has the pid now. */
		stale = n == 0 || !record_owner_alive(&rec);
	else
		/* Not recorded by us: libxdp's own program is stale only when sock_diag
		 * proves that no socket uses it. */
		stale = n == 0 && (strcmp(name, AFXDP_PROG_NAME) == 0 ||
				   strcmp(name, "xsk_def_prog") == 0);
	if (!stale) {
		if (rec.id == id)
			return 0; /* a live instance's: attaching ours will say so */
		return why_errno(why, whylen, -EBUSY,
				 "%s already has an XDP program attached (id %u%s%s) that is not "
				 "ours; detach it (`ip link set dev %s xdp off`) or use another "
				 "interface",
				 x->ifname, id, name[0] ? ", " : "", name, x->ifname);
	}
	r = bpf_xdp_detach(x->ifindex, flags, NULL);
	if (r < 0)
		return why_errno(why, whylen, r,
				 "cannot detach the stale XDP program %u from %s: %s", id,
				 x->ifname, strerror(-r));
	x->stale_prog_id = id;
	return 1;
}

/* The XDP program (issue 11 item 2): frames for the stack go to our socket, everything else
 * to the kernel, which keeps its own addresses on the interface working. For the stack:
 *  - to its MAC: IPv4 to its address, ARP whose target address is its address;
 *  - broadcast: ARP requests for its address (RFC 826), nothing else.
 * XDP cannot clone a frame, so a broadcast goes to one side only: ARP for the stack's
 * address is of no use to the kernel, and every other broadcast (ARP for the kernel's
 * addresses, gratuitous ARP, DHCP, IPv4 broadcasts) stays with the kernel; the stack learns
 * its neighbours from their requests and replies to it instead. Multicast, IPv6, VLAN tags
 * and frames to other MACs pass too. When the stack shares the interface's MAC (no --mac),
 * the IPv4/ARP address checks alone tell the two apart.
 * In C it would be
 *
 *	if (data + 34 > data_end) return XDP_PASS;
 *	if (dst == our MAC) {
 *		if (type == ETH_P_IP) { if (ip->daddr == addr) goto redirect; return XDP_PASS; }
 *		if (type != ETH_P_ARP) return XDP_PASS;
 *	} else if (dst != broadcast || type != ETH_P_ARP) return XDP_PASS;
 *	if (data + 42 > data_end || arp->tpa != addr) return XDP_PASS;
 *    redirect:
 *	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
 *
 * (the XDP_PASS fallback in the flags needs Linux 5.3; JMP32 Linux 5.1), written as
 * instructions with the MAC and address as immediates, so that nothing is read from disk,
 * no BPF compiler is needed to build, and nothing needs CAP_SYS_ADMIN: loading it needs
 * CAP_BPF and CAP_NET_ADMIN, attaching it CAP_NET_ADMIN. libxdp's own program management
 * would ask the kernel for programs by id, which needs CAP_SYS_ADMIN. Packet loads are in
 * the host's byte order, so each immediate is the same bytes read as a host integer. */
/* XSKMAP slots: indexed by queue; at least this many, more for a higher --queue. */
#define AFXDP_MAP_ENTRIES 64

#define I_MOV64_REG(d, s) { .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = d, .src_reg = s }
#define I_MOV64_IMM(d, i) { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = d, .imm = i }
#define I_ADD64_IMM(d, i) { .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = d, .imm = i }
#define I_LDX(sz, d, s, o) { .code = BPF_LDX | BPF_MEM | sz, .dst_reg = d, .src_reg = s, .off = o }
#define I_JGT_REG(d, s, o) { .code = BPF_JMP | BPF_JGT | BPF_X, .dst_reg = d, .src_reg = s, .off = o }
#define I_JNE32_IMM(d, i, o) { .code = BPF_JMP32 | BPF_JNE | BPF_K, .dst_reg = d, .imm = i, .off = o }
#define I_JEQ32_IMM(d, i, o) { .code = BPF_JMP32 | BPF_JEQ | BPF_K, .dst_reg = d, .imm = i, .off = o }
#define I_JA(o) { .code = BPF_JMP | BPF_JA, .off = o }
/* The instruction that loads the XSKMAP's fd, set once the map exists. */
#define XSK_PROG_MAP_INSN 28

/* The bytes at p read as the host's integer, as a BPF packet load sees them. */
static int32_t host32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return (int32_t)v;
}

static int32_t host16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int xsk_prog_load(struct afxdp *x, struct in_addr addr, char *why, size_t whylen)
{
	LIBBPF_OPTS(bpf_prog_load_opts, popts);
	const uint8_t bcast[MAC_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const uint8_t type_ip[2] = { 0x08, 0x00 }, type_arp[2] = { 0x08, 0x06 };
	const int32_t mac_lo = host32(x->nif.mac.b), mac_hi = host16(x->nif.mac.b + 4);
	const int32_t ip = host32(&addr.s_addr), ty_ip = host16(type_ip),
		      ty_arp = host16(type_arp);
	/* Jump offsets count from the next instruction; the index of each is on its left. */
	struct bpf_insn insns[] = {
		/* 0 */ I_MOV64_REG(BPF_REG_6, BPF_REG_1),	 /* r6 = ctx */
		/* 1 */ I_LDX(BPF_W, BPF_REG_2, BPF_REG_6, 0), /* r2 = ctx->data */
		/* 2 */ I_LDX(BPF_W, BPF_REG_3, BPF_REG_6, 4), /* r3 = ctx->data_end */
		/* 3 */ I_MOV64_REG(BPF_REG_4, BPF_REG_2),
		/* 4 */ I_ADD64_IMM(BPF_REG_4, ETH_HDR_LEN + 20), /* to the IPv4 daddr's end */
		/* 5 */ I_JGT_REG(BPF_REG_4, BPF_REG_3, 27),	   /* short: -> 33 pass */
		/* 6 */ I_LDX(BPF_H, BPF_REG_5, BPF_REG_2, 12),	   /* r5 = ethertype */
		/* 7 */ I_LDX(BPF_W, BPF_REG_4, BPF_REG_2, 0),	   /* destination MAC */
		/* 8 */ I_JNE32_IMM(BPF_REG_4, mac_lo, 5),	   /* -> 14 bcast */
		/* 9 */ I_LDX(BPF_H, BPF_REG_4, BPF_REG_2, 4),
		/* 10 */ I_JNE32_IMM(BPF_REG_4, mac_hi, 3),	   /* -> 14 bcast */
		/* 11 */ I_JEQ32_IMM(BPF_REG_5, ty_ip, 13),	   /* -> 25 ipv4 */
		/* 12 */ I_JEQ32_IMM(BPF_REG_5, ty_arp, 6),	   /* -> 19 arp */
		/* 13 */ I_JA(19),				   /* -> 33 pass */
		/* 14 bcast */ I_LDX(BPF_W, BPF_REG_4, BPF_REG_2, 0),
		/* 15 */ I_JNE32_IMM(BPF_REG_4, host32(bcast), 17), /* -> 33 pass */
		/* 16 */ I_LDX(BPF_H, BPF_REG_4, BPF_REG_2, 4),
		/* 17 */ I_JNE32_IMM(BPF_REG_4, host16(bcast + 4), 15), /* -> 33 pass */
		/* 18 */ I_JNE32_IMM(BPF_REG_5, ty_arp, 14),		 /* -> 33 pass */
		/* 19 arp */ I_MOV64_REG(BPF_REG_4, BPF_REG_2),
		/* 20 */ I_ADD64_IMM(BPF_REG_4, ETH_HDR_LEN + 28), /* the whole ARP packet */
		/* 21 */ I_JGT_REG(BPF_REG_4, BPF_REG_3, 11),	    /* -> 33 pass */
		/* 22 */ I_LDX(BPF_W, BPF_REG_4, BPF_REG_2, ETH_HDR_LEN + 24), /* target IP */
		/* 23 */ I_JNE32_IMM(BPF_REG_4, ip, 9),			    /* -> 33 pass */
		/* 24 */ I_JA(2),					    /* -> 27 redirect */
		/* 25 ipv4 */ I_LDX(BPF_W, BPF_REG_4, BPF_REG_2, ETH_HDR_LEN + 16), /* daddr */
		/* 26 */ I_JNE32_IMM(BPF_REG_4, ip, 6),				  /* -> 33 pass */
		/* 27 redirect: r2 = ctx->rx_queue_index (struct xdp_md, offset 16) */
		I_LDX(BPF_W, BPF_REG_2, BPF_REG_6, 16),
		/* 28, 29 (XSK_PROG_MAP_INSN): r1 = &xsks_map (a 16-byte load of the map fd) */
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_1,
		  .src_reg = BPF_PSEUDO_MAP_FD, .imm = 0 /* set below */ },
		{ 0 },
		/* 30: r3 = XDP_PASS: the action when no socket is in the map for the queue */
		I_MOV64_IMM(BPF_REG_3, XDP_PASS),
		/* 31: r0 = bpf_redirect_map(r1, r2, r3) */
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_redirect_map },
		/* 32 */ { .code = BPF_JMP | BPF_EXIT },
		/* 33 pass */ I_MOV64_IMM(BPF_REG_0, XDP_PASS),
		/* 34 */ { .code = BPF_JMP | BPF_EXIT },
	};
	char log[4096] = "";
	int r;

	x->map_fd = bpf_map_create(BPF_MAP_TYPE_XSKMAP, "ustack_xsks", sizeof(int), sizeof(int),
				   x->queue < AFXDP_MAP_ENTRIES ? AFXDP_MAP_ENTRIES : x->queue + 1,
				   NULL);
	if (x->map_fd < 0) {
		r = -errno;
		return why_errno(why, whylen, r,
				 "cannot create the XSKMAP: %s (needs CAP_BPF and CAP_NET_ADMIN%s)",
				 strerror(-r), r == -EPERM ? "" : "; memlock limit?");
	}
	insns[XSK_PROG_MAP_INSN].imm = x->map_fd;
	popts.log_buf = log;
	popts.log_size = sizeof(log);
	popts.log_level = 0;
	x->prog_fd = bpf_prog_load(BPF_PROG_TYPE_XDP, AFXDP_PROG_NAME, "Dual BSD/GPL", insns,
				   sizeof(insns) / sizeof(insns[0]), &popts);
	if (x->prog_fd < 0) {
		r = -errno;
		return why_errno(why, whylen, r,
				 "cannot load the XDP program: %s (needs CAP_BPF and "
				 "CAP_NET_ADMIN)%s%s",
				 strerror(-r), log[0] ? ": " : "", log);
	}
	return 0;
}

static int xsk_prog_attach(struct afxdp *x, enum afxdp_mode mode, char *why, size_t whylen)
{
	/* Never replace a program that appeared since clear_stale_prog() looked. */
	uint32_t flags = XDP_FLAGS_UPDATE_IF_NOEXIST;
	int r;

	if (mode == AFXDP_MODE_SKB)
		flags |= XDP_FLAGS_SKB_MODE;
	else if (mode == AFXDP_MODE_NATIVE)
		flags |= XDP_FLAGS_DRV_MODE;
	r = bpf_xdp_attach(x->ifindex, x->prog_fd, flags, NULL);
	if (r == 0) {
		x->attach_flags = flags & (XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE);
		return 0;
	}
	switch (r) {
	case -EBUSY:
	case -EEXIST:
		return why_errno(why, whylen, r,
				 "%s already has an XDP program attached (another ustackd on "
				 "another queue, or another program): one ustackd per interface",
				 x->ifname);
	case -EOPNOTSUPP:
		return why_errno(why, whylen, r,
				 "the driver of %s does not support native XDP (try --xdp-mode skb)",
				 x->ifname);
	case -EPERM:
	case -EACCES:
		return why_errno(why, whylen, r,
				 "cannot attach the XDP program to %s: permission denied (needs "
				 "CAP_NET_ADMIN)",
				 x->ifname);
	default:
		return why_errno(why, whylen, r, "cannot attach the XDP program to %s: %s",
				 x->ifname, strerror(-r));
	}
}

static int if_query(struct afxdp *x, const struct afxdp_config *cfg, char *why, size_t whylen)
{
	struct ifreq ifr;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return why_errno(why, whylen, -errno, "socket: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", x->ifname);
	if (ioctl(s, SIOCGIFMTU, &ifr) < 0) {
		r = why_errno(why, whylen, -errno, "cannot read the MTU of %s: %s", x->ifname,
			      strerror(errno));
		goto out;
	}
	x->ifmtu = (unsigned)ifr.ifr_mtu;
	if (cfg->mac_set) {
		x->nif.mac = cfg->mac;
	} else {
		if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
			r = why_errno(why, whylen, -errno, "cannot read the MAC of %s: %s",
				      x->ifname, strerror(errno));
			goto out;
		}
		memcpy(x->nif.mac.b, ifr.ifr_hwaddr.sa_data, MAC_LEN);
	}
out:
	close(s);
	return r;
}

/* The UMEM is accounted against RLIMIT_MEMLOCK unless we have CAP_IPC_LOCK: raise the
 * soft limit as far as the hard limit allows. */
static void memlock_raise(size_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= need + (1u << 20))
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_MEMLOCK, &rl);
}

int afxdp_open(const struct afxdp_config *cfg, struct afxdp **out, char *why, size_t whylen)
{
	struct xsk_umem_config ucfg = {
		.fill_size = AFXDP_FILL_RING_SIZE,
		.comp_size = AFXDP_COMP_RING_SIZE,
		.frame_size = AFXDP_FRAME_SIZE,
		.frame_headroom = AFXDP_FRAME_HEADROOM,
		.flags = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = AFXDP_RX_RING_SIZE,
		.tx_size = AFXDP_TX_RING_SIZE,
		/* We load and attach the program ourselves (xsk_prog_load). */
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = afxdp_bind_flags(cfg->mode),
	};
	struct xdp_options opts;
	socklen_t optlen = sizeof(opts);
	struct afxdp *x;
	uint32_t flags;
	int r;

	if (strlen(cfg->ifname) >= IF_NAMESIZE)
		return why_errno(why, whylen, -EINVAL, "interface name '%s' is too long",
				 cfg->ifname);
	if (cfg->mtu > afxdp_mtu_max())
		return why_errno(why, whylen, -EINVAL,
				 "MTU %u is too large for AF_XDP: a %u-byte UMEM frame receives "
				 "at most %u bytes after the kernel's %d bytes of XDP headroom, "
				 "so the MTU can be at most %u",
				 cfg->mtu, AFXDP_FRAME_SIZE, afxdp_mtu_max() + ETH_HDR_LEN,
				 XDP_PACKET_HEADROOM, afxdp_mtu_max());
	x = calloc(1, sizeof(*x));
	if (!x)
		return why_errno(why, whylen, -ENOMEM, "out of memory");
	x->sk.fd = -1;
	x->um.fill_kick = (struct xsk_kick){ .fn = fill_wakeup, .ctx = x };
	x->sk.tx_kick = (struct xsk_kick){ .fn = tx_wakeup, .ctx = x };
	x->prog_fd = -1;
	x->map_fd = -1;
	snprintf(x->ifname, sizeof(x->ifname), "%s", cfg->ifname);
	snprintf(x->prog_record, sizeof(x->prog_record), "%s",
		 cfg->prog_record ? cfg->prog_record : "");
	x->queue = cfg->queue;
	x->ifindex = (int)if_nametoindex(cfg->ifname);
	if (x->ifindex == 0) {
		r = why_errno(why, whylen, -ENODEV,
			      "no interface named %s in this network namespace (AF_XDP binds "
			      "to an existing interface)",
			      cfg->ifname);
		goto fail;
	}
	x->nif.ops = &afxdp_ops;
	x->nif.mtu = cfg->mtu;
	r = if_query(x, cfg, why, whylen);
	if (r < 0)
		goto fail;
	if (cfg->mtu > x->ifmtu) {
		r = why_errno(why, whylen, -EINVAL,
			      "MTU %u is larger than the MTU of %s (%u): raise it with `ip link "
			      "set dev %s mtu %u` or lower --mtu",
			      cfg->mtu, x->ifname, x->ifmtu, x->ifname, cfg->mtu);
		goto fail;
	}
	r = clear_stale_prog(x, why, whylen);
	if (r < 0)
		goto fail;

	x->um.size = (size_t)AFXDP_NUM_FRAMES * AFXDP_FRAME_SIZE;
	memlock_raise(x->um.size);
	x->um.area = mmap(NULL, x->um.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0); /* page-aligned, as the UMEM must be */
	if (x->um.area == MAP_FAILED) {
		x->um.area = NULL;
		r = why_errno(why, whylen, -ENOMEM, "cannot map %zu bytes of UMEM", x->um.size);
		goto fail;
	}
	r = xsk_umem__create(&x->um.umem, x->um.area, x->um.size, &x->um.fill, &x->um.comp,
			     &ucfg);
	if (r < 0) {
		if (r == -EPERM || r == -EACCES)
			r = why_errno(why, whylen, r,
				      "cannot create an AF_XDP socket: permission denied (needs "
				      "CAP_NET_RAW, plus CAP_NET_ADMIN and CAP_BPF for the XDP "
				      "program)");
		else if (r == -ENOMEM || r == -ENOBUFS)
			r = why_errno(why, whylen, r,
				      "cannot register %zu MiB of UMEM: %s; the memlock limit is "
				      "too low: raise it (LimitMEMLOCK=, ulimit -l) or grant "
				      "CAP_IPC_LOCK",
				      x->um.size >> 20, strerror(-r));
		else
			r = why_errno(why, whylen, r, "xsk_umem__create: %s", strerror(-r));
		goto fail;
	}
	xsk_frames_init(&x->um.frames, x->um.free_store, AFXDP_NUM_FRAMES, AFXDP_FRAME_SIZE,
			AFXDP_RX_FRAMES);
	x->stats.tx_reserve = AFXDP_TX_RESERVE;

	r = xsk_socket__create(&x->sk.xsk, x->ifname, x->queue, x->um.umem, &x->sk.rx,
			       &x->sk.tx, &scfg);
	if (r < 0) {
		switch (r) {
		case -EPERM:
		case -EACCES:
			r = why_errno(why, whylen, r,
				      "cannot create an AF_XDP socket on %s: permission denied "
				      "(needs CAP_NET_RAW)",
				      x->ifname);
			break;
		case -EBUSY:
			r = why_errno(why, whylen, r,
				      "queue %u of %s is busy: another AF_XDP socket is bound to "
				      "it (another ustackd?)",
				      x->queue, x->ifname);
			break;
		case -EINVAL:
			r = why_errno(why, whylen, r,
				      "cannot bind to queue %u of %s: no such queue, or the "
				      "interface is down",
				      x->queue, x->ifname);
			break;
		case -EOPNOTSUPP:
			r = why_errno(why, whylen, r, "the driver of %s does not support AF_XDP",
				      x->ifname);
			break;
		case -ENOMEM:
		case -ENOBUFS:
			r = why_errno(why, whylen, r,
				      "cannot create the AF_XDP rings on %s: %s (memlock limit? "
				      "raise LimitMEMLOCK= or grant CAP_IPC_LOCK)",
				      x->ifname, strerror(-r));
			break;
		default:
			r = why_errno(why, whylen, r, "cannot create an AF_XDP socket on %s: %s",
				      x->ifname, strerror(-r));
		}
		goto fail;
	}
	x->sk.fd = xsk_socket__fd(x->sk.xsk);
	fill_ring_refill(x);

	/* The socket goes into the map before the program is attached, so that the first
	 * redirected frame already has somewhere to go. */
	r = xsk_prog_load(x, cfg->addr, why, whylen);
	if (r < 0)
		goto fail;
	r = xsk_socket__update_xskmap(x->sk.xsk, x->map_fd);
	if (r < 0) {
		r = why_errno(why, whylen, r, "cannot add the socket to the XSKMAP: %s",
			      strerror(-r));
		goto fail;
	}
	r = xsk_prog_attach(x, cfg->mode, why, whylen);
	if (r < 0)
		goto fail;
	x->attached = true;

	x->prog_id = attached_prog(x->ifindex, &flags);
	if (flags)
		x->attach_flags = flags; /* auto: the mode the kernel chose */
	if (x->prog_id)
		prog_record_write(x->prog_record, x->prog_id);
	memset(&opts, 0, sizeof(opts));
	if (getsockopt(x->sk.fd, SOL_XDP, XDP_OPTIONS, &opts, &optlen) == 0)
		x->zerocopy = (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0;
	snprintf(x->mode_name, sizeof(x->mode_name), "%s, %s",
		 flags == XDP_FLAGS_DRV_MODE   ? "native"
		 : flags == XDP_FLAGS_HW_MODE ? "offload"
					      : "skb",
		 x->zerocopy ? "zero-copy" : "copy");
	*out = x;
	return 0;
fail:
	afxdp_close(x);
	return r;
}

static void xsk_prog_detach(struct afxdp *x)
{
	if (x->attached) {
		/* Detach our program, and only ours: old_prog_fd makes the kernel refuse if
		 * another has replaced it meanwhile. */
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = x->prog_fd);

		bpf_xdp_detach(x->ifindex, x->attach_flags | XDP_FLAGS_REPLACE, &o);
		if (x->prog_record[0] && x->prog_id)
			unlink(x->prog_record);
	}
	x->attached = false;
}

void afxdp_quiesce(struct afxdp *x, struct afxdp_frame_census *c)
{
	xsk_prog_detach(x);
	afxdp_flush(x);
	comp_ring_drain(x);
	c->free = x->um.frames.nfree;
	c->fill = AFXDP_FILL_RING_SIZE - xsk_prod_nb_free(&x->um.fill, AFXDP_FILL_RING_SIZE);
	c->rx = xsk_cons_nb_avail(&x->sk.rx, AFXDP_RX_RING_SIZE);
	c->tx = x->sk.tx_outstanding;
	c->total = AFXDP_NUM_FRAMES;
}

int afxdp_kernel_stats(const struct afxdp *x, struct afxdp_kernel_stats *out)
{
	struct xdp_statistics st;
	socklen_t len = sizeof(st);

	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	if (getsockopt(x->sk.fd, SOL_XDP, XDP_STATISTICS, &st, &len) < 0)
		return -errno;
	out->rx_dropped = st.rx_dropped;
	out->rx_invalid_descs = st.rx_invalid_descs;
	out->tx_invalid_descs = st.tx_invalid_descs;
	/* Linux 5.9 added these; an older kernel returns the first three only */
	if (len >= offsetof(struct xdp_statistics, rx_fill_ring_empty_descs) + sizeof(uint64_t)) {
		out->rx_ring_full = st.rx_ring_full;
		out->rx_fill_ring_empty = st.rx_fill_ring_empty_descs;
	}
	return 0;
}

void afxdp_close(struct afxdp *x)
{
	if (!x)
		return;
	xsk_prog_detach(x);
	if (x->sk.xsk)
		xsk_socket__delete(x->sk.xsk);
	if (x->um.umem)
		xsk_umem__delete(x->um.umem);
	if (x->um.area)
		munmap(x->um.area, x->um.size);
	if (x->prog_fd >= 0)
		close(x->prog_fd);
	if (x->map_fd >= 0)
		close(x->map_fd);
	free(x);
}

struct netif *afxdp_netif(struct afxdp *x)
{
	return &x->nif;
}

int afxdp_fd(const struct afxdp *x)
{
	return x->sk.fd;
}

const char *afxdp_attach_mode(const struct afxdp *x)
{
	return x->mode_name;
}

bool afxdp_zerocopy(const struct afxdp *x)
{
	return x->zerocopy;
}

unsigned afxdp_ifmtu(const struct afxdp *x)
{
	return x->ifmtu;
}

const struct afxdp_stats *afxdp_stats(struct afxdp *x)
{
	x->stats.free_frames_min = x->um.frames.nfree_min;
	return &x->stats;
}

unsigned afxdp_free_frames(const struct afxdp *x)
{
	return x->um.frames.nfree;
}

uint32_t afxdp_stale_prog_detached(const struct afxdp *x)
{
	return x->stale_prog_id;
}
