/* daemon/kv/kv_wal.c and the LMDB backend's use of it (docs/kv.md, "Durability"): the
 * record codec; recovery from a crash image (LMDB's data file as the last checkpoint left
 * it plus the log) cut at every byte offset, which must give exactly a prefix of the
 * acknowledged commits; bad CRCs, stale records of a previous generation, seq gaps, a
 * crash between a checkpoint and the log's restart; the checkpoint triggers; the reserved
 * key never visible; a second opener refused; a log append and checkpoints of each
 * trigger that fail for real (RLIMIT_FSIZE), with nothing acknowledged lost. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/kv/kv.h"
#include "daemon/kv/kv_wal.h"
#include "harness.h"
#include "kv_check.h"

static char base_dir[] = "/tmp/ustack-test-kvwal-XXXXXX";

static void base_setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(base_dir));
}

static void base_teardown(void)
{
	rm_tree(base_dir);
}

static void new_dir(char *out, size_t cap)
{
	snprintf(out, cap, "%s/s-XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(out));
}

/* The whole content of dir/name (malloc'd). */
static uint8_t *slurp(const char *dir, const char *name, size_t *len)
{
	char path[512];
	uint8_t *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spill(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, len, f), len);
	fclose(f);
}

static struct kv *open_lmdb(const char *dir, size_t wal_max_bytes)
{
	struct kv_limits lim;
	struct kv *kv;
	int r;

	kv_limits_default(&lim);
	if (wal_max_bytes)
		lim.wal_max_bytes = wal_max_bytes;
	r = kv_open_lmdb(dir, &lim, &kv);
	ck_assert_msg(r == 0, "open %s: %s", dir, strerror(-r));
	return kv;
}

static void digest_root(struct kv *kv, uint8_t d[KV_DIGEST_BYTES])
{
	ck_assert_int_eq(kv_digest(kv, "/", d), 0);
}

static void assert_bytes(struct kv *kv, const char *key, const uint8_t *want, size_t want_len)
{
	uint8_t *v;
	size_t len;

	ck_assert_int_eq(kv_get(kv, key, &v, &len), 0);
	ck_assert_uint_eq(len, want_len);
	ck_assert_mem_eq(v, want, len);
	free(v);
}

static uint64_t pending_bytes(struct kv *kv)
{
	struct kv_stats st;

	kv_stats_get(kv, &st);
	return st.wal_pending_bytes;
}

/* A crash image: the data file as it is now (the last checkpoint: the long-lived
 * transaction is not on disk) and the first wal_len bytes of the log. */
struct image {
	uint8_t *data, *wal;
	size_t data_len, wal_len;
};

static void image_take(const char *dir, struct image *im)
{
	im->data = slurp(dir, "data.mdb", &im->data_len);
	im->wal = slurp(dir, KV_WAL_FILE, &im->wal_len);
}

static void image_free(struct image *im)
{
	free(im->data);
	free(im->wal);
}

/* A new directory holding data and the log cut at cut bytes, followed by tail bytes of
 * fill (a recycled log's zeros, or garbage). */
static void image_restore(const struct image *im, size_t cut, size_t tail, uint8_t fill,
			  char *dir, size_t cap)
{
	uint8_t *wal = malloc(cut + tail + 1);

	new_dir(dir, cap);
	spill(dir, "data.mdb", im->data, im->data_len);
	memcpy(wal, im->wal, cut);
	memset(wal + cut, fill, tail);
	spill(dir, KV_WAL_FILE, wal, cut + tail);
	free(wal);
}

/* A new directory holding one image's data file and another's whole log: a crash between
 * a checkpoint and the log's restart, or a data file restored alone. */
static void image_restore_mixed(const struct image *data, const struct image *log, char *dir,
				size_t cap)
{
	struct image mix = { data->data, log->wal, data->data_len, log->wal_len };

	image_restore(&mix, mix.wal_len, 0, 0, dir, cap);
}

/* A crash now: a new directory img holding dir's data file and whole log. */
static void crash_copy(const char *dir, char *img, size_t cap)
{
	struct image im;

	image_take(dir, &im);
	image_restore(&im, im.wal_len, 0, 0, img, cap);
	image_free(&im);
}

START_TEST(test_codec)
{
	static const char check[] = "123456789";
	uint8_t hdr[KV_WAL_HDR_BYTES], old[KV_WAL_HDR_BYTES], payload[64];
	struct kv_wal_salt salt = { .set = true, .bytes = "saltsal" }, other = salt;
	struct kv_wal_hdr h;

	/* RFC 3720 B.4's check value of CRC32C. */
	ck_assert_uint_eq(kv_wal_crc32c(0, check, 9), 0xe3069283u);
	memset(payload, 0x5a, sizeof(payload));
	kv_wal_hdr_emit(hdr, 77, payload, sizeof(payload), &salt);
	ck_assert_int_eq(kv_wal_hdr_parse(hdr, &h), 0);
	ck_assert_uint_eq(h.seq, 77);
	ck_assert_uint_eq(h.len, sizeof(payload));
	ck_assert(kv_wal_crc_ok(hdr, payload, sizeof(payload)));
	payload[63] ^= 1;
	ck_assert(!kv_wal_crc_ok(hdr, payload, sizeof(payload)));
	payload[63] ^= 1;
	hdr[9] ^= 1; /* the seq is covered too */
	ck_assert(!kv_wal_crc_ok(hdr, payload, sizeof(payload)));
	hdr[9] ^= 1;
	hdr[0] ^= 1;
	ck_assert_int_eq(kv_wal_hdr_parse(hdr, &h), -EINVAL);
	hdr[0] ^= 1;
	/* The tag: the salt's, over bytes 0-19 (the seq and the CRC, hence the payload). */
	ck_assert(kv_wal_tag_ok(hdr, &salt));
	ck_assert_uint_eq(h.tag, kv_wal_crc32c(kv_wal_crc32c(0, salt.bytes, 8), hdr, 20));
	other.bytes[7] = 1;
	ck_assert(!kv_wal_tag_ok(hdr, &other));
	for (int i = 0; i < 24; i++) {
		hdr[i] ^= 0x40;
		ck_assert_msg(!kv_wal_tag_ok(hdr, &salt), "byte %d not covered by the tag", i);
		hdr[i] ^= 0x40;
	}
	/* The previous version's layout (no salt): the same CRC, a zero tag, which only a
	 * reader without a salt accepts. */
	kv_wal_hdr_emit(old, 77, payload, sizeof(payload), NULL);
	ck_assert_mem_eq(old, hdr, 20);
	ck_assert_int_eq(kv_wal_hdr_parse(old, &h), 0);
	ck_assert_uint_eq(h.tag, 0);
	ck_assert(kv_wal_crc_ok(old, payload, sizeof(payload)));
	ck_assert(kv_wal_tag_ok(old, NULL));
	ck_assert(!kv_wal_tag_ok(old, &salt));
	kv_wal_hdr_emit(hdr, 1, payload, 0, NULL);
	hdr[7] = 0x7f; /* a length past KV_WAL_PAYLOAD_MAX_BYTES */
	ck_assert_int_eq(kv_wal_hdr_parse(hdr, &h), -EINVAL);
}
END_TEST

struct ops_seen {
	int n;
	char keys[4][16];
	size_t vlen[4];
	bool del[4];
};

static int see_op(const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen,
		  void *arg)
{
	struct ops_seen *s = arg;

	ck_assert_int_lt(s->n, 4);
	ck_assert_uint_lt(klen, sizeof(s->keys[0]));
	memcpy(s->keys[s->n], key, klen);
	s->keys[s->n][klen] = '\0';
	s->vlen[s->n] = vlen;
	s->del[s->n] = value == NULL;
	s->n++;
	return 0;
}

