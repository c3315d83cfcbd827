/* The varlink codec shared by ustackd, libustack and ustackctl (docs/rpc.md, "Framing").
 *
 * A message is one JSON object ended by a NUL byte on a stream socket. The frame reader
 * takes bytes (and the fds that came with them) in and gives whole messages out; it does
 * no I/O itself. Calls, replies and errors are built and checked here, over json-c, so
 * that both ends agree on the envelope: {"method", "parameters", "more", "oneway"} for a
 * call, {"parameters", "continues", "error"} for a reply or an error. */
#ifndef USTACK_IPC_VARLINK_H
#define USTACK_IPC_VARLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Largest message (JSON text without its NUL) either side accepts by default: replies
 * with a big socket table or a KV value (base64) fit; a 64 MiB request does not. */
#define VARLINK_MSG_MAX_BYTES (8u << 20)
/* At most this many fds travel with one message; more are closed on receipt. */
#define VARLINK_FDS_MAX 4

/* Frame reader: the bytes of a stream in, whole NUL-terminated messages out. */
struct varlink_reader {
	char *buf;
	size_t start;	  /* first byte of the next message in buf */
	size_t len;	  /* bytes held in buf (from 0) */
	size_t cap;
	size_t scanned;	  /* from start: bytes known to hold no NUL */
	size_t max_bytes; /* per message, NUL excluded */
	uint64_t base;	  /* stream offset of buf[0] */
	/* fds received and not yet handed out, each with the stream offset of the
	 * message it belongs to (the last message that began in the bytes it came with) */
	int fds[VARLINK_FDS_MAX];
	uint64_t fd_msg[VARLINK_FDS_MAX];
	size_t nfds;
	/* fds of the message last returned by varlink_reader_next() */
	int cur_fds[VARLINK_FDS_MAX];
	size_t cur_nfds;
	uint64_t fds_dropped; /* closed: more than VARLINK_FDS_MAX for one message */
	bool failed;	      /* a framing error happened: the stream cannot go on */
	/* json-c's parser, kept from one message to the next (NULL until the first):
	 * a new one per message cost three allocations and frees */
	struct json_tokener *tok;
};

/* max_bytes 0: VARLINK_MSG_MAX_BYTES. */
void varlink_reader_init(struct varlink_reader *r, size_t max_bytes);
/* Frees the buffer and the parser and closes every fd still held. */
void varlink_reader_fini(struct varlink_reader *r);

/* Space for at least `want` more bytes to read into (recv() straight into the reader):
 * returns 0 with *space and *space_len set, -ENOMEM. Then varlink_reader_commit() the count
 * actually read, with the fds that came with them (copied; the reader owns them now and
 * closes them unless handed out). */
int varlink_reader_reserve(struct varlink_reader *r, size_t want, char **space,
			   size_t *space_len);
void varlink_reader_commit(struct varlink_reader *r, size_t len, const int *fds, size_t nfds);
/* reserve + memcpy + commit. */
int varlink_reader_feed(struct varlink_reader *r, const void *data, size_t len, const int *fds,
			size_t nfds);

/* The next whole message. 1: *msg is a JSON object (the caller owns the reference);
 * 0: no whole message yet; -EMSGSIZE: a message longer than max_bytes (the stream cannot
 * be resynchronised: close it); -EBADMSG: the text is not JSON; -EPROTO: JSON but not an
 * object. After -EBADMSG/-EPROTO the bad message is consumed and the next call goes on
 * with the next message. The fds of the previous message that were not taken are closed. */
int varlink_reader_next(struct varlink_reader *r, struct json_object **msg);
/* The text of the next whole message, unparsed: 1 with text[0, *len) (the NUL at
 * text[*len]; valid until the reader is fed again), 0 when there is none yet, or fds are
 * held (varlink_reader_next() hands those out), or the stream failed. varlink_reader_skip()
 * then takes it, as varlink_reader_next() would have. */
int varlink_reader_peek(struct varlink_reader *r, const char **text, size_t *len);
void varlink_reader_skip(struct varlink_reader *r);
/* Bytes held and not yet returned as messages (0: nothing half-read). */
size_t varlink_reader_pending(const struct varlink_reader *r);
/* Moves up to `max` fds of the message last returned into fds[]; returns how many.
 * Those not taken are closed when the next message is read or at fini. */
size_t varlink_reader_take_fds(struct varlink_reader *r, int *fds, size_t max);

/* A call, as decoded: pointers borrowed from msg. */
struct varlink_call {
	const char *method;	/* "io.ustack.Stack.Status" */
	const char *interface;	/* "io.ustack.Stack" (in `iface_buf`) */
	const char *member;	/* "Status" */
	struct json_object *params; /* never NULL: {} when absent */
	bool more, oneway;
	char iface_buf[256];
};

/* Checks the envelope of a call. 0, or -EBADMSG with *bad naming the offending field
 * ("method", "parameters", "more", "oneway"; "more" when both more and oneway are set),
 * or -ENOMEM. An absent "parameters" is added to msg as {}.
 * Unknown keys are ignored (varlink's "upgrade" included). */
int varlink_call_decode(struct json_object *msg, struct varlink_call *call, const char **bad);

/* A reply or an error, as decoded. */
struct varlink_reply {
	const char *error;	    /* NULL: a reply; else the error's name */
	struct json_object *params; /* never NULL: {} when absent */
	bool continues;
};
int varlink_reply_decode(struct json_object *msg, struct varlink_reply *reply, const char **bad);

/* Builders: each returns a new object (NULL only on allocation failure) and takes over the
 * reference to params (NULL: {}). */
#define VARLINK_CALL_MORE 0x1u
#define VARLINK_CALL_ONEWAY 0x2u
struct json_object *varlink_call_new(const char *method, struct json_object *params,
				     unsigned flags);
struct json_object *varlink_reply_new(struct json_object *params, bool continues);
struct json_object *varlink_error_new(const char *error, struct json_object *params);
/* `error` with {errno: "ECONNRESET", message}: err is an errno, either sign; message NULL:
 * strerror's text. */
struct json_object *varlink_error_errno_new(const char *error, int err, const char *message);

/* The wire text of msg, NUL included in *len (borrowed from msg, valid while it lives
 * unchanged). NULL only on allocation failure. */
const char *varlink_msg_text(struct json_object *msg, size_t *len);
/* The wire text of a reply, the same bytes as varlink_msg_text(varlink_reply_new(params,
 * continues)), into *buf (grown as needed, *cap its size; params NULL: {}), NUL included in
 * *len: the envelope is written around the parameters' own text instead of being built as
 * an object (the server's path for every reply). params is not taken. 0 or -ENOMEM. */
int varlink_reply_text(struct json_object *params, bool continues, char **buf, size_t *cap,
		       size_t *len);

/* "ECONNRESET" for ECONNRESET or -ECONNRESET; "EUNKNOWN" for a value without a name. */
const char *varlink_errno_name(int err);
/* The positive errno for a name ("ETIMEDOUT"), or 0 when unknown. */
int varlink_errno_from_name(const char *name);

/* Typed access to parameters. 0: found and *out set; -ENOENT: absent (or null), *out
 * untouched; -EINVAL: present with the wrong type or out of [min, max]. */
int varlink_get_int(struct json_object *params, const char *key, int64_t min, int64_t max,
		    int64_t *out);
int varlink_get_bool(struct json_object *params, const char *key, bool *out);
int varlink_get_string(struct json_object *params, const char *key, const char **out);
int varlink_get_object(struct json_object *params, const char *key, struct json_object **out);

#endif
