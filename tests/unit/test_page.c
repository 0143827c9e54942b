/* The status page's pure parts: HTML escaping (markup, quotes, CJK, bytes
 * that are not UTF-8), the chart's geometry for every measure (the goal
 * line, a band, the expected line from the period's start to its end, the
 * projection from the last actual to the deadline, value and month
 * labels, a projection cut at the edge, the empty chart), the expected
 * line itself, picking the charts of a large configuration, the whole
 * page (no external asset, refresh, classes in words, groups and sources,
 * feed health) and the redaction of feed errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chart.h"
#include "html.h"
#include "page.h"
#include "statuspage.h"
#include "testutil.h"

#include <math.h>

static int64_t at(int y, int mo, int d) {
  struct civil c = {y, mo, d, 0, 0, 0, 0};
  return tz_local_to_ms(&c);
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

/* Whether s is well-formed UTF-8 (what a browser needs not to show
 * replacement boxes where text was fine). */
static bool valid_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    int n = *p < 0x80                  ? 1
            : *p >= 0xC2 && *p <= 0xDF ? 2
            : *p >= 0xE0 && *p <= 0xEF ? 3
            : *p >= 0xF0 && *p <= 0xF4 ? 4
                                       : 0;
    if (!n)
      return false;
    for (int i = 1; i < n; i++)
      if ((p[i] & 0xC0) != 0x80)
        return false;
    p += n;
  }
  return true;
}

static char *escaped(const char *s) {
  struct strbuf sb = {0};
  html_escape(&sb, s);
  return sb.buf ? strbuf_take(&sb) : xstrdup("");
}

static void escaping(void **state) {
  char *s;
  (void)state;
  s = escaped("<script>alert('x')</script> & \"q\"");
  assert_string_equal(s, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; "
                         "&amp; &quot;q&quot;");
  free(s);
  /* CJK and other multi-byte text passes untouched */
  s = escaped("城镇新增就业45万人以上 µg/m³ 😀");
  assert_string_equal(s, "城镇新增就业45万人以上 µg/m³ 😀");
  free(s);
  /* bytes that are not UTF-8: a stray continuation, a cut sequence, an
   * overlong '/', a surrogate, a control character */
  s = escaped("a\x80"
              "b\xE5\x9F"
              "c\xC0\xAF"
              "d\xED\xA0\x80"
              "e\x01"
              "f\tg\n");
  assert_true(valid_utf8(s));
  assert_string_equal(s, "a\xEF\xBF\xBD"
                         "b\xEF\xBF\xBD\xEF\xBF\xBD"
                         "c\xEF\xBF\xBD\xEF\xBF\xBD"
                         "d\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                         "e\xEF\xBF\xBD"
                         "f\tg\n");
  free(s);
  s = escaped(NULL);
  assert_string_equal(s, "");
  free(s);
}

static struct config *targets_yaml(const char *targets) {
  char *yaml = xasprintf("timezone: Asia/Shanghai\n"
                         "feeds:\n"
                         "  - id: f\n"
                         "    url: http://127.0.0.1/x\n"
                         "    every: 1d\n"
                         "    series:\n"
                         "      s: {path: $.v, kind: instant}\n"
                         "      n: {path: $.n, kind: increment}\n"
                         "targets:\n%s",
                         targets);
  struct config *c = test_config(yaml);
  free(yaml);
  assert_non_null(c);
  return c;
}

/* The d attribute of the first path of class cls (empty when none). */
static void path_of(const char *svg, const char *cls, char *buf, size_t len) {
  char key[64];
  const char *p, *d, *end;
  snprintf(key, sizeof(key), "<path class=\"%s\"", cls);
  buf[0] = '\0';
  p = strstr(svg, key);
  if (!p || !(d = strstr(p, " d=\"")))
    return;
  d += 4;
  end = strchr(d, '"');
  snprintf(buf, len, "%.*s", (int)(end - d), d);
}

/* The first and last points of a path's d. */
static void ends(const char *d, double *x0, double *y0, double *x1,
                 double *y1) {
  const char *last = strrchr(d, 'L');
  assert_int_equal(sscanf(d, "M%lf %lf", x0, y0), 2);
  assert_non_null(last);
  assert_int_equal(sscanf(last, "L%lf %lf", x1, y1), 2);
}

