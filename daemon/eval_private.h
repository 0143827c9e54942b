/* The eval module's internals, shared by eval.c, eval_pace.c and
 * eval_measures.c. */
#ifndef INDICATORD_EVAL_PRIVATE_H
#define INDICATORD_EVAL_PRIVATE_H

#include "eval.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVAL_PENDING_PACE 0.10 /* too early to judge below this share */

/* ---- calendar (local time, the installed zone) ---- */
int64_t eval_local_day(int64_t ms);
int64_t eval_day_start_ms(int64_t day);
int eval_month_of_day(int64_t day);
/* The same local civil time one year earlier (Feb 29 becomes Feb 28). */
int64_t eval_year_before(int64_t ms);

/* ---- measures ---- */

/* The running sums of one sweep over a target's days (eval_measures.c):
 * a copy taken between two days is where a later sweep can go on from
 * (eval_tally keeps one), since adding a day never looks back. */
struct eval_sweep {
  const struct eval_input *in;
  const struct target *t;
  int64_t ps, pe; /* the period */
  /* total and growth: the period's total so far */
  double total;
  /* growth: the prior period, read up to the same day a year before */
  const struct eval_day *prior; /* set again by whoever resumes a copy */
  size_t nprior, iprior;
  double prior_ytd, prior_annual;
  bool prior_seen;
  /* mean: sums over valid days; s are the normalised seasonal factors */
  double S, Ssf, s[12];
  int d;
  /* latest, min, max: power sums of x (days since the first point) and of
   * x^k * y, through each day's last value, for the recency-weighted
   * trend; and the extremes so far */
  int64_t t0;
  double n1, sx, sxx, sxxx, sy, sxy, sxxy, xlast;
  double baseline, lo, hi, last;
  size_t days;
  size_t points;   /* observations in the period so far */
  int64_t last_ms; /* the last day's last observation */
};

/* The index of the first day of the period in days (before it: the prior
 * period's, for growth). */
size_t eval_sweep_first(const struct eval_day *days, size_t ndays, int64_t ps);
/* Starts a sweep of in->target over the period [ps, pe); days[0, first)
 * are the prior period's (growth). */
void eval_sweep_begin(struct eval_sweep *sw, const struct eval_input *in,
                      const struct eval_day *days, size_t first, int64_t ps,
                      int64_t pe);
/* Adds the next day of the period; when traj is set, also appends the
 * trajectory point as of that day's last observation. */
void eval_sweep_day(struct eval_sweep *sw, const struct eval_day *day,
                    struct eval_traj *traj);
/* After the last day: out's numbers, ref_ms and points. A statistic that
 * can no longer be valid (GB 3095) is described in invalid (days[first,
 * ndays) are the period's days); a growth target without the prior
 * period's data gets out->reason. */
void eval_sweep_finish(struct eval_sweep *sw, const struct eval_day *days,
                       size_t first, size_t ndays, struct eval_result *out,
                       char *invalid, size_t invlen);

/* The judgement's frame (eval.c): out's goal, period and data end from the
 * target and recent. Returns false when the period has not begun (out is
 * then final: pending), true when the measure is to be swept. */
bool eval_result_begin(const struct eval_input *in,
                       const struct eval_recent *recent,
                       struct eval_result *out);
/* The class from the measure's numbers (invalid: from eval_sweep_finish). */
void eval_classify(const struct eval_input *in, const struct eval_recent *rc,
                   struct eval_result *out, const char *invalid);
/* The score r for a projection (1.0 = on pace) for the rule's shape;
 * baseline is used by latest rules only. */
double eval_score(const struct target *t, double projected, double baseline);

#endif
