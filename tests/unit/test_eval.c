/* The target engine: measures x paces with hand-computed expectations,
 * the worked examples of pacing.md, hysteresis, confirm, dead zone,
 * staleness, GB 3095, deadlines, leap years and mid-year periods. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "eval.h"
#include "eval_trigger.h"
#include "testutil.h"

#include <math.h>

/* Local time (Asia/Shanghai, UTC+8) to ms. */
static int64_t at(int y, int mo, int d, int h) {
  struct civil c = {y, mo, d, h, 0, 0, 0};
  return tz_local_to_ms(&c);
}

/* The last ms of a month: where "Jan-M total" stands. */
static int64_t month_end(int y, int mo) {
  return at(mo == 12 ? y + 1 : y, mo == 12 ? 1 : mo + 1, 1, 0) - 1;
}

static struct config *one_target(const char *kind, const char *target_yaml) {
  char *yaml = xasprintf("timezone: Asia/Shanghai\n"
                         "feeds:\n"
                         "  - id: f\n"
                         "    url: http://127.0.0.1/x\n"
                         "    every: 1d\n"
                         "    series: {s: {path: $.v, kind: %s}}\n"
                         "targets:\n"
                         "  - id: t\n"
                         "    series: s\n"
                         "%s",
                         kind, target_yaml);
  struct config *c = test_config(yaml);
  free(yaml);
  assert_non_null(c);
  return c;
}

/* Judges target 0 of c on points p at now; grain and at_start say how
 * the times were written (GRAIN_INSTANT: points in time), until > 0 is
 * --now's cut, traj (optional) gets the trajectory. */
static void run_eval_full(const struct config *c, const struct eval_point *p,
                          size_t n, int64_t now, enum timefmt_grain grain,
                          bool at_start, int64_t until, struct eval_result *r,
                          struct eval_traj *traj) {
  struct eval_input in = {.target = &c->targets[0],
                          .kind = c->feeds[0].series[0].meta.kind,
                          .every_ms = c->feeds[0].every_ms,
                          .grain = grain,
                          .at_start = at_start,
                          .pts = p,
                          .n = n,
                          .now_ms = now,
                          .until_ms = until};
  eval_target(&in, r, traj);
}

static void run_eval(const struct config *c, const struct eval_point *p,
                     size_t n, int64_t now, struct eval_result *r) {
  run_eval_full(c, p, n, now, GRAIN_INSTANT, false, 0, r, NULL);
}

#define NEAR(a, b, eps)                                                        \
  do {                                                                         \
    double a_ = (a), b_ = (b);                                                 \
    if (!(fabs(a_ - b_) <= (eps))) {                                           \
      fprintf(stderr, "%s = %.6f, want %.6f (+-%g)\n", #a, a_, b_,             \
              (double)(eps));                                                  \
      fail();                                                                  \
    }                                                                          \
  } while (0)

/* One release a quarter in the example: staleness must allow for that. */
static const char jobs_target[] =
    "    rule: total >= 450000\n"
    "    period: 2026\n"
    "    stale_after: 100d\n"
    "    pace: {profile: [0.07, 0.15, 0.25, 0.33, 0.45, 0.57, 0.65, 0.75, "
    "0.85, 0.92, 0.96, 1.0]}\n";

/* pacing.md B.3 worked example: Q1, H1 and Jan-Sep with a seasonal profile
 * P(Q1)=0.25, P(H1)=0.57, P(Sep)=0.85. */
static void jobs_worked_example(void **state) {
  struct config *c = one_target("cumulative", jobs_target);
  struct eval_result r;
  struct eval_point q1[] = {{month_end(2026, 3), 100000}};
  struct eval_point h1[] = {{month_end(2026, 3), 100000},
                            {month_end(2026, 6), 240000}};
  struct eval_point sep[] = {{month_end(2026, 6), 240000},
                             {month_end(2026, 9), 370000}};
  (void)state;
  run_eval(c, q1, 1, at(2026, 4, 15, 12), &r);
  NEAR(r.expected, 112500, 1);
  NEAR(r.projected, 400000, 5);
  NEAR(r.score, 0.889, 0.001);
  assert_int_equal(r.raw, CLASS_OFF_TRACK);
  /* per month (EVAL_RATE_PER): 275 days and 1 ms are left */
  NEAR(r.required_rate,
       (450000.0 - 100000) / ((275.0 * 86400000 + 1) / (double)EVAL_RATE_MS),
       0.01);
  NEAR(r.required_rate, 38737.8, 0.1);

  run_eval(c, h1, 2, at(2026, 7, 15, 12), &r);
  NEAR(r.expected, 256500, 1);
  NEAR(r.projected, 421053, 5);
  NEAR(r.score, 0.936, 0.001);
  assert_int_equal(r.raw, CLASS_AT_RISK);

  run_eval(c, sep, 2, at(2026, 10, 15, 12), &r);
  NEAR(r.expected, 382500, 1);
  NEAR(r.projected, 435294, 5);
  NEAR(r.score, 0.967, 0.001);
  assert_int_equal(r.raw, CLASS_ON_TRACK);
  config_free(c);
}

/* The same H1 figure with a linear pace looks ahead (1.076 in pacing.md). */
static void jobs_linear_misleads(void **state) {
  struct config *c = one_target("cumulative", "    rule: total >= 450000\n"
                                              "    period: 2026\n"
                                              "    stale_after: 100d\n");
  struct eval_result r;
  struct eval_point h1[] = {{month_end(2026, 6), 240000}};
  (void)state;
  run_eval(c, h1, 1, at(2026, 7, 15, 12), &r);
  NEAR(r.pace, 181.0 / 365, 1e-6);
  NEAR(r.score, 240000.0 / (181.0 / 365) / 450000, 1e-6);
  NEAR(r.score, 1.076, 0.001);
  assert_int_equal(r.raw, CLASS_ON_TRACK);
  config_free(c);
}

static const char pm25_target[] =
    "    rule: mean <= 33\n"
    "    period: 2026\n"
    "    pace: {seasonal: [1.46, 1.31, 1.16, 0.96, 0.76, 0.71, 0.66, 0.61, "
    "0.71, 0.96, 1.26, 1.46]}\n";

static size_t fill_days(struct eval_point *p, size_t n, int y, int mo, int days,
                        double v) {
  for (int d = 1; d <= days; d++)
    p[n++] = (struct eval_point){at(y, mo, d, 0), v};
  return n;
}

/* pacing.md B.4 worked example: Jan/Feb/Mar means 52/45/38: remaining
 * budget 29.1, projection 34.3 (the YTD mean 45.0 would mislead). */