struct drawn {
  struct chart c;
  struct chart_geom g;
  char *svg;
  struct eval_point line[25];
};

/* Draws target 0 of cfg over pts with its expected line. */
static void draw(struct drawn *dr, const struct target *t,
                 const struct eval_traj_point *pts, size_t n, double baseline,
                 int64_t now) {
  struct strbuf sb = {0};
  memset(dr, 0, sizeof(*dr));
  eval_expected_line(t, baseline, dr->line, 25);
  dr->c.start_ms = period_start_ms(&t->period);
  dr->c.end_ms = period_end_ms(&t->period);
  dr->c.now_ms = now;
  dr->c.rule = &t->rule;
  dr->c.pts = pts;
  dr->c.npts = n;
  dr->c.expected = dr->line;
  dr->c.nexpected = 25;
  dr->c.label = "a chart";
  chart_layout(&dr->c, &dr->g);
  chart_svg(&sb, &dr->c);
  dr->svg = strbuf_take(&sb);
  assert_true(valid_utf8(dr->svg));
}

static void near_px(double a, double b) {
  assert_true(fabs(a - b) < 0.11);
}

static void chart_total(void **state) {
  struct config *c = targets_yaml("  - id: jobs\n"
                                  "    series: n\n"
                                  "    rule: total >= 450000\n"
                                  "    period: 2026\n");
  const struct target *t = &c->targets[0];
  struct eval_traj_point pts[3] = {
      {at(2026, 1, 31), 40000, 37500, 480000},
      {at(2026, 2, 28), 75000, 75000, 450000},
      {at(2026, 3, 31), 110000, 112500, 440000},
  };
  struct drawn dr;
  char d[4096];
  double x0, y0, x1, y1;
  (void)state;
  draw(&dr, t, pts, 3, 0, at(2026, 4, 15));
  /* a total is counted from zero; the goal is within the range */
  assert_true(dr.g.vmin == 0);
  assert_true(dr.g.vmax >= 480000);
  assert_false(dr.g.clipped);
  near_px(chart_x(&dr.g, dr.c.start_ms), dr.g.left);
  near_px(chart_x(&dr.g, dr.c.end_ms), dr.g.right);
  near_px(chart_y(&dr.g, dr.g.vmin), dr.g.bottom);
  near_px(chart_y(&dr.g, dr.g.vmax), dr.g.top);
  /* the expected pace runs over the whole period, 0 to the goal */
  path_of(dr.svg, "expected", d, sizeof(d));
  ends(d, &x0, &y0, &x1, &y1);
  near_px(x0, dr.g.left);
  near_px(y0, chart_y(&dr.g, 0));
  near_px(x1, dr.g.right);
  near_px(y1, chart_y(&dr.g, 450000));
  /* the actual through every point, with dots */
  path_of(dr.svg, "actual", d, sizeof(d));
  ends(d, &x0, &y0, &x1, &y1);
  near_px(x0, chart_x(&dr.g, pts[0].t));
  near_px(y0, chart_y(&dr.g, 40000));
  near_px(y1, chart_y(&dr.g, 110000));
  assert_int_equal(count(d, "L"), 2);
  assert_int_equal(count(dr.svg, "<circle class=\"dot\""), 3);
  /* the projection: from the last actual to the deadline, dashed */
  path_of(dr.svg, "projection", d, sizeof(d));
  ends(d, &x0, &y0, &x1, &y1);
  near_px(x0, chart_x(&dr.g, pts[2].t));
  near_px(y0, chart_y(&dr.g, 110000));
  near_px(x1, dr.g.right);
  near_px(y1, chart_y(&dr.g, 440000));
  assert_non_null(strstr(dr.svg, "stroke-dasharray=\"6 4\" d="));
  /* the goal, today, value labels grouped like the table, months */
  {
    char goal[128];
    snprintf(goal, sizeof(goal), "<line class=\"goal\" x1=\"%.1f\" y1=\"%.1f\"",
             dr.g.left, chart_y(&dr.g, 450000));
    assert_non_null(strstr(dr.svg, goal));
  }
  assert_non_null(strstr(dr.svg, ">goal &gt;= 450,000</text>"));
  assert_non_null(strstr(dr.svg, "class=\"now\""));
  assert_non_null(strstr(dr.svg, ">400,000</text>"));
  assert_int_equal(count(dr.svg, "text-anchor=\"middle\">Jan</text>"), 1);
  assert_int_equal(count(dr.svg, "text-anchor=\"middle\">Dec</text>"), 1);
  assert_int_equal(count(dr.svg, ">2026</text>"), 1);
  assert_null(strstr(dr.svg, "class=\"empty\""));
  assert_non_null(strstr(dr.svg, "<title>a chart</title>"));
  free(dr.svg);
  config_free(c);
}

