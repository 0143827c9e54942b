#include "once.h"

#include "alerts.h"
#include "clock.h"
#include "collector.h"
#include "log.h"
#include "store.h"
#include "table.h"
#include "targets.h"
#include "timefmt.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long once waits for Redis to take its writes, and status for an
 * answer. */
#define STORE_DEADLINE_MS 15000
#define STATUS_DEADLINE_MS 5000

struct once {
  const struct config *cfg;
  const struct once_options *opt;
  json_t *feeds; /* one object per feed, in config order */
  struct collector col;
  struct store store;
  struct targets tg;
  struct alerts al;
  uv_timer_t deadline;
  bool stored, evaluated, finished;
  redisReply **hashes; /* status: ind:t:<target> replies */
  size_t hashes_pending;
  struct table_row *rows; /* once: the results, copied before closing */
};

/* Rows for every target of cfg, not judged yet; status and message are
 * allocated (free_rows). */
static struct table_row *new_rows(const struct config *cfg, const char *why) {
  struct table_row *rows = xcalloc(cfg->ntargets + 1, sizeof(*rows));
  for (size_t i = 0; i < cfg->ntargets; i++) {
    const struct target *t = &cfg->targets[i];
    rows[i].id = t->id;
    rows[i].title = t->title;
    rows[i].unit = t->unit;
    rows[i].group = t->group;
    rows[i].source = t->source;
    rows[i].rule = &t->rule;
    rows[i].status = xstrdup("pending");
    rows[i].message = xstrdup(why);
    rows[i].actual = rows[i].expected = rows[i].projected = NAN;
    rows[i].score = rows[i].pace = NAN;
    rows[i].remaining_budget = rows[i].required_rate = NAN;
    rows[i].valid_days = -1;
  }
  return rows;
}

static void free_rows(struct table_row *rows, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free((char *)rows[i].status);
    free((char *)rows[i].message);
  }
  free(rows);
}

/* The targets' results as rows (copies: the state goes with the targets'
 * close). */
static void copy_rows(struct targets *tg, struct table_row *rows) {
  for (size_t i = 0; i < tg->n; i++) {
    free((char *)rows[i].status);
    free((char *)rows[i].message);
    targets_row(tg, i, &rows[i]);
    rows[i].status = xstrdup(rows[i].status);
    rows[i].message = xstrdup(rows[i].message);
  }
}

static void on_report(void *data, const struct feed *feed,
                      const struct fetch_result *res,
                      const struct extract_out *out, int rc) {
  struct once *o = data;
  json_t *fo = json_array_get(o->feeds, (size_t)(feed - o->cfg->feeds));
  json_t *series = json_array();
  const char *feed_error = NULL;
  char why[300];

  if (!res->ok) {
    feed_error = res->error;
  } else if (rc < 0) {
    snprintf(why, sizeof(why), "unusable body: %s",
             out->nerrs ? out->errs[0].msg : "unknown problem");
    feed_error = why;
  }
  json_object_set_new(fo, "ok", json_boolean(!feed_error));
  json_object_set_new(fo, "error",
                      feed_error ? json_string(feed_error) : json_null());
  json_object_set_new(fo, "not_modified", json_boolean(res->not_modified));
  /* Problems in the body beyond its being unusable: the feed's health. */
  json_object_set_new(
      fo, "body_errors",
      json_integer(feed_error ? 0 : (json_int_t)extract_error_count(out)));
  for (size_t i = 0; i < feed->nseries; i++) {
    const struct feed_series *s = &feed->series[i];
    json_t *so = json_object();
    size_t count = 0;
    const struct observation *latest = NULL;
    char *problems = feed_error ? NULL : extract_errors_of(out, s);
    const char *err = feed_error ? feed_error : problems;
    for (size_t k = 0; k < out->n; k++) {
      if (out->obs[k].series != s->id)
        continue;
      count++;
      if (!latest || out->obs[k].time_ms >= latest->time_ms)
        latest = &out->obs[k];
    }
    json_object_set_new(so, "id", json_string(s->id));
    json_object_set_new(so, "observations", json_integer((json_int_t)count));
    if (latest) {
      char when[64];
      timefmt_iso(latest->time_ms, when, sizeof(when));
      json_object_set_new(so, "latest_time", json_string(when));
      json_object_set_new(so, "latest_value", json_real(latest->value));
    } else {
      json_object_set_new(so, "latest_time", json_null());
      json_object_set_new(so, "latest_value", json_null());
    }
    if (!err && !count && res->not_modified)
      err = "not modified since the last fetch";
    json_object_set_new(so, "error", err ? json_string(err) : json_null());
    json_array_append_new(series, so);
    free(problems);
  }
  json_object_set_new(fo, "series", series);
}

