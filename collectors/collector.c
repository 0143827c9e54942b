#include "collector.h"

#include "clock.h"
#include "log.h"
#include "rng.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double collector_latency_bounds[COLLECTOR_LATENCY_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
const double collector_lag_bounds[COLLECTOR_LAG_BUCKETS] = {
    0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};

/* Spreading the first fetches over at most this much keeps a restart from
 * waiting a whole day for daily feeds. */
#define FIRST_FETCH_SPREAD_MS 5000

static uint32_t fnv1a(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 16777619u;
  }
  return h;
}

uint64_t collector_jitter(const struct feed *feed) {
  uint64_t span = (uint64_t)feed->every_ms;
  if (span > FIRST_FETCH_SPREAD_MS)
    span = FIRST_FETCH_SPREAD_MS;
  /* Offsets on a grid: feeds sharing a slot start in one loop turn, their
   * answers arrive together and their writes leave in one Redis write. */
  if (span >= 20 * COLLECTOR_SLOT_MS)
    return fnv1a(feed->id) % (span / COLLECTOR_SLOT_MS) * COLLECTOR_SLOT_MS;
  return fnv1a(feed->id) % (span ? span : 1);
}

uint64_t collector_backoff(const struct feed *feed, unsigned failures,
                           uint32_t *rng) {
  uint64_t every = (uint64_t)feed->every_ms, d = every;
  uint64_t spread;
  for (unsigned i = 1; i < failures && d < 4 * every; i++)
    d *= 2;
  if (d > 4 * every)
    d = 4 * every;
  spread = d / 5; /* +-10% */
  if (spread)
    d = d - spread / 2 + rng_next(rng) % spread;
  return d;
}

static void schedule(struct feed_state *fs, uint64_t delay);
static void on_fetched(struct fetch_job *job, const struct fetch_result *res);

static void start_fetch(struct feed_state *fs) {
  int rc = fetch_job_start(&fs->job, on_fetched, fs);
  if (rc == -EBUSY) {
    fs->stats.skipped++;
    log_debug("feed %s: still fetching when due; skipped one turn",
              fs->feed->id);
    return;
  }
  if (rc < 0) {
    fs->stats.fetches++;
    fs->stats.failures++;
    log_warn("feed %s: cannot start a fetch: %s", fs->feed->id, strerror(-rc));
    if (!fs->col->once)
      schedule(fs, collector_backoff(fs->feed, ++fs->backoff, &fs->rng));
  }
}

static void record_lag(struct collector *c, uint64_t due, uint64_t now) {
  double s = now > due ? (double)(now - due) / 1000.0 : 0;
  size_t i = 0;
  while (i < COLLECTOR_LAG_BUCKETS && s > collector_lag_bounds[i])
    i++;
  c->lag[i]++;
  c->lag_sum += s;
}

static void schedule_next(struct feed_state *fs, uint64_t due) {
  fs->next_due = due;
  if (fs->polled)
    schedule_at(&fs->col->sched, &fs->sched, due);
}

static void on_due(struct schedule *s, struct schedule_entry *e) {
  struct feed_state *fs = container_of(e, struct feed_state, sched);
  uint64_t every = (uint64_t)fs->feed->every_ms;
  uint64_t now = uv_now(s->loop), due = e->due;
  if (!fs->polled)
    return;
  record_lag(fs->col, due, now);
  /* The next slot keeps the phase; slots missed while overrunning are
   * dropped rather than fired back to back. */
  if (!fs->backoff) {
    uint64_t next = due + every;
    if (next <= now)
      next = now + every - (now - due) % every;
    schedule_next(fs, next);
  }
  start_fetch(fs);
}

static void schedule(struct feed_state *fs, uint64_t delay) {
  schedule_next(fs, uv_now(fs->col->loop) + delay);
}

static void record_latency(struct feed_stats *st, double s) {
  size_t i = 0;
  while (i < COLLECTOR_LATENCY_BUCKETS && s > collector_latency_bounds[i])
    i++;
  st->latency[i]++;
  st->latency_sum += s;
}

/* Logs series problems when they differ from the last body's. */
static void log_series_errors(struct feed_state *fs,
                              const struct extract_out *out) {
  struct strbuf sb = {0};
  char *now;
  /* The common case, clean now and before, allocates nothing. */
  if (!out->nerrs && (!fs->last_series_errors || !*fs->last_series_errors))
    return;
  for (size_t i = 0; i < out->nerrs; i++)
    strbuf_addf(&sb, "%s\n", out->errs[i].msg);
  now = strbuf_take(&sb);
  if (!fs->last_series_errors || strcmp(now, fs->last_series_errors) != 0) {
    for (size_t i = 0; i < out->nerrs; i++)
      log_warn("feed %s: %s", fs->feed->id, out->errs[i].msg);
    if (!out->nerrs && fs->last_series_errors && *fs->last_series_errors)
      log_info("feed %s: every series extracted again", fs->feed->id);
  }
  free(fs->last_series_errors);
  fs->last_series_errors = now;
}

