#include "targets.h"

#include "clock.h"
#include "log.h"
#include "timefmt.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEBOUNCE_MS MS_PER_SECOND
#define YEAR_MS (366 * MS_PER_DAY)

int64_t targets_now(const struct targets *tg) {
  return tg->fixed_now ? tg->fixed_now : clock_wall_ms();
}

static void on_timer(uv_timer_t *t) {
  targets_evaluate(t->data, NULL);
}

static void alloc_states(struct targets *tg) {
  tg->n = tg->cfg->ntargets;
  tg->states = xcalloc(tg->n ? tg->n : 1, sizeof(*tg->states));
}

void targets_init(struct targets *tg, uv_loop_t *loop, struct store *store,
                  const struct config *cfg, bool periodic) {
  memset(tg, 0, sizeof(*tg));
  tg->loop = loop;
  tg->store = store;
  tg->cfg = cfg;
  alloc_states(tg);
  /* Cannot fail: timer inits only record the loop. */
  uv_timer_init(loop, &tg->timer);
  uv_timer_init(loop, &tg->debounce);
  tg->timer.data = tg->debounce.data = tg;
  if (periodic)
    uv_timer_start(&tg->timer, on_timer, (uint64_t)cfg->evaluate_every_ms,
                   (uint64_t)cfg->evaluate_every_ms);
}

void targets_set_config(struct targets *tg, const struct config *cfg) {
  struct target_state *old = tg->states;
  size_t nold = tg->n;
  const struct config *oldcfg = tg->cfg;
  tg->cfg = cfg;
  alloc_states(tg);
  for (size_t i = 0; i < tg->n; i++)
    for (size_t j = 0; j < nold; j++)
      if (strcmp(cfg->targets[i].id, oldcfg->targets[j].id) == 0) {
        tg->states[i] = old[j];
        old[j].pts = NULL;
      }
  for (size_t j = 0; j < nold; j++)
    free(old[j].pts);
  free(old);
  uv_timer_stop(&tg->timer);
  if (uv_is_active((uv_handle_t *)&tg->timer) || cfg->evaluate_every_ms)
    uv_timer_start(&tg->timer, on_timer, (uint64_t)cfg->evaluate_every_ms,
                   (uint64_t)cfg->evaluate_every_ms);
}

static void on_debounce(uv_timer_t *t) {
  targets_evaluate(t->data, NULL);
}

void targets_data_changed(struct targets *tg, const struct feed *feed) {
  bool used = false;
  for (size_t i = 0; i < tg->cfg->ntargets && !used; i++)
    for (size_t j = 0; j < feed->nseries && !used; j++)
      used = strcmp(tg->cfg->targets[i].series, feed->series[j].id) == 0;
  if (used && !tg->closing)
    uv_timer_start(&tg->debounce, on_debounce, DEBOUNCE_MS, 0);
}

/* ---- reading ---- */

struct read_ctx {
  struct targets *tg;
  size_t index;
  bool state; /* HGETALL of ind:t, else XRANGE of the series */
};

static const char *hash_get(const redisReply *r, const char *field) {
  if (!r || r->type != REDIS_REPLY_ARRAY)
    return NULL;
  for (size_t i = 0; i + 1 < r->elements; i += 2)
    if (r->element[i]->type == REDIS_REPLY_STRING &&
        strcmp(r->element[i]->str, field) == 0 &&
        r->element[i + 1]->type == REDIS_REPLY_STRING)
      return r->element[i + 1]->str;
  return NULL;
}

static int64_t parse_ms(const char *s) {
  struct timefmt_value v;
  char err[64];
  if (!s || !*s ||
      timefmt_parse(s, strlen(s), TIMEFMT_ISO8601, NULL, &v, err, sizeof(err)))
    return 0;
  return v.start_ms;
}