static void on_fetch(void *data, const struct feed *feed, int64_t fetch_ms,
                     const char *error, const char *const *series_errors,
                     const struct observation *obs, size_t n) {
  struct once *o = data;
  store_feed_status(&o->store, feed, fetch_ms, error, series_errors);
  if (n)
    store_observations(&o->store, feed, obs, n);
}

static void finish(struct once *o, bool stored) {
  if (o->finished)
    return;
  o->finished = true;
  o->stored = stored;
  uv_timer_stop(&o->deadline);
  uv_close((uv_handle_t *)&o->deadline, NULL);
  if (o->col.feeds)
    collector_close(&o->col, NULL);
  targets_close(&o->tg, NULL);
  alerts_close(&o->al, NULL);
  store_close(&o->store, NULL);
}

static void on_results_flushed(void *data, bool ok) {
  finish(data, ok);
}

static void on_evaluated(struct targets *tg, bool ok) {
  struct once *o = container_of(tg, struct once, tg);
  if (!ok) {
    finish(o, false);
    return;
  }
  o->evaluated = true;
  copy_rows(tg, o->rows);
  store_flush(&o->store, on_results_flushed, o);
}

static void on_observations_flushed(void *data, bool ok) {
  struct once *o = data;
  if (!ok) {
    finish(o, false);
    return;
  }
  targets_evaluate(&o->tg, on_evaluated);
}

static void on_deadline(uv_timer_t *t) {
  finish(t->data, false);
}

static void on_fetched_all(struct collector *c) {
  struct once *o = container_of(c, struct once, col);
  /* Feeds have their own timeouts; Redis gets this long from here on. */
  uv_timer_start(&o->deadline, on_deadline, STORE_DEADLINE_MS, 0);
  store_flush(&o->store, on_observations_flushed, o);
}

static void print_feeds(FILE *out, const json_t *feeds) {
  size_t i, ok = 0, total = json_array_size(feeds);
  json_t *fo;
  json_array_foreach(feeds, i, fo) {
    if (json_is_true(json_object_get(fo, "ok")))
      ok++;
  }
  fprintf(out, "\nfeeds: %zu of %zu fetched\n", ok, total);
  json_array_foreach(feeds, i, fo) {
    size_t k;
    json_t *so;
    const char *ferr = json_string_value(json_object_get(fo, "error"));
    json_array_foreach(json_object_get(fo, "series"), k, so) {
      const char *id = json_string_value(json_object_get(so, "id"));
      json_int_t n = json_integer_value(json_object_get(so, "observations"));
      const char *serr = json_string_value(json_object_get(so, "error"));
      if (n > 0)
        fprintf(out, "  %s: %lld observation%s, latest %s = %.10g%s%s\n", id,
                (long long)n, n == 1 ? "" : "s",
                json_string_value(json_object_get(so, "latest_time")),
                json_real_value(json_object_get(so, "latest_value")),
                serr ? "; " : "", serr ? serr : "");
      else
        fprintf(out, "  %s: nothing: %s\n", id,
                serr   ? serr
                : ferr ? ferr
                       : "no value");
    }
  }
}