START_TEST(test_payload)
{
	/* put "\x01a" = "xyz", delete "\x01b" */
	static const uint8_t p[] = { 'P', 2, 0, 3, 0, 0, 0, 1, 'a', 'x', 'y', 'z',
				     'D', 2, 0, 1, 'b' };
	struct ops_seen s = { 0 };
	uint8_t bad[sizeof(p)];

	ck_assert_int_eq(kv_wal_payload_parse(p, sizeof(p), see_op, &s), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_str_eq(s.keys[0], "\x01" "a");
	ck_assert_uint_eq(s.vlen[0], 3);
	ck_assert(!s.del[0]);
	ck_assert_str_eq(s.keys[1], "\x01" "b");
	ck_assert(s.del[1]);
	/* Every cut short of the whole is malformed, and nothing of it is applied. */
	for (size_t cut = 1; cut < sizeof(p); cut++) {
		if (cut == 12)
			continue; /* a whole first operation: well formed */
		s.n = 0;
		ck_assert_int_eq(kv_wal_payload_parse(p, cut, see_op, &s), -EIO);
		ck_assert_int_eq(s.n, 0);
	}
	memcpy(bad, p, sizeof(p));
	bad[12] = 'X'; /* unknown operation */
	s.n = 0;
	ck_assert_int_eq(kv_wal_payload_parse(bad, sizeof(bad), see_op, &s), -EIO);
	ck_assert_int_eq(s.n, 0);
	memcpy(bad, p, sizeof(p));
	bad[13] = 0; /* empty key */
	ck_assert_int_eq(kv_wal_payload_parse(bad, sizeof(bad), see_op, &s), -EIO);
	memcpy(bad, p, sizeof(p));
	bad[6] = 0x80; /* value length past the end */
	ck_assert_int_eq(kv_wal_payload_parse(bad, sizeof(bad), see_op, &s), -EIO);
}
END_TEST

#define NCOMMITS 7

/* The commits of the torn-tail tests: every kind of write, one batch, one value that
 * spans pages. Commit i is applied by step(kv, i). */
static void step(struct kv *kv, int i)
{
	static uint8_t big[5000];
	struct kv_op batch[2] = {
		{ .kind = KV_OP_SET, .key = "/b/c", .value = "22", .len = 2 },
		{ .kind = KV_OP_SET, .key = "/d", .value = "333", .len = 3 },
	};
	uint64_t t = 1000 + (uint64_t)i;

	memset(big, 0xa0 + i, sizeof(big));
	switch (i) {
	case 0:
		ck_assert_int_eq(kv_set(kv, "/a", "1", 1, t), 0);
		break;
	case 1:
		ck_assert_int_eq(kv_batch(kv, batch, 2, t, NULL), 0);
		break;
	case 2:
		ck_assert_int_eq(kv_set_partial(kv, "/a", 1, "x", 1, t), 0);
		break;
	case 3:
		ck_assert_int_eq(kv_rename(kv, "/d", "/e", t), 0);
		break;
	case 4:
		ck_assert_int_eq(kv_remove(kv, "/b", t), 0);
		break;
	case 5:
		ck_assert_int_eq(kv_set(kv, "/f/g/h", big, sizeof(big), t), 0);
		break;
	default:
		ck_assert_int_eq(kv_set(kv, "/a", "last", 4, t), 0);
		break;
	}
}

/* Runs the commits on a fresh store, with the digest of "/" and the log's length after
 * each (index 0: before any), and takes the crash image at the end. */
static void run_commits(uint8_t digests[NCOMMITS + 1][KV_DIGEST_BYTES],
			size_t ends[NCOMMITS + 1], struct image *im)
{
	char dir[256];
	struct kv_stats st;
	struct kv *kv;

	new_dir(dir, sizeof(dir));
	kv = open_lmdb(dir, 0);
	ck_assert_int_eq(kv_set(kv, "/base", "checkpointed", 12, 1), 0);
	ck_assert_int_eq(kv_checkpoint(kv), 0);
	digest_root(kv, digests[0]);
	ends[0] = pending_bytes(kv);
	ck_assert_uint_eq(ends[0], 0);
	for (int i = 0; i < NCOMMITS; i++) {
		step(kv, i);
		digest_root(kv, digests[i + 1]);
		ends[i + 1] = pending_bytes(kv);
		ck_assert_uint_gt(ends[i + 1], ends[i]);
	}
	kv_stats_get(kv, &st);
	ck_assert_uint_eq(st.checkpoints, 1); /* the image holds the log, not a checkpoint */
	image_take(dir, im);
	ck_assert_uint_ge(im->wal_len, ends[NCOMMITS]);
	kv_close(kv);
}

/* Opens the image in dir and checks it holds exactly the first want commits. */
static void assert_prefix(const char *dir, const uint8_t digests[][KV_DIGEST_BYTES], int want,
			  size_t cut)
{
	uint8_t d[KV_DIGEST_BYTES];
	struct kv_stats st;
	struct kv *kv = open_lmdb(dir, 0);

	digest_root(kv, d);
	kv_stats_get(kv, &st);
	ck_assert_msg(memcmp(d, digests[want], sizeof(d)) == 0,
		      "log cut at %zu: not the state after %d commits", cut, want);
	ck_assert_uint_eq(st.replayed_records, (uint64_t)want);
	assert_value(kv, "/base", "checkpointed");
	kv_close(kv);
	rm_tree(dir);
}

START_TEST(test_torn_tail_every_offset)
{
	uint8_t digests[NCOMMITS + 1][KV_DIGEST_BYTES];
	size_t ends[NCOMMITS + 1];
	struct image im;
	char dir[256];
	int whole = 0;

	run_commits(digests, ends, &im);
	for (size_t cut = 0; cut <= ends[NCOMMITS]; cut++) {
		while (whole < NCOMMITS && ends[whole + 1] <= cut)
			whole++;
		/* Alternately: the file ends there, the recycled file's zeros follow, or
		 * garbage follows. */
		image_restore(&im, cut, cut % 3 == 0 ? 0 : 512, cut % 3 == 1 ? 0 : 0xff, dir,
			      sizeof(dir));
		assert_prefix(dir, digests, whole, cut);
	}
	ck_assert_int_eq(whole, NCOMMITS);
	image_free(&im);
}
END_TEST

START_TEST(test_bad_crc)
{
	uint8_t digests[NCOMMITS + 1][KV_DIGEST_BYTES];
	size_t ends[NCOMMITS + 1];
	struct image im;
	char dir[256];

	run_commits(digests, ends, &im);
	/* A bit flipped in the payload of the third record, then in its seq: the log ends
	 * before it. */
	im.wal[ends[2] + KV_WAL_HDR_BYTES + 3] ^= 0x10;
	image_restore(&im, ends[NCOMMITS], 0, 0, dir, sizeof(dir));
	assert_prefix(dir, digests, 2, ends[2]);
	im.wal[ends[2] + KV_WAL_HDR_BYTES + 3] ^= 0x10;
	im.wal[ends[2] + 8] ^= 0x01;
	image_restore(&im, ends[NCOMMITS], 0, 0, dir, sizeof(dir));
	assert_prefix(dir, digests, 2, ends[2]);
	im.wal[ends[2] + 8] ^= 0x01;
	image_restore(&im, ends[NCOMMITS], 0, 0, dir, sizeof(dir));
	assert_prefix(dir, digests, NCOMMITS, ends[NCOMMITS]);
	image_free(&im);
}
END_TEST

/* After a checkpoint the log starts again at offset 0 over the old records: a new record
 * of the same length as the first old one leaves the second old one right behind it,
 * whole and with a good CRC. Replaying it would set /x back to "bbb". */
START_TEST(test_stale_generation)
{
	struct image im;
	char dir[256], img[256];
	struct kv *kv;
	struct kv_stats st;

	new_dir(dir, sizeof(dir));
	kv = open_lmdb(dir, 0);
	ck_assert_int_eq(kv_set(kv, "/x", "aaa", 3, 1), 0);
	ck_assert_int_eq(kv_set(kv, "/x", "bbb", 3, 2), 0);
	ck_assert_int_eq(kv_checkpoint(kv), 0);
	ck_assert_int_eq(kv_set(kv, "/x", "ccc", 3, 3), 0);
	image_take(dir, &im);
	kv_close(kv);
	image_restore(&im, im.wal_len, 0, 0, img, sizeof(img));
	kv = open_lmdb(img, 0);
	assert_value(kv, "/x", "ccc");
	kv_stats_get(kv, &st);
	ck_assert_uint_eq(st.replayed_records, 1);
	kv_close(kv);
	image_free(&im);
}
END_TEST

/* A crash after a checkpoint's LMDB commit and before the log restarted: the old log
 * (a removal of a key the checkpoint no longer has, which would fail if replayed) is
 * recognised as covered by the applied seq and skipped. */
START_TEST(test_replay_idempotent)
{
	struct image before, after;
	char dir[256], img[256];
	struct kv_stats st;
	struct kv *kv;

	new_dir(dir, sizeof(dir));
	kv = open_lmdb(dir, 0);
	ck_assert_int_eq(kv_set(kv, "/d", "1", 1, 1), 0);
	ck_assert_int_eq(kv_checkpoint(kv), 0);
	ck_assert_int_eq(kv_remove(kv, "/d", 2), 0);
	ck_assert_int_eq(kv_set(kv, "/e", "2", 1, 3), 0);
	image_take(dir, &before);
	ck_assert_int_eq(kv_checkpoint(kv), 0);
	image_take(dir, &after);
	kv_close(kv);
	/* data after the checkpoint, log from before it */
	image_restore_mixed(&after, &before, img, sizeof(img));
	kv = open_lmdb(img, 0);
	ck_assert_int_eq(kind_of(kv, "/d"), KV_ABSENT);
	assert_value(kv, "/e", "2");
	kv_stats_get(kv, &st);
	ck_assert_uint_eq(st.replayed_records, 0);
	kv_close(kv);
	/* and the same log with the data from before: both records replayed */
	image_restore(&before, before.wal_len, 0, 0, img, sizeof(img));
	kv = open_lmdb(img, 0);
	ck_assert_int_eq(kind_of(kv, "/d"), KV_ABSENT);
	assert_value(kv, "/e", "2");
	kv_stats_get(kv, &st);
	ck_assert_uint_eq(st.replayed_records, 2);
	kv_close(kv);
	image_free(&before);
	image_free(&after);
}
END_TEST

static int count_record(uint64_t seq, const uint8_t *payload, size_t len, void *arg)
{
	(void)seq;
	(void)payload;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_seq_gaps)
{
	static const uint8_t p[] = { 'D', 2, 0, 1, 'a' };
	uint64_t seqs[] = { 1, 2, 4, 5 };
	struct kv_wal_replayed got;
	char dir[256];
	struct kv_wal *w, *w2;
	int calls = 0;

	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(kv_wal_open(dir, true, &w), 0);
	ck_assert_int_eq(kv_wal_open(dir, true, &w2), -EBUSY); /* locked */
	ck_assert_int_eq(kv_wal_replay(w, 0, NULL, count_record, &calls, &got), 0);
	ck_assert_uint_eq(got.records, 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(kv_wal_append(w, seqs[i], p, sizeof(p)), 0);
	/* From 0: 1 and 2, then the gap ends it. */
	ck_assert_int_eq(kv_wal_replay(w, 0, NULL, count_record, &calls, &got), 0);
	ck_assert_uint_eq(got.records, 2);
	ck_assert_uint_eq(got.last_seq, 2);
	ck_assert_int_eq(calls, 2);
	ck_assert_uint_eq(kv_wal_bytes(w), 2 * (KV_WAL_HDR_BYTES + sizeof(p)));
	/* Past 1: the first record is covered, so the whole log is an old generation. */
	ck_assert_int_eq(kv_wal_replay(w, 1, NULL, count_record, &calls, &got), 0);
	ck_assert_uint_eq(got.records, 0);
	ck_assert_uint_eq(got.last_seq, 1);
	ck_assert_uint_eq(kv_wal_bytes(w), 0);
	kv_wal_close(w);
	/* A log whose first record is past the applied seq + 1: records are missing. */
	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(kv_wal_open(dir, false, &w), 0);
	ck_assert_int_eq(kv_wal_append(w, 3, p, sizeof(p)), 0);
	ck_assert_int_eq(kv_wal_replay(w, 1, NULL, count_record, &calls, &got), -EUCLEAN);
	ck_assert_int_eq(kv_wal_replay(w, 2, NULL, count_record, &calls, &got), 0);
	ck_assert_uint_eq(got.records, 1);
	/* Through the store: a log whose records the data file does not lead up to (its
	 * data.mdb lost) is refused, until the log is moved away. */
	{
		struct kv_limits lim;
		struct kv *kv;
		struct image im;
		char d2[256], img[256], path[512];

		new_dir(d2, sizeof(d2));
		kv = open_lmdb(d2, 0);
		ck_assert_int_eq(kv_set(kv, "/one", "1", 1, 1), 0);
		ck_assert_int_eq(kv_checkpoint(kv), 0);
		ck_assert_int_eq(kv_set(kv, "/two", "2", 1, 2), 0);
		image_take(d2, &im);
		kv_close(kv);
		new_dir(img, sizeof(img));
		spill(img, KV_WAL_FILE, im.wal, im.wal_len);
		image_free(&im);
		kv_limits_default(&lim);
		ck_assert_int_eq(kv_open_lmdb(img, &lim, &kv), -EUCLEAN);
		snprintf(path, sizeof(path), "%s/%s", img, KV_WAL_FILE);
		ck_assert_int_eq(unlink(path), 0);
		kv = open_lmdb(img, 0);
		ck_assert_int_eq(kind_of(kv, "/two"), KV_ABSENT);
		kv_close(kv);
	}
	/* The truncating mode starts again from an empty file. */
	ck_assert_int_eq(kv_wal_restart(w, &(struct kv_wal_salt){ 0 }), 0);
	ck_assert_int_eq(kv_wal_replay(w, 0, NULL, count_record, &calls, &got), 0);
	ck_assert_uint_eq(got.records, 0);
	kv_wal_close(w);
}
END_TEST

/* The applied seq's value in dir's data.mdb (read without a lock: a crash image), as
 * kv_lmdb.c stores it: the seq, big-endian, then the log's salt (none in the previous
 * version's 8-byte form). Returns the value's length. */
static size_t applied_read(const char *dir, uint64_t *seq, struct kv_wal_salt *salt)
{
	static const uint8_t applied_key[] = { 0, 'w', 'a', 'l', '-', 's', 'e', 'q' };
	MDB_val k = { sizeof(applied_key), (void *)applied_key }, v;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	size_t len;

	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK, 0640), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	ck_assert_int_eq(mdb_get(txn, dbi, &k, &v), 0);
	len = v.mv_size;
	ck_assert(len == 8 || len == 8 + KV_WAL_SALT_BYTES);
	*seq = 0;
	for (int i = 0; i < 8; i++)
		*seq = *seq << 8 | ((const uint8_t *)v.mv_data)[i];
	*salt = (struct kv_wal_salt){ .set = len > 8 };
	if (salt->set)
		memcpy(salt->bytes, (const uint8_t *)v.mv_data + 8, KV_WAL_SALT_BYTES);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return len;
}

/* The payload of the record at *off of a log image (advancing *off past it). */
static const uint8_t *record_at(const struct image *im, size_t *off, size_t *len)
{
	struct kv_wal_hdr h;

	ck_assert_uint_le(*off + KV_WAL_HDR_BYTES, im->wal_len);
	ck_assert_int_eq(kv_wal_hdr_parse(im->wal + *off, &h), 0);
	ck_assert_uint_le(*off + KV_WAL_HDR_BYTES + h.len, im->wal_len);
	*len = h.len;
	*off += KV_WAL_HDR_BYTES + h.len;
	return im->wal + *off - h.len;
}

/* The log of a new store after the given sets (no checkpoint before them: the records
 * start at offset 0), in im. What a client can build for itself: the format is public. */
static void scratch_log(const char *const *keys, const char *const *values, int n,
			struct image *im)
{
	char dir[256];
	struct kv *kv;

	new_dir(dir, sizeof(dir));
	kv = open_lmdb(dir, 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(kv_set(kv, keys[i], values[i], strlen(values[i]), 600 + (uint64_t)i),
				 0);
	image_take(dir, im);
	kv_close(kv);
}

static uint64_t forged_records(struct kv *kv)
{
	struct kv_stats st;

	kv_stats_get(kv, &st);
	return st.wal_forged_records;
}

/* The hole the tag closes (kv_wal.h): a client stores a value holding a well-formed
 * record (its CRC is public) that puts /evil. After a checkpoint the log starts again at
 * offset 0, and the client's next value is just so long that its record ends where the
 * forged one sits in the old bytes, whose seq it chose to be the next one. After a crash,
 * replay must stop there (counted), with every acknowledged write present; the same bytes
 * with the tag the generation's salt gives are replayed, which shows the forged record
 * sits exactly where replay looks. */
START_TEST(test_forged_record)
{
	static const char *const evil_key[] = { "/evil" }, *const evil_value[] = { "pwned" };
	enum { PAD = 100, TAIL = 16 };
	uint8_t forged[512], *v, *w;
	size_t plen, poff = 0, flen, vlen, wlen, x, overhead;
	const uint8_t *payload, *at;
	struct kv_wal_salt salt;
	struct image scratch, im;
	char dir[256], img[256];
	struct kv_stats st;
	uint64_t applied;
	struct kv *kv;

	/* The forged record: /evil's own put, as a log would hold it, with seq 4 (below). */
	scratch_log(evil_key, evil_value, 1, &scratch);
	payload = record_at(&scratch, &poff, &plen);
	flen = KV_WAL_HDR_BYTES + plen;
	ck_assert_uint_le(flen, sizeof(forged));
	kv_wal_hdr_emit(forged, 4, payload, plen, NULL); /* the salt is what it lacks */
	memcpy(forged + KV_WAL_HDR_BYTES, payload, plen);
	image_free(&scratch);

	new_dir(dir, sizeof(dir));
	kv = open_lmdb(dir, 0);
	ck_assert_int_eq(kv_set(kv, "/pre", "p", 1, 1), 0);  /* seq 1 */
	ck_assert_int_eq(kv_checkpoint(kv), 0);		   /* applied 1 */
	vlen = PAD + flen + TAIL;
	v = malloc(vlen);
	ck_assert_ptr_nonnull(v);
	memset(v, 'a', PAD);
	memcpy(v + PAD, forged, flen);
	memset(v + PAD + flen, 'z', TAIL);
	ck_assert_int_eq(kv_set(kv, "/v", v, vlen, 2), 0); /* seq 2, at offset 0 */
	/* Where the forged record is in the log, and what a set of one key costs beside
	 * its value (the same for /w: a key of the same length). */
	image_take(dir, &im);
	at = memmem(im.wal, pending_bytes(kv), forged, flen);
	ck_assert_ptr_nonnull(at);
	x = (size_t)(at - im.wal);
	overhead = pending_bytes(kv) - vlen;
	image_free(&im);
	ck_assert_int_eq(kv_checkpoint(kv), 0); /* applied 2; the log starts again */
	ck_assert_uint_gt(x, overhead);
	wlen = x - overhead;
	w = malloc(wlen);
	ck_assert_ptr_nonnull(w);
	memset(w, 'w', wlen);
	ck_assert_int_eq(kv_set(kv, "/w", w, wlen, 3), 0); /* seq 3, ending at x */
	ck_assert_uint_eq(pending_bytes(kv), x);
	image_take(dir, &im); /* a crash now */
	ck_assert_mem_eq(im.wal + x, forged, flen);
	kv_close(kv);

	/* Replay applies seq 3 and stops at the forgery. */
	image_restore(&im, im.wal_len, 0, 0, img, sizeof(img));
	kv = open_lmdb(img, 0);
	kv_stats_get(kv, &st);
	ck_assert_uint_eq(st.replayed_records, 1);
	ck_assert_uint_eq(st.wal_forged_records, 1);
	ck_assert_int_eq(kind_of(kv, "/evil"), KV_ABSENT);
	assert_value(kv, "/pre", "p");
	assert_bytes(kv, "/v", v, vlen);
	assert_bytes(kv, "/w", w, wlen);
	/* The store goes on (the record after /w's is overwritten by the next) and a
	 * reopen meets no forgery any more: the open checkpointed, a new salt. */
	ck_assert_int_eq(kv_set(kv, "/post", "q", 1, 4), 0);
	kv_close(kv);
	kv = open_lmdb(img, 0);
	ck_assert_uint_eq(forged_records(kv), 0);
	ck_assert_int_eq(kind_of(kv, "/evil"), KV_ABSENT);
	assert_value(kv, "/post", "q");
	kv_close(kv);
	rm_tree(img);

	/* The control: the same record with the tag of the generation it sits in (the
	 * salt the checkpoint stored) is replayed, /evil and all. */
	image_restore(&im, im.wal_len, 0, 0, img, sizeof(img));
	ck_assert_uint_eq(applied_read(img, &applied, &salt), 16);
	ck_assert_uint_eq(applied, 2);
	ck_assert(salt.set);
	kv_wal_hdr_emit(im.wal + x, 4, im.wal + x + KV_WAL_HDR_BYTES, plen, &salt);
	ck_assert_mem_eq(im.wal + x, forged, 20); /* only the tag differs */
	image_restore(&im, im.wal_len, 0, 0, img, sizeof(img));
	kv = open_lmdb(img, 0);
	kv_stats_get(kv, &st);
	ck_assert_uint_eq(st.replayed_records, 2);
	ck_assert_uint_eq(st.wal_forged_records, 0);
	assert_value(kv, "/evil", "pwned");
	assert_bytes(kv, "/w", w, wlen);
	kv_close(kv);
	image_free(&im);
	free(v);
	free(w);
}
END_TEST

/* A store of the previous version: its applied seq has 8 bytes (no salt) and its records
 * a zero tag (the layout kv_wal_hdr_emit() writes without a salt). It opens and replays
 * as before, and its first checkpoint (at the open) writes the new form, after which the
 * records are tagged and replay as usual. */
START_TEST(test_old_format_store)
{
	static const char *const keys[] = { "/c", "/d" }, *const values[] = { "3", "4" };
	static const uint8_t applied_key[] = { 0, 'w', 'a', 'l', '-', 's', 'e', 'q' };
	uint8_t old_applied[8] = { 0, 0, 0, 0, 0, 0, 0, 1 }, *wal;
	MDB_val k = { sizeof(applied_key), (void *)applied_key },
		val = { sizeof(old_applied), old_applied };
	struct kv_wal_salt salt;
	struct image scratch;
	char dir[256], img[256];
	size_t off = 0, len[2], wal_len = 0;
	const uint8_t *p[2];
	struct kv_stats st;
	uint64_t applied;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	struct kv *kv;

	new_dir(dir, sizeof(dir));
	kv = open_lmdb(dir, 0);
	ck_assert_int_eq(kv_set(kv, "/a", "1", 1, 1), 0); /* seq 1 */
	kv_close(kv);					 /* checkpointed: applied 1 */
	/* The applied seq in the old form, through LMDB. */
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0640), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &val, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	ck_assert_uint_eq(applied_read(dir, &applied, &salt), 8);
	ck_assert(!salt.set);
	/* Its log: seqs 2 and 3, untagged, then the zeros of a recycled file. */
	scratch_log(keys, values, 2, &scratch);
	p[0] = record_at(&scratch, &off, &len[0]);
	p[1] = record_at(&scratch, &off, &len[1]);
	wal = calloc(1, off + 512);
	ck_assert_ptr_nonnull(wal);
	for (int i = 0; i < 2; i++) {
		kv_wal_hdr_emit(wal + wal_len, 2 + (uint64_t)i, p[i], len[i], NULL);
		ck_assert_uint_eq(wal[wal_len + 20] | wal[wal_len + 21] | wal[wal_len + 22] |
					  wal[wal_len + 23],
				  0);
		memcpy(wal + wal_len + KV_WAL_HDR_BYTES, p[i], len[i]);
		wal_len += KV_WAL_HDR_BYTES + len[i];
	}
	spill(dir, KV_WAL_FILE, wal, wal_len + 512);
	free(wal);
	image_free(&scratch);

	kv = open_lmdb(dir, 0);
	kv_stats_get(kv, &st);
	ck_assert_uint_eq(st.replayed_records, 2);
	ck_assert_uint_eq(st.wal_forged_records, 0);
	assert_value(kv, "/a", "1");
	assert_value(kv, "/c", "3");
	assert_value(kv, "/d", "4");
	ck_assert_int_eq(kv_set(kv, "/e", "5", 1, 9), 0); /* seq 4, tagged */
	crash_copy(dir, img, sizeof(img));
	kv_close(kv);
	ck_assert_uint_eq(applied_read(img, &applied, &salt), 16);
	ck_assert_uint_eq(applied, 3);
	ck_assert(salt.set);
	kv = open_lmdb(img, 0);
	kv_stats_get(kv, &st);
	ck_assert_uint_eq(st.replayed_records, 1);
	ck_assert_uint_eq(st.wal_forged_records, 0);
	assert_value(kv, "/d", "4");
	assert_value(kv, "/e", "5");
	kv_close(kv);
	/* Also with nothing to replay: the open writes the new form all the same. */
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0640), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	old_applied[7] = 5; /* past every record of the log */
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &val, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	kv = open_lmdb(dir, 0);
	kv_stats_get(kv, &st);
	ck_assert_uint_eq(st.replayed_records, 0);
	ck_assert_uint_eq(st.checkpoints, 1);
	kv_close(kv);
	ck_assert_uint_eq(applied_read(dir, &applied, &salt), 16);
	ck_assert_uint_eq(applied, 5);
}
END_TEST

