#include "timefmt.h"
#include "timefmt_private.h"

#include "clock.h"
#include "tz.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TIME_TEXT 64

int timefmt_digits(const char **p, const char *end, int n, int *out) {
  int v = 0;
  if (end - *p < n)
    return -1;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i]))
      return -1;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

void timefmt_bounds(struct timefmt_value *out, int y, int m0, int m1, int d0,
                    int d1) {
  struct civil a = {y, m0, d0, 0, 0, 0, 0};
  struct civil b = {0};
  int64_t next = tz_days_from_civil(y, m1, d1) + 1;
  tz_civil_from_days(next, &b.year, &b.month, &b.day);
  out->start_ms = tz_local_to_ms(&a);
  out->last_ms = tz_local_to_ms(&b) - 1;
}

static int parse_iso(const char *s, size_t len, struct timefmt_value *out,
                     char *err, size_t errlen) {
  const char *p = s, *end = s + len;
  struct civil c = {0};
  int offset_min = 0;
  int has_offset = 0;
  int rc;

  if (timefmt_digits(&p, end, 4, &c.year) || c.year < 1900) {
    snprintf(err, errlen, "expected a 4-digit year");
    return -EINVAL;
  }
  if (p == end) {
    out->grain = GRAIN_YEAR;
    timefmt_bounds(out, c.year, 1, 12, 1, 31);
    return 0;
  }
  rc = timefmt_code_parse(p, end, c.year, out, err, errlen);
  if (rc <= 0)
    return rc;
  if (*p++ != '-') {
    snprintf(err, errlen, "expected '-' after the year");
    return -EINVAL;
  }
  if (timefmt_digits(&p, end, 2, &c.month) || c.month < 1 || c.month > 12) {
    snprintf(err, errlen, "expected a month 01..12");
    return -EINVAL;
  }
  if (p == end) {
    out->grain = GRAIN_MONTH;
    timefmt_bounds(out, c.year, c.month, c.month, 1,
                   tz_days_in_month(c.year, c.month));
    return 0;
  }
  if (*p++ != '-' || timefmt_digits(&p, end, 2, &c.day) ||
      !tz_date_valid(c.year, c.month, c.day)) {
    snprintf(err, errlen, "expected a valid day of the month");
    return -EINVAL;
  }
  if (p == end) {
    out->grain = GRAIN_DAY;
    timefmt_bounds(out, c.year, c.month, c.month, c.day, c.day);
    return 0;
  }
  if (*p != 'T' && *p != 't' && *p != ' ') {
    snprintf(err, errlen, "expected 'T' between date and time");
    return -EINVAL;
  }
  p++;
  if (timefmt_digits(&p, end, 2, &c.hour) || c.hour > 24 || p == end ||
      *p++ != ':' || timefmt_digits(&p, end, 2, &c.min) || c.min > 59) {
    snprintf(err, errlen, "expected a time HH:MM");
    return -EINVAL;
  }
  if (p < end && *p == ':') {
    p++;
    if (timefmt_digits(&p, end, 2, &c.sec) || c.sec > 60) {
      snprintf(err, errlen, "expected seconds 00..59");
      return -EINVAL;
    }
    if (c.sec == 60)
      c.sec = 59; /* a leap second stays inside its minute */
    if (p < end && (*p == '.' || *p == ',')) {
      int scale = 100, digits = 0;
      p++;
      while (p < end && isdigit((unsigned char)*p)) {
        if (scale > 0) {
          c.ms += (*p - '0') * scale;
          scale /= 10;
        }
        p++;
        digits++;
      }
      if (!digits) {
        snprintf(err, errlen, "expected digits after the decimal point");
        return -EINVAL;
      }
    }
  }
  if (c.hour == 24 && (c.min || c.sec || c.ms)) {
    snprintf(err, errlen, "hour 24 is only valid as 24:00:00");
    return -EINVAL;
  }
  if (p < end) {
    if (*p == 'Z' || *p == 'z') {
      has_offset = 1;
      p++;
    } else if (*p == '+' || *p == '-') {
      int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
      if (timefmt_digits(&p, end, 2, &oh) || oh > 23) {
        snprintf(err, errlen, "expected an offset +HH:MM");
        return -EINVAL;
      }
      if (p < end && *p == ':')
        p++;
      if (p < end && timefmt_digits(&p, end, 2, &om)) {
        snprintf(err, errlen, "expected offset minutes");
        return -EINVAL;
      }
      if (om > 59) {
        snprintf(err, errlen, "offset minutes above 59");
        return -EINVAL;
      }
      has_offset = 1;
      offset_min = sign * (oh * 60 + om);
    }
  }
  if (p != end) {
    snprintf(err, errlen, "unexpected text after the time");
    return -EINVAL;
  }
  out->grain = GRAIN_INSTANT;
  if (has_offset) {
    int extra_day = c.hour == 24;
    if (extra_day)
      c.hour = 0;
    out->start_ms = tz_utc_to_ms(&c) - (int64_t)offset_min * MS_PER_MINUTE +
                    (extra_day ? MS_PER_DAY : 0);
  } else if (c.hour == 24) {
    c.hour = 0;
    out->start_ms = tz_local_to_ms(&c) + MS_PER_DAY;
  } else {
    out->start_ms = tz_local_to_ms(&c);
  }
  out->last_ms = out->start_ms;
  return 0;
}

