/* The evaluate half on the loop: reads each target's series from Redis,
 * judges it (eval), keeps hysteresis state (restored from Redis, so a
 * restart neither forgets nor repeats), and writes ind:t:<target>,
 * ind:p:<target> (the trajectory, rewritten from its first changed point),
 * ind:status, ind:targets and class changes to ind:events through the
 * store's queue. Runs within a second of new data (a throttle,
 * eval_trigger), on a timer, and as soon as Redis answers after a start.
 * In the daemon a target is judged only once its feed's first fetch since
 * the start has finished; until then it shows its stored state, or
 * `pending`. With a fixed `now` (--now) a pass is a what-if: fresh state,
 * only observations at or before now, nothing written.
 *
 * Two files: targets.c (passes, triggers, rows), targets_io.c (what is
 * read from and written to Redis); internals in targets_private.h. */
#ifndef INDICATORD_TARGETS_H
#define INDICATORD_TARGETS_H

#include "config.h"
#include "eval.h"
#include "eval_trigger.h"
#include "store.h"
#include "table.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* The alert incident of a target: open from entering a bad class until it
 * is back on track; persisted in ind:t:<target> with the rest. */
struct incident {
  char id[96]; /* "" when none is open */
  bool notified;
  int64_t opened_ms, last_notified_ms;
  enum eval_class cls; /* class last notified */
};

/* A trajectory point as written to ind:p (its time and a hash of its
 * numbers): the next pass rewrites from the first point that differs. */
struct traj_mark {
  int64_t t;
  uint64_t hash;
};

struct target_state {
  struct eval_state st;
  struct incident inc;
  bool restored;    /* ind:t was read (whatever it held) */
  bool have_result; /* numbers to show: judged, or restored from ind:t */
  bool judged;      /* judged by this process */
  struct eval_result res;
  char message[512];
  /* This pass's reads. */
  struct eval_point *pts;
  size_t npts;
  bool read_ok;
  enum timefmt_grain grain; /* of the series (ind:m:<series> grain) */
  /* What ind:p:<target> holds; unknown until written once. */
  struct traj_mark *traj;
  size_t ntraj;
  bool traj_known;
};

struct targets;
/* Called for every target evaluated, before its results are written (so
 * that what it queues precedes them): from is the class before, first is
 * set on a target's first evaluation. Not called in a what-if. */
typedef void (*targets_eval_cb)(void *data, const struct target *t,
                                struct target_state *ts, enum eval_class from,
                                bool first, bool changed, int64_t now_ms);
typedef void (*targets_done_cb)(struct targets *tg, bool ok);

struct targets {
  uv_loop_t *loop;
  struct store *store;
  const struct config *cfg;
  struct target_state *states;
  size_t n;
  /* Per target of cfg: its feed and series. */
  const struct feed **feed_of;
  const struct feed_series **series_of;
  /* Per feed of cfg: whether its first fetch since the start finished,
   * and whether a target reads it. */
  bool *fetched, *feed_used;
  uv_timer_t timer;     /* periodic evaluation */
  uv_timer_t trigger;   /* new data (throttled), and retries */
  uint64_t trigger_due; /* loop time the trigger timer fires; 0: idle */
  struct eval_trigger trig;
  int64_t fixed_now; /* --now: a what-if; 0: the wall clock */
  bool gate;         /* judge a target only after its feed's first fetch */
  /* Several instances: only the leader judges; a follower's passes read
   * the leader's judgements (ind:t) for its table. */
  bool follower;
  unsigned generation; /* of the leadership: older reads are dropped */
  bool busy, again, closing;
  bool waiting; /* for Redis to answer (logged once) */
  size_t reads_pending;
  bool reads_failed;
  targets_eval_cb on_eval;
  void *data;
  targets_done_cb on_pass; /* one-shot, for once */
  int pending_closes;      /* the timers, until closed */
  void (*on_closed)(struct targets *tg);
};

/* Prepares state for every target of cfg. periodic (the daemon): starts
 * the timer, and judges a target only once its feed's first fetch has
 * finished. Cannot fail. */
void targets_init(struct targets *tg, uv_loop_t *loop, struct store *store,
                  const struct config *cfg, bool periodic);
/* Points at a reloaded config; state of targets kept by id, fetched feeds
 * by id. */
void targets_set_config(struct targets *tg, const struct config *cfg);
/* A fetch of feed finished (whatever its outcome); new_data: it brought
 * observations. Evaluates within a second when that matters. */
void targets_fetched(struct targets *tg, const struct feed *feed,
                     bool new_data);
/* Leader (judges) or follower (shows the leader's judgements). A new
 * leader starts from what Redis holds: every target's state, incident and
 * trajectory are read again. */
void targets_set_leader(struct targets *tg, bool leader);
/* Evaluates every target now (or as soon as Redis answers); done (if set)
 * runs when the results are computed and queued, or ok false when the
 * targets close first. */
void targets_evaluate(struct targets *tg, targets_done_cb done);
void targets_close(struct targets *tg, void (*on_closed)(struct targets *));

int64_t targets_now(const struct targets *tg);
/* The table row of target i (borrows strings from the state). */
void targets_row(const struct targets *tg, size_t i, struct table_row *r);
/* Whether target i waits for its feed's first fetch since the start (not
 * judged yet, no stored judgement): bounded by the feed's timeout. */
bool targets_awaiting_feed(const struct targets *tg, size_t i);
/* Class counts, for STATUS= and /metrics (a target not judged yet counts
 * as pending). */
void targets_count(const struct targets *tg, size_t counts[EVAL_NCLASSES]);

#endif
