#include "statuspage.h"

#include "page.h"
#include "version.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Samples of the expected line: about one per four days of a year. */
#define EXPECTED_SAMPLES 97

enum read_state { READ_NONE, READ_WAIT, READ_DONE, READ_FAILED };

/* What one target's row and chart need, copied. */
struct snap {
  char *id, *title, *unit, *message, *group, *source, *status;
  struct target shape; /* rule, period, pace and baseline only */
  enum read_state read;
};

struct read_ctx {
  struct statuspage_build *b;
  size_t i;
};

struct waiter {
  statuspage_cb cb;
  void *arg;
};

struct statuspage_build {
  struct statuspage *sp; /* NULL once answered */
  struct page page;
  struct snap *snaps;
  struct read_ctx *ctx; /* per target; outlives the page for late reads */
  struct waiter *waiters;
  size_t nwaiters, capwaiters;
  uv_timer_t deadline;
  bool timer_open, answered;
  size_t reads_out;
};

/* ---- redaction ---- */

static void replace_all(char **s, const char *needle, const char *with) {
  struct strbuf sb = {0};
  const char *p = *s, *hit;
  size_t n;
  if (!needle || !*needle || !strstr(p, needle))
    return;
  n = strlen(needle);
  while ((hit = strstr(p, needle))) {
    strbuf_add(&sb, p, (size_t)(hit - p));
    strbuf_adds(&sb, with);
    p = hit + n;
  }
  strbuf_adds(&sb, p);
  free(*s);
  *s = strbuf_take(&sb);
}

static bool scheme_char(char c) {
  return isalnum((unsigned char)c) || c == '+' || c == '-' || c == '.';
}

/* Every "scheme://..." in s as config_redact_url shows it. */
static char *redact_urls(char *s) {
  struct strbuf sb = {0};
  const char *p = s, *mark;
  if (!strstr(s, "://"))
    return s;
  while ((mark = strstr(p, "://"))) {
    const char *start = mark, *end = mark + 3;
    char *url, *red;
    while (start > p && scheme_char(start[-1]))
      start--;
    while (*end && !isspace((unsigned char)*end) && !strchr("\"'<>", *end))
      end++;
    strbuf_add(&sb, p, (size_t)(start - p));
    url = xasprintf("%.*s", (int)(end - start), start);
    red = config_redact_url(url);
    strbuf_adds(&sb, red);
    free(red);
    free(url);
    p = end;
  }
  strbuf_adds(&sb, p);
  free(s);
  return strbuf_take(&sb);
}

char *statuspage_redact(const struct feed *feed, const char *text) {
  char *s = xstrdup(text ? text : ""), *url = config_redact_url(feed->url);
  replace_all(&s, feed->url, url);
  free(url);
  for (size_t i = 0; i < feed->nheaders; i++)
    replace_all(&s, feed->headers[i].value, "REDACTED");
  replace_all(&s, feed->basic_password, "REDACTED");
  replace_all(&s, feed->bearer_token, "REDACTED");
  return redact_urls(s);
}

/* ---- gathering ---- */

static char *dup_or_null(const char *s) {
  return s ? xstrdup(s) : NULL;
}

static void snapshot_targets(struct statuspage_build *b,
                             const struct targets *tg) {
  struct page *p = &b->page;
  p->ntargets = tg->n;
  p->targets = xcalloc(tg->n + 1, sizeof(*p->targets));
  b->snaps = xcalloc(tg->n + 1, sizeof(*b->snaps));
  b->ctx = xcalloc(tg->n + 1, sizeof(*b->ctx));
  for (size_t i = 0; i < tg->n; i++) {
    const struct target *t = &tg->cfg->targets[i];
    struct page_target *pt = &p->targets[i];
    struct snap *s = &b->snaps[i];
    struct table_row *r = &pt->row;
    targets_row(tg, i, r);
    s->id = xstrdup(r->id);
    s->title = dup_or_null(r->title);
    s->unit = dup_or_null(r->unit);
    s->message = dup_or_null(r->message);
    s->group = dup_or_null(r->group);
    s->source = dup_or_null(r->source);
    s->status = xstrdup(r->status);
    s->shape.rule = t->rule;
    s->shape.period = t->period;
    s->shape.pace = t->pace;
    s->shape.has_baseline = t->has_baseline;
    s->shape.baseline = t->baseline;
    r->id = s->id;
    r->title = s->title;
    r->unit = s->unit;
    r->message = s->message;
    r->group = s->group;
    r->source = s->source;
    r->status = s->status;
    r->rule = &s->shape.rule;
    pt->start_ms = period_start_ms(&t->period);
    pt->end_ms = period_end_ms(&t->period);
    b->ctx[i].b = b;
    b->ctx[i].i = i;
  }
}

