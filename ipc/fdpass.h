/* File descriptors over a Unix socket with SCM_RIGHTS (unix(7)), for the varlink
 * connection: fds ride on the sendmsg() that carries the first byte of their message
 * (docs/rpc.md, "File descriptors"). */
#ifndef USTACK_IPC_FDPASS_H
#define USTACK_IPC_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/* At most this many fds are sent or accepted in one call. */
#define FDPASS_MAX_FDS 8

/* sendmsg() of buf with fds attached (nfds 0: a plain send), MSG_NOSIGNAL, MSG_DONTWAIT
 * when nonblock. Returns the bytes sent (possibly fewer than len: send the rest without
 * fds) or a negative errno (-EAGAIN included). The fds stay open: the kernel holds its own
 * references once the call returns. */
ssize_t fdpass_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds,
		    int nonblock);

/* recvmsg() into buf with MSG_CMSG_CLOEXEC. fds received go to fds[] (up to max_fds, *nfds
 * says how many); any beyond max_fds, of another kind of control message or cut short
 * (MSG_CTRUNC) are closed and counted in *dropped (may be NULL). Returns the bytes read,
 * 0 at EOF, or a negative errno. */
ssize_t fdpass_recv(int sock, void *buf, size_t len, int *fds, size_t max_fds, size_t *nfds,
		    size_t *dropped, int nonblock);

#endif
