#include "targets_private.h"

#include "clock.h"
#include "log.h"
#include "timefmt.h"
#include "utf8.h"
#include "util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* New data: a pass after COALESCE_MS, at most one per MIN_GAP_MS, so
 * within MIN_GAP_MS of the data however continuous it is (contract: 2 s). */
#define COALESCE_MS 200
#define MIN_GAP_MS MS_PER_SECOND
/* Redis not answering (at start, or reads failed): try again this soon. */
#define RETRY_MS 250

int64_t targets_now(const struct targets *tg) {
  return tg->fixed_now ? tg->fixed_now : clock_wall_ms();
}

bool targets_what_if(const struct targets *tg) {
  return tg->fixed_now != 0;
}

static void on_timer(uv_timer_t *t) {
  targets_evaluate(t->data, NULL);
}

static void start_pass(struct targets *tg);

static void on_trigger(uv_timer_t *t) {
  struct targets *tg = t->data;
  tg->trigger_due = 0;
  start_pass(tg);
}

/* Arms the trigger to fire within delay ms; an earlier one stays. */
static void arm(struct targets *tg, int64_t delay) {
  uint64_t due = uv_now(tg->loop) + (uint64_t)(delay > 0 ? delay : 0);
  if (tg->closing || (tg->trigger_due && tg->trigger_due <= due))
    return;
  tg->trigger_due = due;
  uv_timer_start(&tg->trigger, on_trigger, due - uv_now(tg->loop), 0);
}

/* New data for some targets: a pass within a second (the throttle). */
static void new_data(struct targets *tg) {
  int64_t delay = eval_trigger_data(&tg->trig, (int64_t)uv_now(tg->loop));
  if (delay >= 0)
    arm(tg, delay);
}

/* Each target's feed and series, and the targets of each feed and series,
 * through maps (O(targets + series), also with 10,000 of each). */
static void resolve(struct targets *tg) {
  const struct config *cfg = tg->cfg;
  struct strmap series, feeds;
  size_t *tail = xcalloc(tg->n + 1, sizeof(*tail));
  strmap_init(&series, 16);
  strmap_init(&feeds, 16);
  for (size_t f = 0; f < cfg->nfeeds; f++)
    for (size_t j = 0; j < cfg->feeds[f].nseries; j++) {
      strmap_put(&series, cfg->feeds[f].series[j].id, &cfg->feeds[f].series[j]);
      strmap_put(&feeds, cfg->feeds[f].series[j].id, &cfg->feeds[f]);
    }
  tg->feed_of = xcalloc(tg->n + 1, sizeof(*tg->feed_of));
  tg->series_of = xcalloc(tg->n + 1, sizeof(*tg->series_of));
  tg->next_of_feed = xcalloc(tg->n + 1, sizeof(*tg->next_of_feed));
  tg->next_of_series = xcalloc(tg->n + 1, sizeof(*tg->next_of_series));
  tg->feed_first = xcalloc(cfg->nfeeds + 1, sizeof(*tg->feed_first));
  tg->fetched = xcalloc(cfg->nfeeds + 1, sizeof(*tg->fetched));
  strmap_init(&tg->series_first, tg->n);
  for (size_t f = 0; f < cfg->nfeeds; f++)
    tg->feed_first[f] = tg->n;
  for (size_t i = 0; i < tg->n; i++) {
    const char *sid = cfg->targets[i].series;
    const void *first = strmap_get(&tg->series_first, sid);
    tg->series_of[i] = strmap_get(&series, sid);
    tg->feed_of[i] = strmap_get(&feeds, sid);
    tg->next_of_feed[i] = tg->next_of_series[i] = tg->n;
    if (!first) {
      strmap_put(&tg->series_first, sid, (const void *)(uintptr_t)(i + 1));
      tail[i] = i;
    } else {
      size_t head = (size_t)(uintptr_t)first - 1;
      tg->next_of_series[tail[head]] = i;
      tail[head] = i;
    }
  }
  /* Each feed's targets, in order: built backwards. */
  for (size_t i = tg->n; i-- > 0;)
    if (tg->feed_of[i]) {
      size_t f = (size_t)(tg->feed_of[i] - cfg->feeds);
      tg->next_of_feed[i] = tg->feed_first[f];
      tg->feed_first[f] = i;
    }
  strmap_free(&series);
  strmap_free(&feeds);
  free(tail);
}

static void unresolve(struct targets *tg) {
  free(tg->feed_of);
  free(tg->series_of);
  free(tg->next_of_feed);
  free(tg->next_of_series);
  free(tg->feed_first);
  free(tg->fetched);
  strmap_free(&tg->series_first);
  tg->feed_of = NULL;
  tg->series_of = NULL;
  tg->next_of_feed = tg->next_of_series = tg->feed_first = NULL;
  tg->fetched = NULL;
}

