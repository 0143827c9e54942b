#include "timefmt.h"

#include "tz.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TIME_TEXT 64

static int num(const char **p, const char *end, int n, int *out) {
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

static void period_bounds(struct timefmt_value *out, int y, int m0, int m1,
                          int d0, int d1) {
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

  if (num(&p, end, 4, &c.year) || c.year < 1900) {
    snprintf(err, errlen, "expected a 4-digit year");
    return -EINVAL;
  }
  if (p == end) {
    out->grain = GRAIN_YEAR;
    period_bounds(out, c.year, 1, 12, 1, 31);
    return 0;
  }
  if (*p++ != '-') {
    snprintf(err, errlen, "expected '-' after the year");
    return -EINVAL;
  }
  if (p < end && (*p == 'Q' || *p == 'q')) {
    int q;
    p++;
    if (num(&p, end, 1, &q) || q < 1 || q > 4 || p != end) {
      snprintf(err, errlen, "expected a quarter Q1..Q4");
      return -EINVAL;
    }
    out->grain = GRAIN_QUARTER;
    period_bounds(out, c.year, q * 3 - 2, q * 3, 1,
                  tz_days_in_month(c.year, q * 3));
    return 0;
  }
  if (num(&p, end, 2, &c.month) || c.month < 1 || c.month > 12) {
    snprintf(err, errlen, "expected a month 01..12");
    return -EINVAL;
  }
  if (p == end) {
    out->grain = GRAIN_MONTH;
    period_bounds(out, c.year, c.month, c.month, 1,
                  tz_days_in_month(c.year, c.month));
    return 0;
  }
  if (*p++ != '-' || num(&p, end, 2, &c.day) ||
      !tz_date_valid(c.year, c.month, c.day)) {
    snprintf(err, errlen, "expected a valid day of the month");
    return -EINVAL;
  }
  if (p == end) {
    out->grain = GRAIN_DAY;
    period_bounds(out, c.year, c.month, c.month, c.day, c.day);
    return 0;
  }
  if (*p != 'T' && *p != 't' && *p != ' ') {
    snprintf(err, errlen, "expected 'T' between date and time");
    return -EINVAL;
  }
  p++;
  if (num(&p, end, 2, &c.hour) || c.hour > 24 || p == end || *p++ != ':' ||
      num(&p, end, 2, &c.min) || c.min > 59) {
    snprintf(err, errlen, "expected a time HH:MM");
    return -EINVAL;
  }
  if (p < end && *p == ':') {
    p++;
    if (num(&p, end, 2, &c.sec) || c.sec > 60) {
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
      if (num(&p, end, 2, &oh) || oh > 23) {
        snprintf(err, errlen, "expected an offset +HH:MM");
        return -EINVAL;
      }
      if (p < end && *p == ':')
        p++;
      if (p < end && num(&p, end, 2, &om)) {
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
    out->start_ms = tz_utc_to_ms(&c) - (int64_t)offset_min * 60000 +
                    (extra_day ? 86400000 : 0);
  } else if (c.hour == 24) {
    c.hour = 0;
    out->start_ms = tz_local_to_ms(&c) + 86400000;
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
    period_bounds(out, c.year, 1, 12, 1, 31);
    break;
  case GRAIN_QUARTER: /* strptime has no quarter directive */
  case GRAIN_MONTH:
    period_bounds(out, c.year, c.month, c.month, 1,
                  tz_days_in_month(c.year, c.month));
    break;
  case GRAIN_DAY:
    period_bounds(out, c.year, c.month, c.month, c.day, c.day);
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

void timefmt_iso(int64_t ms, char *buf, size_t len) {
  struct civil c;
  int64_t off_min;
  tz_ms_to_local(ms, &c);
  off_min = (tz_utc_to_ms(&c) - ms) / 60000;
  if (off_min == 0) {
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day,
             c.hour, c.min, c.sec);
    return;
  }
  snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", c.year,
           c.month, c.day, c.hour, c.min, c.sec, off_min < 0 ? '-' : '+',
           (int)(llabs(off_min) / 60), (int)(llabs(off_min) % 60));
}