static void snapshot_feeds(struct statuspage_build *b,
                           const struct collector *col, int64_t now) {
  struct page *p = &b->page;
  uint64_t loop_now = uv_now(col->loop);
  p->nfeeds = col->nfeeds;
  p->feeds = xcalloc(col->nfeeds + 1, sizeof(*p->feeds));
  for (size_t i = 0; i < col->nfeeds; i++) {
    const struct feed_state *fs = col->feeds[i];
    const struct feed *f = fs->feed;
    struct page_feed *pf = &p->feeds[i];
    pf->id = xstrdup(f->id);
    pf->url = config_redact_url(f->url);
    pf->failing = fs->failing;
    pf->failures = fs->backoff;
    pf->fetches = fs->stats.fetches;
    pf->failures_total = fs->stats.failures;
    pf->last_fetch_ms = fs->stats.last_fetch_ms;
    pf->last_success_ms = fs->stats.last_success_ms;
    pf->elsewhere = col->leased && !fs->polled;
    if (fs->sched.index != SCHEDULE_IDLE)
      pf->next_ms =
          now +
          (fs->sched.due > loop_now ? (int64_t)(fs->sched.due - loop_now) : 0);
    if (fs->last_error[0])
      pf->error = statuspage_redact(f, fs->last_error);
    pf->nseries = f->nseries;
    pf->series = xcalloc(f->nseries + 1, sizeof(*pf->series));
    for (size_t k = 0; k < f->nseries; k++) {
      const char *err = fs->series_errors && k < fs->nseries_errors
                            ? fs->series_errors[k]
                            : NULL;
      pf->series[k].id = xstrdup(f->series[k].id);
      if (err && *err)
        pf->series[k].error = statuspage_redact(f, err);
    }
  }
}

static double reply_field(const redisReply *fields, const char *name) {
  for (size_t k = 0; k + 1 < fields->elements; k += 2) {
    const redisReply *key = fields->element[k], *val = fields->element[k + 1];
    if (key->type == REDIS_REPLY_STRING && val->type == REDIS_REPLY_STRING &&
        strcmp(key->str, name) == 0) {
      char *end;
      double v = strtod(val->str, &end);
      return *end ? NAN : v;
    }
  }
  return NAN;
}

/* An XREVRANGE answer (newest first) into the target's points, oldest
 * first, those within the period only. */
static bool read_points(struct page_target *pt, const redisReply *r) {
  if (!r || r->type != REDIS_REPLY_ARRAY)
    return false;
  pt->pts = xcalloc(r->elements + 1, sizeof(*pt->pts));
  for (size_t k = r->elements; k-- > 0;) {
    const redisReply *e = r->element[k];
    struct eval_traj_point q;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
      continue;
    q.t = strtoll(e->element[0]->str, NULL, 10);
    q.actual = reply_field(e->element[1], "actual");
    q.expected = reply_field(e->element[1], "expected");
    q.projected = reply_field(e->element[1], "projected");
    if (q.t < pt->start_ms || q.t >= pt->end_ms || !isfinite(q.actual))
      continue;
    pt->pts[pt->npts++] = q;
  }
  return true;
}

/* The expected line; a latest level's starts at its baseline: the
 * configured one, else what the first point's expected implies
 * (expected = baseline + (goal - baseline) * P). */
static void expected_line(struct page_target *pt, const struct snap *s) {
  double base = s->shape.baseline;
  if (s->shape.rule.measure == MEASURE_LATEST && !s->shape.has_baseline) {
    const struct eval_traj_point *q = pt->pts;
    double p0, g = s->shape.rule.value;
    if (!pt->npts)
      return;
    p0 = eval_pace(&s->shape, q->t);
    base = p0 < 0.999 && isfinite(q->expected)
               ? (q->expected - g * p0) / (1 - p0)
               : q->actual;
  }
  pt->expected = xcalloc(EXPECTED_SAMPLES, sizeof(*pt->expected));
  pt->nexpected = EXPECTED_SAMPLES;
  eval_expected_line(&s->shape, base, pt->expected, EXPECTED_SAMPLES);
}

static void free_page(struct statuspage_build *b) {
  struct page *p = &b->page;
  for (size_t i = 0; i < p->ntargets; i++) {
    struct snap *s = &b->snaps[i];
    free(s->id);
    free(s->title);
    free(s->unit);
    free(s->message);
    free(s->group);
    free(s->source);
    free(s->status);
    free(p->targets[i].pts);
    free(p->targets[i].expected);
  }
  for (size_t i = 0; i < p->nfeeds; i++) {
    struct page_feed *f = &p->feeds[i];
    free((char *)f->id);
    free((char *)f->url);
    free((char *)f->error);
    for (size_t k = 0; k < f->nseries; k++) {
      free((char *)f->series[k].id);
      free((char *)f->series[k].error);
    }
    free(f->series);
  }
  free(p->feeds);
  free(p->targets);
  free(b->snaps);
  memset(p, 0, sizeof(*p));
  b->snaps = NULL;
}

static void maybe_free(struct statuspage_build *b) {
  if (!b->answered || b->reads_out || b->timer_open)
    return;
  free(b->ctx);
  free(b->waiters);
  free(b);
}

static void on_timer_closed(uv_handle_t *h) {
  struct statuspage_build *b = h->data;
  b->timer_open = false;
  maybe_free(b);
}

