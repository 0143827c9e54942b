/* The targets module's internals: what targets_io.c reads from and writes
 * to Redis for targets.c. */
#ifndef INDICATORD_TARGETS_PRIVATE_H
#define INDICATORD_TARGETS_PRIVATE_H

#include "targets.h"

#include <hiredis/hiredis.h>

/* ind:t:<target> as stored: the class, the hysteresis state, the incident,
 * and the numbers and message shown until the target is judged again. */
void targets_io_restore(struct target_state *ts, const redisReply *r);
/* XRANGE of the series into ts->pts. */
void targets_io_points(struct target_state *ts, const redisReply *r);
/* HGET ind:m:<series> grain into ts->grain (GRAIN_INSTANT when unknown). */
void targets_io_grain(struct target_state *ts, const redisReply *r);

/* Queues ind:t:<target>, ind:status and ind:targets. */
void targets_io_write(struct targets *tg, const struct target *t,
                      const struct target_state *ts, int64_t now);
/* Queues a class change to ind:events. */
void targets_io_event(struct targets *tg, const struct target *t,
                      enum eval_class from, bool first,
                      const struct target_state *ts);
/* Rewrites ind:p:<target> from the first point of traj that differs from
 * what it holds (all of it the first time), and remembers traj. */
void targets_io_trajectory(struct targets *tg, const struct target *t,
                           struct target_state *ts,
                           const struct eval_traj *traj);

#endif
