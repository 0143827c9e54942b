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

/* The measure of in->target over days (ascending; from the prior period's
 * start for growth, else from the period's start; none after the period):
 * out's numbers, ref_ms and points; the trajectory when traj is set. A
 * statistic that can no longer be valid (GB 3095) is described in invalid;
 * a growth target without the prior period's data gets out->reason. */
void eval_measure(const struct eval_input *in, const struct eval_day *days,
                  size_t ndays, struct eval_result *out, struct eval_traj *traj,
                  char *invalid, size_t invlen);
/* The score r for a projection (1.0 = on pace) for the rule's shape;
 * baseline is used by latest rules only. */
double eval_score(const struct target *t, double projected, double baseline);

#endif
