/* systemd's notify protocol (Type=notify): READY=1, RELOADING=1, STOPPING=1,
 * WATCHDOG=1 and STATUS=. The datagram goes to $NOTIFY_SOCKET without
 * blocking; libsystemd, when built in, reads the watchdog settings. Without
 * $NOTIFY_SOCKET every call is a no-op. */
#ifndef INDICATORD_NOTIFY_H
#define INDICATORD_NOTIFY_H

#include <stdint.h>

/* Sends one notification ("READY=1", "STATUS=..."). Returns 1 when sent, 0
 * when not running under a notify-aware manager, or a negative errno. */
int notify_send(const char *state);
/* The watchdog interval systemd asked for (WATCHDOG_USEC for this PID), in
 * milliseconds; 0 when none. */
uint64_t notify_watchdog_ms(void);

#endif
