/* systemd service notification (sd_notify(3)): READY=1 once the netif is up, STATUS=,
 * WATCHDOG=1 from the packet loop, STOPPING=1. All of it is a no-op outside systemd
 * ($NOTIFY_SOCKET unset). */
#ifndef USTACKD_NOTIFY_H
#define USTACKD_NOTIFY_H

#include <stdint.h>

/* The watchdog interval systemd expects (WatchdogSec=), 0 when disabled. */
uint64_t notify_watchdog_usec(void);
void notify_ready(const char *status);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_watchdog(void);
void notify_stopping(const char *status);

#endif