/* Feeds that could not be fetched or whose body could not be read, named
 * on stderr; their number (the exit code's 1). A series' own problem in a
 * body that was read (a path selecting several values, a value above max)
 * is named too but is not a failed feed: its good observations are stored
 * and its last_error says why. */
static size_t report_failures(const json_t *feeds) {
  size_t i, failed = 0;
  json_t *fo;
  json_array_foreach(feeds, i, fo) {
    const char *id = json_string_value(json_object_get(fo, "id"));
    const char *err = json_string_value(json_object_get(fo, "error"));
    size_t k;
    json_t *so;
    if (!json_is_true(json_object_get(fo, "ok"))) {
      fprintf(stderr, "indicatord: feed %s failed: %s\n", id,
              err ? err : "not fetched");
      failed++;
      continue;
    }
    json_array_foreach(json_object_get(fo, "series"), k, so) {
      const char *serr = json_string_value(json_object_get(so, "error"));
      if (serr && !json_is_true(json_object_get(fo, "not_modified")))
        fprintf(stderr, "indicatord: feed %s, series %s: %s\n", id,
                json_string_value(json_object_get(so, "id")), serr);
    }
  }
  return failed;
}

static int exit_code(const struct once_options *opt, const struct table_row *r,
                     size_t n) {
  enum eval_class c;
  if (!opt->fail)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (eval_class_parse(r[i].status, &c) == 0 &&
        eval_class_rank(c) >= eval_class_rank(opt->fail_on))
      return 3;
  return 0;
}