static int64_t fetch_time(const struct collector *c) {
  return c->fixed_now ? c->fixed_now : clock_wall_ms();
}

static void free_series_errors(struct feed_state *fs) {
  if (!fs->series_errors)
    return;
  for (size_t i = 0; i < fs->nseries_errors; i++)
    free(fs->series_errors[i]);
  free(fs->series_errors);
  fs->series_errors = NULL;
  fs->nseries_errors = 0;
}

/* Keeps what the body said about each series, for the store. */
static void keep_series_errors(struct feed_state *fs,
                               const struct extract_out *out) {
  free_series_errors(fs);
  fs->series_errors = xcalloc(fs->feed->nseries + 1, sizeof(char *));
  fs->nseries_errors = fs->feed->nseries;
  for (size_t i = 0; i < fs->feed->nseries; i++)
    fs->series_errors[i] = extract_errors_of(out, &fs->feed->series[i]);
}

static void fail(struct feed_state *fs, const char *why) {
  struct collector *c = fs->col;
  fs->stats.failures++;
  snprintf(fs->last_error, sizeof(fs->last_error), "%s", why);
  if (c->sink)
    c->sink(c->data, fs->feed, fetch_time(c), why, NULL, NULL, 0);
  if (!fs->failing)
    log_warn("feed %s: failing: %s", fs->feed->id, why);
  else
    log_debug("feed %s: still failing: %s", fs->feed->id, why);
  fs->failing = true;
  fs->backoff++;
  if (!fs->col->once)
    schedule(fs, collector_backoff(fs->feed, fs->backoff, &fs->rng));
}

static void succeed(struct feed_state *fs) {
  if (fs->failing)
    log_info("feed %s: recovered", fs->feed->id);
  fs->failing = false;
  fs->stats.last_success_ms = clock_wall_ms();
  if (fs->backoff && !fs->col->once) {
    /* Back on the regular schedule, phase kept. */
    uint64_t every = (uint64_t)fs->feed->every_ms;
    uint64_t now = uv_now(fs->col->loop);
    uint64_t phase = collector_jitter(fs->feed) % (every ? every : 1);
    uint64_t next = now - now % every + phase;
    while (next <= now)
      next += every;
    fs->backoff = 0;
    schedule(fs, next - now);
  }
}

static void on_fetched(struct fetch_job *job, const struct fetch_result *res) {
  struct feed_state *fs = job->data;
  struct collector *c = fs->col;
  struct extract_out out = {0};
  int rc = 0;

  fs->stats.fetches++;
  fs->stats.last_fetch_ms = clock_wall_ms();
  record_latency(&fs->stats, res->seconds);
  if (!res->ok) {
    fail(fs, res->error);
  } else if (res->not_modified) {
    fs->stats.not_modified++;
    /* The body is the one read before: so are its problems. */
    if (c->sink)
      c->sink(c->data, fs->feed, fetch_time(c), NULL,
              (const char *const *)fs->series_errors, NULL, 0);
    log_debug("feed %s: not modified", fs->feed->id);
    succeed(fs);
  } else {
    rc = extract_run(fs->ex, res->body, res->len, fetch_time(c),
                     res->content_type, &out);
    if (rc < 0) {
      char why[300];
      snprintf(why, sizeof(why), "unusable body: %s",
               out.nerrs ? out.errs[0].msg : "unknown problem");
      fail(fs, why);
    } else {
      fs->stats.body_errors = extract_error_count(&out);
      fs->stats.series_errors += fs->stats.body_errors;
      log_series_errors(fs, &out);
      keep_series_errors(fs, &out);
      if (c->sink)
        c->sink(c->data, fs->feed, fetch_time(c), NULL,
                (const char *const *)fs->series_errors, out.obs, out.n);
      fs->stats.observations += out.n;
      log_debug("feed %s: %zu observations", fs->feed->id, out.n);
      succeed(fs);
    }
  }
  if (c->once) {
    if (c->report)
      c->report(c->data, fs->feed, res, &out, rc);
    if (--c->once_pending == 0 && c->once_done)
      c->once_done(c);
  } else {
    /* Taken back while this fetch ran: on its schedule again. */
    if (fs->polled && fs->sched.index == SCHEDULE_IDLE)
      schedule_next(fs, fs->next_due > uv_now(c->loop) ? fs->next_due
                                                       : uv_now(c->loop));
    if (c->done)
      c->done(c->data, fs->index, out.n > 0);
  }
  extract_out_free(&out);
}

