/* Observation times as feeds write them: ISO 8601 (with or without offset;
 * date-only, "YYYY-MM", "YYYY-Qn" and "YYYY" label periods) and the period
 * codes of statistics offices ("2026Q1", "2026K1", "2026-S1", "2026M03",
 * "202603", NBS's "2026A" (Q1), SDMX's "2026-A1", "2026-T1", "2026-W05",
 * "2026-D032", "2026年1-3月", "2026年一季度", "2026年上半年"), Unix epoch
 * seconds or milliseconds, or a strptime(3) pattern. Times without an offset
 * are local to the installed zone (tz_set). */
#ifndef INDICATORD_TIMEFMT_H
#define INDICATORD_TIMEFMT_H

#include "clock.h"

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
  GRAIN_WEEK, /* ISO 8601 week: "2026-W05" */
  GRAIN_MONTH,
  GRAIN_MONTHS, /* a run of months: "2026年1-3月", "2026年前三季度" */
  GRAIN_QUARTER,
  GRAIN_HALF,
  GRAIN_YEAR,
};

/* The store keeps observations from 1970-01-02 (stream IDs are unsigned;
 * one day of margin keeps every zone's local midnight positive) to 400 days
 * after the fetch (further ahead is a wrong year, not a forecast). */
#define TIMEFMT_MIN_MS MS_PER_DAY
#define TIMEFMT_MAX_AHEAD_MS (400 * MS_PER_DAY)

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
/* Checks that a strptime pattern can express the data it will be given:
 * known directives, a year, a month for a day and a day for a time of day,
 * and no quarter or half-year number read as a month ("%YQ%m"). Returns 0,
 * or -EINVAL with the reason in err. */
int timefmt_pattern_check(const char *pattern, char *err, size_t errlen);
/* Checks that an observation placed at ms can be stored when fetched at
 * now_ms (TIMEFMT_MIN_MS, TIMEFMT_MAX_AHEAD_MS). Returns 0, or -ERANGE with
 * the reason (naming the time) in err. */
int timefmt_check_range(int64_t ms, int64_t now_ms, char *err, size_t errlen);
/* The grain's name ("instant", "day", "week", "month", "months",
 * "quarter", "half", "year"), as the store records it in a series' meta
 * hash. */
const char *timefmt_grain_name(enum timefmt_grain g);
/* Returns 0 and the grain for a name, or -EINVAL. */
int timefmt_grain_parse(const char *name, enum timefmt_grain *out);
/* The first ms after the period of grain g that starts at start_ms (the
 * next local day, week, month, quarter, half or year; start_ms for
 * GRAIN_INSTANT; GRAIN_MONTHS counts as one month). */
int64_t timefmt_grain_next(enum timefmt_grain g, int64_t start_ms);

/* Formats ms as local ISO 8601 with offset ("2026-11-28T09:00:00+08:00"). */
void timefmt_iso(int64_t ms, char *buf, size_t len);

#endif
