#include "targets_private.h"

#include "clock.h"
#include "log.h"
#include "strmap.h"
#include "timefmt.h"
#include "utf8.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* New data: a pass after COALESCE_MS, at most one per MIN_GAP_MS, so
 * within MIN_GAP_MS of the data however continuous it is (contract: 2 s). */
#define COALESCE_MS 200
#define MIN_GAP_MS MS_PER_SECOND
/* Redis not answering (at start, or reads failed): try again this soon. */
#define RETRY_MS 250
#define YEAR_MS (366 * MS_PER_DAY)

int64_t targets_now(const struct targets *tg) {
  return tg->fixed_now ? tg->fixed_now : clock_wall_ms();
}

static bool what_if(const struct targets *tg) {
  return tg->fixed_now != 0;
}

static void on_timer(uv_timer_t *t) {
  targets_evaluate(t->data, NULL);
}

static void on_trigger(uv_timer_t *t) {
  struct targets *tg = t->data;
  tg->trigger_due = 0;
  targets_evaluate(tg, NULL);
}

/* Arms the trigger to fire within delay ms; an earlier one stays. */
static void arm(struct targets *tg, int64_t delay) {
  uint64_t due = uv_now(tg->loop) + (uint64_t)(delay > 0 ? delay : 0);
  if (tg->closing || (tg->trigger_due && tg->trigger_due <= due))
    return;
  tg->trigger_due = due;
  uv_timer_start(&tg->trigger, on_trigger, due - uv_now(tg->loop), 0);
}

/* Each target's feed and series, through a map (O(targets + series), also
 * with 10,000 of each). */
static void resolve(struct targets *tg) {
  const struct config *cfg = tg->cfg;
  struct strmap series, feeds;
  strmap_init(&series, 16);
  strmap_init(&feeds, 16);
  for (size_t f = 0; f < cfg->nfeeds; f++)
    for (size_t j = 0; j < cfg->feeds[f].nseries; j++) {
      strmap_put(&series, cfg->feeds[f].series[j].id, &cfg->feeds[f].series[j]);
      strmap_put(&feeds, cfg->feeds[f].series[j].id, &cfg->feeds[f]);
    }
  tg->feed_of = xcalloc(tg->n + 1, sizeof(*tg->feed_of));
  tg->series_of = xcalloc(tg->n + 1, sizeof(*tg->series_of));
  for (size_t i = 0; i < tg->n; i++) {
    tg->series_of[i] = strmap_get(&series, cfg->targets[i].series);
    tg->feed_of[i] = strmap_get(&feeds, cfg->targets[i].series);
  }
  strmap_free(&series);
  strmap_free(&feeds);
  tg->fetched = xcalloc(cfg->nfeeds + 1, sizeof(*tg->fetched));
  tg->feed_used = xcalloc(cfg->nfeeds + 1, sizeof(*tg->feed_used));
  for (size_t i = 0; i < tg->n; i++)
    if (tg->feed_of[i])
      tg->feed_used[tg->feed_of[i] - cfg->feeds] = true;
}

void targets_init(struct targets *tg, uv_loop_t *loop, struct store *store,
                  const struct config *cfg, bool periodic) {
  memset(tg, 0, sizeof(*tg));
  tg->loop = loop;
  tg->store = store;
  tg->cfg = cfg;
  tg->gate = periodic;
  tg->n = cfg->ntargets;
  tg->states = xcalloc(tg->n ? tg->n : 1, sizeof(*tg->states));
  resolve(tg);
  eval_trigger_init(&tg->trig, COALESCE_MS, MIN_GAP_MS);
  /* Cannot fail: timer inits only record the loop. */
  uv_timer_init(loop, &tg->timer);
  uv_timer_init(loop, &tg->trigger);
  tg->timer.data = tg->trigger.data = tg;
  if (periodic)
    uv_timer_start(&tg->timer, on_timer, (uint64_t)cfg->evaluate_every_ms,
                   (uint64_t)cfg->evaluate_every_ms);
}

static void free_state(struct target_state *ts) {
  free(ts->pts);
  free(ts->traj);
  ts->pts = NULL;
  ts->traj = NULL;
}

