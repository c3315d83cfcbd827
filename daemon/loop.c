/* The packet loop: libevent with
 *  - the device descriptor (persistent read event): a batch of frames per wake-up, all of
 *    them through the stack before the output is flushed (one ACK per connection);
 *  - one timer armed at stack_next_deadline(), re-armed whenever the deadline moves; it is
 *    "now" while datagrams the stack sent to its own address wait, which stack_poll()
 *    delivers (docs/architecture.md, "Loopback"), so they go on the next turn;
 *  - a short retry timer while AF_XDP frames wait on the TX ring;
 *  - a 1 s tick: the device check, the snmp file, pcap flush, STATUS=;
 *  - the watchdog timer: WATCHDOG=1, sent from the loop itself and only while the device
 *    works, so a stuck or broken packet loop lets systemd restart us;
 *  - SIGTERM/SIGINT (stop), SIGHUP (reopen the pcap file). */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "rpc.h"

/* Frames per read event: enough to amortise the wake-up, small enough that timers and the
 * other events are not starved under a flood. */
#define LOOP_RX_BATCH 64
/* Batches per wake-up before going back to libevent. */
#define LOOP_RX_BATCHES 4
#define LOOP_TX_RETRY_US 50
/* --busy-poll never keeps the loop from its timers and signals longer than this. */
#define LOOP_BUSY_POLL_MAX_NS 2000000ull

static void timeval_from_ns(struct timeval *tv, uint64_t ns)
{
	tv->tv_sec = (time_t)(ns / 1000000000ull);
	tv->tv_usec = (suseconds_t)((ns % 1000000000ull) / 1000);
}

/* Keeps ev_timer at the stack's next deadline. */
static void loop_timer_rearm(struct ustackd *d)
{
	uint64_t deadline = stack_next_deadline(d->st), now;
	struct timeval tv;

	if (deadline == d->timer_armed_ns)
		return;
	if (deadline == STACK_NO_DEADLINE) {
		event_del(d->ev_timer);
		d->timer_armed_ns = STACK_NO_DEADLINE;
		return;
	}
	now = ustackd_now_ns();
	/* Round up to the next microsecond so that the timer never fires early and spins. */
	timeval_from_ns(&tv, deadline > now ? deadline - now + 999 : 0);
	event_add(d->ev_timer, &tv);
	d->timer_armed_ns = deadline;
}

static void loop_after_output(struct ustackd *d)
{
	if (device_flush(&d->dev)) {
		struct timeval tv = { 0, LOOP_TX_RETRY_US };

		event_add(d->ev_tx_retry, &tv);
	}
	loop_timer_rearm(d);
}

void loop_kick(struct ustackd *d)
{
	loop_after_output(d);
}

struct rx_ctx {
	struct ustackd *d;
	uint64_t now_ns;
};

static void loop_rx_frame(void *ctx, const uint8_t *frame, size_t len, unsigned flags)
{
	struct rx_ctx *rc = ctx;

	frame_tap_input(&rc->d->tap, frame, len);
	stack_input_flags(rc->d->st, rc->d->dev.nif, frame, len, rc->now_ns,
			  (flags & BACKEND_RX_L4_CSUM_OK) ? STACK_RX_L4_CSUM_OK : 0);
}

/* One receive batch; the number of frames, or -1 after a fatal device error. */
static int loop_rx_batch(struct ustackd *d)
{
	struct rx_ctx rc = { d, ustackd_now_ns() };
	int n = device_rx(&d->dev, LOOP_RX_BATCH, loop_rx_frame, &rc);

	if (n < 0) {
		log_error_errno(n, "Receive from %s failed; stopping", d->dev.desc);
		d->dev_failed = true;
		d->exit_code = 1;
		event_base_loopbreak(d->base);
		return -1;
	}
	return n;
}

/* Up to max_batches receive batches (while they come full) as one stack batch: every frame
 * the device has is processed before anything is flushed, and TCP sends one ACK per
 * connection for all of them (stack_input_batch_begin). The frames, or -1 as above. */
static int loop_rx_burst(struct ustackd *d, unsigned max_batches)
{
	int total = 0;

	stack_input_batch_begin(d->st);
	for (unsigned i = 0; i < max_batches; i++) {
		int n = loop_rx_batch(d);

		if (n < 0) {
			total = -1;
			break;
		}
		total += n;
		if (n < LOOP_RX_BATCH)
			break;
	}
	stack_input_batch_end(d->st, ustackd_now_ns());
	return total;
}

/* --busy-poll: a request/response peer (ping -f, a transaction) sends its next frame right
 * after our answer; polling for it a few microseconds saves the sleep and wake-up, which
 * cost more than the work. Bounded so that timers and signals still run. */
static void loop_busy_poll(struct ustackd *d)
{
	uint64_t start = ustackd_now_ns(), last = start, now;

	for (;;) {
		int n = loop_rx_burst(d, 1);

		if (n < 0)
			return;
		now = ustackd_now_ns();
		if (n > 0) {
			loop_after_output(d);
			last = now;
		}
		if (now - last >= (uint64_t)d->cfg.busy_poll_us * 1000 ||
		    now - start >= LOOP_BUSY_POLL_MAX_NS)
			return;
	}
}

