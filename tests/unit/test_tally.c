/* The incremental judgement (eval_tally) against a full recomputation
 * (eval_target over every observation the target reads): on random
 * histories of every measure, with appends, revisions, late inserts,
 * batches of both, retention trims, entries that are not numbers, several
 * entries in one ms, reads cut into chunks and interrupted by rewrites, and
 * judgements at random times before, in and after the period; every field
 * of the result and the trajectory as ind:p would hold it (replaced from
 * where the tally says) must be bit for bit the same. A fixed seed and
 * many iterations: a failure names the iteration and step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "eval.h"
#include "eval_tally.h"
#include "testutil.h"
#include "tz.h"

#include <inttypes.h>
#include <math.h>

#define DAY (86400000LL)
#define HOUR (3600000LL)

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* In [lo, hi). */
static int64_t between(int64_t lo, int64_t hi) {
  return hi > lo ? lo + (int64_t)(rnd() % (uint64_t)(hi - lo)) : lo;
}

static bool chance(int percent) {
  return (int)(rnd() % 100) < percent;
}

/* ---- a stream, as Redis holds it ---- */

struct entry {
  int64_t ms;
  uint64_t seq;
  double v;
};

struct stream {
  struct entry *e;
  size_t n, cap;
};

static int cmp_id(int64_t ms, uint64_t seq, const struct entry *e) {
  if (ms != e->ms)
    return ms < e->ms ? -1 : 1;
  return seq < e->seq ? -1 : seq > e->seq;
}

/* Inserts or replaces the entry at (ms, seq). */
static void put(struct stream *s, int64_t ms, uint64_t seq, double v) {
  size_t i = s->n;
  while (i > 0 && cmp_id(ms, seq, &s->e[i - 1]) < 0)
    i--;
  if (i > 0 && cmp_id(ms, seq, &s->e[i - 1]) == 0) {
    s->e[i - 1].v = v;
    return;
  }
  xgrow((void **)&s->e, &s->cap, s->n + 1, sizeof(*s->e));
  if (i < s->n)
    memmove(s->e + i + 1, s->e + i, (s->n - i) * sizeof(*s->e));
  s->e[i] = (struct entry){ms, seq, v};
  s->n++;
}

static size_t trim(struct stream *s, int64_t before) {
  size_t k = 0;
  while (k < s->n && s->e[k].ms < before)
    k++;
  if (k)
    memmove(s->e, s->e + k, (s->n - k) * sizeof(*s->e));
  s->n -= k;
  return k;
}

/* The start of ms's local day: where the store cuts a retention trim. */
static int64_t day_start(int64_t ms) {
  struct civil c, d = {0};
  tz_ms_to_local(ms, &c);
  d.year = c.year;
  d.month = c.month;
  d.day = c.day;
  return tz_local_to_ms(&d);
}

static bool has_ms(const struct stream *s, int64_t ms) {
  for (size_t i = 0; i < s->n; i++)
    if (s->e[i].ms == ms)
      return true;
  return false;
}

/* Reads as targets.c does: XRANGE <eval_tally_read_from> <until or +>
 * COUNT count, at most chunks times (0: to the end). */
static void read_chunks(struct eval_tally *ta, const struct stream *s,
                        int64_t until, size_t count, int chunks) {
  for (int c = 0; chunks == 0 || c < chunks; c++) {
    char from[64];
    long long ms;
    unsigned long long seq = 0;
    size_t i = 0, got = 0;
    bool exclusive = false;
    eval_tally_read_from(ta, from, sizeof(from));
    if (from[0] == '(') {
      exclusive = true;
      assert_int_equal(sscanf(from + 1, "%lld-%llu", &ms, &seq), 2);
    } else {
      assert_int_equal(sscanf(from, "%lld", &ms), 1);
    }
    while (i < s->n && (exclusive ? cmp_id(ms, seq, &s->e[i]) >= 0
                                  : s->e[i].ms < (int64_t)ms))
      i++;
    for (; i < s->n && got < count; i++, got++) {
      if (until > 0 && s->e[i].ms > until)
        break;
      eval_tally_add(ta, s->e[i].ms, s->e[i].seq, s->e[i].v);
    }
    if (got < count)
      return;
  }
}

/* ---- ind:p, as the tally's replacements leave it ---- */