static void restore_state(struct target_state *ts, const redisReply *r) {
  const char *status = hash_get(r, "status");
  const char *pending = hash_get(r, "pending");
  const char *count = hash_get(r, "pending_count");
  enum eval_class c;
  if (!status || eval_class_parse(status, &c) < 0)
    return;
  ts->st.known = true;
  ts->st.cls = c;
  ts->st.pending = c;
  if (pending && eval_class_parse(pending, &c) == 0)
    ts->st.pending = c;
  ts->st.pending_count = count ? atoi(count) : 0;
  ts->st.since_ms = parse_ms(hash_get(r, "since"));
  ts->st.data_ms = parse_ms(hash_get(r, "data_time"));
  {
    const char *a = hash_get(r, "actual");
    ts->st.data_actual = a && *a ? strtod(a, NULL) : NAN;
  }
  {
    const char *id = hash_get(r, "incident");
    const char *notified = hash_get(r, "incident_notified");
    const char *icls = hash_get(r, "incident_class");
    snprintf(ts->inc.id, sizeof(ts->inc.id), "%s", id ? id : "");
    ts->inc.notified = notified && strcmp(notified, "1") == 0;
    ts->inc.opened_ms = parse_ms(hash_get(r, "incident_opened"));
    ts->inc.last_notified_ms = parse_ms(hash_get(r, "incident_notified_at"));
    if (!icls || eval_class_parse(icls, &ts->inc.cls) < 0)
      ts->inc.cls = ts->st.cls;
  }
}

static void read_points(struct target_state *ts, const redisReply *r) {
  free(ts->pts);
  ts->pts = NULL;
  ts->npts = 0;
  if (!r || r->type != REDIS_REPLY_ARRAY)
    return;
  ts->pts = xcalloc(r->elements + 1, sizeof(*ts->pts));
  for (size_t i = 0; i < r->elements; i++) {
    const redisReply *e = r->element[i];
    char *end;
    double v;
    long long ms;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[1]->type != REDIS_REPLY_ARRAY || e->element[1]->elements < 2)
      continue;
    ms = strtoll(e->element[0]->str, &end, 10);
    v = strtod(e->element[1]->element[1]->str, NULL);
    if (!isfinite(v))
      continue;
    ts->pts[ts->npts].t = ms;
    ts->pts[ts->npts].v = v;
    ts->npts++;
  }
}

static void evaluate_all(struct targets *tg);

static void on_read(void *data, redisReply *reply) {
  struct read_ctx *rc = data;
  struct targets *tg = rc->tg;
  if (!tg->closing && rc->index < tg->n) {
    struct target_state *ts = &tg->states[rc->index];
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
      tg->reads_failed = true;
    } else if (rc->state) {
      restore_state(ts, reply);
      ts->restored = true;
    } else {
      read_points(ts, reply);
      ts->read_ok = true;
    }
  }
  free(rc);
  if (--tg->reads_pending == 0)
    evaluate_all(tg);
}

