/* Instruction counts of the Internet checksum (stack/wire/csum.c) under callgrind, which
 * are repeatable where wall-clock timings on a shared machine are not:
 *
 *   gcc -O2 -I. bench/csum.c stack/wire/csum.c -o /tmp/csum-bench
 *   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out /tmp/csum-bench
 *   callgrind_annotate /tmp/cg.out | grep csum_feed
 *
 * It sums a 1500-byte buffer (an MTU-sized datagram) 1000 times and a 64 KiB buffer (a
 * TSO super-segment) 100 times, each starting at an odd address, and prints the results
 * so the calls cannot be optimised away. Divide csum_feed's count by the bytes summed
 * (1,500,000 + 6,553,600) for instructions per byte; run with `1500` or `65536` as the
 * only argument to measure one size alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/wire/csum.h"

static unsigned run(const unsigned char *buf, size_t len, int times)
{
	unsigned acc = 0;

	for (int i = 0; i < times; i++)
		acc += csum_buf(buf, len);
	return acc;
}

int main(int argc, char **argv)
{
	size_t only = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
	unsigned char *buf = malloc(65536 + 1);

	if (!buf)
		return 1;
	for (size_t i = 0; i < 65536 + 1; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 24);
	if (!only || only == 1500)
		printf("1500: %u\n", run(buf + 1, 1500, 1000));
	if (!only || only == 65536)
		printf("65536: %u\n", run(buf + 1, 65536, 100));
	free(buf);
	return 0;
}