static void pm25_worked_example(void **state) {
  struct config *c = one_target("instant", pm25_target);
  struct eval_point p[120];
  struct eval_result r;
  size_t n = 0;
  (void)state;
  n = fill_days(p, n, 2026, 1, 31, 52);
  n = fill_days(p, n, 2026, 2, 28, 45);
  n = fill_days(p, n, 2026, 3, 31, 38);
  run_eval(c, p, n, at(2026, 4, 1, 10), &r);
  assert_int_equal(r.valid_days, 90);
  NEAR(r.actual, 45.0, 1e-9);
  NEAR(r.remaining_budget, (33.0 * 365 - 4050) / 275, 1e-9);
  NEAR(r.remaining_budget, 29.1, 0.05);
  NEAR(r.projected, 34.3, 0.06);
  /* expected-to-date: the YTD mean a year ending exactly at 33 would show */
  NEAR(r.expected, 33 * 4050 / r.projected / 90, 1e-9);
  NEAR(r.score, 33 / r.projected, 1e-12);
  /* r = 0.96: on track under the default thresholds */
  assert_int_equal(r.raw, CLASS_ON_TRACK);
  config_free(c);
  /* A stricter ceiling (thresholds for this target) calls it at risk. */
  c = one_target("instant", "    rule: mean <= 33\n    period: 2026\n"
                            "    thresholds: {on_track: 0.99, off_track: "
                            "0.95}\n"
                            "    pace: {seasonal: [1.46, 1.31, 1.16, 0.96, "
                            "0.76, 0.71, 0.66, 0.61, 0.71, 0.96, 1.26, "
                            "1.46]}\n");
  run_eval(c, p, n, at(2026, 4, 1, 10), &r);
  assert_int_equal(r.raw, CLASS_AT_RISK);
  config_free(c);
}

static void pm25_subdaily_and_gb3095(void **state) {
  struct config *c =
      one_target("instant", "    rule: mean <= 33\n    period: 2026\n"
                            "    validity: gb3095\n");
  struct eval_point *p = xcalloc(24 * 120, sizeof(*p));
  struct eval_result r;
  size_t n = 0;
  (void)state;
  /* January: 24 hourly samples a day (valid, mean of the day = 30) */
  for (int d = 1; d <= 31; d++)
    for (int h = 0; h < 24; h++)
      p[n++] = (struct eval_point){at(2026, 1, d, h), h < 12 ? 20 : 40};
  /* February: only 20 days, of which 2 with too few hours */
  for (int d = 1; d <= 20; d++)
    for (int h = 0; h < (d <= 2 ? 10 : 24); h++)
      p[n++] = (struct eval_point){at(2026, 2, d, h), 30};
  run_eval(c, p, n, at(2026, 3, 5, 10), &r);
  assert_int_equal(r.valid_days, 31 + 18);
  NEAR(r.actual, 30, 1e-9);
  assert_int_equal(r.raw, CLASS_NO_DATA);
  if (!strstr(r.reason, "2026-02 has 18 valid days"))
    fprintf(stderr, "reason: %s\n", r.reason);
  assert_non_null(strstr(r.reason, "2026-02 has 18 valid days"));
  assert_non_null(strstr(r.reason, "25 required"));
  free(p);
  config_free(c);
}

static void hysteresis(void **state) {
  struct config *c = one_target("cumulative", jobs_target);
  const struct target *t = &c->targets[0];
  struct eval_state st = {0};
  struct eval_result r = {0};
  int changes = 0;
  static const enum eval_class flap[] = {
      CLASS_ON_TRACK, CLASS_AT_RISK, CLASS_ON_TRACK, CLASS_AT_RISK,
      CLASS_ON_TRACK, CLASS_AT_RISK, CLASS_ON_TRACK};
  (void)state;
  /* flapping input (confirm 2): the first evaluation sets the class, the
   * flapping never confirms a change */
  for (size_t i = 0; i < ARRAY_SIZE(flap); i++) {
    r.raw = flap[i];
    r.ref_ms = 1000 + (int64_t)i;
    changes += eval_next_class(t, &r, 5000, &st);
  }
  assert_int_equal(changes, 1);
  assert_int_equal(st.cls, CLASS_ON_TRACK);
  /* two new releases at risk: one change */
  r.raw = CLASS_AT_RISK;
  r.ref_ms = 2000;
  assert_false(eval_next_class(t, &r, 6000, &st));
  /* a timer evaluation on the same data does not count */
  assert_false(eval_next_class(t, &r, 6500, &st));
  r.ref_ms = 2001;
  assert_true(eval_next_class(t, &r, 7000, &st));
  assert_int_equal(st.cls, CLASS_AT_RISK);
  assert_int_equal(st.since_ms, 7000);
  /* off track after two releases; then at_risk never leaves it */
  r.raw = CLASS_OFF_TRACK;
  r.ref_ms = 3000;
  eval_next_class(t, &r, 8000, &st);
  r.ref_ms = 3001;
  assert_true(eval_next_class(t, &r, 8001, &st));
  for (int i = 0; i < 5; i++) {
    r.raw = CLASS_AT_RISK;
    r.ref_ms = 4000 + i;
    assert_false(eval_next_class(t, &r, 9000, &st));
  }
  assert_int_equal(st.cls, CLASS_OFF_TRACK);
  /* ... on_track does, after confirm releases */
  r.raw = CLASS_ON_TRACK;
  r.ref_ms = 5000;
  assert_false(eval_next_class(t, &r, 9100, &st));
  r.ref_ms = 5001;
  assert_true(eval_next_class(t, &r, 9200, &st));
  assert_int_equal(st.cls, CLASS_ON_TRACK);
  /* no_data applies at once */
  r.raw = CLASS_NO_DATA;
  assert_true(eval_next_class(t, &r, 9300, &st));
  config_free(c);
}

static void dead_zone_and_pending(void **state) {
  struct config *c =
      one_target("cumulative", "    rule: total >= 1200\n    period: 2026\n");
  struct eval_result r;
  struct eval_point early[] = {{at(2026, 1, 20, 0), 10}}; /* P = 0.05 */
  struct eval_point zone[] = {{at(2026, 2, 15, 0), 10}};  /* P = 0.12 */
  struct eval_point later[] = {{at(2026, 3, 15, 0), 10}}; /* P = 0.20 */
  (void)state;
  run_eval(c, early, 1, at(2026, 1, 21, 0), &r);
  assert_int_equal(r.raw, CLASS_PENDING);
  assert_non_null(strstr(r.reason, "too early"));
  run_eval(c, zone, 1, at(2026, 2, 16, 0), &r);
  assert_true(r.score < 0.9);
  assert_int_equal(r.raw, CLASS_AT_RISK); /* not off_track yet */
  run_eval(c, later, 1, at(2026, 3, 16, 0), &r);
  assert_int_equal(r.raw, CLASS_OFF_TRACK);
  config_free(c);
}

/* The reason names the bound in a unit that reads right, and the last
 * observation's minute when the bound is shorter than two days. */
