/* libFuzzer target: the key-value store's redo log as it is read back after a crash
 * (daemon/kv/kv_wal.c: kv_wal_replay() over a file, kv_wal_payload_parse() of each
 * record), the one parser of the store that reads bytes from disk.
 *
 * Input: byte 0 is a mode, the rest is the content of wal.log. Mode bit 0: before the run,
 * give every record the target can walk (a header whose length fits) its right CRC, so that
 * the fuzzer reaches the payload parser instead of stopping at the checksum; bits 1-3: the
 * applied seq the replay starts after (0-7); bit 4: the generation has a salt (a fixed
 * one), and bit 0 gives the records its tags too unless bit 5 is set (then the tag check
 * refuses them: the forged-record path). Nothing may crash or read out of bounds; the
 * replay must stop at or before the end of the file, and a payload the parser accepts must
 * be walked whole. Seeds: tests/fuzz/corpus/kv_wal (mode 1: CRCs are fixed, no salt). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/kv/kv_wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/ustack-fuzz-kvwal-XXXXXX";

struct walk {
	size_t bytes;
	uint8_t sum;
};

static int fz_op(const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen, void *arg)
{
	struct walk *w = arg;

	for (size_t i = 0; i < klen; i++) /* touch every byte: ASan checks the bounds */
		w->sum ^= key[i];
	for (size_t i = 0; value && i < vlen; i++)
		w->sum ^= value[i];
	w->bytes += klen + vlen;
	return 0;
}

static int fz_record(uint64_t seq, const uint8_t *payload, size_t len, void *arg)
{
	struct walk w = { 0 };
	int r = kv_wal_payload_parse(payload, len, fz_op, &w);

	(void)seq;
	(void)arg;
	if (r == 0 && w.bytes > len)
		abort();
	return 0; /* a malformed payload is the backend's -EIO; here: go on */
}

static const struct kv_wal_salt fz_salt = { .set = true, .bytes = "fuzzsal" };

/* Gives every header the walk reaches its right CRC, and its tag from salt (NULL: zero). */
static void fix_crcs(uint8_t *p, size_t len, const struct kv_wal_salt *salt)
{
	size_t off = 0;

	while (len - off >= KV_WAL_HDR_BYTES) {
		struct kv_wal_hdr h;

		if (kv_wal_hdr_parse(p + off, &h) < 0 || h.len > len - off - KV_WAL_HDR_BYTES)
			return;
		kv_wal_hdr_emit(p + off, h.seq, p + off + KV_WAL_HDR_BYTES, h.len, salt);
		off += KV_WAL_HDR_BYTES + h.len;
	}
}

/* The scratch directory goes when the fuzzer exits. */
static void fz_cleanup(void)
{
	char path[64];

	snprintf(path, sizeof(path), "%s/%s", dir, KV_WAL_FILE);
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char path[64];
	uint8_t *img;
	const struct kv_wal_salt *salt;
	struct kv_wal_replayed got;
	struct kv_wal *w;
	int fd;

	if (size < 1)
		return 0;
	salt = data[0] & 0x10 ? &fz_salt : NULL;
	if (!ready) {
		if (!mkdtemp(dir))
			abort();
		atexit(fz_cleanup);
		ready = 1;
	}
	img = malloc(size);
	if (!img)
		abort();
	memcpy(img, data + 1, size - 1);
	if (data[0] & 1)
		fix_crcs(img, size - 1, salt && !(data[0] & 0x20) ? salt : NULL);
	snprintf(path, sizeof(path), "%s/%s", dir, KV_WAL_FILE);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, img, size - 1) != (ssize_t)(size - 1))
		abort();
	close(fd);
	free(img);
	if (kv_wal_open(dir, true, &w) < 0)
		abort();
	if (kv_wal_replay(w, (data[0] >> 1) & 7, salt, fz_record, NULL, &got) == 0 &&
	    (kv_wal_bytes(w) > size - 1 || (got.forged && !salt)))
		abort();
	kv_wal_close(w);
	return 0;
}
