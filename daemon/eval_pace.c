/* The calendar the judgement counts in (local days, months, the year
 * before) and the pace P(t): linear, a cumulative monthly profile, or a
 * working season. Every function here is O(1) or O(years) in the span, so
 * that drawing a trajectory (one pace per day) stays linear. */
#include "eval_private.h"

#include "clock.h"
#include "tz.h"

int64_t eval_local_day(int64_t ms) {
  struct civil c;
  tz_ms_to_local(ms, &c);
  return tz_days_from_civil(c.year, c.month, c.day);
}

int64_t eval_day_start_ms(int64_t day) {
  struct civil c = {0};
  tz_civil_from_days(day, &c.year, &c.month, &c.day);
  return tz_local_to_ms(&c);
}

int eval_month_of_day(int64_t day) {
  int y, m, d;
  tz_civil_from_days(day, &y, &m, &d);
  return m;
}

int64_t eval_year_before(int64_t ms) {
  struct civil c;
  tz_ms_to_local(ms, &c);
  c.year--;
  if (c.month == 2 && c.day == 29)
    c.day = 28;
  return tz_local_to_ms(&c);
}

int64_t eval_data_end(enum timefmt_grain grain, bool at_start, int64_t t_ms) {
  if (grain == GRAIN_INSTANT)
    return t_ms;
  /* A label placed at its end stands at the period's last ms. */
  return at_start ? timefmt_grain_next(grain, t_ms) : t_ms + 1;
}

/* Cumulative calendar profile: whole years since y0 plus the share reached
 * within the year, linear inside each month. */
static double profile_level(const double *share, int y0, int64_t ms) {
  struct civil c, m0 = {0}, m1 = {0};
  double before, frac;
  int64_t a, b;
  tz_ms_to_local(ms, &c);
  m0.year = c.year;
  m0.month = c.month;
  m0.day = 1;
  m1.year = c.month == 12 ? c.year + 1 : c.year;
  m1.month = c.month == 12 ? 1 : c.month + 1;
  m1.day = 1;
  a = tz_local_to_ms(&m0);
  b = tz_local_to_ms(&m1);
  before = c.month > 1 ? share[c.month - 2] : 0;
  frac = b > a ? (double)(ms - a) / (double)(b - a) : 0;
  return (c.year - y0) + before + (share[c.month - 1] - before) * frac;
}

/* The day number of month/day in year y, a day past the month's end
 * clamped to the day after it (so "02-29" is Mar 1 in a common year, as
 * comparing month-day pairs gives). */
static int64_t season_day(int y, int m, int d, bool inclusive_end) {
  int dim = tz_days_in_month(y, m);
  if (d > dim)
    return tz_days_from_civil(y, m, dim) + (inclusive_end ? 0 : 1);
  return tz_days_from_civil(y, m, d);
}

/* Whole in-season days in [d0, d1): per calendar year, the overlap with
 * [from, to] (both inclusive; a season that wraps the year is empty). */
static double season_days(const struct pace *p, int64_t d0, int64_t d1) {
  int y0, y1, m, d;
  double w = 0;
  if (d1 <= d0)
    return 0;
  tz_civil_from_days(d0, &y0, &m, &d);
  tz_civil_from_days(d1, &y1, &m, &d);
  for (int y = y0; y <= y1; y++) {
    int64_t a = season_day(y, p->from_month, p->from_day, false);
    int64_t b = season_day(y, p->to_month, p->to_day, true) + 1;
    int64_t lo = a > d0 ? a : d0, hi = b < d1 ? b : d1;
    if (hi > lo)
      w += (double)(hi - lo);
  }
  return w;
}

/* In-season days from the period start to ms (fractional for the day of
 * ms). */
static double season_weight(const struct target *t, int64_t start, int64_t ms) {
  int64_t d0 = eval_local_day(start), d1 = eval_local_day(ms);
  double w = season_days(&t->pace, d0, d1);
  if (season_days(&t->pace, d1, d1 + 1) > 0) {
    int64_t s = eval_day_start_ms(d1), e = eval_day_start_ms(d1 + 1);
    w += e > s ? (double)(ms - s) / (double)(e - s) : 0;
  }
  return w;
}

double eval_pace(const struct target *t, int64_t ms) {
  int64_t start = period_start_ms(&t->period), end = period_end_ms(&t->period);
  double linear;
  if (ms <= start)
    return 0;
  if (ms >= end)
    return 1;
  linear = (double)(ms - start) / (double)(end - start);
  if (t->pace.kind == PACE_PROFILE) {
    int y0 = t->period.from_year;
    double a = profile_level(t->pace.v, y0, start);
    double b = profile_level(t->pace.v, y0, end);
    if (b - a > 1e-12)
      return (profile_level(t->pace.v, y0, ms) - a) / (b - a);
  } else if (t->pace.kind == PACE_SEASON) {
    double total = season_weight(t, start, end);
    if (total > 0)
      return season_weight(t, start, ms) / total;
  }
  return linear;
}

/* A mean's expected running mean at each out[i].t: the seasonal factors,
 * normalised over the period as the judgement does, averaged over the
 * days up to each time; one pass over the period's days. */
static void mean_line(const struct target *t, int64_t start, int64_t end,
                      struct eval_point *out, size_t n) {
  int64_t d0 = eval_local_day(start), nd = eval_local_day(end) - d0, k = 0;
  double f[12], norm = 0, run = 0;
  size_t i = 0;
  for (int m = 0; m < 12; m++)
    f[m] = t->pace.kind == PACE_SEASONAL ? t->pace.v[m] : 1.0;
  for (int64_t j = 0; j < nd; j++)
    norm += f[eval_month_of_day(d0 + j) - 1];
  norm = nd > 0 && norm > 0 ? norm / (double)nd : 1;
  for (; i < n; i++) {
    int64_t day = eval_local_day(out[i].t) - d0;
    if (day >= nd)
      day = nd - 1;
    for (; k <= day; k++)
      run += f[eval_month_of_day(d0 + k) - 1] / norm;
    out[i].v = k > 0 ? t->rule.value * run / (double)k : t->rule.value;
  }
}

void eval_expected_line(const struct target *t, double baseline,
                        struct eval_point *out, size_t n) {
  int64_t start = period_start_ms(&t->period), end = period_end_ms(&t->period);
  double g = t->rule.value;
  for (size_t i = 0; i < n; i++) {
    out[i].t = i + 1 == n ? end
                          : start + (int64_t)((double)(end - start) *
                                              (double)i / (double)(n - 1));
    switch (t->rule.measure) {
    case MEASURE_TOTAL:
      out[i].v = g * eval_pace(t, out[i].t);
      break;
    case MEASURE_LATEST:
      out[i].v = baseline + (g - baseline) * eval_pace(t, out[i].t);
      break;
    default:
      out[i].v = g;
      break;
    }
  }
  if (t->rule.measure == MEASURE_MEAN)
    mean_line(t, start, end, out, n);
}
