/* The redo log's file and record format (kv_wal.h). One job: records in and out of the
 * file, each append one pwritev and one fdatasync.
 *
 * Why the file is recycled rather than truncated (docs/performance.md, "Write-ahead
 * log"): overwriting blocks that already exist changes neither the file's size nor its
 * extents, so fdatasync only writes the data blocks; appending past the end changes the
 * size, and ext4 must then also commit its journal. The file is grown with written zeros
 * (not fallocate: unwritten extents would need their own metadata commit when first
 * written), KV_WAL_GROW_BYTES at a time, and keeps its high-water size across checkpoints. */
#include "kv_wal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#define KV_WAL_GROW_BYTES ((uint64_t)1 << 20)

struct kv_wal {
	int fd;
	bool recycle;
	bool broken;	 /* an append could not be undone: refuse more until reopened */
	uint64_t off;	 /* end of the current generation: where the next record goes */
	uint64_t last;	 /* offset of the last record appended (for kv_wal_cut_last) */
	uint64_t size;	 /* bytes of the file known to exist (zeros past off) */
	struct kv_wal_salt salt; /* the current generation's: its records' tags */
};

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* CRC32C (Castagnoli, reflected polynomial 0x82f63b78, RFC 3720 appendix B.4): the SSE4.2
 * instruction where the CPU has it, a table otherwise. */
static uint32_t crc_table[256];

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	if (!crc_table[1])
		crc_table_init();
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p,
							   size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	crc = (uint32_t)c;
	while (len--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}
#endif

uint32_t kv_wal_crc32c(uint32_t crc, const void *p, size_t len)
{
	crc = ~crc;
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc_hw(crc, p, len);
#endif
	return ~crc_sw(crc, p, len);
}

static uint32_t record_crc(const uint8_t hdr[KV_WAL_HDR_BYTES], const void *payload,
			   size_t len)
{
	static const uint8_t zero[4];
	uint32_t c = kv_wal_crc32c(0, hdr, 16);

	c = kv_wal_crc32c(c, zero, sizeof(zero));
	return kv_wal_crc32c(c, payload, len);
}