static void on_history(void *data, const char *series, enum store_history what,
                       int64_t ms);

void targets_init(struct targets *tg, uv_loop_t *loop, struct store *store,
                  const struct config *cfg, bool periodic) {
  memset(tg, 0, sizeof(*tg));
  tg->loop = loop;
  tg->store = store;
  tg->cfg = cfg;
  tg->gate = periodic;
  tg->n = cfg->ntargets;
  tg->states = xcalloc(tg->n ? tg->n : 1, sizeof(*tg->states));
  tg->ready = xcalloc(tg->n ? tg->n : 1, sizeof(*tg->ready));
  resolve(tg);
  eval_trigger_init(&tg->trig, COALESCE_MS, MIN_GAP_MS);
  /* Cannot fail: timer and idle inits only record the loop. */
  uv_timer_init(loop, &tg->timer);
  uv_timer_init(loop, &tg->trigger);
  uv_idle_init(loop, &tg->judging);
  tg->timer.data = tg->trigger.data = tg->judging.data = tg;
  store_on_history(store, on_history, tg);
  if (periodic)
    uv_timer_start(&tg->timer, on_timer, (uint64_t)cfg->evaluate_every_ms,
                   (uint64_t)cfg->evaluate_every_ms);
}

static void free_state(struct target_state *ts) {
  if (ts->tally_ready)
    eval_tally_free(&ts->tally);
  ts->tally_ready = false;
}

void targets_set_config(struct targets *tg, const struct config *cfg) {
  struct target_state *old = tg->states;
  const struct config *oldcfg = tg->cfg;
  bool *old_fetched = tg->fetched;
  size_t nold = tg->n;
  struct strmap ids;

  /* Replies to the running pass's reads point into the old states. */
  tg->epoch++;
  targets_pass_drop(tg);
  tg->fetched = NULL; /* old_fetched is freed below, after the copy */
  unresolve(tg);
  tg->cfg = cfg;
  tg->n = cfg->ntargets;
  tg->states = xcalloc(tg->n ? tg->n : 1, sizeof(*tg->states));
  free(tg->ready);
  tg->ready = xcalloc(tg->n ? tg->n : 1, sizeof(*tg->ready));
  resolve(tg);
  /* Old ids are borrowed from the old config, still alive here. */
  strmap_init(&ids, nold + oldcfg->nfeeds);
  for (size_t j = 0; j < nold; j++)
    strmap_put(&ids, oldcfg->targets[j].id, &old[j]);
  for (size_t i = 0; i < tg->n; i++) {
    struct target_state *prev =
        (struct target_state *)strmap_get(&ids, cfg->targets[i].id);
    struct target_state *ts = &tg->states[i];
    if (!prev)
      continue;
    *ts = *prev;
    memset(prev, 0, sizeof(*prev));
    /* A changed definition (series, rule, period, pace, ...) or zone
     * reads its series again and redraws its trajectory. */
    if (ts->tally_ready &&
        (!tg->series_of[i] ||
         !eval_tally_fits(&ts->tally, &cfg->targets[i],
                          tg->series_of[i]->meta.kind, cfg->timezone)))
      free_state(ts);
  }
  strmap_free(&ids);
  strmap_init(&ids, oldcfg->nfeeds);
  for (size_t f = 0; f < oldcfg->nfeeds; f++)
    if (old_fetched[f])
      strmap_put(&ids, oldcfg->feeds[f].id, &old_fetched[f]);
  for (size_t f = 0; f < cfg->nfeeds; f++)
    tg->fetched[f] = strmap_get(&ids, cfg->feeds[f].id) != NULL;
  strmap_free(&ids);
  for (size_t j = 0; j < nold; j++)
    free_state(&old[j]);
  free(old);
  free(old_fetched);
  tg->full = true;
  targets_pass_continue(tg);
  uv_timer_stop(&tg->timer);
  if (tg->gate && cfg->evaluate_every_ms)
    uv_timer_start(&tg->timer, on_timer, (uint64_t)cfg->evaluate_every_ms,
                   (uint64_t)cfg->evaluate_every_ms);
}

void targets_set_leader(struct targets *tg, bool leader) {
  tg->follower = !leader;
  /* Replies to the running pass's reads are stale (tg->epoch). */
  tg->epoch++;
  targets_pass_drop(tg);
  for (size_t i = 0; i < tg->n; i++) {
    struct target_state *ts = &tg->states[i];
    /* What this process judged may be behind what Redis holds now, and
     * another leader may have rewritten ind:p: every series read whole,
     * every trajectory drawn whole. */
    memset(&ts->st, 0, sizeof(ts->st));
    memset(&ts->inc, 0, sizeof(ts->inc));
    ts->restored = ts->judged = false;
    if (ts->tally_ready) {
      eval_tally_reset(&ts->tally);
      tg->stats.rereads++;
    }
  }
  targets_pass_continue(tg);
  targets_evaluate(tg, NULL);
}

