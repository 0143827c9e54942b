/* The targets module's internals: what targets_pass.c and targets_io.c
 * provide to targets.c and to each other. */
#ifndef INDICATORD_TARGETS_PRIVATE_H
#define INDICATORD_TARGETS_PRIVATE_H

#include "targets.h"

#include <hiredis/hiredis.h>

/* ---- targets.c ---- */

/* --now: a what-if (fresh state, nothing written). */
bool targets_what_if(const struct targets *tg);
/* Whether target i is judged (its series known and, in the daemon, its
 * feed's first fetch since the start finished). */
bool targets_judging(const struct targets *tg, size_t i);
/* Judges target i from its tally and queues what it writes. */
void targets_judge(struct targets *tg, size_t i);
/* The pass ended: ok false retries it soon. */
void targets_finish_pass(struct targets *tg, bool ok);
/* Series was rewritten from ms on, or trimmed before ms: its targets'
 * tallies hear of it and want a pass. */
void targets_history(struct targets *tg, const char *series,
                     enum store_history what, int64_t ms);

/* ---- targets_pass.c ---- */

/* Reads and judges the targets that want it, once the store's queue is
 * written. */
void targets_pass_begin(struct targets *tg);
/* A reload replaces the states: the running pass stops reading (its
 * replies are stale: tg->epoch) and its targets want another pass. */
void targets_pass_drop(struct targets *tg);
/* After a reload: the dropped pass ends once nothing is due. */
void targets_pass_continue(struct targets *tg);

/* ---- targets_io.c ---- */

/* ind:t:<target> as stored: the class, the hysteresis state, the incident,
 * and the numbers and message shown until the target is judged again. */
void targets_io_restore(struct target_state *ts, const redisReply *r);
/* One XRANGE reply into the tally; returns the entries it held. */
size_t targets_io_points(struct eval_tally *ta, const redisReply *r);
/* HGET ind:m:<series> grain into ts->grain (GRAIN_INSTANT when unknown). */
void targets_io_grain(struct target_state *ts, const redisReply *r);

/* Queues ind:t:<target>, ind:status and ind:targets. */
void targets_io_write(struct targets *tg, const struct target *t,
                      const struct target_state *ts, int64_t now);
/* Queues a class change to ind:events. */
void targets_io_event(struct targets *tg, const struct target *t,
                      enum eval_class from, bool first,
                      const struct target_state *ts);
/* Replaces ind:p:<target>'s entries from from_ms on by traj. */
void targets_io_trajectory(struct targets *tg, const struct target *t,
                           int64_t from_ms, const struct eval_traj *traj);

#endif
