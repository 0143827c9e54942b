/* The period codes of statistics offices, after a 4-digit year: the part
 * of timefmt's default parser that reads "2026Q1", "2026-S1", "2026M03",
 * "202603", "2026年1-3月", "2026年一季度" and their kin. */
#include "timefmt.h"
#include "timefmt_private.h"

#include "tz.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool lit(const char **p, const char *end, const char *s) {
  size_t n = strlen(s);
  if ((size_t)(end - *p) < n || memcmp(*p, s, n) != 0)
    return false;
  *p += n;
  return true;
}

/* One or two digits (months and days in Chinese labels are not padded). */
static int short_num(const char **p, const char *end, int *out) {
  int v = 0, n = 0;
  while (*p < end && n < 2 && isdigit((unsigned char)**p)) {
    v = v * 10 + (**p - '0');
    (*p)++;
    n++;
  }
  if (n == 0)
    return -1;
  *out = v;
  return 0;
}

static int quarter_digit(const char **p, const char *end, int *out) {
  static const char *const cjk[] = {"一", "二", "三", "四"};
  for (int i = 0; i < 4; i++)
    if (lit(p, end, cjk[i])) {
      *out = i + 1;
      return 0;
    }
  if (*p < end && **p >= '1' && **p <= '4') {
    *out = **p - '0';
    (*p)++;
    return 0;
  }
  return -1;
}

static bool range_sep(const char **p, const char *end) {
  static const char *const seps[] = {"-", "－", "—", "–", "~", "～", "至"};
  for (size_t i = 0; i < sizeof(seps) / sizeof(seps[0]); i++)
    if (lit(p, end, seps[i]))
      return true;
  return false;
}

static void months(struct timefmt_value *out, int y, int m0, int m1) {
  if (m0 == 1 && m1 == 12)
    out->grain = GRAIN_YEAR;
  else if (m0 == m1)
    out->grain = GRAIN_MONTH;
  else if (m1 - m0 == 2 && m0 % 3 == 1)
    out->grain = GRAIN_QUARTER;
  else if (m1 - m0 == 5 && m0 % 6 == 1)
    out->grain = GRAIN_HALF;
  else
    out->grain = GRAIN_MONTHS;
  timefmt_bounds(out, y, m0, m1, 1, tz_days_in_month(y, m1));
}

/* "3月", "1-3月" (Jan-Mar: a year-to-date total), "3月15日". */
static bool cjk_months(int y, const char *p, const char *end,
                       struct timefmt_value *out) {
  int m0, m1, d;
  if (short_num(&p, end, &m0) || m0 < 1 || m0 > 12)
    return false;
  if (lit(&p, end, "月")) {
    if (p == end) {
      months(out, y, m0, m0);
      return true;
    }
    if (short_num(&p, end, &d) || !lit(&p, end, "日") || p != end ||
        !tz_date_valid(y, m0, d))
      return false;
    out->grain = GRAIN_DAY;
    timefmt_bounds(out, y, m0, m0, d, d);
    return true;
  }
  if (!range_sep(&p, end) || short_num(&p, end, &m1) || m1 < m0 || m1 > 12 ||
      !lit(&p, end, "月") || p != end)
    return false;
  months(out, y, m0, m1);
  return true;
}

/* "一季度", "第一季度", "1季度", "一至三季度", "1-3季度", "前三季度". */
static bool cjk_quarters(int y, const char *p, const char *end,
                         struct timefmt_value *out) {
  int q0 = 1, q1;
  if (lit(&p, end, "前")) {
    if (quarter_digit(&p, end, &q1))
      return false;
  } else {
    lit(&p, end, "第");
    if (quarter_digit(&p, end, &q0))
      return false;
    q1 = q0;
    if (range_sep(&p, end) && (quarter_digit(&p, end, &q1) || q1 < q0))
      return false;
  }
  if (!lit(&p, end, "季度") || p != end)
    return false;
  months(out, y, q0 * 3 - 2, q1 * 3);
  return true;
}

/* What follows "2026年". */
static int parse_cjk(int y, const char *p, const char *end,
                     struct timefmt_value *out, char *err, size_t errlen) {
  if (p == end || (lit(&p, end, "全年") && p == end)) {
    months(out, y, 1, 12);
    return 0;
  }
  if (lit(&p, end, "上半年") && p == end) {
    months(out, y, 1, 6);
    return 0;
  }
  if (lit(&p, end, "下半年") && p == end) {
    months(out, y, 7, 12);
    return 0;
  }
  if (cjk_months(y, p, end, out) || cjk_quarters(y, p, end, out))
    return 0;
  snprintf(err, errlen,
           "expected a month (3月, 1-3月), a quarter (一季度, 第一季度) or a "
           "half year (上半年) after the year");
  return -EINVAL;
}

static int parse_quarter(const char *p, const char *end, int y,
                         struct timefmt_value *out, char *err, size_t errlen) {
  int q;
  if (timefmt_digits(&p, end, 1, &q) || q < 1 || q > 4 || p != end) {
    snprintf(err, errlen, "expected a quarter Q1..Q4");
    return -EINVAL;
  }
  months(out, y, q * 3 - 2, q * 3);
  return 0;
}

static int parse_half(const char *p, const char *end, int y,
                      struct timefmt_value *out, char *err, size_t errlen) {
  int h;
  if (timefmt_digits(&p, end, 1, &h) || h < 1 || h > 2 || p != end) {
    snprintf(err, errlen, "expected a half year S1 or S2");
    return -EINVAL;
  }
  months(out, y, h * 6 - 5, h * 6);
  return 0;
}