static void stale_reason_units(void **state) {
  static const struct {
    const char *stale_after, *span;
    int64_t after_ms;
    const char *since;
  } cases[] = {
      {"90s", "stale after 90 seconds", 91000, "since 2026-06-10T08:00"},
      {"90m", "stale after 90 minutes", 91 * 60000, "since 2026-06-10T08:00"},
      {"3h", "stale after 3 hours", 4 * 3600000, "since 2026-06-10T08:00"},
      {"3d", "stale after 3 days", 4 * INT64_C(86400000), "since 2026-06-10;"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *yaml = xasprintf("    rule: mean <= 33\n"
                           "    period: 2026\n"
                           "    stale_after: %s\n",
                           cases[i].stale_after);
    struct config *c = one_target("instant", yaml);
    struct eval_point pts[] = {{at(2026, 6, 10, 7), 30},
                               {at(2026, 6, 10, 8), 31}};
    struct eval_result r;
    run_eval(c, pts, 2, at(2026, 6, 10, 8) + cases[i].after_ms, &r);
    if (r.raw != CLASS_NO_DATA || !strstr(r.reason, cases[i].span) ||
        !strstr(r.reason, cases[i].since))
      fail_msg("stale_after %s: %s: %s", cases[i].stale_after,
               eval_class_name(r.raw), r.reason);
    config_free(c);
    free(yaml);
  }
}

static void stale_and_deadline(void **state) {
  struct config *c = one_target("cumulative", "    rule: total >= 450000\n"
                                              "    period: 2026\n");
  struct eval_result r;
  struct eval_point pts[] = {{month_end(2026, 6), 240000},
                             {month_end(2026, 7), 280000},
                             {month_end(2026, 8), 330000}};
  struct eval_point final[] = {{month_end(2026, 11), 430000},
                               {month_end(2026, 12), 455000}};
  (void)state;
  /* monthly data: 2 x the median gap (31 d) = 62 d */
  run_eval(c, pts, 3, month_end(2026, 8) + 60 * INT64_C(86400000), &r);
  assert_int_not_equal(r.raw, CLASS_NO_DATA);
  run_eval(c, pts, 3, month_end(2026, 8) + 63 * INT64_C(86400000), &r);
  assert_int_equal(r.raw, CLASS_NO_DATA);
  assert_non_null(strstr(r.reason, "no observation since 2026-08-31"));
  run_eval(c, final, 2, at(2027, 1, 20, 0), &r);
  assert_int_equal(r.raw, CLASS_ACHIEVED);
  final[1].v = 440000;
  run_eval(c, final, 2, at(2027, 1, 20, 0), &r);
  assert_int_equal(r.raw, CLASS_MISSED);
  /* reaching a floor early is final */
  final[1].v = 460000;
  run_eval(c, final, 2, at(2026, 12, 31, 12), &r);
  assert_int_equal(r.raw, CLASS_ACHIEVED);
  config_free(c);
}

static void leap_year_and_mid_year_period(void **state) {
  struct config *c =
      one_target("instant", "    rule: mean <= 30\n    period: 2028\n");
  struct eval_point p[70];
  struct eval_result r;
  size_t n = 0;
  (void)state;
  n = fill_days(p, n, 2028, 1, 31, 30);
  n = fill_days(p, n, 2028, 2, 29, 30);
  run_eval(c, p, n, at(2028, 3, 1, 12), &r);
  assert_int_equal(r.valid_days, 60);
  NEAR(r.remaining_budget, (30.0 * 366 - 1800) / 306, 1e-9);
  config_free(c);

  c = one_target("cumulative", "    rule: total >= 1000\n"
                               "    period: {from: 2026-07-01, to: "
                               "2027-06-30}\n    stale_after: 30d\n");
  {
    struct eval_point q[] = {{month_end(2026, 12), 500}};
    run_eval(c, q, 1, at(2027, 1, 5, 0), &r);
    NEAR(r.pace, 184.0 / 365, 1e-6);
    NEAR(r.projected, 500 / (184.0 / 365), 1e-6);
    assert_int_equal(r.raw, CLASS_ON_TRACK);
  }
  config_free(c);
}

static void season_pace(void **state) {
  struct config *c =
      one_target("cumulative", "    rule: total >= 130000\n    period: 2026\n"
                               "    stale_after: 40d\n"
                               "    pace: {season: {from: \"04-01\", to: "
                               "\"11-15\"}}\n");
  struct eval_result r;
  struct eval_point p[] = {{month_end(2026, 10), 98000}};
  (void)state;
  /* Apr 1 - Oct 31 is 214 of the 229 season days */
  NEAR(eval_pace(&c->targets[0], at(2026, 3, 20, 0)), 0, 1e-12);
  NEAR(eval_pace(&c->targets[0], at(2026, 12, 20, 0)), 1, 1e-12);
  run_eval(c, p, 1, at(2026, 11, 28, 0), &r);
  NEAR(r.pace, 214.0 / 229, 1e-6);
  NEAR(r.expected, 130000 * 214.0 / 229, 0.01);
  NEAR(r.score, 98000 / (214.0 / 229) / 130000, 1e-6);
  assert_int_equal(r.raw, CLASS_OFF_TRACK);
  config_free(c);
}

static void increments(void **state) {
  struct config *c =
      one_target("increment", "    rule: total >= 1200\n    period: 2026\n");
  struct eval_result r;
  struct eval_point p[6];
  (void)state;
  for (int m = 1; m <= 6; m++)
    p[m - 1] = (struct eval_point){month_end(2026, m), 100};
  run_eval(c, p, 6, at(2026, 7, 10, 0), &r);
  NEAR(r.actual, 600, 1e-9);
  NEAR(r.projected, 600 / (181.0 / 365), 1e-6);
  config_free(c);
}

static void latest_level(void **state) {
  struct config *c =
      one_target("instant", "    rule: latest >= 93%\n    period: 2026\n"
                            "    baseline: 91.5\n");
  struct eval_result r;
  struct eval_point one[] = {{at(2026, 3, 1, 0), 91.8}};
  struct eval_point p[] = {{month_end(2026, 3), 91.8},
                           {month_end(2026, 6), 92.1},
                           {month_end(2026, 9), 92.4}};
  (void)state;
  run_eval(c, one, 1, at(2026, 3, 2, 0), &r);
  assert_int_equal(r.raw, CLASS_PENDING);
  run_eval(c, p, 3, at(2026, 10, 10, 0), &r);
  NEAR(r.actual, 92.4, 1e-9);
  /* +0.3 a quarter: about 92.7 by the end of December */
  NEAR(r.projected, 92.7, 0.02);
  NEAR(r.score, (r.projected - 91.5) / 1.5, 1e-9);
  assert_int_equal(r.raw, CLASS_OFF_TRACK); /* 0.8 of the way */
  config_free(c);
}

static void growth(void **state) {
  struct config *c =
      one_target("increment", "    rule: growth >= 15%\n    period: 2026\n");
  struct eval_result r;
  struct eval_point p[24];
  size_t n = 0;
  (void)state;
  for (int m = 1; m <= 12; m++)
    p[n++] = (struct eval_point){month_end(2025, m), 100};
  for (int m = 1; m <= 9; m++)
    p[n++] = (struct eval_point){month_end(2026, m), 110};
  run_eval(c, p, n, at(2026, 10, 10, 0), &r);
  NEAR(r.actual, 10, 1e-9);
  NEAR(r.projected, 10, 1e-9);
  NEAR(r.score, 10.0 / 15, 1e-9);
  assert_int_equal(r.raw, CLASS_OFF_TRACK);
  /* without the prior year */
  run_eval(c, p + 12, 9, at(2026, 10, 10, 0), &r);
  assert_int_equal(r.raw, CLASS_NO_DATA);
  config_free(c);
}

/* ---- staleness: the default bound ----
 * The rule (contract §5): an observation is stale once it is older than the
 * larger of 3x the feed's `every` and 2x the MEDIAN of the gaps between the
 * series' last (up to 11) observations, its age counted from the end of the
 * period it describes (here points in time: their own time; the periods
 * are in staleness_per_grain_and_kind). Each case gives the gaps and the
 * bound that rule yields; the test probes a minute inside and a minute
 * outside it. The gap sets are built so that the median, the mean, the
 * smallest and the largest gap give different bounds. */
#define HOUR_MS INT64_C(3600000)
#define DAY_MS_T (24 * HOUR_MS)

struct stale_case {
  const char *why;
  double gaps_days[24]; /* oldest first, 0-terminated */
  double bound_days;    /* the bound the rule gives */
};

static const struct stale_case stale_cases[] = {
    {"one late release among regular ones (median, not largest)",
     {10, 10, 10, 40},
     20},
    {"odd number of gaps: the middle one", {40, 10, 10}, 20},
    {"a quick correction among slow releases (median, not smallest)",
     {2, 30, 30},
     60},
    {"even number of gaps: the mean of the middle two", {10, 20}, 30},
    {"only the last 10 gaps count",
     {30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2},
     4},
    {"hourly data, hourly feed: 3x every wins", {1.0 / 24, 1.0 / 24}, 0.125},
};

static void stale_bound_uses_median_gap(void **state) {
  /* An hourly feed: 3x every = 3 h, below every data bound but one. */
  struct config *c = test_config("timezone: Asia/Shanghai\n"
                                 "feeds:\n"
                                 "  - id: f\n"
                                 "    url: http://127.0.0.1/x\n"
                                 "    every: 1h\n"
                                 "    series: {s: {path: $.v, kind: "
                                 "cumulative}}\n"
                                 "targets:\n"
                                 "  - id: t\n"
                                 "    series: s\n"
                                 "    rule: total >= 1000\n"
                                 "    period: 2026\n");
  (void)state;
  assert_non_null(c);
  for (size_t i = 0; i < ARRAY_SIZE(stale_cases); i++) {
    const struct stale_case *sc = &stale_cases[i];
    struct eval_point p[25];
    struct eval_result r;
    size_t n = 0, k;
    int64_t last = month_end(2026, 9), bound;
    for (k = 0; sc->gaps_days[k] > 0; k++)
      ;
    /* newest at the end of September, the gaps before it */
    p[k].t = last;
    for (size_t j = k; j > 0; j--)
      p[j - 1].t = p[j].t - (int64_t)(sc->gaps_days[j - 1] * DAY_MS_T);
    n = k + 1;
    for (size_t j = 0; j < n; j++)
      p[j].v = 800 + (double)j; /* on track: 800 by September of 1000 */
    bound = (int64_t)(sc->bound_days * DAY_MS_T);
    run_eval(c, p, n, last + bound - 60000, &r);
    if (r.raw == CLASS_NO_DATA) {
      fprintf(stderr, "%s: stale a minute before %.3g days: %s\n", sc->why,
              sc->bound_days, r.reason);
      fail();
    }
    run_eval(c, p, n, last + bound + 60000, &r);
    if (r.raw != CLASS_NO_DATA || !strstr(r.reason, "no observation since")) {
      fprintf(stderr, "%s: not stale a minute after %.3g days (%s)\n", sc->why,
              sc->bound_days, eval_class_name(r.raw));
      fail();
    }
  }
  config_free(c);
}

/* ---- GB 3095-2012's minimum data, at each boundary ---- */

static const char gb3095_target[] = "    rule: mean <= 33\n"
                                    "    period: 2026\n"
                                    "    validity: gb3095\n";

/* Points for day counts: samples[k] hourly samples on day k of 2026 (0 is
 * January 1st), value v. Returns the number of points. */
static size_t gb_points(struct eval_point *p, const int *samples, int ndays,
                        double v) {
  size_t n = 0;
  for (int k = 0; k < ndays; k++)
    for (int h = 0; h < samples[k]; h++)
      p[n++] = (struct eval_point){
          at(2026, 1, 1, 0) + k * DAY_MS_T + h * HOUR_MS, v};
  return n;
}

static int day_of_2026(int m, int d) {
  return (int)((at(2026, m, d, 0) - at(2026, 1, 1, 0)) / DAY_MS_T);
}

/* A day counts with 20 or more hourly samples, or with exactly one (a
 * published daily mean). */
static void gb3095_hours_a_day(void **state) {
  static const struct {
    int samples;
    bool valid;
  } rows[] = {{1, true},  {2, false}, {10, false}, {19, false},
              {20, true}, {21, true}, {24, true}};
  struct config *c = one_target("instant", gb3095_target);
  struct eval_point *p = xcalloc(31 * 24, sizeof(*p));
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
    int samples[31];
    struct eval_result r;
    size_t n;
    for (int k = 0; k < 31; k++)
      samples[k] = 24;
    samples[14] = rows[i].samples;
    n = gb_points(p, samples, 31, 30);
    /* January 15th far above the rest: its mean shows whether it counted */
    for (size_t j = 0; j < n; j++)
      if (p[j].t >= at(2026, 1, 15, 0) && p[j].t < at(2026, 1, 16, 0))
        p[j].v = 61;
    run_eval(c, p, n, at(2026, 2, 1, 10), &r);
    if (r.valid_days != (rows[i].valid ? 31 : 30)) {
      fprintf(stderr, "%d samples a day: %d valid days in January\n",
              rows[i].samples, r.valid_days);
      fail();
    }
    NEAR(r.actual, rows[i].valid ? 31.0 : 30.0, 1e-9);
    assert_int_not_equal(r.raw, CLASS_NO_DATA);
  }
  free(p);
  config_free(c);
}