static void chart_mean_and_band(void **state) {
  struct config *c = targets_yaml("  - id: pm25\n"
                                  "    series: s\n"
                                  "    rule: mean <= 33\n"
                                  "    period: 2026\n"
                                  "  - id: trade\n"
                                  "    series: n\n"
                                  "    rule: growth in [3%, 4%]\n"
                                  "    period: 2026\n");
  struct eval_traj_point pm[2] = {{at(2026, 1, 1) + 1, 45, 33, 36},
                                  {at(2026, 1, 2) + 1, 41, 33, 35}};
  struct eval_traj_point gr[2] = {{at(2026, 2, 28), 2.1, 3.5, 2.6},
                                  {at(2026, 3, 31), 2.8, 3.5, 3.2}};
  struct drawn dr;
  char d[4096];
  double x0, y0, x1, y1;
  (void)state;
  /* mean: not from zero, the goal and the expected line level at 33 */
  draw(&dr, &c->targets[0], pm, 2, 0, at(2026, 1, 3));
  assert_true(dr.g.vmin > 0 && dr.g.vmin <= 33 && dr.g.vmax >= 45);
  path_of(dr.svg, "expected", d, sizeof(d));
  ends(d, &x0, &y0, &x1, &y1);
  near_px(y0, chart_y(&dr.g, 33));
  near_px(y1, chart_y(&dr.g, 33));
  assert_null(strstr(dr.svg, "class=\"band\""));
  free(dr.svg);
  /* growth band in percent: from zero, a shaded band between two goal
   * lines, labels in % */
  draw(&dr, &c->targets[1], gr, 2, 0, at(2026, 4, 1));
  assert_true(dr.g.vmin == 0 && dr.g.vmax >= 4);
  {
    char band[160];
    snprintf(band, sizeof(band),
             "<rect class=\"band\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
             "height=\"%.1f\"/>",
             dr.g.left, chart_y(&dr.g, 4), dr.g.right - dr.g.left,
             chart_y(&dr.g, 3) - chart_y(&dr.g, 4));
    assert_non_null(strstr(dr.svg, band));
  }
  assert_int_equal(count(dr.svg, "<line class=\"goal\""), 2);
  assert_non_null(strstr(dr.svg, ">goal in [3%, 4%]</text>"));
  assert_non_null(strstr(dr.svg, "%</text>"));
  path_of(dr.svg, "expected", d, sizeof(d));
  ends(d, &x0, &y0, &x1, &y1);
  near_px(y0, chart_y(&dr.g, 3.5));
  path_of(dr.svg, "projection", d, sizeof(d));
  ends(d, &x0, &y0, &x1, &y1);
  near_px(y1, chart_y(&dr.g, 3.2));
  free(dr.svg);
  config_free(c);
}

