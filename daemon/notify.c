#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

/* Sent by hand in both builds: sd_notify() blocks when the receiver's queue
 * is full, and nothing may block the loop. A notification that would block
 * is dropped; the next watchdog tick or status line follows soon. */
int notify_send(const char *state) {
  const char *path = getenv("NOTIFY_SOCKET");
  struct sockaddr_un sa;
  socklen_t salen;
  size_t len;
  int fd, rc = 1;
  if (!path || !*path)
    return 0;
  len = strlen(path);
  if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
    return -EINVAL;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, len);
  if (path[0] == '@')
    sa.sun_path[0] = '\0'; /* abstract namespace */
  salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -errno;
  if (sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
             (struct sockaddr *)&sa, salen) < 0)
    rc = -errno;
  close(fd);
  return rc;
}

uint64_t notify_watchdog_ms(void) {
#ifdef HAVE_LIBSYSTEMD
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0)
    return 0;
  return usec / 1000;
#else
  const char *usec = getenv("WATCHDOG_USEC");
  const char *pid = getenv("WATCHDOG_PID");
  char *end;
  unsigned long long v;
  if (!usec || !*usec)
    return 0;
  if (pid && *pid && strtol(pid, NULL, 10) != (long)getpid())
    return 0;
  v = strtoull(usec, &end, 10);
  if (*end || v == 0)
    return 0;
  return v / 1000;
#endif
}
