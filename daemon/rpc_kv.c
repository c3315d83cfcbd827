/* io.ustack.KV served (docs/kv.md "Serving it", docs/rpc.md): reads run at once through
 * kv_rpc_call(); writes of every client are collected during one turn of the loop and
 * committed together with kv_group_commit(), so that many clients share one commit and its
 * flush (one fdatasync of the redo log, docs/kv.md "Durability"). A write is answered only
 * after that commit returned (the durability promise of io.ustack.KV.varlink).
 *
 * Ordering (varlink: the replies of one connection come in the order of its calls): any
 * other call from a client that has a write waiting commits the group first (rpc_server.c
 * asks rpc_kv_client_waiting() before each call that is not a grouped write). */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "kv/kv_direct.h"
#include "kv/kv_rpc.h"
#include "log.h"
#include "rpc.h"

/* Writes waiting for the commit; one more flushes the group at once. */
#define RPC_KV_GROUP_MAX 256
/* The largest value (or slice) a Get/GetPartial reply carries: its base64 (4 bytes per 3)
 * and the envelope must fit one message (VARLINK_MSG_MAX_BYTES). Larger values get
 * io.ustack.KV.TooLarge and are read in pieces with GetPartial (docs/kv.md, "Limits"). */
#define RPC_KV_REPLY_MAX_BYTES ((VARLINK_MSG_MAX_BYTES / 4) * 3 - (64u << 10))

struct rpc_kv_wait {
	struct rpc_stream s; /* on its client: cancelled (client NULL) when the client goes */
	struct json_object *params; /* held: w borrows its key strings (NULL: w has copies) */
	struct kv_rpc_write *w;
	bool oneway;
};

/* One daemon, one loop, one store: the group is the daemon's. */
static struct rpc_kv_group {
	struct ustackd *d;
	struct event *ev_commit; /* active: commit after this turn's reads (event_active) */
	struct event *ev_checkpoint; /* KV_CHECKPOINT_DELAY_MS after the first logged write */
	unsigned checkpoint_failures; /* in a row: the next try waits longer (on_checkpoint) */
	struct rpc_kv_wait waits[RPC_KV_GROUP_MAX];
	struct kv_batch_req reqs[RPC_KV_GROUP_MAX];
	size_t n;
	char path[4096];
	char *text; /* a direct read's reply (rpc_kv_direct()) */
	size_t text_cap;
} group;

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void store_of(struct ustackd *d, struct kv_rpc_store *st)
{
	const struct ustackd_config *c = &d->cfg;

	st->kv = d->kv;
	st->path = NULL;
	if (!c->kv_memory &&
	    (size_t)snprintf(group.path, sizeof(group.path), "%s/kv", c->state_dir) <
		    sizeof(group.path))
		st->path = group.path;
	st->map_size_bytes = c->kv_map_size_bytes;
	st->max_value_bytes = c->kv_max_value_bytes;
	st->max_reply_value_bytes = RPC_KV_REPLY_MAX_BYTES;
}

/* Sends a kv_rpc result (its params taken) to c. */
static void send_result(struct rpc_client *c, struct kv_rpc_result *res)
{
	if (res->error)
		rpc_error(c, res->error, res->params);
	else
		rpc_reply(c, res->params, false, NULL, 0);
}

/* The client went before its write was committed: the write still runs, unanswered
 * (docs/kv.md: not acknowledged, it may or may not be there). */
static void wait_cancel(struct rpc_stream *s)
{
	s->client = NULL;
}

/* The store's log is checkpointed into LMDB a while after the first write it holds
 * (kv.h, kv_checkpoint()), so that memory and the replay after a crash stay bounded; the
 * writes themselves are durable already. */
static void checkpoint_arm_ms(unsigned delay_ms)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	if (!evtimer_pending(group.ev_checkpoint, NULL))
		evtimer_add(group.ev_checkpoint, &tv);
}

/* A failed checkpoint loses nothing (the writes stay in the log) but must be tried again
 * even if no write comes to arm the timer: after 1, 2, 4 ... s, at most a minute apart,
 * since each try rebuilds the store's transaction from the whole log (docs/kv.md,
 * "Failures"). Logged when it starts failing and when it works again, not at each try. */
static void on_checkpoint(evutil_socket_t fd, short what, void *arg)
{
	struct ustackd *d = arg;
	unsigned delay_ms;
	int r;

	(void)fd;
	(void)what;
	r = d->kv ? kv_checkpoint(d->kv) : 0;
	if (r == 0) {
		if (group.checkpoint_failures)
			log_notice("kv: checkpoint done after %u failed tries", group.checkpoint_failures);
		group.checkpoint_failures = 0;
		return;
	}
	if (group.checkpoint_failures++ == 0)
		log_warning_errno(r, "kv: checkpoint failed (the writes stay in the log); "
				     "trying again, later each time");
	/* doubled per failure; the shift stops at 6 (1 s << 6 is past the cap) */
	delay_ms = KV_CHECKPOINT_DELAY_MS
		   << (group.checkpoint_failures < 6 ? group.checkpoint_failures : 6);
	if (delay_ms > KV_CHECKPOINT_RETRY_MAX_MS)
		delay_ms = KV_CHECKPOINT_RETRY_MAX_MS;
	checkpoint_arm_ms(delay_ms);
}

