/* backends/pcap_buf.c: the write loop both capture writers share (--pcap in
 * backends/pcap.c, io.ustack.Stack.Capture in daemon/rpc_capture.c). The points: a reader
 * that stalls leaves the offset at the first unwritten byte, and the next call resumes
 * there (every byte reaches the reader once, in order: the pcap stream stays valid); EINTR
 * is retried, never returned; an fd that failed says how (-EBADF, -EPIPE with SIGPIPE
 * ignored as the daemon ignores it, -ENOSPC), with the offset past what was written before
 * the failure; nothing to write writes nothing. Real pipes, sockets and files: the loop is
 * about what write(2) does to it. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backends/pcap_buf.h"
#include "harness.h"

#define BIG (256u * 1024) /* several times what the small pipe or socket holds */

static uint8_t buf[BIG], got[BIG];

/* A byte pattern in which a shifted, repeated or skipped run shows: byte i is not a
 * function of i mod 256. */
static void pattern(uint8_t *b, size_t len)
{
	uint32_t x = 2463534242u;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (uint8_t)x;
	}
}

static void nonblock(int fd)
{
	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

/* A pipe of one page (the smallest the kernel allows): it fills after a few KiB. */
static void small_pipe(int p[2])
{
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_gt(fcntl(p[1], F_SETPIPE_SZ, 4096), 0);
}

/* Reads what fd holds now into got + at, up to cap - at; returns the new fill. */
static size_t read_avail(int fd, size_t at, size_t cap)
{
	while (at < cap) {
		ssize_t n = read(fd, got + at, cap - at);

		if (n > 0) {
			at += (size_t)n;
			continue;
		}
		ck_assert_msg(n < 0 && errno == EAGAIN, "read: %zd (%s)", n, strerror(errno));
		break;
	}
	return at;
}

/* Writes BIG bytes into a writer whose reader takes only what it holds between calls:
 * each call stops at EAGAIN with everything before the offset delivered, and the next
 * one goes on from there. The reader must see the buffer exactly: a lost offset repeats
 * bytes, an offset moved too far skips some. */
static void drain_through(int wr, int rd)
{
	size_t off = 0, seen = 0;
	unsigned stalls = 0;
	int r;

	pattern(buf, BIG);
	nonblock(wr);
	nonblock(rd);
	for (;;) {
		r = pcap_buf_drain(wr, buf, BIG, &off);
		seen = read_avail(rd, seen, BIG);
		if (r == 0)
			break;
		ck_assert_int_eq(r, -EAGAIN);
		ck_assert_uint_lt(off, BIG);
		ck_assert_uint_eq(seen, off); /* all the writer took, none it did not */
		stalls++;
		ck_assert_uint_lt(stalls, BIG); /* progress on every round */
	}
	ck_assert_uint_eq(off, BIG);
	ck_assert_uint_eq(seen, BIG);
	ck_assert_uint_gt(stalls, 3); /* it did fill up, more than once */
	ck_assert_int_eq(memcmp(got, buf, BIG), 0);
}

START_TEST(pcap_buf_full_pipe_resumes)
{
	int p[2];

	small_pipe(p);
	drain_through(p[1], p[0]);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(pcap_buf_full_socket_resumes)
{
	int sv[2], sz = 4096;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)), 0);
	drain_through(sv[0], sv[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A caller that comes back with an offset writes from it, not from the start. */
START_TEST(pcap_buf_starts_at_offset)
{
	size_t off = 1000;
	int p[2];

	pattern(buf, 3000);
	ck_assert_int_eq(pipe(p), 0);
	nonblock(p[0]);
	ck_assert_int_eq(pcap_buf_drain(p[1], buf, 3000, &off), 0);
	ck_assert_uint_eq(off, 3000);
	ck_assert_uint_eq(read_avail(p[0], 0, BIG), 2000);
	ck_assert_int_eq(memcmp(got, buf + 1000, 2000), 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Nothing to write: no write(2) at all (an fd of -1 would fail with EBADF if tried). */
START_TEST(pcap_buf_nothing_to_write)
{
	size_t off = 0;

	ck_assert_int_eq(pcap_buf_drain(-1, buf, 0, &off), 0);
	ck_assert_uint_eq(off, 0);
	off = 5;
	ck_assert_int_eq(pcap_buf_drain(-1, buf, 5, &off), 0);
	ck_assert_uint_eq(off, 5);
}
END_TEST

START_TEST(pcap_buf_bad_fd)
{
	size_t off = 0;

	ck_assert_int_eq(pcap_buf_drain(-1, buf, 10, &off), -EBADF);
	ck_assert_uint_eq(off, 0);
}
END_TEST

/* The reader went: -EPIPE (SIGPIPE ignored, as ustackd's main() does), offset kept. */
START_TEST(pcap_buf_reader_gone)
{
	size_t off = 3;
	int p[2];

	ck_assert_ptr_ne(signal(SIGPIPE, SIG_IGN), SIG_ERR);
	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	ck_assert_int_eq(pcap_buf_drain(p[1], buf, 10, &off), -EPIPE);
	ck_assert_uint_eq(off, 3);
	close(p[1]);
}
END_TEST

START_TEST(pcap_buf_disk_full)
{
	size_t off = 0;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pcap_buf_drain(fd, buf, 100, &off), -ENOSPC);
	ck_assert_uint_eq(off, 0);
	close(fd);
}
END_TEST

/* A file that takes part of the buffer and then fails (RLIMIT_FSIZE: a short write, then
 * EFBIG): the offset says what is in the file, and a second try writes nothing twice. */
START_TEST(pcap_buf_fails_after_part)
{
	char path[] = "/tmp/ust-pcap-buf-XXXXXX";
	struct rlimit old, lim = { 1000, 1000 };
	size_t off = 0;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	pattern(buf, 3000);
	ck_assert_ptr_ne(signal(SIGXFSZ, SIG_IGN), SIG_ERR);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim.rlim_max = old.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ck_assert_int_eq(pcap_buf_drain(fd, buf, 3000, &off), -EFBIG);
	ck_assert_uint_eq(off, 1000);
	ck_assert_int_eq(pcap_buf_drain(fd, buf, 3000, &off), -EFBIG);
	ck_assert_uint_eq(off, 1000);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_int_eq(pread(fd, got, BIG, 0), 1000);
	ck_assert_int_eq(memcmp(got, buf, 1000), 0);
	close(fd);
}
END_TEST

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* A blocking write into a full pipe, interrupted by a signal without SA_RESTART every
 * 5 ms until a reader (a child, 200 ms later) drains it: the EINTRs are retried and the
 * call returns 0 once everything is written, the reader sees the buffer exactly. */
START_TEST(pcap_buf_eintr_retried)
{
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: write sees EINTR */
	struct itimerval every_5ms = { { 0, 5000 }, { 0, 5000 } }, stop = { { 0, 0 }, { 0, 0 } };
	size_t off = 0;
	int p[2], st, r;
	pid_t pid;

	pattern(buf, BIG);
	small_pipe(p);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct timespec wait = { 0, 200 * 1000 * 1000 };
		size_t at = 0;
		ssize_t n;

		close(p[1]);
		nanosleep(&wait, NULL);
		while (at < BIG && (n = read(p[0], got + at, BIG - at)) > 0)
			at += (size_t)n;
		_exit(at == BIG && read(p[0], got, 1) == 0 && memcmp(got, buf, BIG) == 0 ? 0 : 1);
	}
	close(p[0]);
	alarms = 0;
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &every_5ms, NULL), 0);
	r = pcap_buf_drain(p[1], buf, BIG, &off);
	setitimer(ITIMER_REAL, &stop, NULL);
	close(p[1]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(off, BIG);
	ck_assert_int_gt(alarms, 0); /* the write was interrupted while the pipe was full */
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the reader saw other bytes");
}
END_TEST

static Suite *pcap_buf_suite(void)
{
	Suite *s = suite_create("pcap_buf");
	TCase *tc = tcase_create("drain");

	tcase_add_test(tc, pcap_buf_full_pipe_resumes);
	tcase_add_test(tc, pcap_buf_full_socket_resumes);
	tcase_add_test(tc, pcap_buf_starts_at_offset);
	tcase_add_test(tc, pcap_buf_nothing_to_write);
	tcase_add_test(tc, pcap_buf_bad_fd);
	tcase_add_test(tc, pcap_buf_reader_gone);
	tcase_add_test(tc, pcap_buf_disk_full);
	tcase_add_test(tc, pcap_buf_fails_after_part);
	tcase_add_test(tc, pcap_buf_eintr_retried);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_run_suite(pcap_buf_suite());
}