/* A data file older than its log (restored alone) with salts: the log's first record is
 * tagged with a later generation's salt than the data file holds, and its seq is beyond
 * the applied seq + 1. That is -EUCLEAN as before (kv_wal_replay(): offset 0 needs no
 * tag), not a forgery, which would start the store without the acknowledged writes. */
START_TEST(test_euclean_salted)
{
	struct image older, now;
	char dir[256], img[256];
	struct kv_limits lim;
	struct kv *kv;

	new_dir(dir, sizeof(dir));
	kv = open_lmdb(dir, 0);
	ck_assert_int_eq(kv_set(kv, "/one", "1", 1, 1), 0);
	ck_assert_int_eq(kv_checkpoint(kv), 0); /* applied 1, a salt */
	image_take(dir, &older);
	ck_assert_int_eq(kv_set(kv, "/two", "2", 1, 2), 0);
	ck_assert_int_eq(kv_checkpoint(kv), 0); /* applied 2, another salt */
	ck_assert_int_eq(kv_set(kv, "/three", "3", 1, 3), 0); /* seq 3 at offset 0 */
	image_take(dir, &now);
	kv_close(kv);
	image_restore_mixed(&older, &now, img, sizeof(img));
	kv_limits_default(&lim);
	ck_assert_int_eq(kv_open_lmdb(img, &lim, &kv), -EUCLEAN);
	/* The same log with its own data file: fine. */
	image_restore(&now, now.wal_len, 0, 0, img, sizeof(img));
	kv = open_lmdb(img, 0);
	ck_assert_uint_eq(forged_records(kv), 0);
	assert_value(kv, "/three", "3");
	kv_close(kv);
	image_free(&older);
	image_free(&now);
}
END_TEST