static void checkpoint_arm(struct ustackd *d)
{
	if (!d->kv || !kv_checkpoint_pending(d->kv))
		return;
	if (!group.ev_checkpoint) {
		group.ev_checkpoint = evtimer_new(d->base, on_checkpoint, d);
		if (!group.ev_checkpoint)
			return; /* the log's own limits still checkpoint (kv_lmdb.c) */
	}
	checkpoint_arm_ms(KV_CHECKPOINT_DELAY_MS);
}

/* Commits the waiting writes in one transaction, then answers each in order. */
void rpc_kv_commit(struct ustackd *d)
{
	size_t n = group.n;
	int r;

	(void)d;
	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		group.reqs[i] = group.waits[i].w->req;
	r = kv_group_commit(group.d->kv, group.reqs, n, realtime_ns());
	group.n = 0; /* a reply below may make a client call again: start a new group */
	for (size_t i = 0; i < n; i++) {
		struct rpc_kv_wait *wt = &group.waits[i];
		struct rpc_client *c = wt->s.client;
		struct kv_rpc_result res;
		/* The commit may run while c's next call is dispatched: a oneway one must not
		 * silence the reply to this earlier call (wt->oneway decides it). */
		bool later_oneway = c ? rpc_client_oneway_set(c, false) : false;

		wt->w->req = group.reqs[i];
		if (r == 0 && wt->w->req.result == 0) {
			/* done: the reply every write has, as text (kv_direct.h) */
			kv_rpc_write_free(wt->w);
			if (c && !wt->oneway)
				rpc_reply_text(c, KV_DIRECT_OK, KV_DIRECT_OK_LEN);
		} else if (kv_rpc_write_finish(wt->w, r, &res) < 0) {
			if (c && !wt->oneway)
				rpc_error_errno(c, "io.ustack.Stack.Errno", ENOMEM, NULL);
		} else if (c && !wt->oneway) {
			send_result(c, &res);
		} else {
			json_object_put(res.params);
		}
		/* after the reply: a client that shut its side may be freed now */
		if (c) {
			rpc_client_oneway_set(c, later_oneway);
			rpc_stream_del(&wt->s);
		}
		json_object_put(wt->params);
		wt->w = NULL;
		wt->params = NULL;
	}
	checkpoint_arm(group.d);
}

static void on_commit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rpc_kv_commit(arg);
}

bool rpc_kv_client_waiting(const struct rpc_client *c)
{
	for (size_t i = 0; i < group.n; i++)
		if (group.waits[i].s.client == c)
			return true;
	return false;
}

/* Adds w to the group: answered after its commit. params: held while w borrows from it. */
static int group_add(struct rpc_client *c, struct kv_rpc_write *w, struct json_object *params,
		     bool oneway)
{
	struct ustackd *d = rpc_client_daemon(c);
	struct rpc_kv_wait *wt;

	if (!group.ev_commit) {
		group.d = d;
		group.ev_commit = event_new(d->base, -1, 0, on_commit, d);
		if (!group.ev_commit) {
			kv_rpc_write_free(w);
			return -ENOMEM;
		}
	}
	if (group.n == RPC_KV_GROUP_MAX)
		rpc_kv_commit(d);
	wt = &group.waits[group.n];
	*wt = (struct rpc_kv_wait){ .w = w, .params = json_object_get(params), .oneway = oneway };
	/* Not a counted stream (is_call false): it cannot fail, and it keeps a client
	 * that shut its writing side until the answer is out. */
	rpc_stream_add(c, &wt->s, wait_cancel, false);
	group.n++;
	/* Activated now, it runs after the other clients' reads already due in this turn
	 * (libevent runs callbacks activated during a turn after those queued before). */
	event_active(group.ev_commit, EV_TIMEOUT, 0);
	return 0;
}

static int kv_write(struct rpc_req *req)
{
	struct rpc_client *c = req->client;
	struct ustackd *d = rpc_client_daemon(c);
	struct kv_rpc_result res;
	struct kv_rpc_write *w;
	int r;

	if (!d->kv)
		return -ENODEV;
	r = kv_rpc_write_parse(req->call->member, req->call->params, true, &w, &res);
	if (r < 0)
		return r;
	if (r == 1) { /* answered already: bad parameters */
		rpc_count(c, RPC_RpcInvalidParameters);
		send_result(c, &res);
		return 0;
	}
	return group_add(c, w, req->call->params, req->call->oneway);
}