static int parse_epoch(const char *s, double scale, struct timefmt_value *out,
                       char *err, size_t errlen) {
  char *end;
  double v;
  errno = 0;
  v = strtod(s, &end);
  while (*end && isspace((unsigned char)*end))
    end++;
  if (end == s || *end || !isfinite(v) || errno == ERANGE) {
    snprintf(err, errlen, "expected a number");
    return -EINVAL;
  }
  v *= scale;
  /* Years 1900..9999 keep every later computation well inside int64. */
  if (v < -2208988800000.0 || v > 253402300799999.0) {
    snprintf(err, errlen, "epoch value out of range");
    return -EINVAL;
  }
  out->grain = GRAIN_INSTANT;
  out->start_ms = out->last_ms = (int64_t)llround(v);
  return 0;
}

static enum timefmt_grain pattern_grain(const char *pattern) {
  int g = GRAIN_YEAR;
  for (const char *p = pattern; *p; p++) {
    if (*p != '%' || !p[1])
      continue;
    p++;
    if (*p == 'E' || *p == 'O')
      p++;
    if (!*p)
      break;
    switch (*p) {
    case 'H':
    case 'I':
    case 'M':
    case 'S':
    case 'T':
    case 'R':
    case 'c':
    case 's':
    case 'k':
    case 'l':
      return GRAIN_INSTANT;
    case 'd':
    case 'e':
    case 'j':
    case 'F':
    case 'D':
    case 'x':
      if (g > GRAIN_DAY)
        g = GRAIN_DAY;
      break;
    case 'm':
    case 'b':
    case 'B':
    case 'h':
      if (g > GRAIN_MONTH)
        g = GRAIN_MONTH;
      break;
    default:
      break;
    }
  }
  return (enum timefmt_grain)g;
}

static int parse_pattern(const char *s, const char *pattern,
                         struct timefmt_value *out, char *err, size_t errlen) {
  struct tm tm;
  const char *end;
  enum timefmt_grain grain = pattern_grain(pattern);
  struct civil c = {0};

  memset(&tm, 0, sizeof(tm));
  tm.tm_mday = 1;
  tm.tm_gmtoff = LONG_MIN;
  end = strptime(s, pattern, &tm);
  if (!end) {
    snprintf(err, errlen, "does not match the pattern \"%s\"", pattern);
    return -EINVAL;
  }
  while (*end && isspace((unsigned char)*end))
    end++;
  if (*end) {
    snprintf(err, errlen, "unexpected text after the pattern \"%s\"", pattern);
    return -EINVAL;
  }
  c.year = tm.tm_year + 1900;
  c.month = tm.tm_mon + 1;
  c.day = tm.tm_mday;
  c.hour = tm.tm_hour;
  c.min = tm.tm_min;
  c.sec = tm.tm_sec > 59 ? 59 : tm.tm_sec;
  if (!tz_date_valid(c.year, c.month, c.day)) {
    snprintf(err, errlen, "not a valid date");
    return -EINVAL;
  }
  out->grain = grain;
  switch (grain) {
  case GRAIN_YEAR:
    timefmt_bounds(out, c.year, 1, 12, 1, 31);
    break;
  case GRAIN_HALF: /* strptime has neither half-years nor quarters */
  case GRAIN_QUARTER:
  case GRAIN_MONTHS:
  case GRAIN_MONTH:
    timefmt_bounds(out, c.year, c.month, c.month, 1,
                   tz_days_in_month(c.year, c.month));
    break;
  case GRAIN_WEEK: /* week numbers are refused by the pattern check */
  case GRAIN_DAY:
    timefmt_bounds(out, c.year, c.month, c.month, c.day, c.day);
    break;
  case GRAIN_INSTANT:
    if (strstr(pattern, "%z") && tm.tm_gmtoff != LONG_MIN)
      out->start_ms = tz_utc_to_ms(&c) - (int64_t)tm.tm_gmtoff * 1000;
    else
      out->start_ms = tz_local_to_ms(&c);
    out->last_ms = out->start_ms;
    break;
  }
  return 0;
}