void targets_set_config(struct targets *tg, const struct config *cfg) {
  struct target_state *old = tg->states;
  const struct config *oldcfg = tg->cfg;
  bool *old_fetched = tg->fetched;
  size_t nold = tg->n;
  struct strmap ids;

  tg->cfg = cfg;
  tg->n = cfg->ntargets;
  tg->states = xcalloc(tg->n ? tg->n : 1, sizeof(*tg->states));
  free(tg->feed_of);
  free(tg->series_of);
  free(tg->feed_used);
  resolve(tg);
  /* Old ids are borrowed from the old config, still alive here. */
  strmap_init(&ids, nold + oldcfg->nfeeds);
  for (size_t j = 0; j < nold; j++)
    strmap_put(&ids, oldcfg->targets[j].id, &old[j]);
  for (size_t i = 0; i < tg->n; i++) {
    struct target_state *prev =
        (struct target_state *)strmap_get(&ids, cfg->targets[i].id);
    if (prev) {
      tg->states[i] = *prev;
      memset(prev, 0, sizeof(*prev));
    }
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
  uv_timer_stop(&tg->timer);
  if (tg->gate && cfg->evaluate_every_ms)
    uv_timer_start(&tg->timer, on_timer, (uint64_t)cfg->evaluate_every_ms,
                   (uint64_t)cfg->evaluate_every_ms);
}

void targets_set_leader(struct targets *tg, bool leader) {
  tg->follower = !leader;
  tg->generation++;
  for (size_t i = 0; i < tg->n; i++) {
    struct target_state *ts = &tg->states[i];
    /* What this process judged may be behind what Redis holds now. */
    memset(&ts->st, 0, sizeof(ts->st));
    memset(&ts->inc, 0, sizeof(ts->inc));
    ts->restored = ts->judged = ts->traj_known = false;
  }
  targets_evaluate(tg, NULL);
}

void targets_fetched(struct targets *tg, const struct feed *feed,
                     bool new_data) {
  size_t fi = (size_t)(feed - tg->cfg->feeds);
  bool first = false;
  if (tg->closing || fi >= tg->cfg->nfeeds)
    return;
  if (tg->follower) {
    tg->fetched[fi] = true;
    return;
  }
  if (!tg->fetched[fi])
    first = tg->fetched[fi] = true;
  /* Its targets may be judged now; new data is judged within a second. */
  if (tg->feed_used[fi] && (first || new_data)) {
    int64_t delay = eval_trigger_data(&tg->trig, (int64_t)uv_now(tg->loop));
    if (delay >= 0)
      arm(tg, delay);
  }
}

/* Whether target i is judged in this pass. */
static bool judging(const struct targets *tg, size_t i) {
  size_t fi;
  if (!tg->series_of[i] || !tg->feed_of[i])
    return false;
  fi = (size_t)(tg->feed_of[i] - tg->cfg->feeds);
  return !tg->gate || tg->fetched[fi];
}

/* ---- reading ---- */

enum read_kind { READ_STATE, READ_POINTS, READ_GRAIN };

struct read_ctx {
  struct targets *tg;
  size_t index;
  enum read_kind kind;
  unsigned generation;
};

static void evaluate_all(struct targets *tg);

static void on_read(void *data, redisReply *reply) {
  struct read_ctx *rc = data;
  struct targets *tg = rc->tg;
  if (rc->generation != tg->generation) {
    /* Read before the leadership changed: the pass starts again. */
    tg->reads_failed = true;
  } else if (!tg->closing && rc->index < tg->n) {
    struct target_state *ts = &tg->states[rc->index];
    if (!reply) {
      tg->reads_failed = true; /* the connection went: the pass again */
    } else if (reply->type == REDIS_REPLY_ERROR) {
      /* Redis refused this one read (a key of another type): that target
       * waits, the others are judged. */
      log_warn("targets: target %s: Redis refused a read: %s",
               tg->cfg->targets[rc->index].id, reply->str ? reply->str : "");
      if (rc->kind == READ_STATE)
        ts->restored = true;
      if (!ts->have_result)
        snprintf(ts->message, sizeof(ts->message),
                 "not judged: Redis refused reading its data: %s",
                 reply->str ? reply->str : "");
    } else if (rc->kind == READ_STATE) {
      targets_io_restore(ts, reply);
    } else if (rc->kind == READ_GRAIN) {
      targets_io_grain(ts, reply);
    } else {
      targets_io_points(ts, reply);
      ts->read_ok = true;
    }
  }
  free(rc);
  if (--tg->reads_pending == 0)
    evaluate_all(tg);
}

static void send_read(struct targets *tg, size_t i, enum read_kind kind,
                      int argc, const char **argv) {
  struct read_ctx *rc = xmalloc(sizeof(*rc));
  rc->tg = tg;
  rc->index = i;
  rc->kind = kind;
  rc->generation = tg->generation;
  tg->reads_pending++;
  if (store_read(tg->store, argc, argv, NULL, on_read, rc) < 0) {
    tg->reads_pending--;
    tg->reads_failed = true;
    free(rc);
  }
}

static void finish_pass(struct targets *tg, bool ok) {
  targets_done_cb done = tg->on_pass;
  tg->busy = false;
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
    targets_evaluate(tg, NULL);
  }
}