bool rpc_kv_direct(struct rpc_client *c, struct varlink_reader *rd)
{
	struct ustackd *d = rpc_client_daemon(c);
	struct kv_direct_call call;
	struct kv_rpc_store st;
	const char *text;
	size_t len;
	int r;

	if (!d->kv || varlink_reader_peek(rd, &text, &len) != 1 ||
	    kv_direct_parse(text, len, &call) < 0)
		return false;
	if (call.write && !rpc_client_privileged(c)) {
		kv_rpc_write_free(call.w); /* PermissionDenied, counted and logged there */
		return false;
	}
	if (!call.write) {
		if (rpc_kv_client_waiting(c)) /* its replies in the order of its calls */
			rpc_kv_commit(d);
		store_of(d, &st);
		if (kv_direct_read(&st, &call, &group.text, &group.text_cap, &len) < 0)
			return false; /* an error: the json-c path answers it (a read, run again) */
	}
	/* The call is the reader's no more: everything it needs was copied. */
	varlink_reader_skip(rd);
	rpc_count(c, RPC_RpcCalls);
	if (call.write) {
		r = group_add(c, call.w, NULL, false);
		if (r < 0)
			rpc_error_errno(c, "io.ustack.Stack.Errno", -r, NULL);
	} else {
		rpc_reply_text(c, group.text, len);
		if (group.text_cap > (64u << 10)) { /* a large value's: not kept */
			free(group.text);
			group.text = NULL;
			group.text_cap = 0;
		}
	}
	rpc_kick(c);
	return true;
}

static int kv_read(struct rpc_req *req)
{
	struct rpc_client *c = req->client;
	struct ustackd *d = rpc_client_daemon(c);
	struct kv_rpc_store st;
	struct kv_rpc_result res;
	int r;

	if (!d->kv)
		return -ENODEV;
	store_of(d, &st);
	r = kv_rpc_call(&st, req->call->member, req->call->params, false, realtime_ns(), &res);
	if (r < 0)
		return r;
	if (res.error && strcmp(res.error, "org.varlink.service.InvalidParameter") == 0)
		rpc_count(c, RPC_RpcInvalidParameters);
	send_result(c, &res);
	return 0;
}

const struct rpc_method rpc_kv_methods[] = {
	{ "io.ustack.KV.Exists", kv_read, false, false, false },
	{ "io.ustack.KV.Get", kv_read, false, false, false },
	{ "io.ustack.KV.GetPartial", kv_read, false, false, false },
	{ "io.ustack.KV.List", kv_read, false, false, false },
	{ "io.ustack.KV.LastModified", kv_read, false, false, false },
	{ "io.ustack.KV.Digest", kv_read, false, false, false },
	{ "io.ustack.KV.Size", kv_read, false, false, false },
	{ "io.ustack.KV.Info", kv_read, false, false, false },
	{ "io.ustack.KV.Set", kv_write, true, false, true },
	{ "io.ustack.KV.SetPartial", kv_write, true, false, true },
	{ "io.ustack.KV.Remove", kv_write, true, false, true },
	{ "io.ustack.KV.Rename", kv_write, true, false, true },
	{ "io.ustack.KV.Batch", kv_write, true, false, true },
	{ NULL },
};

void rpc_kv_counters(struct ustackd *d, struct json_object *counters)
{
	static const char *const names[] = {
		"KvCheckpoints",    "KvCheckpointFailures", "KvWalRecords",
		"KvWalBytes",	    "KvWalReplayedRecords", "KvWalPendingBytes",
		"KvMainRebuilds",   "KvWalForgedRecords",
	};
	struct kv_stats st;
	uint64_t v[sizeof(names) / sizeof(names[0])];

	if (!d->kv)
		return;
	kv_stats_get(d->kv, &st);
	v[0] = st.checkpoints;
	v[1] = st.checkpoint_failures;
	v[2] = st.wal_records;
	v[3] = st.wal_bytes;
	v[4] = st.replayed_records;
	v[5] = st.wal_pending_bytes;
	v[6] = st.main_rebuilds;
	v[7] = st.wal_forged_records;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		json_object_object_add(counters, names[i], json_object_new_int64((int64_t)v[i]));
}

void rpc_kv_stop(struct ustackd *d)
{
	rpc_kv_commit(d);
	if (group.ev_commit)
		event_free(group.ev_commit);
	group.ev_commit = NULL;
	if (group.ev_checkpoint)
		event_free(group.ev_checkpoint); /* kv_close() checkpoints */
	group.ev_checkpoint = NULL;
	free(group.text);
	group.text = NULL;
	group.text_cap = 0;
}