/* A state for feed with its extractor already compiled (ex). */
static struct feed_state *state_new(struct collector *c, const struct feed *f,
                                    struct extractor *ex) {
  struct feed_state *fs = xcalloc(1, sizeof(*fs));
  int rc;
  fs->col = c;
  fs->feed = f;
  fs->ex = ex;
  fs->polled = !c->leased;
  /* Per feed and per process: feeds failing together, or several
   * instances, do not retry in step. */
  fs->rng = fnv1a(f->id) ^ c->seed;
  schedule_entry_init(&fs->sched);
  rc = fetch_job_init(&fs->job, &c->eng, f);
  if (rc < 0)
    log_error("feed %s: cannot prepare the fetch: %s", f->id, strerror(-rc));
  fs->job.data = fs;
  return fs;
}

static void release(struct feed_state *fs) {
  schedule_cancel(&fs->col->sched, &fs->sched);
  fetch_job_free(&fs->job);
  extract_free(fs->ex);
  free(fs->last_series_errors);
  free_series_errors(fs);
  free(fs);
}

/* Compiles an extractor per feed of cfg; all or nothing. */
static int compile_all(const struct config *cfg, struct extractor ***out,
                       char *err, size_t errlen) {
  struct extractor **ex = xcalloc(cfg->nfeeds + 1, sizeof(*ex));
  for (size_t i = 0; i < cfg->nfeeds; i++) {
    char why[300];
    if (extract_new(&cfg->feeds[i], &ex[i], why, sizeof(why)) < 0) {
      snprintf(err, errlen, "feed %s: %s", cfg->feeds[i].id, why);
      for (size_t j = 0; j < i; j++)
        extract_free(ex[j]);
      free(ex);
      return -EINVAL;
    }
  }
  *out = ex;
  return 0;
}

int collector_init(struct collector *c, uv_loop_t *loop,
                   const struct config *cfg, collector_sink sink, void *data,
                   char *err, size_t errlen) {
  struct extractor **ex;
  int rc;
  memset(c, 0, sizeof(*c));
  c->loop = loop;
  c->seed = rng_seed();
  c->sink = sink;
  c->data = data;
  /* Compile every extractor before any handle exists: a failure here then
   * needs no handle cleanup. */
  rc = compile_all(cfg, &ex, err, errlen);
  if (rc < 0)
    return rc;
  rc = fetch_engine_init(&c->eng, loop);
  if (rc < 0) {
    snprintf(err, errlen, "cannot start the HTTP engine: %s", strerror(-rc));
    for (size_t i = 0; i < cfg->nfeeds; i++)
      extract_free(ex[i]);
    free(ex);
    return rc;
  }
  schedule_init(&c->sched, loop, on_due);
  c->nfeeds = cfg->nfeeds;
  c->feeds = xcalloc(c->nfeeds + 1, sizeof(*c->feeds));
  for (size_t i = 0; i < c->nfeeds; i++) {
    c->feeds[i] = state_new(c, &cfg->feeds[i], ex[i]);
    c->feeds[i]->index = i;
  }
  free(ex);
  return 0;
}

int collector_apply(struct collector *c, const struct config *cfg,
                    size_t counts[3], char *err, size_t errlen) {
  struct extractor **ex;
  struct feed_state **next;
  bool *kept;
  int rc = compile_all(cfg, &ex, err, errlen);
  if (rc < 0)
    return rc;
  counts[0] = counts[1] = counts[2] = 0;
  next = xcalloc(cfg->nfeeds + 1, sizeof(*next));
  kept = xcalloc(c->nfeeds + 1, sizeof(*kept));
  for (size_t i = 0; i < cfg->nfeeds; i++) {
    const struct feed *f = &cfg->feeds[i];
    for (size_t j = 0; j < c->nfeeds && !next[i]; j++) {
      struct feed_state *old = c->feeds[j];
      if (kept[j] || strcmp(old->feed->id, f->id) != 0 ||
          !config_feed_equal(old->feed, f))
        continue;
      /* Unchanged: keep schedule, ETag, backoff and counters. */
      kept[j] = true;
      extract_free(old->ex);
      old->ex = ex[i];
      old->feed = f;
      old->job.feed = f;
      next[i] = old;
      counts[0]++;
    }
    if (!next[i]) {
      next[i] = state_new(c, f, ex[i]);
      /* Changed: still polled here when it was (leased mode). */
      for (size_t j = 0; j < c->nfeeds && c->leased; j++)
        if (!kept[j] && strcmp(c->feeds[j]->feed->id, f->id) == 0)
          next[i]->polled = c->feeds[j]->polled;
      if (!c->once && next[i]->job.ready)
        schedule(next[i], collector_jitter(f));
      counts[1]++;
    }
  }
  for (size_t j = 0; j < c->nfeeds; j++) {
    if (kept[j])
      continue;
    release(c->feeds[j]);
    counts[2]++;
  }
  free(kept);
  free(ex);
  free(c->feeds);
  c->feeds = next;
  c->nfeeds = cfg->nfeeds;
  for (size_t i = 0; i < c->nfeeds; i++)
    c->feeds[i]->index = i;
  return 0;
}

