/* Logging to stderr with sd-daemon(3) "<N>" priority prefixes, which journald turns into
 * priorities. One line per message; messages below the configured level are not written. */
#ifndef USTACKD_LOG_H
#define USTACKD_LOG_H

#include <stdarg.h>

/* syslog(3) priorities */
enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "debug", "info", "notice", "warning" (or "warn"), "err" (or "error"): 0, or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs "<msg>: <strerror(-err)>" and returns err (a negative errno), so that callers can
 * write `return log_errno(r, "Failed to open %s", path);`. */
int log_errno(enum log_level level, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_error_errno(err, ...) log_errno(LOG_LEVEL_ERR, (err), __VA_ARGS__)
#define log_warning_errno(err, ...) log_errno(LOG_LEVEL_WARNING, (err), __VA_ARGS__)

#endif
