/* A preloaded shim that moves the wall clock of every process of a test run
 * by INDICATORD_TEST_CLOCK_SHIFT seconds (the daemon, the Python tests,
 * redis-server alike), so that the suite can run "a year from now". Only
 * CLOCK_REALTIME and its readers (time, gettimeofday) move; the monotonic
 * clocks that timers and timeouts use do not.
 *
 * Test code, never linked into the daemon. libfaketime would do the same but
 * hangs Python 3.11's timed waits and redis-server's start (it fakes the
 * monotonic clock or recurses into its own initialisation); this shim asks
 * the kernel directly and allocates nothing.
 *
 * usage: LD_PRELOAD=libclockshift.so INDICATORD_TEST_CLOCK_SHIFT=31536000 cmd
 * (ASan binaries also need ASAN_OPTIONS=verify_asan_link_order=0). */
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long shift(void) {
  static long s = -1;
  if (s == -1) {
    const char *v = getenv("INDICATORD_TEST_CLOCK_SHIFT");
    s = v ? strtol(v, NULL, 10) : 0;
  }
  return s;
}

static int realtime(clockid_t clk) {
  return clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE ||
         clk == CLOCK_TAI;
}

int clock_gettime(clockid_t clk, struct timespec *ts) {
  int rc = (int)syscall(SYS_clock_gettime, clk, ts);
  if (rc == 0 && realtime(clk))
    ts->tv_sec += shift();
  return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
  struct timespec ts;
  (void)tz;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
    return -1;
/* glibc declares tv nonnull; callers pass NULL all the same */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnonnull-compare"
  if (tv) {
#pragma GCC diagnostic pop
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
  }
  return 0;
}

time_t time(time_t *out) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out)
    *out = ts.tv_sec;
  return ts.tv_sec;
}