/* A literal 'Q' or 'H' before %m, or 季/半 after it, says the number is a
 * quarter or a half: strptime would read it as a month. */
static bool marks_quarter(const char *pattern, const char *pct,
                          const char *after) {
  if (pct > pattern && strchr("QqHhSs", pct[-1]) &&
      !(pct - 1 > pattern && pct[-2] == '%'))
    return true;
  return strncmp(after, "季", strlen("季")) == 0 ||
         strncmp(after, "半", strlen("半")) == 0;
}

int timefmt_pattern_check(const char *pattern, char *err, size_t errlen) {
  bool year = false, month = false, day = false, yday = false, tod = false;
  for (const char *p = pattern; *p; p++) {
    const char *pct = p;
    if (*p != '%')
      continue;
    p++;
    if (*p == 'E' || *p == 'O')
      p++;
    switch (*p) {
    case 'Y':
    case 'y':
      year = true;
      break;
    case 'm':
      if (marks_quarter(pattern, pct, p + 1)) {
        snprintf(err, errlen,
                 "strptime has no quarter or half-year field: %%m would read "
                 "the quarter number as a month (2025Q4 as April); leave "
                 "time_format out, the default parser reads 2025Q4, 2025-Q4, "
                 "2025-S1 and 2025年四季度");
        return -EINVAL;
      }
      month = true;
      break;
    case 'b':
    case 'B':
    case 'h':
      month = true;
      break;
    case 'd':
    case 'e':
      day = true;
      break;
    case 'j':
      yday = true;
      break;
    case 'D':
    case 'F':
    case 'x':
      year = month = day = true;
      break;
    case 'c':
      year = month = day = tod = true;
      break;
    case 'H':
    case 'I':
    case 'M':
    case 'S':
    case 'k':
    case 'l':
    case 'T':
    case 'R':
    case 'r':
    case 'X':
      tod = true;
      break;
    case 'a':
    case 'A':
    case 'C':
    case 'n':
    case 'p':
    case 't':
    case 'z':
    case '%':
      break;
    case 's':
      snprintf(err, errlen,
               "%%s reads epoch seconds in the process's zone, "
               "not the configured one: use time_format: epoch");
      return -EINVAL;
    case 'U':
    case 'W':
    case 'V':
    case 'G':
    case 'g':
      snprintf(err, errlen,
               "%%%c is read but not applied by strptime (week numbers "
               "need a weekday and week years are ignored): every time "
               "would fall on the same day",
               *p);
      return -EINVAL;
    case 'Z':
      snprintf(err, errlen,
               "strptime cannot read zone names (%%Z); use %%z "
               "for an offset such as +0800");
      return -EINVAL;
    case '\0':
      snprintf(err, errlen, "the pattern ends with a lone %%");
      return -EINVAL;
    default:
      snprintf(err, errlen, "unknown strptime directive %%%c", *p);
      return -EINVAL;
    }
  }
  if (!year) {
    snprintf(err, errlen,
             "no year (%%Y or %%y): every time would fall in "
             "1900");
    return -EINVAL;
  }
  if (day && !month) {
    snprintf(err, errlen,
             "a day of the month (%%d) needs a month (%%m or "
             "%%b)");
    return -EINVAL;
  }
  if (tod && !day && !yday) {
    snprintf(err, errlen, "a time of day needs a day (%%d or %%j)");
    return -EINVAL;
  }
  return 0;
}

int timefmt_check_range(int64_t ms, int64_t now_ms, char *err, size_t errlen) {
  char when[64];
  if (ms >= TIMEFMT_MIN_MS && ms - now_ms <= TIMEFMT_MAX_AHEAD_MS)
    return 0;
  timefmt_iso(ms, when, sizeof(when));
  if (ms < TIMEFMT_MIN_MS)
    snprintf(err, errlen, "time %s is before 1970-01-02", when);
  else
    snprintf(err, errlen, "time %s is more than 400 days after the fetch",
             when);
  return -ERANGE;
}

int timefmt_parse(const char *text, size_t len, enum timefmt_kind kind,
                  const char *pattern, struct timefmt_value *out, char *err,
                  size_t errlen) {
  char buf[MAX_TIME_TEXT + 1];
  /* Surrounding whitespace is common in CSV cells. */
  while (len && isspace((unsigned char)*text)) {
    text++;
    len--;
  }
  while (len && isspace((unsigned char)text[len - 1]))
    len--;
  if (len == 0) {
    snprintf(err, errlen, "empty time");
    return -EINVAL;
  }
  if (len > MAX_TIME_TEXT) {
    snprintf(err, errlen, "time longer than %d characters", MAX_TIME_TEXT);
    return -EINVAL;
  }
  memcpy(buf, text, len);
  buf[len] = '\0';
  if (memchr(buf, '\0', len)) {
    snprintf(err, errlen, "time contains a NUL character");
    return -EINVAL;
  }
  switch (kind) {
  case TIMEFMT_ISO8601:
    return parse_iso(buf, len, out, err, errlen);
  case TIMEFMT_EPOCH:
    return parse_epoch(buf, 1000.0, out, err, errlen);
  case TIMEFMT_EPOCH_MS:
    return parse_epoch(buf, 1.0, out, err, errlen);
  case TIMEFMT_STRPTIME:
    return parse_pattern(buf, pattern ? pattern : "", out, err, errlen);
  }
  snprintf(err, errlen, "unknown time format");
  return -EINVAL;
}