static void on_flushed(void *data, bool ok) {
  struct targets *tg = data;
  if (!ok || tg->closing) {
    finish_pass(tg, false);
    return;
  }
  tg->reads_failed = false;
  tg->reads_pending = 1; /* held until every read is sent */
  for (size_t i = 0; i < tg->n; i++) {
    const struct target *t = &tg->cfg->targets[i];
    struct target_state *ts = &tg->states[i];
    char from[24], until[24];
    char *key;
    ts->read_ok = false;
    if (tg->follower)
      ts->restored = false; /* the leader's latest */
    /* A what-if starts from a fresh state: nothing stored is read. */
    if (!ts->restored && !what_if(tg)) {
      key = store_key(tg->store, "t", t->id);
      {
        const char *argv[] = {"HGETALL", key};
        send_read(tg, i, READ_STATE, 2, argv);
      }
      free(key);
    }
    if (!judging(tg, i) || tg->follower)
      continue;
    key = store_key(tg->store, "m", t->series);
    {
      const char *argv[] = {"HGET", key, "grain"};
      send_read(tg, i, READ_GRAIN, 3, argv);
    }
    free(key);
    /* The period, the prior year (growth) and what came before (for
     * staleness and gaps); a what-if nothing after its now. */
    snprintf(from, sizeof(from), "%lld",
             (long long)(period_start_ms(&t->period) - YEAR_MS));
    snprintf(until, sizeof(until), "%lld", (long long)tg->fixed_now);
    key = store_key(tg->store, "s", t->series);
    {
      const char *argv[] = {"XRANGE", key, from, what_if(tg) ? until : "+"};
      send_read(tg, i, READ_POINTS, 4, argv);
    }
    free(key);
  }
  if (--tg->reads_pending == 0)
    evaluate_all(tg);
}

void targets_evaluate(struct targets *tg, targets_done_cb done) {
  if (tg->closing) {
    if (done)
      done(tg, false);
    return;
  }
  if (done && !tg->on_pass)
    tg->on_pass = done;
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
  eval_trigger_began(&tg->trig, (int64_t)uv_now(tg->loop));
  /* Evaluate on what has been written, not on what is still queued. */
  store_flush(tg->store, on_flushed, tg);
}

/* ---- judging ---- */

static void judge(struct targets *tg, size_t i, int64_t now) {
  const struct target *t = &tg->cfg->targets[i];
  const struct feed_series *s = tg->series_of[i];
  struct target_state *ts = &tg->states[i];
  struct eval_traj traj = {0};
  struct eval_input in;
  enum eval_class before = ts->st.cls;
  bool first, changed;

  if (what_if(tg))
    memset(&ts->st, 0, sizeof(ts->st));
  first = !ts->st.known;
  in.target = t;
  in.kind = s->meta.kind;
  in.every_ms = tg->feed_of[i]->every_ms;
  in.grain = ts->grain;
  in.at_start = s->meta.at == AT_START ||
                (s->meta.at == AT_DEFAULT && s->meta.kind == KIND_INSTANT);
  in.pts = ts->pts;
  in.n = ts->npts;
  in.now_ms = now;
  in.until_ms = what_if(tg) ? now : 0;
  eval_target(&in, &ts->res, what_if(tg) ? NULL : &traj);
  changed = eval_next_class(t, &ts->res, now, &ts->st);
  eval_message(t, &ts->res, ts->st.cls, ts->message, sizeof(ts->message));
  /* A long unit can make snprintf cut a character in half. */
  utf8_trim_partial(ts->message);
  ts->have_result = ts->judged = true;
  free(ts->pts);
  ts->pts = NULL;
  ts->npts = 0;
  if (what_if(tg))
    return;
  /* The judgement and the notifications it queues land together, and only
   * while this instance leads (the store's fence, in a cluster). */
  store_group_begin(tg->store, NULL, NULL);
  if (tg->on_eval)
    tg->on_eval(tg->data, t, ts, before, first, changed, now);
  targets_io_write(tg, t, ts, now);
  targets_io_trajectory(tg, t, ts, &traj);
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

static void evaluate_all(struct targets *tg) {
  int64_t now = targets_now(tg);
  if (tg->closing) {
    finish_pass(tg, false);
    return;
  }
  if (tg->reads_failed) {
    log_debug("targets: some reads failed; evaluating again shortly");
    for (size_t i = 0; i < tg->n; i++) {
      free(tg->states[i].pts);
      tg->states[i].pts = NULL;
      tg->states[i].npts = 0;
    }
    finish_pass(tg, false);
    return;
  }
  for (size_t i = 0; i < tg->n && !tg->follower; i++)
    if (judging(tg, i) && tg->states[i].read_ok)
      judge(tg, i, now);
  finish_pass(tg, true);
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
  free(tg->feed_of);
  free(tg->series_of);
  free(tg->fetched);
  free(tg->feed_used);
  tg->feed_used = NULL;
  tg->states = NULL;
  tg->feed_of = NULL;
  tg->series_of = NULL;
  tg->fetched = NULL;
  tg->n = 0;
  if (tg->on_closed)
    tg->on_closed(tg);
}

void targets_close(struct targets *tg, void (*on_closed)(struct targets *)) {
  targets_done_cb done = tg->on_pass;
  tg->closing = true;
  tg->on_closed = on_closed;
  tg->pending_closes = 2;
  uv_close((uv_handle_t *)&tg->timer, on_handle_closed);
  uv_close((uv_handle_t *)&tg->trigger, on_handle_closed);
  /* A pass in flight ends through finish_pass, which says so. */
  if (!tg->busy) {
    tg->on_pass = NULL;
    if (done)
      done(tg, false);
  }
}
