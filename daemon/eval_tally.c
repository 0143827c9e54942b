#include "eval_tally.h"

#include "eval_private.h"
#include "util.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The earliest entry a target reads: its period, the prior year (growth)
 * and what came before (staleness and gaps). */
#define LOOK_BACK_MS (366 * 86400000LL)

static uint64_t mix(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * UINT64_C(1099511628211);
  return h;
}

#define MIX(h, v) mix((h), &(v), sizeof(v))

/* Everything the days and the sweep depend on, field by field (no
 * padding hashed). */
static uint64_t fingerprint(const struct target *t, enum series_kind kind,
                            const char *zone) {
  uint64_t h = UINT64_C(1469598103934665603);
  int measure = (int)t->rule.measure, op = (int)t->rule.op;
  int pace = (int)t->pace.kind, validity = (int)t->validity, k = (int)kind;
  h = mix(h, t->series, strlen(t->series) + 1);
  h = mix(h, zone ? zone : "", zone ? strlen(zone) + 1 : 1);
  h = MIX(h, measure);
  h = MIX(h, op);
  h = MIX(h, t->rule.value);
  h = MIX(h, t->rule.low);
  h = MIX(h, t->rule.high);
  h = MIX(h, t->period.from_year);
  h = MIX(h, t->period.from_month);
  h = MIX(h, t->period.from_day);
  h = MIX(h, t->period.to_year);
  h = MIX(h, t->period.to_month);
  h = MIX(h, t->period.to_day);
  h = MIX(h, pace);
  h = mix(h, t->pace.v, sizeof(t->pace.v));
  h = MIX(h, t->pace.from_month);
  h = MIX(h, t->pace.from_day);
  h = MIX(h, t->pace.to_month);
  h = MIX(h, t->pace.to_day);
  h = MIX(h, validity);
  h = MIX(h, t->has_baseline);
  h = MIX(h, t->baseline);
  h = MIX(h, k);
  return h;
}

void eval_tally_init(struct eval_tally *ta, const struct target *t,
                     enum series_kind kind, const char *zone) {
  int64_t start = period_start_ms(&t->period), end = period_end_ms(&t->period);
  memset(ta, 0, sizeof(*ta));
  ta->print = fingerprint(t, kind, zone);
  ta->lo = start - LOOK_BACK_MS;
  ta->days_from = eval_days_from(t);
  ta->end = end;
  /* A quarter's growth leaves out the three quarters between the prior
   * period and this one (as eval_target does). */
  ta->skip_from =
      t->rule.measure == MEASURE_GROWTH ? eval_year_before(end) : start;
  ta->skip_to = start;
  ta->ck = xcalloc(1, sizeof(*ta->ck));
  eval_tally_reset(ta);
}

void eval_tally_free(struct eval_tally *ta) {
  free(ta->days);
  free(ta->ck);
  ta->days = NULL;
  ta->ck = NULL;
  ta->ndays = ta->cap = 0;
}

bool eval_tally_fits(const struct eval_tally *ta, const struct target *t,
                     enum series_kind kind, const char *zone) {
  return ta->ck && ta->print == fingerprint(t, kind, zone);
}

void eval_tally_reset(struct eval_tally *ta) {
  ta->next_ms = ta->lo;
  ta->next_seq = 0;
  ta->from_start = true;
  ta->generation++;
  ta->ndays = 0;
  ta->cur_start = 0;
  ta->cur_end = INT64_MIN;
  ta->first_ms = INT64_MAX;
  ta->nrecent = 0;
  ta->dirty_day = INT64_MIN;
  ta->cleared = false;
  ta->ck_valid = false;
}

void eval_tally_read_from(const struct eval_tally *ta, char *buf, size_t len) {
  if (ta->from_start)
    snprintf(buf, len, "%" PRId64, ta->next_ms);
  else
    snprintf(buf, len, "(%" PRId64 "-%" PRIu64, ta->next_ms, ta->next_seq);
}

static bool in_days(const struct eval_tally *ta, int64_t ms) {
  return ms >= ta->days_from && ms < ta->end &&
         !(ms >= ta->skip_from && ms < ta->skip_to);
}

void eval_tally_add(struct eval_tally *ta, int64_t ms, uint64_t seq, double v) {
  struct eval_day *d;
  int64_t day;
  ta->next_ms = ms;
  ta->next_seq = seq;
  ta->from_start = false;
  if (!isfinite(v))
    return;
  if (ms < ta->first_ms)
    ta->first_ms = ms;
  /* Entries come in ascending order (a rewind drops the recent times it
   * reads again), so the latest times are a sliding window. */
  if (!ta->nrecent || ms > ta->recent[ta->nrecent - 1]) {
    if (ta->nrecent == EVAL_TALLY_RECENT) {
      memmove(ta->recent, ta->recent + 1,
              (EVAL_TALLY_RECENT - 1) * sizeof(*ta->recent));
      ta->nrecent--;
    }
    ta->recent[ta->nrecent++] = ms;
  }
  if (!in_days(ta, ms))
    return;
  /* One time zone conversion a day, not one per observation. */
  if (ms < ta->cur_start || ms >= ta->cur_end) {
    day = eval_local_day(ms);
    ta->cur_start = eval_day_start_ms(day);
    ta->cur_end = eval_day_start_ms(day + 1);
  } else {
    day = ta->days[ta->ndays - 1].day;
  }
  if (!ta->ndays || ta->days[ta->ndays - 1].day != day) {
    xgrow((void **)&ta->days, &ta->cap, ta->ndays + 1, sizeof(*ta->days));
    ta->days[ta->ndays++] = (struct eval_day){day, ms, v, v, 0, v, v, 0};
  }
  d = &ta->days[ta->ndays - 1];
  d->last_ms = ms;
  d->last = v;
  d->sum += v;
  d->count++;
  if (v < d->min)
    d->min = v;
  if (v > d->max)
    d->max = v;
  if (day < ta->dirty_day)
    ta->dirty_day = day;
}