/* A month needs 27 valid days, February 25. */
static void gb3095_days_a_month(void **state) {
  static const struct {
    int month, valid;
    int twenty; /* of which this many have exactly 20 samples */
    bool enough;
  } rows[] = {
      {3, 26, 0, false}, {3, 27, 0, true},  {3, 27, 1, true},
      {4, 26, 0, false}, {4, 27, 0, true},  {2, 24, 0, false},
      {2, 25, 0, true},  {2, 25, 25, true}, {3, 31, 0, true},
  };
  struct config *c = one_target("instant", gb3095_target);
  struct eval_point *p = xcalloc(120 * 24, sizeof(*p));
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
    int samples[120] = {0};
    int first = day_of_2026(rows[i].month, 1);
    int mdays = day_of_2026(rows[i].month + 1, 1) - first;
    int next = rows[i].month + 1;
    struct eval_result r;
    size_t n;
    char want[80];
    /* every earlier month complete; the month's missing days first */
    for (int k = 0; k < first; k++)
      samples[k] = 24;
    for (int d = 0; d < mdays; d++)
      if (d >= mdays - rows[i].valid)
        samples[first + d] =
            d < mdays - rows[i].valid + rows[i].twenty ? 20 : 24;
    n = gb_points(p, samples, first + mdays, 30);
    run_eval(c, p, n, at(2026, next, 3, 10), &r);
    snprintf(want, sizeof(want),
             "2026-%02d has %d valid days, fewer than the %d", rows[i].month,
             rows[i].valid, rows[i].month == 2 ? 25 : 27);
    if (rows[i].enough ? r.raw == CLASS_NO_DATA
                       : (r.raw != CLASS_NO_DATA || !strstr(r.reason, want))) {
      fprintf(stderr, "2026-%02d with %d valid days (%d of 20 h): %s %s\n",
              rows[i].month, rows[i].valid, rows[i].twenty,
              eval_class_name(r.raw), r.reason);
      fail();
    }
  }
  free(p);
  config_free(c);
}