START_TEST(test_checkpoint_triggers)
{
	char dir[256], key[32];
	struct kv_stats st;
	struct kv *kv;
	uint8_t *big;
	size_t big_len = (size_t)2 << 20;

	new_dir(dir, sizeof(dir));
	/* The log's byte limit. */
	kv = open_lmdb(dir, 300);
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "/k/%02d", i);
		ck_assert_int_eq(kv_set(kv, key, "value", 5, (uint64_t)i), 0);
		ck_assert_uint_lt(pending_bytes(kv), 300);
	}
	kv_stats_get(kv, &st);
	ck_assert_uint_ge(st.checkpoints, 4);
	ck_assert_uint_eq(st.wal_records, 20);
	kv_close(kv);
	/* The daemon's timer: pending after a write, not after a checkpoint. */
	kv = open_lmdb(dir, 0);
	ck_assert(!kv_checkpoint_pending(kv));
	ck_assert_int_eq(kv_set(kv, "/t", "1", 1, 100), 0);
	ck_assert(kv_checkpoint_pending(kv));
	ck_assert_uint_gt(pending_bytes(kv), 0);
	ck_assert_int_eq(kv_checkpoint(kv), 0);
	ck_assert(!kv_checkpoint_pending(kv));
	ck_assert_uint_eq(pending_bytes(kv), 0);
	ck_assert_int_eq(kv_checkpoint(kv), 0); /* nothing to do */
	/* A group larger than the log takes: checkpointed, not logged. */
	big = malloc(big_len);
	memset(big, 0x3c, big_len);
	kv_stats_get(kv, &st);
	ck_assert_int_eq(kv_set(kv, "/big", big, big_len, 101), 0);
	{
		struct kv_stats st2;

		kv_stats_get(kv, &st2);
		ck_assert_uint_eq(st2.wal_records, st.wal_records);
		ck_assert_uint_eq(st2.checkpoints, st.checkpoints + 1);
		ck_assert(!kv_checkpoint_pending(kv));
	}
	kv_close(kv);
	kv = open_lmdb(dir, 0);
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "/k/%02d", i);
		assert_value(kv, key, "value");
	}
	assert_bytes(kv, "/big", big, big_len);
	free(big);
	kv_close(kv);
}
END_TEST