static void answer(struct statuspage_build *b) {
  struct strbuf html = {0};
  struct page *p = &b->page;
  b->answered = true;
  for (size_t i = 0; i < p->ntargets; i++) {
    struct page_target *pt = &p->targets[i];
    if (!pt->charted)
      continue;
    if (b->snaps[i].read == READ_WAIT)
      pt->chart_note = "trajectory not read in time: Redis is slow";
    else if (b->snaps[i].read == READ_FAILED)
      pt->chart_note = "trajectory unavailable: Redis unreachable";
    expected_line(pt, &b->snaps[i]);
  }
  page_render(&html, p);
  if (b->sp && b->sp->build == b) {
    struct statuspage *sp = b->sp;
    sp->build = NULL;
    free(sp->last);
    sp->last = NULL;
    if (!sp->closed) {
      sp->last = xmalloc(html.len + 1);
      memcpy(sp->last, html.buf, html.len + 1);
      sp->last_len = html.len;
      sp->last_at = uv_now(sp->loop);
    }
  }
  b->sp = NULL;
  for (size_t i = 0; i < b->nwaiters; i++)
    b->waiters[i].cb(b->waiters[i].arg, html.buf, html.len);
  strbuf_free(&html);
  free_page(b);
  uv_close((uv_handle_t *)&b->deadline, on_timer_closed);
}

static void on_deadline(uv_timer_t *t) {
  answer(t->data);
}

static void on_read(void *data, redisReply *reply) {
  struct read_ctx *ctx = data;
  struct statuspage_build *b = ctx->b;
  b->reads_out--;
  if (!b->answered) {
    bool ok = read_points(&b->page.targets[ctx->i], reply);
    b->snaps[ctx->i].read = ok ? READ_DONE : READ_FAILED;
    if (!b->reads_out)
      answer(b);
  }
  maybe_free(b);
}

static void start_reads(struct statuspage_build *b) {
  struct statuspage *sp = b->sp;
  struct page *p = &b->page;
  for (size_t i = 0; i < p->ntargets; i++) {
    struct page_target *pt = &p->targets[i];
    char *key, from[32], to[32], count[32];
    const char *argv[7];
    int rc;
    if (!pt->charted)
      continue;
    b->snaps[i].read = READ_FAILED;
    if (sp->closed || !store_is_up(sp->store))
      continue;
    key = store_key(sp->store, "p", pt->row.id);
    snprintf(from, sizeof(from), "%lld", (long long)(pt->end_ms - 1));
    snprintf(to, sizeof(to), "%lld", (long long)pt->start_ms);
    snprintf(count, sizeof(count), "%d", STATUSPAGE_MAX_POINTS);
    argv[0] = "XREVRANGE";
    argv[1] = key;
    argv[2] = from;
    argv[3] = to;
    argv[4] = "COUNT";
    argv[5] = count;
    rc = store_read(sp->store, 6, argv, NULL, on_read, &b->ctx[i]);
    free(key);
    if (rc < 0)
      continue;
    b->snaps[i].read = READ_WAIT;
    b->reads_out++;
  }
}

static struct statuspage_build *build_start(struct statuspage *sp) {
  struct statuspage_build *b = xcalloc(1, sizeof(*b));
  struct page *p = &b->page;
  b->sp = sp;
  /* Cannot fail: a timer init only records the loop. */
  uv_timer_init(sp->loop, &b->deadline);
  b->deadline.data = b;
  b->timer_open = true;
  p->now_ms = targets_now(sp->tg);
  p->version = INDICATORD_VERSION;
  p->redis_up = store_is_up(sp->store);
  p->redis_error =
      sp->store->link.last_error[0] ? sp->store->link.last_error : NULL;
  snapshot_targets(b, sp->tg);
  if (sp->col)
    snapshot_feeds(b, sp->col, p->now_ms);
  page_pick_charts(p, sp->max_charts);
  return b;
}

void statuspage_init(struct statuspage *sp, uv_loop_t *loop,
                     struct store *store, const struct targets *tg,
                     const struct collector *col) {
  memset(sp, 0, sizeof(*sp));
  sp->loop = loop;
  sp->store = store;
  sp->tg = tg;
  sp->col = col;
  sp->max_charts = STATUSPAGE_MAX_CHARTS;
}

void statuspage_get(struct statuspage *sp, statuspage_cb cb, void *arg) {
  struct statuspage_build *b = sp->build;
  bool fresh = !b;
  if (fresh && sp->last &&
      uv_now(sp->loop) - sp->last_at < STATUSPAGE_REUSE_MS) {
    cb(arg, sp->last, sp->last_len);
    return;
  }
  if (fresh)
    b = sp->build = build_start(sp);
  xgrow((void **)&b->waiters, &b->capwaiters, b->nwaiters + 1,
        sizeof(*b->waiters));
  b->waiters[b->nwaiters++] = (struct waiter){cb, arg};
  if (!fresh)
    return;
  start_reads(b);
  if (!b->reads_out)
    answer(b);
  else
    uv_timer_start(&b->deadline, on_deadline, STATUSPAGE_DEADLINE_MS, 0);
}

void statuspage_close(struct statuspage *sp) {
  sp->closed = true;
  if (sp->build)
    answer(sp->build);
  free(sp->last);
  sp->last = NULL;
}