/* A year needs 324 valid days (of 365): 323 is not enough, even when every
 * month has its minimum. */
static void gb3095_days_a_year(void **state) {
  /* the most days each month can miss and keep its minimum: 43 in all */
  static const int most_missing[12] = {4, 3, 4, 3, 4, 3, 4, 4, 3, 4, 3, 4};
  static const struct {
    int valid;
    int64_t at_day; /* evaluated at 23:00 on this day of 2026 (365: after) */
    int last_day_samples;
    bool enough;
  } rows[] = {
      {324, 365, 24, true},
      {323, 365, 24, false},
      /* on December 31st, whose 20 samples are in: nothing more to come */
      {323, 364, 20, false},
      {324, 364, 20, true},
  };
  struct config *c = one_target("instant", gb3095_target);
  struct eval_point *p = xcalloc(365 * 24, sizeof(*p));
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
    int samples[365];
    int missing = 365 - rows[i].valid;
    struct eval_result r;
    size_t n;
    char want[80];
    for (int k = 0; k < 365; k++)
      samples[k] = 24;
    samples[364] = rows[i].last_day_samples;
    for (int m = 12; m >= 1 && missing > 0; m--)
      for (int d = 1; d <= most_missing[m - 1] && missing > 0; d++, missing--)
        samples[day_of_2026(m, d)] = 0;
    assert_int_equal(missing, 0);
    n = gb_points(p, samples, 365, 30);
    run_eval(c, p, n, at(2026, 1, 1, 23) + rows[i].at_day * DAY_MS_T, &r);
    assert_int_equal(r.valid_days, rows[i].valid);
    snprintf(want, sizeof(want),
             "at most %d valid days are still possible, fewer than the 324",
             rows[i].valid);
    if (rows[i].enough ? r.raw == CLASS_NO_DATA
                       : (r.raw != CLASS_NO_DATA || !strstr(r.reason, want))) {
      fprintf(stderr, "%d valid days, day %lld: %s %s\n", rows[i].valid,
              (long long)rows[i].at_day, eval_class_name(r.raw), r.reason);
      fail();
    }
  }
  free(p);
  config_free(c);
}

static void messages(void **state) {
  struct config *c = one_target("cumulative", jobs_target);
  struct eval_result r;
  struct eval_point q1[] = {{month_end(2026, 3), 100000}};
  char msg[400];
  (void)state;
  run_eval(c, q1, 1, at(2026, 4, 15, 12), &r);
  eval_message(&c->targets[0], &r, r.raw, msg, sizeof(msg));
  fprintf(stderr, "# %s\n", msg);
  assert_non_null(strstr(msg, "100,000 so far vs 112,500 expected"));
  assert_non_null(strstr(msg, "projected 400,000"));
  assert_non_null(strstr(msg, "goal >= 450,000"));
  config_free(c);
}

#define DAY_MS INT64_C(86400000)

/* Staleness counts from the end of the period an observation describes:
 * the end of the month for "2026-10" whether instant (stored at Oct 1) or
 * cumulative (stored at Oct 31), the time itself for points in time; the
 * bound is the larger of 3x every (1 d here) and 2x the median gap, or the
 * period's length for a single observation. */
static void staleness_per_grain_and_kind(void **state) {
  struct config *c = one_target("instant", "    rule: mean <= 50\n"
                                           "    period: 2026\n");
  struct config *cum = one_target("cumulative", "    rule: total >= 450\n"
                                                "    period: 2026\n");
  struct eval_result r;
  /* monthly, instant, labelled: Jul, Aug, Sep stand at the 1st */
  struct eval_point monthly[] = {{at(2026, 7, 1, 0), 30},
                                 {at(2026, 8, 1, 0), 30},
                                 {at(2026, 9, 1, 0), 30}};
  struct eval_point one[] = {{at(2026, 10, 1, 0), 30}};
  struct eval_point quarterly[] = {{at(2026, 1, 1, 0), 30},
                                   {at(2026, 4, 1, 0), 30},
                                   {at(2026, 7, 1, 0), 30}};
  struct eval_point daily[10], hourly[48];
  struct eval_point cumulative[] = {{month_end(2026, 6), 100},
                                    {month_end(2026, 7), 200},
                                    {month_end(2026, 8), 300}};
  (void)state;
  /* the end of September is Oct 1; gaps 31 d: stale after 62 d */
  run_eval_full(c, monthly, 3, at(2026, 12, 1, 0) + DAY_MS, GRAIN_MONTH, true,
                0, &r, NULL);
  assert_int_not_equal(r.raw, CLASS_NO_DATA);
  assert_int_equal(r.data_end_ms, at(2026, 10, 1, 0));
  run_eval_full(c, monthly, 3, at(2026, 12, 3, 1), GRAIN_MONTH, true, 0, &r,
                NULL);
  assert_int_equal(r.raw, CLASS_NO_DATA);
  assert_non_null(strstr(r.reason, "no observation since 2026-09-01 "
                                   "(describing up to 2026-09-30)"));
  /* the same times read as points in time are stale a month earlier */
  run_eval_full(c, monthly, 3, at(2026, 11, 3, 0), GRAIN_INSTANT, false, 0, &r,
                NULL);
  assert_int_equal(r.raw, CLASS_NO_DATA);
  run_eval_full(c, monthly, 3, at(2026, 11, 3, 0), GRAIN_MONTH, true, 0, &r,
                NULL);
  assert_int_not_equal(r.raw, CLASS_NO_DATA);

  /* one observation "2026-10": fresh on Nov 28 (the example), its
   * month's length stands in for the gap: stale 62 d after Nov 1 */
  run_eval_full(c, one, 1, at(2026, 11, 28, 9), GRAIN_MONTH, true, 0, &r, NULL);
  assert_int_not_equal(r.raw, CLASS_NO_DATA);
  run_eval_full(c, one, 1, at(2026, 12, 31, 12), GRAIN_MONTH, true, 0, &r,
                NULL);
  assert_int_not_equal(r.raw, CLASS_NO_DATA);
  run_eval_full(c, one, 1, at(2026, 11, 28, 9), GRAIN_INSTANT, false, 0, &r,
                NULL);
  assert_int_equal(r.raw, CLASS_NO_DATA); /* a point: 3 x every */

  /* quarterly, instant: Q3 ends Oct 1; gaps 90, 91 d: stale after 181 d */
  run_eval_full(c, quarterly, 3, at(2026, 12, 31, 0), GRAIN_QUARTER, true, 0,
                &r, NULL);
  assert_int_not_equal(r.raw, CLASS_NO_DATA);
  run_eval_full(c, quarterly, 3, at(2026, 12, 31, 0), GRAIN_INSTANT, false, 0,
                &r, NULL);
  assert_int_equal(r.raw, CLASS_NO_DATA);

  /* daily, instant: Oct 10 ends Oct 11 00:00; 3 x every = 3 d */
  for (int d = 1; d <= 10; d++)
    daily[d - 1] = (struct eval_point){at(2026, 10, d, 0), 30};
  run_eval_full(c, daily, 10, at(2026, 10, 13, 23), GRAIN_DAY, true, 0, &r,
                NULL);
  assert_int_not_equal(r.raw, CLASS_NO_DATA);
  run_eval_full(c, daily, 10, at(2026, 10, 14, 1), GRAIN_DAY, true, 0, &r,
                NULL);
  assert_int_equal(r.raw, CLASS_NO_DATA);
  run_eval_full(c, daily, 10, at(2026, 10, 13, 1), GRAIN_INSTANT, false, 0, &r,
                NULL);
  assert_int_equal(r.raw, CLASS_NO_DATA);

  /* hourly points in time: the feed's 3 x every */
  for (int h = 0; h < 48; h++)
    hourly[h] = (struct eval_point){at(2026, 10, 1, 0) + h * 3600000, 30};
  run_eval(c, hourly, 48, at(2026, 10, 2, 23) + 3 * DAY_MS - 3600000, &r);
  assert_int_not_equal(r.raw, CLASS_NO_DATA);
  run_eval(c, hourly, 48, at(2026, 10, 2, 23) + 3 * DAY_MS + 60000, &r);
  assert_int_equal(r.raw, CLASS_NO_DATA);
  assert_non_null(strstr(r.reason, "stale after 3 days"));

  /* monthly, cumulative, at the month's end: Aug ends Sep 1; released 15
   * to 25 days later and still fresh 61 d after, not 63 d */
  run_eval_full(cum, cumulative, 3, at(2026, 9, 25, 0), GRAIN_MONTH, false, 0,
                &r, NULL);
  assert_int_not_equal(r.raw, CLASS_NO_DATA);
  assert_int_equal(r.data_end_ms, at(2026, 9, 1, 0));
  run_eval_full(cum, cumulative, 3, at(2026, 9, 1, 0) + 61 * DAY_MS,
                GRAIN_MONTH, false, 0, &r, NULL);
  assert_int_not_equal(r.raw, CLASS_NO_DATA);
  run_eval_full(cum, cumulative, 3, at(2026, 9, 1, 0) + 63 * DAY_MS,
                GRAIN_MONTH, false, 0, &r, NULL);
  assert_int_equal(r.raw, CLASS_NO_DATA);
  config_free(c);
  config_free(cum);
}