void targets_fetched(struct targets *tg, const struct feed *feed, bool fresh) {
  size_t fi = (size_t)(feed - tg->cfg->feeds);
  bool first = false, any = false;
  if (tg->closing || fi >= tg->cfg->nfeeds)
    return;
  if (tg->follower) {
    tg->fetched[fi] = true;
    return;
  }
  if (!tg->fetched[fi])
    first = tg->fetched[fi] = true;
  /* Its targets may be judged now; new data is judged within a second. */
  if (!first && !fresh)
    return;
  for (size_t i = tg->feed_first[fi]; i < tg->n; i = tg->next_of_feed[i]) {
    tg->states[i].want = true;
    any = true;
  }
  if (any)
    new_data(tg);
}

/* The store rewrote or trimmed a series' history: its targets read again
 * from there, within a second. */
static void on_history(void *data, const char *series, enum store_history what,
                       int64_t ms) {
  targets_history(data, series, what, ms);
}

void targets_history(struct targets *tg, const char *series,
                     enum store_history what, int64_t ms) {
  const void *first;
  if (tg->closing || !tg->states)
    return;
  first = strmap_get(&tg->series_first, series);
  if (!first)
    return;
  for (size_t i = (size_t)(uintptr_t)first - 1; i < tg->n;
       i = tg->next_of_series[i]) {
    struct target_state *ts = &tg->states[i];
    if (!ts->tally_ready)
      continue;
    if (what == STORE_REWRITTEN ? eval_tally_rewind(&ts->tally, ms)
                                : eval_tally_trimmed(&ts->tally, ms))
      tg->stats.rereads++;
    ts->want = true;
  }
  new_data(tg);
}

bool targets_judging(const struct targets *tg, size_t i) {
  size_t fi;
  if (!tg->series_of[i] || !tg->feed_of[i])
    return false;
  fi = (size_t)(tg->feed_of[i] - tg->cfg->feeds);
  return !tg->gate || tg->fetched[fi];
}

void targets_finish_pass(struct targets *tg, bool ok) {
  targets_done_cb done = tg->on_pass;
  tg->busy = false;
  if (ok)
    tg->stats.passes++;
  if (!ok && !tg->closing) {
    /* Redis did not answer: again as soon as it does, keeping done. */
    arm(tg, RETRY_MS);
    return;
  }
  tg->on_pass = NULL;
  if (done)
    done(tg, ok);
  if (tg->again && !tg->closing) {
    tg->again = false;
    start_pass(tg);
  }
}

static void on_flushed(void *data, bool ok) {
  struct targets *tg = data;
  if (!ok || tg->closing) {
    tg->flushing = false;
    targets_finish_pass(tg, false);
    return;
  }
  tg->flushing = false;
  targets_pass_begin(tg);
}

/* A pass over the targets that want one (all of them when tg->full). */
static void start_pass(struct targets *tg) {
  if (tg->closing)
    return;
  if (tg->busy) {
    tg->again = true;
    return;
  }
  if (!store_is_up(tg->store)) {
    if (!tg->waiting)
      log_debug("targets: Redis is not reachable; evaluating as soon as it "
                "answers");
    tg->waiting = true;
    arm(tg, RETRY_MS);
    return;
  }
  tg->waiting = false;
  tg->busy = true;
  tg->flushing = true;
  eval_trigger_began(&tg->trig, (int64_t)uv_now(tg->loop));
  /* Evaluate on what has been written, not on what is still queued. */
  store_flush(tg->store, on_flushed, tg);
}

void targets_evaluate(struct targets *tg, targets_done_cb done) {
  if (tg->closing) {
    if (done)
      done(tg, false);
    return;
  }
  if (done && !tg->on_pass)
    tg->on_pass = done;
  tg->full = true;
  start_pass(tg);
}

/* ---- judging ---- */