/* The applied seq lives in LMDB under a key outside the key encoding: it is there, and
 * no operation of the store shows it or trips on it. */
START_TEST(test_reserved_key_invisible)
{
	static const uint8_t applied_key[] = { 0, 'w', 'a', 'l', '-', 's', 'e', 'q' };
	struct kv_limits lim;
	struct kv *l, *m;
	struct kv_entry *e;
	uint8_t dl[KV_DIGEST_BYTES], dm[KV_DIGEST_BYTES];
	char dir[256];
	uint64_t size;
	size_t n;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { sizeof(applied_key), (void *)applied_key }, v;

	kv_limits_default(&lim);
	new_dir(dir, sizeof(dir));
	l = open_lmdb(dir, 0);
	ck_assert_int_eq(kv_open_memory(&lim, &m), 0);
	for (int round = 0; round < 2; round++) {
		struct kv *both[2] = { l, m };

		for (int i = 0; i < 2; i++) {
			ck_assert_int_eq(kv_set(both[i], "/a", "12345", 5, 7), 0);
			ck_assert_int_eq(kv_set(both[i], "/b/c", "67", 2, 8), 0);
		}
		ck_assert_int_eq(kv_checkpoint(l), 0);
		ck_assert_int_eq(kv_list(l, "/", &e, &n), 0);
		ck_assert_uint_eq(n, 2);
		kv_entries_free(e, n);
		ck_assert_int_eq(kv_size(l, "/", &size), 0);
		ck_assert_uint_eq(size, 7);
		digest_root(l, dl);
		digest_root(m, dm);
		ck_assert_mem_eq(dl, dm, sizeof(dl));
		ck_assert_int_eq(kv_last_modified(l, "/", &size), 0);
		ck_assert_uint_eq(size, 8);
		/* Emptying the store leaves the key (and the store works on) */
		ck_assert_int_eq(kv_remove(l, "/", 9), 0);
		ck_assert_int_eq(kv_remove(m, "/", 9), 0);
		ck_assert_int_eq(kv_list(l, "/", &e, &n), 0);
		ck_assert_uint_eq(n, 0);
		kv_entries_free(e, n);
		ck_assert_int_eq(kv_size(l, "/", &size), 0);
		ck_assert_uint_eq(size, 0);
		digest_root(l, dl);
		digest_root(m, dm);
		ck_assert_mem_eq(dl, dm, sizeof(dl));
		kv_close(l);
		l = open_lmdb(dir, 0);
	}
	kv_close(l);
	kv_close(m);
	/* It is really there (the test above is not vacuous). */
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, MDB_RDONLY, 0640), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	ck_assert_int_eq(mdb_get(txn, dbi, &k, &v), 0);
	ck_assert_uint_eq(v.mv_size, 16); /* the applied seq and the log's salt */
	mdb_txn_abort(txn);
	mdb_env_close(env);
}
END_TEST

START_TEST(test_second_opener_refused)
{
	struct kv_limits lim;
	struct kv *kv, *kv2;
	char dir[256];

	kv_limits_default(&lim);
	new_dir(dir, sizeof(dir));
	kv = open_lmdb(dir, 0);
	ck_assert_int_eq(kv_open_lmdb(dir, &lim, &kv2), -EBUSY);
	ck_assert_int_eq(kv_set(kv, "/still", "fine", 4, 1), 0);
	kv_close(kv);
	kv = open_lmdb(dir, 0);
	assert_value(kv, "/still", "fine");
	kv_close(kv);
}
END_TEST

/* The truncating log (the alternative bench/kv-store compares) recovers the same way. */
START_TEST(test_truncate_mode)
{
	struct kv_limits lim;
	struct kv *kv;
	char dir[256];

	kv_limits_default(&lim);
	lim.wal_truncate = 1;
	lim.wal_max_bytes = 200;
	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(kv_open_lmdb(dir, &lim, &kv), 0);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(kv_set(kv, "/t", i % 2 ? "odd" : "even", i % 2 ? 3 : 4,
					(uint64_t)i),
				 0);
	kv_close(kv);
	ck_assert_int_eq(kv_open_lmdb(dir, &lim, &kv), 0);
	assert_value(kv, "/t", "odd");
	kv_close(kv);
}
END_TEST

/* The daemon's group commit with a failing batch runs every batch in a savepoint: the log
 * must hold exactly what was kept. Replayed from a crash image, a batch that failed half
 * way leaves nothing (its first set was logged before its savepoint was undone), and a
 * group too large for the log is checkpointed, whichever of its batches failed. */
START_TEST(test_group_savepoints_logged)
{
	struct kv_op ok1 = { .kind = KV_OP_SET, .key = "/a", .value = "1", .len = 1 };
	struct kv_op bad[2] = {
		{ .kind = KV_OP_SET, .key = "/c", .value = "half", .len = 4 },
		{ .kind = KV_OP_SET, .key = "/a/under", .value = "x", .len = 1 }, /* ENOTDIR */
	};
	struct kv_op ok2 = { .kind = KV_OP_SET, .key = "/d", .value = "2", .len = 1 };
	struct kv_batch_req reqs[3] = { { &ok1, 1, 0, 0 }, { bad, 2, 0, 0 }, { &ok2, 1, 0, 0 } };
	size_t big_len = (size_t)3 << 19; /* 1.5 MiB: over the log's group limit */
	uint8_t *big = malloc(big_len);
	struct kv_op bigop = { .kind = KV_OP_SET, .key = "/big", .value = big, .len = big_len };
	struct kv_batch_req reqs2[2] = { { &bigop, 1, 0, 0 }, { bad, 2, 0, 0 } };
	struct kv_stats st, st2;
	struct image im;
	char dir[256], img[256];
	struct kv *kv;

	new_dir(dir, sizeof(dir));
	kv = open_lmdb(dir, 0);
	ck_assert_int_eq(kv_group_commit(kv, reqs, 3, 5), 0);
	ck_assert_int_eq(reqs[0].result, 0);
	ck_assert_int_eq(reqs[1].result, -ENOTDIR);
	ck_assert_int_eq(reqs[2].result, 0);
	image_take(dir, &im);
	ck_assert_uint_gt(im.wal_len, 0);
	image_restore(&im, im.wal_len, 0, 0, img, sizeof(img));
	image_free(&im);
	{
		struct kv *r = open_lmdb(img, 0);

		assert_value(r, "/a", "1");
		assert_value(r, "/d", "2");
		ck_assert_int_eq(kind_of(r, "/c"), KV_ABSENT);
		kv_close(r);
	}
	memset(big, 0x77, big_len);
	kv_stats_get(kv, &st);
	ck_assert_int_eq(kv_group_commit(kv, reqs2, 2, 6), 0);
	ck_assert_int_eq(reqs2[0].result, 0);
	ck_assert_int_eq(reqs2[1].result, -ENOTDIR);
	kv_stats_get(kv, &st2);
	ck_assert_uint_eq(st2.checkpoints, st.checkpoints + 1);
	ck_assert_uint_eq(st2.wal_records, st.wal_records);
	/* A crash now: the checkpoint alone has it. */
	image_take(dir, &im);
	image_restore(&im, im.wal_len, 0, 0, img, sizeof(img));
	image_free(&im);
	kv_close(kv);
	kv = open_lmdb(img, 0);
	assert_bytes(kv, "/big", big, big_len);
	ck_assert_int_eq(kind_of(kv, "/c"), KV_ABSENT);
	assert_value(kv, "/d", "2");
	kv_close(kv);
	free(big);
}
END_TEST