static void replace_tail(struct eval_traj *held, int64_t from,
                         const struct eval_traj *pts) {
  size_t k = 0;
  while (k < held->n && held->p[k].t < from)
    k++;
  held->n = k;
  for (size_t i = 0; i < pts->n; i++) {
    assert_true(pts->p[i].t >= from);
    assert_true(held->n == 0 || pts->p[i].t > held->p[held->n - 1].t);
    xgrow((void **)&held->p, &held->cap, held->n + 1, sizeof(*held->p));
    held->p[held->n++] = pts->p[i];
  }
}

/* ---- the comparison ---- */

static bool same_double(double a, double b) {
  return memcmp(&a, &b, sizeof(a)) == 0;
}

static int where_iter, where_step;

#define SAME_NUM(f)                                                            \
  do {                                                                         \
    if (!same_double(a->f, b->f)) {                                            \
      fprintf(stderr, "iteration %d step %d: %s: %.17g (tally) vs %.17g\n",    \
              where_iter, where_step, #f, a->f, b->f);                         \
      fail();                                                                  \
    }                                                                          \
  } while (0)

#define SAME_INT(f)                                                            \
  do {                                                                         \
    if ((long long)a->f != (long long)b->f) {                                  \
      fprintf(stderr, "iteration %d step %d: %s: %lld (tally) vs %lld\n",      \
              where_iter, where_step, #f, (long long)a->f, (long long)b->f);   \
      fail();                                                                  \
    }                                                                          \
  } while (0)

static void same_result(const struct eval_result *a,
                        const struct eval_result *b) {
  SAME_INT(raw);
  SAME_NUM(actual);
  SAME_NUM(expected);
  SAME_NUM(projected);
  SAME_NUM(goal);
  SAME_NUM(score);
  SAME_NUM(pace);
  SAME_NUM(goal_low);
  SAME_NUM(goal_high);
  SAME_NUM(remaining_budget);
  SAME_NUM(required_rate);
  SAME_INT(valid_days);
  SAME_INT(breach);
  SAME_INT(ref_ms);
  SAME_INT(period_start_ms);
  SAME_INT(period_end_ms);
  SAME_INT(data_end_ms);
  SAME_INT(points);
  if (strcmp(a->reason, b->reason) != 0) {
    fprintf(stderr, "iteration %d step %d: reason '%s' (tally) vs '%s'\n",
            where_iter, where_step, a->reason, b->reason);
    fail();
  }
}

static void same_traj(const struct eval_traj *a, const struct eval_traj *b) {
  if (a->n != b->n) {
    fprintf(stderr, "iteration %d step %d: ind:p holds %zu points, want %zu\n",
            where_iter, where_step, a->n, b->n);
    fail();
  }
  for (size_t i = 0; i < a->n; i++)
    if (a->p[i].t != b->p[i].t ||
        !same_double(a->p[i].actual, b->p[i].actual) ||
        !same_double(a->p[i].expected, b->p[i].expected) ||
        !same_double(a->p[i].projected, b->p[i].projected)) {
      fprintf(stderr,
              "iteration %d step %d: ind:p point %zu: %" PRId64
              " %.17g %.17g %.17g vs %" PRId64 " %.17g %.17g %.17g\n",
              where_iter, where_step, i, a->p[i].t, a->p[i].actual,
              a->p[i].expected, a->p[i].projected, b->p[i].t, b->p[i].actual,
              b->p[i].expected, b->p[i].projected);
      fail();
    }
}

/* ---- the targets ---- */

static const struct {
  const char *zone, *kind, *target;
} cases[] = {
    {"Asia/Shanghai", "cumulative",
     "rule: total >= 4500\n    period: 2026\n    pace: {profile: [0.07, "
     "0.15, 0.25, 0.33, 0.45, 0.57, 0.65, 0.75, 0.85, 0.92, 0.96, 1.0]}\n"},
    {"Asia/Shanghai", "increment",
     "rule: total >= 4500\n    period: 2026\n    pace: {season: {from: "
     "\"04-01\", to: \"11-15\"}}\n"},
    {"Asia/Shanghai", "increment",
     "rule: total in [1000, 2000]\n    period: 2026-H2\n"},
    {"Asia/Shanghai", "instant",
     "rule: mean <= 33\n    period: 2026\n    pace: {seasonal: [1.46, 1.31, "
     "1.16, 0.96, 0.76, 0.71, 0.66, 0.61, 0.71, 0.96, 1.26, 1.46]}\n"},
    {"Asia/Shanghai", "instant",
     "rule: mean <= 60\n    period: 2026\n    validity: gb3095\n"},
    {"Asia/Shanghai", "instant",
     "rule: mean >= 10\n    period: {from: 2026-03-10, to: 2026-09-20}\n"},
    {"Asia/Shanghai", "instant", "rule: latest >= 93\n    period: 2026\n"},
    {"Asia/Shanghai", "instant",
     "rule: latest >= 50\n    period: 2026-Q3\n    baseline: 10\n"},
    {"Asia/Shanghai", "instant", "rule: latest == 0\n    period: 2026\n"},
    {"Asia/Shanghai", "instant", "rule: min >= 20\n    period: 2026\n"},
    {"Asia/Shanghai", "instant", "rule: max <= 80\n    period: 2026\n"},
    {"Asia/Shanghai", "increment",
     "rule: growth in [3%, 4%]\n    period: 2026\n"},
    {"Asia/Shanghai", "cumulative",
     "rule: growth >= 5%\n    period: 2026-Q2\n"},
    {"Europe/Berlin", "instant", "rule: mean <= 40\n    period: 2026\n"},
    {"Europe/Berlin", "increment",
     "rule: total >= 900\n    period: 2026\n    stale_after: 3d\n"},
};

static struct config *load_case(size_t k) {
  char *yaml = xasprintf("timezone: %s\n"
                         "feeds:\n"
                         "  - id: f\n"
                         "    url: http://127.0.0.1/x\n"
                         "    every: 1h\n"
                         "    series: {s: {path: $.v, kind: %s}}\n"
                         "targets:\n"
                         "  - id: t\n"
                         "    series: s\n"
                         "    %s",
                         cases[k].zone, cases[k].kind, cases[k].target);
  struct config *c = test_config(yaml);
  free(yaml);
  assert_non_null(c);
  return c;
}

/* The next time after top in this history's rhythm. */
static int64_t step_after(int mode, int64_t top) {
  switch (mode) {
  case 0: /* hourly, with a gap now and then */
    return top + (chance(3) ? between(2, 60) : 1) * HOUR;
  case 1: /* daily */
    return top + DAY + between(-2 * HOUR, 2 * HOUR);
  case 2: /* monthly */
    return top + between(28, 32) * DAY;
  default: /* irregular: minutes to days */
    return top + between(10 * 60000, 5 * DAY);
  }
}

static double value(void) {
  if (chance(1))
    return NAN; /* an entry that is not a number: skipped by both */
  return (double)between(0, 10000) / 100;
}

/* Judges t from scratch over what s holds (the full recomputation). */
static void full(const struct eval_input *base, const struct stream *s,
                 int64_t lo, struct eval_result *r, struct eval_traj *traj) {
  struct eval_point *p = xcalloc(s->n + 1, sizeof(*p));
  struct eval_input in = *base;
  size_t n = 0;
  for (size_t i = 0; i < s->n; i++)
    if (s->e[i].ms >= lo && isfinite(s->e[i].v))
      p[n++] = (struct eval_point){s->e[i].ms, s->e[i].v};
  in.pts = p;
  in.n = n;
  eval_target(&in, r, traj);
  free(p);
}

static void one_history(const struct config *c, int iter) {
  const struct target *t = &c->targets[0];
  int64_t ps = period_start_ms(&t->period), pe = period_end_ms(&t->period);
  int64_t lo = ps - 366 * DAY, top;
  int mode = (int)(rnd() % 4);
  struct stream s = {0};
  struct eval_tally ta;
  struct eval_traj held = {0};
  struct eval_input in = {.target = t,
                          .kind = c->feeds[0].series[0].meta.kind,
                          .every_ms = c->feeds[0].every_ms};
  static const enum timefmt_grain grains[] = {GRAIN_INSTANT, GRAIN_DAY,
                                              GRAIN_MONTH};
  int steps = 30 + (int)(rnd() % 30);
  in.grain = grains[rnd() % 3];
  in.at_start = chance(50);
  eval_tally_init(&ta, t, in.kind, c->timezone);
  assert_true(eval_tally_fits(&ta, t, in.kind, c->timezone));
  assert_false(eval_tally_fits(&ta, t, in.kind, "UTC"));

  /* A history to begin with: up to a year and a half before the period
   * (hourly data only from some weeks before it, to keep it small). */
  top = mode == 0 ? between(ps - 40 * DAY, ps + 200 * DAY)
                  : between(lo - 30 * DAY, ps + 100 * DAY);
  for (int i = (int)between(0, mode == 0 ? 600 : 200); i > 0; i--) {
    put(&s, top, 0, value());
    top = step_after(mode, top);
  }

  where_iter = iter;
  for (int step = 0; step < steps; step++) {
    int op = (int)(rnd() % 100);
    where_step = step;
    if (op < 30) { /* new data */
      for (int i = (int)between(1, 40); i > 0; i--) {
        if (chance(2) && s.n) /* a second entry in the same ms */
          put(&s, s.e[s.n - 1].ms, s.e[s.n - 1].seq + 1, value());
        else
          put(&s, top, 0, value());
        top = step_after(mode, top);
      }
    } else if (op < 55 && s.n) { /* revisions and late inserts */
      int64_t from = INT64_MAX;
      for (int i = chance(20) ? (int)between(2, 6) : 1; i > 0; i--) {
        int64_t ms;
        if (chance(50)) {
          struct entry *e = &s.e[rnd() % s.n];
          e->v = value();
          ms = e->ms;
        } else {
          do
            ms = between(lo - 5 * DAY, s.e[s.n - 1].ms);
          while (has_ms(&s, ms));
          put(&s, ms, 0, value());
        }
        if (ms < from)
          from = ms;
      }
      eval_tally_rewind(&ta, from);
    } else if (op < 60) { /* retention */
      int64_t before = between(lo - 5 * DAY, lo + 300 * DAY);
      if (chance(60)) /* as the store cuts: whole days are dropped */
        before = day_start(before);
      if (trim(&s, before) || chance(30))
        eval_tally_trimmed(&ta, before);
    } else if (op < 62) { /* a reconnect: read everything again */
      eval_tally_reset(&ta);
    } else if (op < 75) { /* a read cut short */
      read_chunks(&ta, &s, 0, (size_t)between(1, 60), (int)between(1, 4));
    } else { /* a pass: read the rest, judge, compare */
      struct eval_result a, b;
      struct eval_traj pts = {0}, want = {0};
      int64_t from;
      in.now_ms = between(ps - 20 * DAY, pe + 60 * DAY);
      read_chunks(&ta, &s, 0, (size_t)between(1, 500), 0);
      if (eval_tally_judge(&ta, &in, &a, &pts, &from))
        replace_tail(&held, from, &pts);
      else
        assert_int_equal(pts.n, 0);
      full(&in, &s, lo, &b, &want);
      same_result(&a, &b);
      same_traj(&held, &want);
      free(pts.p);
      free(want.p);
      if (chance(25)) { /* --now: a fresh tally, nothing after now */
        struct eval_tally wi;
        struct eval_input w = in;
        w.until_ms = between(lo, top + DAY);
        w.now_ms = w.until_ms;
        eval_tally_init(&wi, t, in.kind, c->timezone);
        read_chunks(&wi, &s, w.until_ms, (size_t)between(1, 500), 0);
        eval_tally_judge(&wi, &w, &a, NULL, &from);
        full(&w, &s, lo, &b, NULL);
        same_result(&a, &b);
        eval_tally_free(&wi);
      }
    }
  }
  eval_tally_free(&ta);
  free(held.p);
  free(s.e);
}

static void incremental_equals_full(void **state) {
  struct config *cfg[ARRAY_SIZE(cases)];
  (void)state;
  for (size_t k = 0; k < ARRAY_SIZE(cases); k++)
    cfg[k] = load_case(k);
  for (int iter = 0; iter < 600; iter++) {
    size_t k = (size_t)iter % ARRAY_SIZE(cases);
    tz_set(cfg[k]->timezone);
    one_history(cfg[k], iter);
  }
  for (size_t k = 0; k < ARRAY_SIZE(cases); k++)
    config_free(cfg[k]);
}

/* Appending to the last day redraws only that day's point; a new day adds
 * one; a revision a month back redraws from that day; nothing new redraws
 * nothing. */
static void trajectory_from_the_change(void **state) {
  struct config *c = load_case(3);
  const struct target *t = &c->targets[0];
  int64_t ps = period_start_ms(&t->period), from;
  struct eval_tally ta;
  struct eval_result r;
  struct eval_traj pts = {0};
  struct eval_input in = {.target = t,
                          .kind = KIND_INSTANT,
                          .every_ms = HOUR,
                          .now_ms = ps + 120 * DAY};
  (void)state;
  tz_set(c->timezone);
  eval_tally_init(&ta, t, in.kind, c->timezone);
  for (int d = 0; d < 100; d++)
    eval_tally_add(&ta, ps + d * DAY + 10 * HOUR, 0, 20 + d % 7);
  assert_true(eval_tally_judge(&ta, &in, &r, &pts, &from));
  assert_int_equal(from, 0);
  assert_int_equal(pts.n, 100);
  pts.n = 0;
  assert_false(eval_tally_judge(&ta, &in, &r, &pts, &from));
  assert_int_equal(pts.n, 0);
  eval_tally_add(&ta, ps + 99 * DAY + 11 * HOUR, 0, 30);
  assert_true(eval_tally_judge(&ta, &in, &r, &pts, &from));
  assert_int_equal(pts.n, 1);
  assert_int_equal(from, ps + 99 * DAY);
  pts.n = 0;
  eval_tally_add(&ta, ps + 100 * DAY + 1 * HOUR, 0, 30);
  assert_true(eval_tally_judge(&ta, &in, &r, &pts, &from));
  assert_int_equal(pts.n, 1);
  assert_int_equal(from, ps + 100 * DAY);
  pts.n = 0;
  eval_tally_rewind(&ta, ps + 70 * DAY + 10 * HOUR);
  {
    char buf[64];
    eval_tally_read_from(&ta, buf, sizeof(buf));
    assert_int_equal(strtoll(buf, NULL, 10), ps + 70 * DAY);
  }
  assert_int_equal(ta.ndays, 70);
  /* A rewrite the store cannot place (STORE_HISTORY_ALL): all again. */
  assert_true(eval_tally_rewind(&ta, INT64_MIN));
  {
    char buf[64];
    eval_tally_read_from(&ta, buf, sizeof(buf));
    assert_int_equal(strtoll(buf, NULL, 10), ta.lo);
  }
  assert_int_equal(ta.ndays, 0);
  config_free(c);
  eval_tally_free(&ta);
  free(pts.p);
}

/* A retention trim cut at a day's start (as the store cuts) drops the
 * days before it and the latest times before it, and reads nothing again:
 * what is judged is what a full read of the rest gives, staleness (from
 * the gaps between the latest times) included. */
static void trim_keeps_what_is_left(void **state) {
  struct config *c = load_case(3);
  const struct target *t = &c->targets[0];
  int64_t ps = period_start_ms(&t->period), lo = ps - 366 * DAY, from;
  int64_t cut = ps + 30 * DAY;
  struct stream s = {0};
  struct eval_tally ta;
  struct eval_result a, b;
  struct eval_traj pts = {0}, want = {0};
  struct eval_input in = {.target = t,
                          .kind = KIND_INSTANT,
                          .every_ms = HOUR,
                          .now_ms = ps + 43 * DAY + 15 * HOUR};
  (void)state;
  where_iter = where_step = -1; /* not one of the random histories */
  tz_set(c->timezone);
  /* hourly for ten days, then two points three days apart: fresh enough
   * for a 3-day rhythm, stale for an hourly one */
  for (int64_t ms = ps + 10 * DAY; ms < ps + 20 * DAY; ms += HOUR)
    put(&s, ms, 0, 20);
  put(&s, ps + 40 * DAY + 10 * HOUR, 0, 30);
  put(&s, ps + 43 * DAY + 10 * HOUR, 0, 40);
  eval_tally_init(&ta, t, in.kind, c->timezone);
  read_chunks(&ta, &s, 0, 1000, 0);
  assert_true(eval_tally_judge(&ta, &in, &a, &pts, &from));
  pts.n = 0;
  assert_int_equal(cut, day_start(cut));
  trim(&s, cut);
  assert_false(eval_tally_trimmed(&ta, cut));
  assert_int_equal(ta.ndays, 2);
  assert_true(eval_tally_judge(&ta, &in, &a, &pts, &from));
  assert_int_equal(from, 0); /* ind:p written whole */
  full(&in, &s, lo, &b, &want);
  same_result(&a, &b);
  same_traj(&pts, &want);
  assert_int_not_equal(a.raw, CLASS_NO_DATA);
  config_free(c);
  eval_tally_free(&ta);
  free(s.e);
  free(pts.p);
  free(want.p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(incremental_equals_full),
      cmocka_unit_test(trajectory_from_the_change),
      cmocka_unit_test(trim_keeps_what_is_left),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
