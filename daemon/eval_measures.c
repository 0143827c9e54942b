/* The measures (contract §5) over per-day aggregates, in one sweep: each
 * day of the period adds to running sums (the total so far, the sum of
 * daily means, the power sums of the trend, the lowest and highest value),
 * and a snapshot of those sums at a day's last observation gives the
 * judgement's numbers as of that time: the trajectory point of that day,
 * and after the last day the judgement itself. So the trajectory of a
 * whole period costs one pass over its days, not one judgement per day. */
#include "eval_private.h"

#include "clock.h"
#include "tz.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double ratio_score(const struct rule *r, double projected) {
  double g = r->value;
  if (r->op == OP_EQ)
    return projected == g ? 1 : 0;
  if (fabs(g) < 1e-12)
    return rule_met(r, projected) ? 1 : 0;
  if (rule_higher_is_better(r))
    return projected / g;
  if (projected <= 0)
    return 10; /* far below a ceiling */
  return g / projected;
}

double eval_score(const struct target *t, double projected, double baseline) {
  const struct rule *r = &t->rule;
  if (!isfinite(projected))
    return NAN;
  if (r->op == OP_IN) {
    if (projected < r->low)
      return projected / r->low;
    if (projected > r->high)
      return r->high / projected;
    return 1;
  }
  if (r->measure == MEASURE_LATEST && r->op != OP_EQ) {
    /* A level already met at the start is one to hold: how far the
     * projection stays on the right side of the goal, not how far it got
     * from the baseline toward it. */
    if (rule_met(r, baseline))
      return ratio_score(r, projected);
    if (fabs(r->value - baseline) < 1e-12)
      return rule_met(r, projected) ? 1 : 0;
    return (projected - baseline) / (r->value - baseline);
  }
  return ratio_score(r, projected);
}

/* Seasonal factors normalised so that their day-weighted mean over the
 * period is 1. */
static void mean_factors(struct eval_sweep *sw) {
  int64_t d0 = eval_local_day(sw->ps), nd = eval_local_day(sw->pe) - d0;
  double norm = 0;
  for (int m = 0; m < 12; m++)
    sw->s[m] = sw->t->pace.kind == PACE_SEASONAL ? sw->t->pace.v[m] : 1.0;
  for (int64_t k = 0; k < nd; k++)
    norm += sw->s[eval_month_of_day(d0 + k) - 1];
  norm = nd > 0 ? norm / (double)nd : 1;
  for (int m = 0; m < 12; m++)
    sw->s[m] /= norm;
}

/* One sample is a published daily mean; several are sub-daily samples, of
 * which GB 3095 wants at least 20 for a valid day. */
static bool day_valid(const struct target *t, int count) {
  return count > 0 &&
         (t->validity != VALIDITY_GB3095 || count == 1 || count >= 20);
}

static void add_day(struct eval_sweep *sw, const struct eval_day *day) {
  double x, y = day->last;
  sw->days++;
  if (sw->in->kind == KIND_INCREMENT)
    sw->total += day->sum;
  else
    sw->total = day->last;
  if (day_valid(sw->t, day->count)) {
    sw->d++;
    sw->S += day->sum / day->count;
    sw->Ssf += sw->s[eval_month_of_day(day->day) - 1];
  }
  if (sw->days == 1) {
    sw->t0 = day->last_ms;
    sw->baseline = sw->t->has_baseline ? sw->t->baseline : day->first;
    sw->lo = day->min;
    sw->hi = day->max;
  }
  if (day->min < sw->lo)
    sw->lo = day->min;
  if (day->max > sw->hi)
    sw->hi = day->max;
  sw->last = y;
  x = (double)(day->last_ms - sw->t0) / (double)MS_PER_DAY;
  sw->xlast = x;
  sw->n1 += 1;
  sw->sx += x;
  sw->sxx += x * x;
  sw->sxxx += x * x * x;
  sw->sy += y;
  sw->sxy += x * y;
  sw->sxxy += x * x * y;
}

/* The recency-weighted least-squares line through the points so far
 * (weight 1 for the first, 2 for the last, linear in time between),
 * evaluated at `at`. With w = 1 + x / X the weighted sums are the plain
 * power sums one degree up, divided by X: so every prefix of the sweep
 * gets its trend in O(1). */