static uint64_t rebuilds(struct kv *kv)
{
	struct kv_stats st;

	kv_stats_get(kv, &st);
	return st.main_rebuilds;
}

/* Groups write straight into the long-lived transaction (kv_lmdb.c): a batch that fails
 * before writing costs nothing and leaves the others applied; one that fails after
 * writing undoes the group by a rebuild, and the group runs again with savepoints. Either
 * way the log (a crash image of it) holds exactly the acknowledged batches. */
START_TEST(test_group_failing_batches)
{
	struct kv_op ok1 = { .kind = KV_OP_SET, .key = "/a", .value = "1", .len = 1 };
	struct kv_op gone = { .kind = KV_OP_REMOVE, .key = "/nothing/here" }; /* ENOENT */
	struct kv_op under = { .kind = KV_OP_SET, .key = "/a/x", .value = "x", .len = 1 };
	struct kv_op half[2] = {
		{ .kind = KV_OP_SET, .key = "/c", .value = "half", .len = 4 },
		{ .kind = KV_OP_SET, .key = "/a/under", .value = "x", .len = 1 }, /* ENOTDIR */
	};
	struct kv_op ok2 = { .kind = KV_OP_SET, .key = "/d", .value = "2", .len = 1 };
	struct kv_op ok3 = { .kind = KV_OP_SET, .key = "/e/f", .value = "3", .len = 1 };
	struct kv_batch_req g1[4] = {
		{ &ok1, 1, 0, 0 }, { &gone, 1, 0, 0 }, { &under, 1, 0, 0 }, { &ok2, 1, 0, 0 }
	};
	struct kv_batch_req g2[3] = { { &ok3, 1, 0, 0 }, { half, 2, 0, 0 }, { &gone, 1, 0, 0 } };
	size_t failed = 99;
	char dir[256], img[256];
	struct kv *kv;

	new_dir(dir, sizeof(dir));
	kv = open_lmdb(dir, 0);
	ck_assert_int_eq(kv_group_commit(kv, g1, 4, 5), 0);
	ck_assert_int_eq(g1[0].result, 0);
	ck_assert_int_eq(g1[1].result, -ENOENT);
	ck_assert_uint_eq(g1[1].failed, 0);
	ck_assert_int_eq(g1[2].result, -ENOTDIR);
	ck_assert_int_eq(g1[3].result, 0);
	ck_assert_uint_eq(rebuilds(kv), 0); /* nothing written by the failures: no undo */
	ck_assert_int_eq(kv_group_commit(kv, g2, 3, 6), 0);
	ck_assert_int_eq(g2[0].result, 0);
	ck_assert_int_eq(g2[1].result, -ENOTDIR);
	ck_assert_uint_eq(g2[1].failed, 1);
	ck_assert_int_eq(g2[2].result, -ENOENT);
	ck_assert_uint_eq(rebuilds(kv), 1); /* /c was written, then undone */
	ck_assert_int_eq(kind_of(kv, "/c"), KV_ABSENT);
	assert_value(kv, "/e/f", "3");
	/* A single batch of several operations undoes its own in a savepoint. */
	ck_assert_int_eq(kv_batch(kv, half, 2, 7, &failed), -ENOTDIR);
	ck_assert_uint_eq(failed, 1);
	ck_assert_int_eq(kind_of(kv, "/c"), KV_ABSENT);
	ck_assert_uint_eq(rebuilds(kv), 1);
	crash_copy(dir, img, sizeof(img));
	kv_close(kv);
	kv = open_lmdb(img, 0);
	assert_value(kv, "/a", "1");
	assert_value(kv, "/d", "2");
	assert_value(kv, "/e/f", "3");
	ck_assert_int_eq(kind_of(kv, "/c"), KV_ABSENT);
	ck_assert_int_eq(kind_of(kv, "/a/x"), KV_ABSENT);
	kv_close(kv);
}
END_TEST

static off_t file_bytes(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

/* From here on, a write of this process at a file offset of bytes or more fails (EFBIG, or
 * a short write across it): RLIMIT_FSIZE, which the kernel checks against the write's
 * offset, not the file's size, with SIGXFSZ ignored instead of killing us. Check runs each
 * test in a child of its own, so a failed assertion leaves the limit there. */
static void offsets_limit(off_t bytes, struct rlimit *old)
{
	struct rlimit lim;

	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, old), 0);
	lim = *old;
	lim.rlim_cur = (rlim_t)bytes;
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

static void offsets_unlimit(const struct rlimit *old)
{
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, old), 0);
	signal(SIGXFSZ, SIG_DFL);
}

/* A log append that fails (here: the file may not grow, RLIMIT_FSIZE) fails the whole
 * group: the store is exactly as before it (main rebuilt without it), the next group
 * works, and a reopen (and a crash image) sees exactly the acknowledged writes. */
START_TEST(test_append_failure_undoes_group)
{
	size_t fill_len = (size_t)400 << 10, big_len;
	uint8_t *fill = malloc(fill_len), *big;
	struct kv_op f1 = { .kind = KV_OP_SET, .key = "/fill/1", .value = fill, .len = fill_len };
	struct kv_op f2 = { .kind = KV_OP_SET, .key = "/fill/2", .value = fill, .len = fill_len };
	struct kv_op keep = { .kind = KV_OP_SET, .key = "/keep", .value = "k", .len = 1 };
	struct kv_op later = { .kind = KV_OP_SET, .key = "/later", .value = "l", .len = 1 };
	struct kv_op g_big, g_new = { .kind = KV_OP_SET, .key = "/new/x", .value = "n", .len = 1 };
	struct kv_op g_over = { .kind = KV_OP_SET, .key = "/keep", .value = "K2", .len = 2 };
	struct kv_op g_rm = { .kind = KV_OP_REMOVE, .key = "/fill" };
	struct kv_batch_req reqs[4];
	uint8_t before[KV_DIGEST_BYTES], after[KV_DIGEST_BYTES];
	struct rlimit old;
	char dir[256], img[256];
	struct kv *kv;
	off_t size;
	int r;

	ck_assert_ptr_nonnull(fill);
	memset(fill, 0x5a, fill_len);
	new_dir(dir, sizeof(dir));
	kv = open_lmdb(dir, 0);
	ck_assert_int_eq(kv_batch(kv, &keep, 1, 1, NULL), 0);
	ck_assert_int_eq(kv_batch(kv, &f1, 1, 2, NULL), 0);
	ck_assert_int_eq(kv_batch(kv, &f2, 1, 3, NULL), 0);
	/* The recycled log is preallocated (kv_wal.c, grow_to): a group past its end must
	 * grow the file, which the limit refuses. */
	size = file_bytes(dir, KV_WAL_FILE);
	ck_assert_uint_lt(pending_bytes(kv), (uint64_t)size);
	big_len = (size_t)((uint64_t)size - pending_bytes(kv)) + 4096;
	big = malloc(big_len);
	ck_assert_ptr_nonnull(big);
	memset(big, 0xa5, big_len);
	g_big = (struct kv_op){ .kind = KV_OP_SET, .key = "/big", .value = big, .len = big_len };
	reqs[0] = (struct kv_batch_req){ &g_big, 1, 0, 0 };
	reqs[1] = (struct kv_batch_req){ &g_new, 1, 0, 0 };
	reqs[2] = (struct kv_batch_req){ &g_over, 1, 0, 0 };
	reqs[3] = (struct kv_batch_req){ &g_rm, 1, 0, 0 };
	digest_root(kv, before);

	offsets_limit(size, &old);
	r = kv_group_commit(kv, reqs, 4, 4);
	offsets_unlimit(&old);
	/* Every batch of the group hears it (kv.h), as no_space: a storage failure, not the
	 * value_too_large of a value over the size limit (kv_lmdb.c, io_err()). */
	ck_assert_int_eq(r, -ENOSPC);
	ck_assert_uint_eq(rebuilds(kv), 1);

	digest_root(kv, after);
	ck_assert_mem_eq(before, after, KV_DIGEST_BYTES);
	ck_assert_int_eq(kind_of(kv, "/big"), KV_ABSENT);
	ck_assert_int_eq(kind_of(kv, "/new"), KV_ABSENT);
	assert_value(kv, "/keep", "k");
	assert_bytes(kv, "/fill/2", fill, fill_len);
	/* The log still takes the next group. */
	ck_assert_int_eq(kv_batch(kv, &later, 1, 5, NULL), 0);
	crash_copy(dir, img, sizeof(img));
	kv_close(kv);
	for (int i = 0; i < 2; i++) {
		kv = open_lmdb(i == 0 ? img : dir, 0);
		assert_value(kv, "/keep", "k");
		assert_value(kv, "/later", "l");
		assert_bytes(kv, "/fill/1", fill, fill_len);
		ck_assert_int_eq(kind_of(kv, "/big"), KV_ABSENT);
		ck_assert_int_eq(kind_of(kv, "/new"), KV_ABSENT);
		kv_close(kv);
	}
	free(big);
	free(fill);
}
END_TEST