int kv_wal_salt_draw(struct kv_wal_salt *salt)
{
	size_t done = 0;

	while (done < sizeof(salt->bytes)) {
		ssize_t n = getrandom(salt->bytes + done, sizeof(salt->bytes) - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	salt->set = true;
	return 0;
}

/* Bytes 20-23 (kv_wal.h): the salt first, so that nobody who lacks it can compute the
 * tag; bytes 0-19 hold the record's CRC, so the tag binds the payload too. */
static uint32_t record_tag(const uint8_t hdr[KV_WAL_HDR_BYTES], const struct kv_wal_salt *salt)
{
	if (!salt || !salt->set)
		return 0;
	return kv_wal_crc32c(kv_wal_crc32c(0, salt->bytes, sizeof(salt->bytes)), hdr, 20);
}

void kv_wal_hdr_emit(uint8_t out[KV_WAL_HDR_BYTES], uint64_t seq, const void *payload,
		     size_t len, const struct kv_wal_salt *salt)
{
	put_le32(out, KV_WAL_MAGIC);
	put_le32(out + 4, (uint32_t)len);
	put_le64(out + 8, seq);
	memset(out + 16, 0, 8);
	put_le32(out + 16, record_crc(out, payload, len));
	put_le32(out + 20, record_tag(out, salt));
}

int kv_wal_hdr_parse(const uint8_t in[KV_WAL_HDR_BYTES], struct kv_wal_hdr *h)
{
	if (get_le32(in) != KV_WAL_MAGIC)
		return -EINVAL;
	h->len = get_le32(in + 4);
	h->seq = get_le64(in + 8);
	h->crc = get_le32(in + 16);
	h->tag = get_le32(in + 20);
	return h->len > KV_WAL_PAYLOAD_MAX_BYTES ? -EINVAL : 0;
}

bool kv_wal_crc_ok(const uint8_t in[KV_WAL_HDR_BYTES], const void *payload, size_t len)
{
	return record_crc(in, payload, len) == get_le32(in + 16);
}

bool kv_wal_tag_ok(const uint8_t in[KV_WAL_HDR_BYTES], const struct kv_wal_salt *salt)
{
	/* Without a salt (a store of the previous version, or a new one before its first
	 * checkpoint) there is nothing to check: its records carry zero, and its first
	 * checkpoint draws one (kv_lmdb.c). */
	return !salt || !salt->set || record_tag(in, salt) == get_le32(in + 20);
}

void kv_wal_op_hdr(uint8_t *p, uint8_t op, size_t klen, size_t vlen)
{
	p[0] = op;
	p[1] = (uint8_t)klen;
	p[2] = (uint8_t)(klen >> 8);
	if (op == KV_WAL_OP_PUT)
		for (int i = 0; i < 4; i++)
			p[3 + i] = (uint8_t)(vlen >> (8 * i));
}

/* Walks payload; with fn NULL only checks it. */
static int payload_walk(const uint8_t *p, size_t len, kv_wal_op_fn fn, void *ctx)
{
	size_t i = 0;

	while (i < len) {
		uint8_t op = p[i];
		size_t klen, vlen = 0, hdr;
		int r;

		if (op == KV_WAL_OP_PUT)
			hdr = KV_WAL_PUT_HDR_BYTES;
		else if (op == KV_WAL_OP_DEL)
			hdr = KV_WAL_DEL_HDR_BYTES;
		else
			return -EIO;
		if (len - i < hdr)
			return -EIO;
		klen = (size_t)p[i + 1] | (size_t)p[i + 2] << 8;
		if (op == KV_WAL_OP_PUT)
			vlen = get_le32(p + i + 3);
		i += hdr;
		if (klen == 0 || len - i < klen || len - i - klen < vlen)
			return -EIO;
		if (fn) {
			r = fn(p + i, klen, op == KV_WAL_OP_PUT ? p + i + klen : NULL, vlen, ctx);
			if (r < 0)
				return r;
		}
		i += klen + vlen;
	}
	return 0;
}

int kv_wal_payload_parse(const uint8_t *payload, size_t len, kv_wal_op_fn fn, void *ctx)
{
	int r = payload_walk(payload, len, NULL, NULL);

	return r < 0 ? r : payload_walk(payload, len, fn, ctx);
}

int kv_wal_open(const char *dir, bool recycle, struct kv_wal **out)
{
	char path[4096];
	struct kv_wal *w;
	off_t end;
	int r;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, KV_WAL_FILE) >= sizeof(path))
		return -ENAMETOOLONG;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->recycle = recycle;
	w->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (w->fd < 0) {
		r = -errno;
		goto fail;
	}
	/* The backend holds LMDB's write lock for as long as it runs: a second process would
	 * block in LMDB forever, so it is refused here (docs/kv.md, "Files"). */
	if (flock(w->fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail_fd;
	}
	end = lseek(w->fd, 0, SEEK_END);
	if (end < 0) {
		r = -errno;
		goto fail_fd;
	}
	w->size = (uint64_t)end;
	*out = w;
	return 0;
fail_fd:
	close(w->fd);
fail:
	free(w);
	return r;
}

void kv_wal_close(struct kv_wal *w)
{
	if (!w)
		return;
	close(w->fd);
	free(w);
}

static int read_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0; /* short: a torn tail */
		done += (size_t)n;
	}
	return 1;
}