static void chart_latest_min_max(void **state) {
  struct config *c = targets_yaml("  - id: share\n"
                                  "    series: s\n"
                                  "    rule: latest >= 60\n"
                                  "    period: 2026\n"
                                  "  - id: water\n"
                                  "    series: s\n"
                                  "    rule: min >= 90%\n"
                                  "    period: 2026\n"
                                  "  - id: peak\n"
                                  "    series: s\n"
                                  "    rule: max <= 100\n"
                                  "    period: 2026-03\n");
  struct eval_traj_point lv[1] = {{at(2026, 6, 30), 52, 50, 58}};
  struct eval_traj_point mn[2] = {{at(2026, 3, 31), 93, 90, 92},
                                  {at(2026, 6, 30), 91, 90, 89}};
  struct eval_traj_point mx[2] = {{at(2026, 3, 5), 70, 100, 80},
                                  {at(2026, 3, 9), 85, 100, 120}};
  struct drawn dr;
  char d[4096];
  double x0, y0, x1, y1;
  (void)state;
  /* latest: from the baseline at the start to the goal at the end */
  draw(&dr, &c->targets[0], lv, 1, 40, at(2026, 7, 1));
  path_of(dr.svg, "expected", d, sizeof(d));
  ends(d, &x0, &y0, &x1, &y1);
  near_px(y0, chart_y(&dr.g, 40));
  near_px(y1, chart_y(&dr.g, 60));
  /* one point: no line segment in the actual, but its dot */
  path_of(dr.svg, "actual", d, sizeof(d));
  assert_null(strchr(d, 'L'));
  assert_int_equal(count(dr.svg, "<circle class=\"dot\""), 1);
  free(dr.svg);
  /* min: the level to hold, flat */
  draw(&dr, &c->targets[1], mn, 2, 0, at(2026, 7, 1));
  path_of(dr.svg, "expected", d, sizeof(d));
  ends(d, &x0, &y0, &x1, &y1);
  near_px(y0, chart_y(&dr.g, 90));
  near_px(y1, chart_y(&dr.g, 90));
  assert_non_null(strstr(dr.svg, ">goal &gt;= 90%</text>"));
  assert_true(dr.g.vmin <= 89 && dr.g.vmax >= 93);
  free(dr.svg);
  /* max over one month: days on the time axis, not months */
  draw(&dr, &c->targets[2], mx, 2, 0, at(2026, 3, 10));
  assert_non_null(strstr(dr.svg, ">Mar 1</text>"));
  assert_non_null(strstr(dr.svg, ">Mar 8</text>"));
  assert_null(strstr(dr.svg, "text-anchor=\"middle\">Feb</text>"));
  assert_true(dr.g.vmax >= 120);
  free(dr.svg);
  config_free(c);
}

static void chart_clipped_and_empty(void **state) {
  struct config *c = targets_yaml("  - id: jobs\n"
                                  "    series: n\n"
                                  "    rule: total >= 100\n"
                                  "    period: 2026\n");
  /* a week in: the projection is far beyond everything else */
  struct eval_traj_point early[1] = {{at(2026, 1, 7), 20, 1.9, 1043}};
  struct drawn dr;
  char d[4096];
  double x0, y0, x1, y1;
  (void)state;
  draw(&dr, &c->targets[0], early, 1, 0, at(2026, 1, 8));
  assert_true(dr.g.clipped);
  assert_true(dr.g.vmax < 1043 && dr.g.vmax >= 100);
  /* drawn toward it, cut at the plot's edge */
  path_of(dr.svg, "projection", d, sizeof(d));
  ends(d, &x0, &y0, &x1, &y1);
  assert_true(y1 < dr.g.top);
  assert_non_null(strstr(dr.svg, "clip-path=\"url(#chart-clip-0)\""));
  free(dr.svg);
  /* no data: the period, the goal and the pace, and why nothing else */
  draw(&dr, &c->targets[0], NULL, 0, 0, at(2026, 5, 1));
  assert_non_null(strstr(dr.svg, "class=\"empty\""));
  assert_non_null(strstr(dr.svg, ">no data yet</text>"));
  assert_null(strstr(dr.svg, "class=\"actual\""));
  assert_null(strstr(dr.svg, "class=\"projection\""));
  assert_non_null(strstr(dr.svg, "class=\"expected\""));
  assert_non_null(strstr(dr.svg, "<line class=\"goal\""));
  free(dr.svg);
  dr.c.empty = "trajectory unavailable: <Redis> unreachable";
  {
    struct strbuf sb = {0};
    chart_svg(&sb, &dr.c);
    assert_non_null(
        strstr(sb.buf, ">trajectory unavailable: &lt;Redis&gt; unreachable<"));
    strbuf_free(&sb);
  }
  config_free(c);
}

