#include "eval.h"

#include "clock.h"
#include "timefmt.h"
#include "tz.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_PACE 0.10   /* too early to judge below this share */
#define DEAD_ZONE_PACE 0.15 /* at most at_risk below this share */

static const char *const class_names[EVAL_NCLASSES] = {
    "pending", "no_data",   "achieved", "on_track",
    "at_risk", "off_track", "missed"};

const char *eval_class_name(enum eval_class c) {
  return class_names[c];
}

int eval_class_parse(const char *name, enum eval_class *out) {
  for (int i = 0; i < EVAL_NCLASSES; i++)
    if (strcmp(name, class_names[i]) == 0) {
      *out = (enum eval_class)i;
      return 0;
    }
  return -EINVAL;
}

int eval_class_rank(enum eval_class c) {
  switch (c) {
  case CLASS_AT_RISK:
    return 1;
  case CLASS_OFF_TRACK:
  case CLASS_MISSED:
    return 2;
  default:
    return 0;
  }
}

/* ---- calendar helpers (local time) ---- */

static int64_t local_day(int64_t ms) {
  struct civil c;
  tz_ms_to_local(ms, &c);
  return tz_days_from_civil(c.year, c.month, c.day);
}

static int64_t day_start_ms(int64_t day) {
  struct civil c = {0};
  tz_civil_from_days(day, &c.year, &c.month, &c.day);
  return tz_local_to_ms(&c);
}

static int month_of_day(int64_t day) {
  int y, m, d;
  tz_civil_from_days(day, &y, &m, &d);
  return m;
}

/* The same local civil time one year earlier (Feb 29 becomes Feb 28). */
static int64_t year_before(int64_t ms) {
  struct civil c;
  tz_ms_to_local(ms, &c);
  c.year--;
  if (c.month == 2 && c.day == 29)
    c.day = 28;
  return tz_local_to_ms(&c);
}

/* ---- pace ---- */

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

static bool in_season(const struct pace *p, int64_t day) {
  int y, m, d, md;
  tz_civil_from_days(day, &y, &m, &d);
  md = m * 100 + d;
  return md >= p->from_month * 100 + p->from_day &&
         md <= p->to_month * 100 + p->to_day;
}

/* In-season days from the period start to ms (fractional for the day of
 * ms). */