static int setup(struct once *o, uv_loop_t *loop, const struct config *cfg,
                 const struct once_options *opt, bool use_spool) {
  char err[300];
  memset(o, 0, sizeof(*o));
  o->cfg = cfg;
  o->opt = opt;
  if (uv_loop_init(loop) < 0) {
    fprintf(stderr, "indicatord: cannot create the event loop\n");
    return -1;
  }
  if (store_init(&o->store, loop, cfg, use_spool, err, sizeof(err)) < 0) {
    fprintf(stderr, "indicatord: %s\n", err);
    uv_loop_close(loop);
    return -1;
  }
  targets_init(&o->tg, loop, &o->store, cfg, false);
  /* --now: a what-if, judged from a fresh state, nothing written. */
  o->tg.fixed_now = opt->now_ms;

  /* Incidents and notifications are kept for the daemon to deliver. */
  if (alerts_init(&o->al, loop, &o->store, &o->tg, cfg, false) < 0) {
    fprintf(stderr, "indicatord: cannot start the alert engine\n");
    targets_close(&o->tg, NULL);
    store_close(&o->store, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return -1;
  }
  o->tg.on_eval = alerts_on_eval;
  o->tg.data = &o->al;
  /* Cannot fail: a timer init only records the loop. */
  uv_timer_init(loop, &o->deadline);
  o->deadline.data = o;
  return 0;
}

static int teardown(uv_loop_t *loop) {
  int rc;
  uv_run(loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(loop);
  if (rc != 0)
    log_error("once: event loop closed with handles open: %s", uv_strerror(rc));
  return rc;
}

int once_run(const struct config *cfg, const struct once_options *opt) {
  struct once o;
  uv_loop_t loop;
  struct table_row *rows;
  char err[300];
  size_t failed;
  int rc;
  int64_t now;

  if (setup(&o, &loop, cfg, opt, true) < 0)
    return 1;
  if (cfg->cluster.on && !opt->now_ms) {
    /* The cluster's leader owns the judgements and the outbox: writing
     * them from here would race it. */
    o.tg.fixed_now = clock_wall_ms();
    fprintf(stderr, "indicatord: cluster: the targets are judged by the "
                    "cluster's leader; this table is a what-if at the "
                    "current time (no judgement or notification is "
                    "written)\n");
  }
  o.rows = new_rows(cfg, "not judged: the feeds' observations did not reach "
                         "Redis");
  o.feeds = json_array();
  for (size_t i = 0; i < cfg->nfeeds; i++) {
    json_t *fo = json_object();
    char *url = config_redact_url(cfg->feeds[i].url);
    json_object_set_new(fo, "id", json_string(cfg->feeds[i].id));
    json_object_set_new(fo, "url", json_string(url));
    json_object_set_new(fo, "ok", json_false());
    json_object_set_new(fo, "error", json_string("not fetched"));
    json_object_set_new(fo, "series", json_array());
    json_array_append_new(o.feeds, fo);
    free(url);
  }
  if (collector_init(&o.col, &loop, cfg, on_fetch, &o, err, sizeof(err)) < 0) {
    fprintf(stderr, "indicatord: %s\n", err);
    finish(&o, false);
  } else {
    o.col.fixed_now = opt->now_ms;
    collector_run_once(&o.col, on_report, on_fetched_all);
  }
  rc = teardown(&loop);
  now = targets_now(&o.tg);

  rows = o.rows;
  if (opt->json) {
    /* The contract's object, plus what each feed gave. */
    json_t *top;
    FILE *mem;
    char *buf = NULL;
    size_t len = 0;
    json_error_t jerr;
    mem = open_memstream(&buf, &len);
    table_print_json(mem, rows, cfg->ntargets, now);
    fclose(mem);
    top = json_loads(buf, 0, &jerr);
    free(buf);
    if (top) {
      json_object_set(top, "feeds", o.feeds);
      json_dumpf(top, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
      printf("\n");
      json_decref(top);
    }
  } else {
    if (cfg->ntargets)
      table_print(stdout, rows, cfg->ntargets, now, table_want_color(stdout));
    print_feeds(stdout, o.feeds);
  }
  failed = report_failures(o.feeds);
  json_decref(o.feeds);
  if (!o.stored) {
    fprintf(stderr,
            "indicatord: Redis at %s did not take the writes%s; they are "
            "kept in the spool in %s\n",
            cfg->redis.url, o.evaluated ? "" : " (targets not evaluated)",
            cfg->state_dir);
    rc = 1;
  } else if (rc != 0 || failed) {
    /* A feed that failed is a runtime failure, whatever the targets say. */
    rc = 1;
  } else {
    rc = exit_code(opt, rows, cfg->ntargets);
  }
  free_rows(rows, cfg->ntargets);
  return rc;
}

/* ---- status ---- */

static void on_hash(void *data, redisReply *reply);

struct hash_req {
  struct once *o;
  size_t index;
};

static void on_judged(struct targets *tg, bool ok) {
  struct once *o = container_of(tg, struct once, tg);
  if (ok) {
    o->evaluated = true;
    copy_rows(tg, o->rows);
  }
  finish(o, ok);
}

static void on_status_ready(struct once *o) {
  if (o->opt->now_ms) {
    /* status --now: the stored observations judged as of now. */
    targets_evaluate(&o->tg, on_judged);
    return;
  }
  o->hashes_pending = 1;
  for (size_t i = 0; i < o->cfg->ntargets; i++) {
    char *key = store_key(&o->store, "t", o->cfg->targets[i].id);
    const char *argv[] = {"HGETALL", key};
    struct hash_req *hr = xmalloc(sizeof(*hr));
    hr->o = o;
    hr->index = i;
    o->hashes_pending++;
    if (store_read(&o->store, 2, argv, NULL, on_hash, hr) < 0) {
      o->hashes_pending--;
      free(hr);
    }
    free(key);
  }
  if (--o->hashes_pending == 0)
    finish(o, true);
}

static void on_hash(void *data, redisReply *reply) {
  struct hash_req *hr = data;
  struct once *o = hr->o;
  if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements) {
    /* Keep a copy: the reply dies with this callback. */
    redisReply *copy = xcalloc(1, sizeof(*copy));
    copy->type = REDIS_REPLY_ARRAY;
    copy->elements = reply->elements;
    copy->element = xcalloc(reply->elements, sizeof(*copy->element));
    for (size_t i = 0; i < reply->elements; i++) {
      redisReply *e = xcalloc(1, sizeof(*e));
      e->type = REDIS_REPLY_STRING;
      e->str = xstrdup(reply->element[i]->str ? reply->element[i]->str : "");
      e->len = strlen(e->str);
      copy->element[i] = e;
    }
    o->hashes[hr->index] = copy;
  }
  free(hr);
  if (--o->hashes_pending == 0)
    finish(o, reply != NULL);
}

static void on_status_deadline(uv_timer_t *t) {
  finish(t->data, false);
}

static void on_status_poll(uv_timer_t *t) {
  struct once *o = t->data;
  if (o->finished) {
    uv_close((uv_handle_t *)t, NULL);
    return;
  }
  if (store_is_up(&o->store)) {
    uv_close((uv_handle_t *)t, NULL);
    on_status_ready(o);
  }
}

static void free_copy(redisReply *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->elements; i++) {
    free(r->element[i]->str);
    free(r->element[i]);
  }
  free(r->element);
  free(r);
}

/* The rows of the stored judgements (ind:t:<target>); a target without
 * one is pending. */
static void stored_rows(struct once *o) {
  for (size_t i = 0; i < o->cfg->ntargets; i++) {
    const redisReply *h = o->hashes[i];
    const char *status = store_hash_field(h, "status"),
               *vd = store_hash_field(h, "valid_days");
    enum eval_class c;
    struct table_row *r = &o->rows[i];
    if (!status || eval_class_parse(status, &c) < 0)
      continue; /* never judged: pending, as new_rows made it */
    free((char *)r->status);
    free((char *)r->message);
    r->status = xstrdup(status);
    r->message = xstrdup(
        store_hash_field(h, "message") ? store_hash_field(h, "message") : "");
    r->actual = store_hash_number(h, "actual");
    r->expected = store_hash_number(h, "expected");
    r->projected = store_hash_number(h, "projected");
    r->pace = store_hash_number(h, "pace");
    r->remaining_budget = store_hash_number(h, "remaining_budget");
    r->required_rate = store_hash_number(h, "required_rate");
    r->valid_days = vd && *vd ? atoi(vd) : -1;
    r->score = store_hash_number(h, "score");
  }
}

int once_status(const struct config *cfg, const struct once_options *opt) {
  struct once o;
  uv_loop_t loop;
  uv_timer_t poll;
  int rc;
  if (setup(&o, &loop, cfg, opt, false) < 0)
    return 1;
  o.hashes = xcalloc(cfg->ntargets + 1, sizeof(*o.hashes));
  o.rows = new_rows(cfg, "not judged yet");
  uv_timer_start(&o.deadline, on_status_deadline, STATUS_DEADLINE_MS, 0);
  uv_timer_init(&loop, &poll); /* cannot fail: it only records the loop */
  poll.data = &o;
  uv_timer_start(&poll, on_status_poll, 20, 20);
  rc = teardown(&loop);
  if (o.stored) {
    int64_t now = opt->now_ms ? opt->now_ms : clock_wall_ms();
    if (!opt->now_ms)
      stored_rows(&o);
    if (opt->json)
      table_print_json(stdout, o.rows, cfg->ntargets, now);
    else
      table_print(stdout, o.rows, cfg->ntargets, now, table_want_color(stdout));
  } else {
    fprintf(stderr, "indicatord: Redis at %s is not reachable\n",
            cfg->redis.url);
  }
  for (size_t i = 0; i < cfg->ntargets; i++)
    free_copy(o.hashes[i]);
  free(o.hashes);
  free_rows(o.rows, cfg->ntargets);
  if (rc != 0)
    return 1;
  return o.stored ? 0 : 1;
}
