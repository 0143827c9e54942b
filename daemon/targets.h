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
 * What a pass reads follows the new data, not the history (contract §5):
 * each target keeps an eval_tally of its series; a pass reads only the
 * targets whose series gained data, were rewritten (the store says so,
 * store_on_history) or whose feed answered for the first time, all of them
 * on the timer, and each only from where its tally stopped, in chunks
 * (COUNT), a few targets at a time; read targets are judged a slice of
 * the loop's turn at a time, so the loop is never held for long, also
 * while years of history load after a start.
 *
 * Three files: targets.c (triggers, judging, rows), targets_pass.c (a
 * pass: what is read when, the chunks, the slices), targets_io.c (what is
 * read from and written to Redis); internals in targets_private.h. */
#ifndef INDICATORD_TARGETS_H
#define INDICATORD_TARGETS_H

#include "config.h"
#include "eval.h"
#include "eval_tally.h"
#include "eval_trigger.h"
#include "store.h"
#include "strmap.h"
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
  bool restored;    /* ind:t was read (whatever it held) */
  bool have_result; /* numbers to show: judged, or restored from ind:t */
  bool judged;      /* judged by this process */
  struct eval_result res;
  char message[512];
  enum timefmt_grain grain; /* of the series (ind:m:<series> grain) */
  /* What the judgement is kept from (eval_tally): set up at the first
   * pass that reads the series, and again when a reload changed what it
   * depends on. */
  struct eval_tally tally;
  bool tally_ready;
  bool want;    /* to be read and judged by a pass (new data, a rewrite) */
  bool in_pass; /* taken by the running pass, not finished */
  bool judge;   /* ... to be judged (else only its ind:t is read) */
  bool ready;   /* ... read, waiting in the pass's queue to be judged */
  bool failed;  /* ... a read got no answer, or Redis refused it */
  int replies;  /* ... replies it still waits for */
  uint64_t gen; /* the tally's generation its reads were sent at */
};

struct targets;
/* Called for every target evaluated, before its results are written (so
 * that what it queues precedes them): from is the class before, first is
 * set on a target's first evaluation. Not called in a what-if. */
typedef void (*targets_eval_cb)(void *data, const struct target *t,
                                struct target_state *ts, enum eval_class from,
                                bool first, bool changed, int64_t now_ms);
typedef void (*targets_done_cb)(struct targets *tg, bool ok);

/* Evaluation counters, for /metrics. */
struct targets_stats {
  uint64_t passes;      /* passes finished */
  uint64_t evaluations; /* targets judged */
  uint64_t entries;     /* stream entries read */
  uint64_t rereads;     /* targets whose series was read again whole */
};

struct targets {
  uv_loop_t *loop;
  struct store *store;
  const struct config *cfg;
  struct target_state *states;
  size_t n;
  /* Per target of cfg: its feed and series, and the next target of the
   * same feed and of the same series (n: none). */
  const struct feed **feed_of;
  const struct feed_series **series_of;
  size_t *next_of_feed, *next_of_series;
  /* Per feed of cfg: its first target (n: none), and whether its first
   * fetch since the start finished. */
  size_t *feed_first;
  bool *fetched;
  struct strmap series_first; /* series id -> first target index + 1 */
  uv_timer_t timer;           /* periodic evaluation */
  uv_timer_t trigger;         /* new data (throttled), and retries */
  uv_idle_t judging;    /* the pass's read targets judged, a slice a turn */
  uint64_t trigger_due; /* loop time the trigger timer fires; 0: idle */
  struct eval_trigger trig;
  int64_t fixed_now; /* --now: a what-if; 0: the wall clock */
  bool gate;         /* judge a target only after its feed's first fetch */
  /* Several instances: only the leader judges; a follower's passes read
   * the leader's judgements (ind:t) for its table. */
  bool follower;
  bool busy, again, closing;
  bool full;    /* the next pass judges every target (timer, start, reload) */
  bool waiting; /* for Redis to answer (logged once) */
  /* The running pass: the next target to consider, the targets with reads
   * in flight, the replies due (all targets), the read targets waiting to
   * be judged (a ring of n), whether a read got no answer. */
  size_t cursor, reading, outstanding;
  size_t *ready, ready_head, nready;
  bool pass_failed;
  bool flushing;     /* the pass waits for the store's queue to be written */
  uint64_t epoch;    /* bumped by a reload: older replies are stale */
  unsigned connects; /* the store's connections seen (see pass) */
  /* The rewrite log (store.h): the ID of the last entry read, once known;
   * a pass reads it before its targets. */
  char log_at[48];
  bool log_known, log_pending;
  struct targets_stats stats;
  targets_eval_cb on_eval;
  void *data;
  targets_done_cb on_pass; /* one-shot, for once */
  int pending_closes;      /* the handles, until closed */
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
