#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static enum log_level log_level = LOG_LEVEL_INFO;

static const struct {
	const char *name;
	enum log_level level;
} log_names[] = {
	{ "debug", LOG_LEVEL_DEBUG },	{ "info", LOG_LEVEL_INFO },
	{ "notice", LOG_LEVEL_NOTICE }, { "warning", LOG_LEVEL_WARNING },
	{ "warn", LOG_LEVEL_WARNING },	{ "err", LOG_LEVEL_ERR },
	{ "error", LOG_LEVEL_ERR },
};

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcasecmp(s, log_names[i].name) == 0) {
			*out = log_names[i].level;
			return 0;
		}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (log_names[i].level == level)
			return log_names[i].name;
	return "?";
}

static void log_vmsg(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (level > log_level)
		return;
	n = snprintf(line, sizeof(line), "<%d>", (int)level);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* One write per line, so that lines of concurrent writers do not interleave. */
	if (suffix)
		fprintf(stderr, "%s: %s\n", line, suffix);
	else
		fprintf(stderr, "%s\n", line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, NULL, fmt, ap);
	va_end(ap);
}

int log_errno(enum log_level level, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, strerror(err < 0 ? -err : err), fmt, ap);
	va_end(ap);
	return err;
}