static void send_read(struct targets *tg, size_t i, bool state, int argc,
                      const char **argv) {
  struct read_ctx *rc = xmalloc(sizeof(*rc));
  rc->tg = tg;
  rc->index = i;
  rc->state = state;
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
    char from[24];
    char *key;
    ts->read_ok = false;
    if (!ts->restored) {
      key = store_key(tg->store, "t", t->id);
      {
        const char *argv[] = {"HGETALL", key};
        send_read(tg, i, true, 2, argv);
      }
      free(key);
    }
    /* The period, the prior year (growth) and what came before (for
     * staleness and gaps). */
    snprintf(from, sizeof(from), "%lld",
             (long long)(period_start_ms(&t->period) - YEAR_MS));
    key = store_key(tg->store, "s", t->series);
    {
      const char *argv[] = {"XRANGE", key, from, "+"};
      send_read(tg, i, false, 4, argv);
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
  if (tg->busy) {
    tg->again = true;
    if (done && !tg->on_pass)
      tg->on_pass = done;
    return;
  }
  tg->busy = true;
  tg->on_pass = done;
  if (!store_is_up(tg->store)) {
    log_debug("targets: Redis is not reachable; evaluation postponed");
    finish_pass(tg, false);
    return;
  }
  /* Evaluate on what has been written, not on what is still queued. */
  store_flush(tg->store, on_flushed, tg);
}

/* ---- writing ---- */

static void put_num(const char **argv, char bufs[][40], int *k, const char *f,
                    double v) {
  argv[*k] = f;
  if (isfinite(v))
    store_format_value(v, bufs[*k], 40);
  else
    bufs[*k][0] = '\0';
  argv[*k + 1] = bufs[*k];
  *k += 2;
}

static void write_result(struct targets *tg, const struct target *t,
                         struct target_state *ts, int64_t now) {
  const struct eval_result *r = &ts->res;
  char *key = store_key(tg->store, "t", t->id);
  char since[40], evaluated[40], deadline[40], data_time[40], vd[16], cnt[16];
  char opened[40], notified_at[40];
  char bufs[56][40];
  const char *argv[56];
  int k = 0;
  timefmt_iso(ts->st.since_ms, since, sizeof(since));
  timefmt_iso(now, evaluated, sizeof(evaluated));
  timefmt_iso(r->period_end_ms - 1, deadline, sizeof(deadline));
  timefmt_iso(ts->st.data_ms, data_time, sizeof(data_time));
  snprintf(vd, sizeof(vd), "%d", r->valid_days);
  snprintf(cnt, sizeof(cnt), "%d", ts->st.pending_count);
  argv[k++] = "HSET";
  argv[k++] = key;
  argv[k++] = "title";
  argv[k++] = t->title;
  argv[k++] = "status";
  argv[k++] = eval_class_name(ts->st.cls);
  argv[k++] = "since";
  argv[k++] = since;
  put_num(argv, bufs, &k, "actual", r->actual);
  put_num(argv, bufs, &k, "expected", r->expected);
  put_num(argv, bufs, &k, "projected", r->projected);
  put_num(argv, bufs, &k, "goal", r->goal);
  put_num(argv, bufs, &k, "score", r->score);
  put_num(argv, bufs, &k, "pace", r->pace);
  put_num(argv, bufs, &k, "remaining_budget", r->remaining_budget);
  put_num(argv, bufs, &k, "required_rate", r->required_rate);
  argv[k++] = "deadline";
  argv[k++] = deadline;
  argv[k++] = "valid_days";
  argv[k++] = r->valid_days >= 0 ? vd : "";
  argv[k++] = "message";
  argv[k++] = ts->message;
  argv[k++] = "evaluated_at";
  argv[k++] = evaluated;
  /* Hysteresis state, so that a restart continues where it stood. */
  argv[k++] = "pending";
  argv[k++] = eval_class_name(ts->st.pending);
  argv[k++] = "pending_count";
  argv[k++] = cnt;
  argv[k++] = "data_time";
  argv[k++] = ts->st.data_ms ? data_time : "";
  /* The alert incident, so a restart neither re-sends nor forgets. */
  timefmt_iso(ts->inc.opened_ms, opened, sizeof(opened));
  timefmt_iso(ts->inc.last_notified_ms, notified_at, sizeof(notified_at));
  argv[k++] = "incident";
  argv[k++] = ts->inc.id;
  argv[k++] = "incident_notified";
  argv[k++] = ts->inc.notified ? "1" : "0";
  argv[k++] = "incident_class";
  argv[k++] = eval_class_name(ts->inc.cls);
  argv[k++] = "incident_opened";
  argv[k++] = ts->inc.opened_ms ? opened : "";
  argv[k++] = "incident_notified_at";
  argv[k++] = ts->inc.last_notified_ms ? notified_at : "";
  store_command(tg->store, k, argv, NULL);
  free(key);

  key = store_key(tg->store, "status", NULL);
  {
    const char *a[] = {"HSET", key, t->id, eval_class_name(ts->st.cls)};
    store_command(tg->store, 4, a, NULL);
  }
  free(key);
  key = store_key(tg->store, "targets", NULL);
  {
    const char *a[] = {"SADD", key, t->id};
    store_command(tg->store, 3, a, NULL);
  }
  free(key);
  /* actual vs pace over time, at the observation time; every entry has all
   * three numeric fields (Grafana reads a missing one as 0). */
  if (r->ref_ms && isfinite(r->actual) && isfinite(r->expected) &&
      isfinite(r->projected)) {
    static const char *const fields[] = {"actual", "expected", "projected"};
    double vals[] = {r->actual, r->expected, r->projected};
    key = store_key(tg->store, "p", t->id);
    store_upsert(tg->store, key, r->ref_ms, fields, vals, 3);
    free(key);
  }
}

static void write_event(struct targets *tg, const struct target *t,
                        enum eval_class from, bool first,
                        const struct target_state *ts) {
  char *key = store_key(tg->store, "events", NULL);
  const char *argv[] = {"XADD",
                        key,
                        "*",
                        "target",
                        t->id,
                        "from",
                        first ? "" : eval_class_name(from),
                        "to",
                        eval_class_name(ts->st.cls),
                        "message",
                        ts->message};
  store_command(tg->store, 11, argv, NULL);
  free(key);
}

static void evaluate_all(struct targets *tg) {
  int64_t now = targets_now(tg);
  if (tg->closing) {
    finish_pass(tg, false);
    return;
  }
  if (tg->reads_failed) {
    log_debug("targets: some reads failed; evaluation postponed");
    finish_pass(tg, false);
    return;
  }
  for (size_t i = 0; i < tg->n; i++) {
    const struct target *t = &tg->cfg->targets[i];
    struct target_state *ts = &tg->states[i];
    const struct feed *f = NULL;
    const struct feed_series *s = config_series(tg->cfg, t->series, &f);
    struct eval_input in;
    enum eval_class before = ts->st.cls;
    bool first = !ts->st.known, changed;
    if (!s || !ts->read_ok)
      continue;
    in.target = t;
    in.kind = s->meta.kind;
    in.every_ms = f->every_ms;
    in.pts = ts->pts;
    in.n = ts->npts;
    in.now_ms = now;
    eval_target(&in, &ts->res);
    changed = eval_next_class(t, &ts->res, now, &ts->st);
    eval_message(t, &ts->res, ts->st.cls, ts->message, sizeof(ts->message));
    ts->have_result = true;
    if (tg->on_eval)
      tg->on_eval(tg->data, t, ts, before, first, changed, now);
    write_result(tg, t, ts, now);
    if (changed) {
      write_event(tg, t, before, first, ts);
      if (first)
        log_info("target %s: %s: %s", t->id, eval_class_name(ts->st.cls),
                 ts->message);
      else
        log_info("target %s: %s -> %s: %s", t->id, eval_class_name(before),
                 eval_class_name(ts->st.cls), ts->message);
    }
    free(ts->pts);
    ts->pts = NULL;
    ts->npts = 0;
  }
  finish_pass(tg, true);
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
  r->measure = t->rule.measure;
  r->op = t->rule.op;
  r->goal = t->rule.value;
  r->status = have ? eval_class_name(ts->st.cls) : "unknown";
  r->message = have ? ts->message : "not evaluated yet";
  r->actual = have ? e->actual : NAN;
  r->expected = have ? e->expected : NAN;
  r->projected = have ? e->projected : NAN;
  r->score = have ? e->score : NAN;
  r->pace = have ? e->pace : NAN;
  r->remaining_budget = have ? e->remaining_budget : NAN;
  r->required_rate = have ? e->required_rate : NAN;
  r->valid_days = have ? e->valid_days : -1;
}

void targets_count(const struct targets *tg, size_t counts[EVAL_NCLASSES]) {
  memset(counts, 0, EVAL_NCLASSES * sizeof(*counts));
  for (size_t i = 0; i < tg->n; i++)
    if (tg->states[i].st.known)
      counts[tg->states[i].st.cls]++;
}

static void on_handle_closed(uv_handle_t *h) {
  struct targets *tg = h->data;
  if (--tg->pending_closes > 0)
    return;
  for (size_t i = 0; i < tg->n; i++)
    free(tg->states[i].pts);
  free(tg->states);
  tg->states = NULL;
  tg->n = 0;
  if (tg->on_closed)
    tg->on_closed(tg);
}

void targets_close(struct targets *tg, void (*on_closed)(struct targets *)) {
  tg->closing = true;
  tg->on_closed = on_closed;
  tg->pending_closes = 2;
  uv_close((uv_handle_t *)&tg->timer, on_handle_closed);
  uv_close((uv_handle_t *)&tg->debounce, on_handle_closed);
}