void targets_judge(struct targets *tg, size_t i) {
  const struct target *t = &tg->cfg->targets[i];
  const struct feed_series *s = tg->series_of[i];
  struct target_state *ts = &tg->states[i];
  struct eval_traj traj = {0};
  struct eval_input in;
  enum eval_class before = ts->st.cls;
  int64_t now = targets_now(tg), traj_from;
  bool first, changed, redraw;

  if (targets_what_if(tg))
    memset(&ts->st, 0, sizeof(ts->st));
  first = !ts->st.known;
  memset(&in, 0, sizeof(in));
  in.target = t;
  in.kind = s->meta.kind;
  in.every_ms = tg->feed_of[i]->every_ms;
  in.grain = ts->grain;
  in.at_start = s->meta.at == AT_START ||
                (s->meta.at == AT_DEFAULT && s->meta.kind == KIND_INSTANT);
  in.now_ms = now;
  in.until_ms = targets_what_if(tg) ? now : 0;
  redraw = eval_tally_judge(&ts->tally, &in, &ts->res,
                            targets_what_if(tg) ? NULL : &traj, &traj_from);
  changed = eval_next_class(t, &ts->res, now, &ts->st);
  eval_message(t, &ts->res, ts->st.cls, ts->message, sizeof(ts->message));
  /* A long unit can make snprintf cut a character in half. */
  utf8_trim_partial(ts->message);
  ts->have_result = ts->judged = true;
  tg->stats.evaluations++;
  if (targets_what_if(tg))
    return;
  /* The judgement and the notifications it queues land together, and only
   * while this instance leads (the store's fence, in a cluster). */
  store_group_begin(tg->store, NULL, NULL);
  if (tg->on_eval)
    tg->on_eval(tg->data, t, ts, before, first, changed, now);
  targets_io_write(tg, t, ts, now);
  if (redraw)
    targets_io_trajectory(tg, t, traj_from, &traj);
  free(traj.p);
  if (changed)
    targets_io_event(tg, t, before, first, ts);
  store_group_end(tg->store);
  if (changed) {
    if (first)
      log_info("target %s: %s: %s", t->id, eval_class_name(ts->st.cls),
               ts->message);
    else
      log_info("target %s: %s -> %s: %s", t->id, eval_class_name(before),
               eval_class_name(ts->st.cls), ts->message);
  }
}

/* ---- for people ---- */

static const char *not_judged(const struct targets *tg, size_t i) {
  if (!tg->feed_of[i])
    return "not judged yet";
  if (tg->gate && !tg->fetched[tg->feed_of[i] - tg->cfg->feeds])
    return "not judged yet: waiting for the first fetch of its feed since "
           "the start";
  return "not judged yet: Redis has not answered";
}

void targets_row(const struct targets *tg, size_t i, struct table_row *r) {
  const struct target *t = &tg->cfg->targets[i];
  const struct target_state *ts = &tg->states[i];
  const struct eval_result *e = &ts->res;
  bool have = ts->have_result;
  memset(r, 0, sizeof(*r));
  r->id = t->id;
  r->title = t->title;
  r->unit = t->unit;
  r->group = t->group;
  r->source = t->source;
  r->rule = &t->rule;
  r->status = have ? eval_class_name(ts->st.cls) : "pending";
  r->message = have || ts->message[0] ? ts->message : not_judged(tg, i);
  r->actual = have ? e->actual : NAN;
  r->expected = have ? e->expected : NAN;
  r->projected = have ? e->projected : NAN;
  r->score = have ? e->score : NAN;
  r->pace = have ? e->pace : NAN;
  r->remaining_budget = have ? e->remaining_budget : NAN;
  r->required_rate = have ? e->required_rate : NAN;
  r->valid_days = have ? e->valid_days : -1;
}

bool targets_awaiting_feed(const struct targets *tg, size_t i) {
  return !tg->states[i].have_result && tg->gate && tg->feed_of[i] &&
         !tg->fetched[tg->feed_of[i] - tg->cfg->feeds];
}

void targets_count(const struct targets *tg, size_t counts[EVAL_NCLASSES]) {
  memset(counts, 0, EVAL_NCLASSES * sizeof(*counts));
  for (size_t i = 0; i < tg->n; i++)
    counts[tg->states[i].st.known ? tg->states[i].st.cls : CLASS_PENDING]++;
}

static void on_handle_closed(uv_handle_t *h) {
  struct targets *tg = h->data;
  if (--tg->pending_closes > 0)
    return;
  for (size_t i = 0; i < tg->n; i++)
    free_state(&tg->states[i]);
  free(tg->states);
  free(tg->ready);
  unresolve(tg);
  tg->states = NULL;
  tg->ready = NULL;
  tg->n = 0;
  if (tg->on_closed)
    tg->on_closed(tg);
}

void targets_close(struct targets *tg, void (*on_closed)(struct targets *)) {
  targets_done_cb done = tg->on_pass;
  tg->closing = true;
  tg->on_closed = on_closed;
  tg->pending_closes = 3;
  store_on_history(tg->store, NULL, NULL);
  uv_close((uv_handle_t *)&tg->timer, on_handle_closed);
  uv_close((uv_handle_t *)&tg->trigger, on_handle_closed);
  uv_close((uv_handle_t *)&tg->judging, on_handle_closed);
  /* A pass in flight ends when its last reply comes (the store answers
   * every read and flush, with NULL or false when it closes), which says
   * so; one that only judges (read already) ends here. */
  if (!tg->busy) {
    tg->on_pass = NULL;
    if (done)
      done(tg, false);
  } else if (!tg->flushing && !tg->outstanding) {
    targets_finish_pass(tg, false);
  }
}