static int parse_month(const char *p, const char *end, int y,
                       struct timefmt_value *out, char *err, size_t errlen) {
  int m;
  if (timefmt_digits(&p, end, 2, &m) || m < 1 || m > 12 || p != end) {
    snprintf(err, errlen, "expected a month 01..12");
    return -EINVAL;
  }
  months(out, y, m, m);
  return 0;
}

/* SDMX's "A1": the year. */
static int parse_annual(const char *p, const char *end, int y,
                        struct timefmt_value *out, char *err, size_t errlen) {
  if (!(p + 1 == end && *p == '1')) {
    snprintf(err, errlen, "expected the year as A1");
    return -EINVAL;
  }
  months(out, y, 1, 12);
  return 0;
}

/* SDMX's trimesters: "T1" is January to April. */
static int parse_trimester(const char *p, const char *end, int y,
                           struct timefmt_value *out, char *err,
                           size_t errlen) {
  int t;
  if (timefmt_digits(&p, end, 1, &t) || t < 1 || t > 3 || p != end) {
    snprintf(err, errlen, "expected a trimester T1..T3");
    return -EINVAL;
  }
  months(out, y, t * 4 - 3, t * 4);
  return 0;
}

/* Days as a run: the first and the last of them. */
static void days(struct timefmt_value *out, enum timefmt_grain grain,
                 int64_t first, int64_t last) {
  struct civil a = {0}, b = {0};
  tz_civil_from_days(first, &a.year, &a.month, &a.day);
  tz_civil_from_days(last + 1, &b.year, &b.month, &b.day);
  out->grain = grain;
  out->start_ms = tz_local_to_ms(&a);
  out->last_ms = tz_local_to_ms(&b) - 1;
}

/* ISO 8601 weeks ("W05"): Monday to Sunday, week 1 holding January 4. */
static int parse_week(const char *p, const char *end, int y,
                      struct timefmt_value *out, char *err, size_t errlen) {
  int w, y2, m2, d2;
  int64_t jan4, monday;
  if (timefmt_digits(&p, end, 2, &w) || w < 1 || w > 53 || p != end) {
    snprintf(err, errlen, "expected an ISO week W01..W53");
    return -EINVAL;
  }
  jan4 = tz_days_from_civil(y, 1, 4);
  /* Day 0, 1970-01-01, was a Thursday: Monday is 0 here. */
  monday = jan4 - ((jan4 % 7 + 7 + 3) % 7) + (int64_t)(w - 1) * 7;
  /* A week belongs to the year of its Thursday: week 53 only some years. */
  tz_civil_from_days(monday + 3, &y2, &m2, &d2);
  if (y2 != y) {
    snprintf(err, errlen, "%d has no week %02d", y, w);
    return -EINVAL;
  }
  days(out, GRAIN_WEEK, monday, monday + 6);
  return 0;
}

/* SDMX's days of the year: "D032" is February 1. */
static int parse_yday(const char *p, const char *end, int y,
                      struct timefmt_value *out, char *err, size_t errlen) {
  int d;
  if (timefmt_digits(&p, end, 3, &d) || d < 1 ||
      d > (tz_is_leap(y) ? 366 : 365) || p != end) {
    snprintf(err, errlen, "expected a day of the year D001..D%d",
             tz_is_leap(y) ? 366 : 365);
    return -EINVAL;
  }
  days(out, GRAIN_DAY, tz_days_from_civil(y, 1, 1) + d - 1,
       tz_days_from_civil(y, 1, 1) + d - 1);
  return 0;
}

/* The period codes of statistics offices: after the year, "Q1"/"-Q1" and
 * the Nordic "K1" and NBS "A".."D" (quarter), "S1"/"-S1"/"-H1" (half),
 * "M03"/"-M03" (SDMX, PxWeb), "03" (NBS "202603"), SDMX's "-A1" (year), "-T1"
 * (trimester), "-W05" (ISO week; PxWeb's "U05", "V05"), "-D032" (day of the
 * year), and the Chinese labels after "年". Returns 1 when text[p..] is none
 * of them (an ISO date or time follows). */
int timefmt_code_parse(const char *p, const char *end, int y,
                       struct timefmt_value *out, char *err, size_t errlen) {
  bool dash = false;
  if (lit(&p, end, "年"))
    return parse_cjk(y, p, end, out, err, errlen);
  if (p < end && *p == '-') {
    dash = true;
    p++;
  }
  if (p == end)
    return 1;
  /* NBS quarterly databases: "2025A" to "2025D" are Q1 to Q4. */
  if (!dash && p + 1 == end && *p >= 'A' && *p <= 'D') {
    months(out, y, (*p - 'A') * 3 + 1, (*p - 'A') * 3 + 3);
    return 0;
  }
  switch (*p) {
  case 'Q':
  case 'q':
  case 'K':
  case 'k':
    return parse_quarter(p + 1, end, y, out, err, errlen);
  case 'S':
  case 's':
  case 'H':
  case 'h':
    return parse_half(p + 1, end, y, out, err, errlen);
  case 'M':
  case 'm':
    return parse_month(p + 1, end, y, out, err, errlen);
  case 'A':
  case 'a':
    return parse_annual(p + 1, end, y, out, err, errlen);
  case 'T':
  case 't':
    return parse_trimester(p + 1, end, y, out, err, errlen);
  case 'W':
  case 'w':
  case 'U': /* PxWeb weeks: Norwegian and Danish "uke"/"uge" */
  case 'V': /* Swedish "vecka" */
    return parse_week(p + 1, end, y, out, err, errlen);
  case 'D':
  case 'd':
    return parse_yday(p + 1, end, y, out, err, errlen);
  default:
    break;
  }
  if (!dash && end - p == 2)
    return parse_month(p, end, y, out, err, errlen);
  return 1;
}