/* A checkpoint whose LMDB commit fails for real (docs/kv.md, "Durability"): the offsets
 * are limited at data.mdb's size (offsets_limit()), which lets the log's appends through
 * (after a checkpoint the log is written again from offset 0, and this store's data file
 * is larger than anything the log takes in these tests) and refuses LMDB's new pages,
 * which go past the end of data.mdb (copy on write: a 200 KiB value needs 51 pages in a
 * row, which the free list of this store does not hold). */
#define CKFAIL_BALLAST_BYTES ((size_t)512 << 10)
#define CKFAIL_VALUE_BYTES ((size_t)200 << 10)
#define CKFAIL_HUGE_BYTES ((size_t)3 << 19) /* over the log's group limit (1 MiB) */

struct ckfail {
	char dir[256];
	struct kv *kv;
	uint8_t *ballast, *value;
	off_t limit;	    /* the offsets limit: data.mdb's size after the set-up */
	struct kv_stats st; /* after the set-up */
};

/* A store holding /ballast (512 KiB, checkpointed: the data file's size) and /before
 * (logged, not checkpointed). */
static void ckfail_open(struct ckfail *f, size_t wal_max_bytes)
{
	new_dir(f->dir, sizeof(f->dir));
	f->kv = open_lmdb(f->dir, wal_max_bytes);
	f->ballast = malloc(CKFAIL_BALLAST_BYTES);
	f->value = malloc(CKFAIL_VALUE_BYTES);
	ck_assert_ptr_nonnull(f->ballast);
	ck_assert_ptr_nonnull(f->value);
	memset(f->ballast, 0xb1, CKFAIL_BALLAST_BYTES);
	memset(f->value, 0xd2, CKFAIL_VALUE_BYTES);
	ck_assert_int_eq(kv_set(f->kv, "/ballast", f->ballast, CKFAIL_BALLAST_BYTES, 1), 0);
	ck_assert_int_eq(kv_checkpoint(f->kv), 0); /* done already with a small log */
	ck_assert_uint_eq(pending_bytes(f->kv), 0);
	ck_assert_int_eq(kv_set(f->kv, "/before", "b", 1, 2), 0);
	f->limit = file_bytes(f->dir, "data.mdb");
	/* Two values and a few small records still go in the log below the limit. */
	ck_assert_uint_lt(pending_bytes(f->kv) + 2 * (CKFAIL_VALUE_BYTES + 4096),
			  (uint64_t)f->limit);
	kv_stats_get(f->kv, &f->st);
	ck_assert_uint_ge(f->st.checkpoints, 1);
	ck_assert_uint_eq(f->st.checkpoint_failures, 0);
	ck_assert_uint_eq(f->st.main_rebuilds, 0);
}

static void ckfail_free(struct ckfail *f)
{
	free(f->ballast);
	free(f->value);
}

/* The counters after the failures: each counted, each followed by a rebuild of main
 * (which is not a replay of an open), no checkpoint more than the set-up's. */
static void ckfail_assert_counted(const struct ckfail *f, uint64_t failures, uint64_t logged)
{
	struct kv_stats st;

	kv_stats_get(f->kv, &st);
	ck_assert_uint_eq(st.checkpoint_failures, failures);
	ck_assert_uint_eq(st.main_rebuilds, failures);
	ck_assert_uint_eq(st.checkpoints, f->st.checkpoints);
	ck_assert_uint_eq(st.replayed_records, f->st.replayed_records);
	ck_assert_uint_eq(st.wal_records, f->st.wal_records + logged);
	ck_assert_uint_gt(st.wal_pending_bytes, 0); /* the log still holds them */
	ck_assert(kv_checkpoint_pending(f->kv));
}

/* What every test had acknowledged before and during the failures. */
static void ckfail_assert_acked(struct kv *kv, const struct ckfail *f)
{
	assert_bytes(kv, "/ballast", f->ballast, CKFAIL_BALLAST_BYTES);
	assert_value(kv, "/before", "b");
	assert_value(kv, "/after", "a");
}

/* After the cause is gone: a crash image now (the data file of the set-up's checkpoint,
 * the log of everything since: replayed records), then a checkpoint that works (by
 * checkpoint(), which may write), then kv_close. Reopened, the image holds what the store
 * held when it was taken, and the store what it held when it was closed (digests of "/"). */
static void ckfail_recover(struct ckfail *f, uint64_t replayed, void (*checkpoint)(struct kv *))
{
	uint8_t want[2][KV_DIGEST_BYTES], d[KV_DIGEST_BYTES];
	char img[256];
	struct kv_stats st;

	digest_root(f->kv, want[1]);
	crash_copy(f->dir, img, sizeof(img));
	checkpoint(f->kv);
	kv_stats_get(f->kv, &st);
	ck_assert_uint_eq(st.checkpoints, f->st.checkpoints + 1);
	ck_assert_uint_eq(st.wal_pending_bytes, 0);
	digest_root(f->kv, want[0]);
	kv_close(f->kv);
	f->kv = NULL;
	for (int i = 0; i < 2; i++) {
		struct kv *kv = open_lmdb(i == 0 ? f->dir : img, 0);

		kv_stats_get(kv, &st);
		ck_assert_uint_eq(st.replayed_records, i == 0 ? 0 : replayed);
		digest_root(kv, d);
		ck_assert_mem_eq(d, want[i], sizeof(d));
		ckfail_assert_acked(kv, f);
		kv_close(kv);
	}
}

/* The end of a test whose two checkpoints failed after /during and /after were logged:
 * counted, read back, recovered (checkpoint() once the cause is gone). */
static void ckfail_end_logged(struct ckfail *f, uint64_t failures,
			      void (*checkpoint)(struct kv *))
{
	ckfail_assert_counted(f, failures, 2);
	ckfail_assert_acked(f->kv, f);
	assert_bytes(f->kv, "/during", f->value, CKFAIL_VALUE_BYTES);
	ckfail_recover(f, 3, checkpoint);
	ckfail_free(f);
}

static void checkpoint_explicit(struct kv *kv)
{
	ck_assert_int_eq(kv_checkpoint(kv), 0);
}

/* kv_checkpoint() fails, twice; the writes before, between and after stay. */
START_TEST(test_checkpoint_failure_explicit)
{
	struct rlimit old;
	struct ckfail f;
	int r1, r2;

	ckfail_open(&f, 0);
	offsets_limit(f.limit, &old);
	ck_assert_int_eq(kv_set(f.kv, "/during", f.value, CKFAIL_VALUE_BYTES, 3), 0);
	r1 = kv_checkpoint(f.kv);
	ck_assert_int_eq(kv_set(f.kv, "/after", "a", 1, 4), 0);
	r2 = kv_checkpoint(f.kv);
	offsets_unlimit(&old);
	ck_assert_int_eq(r1, -ENOSPC); /* LMDB's EFBIG, as no_space (kv_lmdb.c, io_err()) */
	ck_assert_int_eq(r2, -ENOSPC);
	ckfail_end_logged(&f, 2, checkpoint_explicit);
}
END_TEST