static double trend_at(const struct eval_sweep *sw, int64_t at) {
  double X = sw->xlast, k = X > 0 ? 1 / X : 0;
  double w = sw->n1 + sw->sx * k, wx = sw->sx + sw->sxx * k;
  double wy = sw->sy + sw->sxy * k, wxx = sw->sxx + sw->sxxx * k;
  double wxy = sw->sxy + sw->sxxy * k;
  double den = w * wxx - wx * wx, b, a;
  double xa = (double)(at - sw->t0) / (double)MS_PER_DAY;
  if (fabs(den) < 1e-12)
    return sw->last;
  b = (w * wxy - wx * wy) / den;
  a = (wy - b * wx) / w;
  return a + b * xa;
}

/* The prior period's total up to the same local day a year before ref. */
static void advance_prior(struct eval_sweep *sw, int64_t ref) {
  int64_t until = eval_local_day(eval_year_before(ref));
  while (sw->iprior < sw->nprior && sw->prior[sw->iprior].day <= until) {
    const struct eval_day *d = &sw->prior[sw->iprior++];
    sw->prior_seen = true;
    if (sw->in->kind == KIND_INCREMENT)
      sw->prior_ytd += d->sum;
    else
      sw->prior_ytd = d->last;
  }
}

/* The numbers as of ref, from the sums so far. */
static void snapshot(struct eval_sweep *sw, int64_t ref,
                     struct eval_result *out) {
  const struct target *t = sw->t;
  double g = t->rule.value, p;
  out->actual = out->expected = out->projected = out->score = NAN;
  switch (t->rule.measure) {
  case MEASURE_TOTAL:
    p = eval_pace(t, ref);
    out->pace = p;
    out->actual = sw->total;
    out->expected = g * p;
    if (p > 0) {
      out->projected = sw->total / p;
      out->score = eval_score(t, out->projected, 0);
    }
    return;
  case MEASURE_MEAN:
    out->pace = (double)(ref - sw->ps) / (double)(sw->pe - sw->ps);
    if (sw->d > 0) {
      out->actual = sw->S / sw->d;
      out->projected = sw->Ssf > 0 ? sw->S / sw->Ssf : out->actual;
      out->expected = g * sw->Ssf / sw->d;
      out->score = eval_score(t, out->projected, 0);
    }
    return;
  case MEASURE_LATEST:
    p = eval_pace(t, ref);
    out->pace = p;
    out->actual = sw->last;
    out->expected = sw->baseline + (g - sw->baseline) * p;
    out->projected = t->rule.op == OP_EQ ? sw->last : trend_at(sw, sw->pe - 1);
    out->score = t->rule.op == OP_EQ
                     ? (sw->last == g ? 1 : 0)
                     : eval_score(t, out->projected, sw->baseline);
    return;
  case MEASURE_MIN:
  case MEASURE_MAX: {
    bool low = t->rule.measure == MEASURE_MIN;
    double extreme = low ? sw->lo : sw->hi, tr = trend_at(sw, sw->pe - 1);
    out->pace = eval_pace(t, ref);
    out->actual = extreme;
    out->expected = g;
    /* The extreme the whole period is heading for: the one so far, or
     * where the trend ends if that is further out. */
    out->projected = low ? fmin(extreme, tr) : fmax(extreme, tr);
    out->score = eval_score(t, out->projected, 0);
    out->breach = !rule_met(&t->rule, extreme);
    return;
  }
  case MEASURE_GROWTH:
    out->pace = eval_pace(t, ref);
    advance_prior(sw, ref);
    if (sw->prior_seen && sw->prior_ytd > 0 && sw->prior_annual > 0) {
      double g_ytd = sw->total / sw->prior_ytd - 1;
      double proj =
          sw->total + (sw->prior_annual - sw->prior_ytd) * (1 + g_ytd);
      out->actual = g_ytd * 100;
      out->expected = g;
      out->projected = (proj / sw->prior_annual - 1) * 100;
      out->score = eval_score(t, out->projected, 0);
    }
    return;
  }
}

/* GB 3095-2012's minimum data: months that can no longer reach 27 valid
 * days (25 in February), or a period that can no longer reach 324 per 365;
 * days from today on can still come in. */