/* A total that reached its floor stays achieved when the feed goes quiet;
 * one that did not turns no_data. */
static void achieved_sticks(void **state) {
  struct config *c = one_target("cumulative", "    rule: total >= 120\n"
                                              "    period: 2026\n"
                                              "    stale_after: 10d\n");
  struct eval_point p[] = {{month_end(2026, 10), 100},
                           {month_end(2026, 11), 130}};
  struct eval_state st = {0};
  struct eval_result r;
  (void)state;
  run_eval_full(c, p, 2, at(2026, 12, 2, 0), GRAIN_MONTH, false, 0, &r, NULL);
  assert_int_equal(r.raw, CLASS_ACHIEVED);
  eval_next_class(&c->targets[0], &r, at(2026, 12, 2, 0), &st);
  run_eval_full(c, p, 2, at(2026, 12, 28, 0), GRAIN_MONTH, false, 0, &r, NULL);
  assert_int_equal(r.raw, CLASS_ACHIEVED);
  assert_false(eval_next_class(&c->targets[0], &r, at(2026, 12, 28, 0), &st));
  assert_int_equal(st.cls, CLASS_ACHIEVED);
  p[1].v = 110; /* short of the goal: the quiet feed is no_data */
  run_eval_full(c, p, 2, at(2026, 12, 28, 0), GRAIN_MONTH, false, 0, &r, NULL);
  assert_int_equal(r.raw, CLASS_NO_DATA);
  config_free(c);
}

/* A level whose baseline already meets the goal is one to hold: r =
 * projected / G for >=, G / projected for <=. */
static void levels_to_hold(void **state) {
  struct config *c = one_target("instant", "    rule: latest <= 5.5%\n"
                                           "    period: 2026\n"
                                           "    stale_after: 120d\n");
  struct eval_point falling[] = {{at(2026, 1, 1, 0), 5.0},
                                 {at(2026, 4, 1, 0), 4.9},
                                 {at(2026, 7, 1, 0), 4.8}};
  struct eval_point high[] = {{at(2026, 1, 1, 0), 92},
                              {at(2026, 4, 1, 0), 91.5},
                              {at(2026, 7, 1, 0), 92.5}};
  struct eval_result r;
  (void)state;
  run_eval(c, falling, 3, at(2026, 10, 20, 0), &r);
  assert_true(r.projected < 4.8);
  NEAR(r.score, 5.5 / r.projected, 1e-12);
  assert_true(r.score > 1);
  assert_int_equal(r.raw, CLASS_ON_TRACK);
  config_free(c);
  c = one_target("instant", "    rule: latest >= 90%\n    period: 2026\n"
                            "    stale_after: 120d\n");
  run_eval(c, high, 3, at(2026, 10, 20, 0), &r);
  NEAR(r.score, r.projected / 90, 1e-12);
  assert_int_equal(r.raw, CLASS_ON_TRACK);
  /* slipping under the level: the projection says so */
  high[2].v = 84;
  run_eval(c, high, 3, at(2026, 10, 20, 0), &r);
  NEAR(r.score, r.projected / 90, 1e-12);
  assert_int_equal(r.raw, CLASS_OFF_TRACK);
  config_free(c);
}

/* A band ("左右"): inside scores 1, below projected / low, above high /
 * projected; achieved only at the deadline. */
static void band(void **state) {
  struct config *c = one_target("increment", "    rule: growth in [3%, 4%]\n"
                                             "    period: 2026\n");
  struct eval_point p[24];
  struct eval_result r;
  char msg[400];
  size_t n = 0;
  (void)state;
  for (int m = 1; m <= 12; m++)
    p[n++] = (struct eval_point){month_end(2025, m), 100};
  for (int m = 1; m <= 12; m++)
    p[n++] = (struct eval_point){month_end(2026, m), 103.5};
  run_eval_full(c, p, 21, at(2026, 10, 10, 0), GRAIN_MONTH, false, 0, &r, NULL);
  NEAR(r.projected, 3.5, 1e-9);
  NEAR(r.score, 1, 1e-12);
  NEAR(r.goal, 3.5, 1e-12);
  NEAR(r.goal_low, 3, 1e-12);
  NEAR(r.goal_high, 4, 1e-12);
  assert_int_equal(r.raw, CLASS_ON_TRACK);
  eval_message(&c->targets[0], &r, r.raw, msg, sizeof(msg));
  assert_non_null(strstr(msg, "goal in [3, 4]%"));
  run_eval_full(c, p, 24, at(2027, 1, 20, 0), GRAIN_MONTH, false, 0, &r, NULL);
  assert_int_equal(r.raw, CLASS_ACHIEVED);
  for (size_t i = 12; i < 24; i++)
    p[i].v = 102; /* below: 2 / 3 */
  run_eval_full(c, p, 21, at(2026, 10, 10, 0), GRAIN_MONTH, false, 0, &r, NULL);
  NEAR(r.score, 2.0 / 3, 1e-9);
  assert_int_equal(r.raw, CLASS_OFF_TRACK);
  run_eval_full(c, p, 24, at(2027, 1, 20, 0), GRAIN_MONTH, false, 0, &r, NULL);
  assert_int_equal(r.raw, CLASS_MISSED);
  for (size_t i = 12; i < 24; i++)
    p[i].v = 106; /* above: 4 / 6 */
  run_eval_full(c, p, 21, at(2026, 10, 10, 0), GRAIN_MONTH, false, 0, &r, NULL);
  NEAR(r.score, 4.0 / 6, 1e-9);
  assert_int_equal(r.raw, CLASS_OFF_TRACK);
  config_free(c);

  /* a total in a band is not achieved on reaching its low end */
  c = one_target("cumulative", "    rule: total in [100, 120]\n"
                               "    period: 2026\n    stale_after: 100d\n");
  {
    struct eval_point q[] = {{month_end(2026, 9), 105}};
    run_eval_full(c, q, 1, at(2026, 10, 10, 0), GRAIN_MONTH, false, 0, &r,
                  NULL);
    assert_int_not_equal(r.raw, CLASS_ACHIEVED);
    NEAR(r.score, 120 / r.projected, 1e-12); /* heading above the band */
    q[0] = (struct eval_point){month_end(2026, 12), 115};
    run_eval_full(c, q, 1, at(2027, 1, 10, 0), GRAIN_MONTH, false, 0, &r, NULL);
    assert_int_equal(r.raw, CLASS_ACHIEVED);
    q[0].v = 125;
    run_eval_full(c, q, 1, at(2027, 1, 10, 0), GRAIN_MONTH, false, 0, &r, NULL);
    assert_int_equal(r.raw, CLASS_MISSED);
  }
  config_free(c);
}

