/* io.ustack.Stack.Capture: classic pcap (pcap-savefile(5), LINKTYPE_ETHERNET, microsecond
 * timestamps) of every frame in and out, written to the fd the client passed.
 *
 * The packet path never waits for the reader: records go into a bounded buffer
 * (RPC_CAPTURE_BUF_BYTES) that is written out whenever the fd takes data (a pipe or socket
 * is made non-blocking); a frame that does not fit is dropped and counted (dropped,
 * RpcFdDrops). A regular file has no readiness to wait for: its records are written in
 * pieces of RPC_CAPTURE_FILE_FLUSH_BYTES, or RPC_CAPTURE_FILE_FLUSH_MS after the first
 * unwritten one, not one write(2) per frame (a capture of a busy link would otherwise cost
 * a system call per packet, each one a chance for a slow disk to stall the loop). */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/pcap_buf.h"
#include "backends/pcap_format.h"
#include "daemon.h"
#include "rpc.h"

#define RPC_CAPTURE_BUF_BYTES (1u << 20)
#define RPC_CAPTURE_SNAPLEN_MAX 262144u
#define RPC_CAPTURE_FILE_FLUSH_BYTES (64u << 10)
#define RPC_CAPTURE_FILE_FLUSH_MS 1000 /* as backends/pcap.c: each second */
#define RPC_CAPTURE_COMPACT_BYTES (RPC_CAPTURE_BUF_BYTES / 4)

struct rpc_capture {
	struct rpc_stream stream;
	struct frame_tap_observer obs;
	struct ustackd *d;
	int fd;
	bool regular; /* a regular file: ev_wr is a timer, not a readiness event */
	struct event *ev_wr, *ev_end;
	uint32_t snaplen;
	uint64_t count, frames, bytes, dropped;
	bool ending;
	size_t off, len;
	uint8_t buf[RPC_CAPTURE_BUF_BYTES];
};

static int rpc_capture_flush(struct rpc_capture *k);

static void rpc_capture_free(struct rpc_capture *k)
{
	frame_tap_del(&k->d->tap, &k->obs);
	if (k->regular && k->fd >= 0)
		(void)rpc_capture_flush(k); /* the client went: its file still gets every record */
	if (k->ev_wr)
		event_free(k->ev_wr);
	if (k->ev_end)
		event_free(k->ev_end);
	if (k->fd >= 0)
		close(k->fd);
	rpc_stream_del(&k->stream);
	free(k);
}

static void rpc_capture_cancel(struct rpc_stream *st)
{
	rpc_capture_free((struct rpc_capture *)((char *)st - offsetof(struct rpc_capture, stream)));
}

/* Writes what the fd takes; -errno when it takes nothing any more (EPIPE: reader gone). */
static int rpc_capture_flush(struct rpc_capture *k)
{
	int r = pcap_buf_drain(k->fd, k->buf, k->len, &k->off);

	if (r < 0 && r != -EAGAIN)
		return r;
	if (k->off == k->len)
		k->off = k->len = 0;
	if (!k->regular) {
		if (k->len)
			event_add(k->ev_wr, NULL);
		else
			event_del(k->ev_wr);
	}
	return 0;
}

/* Records are waiting: a pipe or socket is written when it is writable, a regular file a
 * moment later (or now, when a piece is full). */
static int rpc_capture_schedule(struct rpc_capture *k)
{
	static const struct timeval file_flush = { RPC_CAPTURE_FILE_FLUSH_MS / 1000,
						     (RPC_CAPTURE_FILE_FLUSH_MS % 1000) * 1000 };

	if (!k->regular) {
		if (k->len - k->off > sizeof(k->buf) / 2)
			return rpc_capture_flush(k);
		event_add(k->ev_wr, NULL);
		return 0;
	}
	if (k->len - k->off >= RPC_CAPTURE_FILE_FLUSH_BYTES)
		return rpc_capture_flush(k);
	if (!event_pending(k->ev_wr, EV_TIMEOUT, NULL))
		event_add(k->ev_wr, &file_flush);
	return 0;
}

static struct json_object *rpc_capture_totals(const struct rpc_capture *k);

/* No more frames: the count or the duration was reached, or the fd failed. */
static void rpc_capture_stop(struct rpc_capture *k)
{
	if (k->ending)
		return;
	k->ending = true;
	frame_tap_del(&k->d->tap, &k->obs);
}

/* The end (count, duration, or the fd failed): the totals once the reader has every
 * record (a pipe or socket that does not take them all now is waited for: the records
 * the totals count were lost else, 250 KiB of 300 frames in rpc-sockets), at once when
 * the fd failed; then gone. Runs from the loop (ev_end), never inside the frame path;
 * again from rpc_capture_on_writable until the rest is written or the fd fails. A
 * reader that never reads again keeps it until the client closes the connection. */
static void rpc_capture_on_end(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_capture *k = arg;
	struct rpc_client *c = k->stream.client;

	(void)fd;
	(void)what;
	rpc_capture_stop(k); /* the duration's timer comes here first */
	if (rpc_capture_flush(k) == 0 && k->len > 0 && !k->regular)
		return;
	event_del(k->ev_wr); /* all written, or the fd failed: nothing to wake up for */
	if (rpc_reply(c, rpc_capture_totals(k), false, NULL, 0) == 0)
		rpc_capture_free(k);
	/* else the client is going: its cancel frees k */
}

static struct json_object *rpc_capture_totals(const struct rpc_capture *k)
{
	struct json_object *p = json_object_new_object();

