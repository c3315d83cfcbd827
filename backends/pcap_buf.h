/* Writing a capture buffer to a file descriptor that may block: the one write loop of the
 * two pcap writers (backends/pcap.c for --pcap, daemon/rpc_capture.c for
 * io.ustack.Stack.Capture). What a stalled reader or a failed fd means is each caller's
 * policy (docs/daemon.md "pcap", docs/rpc.md "Limits"): this only says which happened. */
#ifndef USTACK_BACKENDS_PCAP_BUF_H
#define USTACK_BACKENDS_PCAP_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Writes buf[*off, len) to fd until all of it is written or fd would block, retrying
 * EINTR. *off is advanced past every byte written, also when a later write of the same
 * call fails, so that a caller that tries again resumes at the first unwritten byte and
 * writes nothing twice (a short write is followed by the rest, not by a repeat).
 *
 * Returns 0 when everything is written (*off == len; at once when *off == len already),
 * -EAGAIN when fd takes no more now (a non-blocking pipe or socket whose reader stalls),
 * or a negative errno when fd failed: -EPIPE (the reader went) also for a write(2) that
 * took nothing without an error, -ENOSPC, -EBADF, ... */
int pcap_buf_drain(int fd, const uint8_t *buf, size_t len, size_t *off);

#endif
