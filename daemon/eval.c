#include "eval_private.h"

#include "clock.h"
#include "timefmt.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static enum eval_class by_score(const struct target *t, double r) {
  if (!isfinite(r))
    return CLASS_OFF_TRACK;
  if (r >= t->on_track)
    return CLASS_ON_TRACK;
  if (r >= t->off_track)
    return CLASS_AT_RISK;
  return CLASS_OFF_TRACK;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The default staleness bound: the larger of 3x the feed interval and 2x
 * the median gap between the recent observations (with one observation,
 * the length of the period it describes stands in for the gap). */
static int64_t stale_after(const struct eval_input *in,
                           const struct eval_recent *rc) {
  int64_t feed_bound = 3 * in->every_ms, gap = 0;
  if (in->target->stale_after_ms)
    return in->target->stale_after_ms;
  if (rc->ngaps) {
    int64_t g[EVAL_RECENT_GAPS];
    size_t n = rc->ngaps;
    memcpy(g, rc->gaps, n * sizeof(*g));
    qsort(g, n, sizeof(*g), cmp_i64);
    gap = n % 2 ? g[n / 2] : (g[n / 2 - 1] + g[n / 2]) / 2;
  } else if (in->grain != GRAIN_INSTANT) {
    int64_t start = in->at_start ? rc->latest : rc->latest + 1;
    gap = timefmt_grain_next(in->grain, start) - start;
  }
  return feed_bound > 2 * gap ? feed_bound : 2 * gap;
}

static void span_text(int64_t ms, char *buf, size_t len) {
  if (ms >= 2 * MS_PER_DAY)
    snprintf(buf, len, "%lld days", (long long)(ms / MS_PER_DAY));
  else if (ms >= 2 * MS_PER_HOUR)
    snprintf(buf, len, "%lld hours", (long long)(ms / MS_PER_HOUR));
  else if (ms >= 2 * MS_PER_MINUTE)
    snprintf(buf, len, "%lld minutes", (long long)(ms / MS_PER_MINUTE));
  else
    snprintf(buf, len, "%lld seconds", (long long)(ms / 1000));
}

static void set_na(struct eval_result *out) {
  out->actual = out->expected = out->projected = out->score = NAN;
  out->remaining_budget = out->required_rate = NAN;
  out->goal_low = out->goal_high = NAN;
  out->valid_days = -1;
  out->pace = NAN;
}

/* Per local day aggregates of the points in [from, to) at or before until,
 * leaving out [skip_from, skip_to) (between the prior period and this
 * one), and the recent observations of any period. */
static struct eval_day *aggregate(const struct eval_input *in, int64_t from,
                                  int64_t to, int64_t skip_from,
                                  int64_t skip_to, size_t *ndays,
                                  struct eval_recent *rc) {
  struct eval_day *days = NULL;
  size_t n = 0, cap = 0, end = 0;
  /* The current local day's bounds: one time zone conversion a day, not
   * one per observation. */
  int64_t day = 0, day_start = 0, day_end = INT64_MIN;
  memset(rc, 0, sizeof(*rc));
  for (size_t i = 0; i < in->n; i++) {
    const struct eval_point *p = &in->pts[i];
    if (in->until_ms > 0 && p->t > in->until_ms)
      break;
    end = i + 1;
    if (p->t < from || p->t >= to || (p->t >= skip_from && p->t < skip_to))
      continue;
    if (p->t < day_start || p->t >= day_end) {
      day = eval_local_day(p->t);
      day_start = eval_day_start_ms(day);
      day_end = eval_day_start_ms(day + 1);
    }
    if (!n || days[n - 1].day != day) {
      xgrow((void **)&days, &cap, n + 1, sizeof(*days));
      days[n++] = (struct eval_day){day, p->t, p->v, p->v, 0, p->v, p->v, 0};
    }
    days[n - 1].last_ms = p->t;
    days[n - 1].last = p->v;
    days[n - 1].sum += p->v;
    days[n - 1].count++;
    if (p->v < days[n - 1].min)
      days[n - 1].min = p->v;
    if (p->v > days[n - 1].max)
      days[n - 1].max = p->v;
  }
  if (end) {
    rc->latest = in->pts[end - 1].t;
    for (size_t i = end - 1; i > 0 && rc->ngaps < EVAL_RECENT_GAPS; i--)
      if (in->pts[i].t > in->pts[i - 1].t)
        rc->gaps[rc->ngaps++] = in->pts[i].t - in->pts[i - 1].t;
  }
  *ndays = n;
  return days;
}

static bool can_lose(const struct target *t) {
  /* A total that has reached a floor cannot lose it again; a band, a
   * ceiling or a level can. */
  return !(t->rule.measure == MEASURE_TOTAL && rule_higher_is_better(&t->rule));
}

/* The class from the measure's numbers: pending, no_data, the deadline,
 * achieved for good, a breach, staleness, then the score. */