/* A level held all period (稳定在…以上): min / max of the period so far;
 * a breach is off_track at once and missed at the deadline; achieved only
 * at the deadline without one. */
static void hold_all_period(void **state) {
  struct config *c = one_target("instant", "    rule: min >= 90%\n"
                                           "    period: 2026\n"
                                           "    stale_after: 100d\n");
  struct eval_point p[12];
  struct eval_state st = {0};
  struct eval_result r;
  char msg[400];
  (void)state;
  for (int m = 1; m <= 12; m++)
    p[m - 1] = (struct eval_point){at(2026, m, 1, 0), m % 2 ? 92 : 91};
  run_eval(c, p, 4, at(2026, 4, 10, 0), &r);
  NEAR(r.actual, 91, 1e-12);
  assert_false(r.breach);
  NEAR(r.score, r.projected / 90, 1e-12);
  assert_int_equal(r.raw, CLASS_ON_TRACK);
  eval_next_class(&c->targets[0], &r, at(2026, 4, 10, 0), &st);
  assert_int_equal(st.cls, CLASS_ON_TRACK);
  run_eval(c, p, 12, at(2027, 1, 5, 0), &r);
  assert_int_equal(r.raw, CLASS_ACHIEVED);
  /* one month under: off_track at once (confirm 2 does not wait) */
  p[4].v = 89;
  run_eval(c, p, 5, at(2026, 5, 10, 0), &r);
  assert_true(r.breach);
  assert_int_equal(r.raw, CLASS_OFF_TRACK);
  assert_true(eval_next_class(&c->targets[0], &r, at(2026, 5, 10, 0), &st));
  assert_int_equal(st.cls, CLASS_OFF_TRACK);
  eval_message(&c->targets[0], &r, st.cls, msg, sizeof(msg));
  assert_non_null(strstr(msg, "lowest 89 in the period vs goal >= 90: broken"));
  /* ... and stays off_track though later months are fine */
  run_eval(c, p, 8, at(2026, 9, 10, 0), &r);
  assert_int_equal(r.raw, CLASS_OFF_TRACK);
  run_eval(c, p, 12, at(2027, 1, 5, 0), &r);
  assert_int_equal(r.raw, CLASS_MISSED);
  config_free(c);

  c = one_target("instant", "    rule: max <= 5.5\n    period: 2026\n"
                            "    stale_after: 100d\n");
  {
    struct eval_point q[] = {{at(2026, 3, 1, 0), 5.0},
                             {at(2026, 6, 1, 0), 5.2},
                             {at(2026, 9, 1, 0), 5.6}};
    run_eval(c, q, 2, at(2026, 7, 1, 0), &r);
    NEAR(r.actual, 5.2, 1e-12);
    assert_false(r.breach);
    run_eval(c, q, 3, at(2026, 9, 10, 0), &r);
    assert_true(r.breach);
    assert_int_equal(r.raw, CLASS_OFF_TRACK);
  }
  config_free(c);
}

/* --now's cut: observations after it do not count. */
static void until_cuts(void **state) {
  struct config *c = one_target("cumulative", "    rule: total >= 450\n"
                                              "    period: 2026\n");
  struct eval_point p[10];
  struct eval_result a, b;
  (void)state;
  for (int m = 1; m <= 10; m++)
    p[m - 1] = (struct eval_point){month_end(2026, m), 40.0 * m};
  run_eval_full(c, p, 10, at(2026, 8, 15, 0), GRAIN_MONTH, false,
                at(2026, 8, 15, 0), &a, NULL);
  run_eval_full(c, p, 7, at(2026, 8, 15, 0), GRAIN_MONTH, false, 0, &b, NULL);
  assert_int_equal(a.ref_ms, month_end(2026, 7));
  assert_int_equal(a.points, 7);
  NEAR(a.actual, b.actual, 0);
  NEAR(a.projected, b.projected, 0);
  assert_int_equal(a.raw, b.raw);
  config_free(c);
}

static void check_traj_against_recomputation(const struct config *c,
                                             const struct eval_point *p,
                                             size_t n, int64_t now) {
  struct eval_traj traj = {0};
  struct eval_result r, k;
  run_eval_full(c, p, n, now, GRAIN_INSTANT, false, 0, &r, &traj);
  assert_true(traj.n > 0);
  for (size_t i = 0; i < traj.n; i++) {
    /* as of that time: everything up to it, judged then */
    run_eval_full(c, p, n, traj.p[i].t, GRAIN_INSTANT, false, traj.p[i].t, &k,
                  NULL);
    assert_int_equal(k.ref_ms, traj.p[i].t);
    NEAR(traj.p[i].actual, k.actual, 1e-9 * fmax(1, fabs(k.actual)));
    NEAR(traj.p[i].expected, k.expected, 1e-9 * fmax(1, fabs(k.expected)));
    NEAR(traj.p[i].projected, k.projected, 1e-9 * fmax(1, fabs(k.projected)));
    if (i)
      assert_true(traj.p[i].t > traj.p[i - 1].t);
  }
  /* the last point is the judgement itself */
  assert_int_equal(traj.p[traj.n - 1].t, r.ref_ms);
  NEAR(traj.p[traj.n - 1].actual, r.actual, 0);
  NEAR(traj.p[traj.n - 1].projected, r.projected, 0);
  free(traj.p);
}

/* The trajectory: one point per day with observations, at the day's last
 * one, the numbers as of that time (equal to judging from scratch with
 * only what came before), in one sweep. */
