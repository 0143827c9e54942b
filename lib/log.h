/* The daemon's logger. Messages go to stderr: with "<N>" syslog priority
 * prefixes and no timestamps when stderr is the journal (JOURNAL_STREAM set),
 * with an ISO 8601 timestamp otherwise. Each message names its module and
 * object ("feed air: ..."); secrets never reach a log. */
#ifndef INDICATORD_LOG_H
#define INDICATORD_LOG_H

#include <stdbool.h>

enum log_level {
  LOG_LEVEL_ERROR,
  LOG_LEVEL_WARN,
  LOG_LEVEL_INFO,
  LOG_LEVEL_DEBUG
};

/* Picks the output style from the environment (JOURNAL_STREAM). */
void log_init(enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Returns 0, or -EINVAL for a name other than error|warn|info|debug. */
int log_level_parse(const char *name, enum log_level *out);
bool log_enabled(enum log_level level);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Debug arguments are not evaluated when debug logging is off. */
#define log_debug(...)                                                         \
  do {                                                                         \
    if (log_enabled(LOG_LEVEL_DEBUG))                                          \
      log_debug_(__VA_ARGS__);                                                 \
  } while (0)

#endif