bool eval_tally_rewind(struct eval_tally *ta, int64_t from_ms) {
  int64_t day, start;
  /* Only what was read already can be stale. */
  if (ta->from_start ? from_ms >= ta->next_ms : from_ms > ta->next_ms)
    return false;
  /* Before what is read (STORE_HISTORY_ALL among such times): all of it
   * again, without taking the day of a time that may be out of range. */
  if (from_ms <= ta->lo) {
    eval_tally_reset(ta);
    return true;
  }
  day = eval_local_day(from_ms);
  start = eval_day_start_ms(day);
  if (start <= ta->lo) {
    eval_tally_reset(ta);
    return true;
  }
  while (ta->ndays && ta->days[ta->ndays - 1].day >= day)
    ta->ndays--;
  while (ta->nrecent && ta->recent[ta->nrecent - 1] >= start)
    ta->nrecent--;
  if (ta->first_ms >= start)
    ta->first_ms = INT64_MAX;
  if (day < ta->dirty_day)
    ta->dirty_day = day;
  ta->cur_end = INT64_MIN;
  ta->next_ms = start;
  ta->next_seq = 0;
  ta->from_start = true;
  ta->generation++;
  return false;
}

bool eval_tally_trimmed(struct eval_tally *ta, int64_t before_ms) {
  int64_t day = eval_local_day(before_ms);
  size_t drop = 0, keep = 0;
  if (ta->first_ms >= before_ms)
    return false; /* nothing held was removed */
  /* A cut inside a day would need that day's remaining entries again:
   * read everything again (the store cuts at a day's start). */
  if (eval_day_start_ms(day) != before_ms) {
    eval_tally_reset(ta);
    return true;
  }
  if (ta->from_start ? ta->next_ms <= before_ms : ta->next_ms < before_ms) {
    /* The read has not reached the cut (a first read under way, or the
     * cut removed everything): nothing held stays, and reading from the
     * start again reads only what is left. */
    eval_tally_reset(ta);
    return false;
  }
  while (drop < ta->ndays && ta->days[drop].day < day)
    drop++;
  if (drop) {
    memmove(ta->days, ta->days + drop, (ta->ndays - drop) * sizeof(*ta->days));
    ta->ndays -= drop;
  }
  /* The latest times are the newest entries: those that stay are the
   * latest of what is left. */
  while (keep < ta->nrecent && ta->recent[keep] < before_ms)
    keep++;
  memmove(ta->recent, ta->recent + keep,
          (ta->nrecent - keep) * sizeof(*ta->recent));
  ta->nrecent -= keep;
  ta->first_ms = before_ms; /* at most the earliest left */
  /* Every trajectory point after a removed day may change, and the
   * removed days' points go: ind:p written whole, the sweep from the
   * first day. */
  ta->dirty_day = INT64_MIN;
  ta->ck_valid = false;
  ta->cur_end = INT64_MIN;
  return false;
}

bool eval_tally_judge(struct eval_tally *ta, const struct eval_input *in,
                      struct eval_result *out, struct eval_traj *traj,
                      int64_t *traj_from) {
  struct eval_recent rc;
  struct eval_sweep sw;
  char invalid[200] = "";
  size_t first, changed, start;
  bool write;

  memset(&rc, 0, sizeof(rc));
  if (ta->nrecent) {
    rc.latest = ta->recent[ta->nrecent - 1];
    for (size_t i = ta->nrecent - 1; i > 0 && rc.ngaps < EVAL_RECENT_GAPS; i--)
      rc.gaps[rc.ngaps++] = ta->recent[i] - ta->recent[i - 1];
  }
  *traj_from = 0;
  if (!eval_result_begin(in, &rc, out)) {
    /* Before the period there is no trajectory: ind:p emptied once, and
     * written whole when the period begins. */
    ta->ck_valid = false;
    ta->dirty_day = INT64_MIN;
    if (ta->cleared)
      return false;
    ta->cleared = true;
    return true;
  }
  first = eval_sweep_first(ta->days, ta->ndays, out->period_start_ms);
  changed = ta->ndays;
  while (changed > 0 && ta->days[changed - 1].day >= ta->dirty_day)
    changed--;
  if (ta->ck_valid && ta->ck_first == first && ta->ck_days >= first &&
      ta->ck_days <= changed) {
    sw = *ta->ck;
    sw.in = in;
    sw.t = in->target;
    sw.prior = ta->days;
    start = ta->ck_days;
  } else {
    eval_sweep_begin(&sw, in, ta->days, first, out->period_start_ms,
                     out->period_end_ms);
    start = first;
  }
  /* The last day may still gain observations: the next judgement goes on
   * from before it. */
  ta->ck_valid = false;
  for (size_t i = start; i < ta->ndays; i++) {
    if (i + 1 == ta->ndays) {
      *ta->ck = sw;
      ta->ck_days = i;
      ta->ck_first = first;
      ta->ck_valid = true;
    }
    eval_sweep_day(&sw, &ta->days[i], i >= changed ? traj : NULL);
  }
  eval_sweep_finish(&sw, ta->days, first, ta->ndays, out, invalid,
                    sizeof(invalid));
  eval_classify(in, &rc, out, invalid);
  write = ta->dirty_day != INT64_MAX;
  if (ta->dirty_day != INT64_MIN && write)
    *traj_from = eval_day_start_ms(ta->dirty_day);
  ta->dirty_day = INT64_MAX;
  ta->cleared = false;
  return write;
}