static void expected_lines(void **state) {
  struct config *c = targets_yaml("  - id: a\n"
                                  "    series: n\n"
                                  "    rule: total >= 1200\n"
                                  "    period: 2026\n"
                                  "  - id: b\n"
                                  "    series: s\n"
                                  "    rule: mean <= 30\n"
                                  "    period: 2026\n"
                                  "    pace: {seasonal: [2, 2, 1, 1, 1, 1, 1, "
                                  "1, 1, 1, 1, 2]}\n");
  struct eval_point line[13];
  (void)state;
  eval_expected_line(&c->targets[0], 0, line, 13);
  assert_int_equal(line[0].t, period_start_ms(&c->targets[0].period));
  assert_int_equal(line[12].t, period_end_ms(&c->targets[0].period));
  assert_true(line[0].v == 0 && line[12].v == 1200);
  assert_true(fabs(line[6].v - 600) < 5);
  /* seasonal mean: high in the heating season's start, the goal at the
   * end (the factors are normalised over the period) */
  eval_expected_line(&c->targets[1], 0, line, 13);
  assert_true(line[0].v > 30 * 1.5);
  assert_true(line[6].v > 30 && line[6].v < line[0].v);
  assert_true(fabs(line[12].v - 30) < 1e-9);
  config_free(c);
}

/* ---- the page ---- */

static struct rule ge(double v) {
  struct rule r = {0};
  r.measure = MEASURE_TOTAL;
  r.op = OP_GE;
  r.value = v;
  return r;
}

static void page_model(struct page *p, struct page_target *t, size_t n,
                       struct rule *rules) {
  static const char *const status[] = {"on_track", "off_track", "at_risk",
                                       "no_data",  "pending",   "achieved",
                                       "missed"};
  memset(p, 0, sizeof(*p));
  tz_set("Asia/Shanghai");
  p->now_ms = at(2026, 6, 1);
  p->version = "1.2.3";
  p->redis_up = true;
  p->targets = t;
  p->ntargets = n;
  for (size_t i = 0; i < n; i++) {
    memset(&t[i], 0, sizeof(t[i]));
    rules[i] = ge(100);
    t[i].row.rule = &rules[i];
    t[i].row.status = status[i % 7];
    t[i].row.actual = t[i].row.expected = t[i].row.projected = NAN;
    t[i].row.score = 1.0 - (double)i / 100;
    t[i].row.pace = 0.4;
    t[i].start_ms = at(2026, 1, 1);
    t[i].end_ms = at(2027, 1, 1);
  }
}