static void gb3095(const struct eval_sweep *sw, const struct eval_day *days,
                   size_t ndays, char *invalid, size_t invlen) {
  int64_t d0 = eval_local_day(sw->ps), nd = eval_local_day(sw->pe) - d0;
  int64_t today = eval_local_day(sw->in->now_ms);
  int64_t need_total = (324 * nd + 364) / 365, possible = sw->d, k = 0;
  int *cnt = xcalloc((size_t)(nd > 0 ? nd : 1), sizeof(int));
  for (size_t i = 0; i < ndays; i++)
    if (days[i].day >= d0 && days[i].day < d0 + nd)
      cnt[days[i].day - d0] = days[i].count;
  while (k < nd) {
    int y, m, dd, valid_m = 0, left_m = 0, need;
    int64_t k0 = k;
    tz_civil_from_days(d0 + k, &y, &m, &dd);
    while (k < nd && eval_month_of_day(d0 + k) == m) {
      if (day_valid(sw->t, cnt[k]))
        valid_m++;
      else if (d0 + k >= today)
        left_m++;
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
    if (!day_valid(sw->t, cnt[j]))
      possible++;
  if (!invalid[0] && possible < need_total)
    snprintf(invalid, invlen,
             "GB 3095: at most %lld valid days are still possible, fewer "
             "than the %lld required",
             (long long)possible, (long long)need_total);
  free(cnt);
}

static void traj_add(struct eval_traj *traj, int64_t t,
                     const struct eval_result *r) {
  if (!(isfinite(r->actual) && isfinite(r->expected) && isfinite(r->projected)))
    return; /* Grafana reads a missing field as 0: all three or none */
  xgrow((void **)&traj->p, &traj->cap, traj->n + 1, sizeof(*traj->p));
  traj->p[traj->n++] =
      (struct eval_traj_point){t, r->actual, r->expected, r->projected};
}

size_t eval_sweep_first(const struct eval_day *days, size_t ndays, int64_t ps) {
  size_t first = 0;
  while (first < ndays && days[first].last_ms < ps)
    first++;
  return first;
}

void eval_sweep_begin(struct eval_sweep *sw, const struct eval_input *in,
                      const struct eval_day *days, size_t first, int64_t ps,
                      int64_t pe) {
  const struct target *t = in->target;
  memset(sw, 0, sizeof(*sw));
  sw->in = in;
  sw->t = t;
  sw->ps = ps;
  sw->pe = pe;
  if (t->rule.measure == MEASURE_GROWTH) {
    sw->prior = days;
    sw->nprior = first;
    for (size_t i = 0; i < first; i++)
      sw->prior_annual = in->kind == KIND_INCREMENT
                             ? sw->prior_annual + days[i].sum
                             : days[i].last;
  }
  if (t->rule.measure == MEASURE_MEAN)
    mean_factors(sw);
}

void eval_sweep_day(struct eval_sweep *sw, const struct eval_day *day,
                    struct eval_traj *traj) {
  struct eval_result snap;
  add_day(sw, day);
  sw->points += (size_t)day->count;
  sw->last_ms = day->last_ms;
  if (traj) {
    memset(&snap, 0, sizeof(snap));
    snapshot(sw, day->last_ms, &snap);
    traj_add(traj, day->last_ms, &snap);
  }
}

void eval_sweep_finish(struct eval_sweep *sw, const struct eval_day *days,
                       size_t first, size_t ndays, struct eval_result *out,
                       char *invalid, size_t invlen) {
  const struct target *t = sw->t;
  out->points = sw->points;
  if (!sw->days)
    return;
  out->ref_ms = sw->last_ms;
  snapshot(sw, out->ref_ms, out);

  switch (t->rule.measure) {
  case MEASURE_TOTAL: {
    /* What is left to reach the goal (the band's low end), per month. */
    double months = (double)(sw->pe - out->ref_ms) / (double)EVAL_RATE_MS;
    double to = t->rule.op == OP_IN ? t->rule.low : t->rule.value;
    if (months > 0 && (rule_higher_is_better(&t->rule) || t->rule.op == OP_IN))
      out->required_rate = to > sw->total ? (to - sw->total) / months : 0;
    break;
  }
  case MEASURE_MEAN: {
    int64_t nd = eval_local_day(sw->pe) - eval_local_day(sw->ps);
    double ceiling = t->rule.op == OP_IN ? t->rule.high : t->rule.value;
    out->valid_days = sw->d;
    if (sw->d > 0 && nd > sw->d && !rule_higher_is_better(&t->rule))
      out->remaining_budget =
          (ceiling * (double)nd - sw->S) / (double)(nd - sw->d);
    if (t->validity == VALIDITY_GB3095)
      gb3095(sw, days + first, ndays - first, invalid, invlen);
    break;
  }
  case MEASURE_GROWTH:
    if (!isfinite(out->actual))
      snprintf(out->reason, sizeof(out->reason),
               "no data for the same span of the prior period");
    break;
  default:
    break;
  }
}