static char *put2(char *p, int v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
  return p + 2;
}

/* timefmt_iso's common case without snprintf (3,500 instructions a time
 * on the write path, 750 without); false when a field is out of the two
 * (four) digits the formats below pad to, or buf is short. */
static bool iso_fast(const struct civil *c, int64_t off_min, char *buf,
                     size_t len) {
  int64_t off = off_min < 0 ? -off_min : off_min;
  char *p = buf;
  if (len < sizeof("YYYY-MM-DDTHH:MM:SS+HH:MM") || c->year < 0 ||
      c->year > 9999 || c->month < 0 || c->month > 99 || c->day < 0 ||
      c->day > 99 || c->hour < 0 || c->hour > 99 || c->min < 0 || c->min > 99 ||
      c->sec < 0 || c->sec > 99 || off / 60 > 99)
    return false;
  p = put2(p, c->year / 100);
  p = put2(p, c->year % 100);
  *p++ = '-';
  p = put2(p, c->month);
  *p++ = '-';
  p = put2(p, c->day);
  *p++ = 'T';
  p = put2(p, c->hour);
  *p++ = ':';
  p = put2(p, c->min);
  *p++ = ':';
  p = put2(p, c->sec);
  if (off_min == 0) {
    *p++ = 'Z';
  } else {
    *p++ = off_min < 0 ? '-' : '+';
    p = put2(p, (int)(off / 60));
    *p++ = ':';
    p = put2(p, (int)(off % 60));
  }
  *p = '\0';
  return true;
}

void timefmt_iso(int64_t ms, char *buf, size_t len) {
  struct civil c;
  int64_t off_min;
  tz_ms_to_local(ms, &c);
  off_min = (tz_utc_to_ms(&c) - ms) / MS_PER_MINUTE;
  if (iso_fast(&c, off_min, buf, len))
    return;
  if (off_min == 0) {
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day,
             c.hour, c.min, c.sec);
    return;
  }
  snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", c.year,
           c.month, c.day, c.hour, c.min, c.sec, off_min < 0 ? '-' : '+',
           (int)(llabs(off_min) / 60), (int)(llabs(off_min) % 60));
}

/* In the order of enum timefmt_grain. */
static const char *const grain_names[] = {"instant", "day",     "week", "month",
                                          "months",  "quarter", "half", "year"};
_Static_assert(sizeof(grain_names) / sizeof(grain_names[0]) == GRAIN_YEAR + 1,
               "a name for every grain");

const char *timefmt_grain_name(enum timefmt_grain g) {
  return (unsigned)g < sizeof(grain_names) / sizeof(grain_names[0])
             ? grain_names[g]
             : "instant";
}

int timefmt_grain_parse(const char *name, enum timefmt_grain *out) {
  for (size_t i = 0; i < sizeof(grain_names) / sizeof(grain_names[0]); i++)
    if (strcmp(name, grain_names[i]) == 0) {
      *out = (enum timefmt_grain)i;
      return 0;
    }
  return -EINVAL;
}

int64_t timefmt_grain_next(enum timefmt_grain g, int64_t start_ms) {
  struct civil c;
  int months = 0, days = 1;
  switch (g) {
  case GRAIN_INSTANT:
    return start_ms;
  case GRAIN_DAY:
    break;
  case GRAIN_WEEK:
    days = 7;
    break;
  case GRAIN_MONTH:
  case GRAIN_MONTHS:
    months = 1;
    break;
  case GRAIN_QUARTER:
    months = 3;
    break;
  case GRAIN_HALF:
    months = 6;
    break;
  case GRAIN_YEAR:
    months = 12;
    break;
  }
  tz_ms_to_local(start_ms, &c);
  c.hour = c.min = c.sec = c.ms = 0;
  if (!months) {
    tz_civil_from_days(tz_days_from_civil(c.year, c.month, c.day) + days,
                       &c.year, &c.month, &c.day);
  } else {
    int m = c.month - 1 + months;
    c.year += m / 12;
    c.month = m % 12 + 1;
    c.day = 1;
  }
  return tz_local_to_ms(&c);
}
