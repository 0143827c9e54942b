#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Log settings are the only process-wide mutable state. */
static enum log_level current_level = LOG_LEVEL_INFO;
static bool journal_style;

static bool stderr_is_journal(void) {
  const char *js = getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;
  if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
    return false;
  /* systemd passes the stream's device and inode; a child whose stderr was
   * redirected elsewhere must not keep the journal format. */
  if (fstat(2, &st) != 0)
    return false;
  return (unsigned long long)st.st_dev == dev &&
         (unsigned long long)st.st_ino == ino;
}

void log_init(enum log_level level) {
  current_level = level;
  journal_style = stderr_is_journal();
}

void log_set_level(enum log_level level) {
  current_level = level;
}

enum log_level log_get_level(void) {
  return current_level;
}

int log_level_parse(const char *name, enum log_level *out) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; i++) {
    if (strcmp(name, names[i]) == 0) {
      *out = (enum log_level)i;
      return 0;
    }
  }
  return -EINVAL;
}

bool log_enabled(enum log_level level) {
  return level <= current_level;
}

static void vlog(enum log_level level, const char *fmt, va_list ap) {
  /* syslog priorities: err=3 warning=4 info=6 debug=7 */
  static const int prio[] = {3, 4, 6, 7};
  static const char *const tag[] = {"error", "warn", "info", "debug"};
  int saved = errno;
  char line[2048];
  int off;

  if (!log_enabled(level))
    return;
  if (journal_style) {
    off = snprintf(line, sizeof(line), "<%d>", prio[level]);
  } else {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    off = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    off += snprintf(line + off, sizeof(line) - (size_t)off, ".%03ld",
                    ts.tv_nsec / 1000000);
    off += (int)strftime(line + off, sizeof(line) - (size_t)off, "%z", &tm);
    off +=
        snprintf(line + off, sizeof(line) - (size_t)off, " %s: ", tag[level]);
  }
  vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);
  fprintf(stderr, "%s\n", line);
  errno = saved;
}

#define DEFINE_LOG(name, level)                                                \
  void name(const char *fmt, ...) {                                            \
    va_list ap;                                                                \
    va_start(ap, fmt);                                                         \
    vlog(level, fmt, ap);                                                      \
    va_end(ap);                                                                \
  }

DEFINE_LOG(log_error, LOG_LEVEL_ERROR)
DEFINE_LOG(log_warn, LOG_LEVEL_WARN)
DEFINE_LOG(log_info, LOG_LEVEL_INFO)
DEFINE_LOG(log_debug_, LOG_LEVEL_DEBUG)