/* A write that takes the log 16 KiB further: past the wait after a failed automatic
 * checkpoint (an eighth of the 64 KiB limit), so its own checkpoint is tried. */
static void checkpoint_by_write(struct kv *kv)
{
	static uint8_t later[16 << 10];

	ck_assert_int_eq(kv_set(kv, "/later", later, sizeof(later), 9), 0);
}

/* The checkpoint lmdb_commit() runs when the log is over wal_max_bytes (64 KiB here)
 * fails after the write it follows was logged: that write is acknowledged all the same,
 * and so is the next, which does not try again (kv_lmdb.c, auto_checkpoint(): the log
 * has not grown by 8 KiB since; each try would replay the whole log); the first write
 * that takes the log far enough once the cause is gone checkpoints. */
START_TEST(test_checkpoint_failure_automatic)
{
	struct rlimit old;
	struct ckfail f;
	int r1, r2;

	ckfail_open(&f, (size_t)64 << 10);
	offsets_limit(f.limit, &old);
	r1 = kv_set(f.kv, "/during", f.value, CKFAIL_VALUE_BYTES, 3);
	r2 = kv_set(f.kv, "/after", "a", 1, 4);
	offsets_unlimit(&old);
	ck_assert_int_eq(r1, 0);
	ck_assert_int_eq(r2, 0);
	ckfail_end_logged(&f, 1, checkpoint_by_write);
}
END_TEST

static void checkpoint_huge(struct kv *kv)
{
	uint8_t *huge = malloc(CKFAIL_HUGE_BYTES);

	ck_assert_ptr_nonnull(huge);
	memset(huge, 0xe3, CKFAIL_HUGE_BYTES);
	ck_assert_int_eq(kv_set(kv, "/huge", huge, CKFAIL_HUGE_BYTES, 9), 0);
	assert_bytes(kv, "/huge", huge, CKFAIL_HUGE_BYTES);
	free(huge);
}

/* A group too large for the log is checkpointed instead: when that checkpoint fails, the
 * group's own result is the error and nothing of it stays (a single set, and a group of
 * two batches), while every write before it does. */
START_TEST(test_checkpoint_failure_large_group)
{
	uint8_t *huge = malloc(CKFAIL_HUGE_BYTES);
	struct kv_op big = { .kind = KV_OP_SET, .key = "/huge", .value = huge,
			     .len = CKFAIL_HUGE_BYTES };
	struct kv_op small = { .kind = KV_OP_SET, .key = "/g/small", .value = "s", .len = 1 };
	struct kv_batch_req reqs[2] = { { &small, 1, 0, 0 }, { &big, 1, 0, 0 } };
	struct rlimit old;
	struct ckfail f;
	int r1, r2, r3;

	ck_assert_ptr_nonnull(huge);
	memset(huge, 0xe3, CKFAIL_HUGE_BYTES);
	ckfail_open(&f, 0);
	offsets_limit(f.limit, &old);
	r1 = kv_set(f.kv, "/huge", huge, CKFAIL_HUGE_BYTES, 3);
	r2 = kv_group_commit(f.kv, reqs, 2, 4);
	r3 = kv_set(f.kv, "/after", "a", 1, 5);
	offsets_unlimit(&old);
	/* LMDB's EFBIG as no_space (kv_lmdb.c, io_err()), not value_too_large. */
	ck_assert_int_eq(r1, -ENOSPC);
	ck_assert_int_eq(r2, -ENOSPC);
	ck_assert_int_eq(r3, 0);
	/* Three: the set's checkpoint, and the set tried once more after a reclaim (two
	 * checkpoints, the first failing), as for any no_space (kv_write.c, batch_freeing());
	 * the group's. */
	ckfail_assert_counted(&f, 3, 1);
	ck_assert_int_eq(kind_of(f.kv, "/huge"), KV_ABSENT);
	ck_assert_int_eq(kind_of(f.kv, "/g"), KV_ABSENT);
	ckfail_assert_acked(f.kv, &f);
	ckfail_recover(&f, 2, checkpoint_huge);
	free(huge);
	ckfail_free(&f);
}
END_TEST

/* kv_close() checkpoints too (kv_lmdb.c, lmdb_close()): when that fails, the next open
 * replays the log (3 records: the checkpoint did not happen) and has every write. */
START_TEST(test_checkpoint_failure_close)
{
	struct rlimit old;
	struct ckfail f;
	struct kv_stats st;

	ckfail_open(&f, 0);
	offsets_limit(f.limit, &old);
	ck_assert_int_eq(kv_set(f.kv, "/during", f.value, CKFAIL_VALUE_BYTES, 3), 0);
	ck_assert_int_eq(kv_set(f.kv, "/after", "a", 1, 4), 0);
	kv_close(f.kv);
	offsets_unlimit(&old);
	f.kv = open_lmdb(f.dir, 0);
	kv_stats_get(f.kv, &st);
	ck_assert_uint_eq(st.replayed_records, 3);
	ck_assert_uint_eq(st.checkpoints, 1); /* the open's, of what it replayed */
	ckfail_assert_acked(f.kv, &f);
	assert_bytes(f.kv, "/during", f.value, CKFAIL_VALUE_BYTES);
	kv_close(f.kv);
	ckfail_free(&f);
}
END_TEST

/* The dirty-page bound (kv_lmdb.c, dirty_bound()): rewriting the same few keys counts a
 * path per set (4 pages) but dirties only the small tree, so it does not checkpoint;
 * writing ever new keys grows the tree, and does. The limit is 64 pages here. */
START_TEST(test_checkpoint_dirty_pages)
{
	struct kv_limits lim;
	struct kv_stats st;
	char dir[256], key[32], val[200];
	struct kv *kv;

	new_dir(dir, sizeof(dir));
	kv_limits_default(&lim);
	lim.dirty_max_pages = 64;
	ck_assert_int_eq(kv_open_lmdb(dir, &lim, &kv), 0);
	memset(val, 'v', sizeof(val));
	for (int i = 0; i < 2000; i++) { /* 8000 pages by op_pages() alone */
		snprintf(key, sizeof(key), "/same/%d", i % 10);
		ck_assert_int_eq(kv_set(kv, key, val, sizeof(val), (uint64_t)i), 0);
	}
	kv_stats_get(kv, &st);
	ck_assert_uint_eq(st.checkpoints, 0);
	/* 2000 new keys of 200 bytes: over 100 leaf pages, more than the limit. */
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "/new/%05d", i);
		ck_assert_int_eq(kv_set(kv, key, val, sizeof(val), (uint64_t)i), 0);
	}
	kv_stats_get(kv, &st);
	ck_assert_uint_ge(st.checkpoints, 1);
	/* Removing them frees pages that were dirtied: counted too, so a store that keeps
	 * adding and removing also checkpoints. */
	kv_close(kv);
	ck_assert_int_eq(kv_open_lmdb(dir, &lim, &kv), 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "/new/%05d", i);
		ck_assert_int_eq(kv_remove(kv, key, (uint64_t)i), 0);
	}
	kv_stats_get(kv, &st);
	ck_assert_uint_ge(st.checkpoints, 1);
	ck_assert_int_eq(kind_of(kv, "/new/01999"), KV_ABSENT);
	assert_bytes(kv, "/same/3", (const uint8_t *)val, sizeof(val));
	kv_close(kv);
}
END_TEST

static Suite *kv_wal_suite(void)
{
	Suite *s = suite_create("kv_wal");
	TCase *tc = tcase_create("log");

	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_codec);
	tcase_add_test(tc, test_payload);
	tcase_add_test(tc, test_torn_tail_every_offset);
	tcase_add_test(tc, test_bad_crc);
	tcase_add_test(tc, test_stale_generation);
	tcase_add_test(tc, test_replay_idempotent);
	tcase_add_test(tc, test_seq_gaps);
	tcase_add_test(tc, test_forged_record);
	tcase_add_test(tc, test_old_format_store);
	tcase_add_test(tc, test_euclean_salted);
	tcase_add_test(tc, test_checkpoint_triggers);
	tcase_add_test(tc, test_checkpoint_dirty_pages);
	tcase_add_test(tc, test_reserved_key_invisible);
	tcase_add_test(tc, test_second_opener_refused);
	tcase_add_test(tc, test_truncate_mode);
	tcase_add_test(tc, test_group_savepoints_logged);
	tcase_add_test(tc, test_group_failing_batches);
	tcase_add_test(tc, test_append_failure_undoes_group);
	tcase_add_test(tc, test_checkpoint_failure_explicit);
	tcase_add_test(tc, test_checkpoint_failure_automatic);
	tcase_add_test(tc, test_checkpoint_failure_large_group);
	tcase_add_test(tc, test_checkpoint_failure_close);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(kv_wal_suite());
}