static void trajectory(void **state) {
  static const char *const rules[][2] = {
      {"cumulative", "    rule: total >= 4500\n    pace: {profile: [0.07, "
                     "0.15, 0.25, 0.33, 0.45, 0.57, 0.65, 0.75, 0.85, 0.92, "
                     "0.96, 1.0]}\n"},
      {"increment", "    rule: total >= 4500\n    pace: {season: {from: "
                    "\"04-01\", to: \"11-15\"}}\n"},
      {"instant", "    rule: mean <= 33\n    pace: {seasonal: [1.46, 1.31, "
                  "1.16, 0.96, 0.76, 0.71, 0.66, 0.61, 0.71, 0.96, 1.26, "
                  "1.46]}\n"},
      {"instant", "    rule: latest >= 93\n"},
      {"instant", "    rule: min >= 20\n"},
      {"increment", "    rule: growth in [3%, 4%]\n"},
  };
  struct eval_point *p = xcalloc(24 * 400, sizeof(*p));
  (void)state;
  for (size_t k = 0; k < ARRAY_SIZE(rules); k++) {
    char *yaml =
        xasprintf("%s    period: 2026\n    stale_after: 400d\n", rules[k][1]);
    struct config *c = one_target(rules[k][0], yaml);
    size_t n = 0;
    uint32_t seed = 12345 + (uint32_t)k;
    /* the prior year monthly (growth), then irregular sub-daily data */
    for (int m = 1; m <= 12; m++)
      p[n++] = (struct eval_point){month_end(2025, m), 100 + m};
    for (int d = 0; d < 200; d++) {
      int per_day = 1 + (int)(seed % 3);
      for (int h = 0; h < per_day; h++) {
        seed = seed * 1103515245 + 12345;
        p[n++] = (struct eval_point){at(2026, 1, 1, 0) + d * DAY_MS * 3 / 2 +
                                         h * 3600000,
                                     20 + (seed >> 16) % 30 + d};
      }
    }
    check_traj_against_recomputation(c, p, n, at(2026, 10, 20, 0));
    config_free(c);
    free(yaml);
  }
  free(p);
}

/* A backfill of ten monthly releases: ten points at the month ends. */
static void trajectory_backfill(void **state) {
  struct config *c = one_target("cumulative", "    rule: total >= 450000\n"
                                              "    period: 2026\n");
  struct eval_point p[10];
  struct eval_traj traj = {0};
  struct eval_result r;
  (void)state;
  for (int m = 1; m <= 10; m++)
    p[m - 1] = (struct eval_point){month_end(2026, m), 40000.0 * m};
  run_eval_full(c, p, 10, at(2026, 11, 28, 9), GRAIN_MONTH, false, 0, &r,
                &traj);
  assert_int_equal(traj.n, 10);
  for (int m = 1; m <= 10; m++) {
    double pace = eval_pace(&c->targets[0], month_end(2026, m));
    assert_int_equal(traj.p[m - 1].t, month_end(2026, m));
    NEAR(traj.p[m - 1].actual, 40000.0 * m, 0);
    NEAR(traj.p[m - 1].expected, 450000 * pace, 1e-6);
    NEAR(traj.p[m - 1].projected, 40000.0 * m / pace, 1e-6);
  }
  free(traj.p);
  config_free(c);
}

/* The evaluation trigger under continuous data (every 100 ms for 20 s) on
 * a fake clock: a pass at least every 2 s (within 2 s of any data), and
 * not more than one a second. A debounce restarted by each datum would
 * never fire. */
static void trigger_throttles(void **state) {
  struct eval_trigger tr;
  int64_t due = -1, last_pass = -1, max_wait = 0, pending_since = -1;
  int passes = 0;
  (void)state;
  eval_trigger_init(&tr, 200, 1000);
  for (int64_t now = 0; now <= 20000; now += 10) {
    if (due >= 0 && now >= due) { /* the timer fires: a pass begins */
      eval_trigger_began(&tr, now);
      if (last_pass >= 0)
        assert_true(now - last_pass >= 1000);
      if (now - pending_since > max_wait)
        max_wait = now - pending_since;
      last_pass = now;
      pending_since = -1;
      due = -1;
      passes++;
    }
    if (now % 100 == 0) { /* new data */
      int64_t delay = eval_trigger_data(&tr, now);
      if (pending_since < 0)
        pending_since = now;
      if (delay >= 0) {
        assert_int_equal(due, -1);
        due = now + delay;
      }
    }
  }
  assert_true(passes >= 19);
  assert_true(max_wait <= 2000);
  /* quiet, then one datum: a pass after the coalescing delay */
  eval_trigger_began(&tr, 30000);
  assert_int_equal(eval_trigger_data(&tr, 40000), 200);
  assert_int_equal(eval_trigger_data(&tr, 40100), -1);
}

/* Messages name the pace they compare with and the rate's unit. */
static void message_wording(void **state) {
  struct config *c =
      one_target("instant", "    rule: mean <= 33\n    period: 2026\n");
  struct eval_point p[31];
  struct eval_result r;
  char msg[400];
  (void)state;
  fill_days(p, 0, 2026, 3, 31, 30);
  run_eval(c, p, 31, at(2026, 4, 1, 10), &r);
  eval_message(&c->targets[0], &r, r.raw, msg, sizeof(msg));
  assert_null(strstr(msg, "seasonal"));
  assert_non_null(strstr(msg, "33 expected by now"));
  config_free(c);
  c = one_target("instant", pm25_target);
  run_eval(c, p, 31, at(2026, 4, 1, 10), &r);
  eval_message(&c->targets[0], &r, r.raw, msg, sizeof(msg));
  assert_non_null(strstr(msg, "on the seasonal pace"));
  config_free(c);
  c = one_target("cumulative", jobs_target);
  {
    struct eval_point q1[] = {{month_end(2026, 3), 100000}};
    char x[32];
    run_eval(c, q1, 1, at(2026, 4, 15, 12), &r);
    eval_message(&c->targets[0], &r, r.raw, msg, sizeof(msg));
    format_number(r.required_rate, x, sizeof(x));
    assert_non_null(strstr(msg, "per month"));
    assert_non_null(strstr(msg, x)); /* the JSON's number, in words */
  }
  config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(jobs_worked_example),
      cmocka_unit_test(jobs_linear_misleads),
      cmocka_unit_test(pm25_worked_example),
      cmocka_unit_test(pm25_subdaily_and_gb3095),
      cmocka_unit_test(hysteresis),
      cmocka_unit_test(dead_zone_and_pending),
      cmocka_unit_test(stale_and_deadline),
      cmocka_unit_test(stale_reason_units),
      cmocka_unit_test(stale_bound_uses_median_gap),
      cmocka_unit_test(gb3095_hours_a_day),
      cmocka_unit_test(gb3095_days_a_month),
      cmocka_unit_test(gb3095_days_a_year),
      cmocka_unit_test(leap_year_and_mid_year_period),
      cmocka_unit_test(season_pace),
      cmocka_unit_test(increments),
      cmocka_unit_test(latest_level),
      cmocka_unit_test(growth),
      cmocka_unit_test(messages),
      cmocka_unit_test(staleness_per_grain_and_kind),
      cmocka_unit_test(achieved_sticks),
      cmocka_unit_test(levels_to_hold),
      cmocka_unit_test(band),
      cmocka_unit_test(hold_all_period),
      cmocka_unit_test(until_cuts),
      cmocka_unit_test(trajectory),
      cmocka_unit_test(trajectory_backfill),
      cmocka_unit_test(trigger_throttles),
      cmocka_unit_test(message_wording),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