static void page_whole(void **state) {
  struct page p;
  struct page_target t[4];
  struct rule rules[4];
  struct page_series series[2] = {{"jobs", NULL},
                                  {"pm25", "record 3: \"x\" is not a number"}};
  struct page_feed feed = {0};
  struct eval_traj_point pts[2] = {{at(2026, 1, 31), 40, 8, 480},
                                   {at(2026, 4, 30), 41, 33, 123}};
  struct strbuf sb = {0};
  char *ids[] = {"jobs", "x<y", "pm25", "chargers"};
  (void)state;
  page_model(&p, t, 4, rules);
  for (size_t i = 0; i < 4; i++)
    t[i].row.id = ids[i];
  t[0].row.title = "城镇新增就业45万人以上";
  t[0].row.group = "民生实事";
  t[0].row.source = "城镇新增就业45万人以上。";
  t[0].row.unit = "人";
  t[0].row.actual = 412000;
  t[0].row.expected = 342000;
  t[0].row.projected = 433412;
  rules[0] = ge(450000);
  t[0].pts = pts;
  t[0].npts = 2;
  t[1].row.title = "<b>not bold</b> & co";
  t[1].row.message = "why: <none>";
  t[2].row.group = "民生实事";
  t[2].row.status = "pending";
  t[3].row.group = "生态环境";
  t[3].chart_note = "trajectory unavailable: Redis unreachable";
  feed.id = "jobs-feed";
  feed.url = "https://portal.example/REDACTED?REDACTED";
  feed.failing = true;
  feed.failures = 3;
  feed.fetches = 9;
  feed.failures_total = 4;
  feed.last_fetch_ms = p.now_ms - 5000;
  feed.last_success_ms = p.now_ms - 3 * 86400000LL;
  feed.next_ms = p.now_ms + 40000;
  feed.error = "HTTP 503";
  feed.series = series;
  feed.nseries = 2;
  p.feeds = &feed;
  p.nfeeds = 1;
  page_pick_charts(&p, 200);
  page_render(&sb, &p);
  assert_true(valid_utf8(sb.buf));
  /* a whole document, refreshing, UTF-8, fonts with CJK, nothing fetched */
  assert_true(strncmp(sb.buf, "<!DOCTYPE html>", 15) == 0);
  assert_non_null(strstr(sb.buf, "<meta charset=\"utf-8\">"));
  assert_non_null(
      strstr(sb.buf, "<meta http-equiv=\"refresh\" content=\"60\">"));
  assert_non_null(strstr(sb.buf, "\"Noto Sans CJK SC\""));
  assert_null(strstr(sb.buf, "<script"));
  assert_null(strstr(sb.buf, "<link"));
  assert_null(strstr(sb.buf, "src="));
  assert_null(strstr(sb.buf, "@import"));
  assert_null(strstr(sb.buf, "url(http"));
  /* every target, escaped; classes in words and colour */
  assert_non_null(strstr(sb.buf, ">城镇新增就业45万人以上</a>"));
  assert_non_null(strstr(sb.buf, "&lt;b&gt;not bold&lt;/b&gt; &amp; co"));
  assert_null(strstr(sb.buf, "<b>not bold"));
  assert_non_null(strstr(sb.buf, "why: &lt;none&gt;"));
  assert_non_null(strstr(sb.buf, "id=\"row-x&lt;y\""));
  assert_non_null(strstr(sb.buf, "class=\"badge c-off_track\" "
                                 "data-class=\"off_track\">off track</span>"));
  assert_non_null(strstr(sb.buf, "<b>1</b> on track</li>"));
  /* numbers as the table prints them, the goal with its unit */
  assert_non_null(strstr(sb.buf, ">412,000<"));
  assert_non_null(strstr(sb.buf, ">342,000<"));
  assert_non_null(strstr(sb.buf, ">&gt;= 450,000 人<"));
  assert_non_null(strstr(sb.buf, "class=\"fill\" style=\"width:91.6%\""));
  assert_non_null(strstr(sb.buf, "class=\"mark\" style=\"left:40.0%\""));
  /* groups (ungrouped first, like the CLI) and the source, quoted */
  assert_non_null(strstr(sb.buf, "民生实事 <span class=\"n\">(2 targets)"));
  assert_non_null(strstr(sb.buf, "生态环境 <span class=\"n\">(1 target)"));
  assert_true(strstr(sb.buf, "row-x&lt;y") < strstr(sb.buf, "row-jobs"));
  assert_non_null(strstr(sb.buf, "\xE2\x80\x9C城镇新增就业45万人以上。"
                                 "\xE2\x80\x9D"));
  /* one chart per target, the empty ones saying why */
  assert_int_equal(count(sb.buf, "<svg class=\"chart\""), 4);
  assert_int_equal(count(sb.buf, "<article class=\"card"), 4);
  assert_int_equal(count(sb.buf, ">no data yet</text>"), 1);
  assert_int_equal(count(sb.buf, ">pending: no judgement yet</text>"), 1);
  assert_int_equal(count(sb.buf, ">trajectory unavailable: Redis "
                                 "unreachable</text>"),
                   1);
  assert_int_equal(count(sb.buf, "<path class=\"actual\""), 1);
  assert_null(strstr(sb.buf, "worst state"));
  /* feed health */
  assert_non_null(strstr(sb.buf, "<code>jobs-feed</code>"));
  assert_non_null(strstr(sb.buf, ">failing</span>"));
  assert_non_null(strstr(sb.buf, "3 in a row"));
  assert_non_null(strstr(sb.buf, "4 of 9 fetches failed"));
  assert_non_null(strstr(sb.buf, "(5 s ago)"));
  assert_non_null(strstr(sb.buf, "(3 d ago)"));
  assert_non_null(strstr(sb.buf, "backing off; retry "));
  assert_non_null(strstr(sb.buf, "(in 40 s)"));
  assert_non_null(strstr(sb.buf, "<td class=\"err\">HTTP 503</td>"));
  assert_non_null(strstr(sb.buf, "series <code>pm25</code>"));
  assert_non_null(strstr(sb.buf, "record 3: &quot;x&quot; is not a number"));
  assert_null(strstr(sb.buf, "series <code>jobs</code>"));
  assert_null(strstr(sb.buf, "another instance"));
  /* in a cluster, a feed another instance polls says so */
  strbuf_free(&sb);
  memset(&sb, 0, sizeof(sb));
  feed.elsewhere = true;
  page_render(&sb, &p);
  assert_non_null(strstr(sb.buf, "polled by another instance"));
  assert_null(strstr(sb.buf, "backing off; retry "));
  strbuf_free(&sb);
}

