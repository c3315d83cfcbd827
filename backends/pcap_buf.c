#include "pcap_buf.h"

#include <errno.h>
#include <unistd.h>

int pcap_buf_drain(int fd, const uint8_t *buf, size_t len, size_t *off)
{
	while (*off < len) {
		ssize_t n = write(fd, buf + *off, len - *off);

		if (n > 0) {
			*off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* write(2) of a non-zero count returning 0 is no progress we could wait for:
		 * treated as a reader that went, not retried forever. */
		return n < 0 ? -errno : -EPIPE;
	}
	return 0;
}
