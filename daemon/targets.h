/* The evaluate half on the loop: reads each target's series from Redis,
 * judges it (eval), keeps hysteresis state (restored from Redis, so a
 * restart neither forgets nor repeats), and writes ind:t:<target>,
 * ind:p:<target>, ind:status, ind:targets and class changes to ind:events
 * through the store's queue. Runs on new data (debounced) and on a timer. */
#ifndef INDICATORD_TARGETS_H
#define INDICATORD_TARGETS_H

#include "config.h"
#include "eval.h"
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

struct target_state {
  struct eval_state st;
  struct incident inc;
  bool restored;    /* state read from Redis */
  bool have_result; /* evaluated at least once in this process */
  struct eval_result res;
  char message[512];
  struct eval_point *pts;
  size_t npts;
  bool read_ok;
};

struct targets;
/* Called for every target evaluated, before its results are written (so
 * that what it queues precedes them): from is the class before, first is
 * set on a target's first evaluation. */
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
  uv_timer_t timer;    /* periodic evaluation */
  uv_timer_t debounce; /* after new data */
  int64_t fixed_now;   /* --now; 0: the wall clock */
  bool busy, again, closing;
  size_t reads_pending;
  bool reads_failed;
  targets_eval_cb on_eval;
  void *data;
  targets_done_cb on_pass; /* one-shot, for once */
  int pending_closes;      /* the timers, until closed */
  void (*on_closed)(struct targets *tg);
};

/* Prepares state for every target of cfg and starts the timer (when
 * periodic). Cannot fail. */
void targets_init(struct targets *tg, uv_loop_t *loop, struct store *store,
                  const struct config *cfg, bool periodic);
/* Points at a reloaded config; state of targets kept by id. */
void targets_set_config(struct targets *tg, const struct config *cfg);
/* New observations for feed arrived: evaluate soon. */
void targets_data_changed(struct targets *tg, const struct feed *feed);
/* Evaluates every target now; done (if set) runs when the results are
 * computed and queued. */
void targets_evaluate(struct targets *tg, targets_done_cb done);
void targets_close(struct targets *tg, void (*on_closed)(struct targets *));

int64_t targets_now(const struct targets *tg);
/* The table row of target i (borrows strings from the state). */
void targets_row(const struct targets *tg, size_t i, struct table_row *r);
/* Class counts, for STATUS= and /metrics. */
void targets_count(const struct targets *tg, size_t counts[EVAL_NCLASSES]);

#endif