int kv_wal_replay(struct kv_wal *w, uint64_t after_seq, const struct kv_wal_salt *salt,
		  kv_wal_record_fn fn, void *ctx, struct kv_wal_replayed *out)
{
	uint8_t hdr[KV_WAL_HDR_BYTES];
	uint8_t *buf = NULL;
	size_t cap = 0;
	uint64_t off = 0, seq = after_seq, n = 0;
	bool forged = false;
	int r;

	for (;;) {
		struct kv_wal_hdr h;

		r = read_full(w->fd, hdr, sizeof(hdr), off);
		if (r <= 0 || kv_wal_hdr_parse(hdr, &h) < 0)
			break;
		if (h.seq <= seq)
			break; /* stale: a generation the checkpoint covers */
		if (h.len > cap) {
			uint8_t *nb = realloc(buf, h.len);

			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
			cap = h.len;
		}
		r = read_full(w->fd, buf, h.len, off + sizeof(hdr));
		if (r <= 0 || !kv_wal_crc_ok(hdr, buf, h.len))
			break; /* torn, or not a record */
		if (h.seq != seq + 1) {
			/* A whole record past a gap. As the first one, records between the
			 * applied seq and it are gone, which no crash explains (a checkpoint
			 * stores the seq it covers before the log restarts): refuse rather than
			 * lose them silently. Later, the end. */
			r = n == 0 ? -EUCLEAN : 0;
			break;
		}
		if (!kv_wal_tag_ok(hdr, salt)) {
			/* Whole, the next seq, a good CRC: only the tag tells it from a record
			 * of this generation. It is what a client's value left in the old bytes
			 * (kv_wal.h), or garbage: the end, as a torn record is. */
			forged = true;
			r = 0;
			break;
		}
		r = fn(h.seq, buf, h.len, ctx);
		if (r < 0)
			break;
		seq = h.seq;
		n++;
		off += sizeof(hdr) + h.len;
	}
	free(buf);
	if (r < 0)
		return r;
	w->off = off;
	w->last = off;
	w->broken = false;
	w->salt = salt ? *salt : (struct kv_wal_salt){ 0 };
	*out = (struct kv_wal_replayed){ .last_seq = seq, .records = n, .forged = forged };
	return 0;
}

/* Makes sure [size, end) exists as written zeros (recycling: see the top). */
static int grow_to(struct kv_wal *w, uint64_t end)
{
	static const uint8_t zeros[64 << 10];

	if (!w->recycle || end <= w->size)
		return 0;
	end = (end + KV_WAL_GROW_BYTES - 1) / KV_WAL_GROW_BYTES * KV_WAL_GROW_BYTES;
	while (w->size < end) {
		size_t n = end - w->size < sizeof(zeros) ? (size_t)(end - w->size) : sizeof(zeros);
		ssize_t k = pwrite(w->fd, zeros, n, (off_t)w->size);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		w->size += (uint64_t)k;
	}
	return 0;
}

static int write_full(int fd, struct iovec *iov, int n, uint64_t off)
{
	while (n > 0) {
		ssize_t k = pwritev(fd, iov, n, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		off += (uint64_t)k;
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

/* Zeroes the header at off and flushes: the record there no longer counts. */
static int invalidate_at(struct kv_wal *w, uint64_t off)
{
	uint8_t zero[KV_WAL_HDR_BYTES] = { 0 };
	struct iovec iov = { zero, sizeof(zero) };

	if (write_full(w->fd, &iov, 1, off) < 0 || fdatasync(w->fd) < 0) {
		w->broken = true;
		return -EIO;
	}
	return 0;
}

int kv_wal_append(struct kv_wal *w, uint64_t seq, const void *payload, size_t len)
{
	uint8_t hdr[KV_WAL_HDR_BYTES];
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, len } };
	uint64_t end = w->off + sizeof(hdr) + len;
	int r;

	if (w->broken)
		return -EIO;
	if (len > KV_WAL_PAYLOAD_MAX_BYTES)
		return -EFBIG;
	kv_wal_hdr_emit(hdr, seq, payload, len, &w->salt);
	r = grow_to(w, end);
	if (r == 0)
		r = write_full(w->fd, iov, 2, w->off);
	if (r == 0 && fdatasync(w->fd) < 0)
		r = -errno;
	if (r < 0) {
		/* Part of it may be on disk (or get there later): make sure it never counts. */
		invalidate_at(w, w->off);
		return r;
	}
	w->last = w->off;
	w->off = end;
	if (end > w->size)
		w->size = end;
	return 0;
}

int kv_wal_cut_last(struct kv_wal *w)
{
	int r = invalidate_at(w, w->last);

	if (r == 0)
		w->off = w->last;
	return r;
}

int kv_wal_restart(struct kv_wal *w, const struct kv_wal_salt *salt)
{
	/* Recycling leaves the old records: their seqs are all covered by the checkpoint,
	 * so a reader stops at them (kv_wal_replay). Truncating needs no flush for the same
	 * reason: if the old records survive a crash they are skipped. */
	w->off = 0;
	w->last = 0;
	w->salt = *salt;
	if (w->recycle)
		return 0;
	w->size = 0;
	return ftruncate(w->fd, 0) < 0 ? -errno : 0;
}

uint64_t kv_wal_bytes(const struct kv_wal *w)
{
	return w->off;
}
