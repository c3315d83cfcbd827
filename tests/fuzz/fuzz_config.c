/* libFuzzer target: the daemon's configuration parser (daemon/config.c).
 *
 * The input is a configuration file: it is written to a memfd and read back with
 * config_load_file() through /proc/self/fd/N, so the line reader (NUL bytes, overlong
 * lines, a missing last newline) is what is fuzzed, then config_check() and the runtime
 * directory on whatever was accepted. Every line also goes to config_set() as a flag would
 * (split at its first '='), so values that the file syntax cannot carry (leading spaces,
 * quotes) are fuzzed too. Nothing may crash, overflow, leak or hang; a rejected input is
 * fine and its message must be a terminated string. Seeds: tests/fuzz/corpus/config. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_flags(const uint8_t *data, size_t size)
{
	struct ustackd_config c;
	char line[1100], why[600];
	size_t start = 0;

	config_defaults(&c);
	while (start < size) {
		size_t end = start, n;
		char *eq;

		while (end < size && data[end] != '\n')
			end++;
		n = end - start < sizeof(line) - 1 ? end - start : sizeof(line) - 1;
		memcpy(line, data + start, n);
		line[n] = '\0'; /* a NUL inside ends the line early: still a string */
		eq = strchr(line, '=');
		if (eq) {
			*eq = '\0';
			why[0] = '\0';
			if (config_set(&c, line, eq + 1, why, sizeof(why)) < 0 &&
			    strnlen(why, sizeof(why)) == sizeof(why))
				__builtin_trap();
		}
		start = end + 1;
	}
	(void)config_check(&c, why, sizeof(why));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct ustackd_config c;
	char path[64], why[600], rd[256];

	if (fd < 0) {
		fd = memfd_create("fuzz_config", MFD_CLOEXEC);
		if (fd < 0)
			return 0;
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	config_defaults(&c);
	why[0] = '\0';
	if (config_load_file(&c, path, why, sizeof(why)) == 0) {
		(void)config_check(&c, why, sizeof(why));
		config_runtime_dir(&c, rd, sizeof(rd));
	} else if (strnlen(why, sizeof(why)) == sizeof(why)) {
		__builtin_trap();
	}
	fz_flags(data, size);
	return 0;
}