void eval_classify(const struct eval_input *in, const struct eval_recent *rc,
                   struct eval_result *out, const char *invalid) {
  const struct target *t = in->target;
  if (!out->points) {
    bool early = in->now_ms < out->period_end_ms &&
                 eval_pace(t, in->now_ms) < EVAL_PENDING_PACE;
    snprintf(out->reason, sizeof(out->reason), "%s",
             early ? "no observation in the period yet"
                   : "no observation in the period");
    out->raw = early ? CLASS_PENDING : CLASS_NO_DATA;
    return;
  }
  if ((t->rule.measure == MEASURE_LATEST && t->rule.op != OP_EQ) ||
      t->rule.measure == MEASURE_GROWTH) {
    if (out->points < 2) {
      snprintf(out->reason, sizeof(out->reason),
               "needs 2 observations in the period, has %zu", out->points);
      out->raw = CLASS_PENDING;
      return;
    }
  }
  if (t->rule.measure == MEASURE_GROWTH && !isfinite(out->actual)) {
    out->raw = CLASS_NO_DATA; /* reason set by the measure */
    return;
  }

  /* The deadline has passed: met or not. */
  if (in->now_ms >= out->period_end_ms) {
    if (invalid[0]) {
      snprintf(out->reason, sizeof(out->reason), "%s", invalid);
      out->raw = CLASS_NO_DATA;
    } else {
      out->raw =
          rule_met(&t->rule, out->actual) ? CLASS_ACHIEVED : CLASS_MISSED;
    }
    return;
  }
  /* A statistic that can no longer be valid is the more lasting reason. */
  if (invalid[0]) {
    snprintf(out->reason, sizeof(out->reason), "%s", invalid);
    out->raw = CLASS_NO_DATA;
    return;
  }
  /* Reached for good: stays achieved when the feed goes quiet. */
  if (!can_lose(t) && rule_met(&t->rule, out->actual)) {
    out->raw = CLASS_ACHIEVED;
    return;
  }
  /* A level to hold all period that broke cannot be met any more. */
  if (out->breach) {
    out->raw = CLASS_OFF_TRACK;
    return;
  }
  {
    int64_t bound = stale_after(in, rc);
    if (in->now_ms - out->data_end_ms > bound) {
      char when[40], end[40], span[32];
      /* the day is enough for monthly data; an hourly feed needs the
       * minute to be read against its bound */
      int shown = bound < 2 * MS_PER_DAY ? 16 : 10;
      timefmt_iso(rc->latest, when, sizeof(when));
      timefmt_iso(out->data_end_ms - 1, end, sizeof(end));
      span_text(bound, span, sizeof(span));
      if (out->data_end_ms - 1 > rc->latest)
        snprintf(out->reason, sizeof(out->reason),
                 "no observation since %.*s (describing up to %.*s); "
                 "stale after %s",
                 shown, when, shown, end, span);
      else
        snprintf(out->reason, sizeof(out->reason),
                 "no observation since %.*s; stale after %s", shown, when,
                 span);
      out->raw = CLASS_NO_DATA;
      return;
    }
  }
  if (!(out->pace >= EVAL_PENDING_PACE)) {
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

int64_t eval_days_from(const struct target *t) {
  int64_t start = period_start_ms(&t->period);
  return t->rule.measure == MEASURE_GROWTH ? eval_year_before(start) : start;
}

void eval_target(const struct eval_input *in, struct eval_result *out,
                 struct eval_traj *traj) {
  const struct target *t = in->target;
  int64_t start = period_start_ms(&t->period), end = period_end_ms(&t->period);
  /* A quarter's growth leaves out the three quarters between the prior
   * period and this one. */
  int64_t skip_from =
      t->rule.measure == MEASURE_GROWTH ? eval_year_before(end) : start;
  struct eval_recent rc;
  size_t ndays;
  struct eval_day *days =
      aggregate(in, eval_days_from(t), end, skip_from, start, &ndays, &rc);
  eval_target_days(in, days, ndays, &rc, out, traj);
  free(days);
}

bool eval_result_begin(const struct eval_input *in,
                       const struct eval_recent *rc, struct eval_result *out) {
  const struct target *t = in->target;
  memset(out, 0, sizeof(*out));
  set_na(out);
  out->goal = t->rule.value;
  if (t->rule.op == OP_IN) {
    out->goal_low = t->rule.low;
    out->goal_high = t->rule.high;
  }
  out->period_start_ms = period_start_ms(&t->period);
  out->period_end_ms = period_end_ms(&t->period);
  if (rc->latest)
    out->data_end_ms = eval_data_end(in->grain, in->at_start, rc->latest);

  if (in->now_ms < out->period_start_ms) {
    char when[40];
    timefmt_iso(out->period_start_ms, when, sizeof(when));
    snprintf(out->reason, sizeof(out->reason), "the period starts %.10s", when);
    out->raw = CLASS_PENDING;
    return false;
  }
  return true;
}

void eval_target_days(const struct eval_input *in, const struct eval_day *days,
                      size_t ndays, const struct eval_recent *rc,
                      struct eval_result *out, struct eval_traj *traj) {
  struct eval_sweep sw;
  char invalid[200] = "";
  size_t first;
  if (!eval_result_begin(in, rc, out))
    return;
  first = eval_sweep_first(days, ndays, out->period_start_ms);
  eval_sweep_begin(&sw, in, days, first, out->period_start_ms,
                   out->period_end_ms);
  for (size_t i = first; i < ndays; i++)
    eval_sweep_day(&sw, &days[i], traj);
  eval_sweep_finish(&sw, days, first, ndays, out, invalid, sizeof(invalid));
  eval_classify(in, rc, out, invalid);
}

static bool immediate(enum eval_class c) {
  return c == CLASS_PENDING || c == CLASS_NO_DATA || c == CLASS_ACHIEVED ||
         c == CLASS_MISSED;
}

bool eval_next_class(const struct target *t, const struct eval_result *res,
                     int64_t now_ms, struct eval_state *st) {
  enum eval_class raw = res->raw;
  /* New data: a later observation, or a revised one at the same time. A
   * pass over unchanged data (the timer, `once` run again) confirms
   * nothing. */
  bool new_data = res->ref_ms > st->data_ms ||
                  (res->ref_ms == st->data_ms && res->ref_ms &&
                   !(res->actual == st->data_actual) && isfinite(res->actual));
  bool changed = false;

  if (!st->known || immediate(raw) || immediate(st->cls) ||
      (res->breach && raw == CLASS_OFF_TRACK)) {
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
  return changed;
}

/* ---- messages ---- */

void eval_message(const struct target *t, const struct eval_result *res,
                  enum eval_class cls, char *buf, size_t len) {
  const char *unit = t->unit ? t->unit : "";
  const char *sp = unit[0] && unit[0] != '%' ? " " : "";
  char a[32], e[32], p[32], goal[80], x[32];
  bool final = cls == CLASS_ACHIEVED || cls == CLASS_MISSED;
  format_number(res->actual, a, sizeof(a));
  format_number(res->expected, e, sizeof(e));
  format_number(res->projected, p, sizeof(p));
  rule_goal_text(&t->rule, goal, sizeof(goal));
  if (res->reason[0] && (cls == CLASS_NO_DATA || cls == CLASS_PENDING)) {
    snprintf(buf, len, "%s", res->reason);
    return;
  }
  switch (t->rule.measure) {
  case MEASURE_TOTAL:
    if (final) {
      snprintf(buf, len, "%s%s%s vs goal %s%s%s: %s", a, sp, unit, goal, sp,
               unit,
               cls == CLASS_ACHIEVED ? "goal reached" : "goal not reached");
      return;
    }
    if (cls == CLASS_ACHIEVED || !isfinite(res->required_rate)) {
      snprintf(buf, len,
               "%s%s%s so far vs %s expected by now; projected %s at the "
               "deadline vs goal %s (score %.2f)",
               a, sp, unit, e, p, goal, res->score);
      return;
    }
    format_number(res->required_rate, x, sizeof(x));
    snprintf(
        buf, len,
        "%s%s%s so far vs %s expected by now; projected %s at the "
        "deadline vs goal %s (score %.2f); needs %s%s%s per " EVAL_RATE_PER,
        a, sp, unit, e, p, goal, res->score, x, sp, unit);
    return;
  case MEASURE_MEAN:
    format_number(res->remaining_budget, x, sizeof(x));
    if (final) {
      snprintf(buf, len, "mean %s%s%s over %d valid days vs goal %s: %s", a, sp,
               unit, res->valid_days, goal,
               cls == CLASS_ACHIEVED ? "goal met" : "goal missed");
      return;
    }
    snprintf(buf, len,
             "mean %s%s%s over %d valid days (%s expected %s); projected %s "
             "vs goal %s (score %.2f)%s%s%s%s",
             a, sp, unit, res->valid_days, e,
             t->pace.kind == PACE_SEASONAL ? "on the seasonal pace" : "by now",
             p, goal, res->score,
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
             "deadline vs goal %s (score %.2f)",
             a, sp, unit, e, p, goal, res->score);
    return;
  case MEASURE_MIN:
  case MEASURE_MAX: {
    const char *which = t->rule.measure == MEASURE_MIN ? "lowest" : "highest";
    if (final || res->breach) {
      snprintf(buf, len, "%s %s%s%s in the period vs goal %s: %s", which, a, sp,
               unit, goal,
               cls == CLASS_ACHIEVED ? "held all period"
               : final               ? "not held"
                                     : "broken, the goal cannot be met");
      return;
    }
    snprintf(buf, len,
             "%s %s%s%s so far, held; heading for %s by the deadline vs goal "
             "%s (score %.2f)",
             which, a, sp, unit, p, goal, res->score);
    return;
  }
  case MEASURE_GROWTH:
    snprintf(buf, len,
             "year-to-date growth %s%%; projected %s%% for the period vs goal "
             "%s%% (score %.2f)",
             a, p, goal, res->score);
    return;
  }
}
