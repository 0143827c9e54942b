/* Observation times as feeds write them: ISO 8601 (with or without offset;
 * date-only, "YYYY-MM", "YYYY-Qn" and "YYYY" label periods), Unix epoch
 * seconds or milliseconds, or a strptime(3) pattern. Times without an offset
 * are local to the installed zone (tz_set). */
#ifndef INDICATORD_TIMEFMT_H
#define INDICATORD_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

enum timefmt_kind {
  TIMEFMT_ISO8601,
  TIMEFMT_EPOCH,
  TIMEFMT_EPOCH_MS,
  TIMEFMT_STRPTIME,
};

/* How much of the calendar a parsed time names. */
enum timefmt_grain {
  GRAIN_INSTANT,
  GRAIN_DAY,
  GRAIN_MONTH,
  GRAIN_QUARTER,
  GRAIN_YEAR,
};

struct timefmt_value {
  enum timefmt_grain grain;
  int64_t start_ms; /* the instant, or the first ms of the named period */
  int64_t last_ms;  /* == start_ms, or the last ms of the named period */
};

/* Parses text[0..len). pattern is used for TIMEFMT_STRPTIME only. Returns 0,
 * or -EINVAL with a reason in err. */
int timefmt_parse(const char *text, size_t len, enum timefmt_kind kind,
                  const char *pattern, struct timefmt_value *out, char *err,
                  size_t errlen);
/* Formats ms as local ISO 8601 with offset ("2026-11-28T09:00:00+08:00"). */
void timefmt_iso(int64_t ms, char *buf, size_t len);

#endif