static void page_many_targets(void **state) {
  enum { N = 2000, MAX = 50 };
  struct page p;
  struct page_target *t = xcalloc(N, sizeof(*t));
  struct rule *rules = xcalloc(N, sizeof(*rules));
  struct strbuf sb = {0};
  char(*ids)[16] = xcalloc(N, sizeof(*ids));
  size_t charted = 0, worst = 0;
  (void)state;
  page_model(&p, t, N, rules);
  for (size_t i = 0; i < N; i++) {
    snprintf(ids[i], sizeof(ids[i]), "t%zu", i);
    t[i].row.id = ids[i];
  }
  page_pick_charts(&p, MAX);
  for (size_t i = 0; i < N; i++) {
    charted += t[i].charted;
    if (t[i].charted && (strcmp(t[i].row.status, "missed") == 0 ||
                         strcmp(t[i].row.status, "off_track") == 0))
      worst++;
  }
  /* 2000 / 7 of each: the missed first (the lowest score first), then
   * off track */
  assert_int_equal(charted, MAX);
  assert_int_equal(p.ncharted, MAX);
  assert_int_equal(worst, MAX);
  assert_true(t[N - 1 - (N - 1 - 6) % 7].charted); /* the last missed */
  page_render(&sb, &p);
  assert_int_equal(count(sb.buf, "<svg class=\"chart\""), MAX);
  assert_int_equal(count(sb.buf, "<tr class=\"target"), N);
  assert_non_null(strstr(sb.buf, "Charts for the 50 targets in the worst "
                                 "state of 2000"));
  strbuf_free(&sb);
  free(ids);
  free(rules);
  free(t);
}

static void redaction(void **state) {
  struct config_kv headers[1] = {{"Authorization", "Token hdr-s3cret-77"}};
  struct feed f = {0};
  char *s;
  (void)state;
  f.id = "x";
  f.url = "https://user:pw-secret@data.example.org/api/k9Zx8Yw7Vu6T5s4R/"
          "series?key=q-secret-1";
  f.headers = headers;
  f.nheaders = 1;
  f.basic_password = "basic-s3cret";
  f.bearer_token = "bearer-s3cret";
  s = statuspage_redact(
      &f, "GET https://user:pw-secret@data.example.org/api/k9Zx8Yw7Vu6T5s4R/"
          "series?key=q-secret-1 failed; redirect to "
          "http://other.example/p?token=zz-secret; sent Token hdr-s3cret-77 "
          "basic-s3cret bearer-s3cret");
  assert_null(strstr(s, "secret"));
  assert_null(strstr(s, "s3cret"));
  assert_null(strstr(s, "k9Zx8Yw7Vu6T5s4R"));
  assert_non_null(strstr(s, "https://data.example.org/api/REDACTED/series"
                            "?REDACTED failed"));
  /* the rest of a URL goes with it, up to a space or a quote */
  assert_non_null(strstr(s, "http://other.example/p?REDACTED sent"));
  free(s);
  s = statuspage_redact(&f, "HTTP 503");
  assert_string_equal(s, "HTTP 503");
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(escaping),
      cmocka_unit_test(chart_total),
      cmocka_unit_test(chart_mean_and_band),
      cmocka_unit_test(chart_latest_min_max),
      cmocka_unit_test(chart_clipped_and_empty),
      cmocka_unit_test(expected_lines),
      cmocka_unit_test(page_whole),
      cmocka_unit_test(page_many_targets),
      cmocka_unit_test(redaction),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