static void loop_on_rx(evutil_socket_t fd, short what, void *arg)
{
	struct ustackd *d = arg;

	(void)fd;
	(void)what;
	if (loop_rx_burst(d, LOOP_RX_BATCHES) < 0)
		return;
	loop_after_output(d);
	if (d->cfg.busy_poll_us)
		loop_busy_poll(d);
}

static void loop_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ustackd *d = arg;

	(void)fd;
	(void)what;
	d->timer_armed_ns = 0;
	stack_poll(d->st, ustackd_now_ns());
	loop_after_output(d);
}

static void loop_on_tx_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	loop_after_output(arg);
}

static void loop_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct ustackd *d = arg;
	const struct stats *s = stack_stats(d->st);
	int r;

	(void)fd;
	(void)what;
	d->ticks++;
	r = device_check(&d->dev);
	if (r < 0) {
		log_error_errno(r, "%s stopped working; stopping", d->dev.desc);
		d->dev_failed = true;
		d->exit_code = 1;
		event_base_loopbreak(d->base);
		return;
	}
	if (d->snmp_on) {
		r = snmp_file_update(&d->snmp, s, false);
		if (r < 0 && d->ticks % 60 == 1)
			log_warning_errno(r, "Cannot write %s", d->snmp.path);
	}
	device_pcap_flush(&d->dev);
	if (d->ticks % 10 == 0)
		notify_status("Running on %s: %llu frames in, %llu out",
			      d->dev.desc, (unsigned long long)s->v[STAT_EthInFrames],
			      (unsigned long long)s->v[STAT_EthOutFrames]);
}

static void loop_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct ustackd *d = arg;

	(void)fd;
	(void)what;
	/* This runs in the packet loop: reaching it means the loop turns. */
	if (!d->dev_failed)
		notify_watchdog();
}

static void loop_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct ustackd *d = arg;
	int r;

	(void)what;
	if (sig == SIGHUP) {
		if (!d->dev.pcap_on) {
			log_info("SIGHUP: no pcap file to reopen");
			return;
		}
		r = device_pcap_reopen(&d->dev);
		if (r < 0)
			log_error_errno(r, "Cannot reopen the pcap file %s; frames are not "
					"recorded until the next SIGHUP", d->cfg.pcap);
		else
			log_info("SIGHUP: pcap file reopened");
		return;
	}
	log_notice("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopbreak(d->base);
}

static void loop_free(struct ustackd *d)
{
	struct event **evs[] = { &d->ev_rx,	  &d->ev_timer,	 &d->ev_tx_retry,
				 &d->ev_tick,	  &d->ev_watchdog, &d->ev_sigterm,
				 &d->ev_sigint,	  &d->ev_sighup };

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (*evs[i]) {
			event_free(*evs[i]);
			*evs[i] = NULL;
		}
	if (d->base)
		event_base_free(d->base);
	d->base = NULL;
}

int loop_run(struct ustackd *d)
{
	struct timeval one_s = { 1, 0 };
	char status[256];

	d->base = event_base_new();
	if (!d->base) {
		log_error("Cannot create the event loop");
		return 1;
	}
	d->ev_rx = event_new(d->base, device_fd(&d->dev), EV_READ | EV_PERSIST, loop_on_rx, d);
	d->ev_timer = evtimer_new(d->base, loop_on_timer, d);
	d->ev_tx_retry = evtimer_new(d->base, loop_on_tx_retry, d);
	d->ev_tick = event_new(d->base, -1, EV_PERSIST, loop_on_tick, d);
	d->ev_watchdog = event_new(d->base, -1, EV_PERSIST, loop_on_watchdog, d);
	d->ev_sigterm = evsignal_new(d->base, SIGTERM, loop_on_signal, d);
	d->ev_sigint = evsignal_new(d->base, SIGINT, loop_on_signal, d);
	d->ev_sighup = evsignal_new(d->base, SIGHUP, loop_on_signal, d);
	if (!d->ev_rx || !d->ev_timer || !d->ev_tx_retry || !d->ev_tick || !d->ev_watchdog ||
	    !d->ev_sigterm || !d->ev_sigint || !d->ev_sighup) {
		log_error("Cannot create the loop's events");
		loop_free(d);
		return 1;
	}
	event_add(d->ev_rx, NULL);
	event_add(d->ev_tick, &one_s);
	event_add(d->ev_sigterm, NULL);
	event_add(d->ev_sigint, NULL);
	event_add(d->ev_sighup, NULL);
	d->watchdog_usec = notify_watchdog_usec();
	if (d->watchdog_usec) {
		/* Half the interval, as sd_watchdog_enabled(3) recommends. */
		struct timeval tv;

		timeval_from_ns(&tv, d->watchdog_usec * 1000 / 2);
		event_add(d->ev_watchdog, &tv);
		notify_watchdog();
	}
	d->timer_armed_ns = 0;
	loop_timer_rearm(d);
	if (rpc_server_start(d) < 0) {
		loop_free(d);
		return 1;
	}

	snprintf(status, sizeof(status), "Up on %s", d->dev.desc);
	notify_ready(status);
	d->exit_code = 0;
	event_base_dispatch(d->base);
	notify_stopping(d->exit_code ? "Device failed, stopping" : "Stopping");
	rpc_server_stop(d);
	loop_free(d);
	return d->exit_code;
}