	if (p) {
		json_object_object_add(p, "frames", json_object_new_int64((int64_t)k->frames));
		json_object_object_add(p, "bytes", json_object_new_int64((int64_t)k->bytes));
		json_object_object_add(p, "dropped", json_object_new_int64((int64_t)k->dropped));
	}
	return p;
}

static void rpc_capture_end(struct rpc_capture *k)
{
	rpc_capture_stop(k);
	event_active(k->ev_end, EV_TIMEOUT, 0);
}

static void rpc_capture_on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_capture *k = arg;

	(void)fd;
	(void)what;
	if (rpc_capture_flush(k) < 0 || (k->ending && k->len == 0))
		rpc_capture_end(k); /* the fd failed, or the reader has the last record */
}

static void rpc_capture_append(struct rpc_capture *k, const void *data, size_t len)
{
	memcpy(k->buf + k->len, data, len);
	k->len += len;
}

/* Moves the records not written yet to the front of the buffer, so that the room the
 * reader freed takes new records: without it a reader that stalled once lost every frame
 * until it had read the whole backlog, though it kept up, and the buffer held far less
 * than its 1 MiB. Only once a quarter of it is written: a memmove of at most 3/4 MiB per
 * 256 KiB the reader took (a pipe is written a page at a time when the reader trickles). */
static void rpc_capture_compact(struct rpc_capture *k)
{
	if (k->off < RPC_CAPTURE_COMPACT_BYTES)
		return;
	memmove(k->buf, k->buf + k->off, k->len - k->off);
	k->len -= k->off;
	k->off = 0;
}

static void rpc_capture_frame(struct frame_tap_observer *o, const uint8_t *frame, size_t len)
{
	struct rpc_capture *k =
		(struct rpc_capture *)((char *)o - offsetof(struct rpc_capture, obs));
	struct pcap_rec_hdr h = pcap_rec_hdr_now(len, k->snaplen);

	if (k->ending)
		return;
	if (sizeof(h) + h.incl_len > sizeof(k->buf) - k->len)
		rpc_capture_compact(k);
	if (sizeof(h) + h.incl_len > sizeof(k->buf) - k->len) {
		k->dropped++;
		if (k->stream.client)
			rpc_count(k->stream.client, RPC_RpcFdDrops);
		return;
	}
	rpc_capture_append(k, &h, sizeof(h));
	rpc_capture_append(k, frame, h.incl_len);
	k->frames++;
	k->bytes += len;
	if (rpc_capture_schedule(k) < 0) {
		rpc_capture_end(k);
		return;
	}
	if (k->count && k->frames >= k->count)
		rpc_capture_end(k);
}

static int rpc_capture(struct rpc_req *req)
{
	struct ustackd *d = rpc_client_daemon(req->client);
	int64_t snaplen = RPC_CAPTURE_SNAPLEN_MAX, count = 0, duration_s = 0;
	struct pcap_file_hdr fh;
	struct rpc_capture *k;
	struct stat st;
	int err;

	if (varlink_get_int(req->call->params, "snaplen", 1, RPC_CAPTURE_SNAPLEN_MAX, &snaplen) ==
	    -EINVAL)
		return rpc_invalid_param(req, "snaplen");
	if (varlink_get_int(req->call->params, "count", 0, INT64_MAX, &count) == -EINVAL)
		return rpc_invalid_param(req, "count");
	if (varlink_get_int(req->call->params, "duration_s", 0, 86400 * 365, &duration_s) ==
	    -EINVAL)
		return rpc_invalid_param(req, "duration_s");
	if (!rpc_need_more(req))
		return 0;
	if (req->nfds != 1 || fstat(req->fds[0], &st) < 0) {
		rpc_error_errno(req->client, req->errno_error, EBADF,
				"Capture takes exactly one file descriptor");
		return 0;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->d = d;
	k->fd = req->fds[0];
	req->fds[0] = -1; /* ours now */
	k->regular = S_ISREG(st.st_mode);
	k->snaplen = (uint32_t)snaplen;
	k->count = (uint64_t)count;
	k->obs.frame = rpc_capture_frame;
	err = rpc_stream_add(req->client, &k->stream, rpc_capture_cancel, true);
	if (err < 0) {
		close(k->fd);
		free(k);
		return err;
	}
	if (!k->regular && fcntl(k->fd, F_SETFL, fcntl(k->fd, F_GETFL) | O_NONBLOCK) < 0) {
		err = -errno;
		goto fail;
	}
	k->ev_end = evtimer_new(d->base, rpc_capture_on_end, k);
	k->ev_wr = k->regular ? evtimer_new(d->base, rpc_capture_on_writable, k)
			      : event_new(d->base, k->fd, EV_WRITE | EV_PERSIST,
					  rpc_capture_on_writable, k);
	if (!k->ev_end || !k->ev_wr) {
		err = -ENOMEM;
		goto fail;
	}
	fh = pcap_file_hdr_of(k->snaplen);
	rpc_capture_append(k, &fh, sizeof(fh));
	err = rpc_capture_flush(k);
	if (err < 0)
		goto fail;
	if (duration_s) {
		struct timeval tv = { (time_t)duration_s, 0 };

		event_add(k->ev_end, &tv);
	}
	frame_tap_add(&d->tap, &k->obs);
	rpc_reply(req->client, rpc_capture_totals(k), true, NULL, 0); /* started */
	return 0;
fail:
	rpc_capture_free(k);
	return err;
}

const struct rpc_method rpc_capture_methods[] = {
	{ "io.ustack.Stack.Capture", rpc_capture, true, true },
	{ NULL, NULL, false, false },
};