void collector_start(struct collector *c) {
  for (size_t i = 0; i < c->nfeeds; i++) {
    struct feed_state *fs = c->feeds[i];
    if (fs->job.ready && fs->polled)
      schedule(fs, collector_jitter(fs->feed));
  }
}

void collector_take(struct collector *c, size_t i,
                    const struct feed_handoff *h) {
  struct feed_state *fs = c->feeds[i];
  uint64_t delay = collector_jitter(fs->feed);
  fs->polled = true;
  if (h) {
    struct fetch_job *job = &fs->job;
    int64_t now = clock_wall_ms();
    free(job->etag);
    free(job->last_modified);
    job->etag = h->etag && *h->etag ? xstrdup(h->etag) : NULL;
    job->last_modified = h->last_modified && *h->last_modified
                             ? xstrdup(h->last_modified)
                             : NULL;
    fs->backoff = h->failures;
    fs->failing = h->failures > 0;
    if (h->due_ms)
      delay = h->due_ms > now ? (uint64_t)(h->due_ms - now) : 0;
  }
  if (fs->job.ready && !fs->job.active)
    schedule(fs, delay);
  else
    fs->next_due = uv_now(c->loop) + delay; /* the fetch in flight goes on */
}

void collector_drop(struct collector *c, size_t i) {
  struct feed_state *fs = c->feeds[i];
  fs->polled = false;
  schedule_cancel(&c->sched, &fs->sched);
}

bool collector_busy(const struct collector *c, size_t i) {
  return c->feeds[i]->job.active;
}

void collector_handoff(const struct collector *c, size_t i,
                       struct feed_handoff *h) {
  const struct feed_state *fs = c->feeds[i];
  uint64_t now = uv_now(c->loop);
  h->due_ms =
      clock_wall_ms() + (int64_t)(fs->next_due > now ? fs->next_due - now : 0);
  h->etag = fs->job.etag;
  h->last_modified = fs->job.last_modified;
  h->failures = fs->backoff;
}

void collector_run_once(struct collector *c, collector_report report,
                        void (*done)(struct collector *c)) {
  c->once = true;
  c->report = report;
  c->once_done = done;
  c->once_pending = c->nfeeds;
  if (c->nfeeds == 0) {
    if (done)
      done(c);
    return;
  }
  for (size_t i = 0; i < c->nfeeds; i++) {
    struct feed_state *fs = c->feeds[i];
    int rc =
        fs->job.ready ? fetch_job_start(&fs->job, on_fetched, fs) : -ENOMEM;
    if (rc < 0) {
      struct fetch_result res;
      struct extract_out out = {0};
      memset(&res, 0, sizeof(res));
      snprintf(res.error, sizeof(res.error), "cannot start: %s", strerror(-rc));
      fs->stats.failures++;
      if (report)
        report(c->data, fs->feed, &res, &out, -EIO);
      if (--c->once_pending == 0 && done)
        done(c);
    }
  }
}

static void closed_one(struct collector *c) {
  if (--c->pending_closes > 0)
    return;
  free(c->feeds);
  c->feeds = NULL;
  c->nfeeds = 0;
  if (c->on_closed)
    c->on_closed(c);
}

static void on_engine_closed(struct fetch_engine *e) {
  closed_one(container_of(e, struct collector, eng));
}

static void on_schedule_closed(struct schedule *s) {
  closed_one(container_of(s, struct collector, sched));
}

void collector_close(struct collector *c,
                     void (*on_closed)(struct collector *)) {
  c->on_closed = on_closed;
  c->pending_closes = 2;
  for (size_t i = 0; i < c->nfeeds; i++)
    release(c->feeds[i]);
  c->nfeeds = 0;
  schedule_close(&c->sched, on_schedule_closed);
  fetch_engine_close(&c->eng, on_engine_closed);
}