static double season_weight(const struct target *t, int64_t start, int64_t ms) {
  int64_t d0 = local_day(start), d1 = local_day(ms);
  double w = 0;
  for (int64_t d = d0; d < d1; d++)
    if (in_season(&t->pace, d))
      w += 1;
  if (in_season(&t->pace, d1)) {
    int64_t s = day_start_ms(d1), e = day_start_ms(d1 + 1);
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

/* ---- helpers ---- */

static bool satisfies(enum rule_op op, double v, double goal) {
  switch (op) {
  case OP_GE:
    return v >= goal;
  case OP_LE:
    return v <= goal;
  case OP_GT:
    return v > goal;
  case OP_LT:
    return v < goal;
  case OP_EQ:
    return v == goal;
  }
  return false;
}

static double ratio_score(const struct rule *r, double projected) {
  double g = r->value;
  if (r->op == OP_EQ)
    return projected == g ? 1 : 0;
  if (fabs(g) < 1e-12)
    return satisfies(r->op, projected, g) ? 1 : 0;
  if (rule_higher_is_better(r))
    return projected / g;
  if (projected <= 0)
    return 10; /* far below a ceiling */
  return g / projected;
}

static enum eval_class by_score(const struct target *t, double r) {
  if (!isfinite(r))
    return CLASS_OFF_TRACK;
  if (r >= t->on_track)
    return CLASS_ON_TRACK;
  if (r >= t->off_track)
    return CLASS_AT_RISK;
  return CLASS_OFF_TRACK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The default staleness bound: the larger of 3x the feed interval and 1.5x
 * the median gap between the last observations. */
static int64_t stale_after(const struct eval_input *in) {
  double gaps[10];
  size_t n = 0;
  int64_t feed_bound = 3 * in->every_ms, data_bound = 0;
  if (in->target->stale_after_ms)
    return in->target->stale_after_ms;
  for (size_t i = in->n; i > 1 && n < 10; i--)
    if (in->pts[i - 1].t > in->pts[i - 2].t)
      gaps[n++] = (double)(in->pts[i - 1].t - in->pts[i - 2].t);
  if (n) {
    qsort(gaps, n, sizeof(*gaps), cmp_double);
    data_bound = (int64_t)(1.5 * (n % 2 ? gaps[n / 2]
                                        : (gaps[n / 2 - 1] + gaps[n / 2]) / 2));
  }
  return feed_bound > data_bound ? feed_bound : data_bound;
}

static void set_na(struct eval_result *out) {
  out->actual = out->expected = out->projected = out->score = NAN;
  out->remaining_budget = out->required_rate = NAN;
  out->valid_days = -1;
  out->pace = NAN;
}

/* ---- measures ---- */

/* Latest value (cumulative) or sum (increment) of points in [a, b]. */
static bool total_between(const struct eval_input *in, int64_t a, int64_t b,
                          double *out) {
  bool any = false;
  double sum = 0, last = 0;
  for (size_t i = 0; i < in->n; i++) {
    if (in->pts[i].t < a || in->pts[i].t > b)
      continue;
    any = true;
    sum += in->pts[i].v;
    last = in->pts[i].v;
  }
  *out = in->kind == KIND_INCREMENT ? sum : last;
  return any;
}

static void measure_total(const struct eval_input *in,
                          struct eval_result *out) {
  const struct target *t = in->target;
  double a, p = eval_pace(t, out->ref_ms);
  total_between(in, out->period_start_ms, out->period_end_ms - 1, &a);
  out->actual = a;
  out->pace = p;
  out->expected = t->rule.value * p;
  out->projected = p > 0 ? a / p : NAN;
  out->score = p > 0 ? ratio_score(&t->rule, out->projected) : NAN;
  {
    double days =
        (double)(out->period_end_ms - out->ref_ms) / (double)MS_PER_DAY;
    double left = t->rule.value - a;
    if (days > 0)
      out->required_rate = left > 0 ? left / days : 0;
  }
}

static void measure_mean(const struct eval_input *in, struct eval_result *out,
                         char *invalid, size_t invlen) {
  const struct target *t = in->target;
  int64_t d0 = local_day(out->period_start_ms);
  int64_t nd = local_day(out->period_end_ms) - d0;
  int64_t today = local_day(in->now_ms);
  double *sum = xcalloc((size_t)nd, sizeof(double));
  int *cnt = xcalloc((size_t)nd, sizeof(int));
  double norm = 0, S = 0, Ssf = 0;
  double s[12];
  int d = 0;

  for (int m = 0; m < 12; m++)
    s[m] = t->pace.kind == PACE_SEASONAL ? t->pace.v[m] : 1.0;
  /* Seasonal factors normalised so their day-weighted mean over the
   * period is 1. */
  for (int64_t k = 0; k < nd; k++)
    norm += s[month_of_day(d0 + k) - 1];
  norm /= (double)nd;

  for (size_t i = 0; i < in->n; i++) {
    int64_t k;
    if (in->pts[i].t < out->period_start_ms ||
        in->pts[i].t >= out->period_end_ms)
      continue;
    k = local_day(in->pts[i].t) - d0;
    if (k < 0 || k >= nd)
      continue;
    sum[k] += in->pts[i].v;
    cnt[k]++;
  }
  for (int64_t k = 0; k < nd; k++) {
    /* One sample is a published daily mean; several are sub-daily samples,
     * of which GB 3095 wants at least 20 for a valid day. */
    bool valid = cnt[k] > 0 && (t->validity != VALIDITY_GB3095 || cnt[k] == 1 ||
                                cnt[k] >= 20);
    if (!valid)
      continue;
    d++;
    S += sum[k] / cnt[k];
    Ssf += s[month_of_day(d0 + k) - 1] / norm;
  }
  out->valid_days = d;
  if (d > 0) {
    double g = t->rule.value;
    out->actual = S / d;
    out->projected = Ssf > 0 ? S / Ssf : out->actual;
    out->expected = g * Ssf / d;
    out->score = ratio_score(&t->rule, out->projected);
    if (nd > d && !rule_higher_is_better(&t->rule))
      out->remaining_budget = (g * (double)nd - S) / (double)(nd - d);
  }
  out->pace = (double)(out->ref_ms - out->period_start_ms) /
              (double)(out->period_end_ms - out->period_start_ms);

  if (t->validity == VALIDITY_GB3095 && !invalid[0]) {
    /* Months that can no longer reach 27 valid days (25 in February), or a
     * period that can no longer reach 324 per 365. */
    int64_t need_total = (324 * nd + 364) / 365;
    int64_t possible = d;
    int64_t k = 0;
    while (k < nd) {
      int y, m, dd, valid_m = 0, left_m = 0, need;
      int64_t k0 = k;
      tz_civil_from_days(d0 + k, &y, &m, &dd);
      while (k < nd && month_of_day(d0 + k) == m) {
        bool valid = cnt[k] > 0 && (cnt[k] == 1 || cnt[k] >= 20);
        if (valid)
          valid_m++;
        else if (d0 + k >= today)
          left_m++; /* today and later can still come in */
        k++;
      }
      if (d0 + k0 > today)
        continue; /* a month not begun */
      need = m == 2 ? 25 : 27;
      if ((int64_t)(k - k0) < need)
        need = (int)(k - k0); /* a partial month at the period's edge */
      if (valid_m + left_m < need) {
        snprintf(invalid, invlen,
                 "GB 3095: %04d-%02d has %d valid days, fewer than the %d "
                 "required",
                 y, m, valid_m, need);
        break;
      }
    }
    for (int64_t j = today - d0 < 0 ? 0 : today - d0; j < nd; j++)
      if (!(cnt[j] == 1 || cnt[j] >= 20))
        possible++;
    if (!invalid[0] && possible < need_total)
      snprintf(invalid, invlen,
               "GB 3095: at most %lld valid days are still possible, fewer "
               "than the %lld required",
               (long long)possible, (long long)need_total);
  }
  free(sum);
  free(cnt);
}

/* Recency-weighted least squares of value on time, evaluated at `at`. */
static double weighted_trend(const struct eval_point *p, size_t n, int64_t at) {
  double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  double t0 = (double)p[0].t, span = (double)(p[n - 1].t - p[0].t);
  for (size_t i = 0; i < n; i++) {
    double x = ((double)p[i].t - t0) / (double)MS_PER_DAY;
    double w = span > 0 ? 1 + ((double)p[i].t - t0) / span : 1;
    sw += w;
    sx += w * x;
    sy += w * p[i].v;
    sxx += w * x * x;
    sxy += w * x * p[i].v;
  }
  {
    double den = sw * sxx - sx * sx;
    double xa = ((double)at - t0) / (double)MS_PER_DAY;
    double b, a;
    if (fabs(den) < 1e-12)
      return p[n - 1].v;
    b = (sw * sxy - sx * sy) / den;
    a = (sy - b * sx) / sw;
    return a + b * xa;
  }
}

static void measure_latest(const struct eval_input *in, struct eval_result *out,
                           size_t first) {
  const struct target *t = in->target;
  const struct eval_point *p = &in->pts[first];
  double baseline = t->has_baseline ? t->baseline : p[0].v;
  double g = t->rule.value;
  double pace = eval_pace(t, out->ref_ms);
  out->actual = p[out->points - 1].v;
  out->pace = pace;
  out->expected = baseline + (g - baseline) * pace;
  if (t->rule.op == OP_EQ) {
    out->projected = out->actual;
    out->score = out->actual == g ? 1 : 0;
    return;
  }
  out->projected = weighted_trend(p, out->points, out->period_end_ms - 1);
  if (fabs(g - baseline) < 1e-12)
    out->score = satisfies(t->rule.op, out->projected, g) ? 1 : 0;
  else
    out->score = (out->projected - baseline) / (g - baseline);
}

static bool measure_growth(const struct eval_input *in,
                           struct eval_result *out) {
  const struct target *t = in->target;
  int64_t ps = year_before(out->period_start_ms);
  int64_t pe = year_before(out->period_end_ms);
  int64_t pref = year_before(out->ref_ms);
  double ytd, ytd_last, annual_last, g_ytd, proj;
  total_between(in, out->period_start_ms, out->ref_ms, &ytd);
  if (!total_between(in, ps, pref, &ytd_last) ||
      !total_between(in, ps, pe - 1, &annual_last) || ytd_last <= 0 ||
      annual_last <= 0) {
    snprintf(out->reason, sizeof(out->reason),
             "no data for the same span of the prior period");
    return false;
  }
  g_ytd = ytd / ytd_last - 1;
  proj = ytd + (annual_last - ytd_last) * (1 + g_ytd);
  out->actual = g_ytd * 100;
  out->expected = t->rule.value;
  out->projected = (proj / annual_last - 1) * 100;
  out->pace = eval_pace(t, out->ref_ms);
  out->score = ratio_score(&t->rule, out->projected);
  return true;
}

void eval_target(const struct eval_input *in, struct eval_result *out) {
  const struct target *t = in->target;
  size_t first = in->n, last = 0;
  int64_t latest_any = 0;
  char invalid[200] = "";

  memset(out, 0, sizeof(*out));
  set_na(out);
  out->goal = t->rule.value;
  out->period_start_ms = period_start_ms(&t->period);
  out->period_end_ms = period_end_ms(&t->period);

  for (size_t i = 0; i < in->n; i++) {
    if (in->pts[i].t > latest_any)
      latest_any = in->pts[i].t;
    if (in->pts[i].t < out->period_start_ms ||
        in->pts[i].t >= out->period_end_ms)
      continue;
    if (first == in->n)
      first = i;
    last = i;
    out->points++;
  }
  if (in->now_ms < out->period_start_ms) {
    char when[40];
    timefmt_iso(out->period_start_ms, when, sizeof(when));
    snprintf(out->reason, sizeof(out->reason), "the period starts %.10s", when);
    out->raw = CLASS_PENDING;
    return;
  }
  if (!out->points) {
    bool early = in->now_ms < out->period_end_ms &&
                 eval_pace(t, in->now_ms) < PENDING_PACE;
    snprintf(out->reason, sizeof(out->reason), "%s",
             early ? "no observation in the period yet"
                   : "no observation in the period");
    out->raw = early ? CLASS_PENDING : CLASS_NO_DATA;
    return;
  }
  out->ref_ms = in->pts[last].t;

  switch (t->rule.measure) {
  case MEASURE_TOTAL:
    measure_total(in, out);
    break;
  case MEASURE_MEAN:
    measure_mean(in, out, invalid, sizeof(invalid));
    break;
  case MEASURE_LATEST:
    if (out->points < 2 && t->rule.op != OP_EQ) {
      out->actual = in->pts[last].v;
      snprintf(out->reason, sizeof(out->reason),
               "needs 2 observations in the period, has 1");
      out->raw = CLASS_PENDING;
      return;
    }
    measure_latest(in, out, first);
    break;
  case MEASURE_GROWTH:
    if (out->points < 2) {
      snprintf(out->reason, sizeof(out->reason),
               "needs 2 observations in the period, has %zu", out->points);
      out->raw = CLASS_PENDING;
      return;
    }
    if (!measure_growth(in, out)) {
      out->raw = CLASS_NO_DATA;
      return;
    }
    break;
  }

  /* The deadline has passed: met or not. */
  if (in->now_ms >= out->period_end_ms) {
    if (invalid[0]) {
      snprintf(out->reason, sizeof(out->reason), "%s", invalid);
      out->raw = CLASS_NO_DATA;
      return;
    }
    out->raw = satisfies(t->rule.op, out->actual, t->rule.value)
                   ? CLASS_ACHIEVED
                   : CLASS_MISSED;
    return;
  }
  /* A statistic that can no longer be valid is the more lasting reason. */
  if (invalid[0]) {
    snprintf(out->reason, sizeof(out->reason), "%s", invalid);
    out->raw = CLASS_NO_DATA;
    return;
  }
  if (in->now_ms - latest_any > stale_after(in)) {
    char when[40];
    timefmt_iso(latest_any, when, sizeof(when));
    snprintf(out->reason, sizeof(out->reason),
             "no observation since %.10s (stale)", when);
    out->raw = CLASS_NO_DATA;
    return;
  }
  /* A total that has reached a floor cannot lose it again. */
  if (t->rule.measure == MEASURE_TOTAL && rule_higher_is_better(&t->rule) &&
      satisfies(t->rule.op, out->actual, t->rule.value)) {
    out->raw = CLASS_ACHIEVED;
    return;
  }
  if (!(out->pace >= PENDING_PACE)) {
    snprintf(out->reason, sizeof(out->reason),
             "too early to judge: %.0f%% of the period's pace",
             out->pace * 100);
    out->raw = CLASS_PENDING;
    return;
  }
  out->raw = by_score(t, out->score);
  if (out->raw == CLASS_OFF_TRACK && out->pace < DEAD_ZONE_PACE)
    out->raw = CLASS_AT_RISK;
}

static bool immediate(enum eval_class c) {
  return c == CLASS_PENDING || c == CLASS_NO_DATA || c == CLASS_ACHIEVED ||
         c == CLASS_MISSED;
}

bool eval_next_class(const struct target *t, const struct eval_result *res,
                     int64_t now_ms, struct eval_state *st) {
  enum eval_class raw = res->raw, before = st->cls;
  bool new_data = res->ref_ms > st->data_ms ||
                  (res->ref_ms == st->data_ms && res->ref_ms &&
                   !(res->actual == st->data_actual) && isfinite(res->actual));
  bool changed = false;

  if (!st->known || immediate(raw) || immediate(st->cls)) {
    changed = !st->known || raw != st->cls;
    st->cls = raw;
    st->pending = raw;
    st->pending_count = 0;
  } else {
    /* Leaving off_track needs the on_track threshold, not just at_risk. */
    if (st->cls == CLASS_OFF_TRACK && raw == CLASS_AT_RISK)
      raw = CLASS_OFF_TRACK;
    if (raw == st->cls) {
      st->pending = raw;
      st->pending_count = 0;
    } else if (new_data) {
      if (st->pending == raw)
        st->pending_count++;
      else {
        st->pending = raw;
        st->pending_count = 1;
      }
      if (st->pending_count >= t->confirm) {
        st->cls = raw;
        st->pending_count = 0;
        changed = true;
      }
    }
  }
  if (res->ref_ms >= st->data_ms) {
    st->data_ms = res->ref_ms;
    st->data_actual = res->actual;
  }
  if (changed || !st->known)
    st->since_ms = now_ms;
  st->known = true;
  (void)before;
  return changed;
}

/* ---- messages ---- */

void eval_message(const struct target *t, const struct eval_result *res,
                  enum eval_class cls, char *buf, size_t len) {
  const char *unit = t->unit ? t->unit : "";
  const char *sp = unit[0] && unit[0] != '%' ? " " : "";
  char a[32], e[32], p[32], g[32], x[32];
  const char *op = rule_op_name(t->rule.op);
  format_number(res->actual, a, sizeof(a));
  format_number(res->expected, e, sizeof(e));
  format_number(res->projected, p, sizeof(p));
  format_number(res->goal, g, sizeof(g));
  if (res->reason[0] && (cls == CLASS_NO_DATA || cls == CLASS_PENDING)) {
    snprintf(buf, len, "%s", res->reason);
    return;
  }
  switch (t->rule.measure) {
  case MEASURE_TOTAL:
    if (cls == CLASS_ACHIEVED || cls == CLASS_MISSED) {
      snprintf(buf, len, "%s%s%s of %s%s%s: %s", a, sp, unit, g, sp, unit,
               cls == CLASS_ACHIEVED ? "goal reached" : "goal not reached");
      return;
    }
    format_number(res->required_rate * 30.44, x, sizeof(x));
    snprintf(buf, len,
             "%s%s%s so far vs %s expected by now; projected %s at the "
             "deadline vs goal %s %s (score %.2f); needs %s%s%s per month",
             a, sp, unit, e, p, op, g, res->score, x, sp, unit);
    return;
  case MEASURE_MEAN:
    format_number(res->remaining_budget, x, sizeof(x));
    if (cls == CLASS_ACHIEVED || cls == CLASS_MISSED) {
      snprintf(buf, len, "mean %s%s%s over %d valid days vs goal %s %s: %s", a,
               sp, unit, res->valid_days, op, g,
               cls == CLASS_ACHIEVED ? "goal met" : "goal missed");
      return;
    }
    snprintf(buf, len,
             "mean %s%s%s over %d valid days (%s expected on the seasonal "
             "pace); projected %s vs goal %s %s (score %.2f)%s%s%s%s",
             a, sp, unit, res->valid_days, e, p, op, g, res->score,
             isfinite(res->remaining_budget) ? "; the rest of the period may "
                                               "average at most "
                                             : "",
             isfinite(res->remaining_budget) ? x : "",
             isfinite(res->remaining_budget) ? sp : "",
             isfinite(res->remaining_budget) ? unit : "");
    return;
  case MEASURE_LATEST:
    snprintf(buf, len,
             "latest %s%s%s vs %s expected by now; trend reaches %s at the "
             "deadline vs goal %s %s (score %.2f)",
             a, sp, unit, e, p, op, g, res->score);
    return;
  case MEASURE_GROWTH:
    snprintf(buf, len,
             "year-to-date growth %s%%; projected %s%% for the period vs goal "
             "%s %s%% (score %.2f)",
             a, p, op, g, res->score);
    return;
  }
}
