#include "once.h"

#include "collector.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long `once` waits for Redis to take the writes. */
#define ONCE_STORE_DEADLINE_MS 15000

struct once {
  const struct config *cfg;
  json_t *feeds; /* one object per feed, in config order */
  struct collector col;
  struct store store;
  uv_timer_t deadline;
  bool stored, finished;
};

static size_t feed_index(const struct config *cfg, const struct feed *f) {
  return (size_t)(f - cfg->feeds);
}

static void on_report(void *data, const struct feed *feed,
                      const struct fetch_result *res,
                      const struct extract_out *out, int rc) {
  struct once *o = data;
  json_t *fo = json_array_get(o->feeds, feed_index(o->cfg, feed));
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
  for (size_t i = 0; i < feed->nseries; i++) {
    const struct feed_series *s = &feed->series[i];
    json_t *so = json_object();
    size_t count = 0;
    const struct observation *latest = NULL;
    const char *err = feed_error;
    for (size_t k = 0; k < out->n; k++) {
      if (out->obs[k].series != s->id)
        continue;
      count++;
      if (!latest || out->obs[k].time_ms >= latest->time_ms)
        latest = &out->obs[k];
    }
    for (size_t k = 0; !err && k < out->nerrs; k++)
      if (out->errs[k].series == s->id || (!count && !out->errs[k].series))
        err = out->errs[k].msg;
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
  }
  json_object_set_new(fo, "series", series);
}

static void on_fetch(void *data, const struct feed *feed, int64_t fetch_ms,
                     const char *error, const struct observation *obs,
                     size_t n) {
  struct once *o = data;
  store_feed_status(&o->store, feed, fetch_ms, error);
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
  collector_close(&o->col, NULL);
  store_close(&o->store, NULL);
}

static void on_flushed(void *data, bool ok) {
  finish(data, ok);
}

static void on_deadline(uv_timer_t *t) {
  finish(t->data, false);
}

static void on_done(struct collector *c) {
  struct once *o = container_of(c, struct once, col);
  uv_timer_start(&o->deadline, on_deadline, ONCE_STORE_DEADLINE_MS, 0);
  store_flush(&o->store, on_flushed, o);
}

static void print_text(const json_t *feeds) {
  size_t i;
  json_t *fo;
  int width = 0;
  json_array_foreach(feeds, i, fo) {
    size_t k;
    json_t *so;
    json_array_foreach(json_object_get(fo, "series"), k, so) {
      int w = utf8_width(json_string_value(json_object_get(so, "id")));
      if (w > width)
        width = w;
    }
  }
  json_array_foreach(feeds, i, fo) {
    size_t k;
    json_t *so;
    const char *err = json_string_value(json_object_get(fo, "error"));
    printf("feed %s: %s\n", json_string_value(json_object_get(fo, "id")),
           err ? err : "ok");
    json_array_foreach(json_object_get(fo, "series"), k, so) {
      const char *id = json_string_value(json_object_get(so, "id"));
      json_int_t n = json_integer_value(json_object_get(so, "observations"));
      const char *serr = json_string_value(json_object_get(so, "error"));
      printf("  %s%*s  ", id, width - utf8_width(id), "");
      if (n > 0)
        printf("%lld observation%s, latest %s = %.10g", (long long)n,
               n == 1 ? "" : "s",
               json_string_value(json_object_get(so, "latest_time")),
               json_real_value(json_object_get(so, "latest_value")));
      else
        printf("nothing");
      if (serr)
        printf("%s%s", n > 0 ? "; " : ": ", serr);
      printf("\n");
    }
  }
}

int once_run(const struct config *cfg, bool json) {
  struct once o;
  uv_loop_t loop;
  char err[300];
  int rc;

  memset(&o, 0, sizeof(o));
  o.cfg = cfg;
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
  rc = uv_loop_init(&loop);
  if (rc < 0) {
    fprintf(stderr, "indicatord: cannot create the event loop: %s\n",
            uv_strerror(rc));
    json_decref(o.feeds);
    return 1;
  }
  rc = store_init(&o.store, &loop, cfg, err, sizeof(err));
  if (rc < 0) {
    fprintf(stderr, "indicatord: %s\n", err);
    uv_loop_close(&loop);
    json_decref(o.feeds);
    return 1;
  }
  rc = collector_init(&o.col, &loop, cfg, on_fetch, &o, err, sizeof(err));
  if (rc < 0) {
    fprintf(stderr, "indicatord: %s\n", err);
    store_close(&o.store, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    json_decref(o.feeds);
    return 1;
  }
  uv_timer_init(&loop, &o.deadline);
  o.deadline.data = &o;
  collector_run_once(&o.col, on_report, on_done);
  uv_run(&loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(&loop);
  if (rc != 0)
    log_error("once: event loop closed with handles open: %s", uv_strerror(rc));
  if (json) {
    json_t *top = json_object();
    json_object_set(top, "feeds", o.feeds);
    json_dumpf(top, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    printf("\n");
    json_decref(top);
  } else {
    print_text(o.feeds);
  }
  json_decref(o.feeds);
  if (!o.stored) {
    fprintf(stderr,
            "indicatord: Redis at %s did not take the writes within %d s; "
            "they are kept in the spool in %s\n",
            cfg->redis.url, ONCE_STORE_DEADLINE_MS / 1000, cfg->state_dir);
    return 1;
  }
  return rc != 0 ? 1 : 0;
}
