#include "page.h"

#include "chart.h"
#include "html.h"
#include "timefmt.h"
#include "tz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every class in colour (--cls, --clsbg) and in words; a CJK font in the
 * stack wherever one is installed. */
static const char style[] =
    ":root{--ink:#1f2328;--muted:#57606a;--line:#d0d7de;--soft:#eaeef2}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:#f6f8fa;color:var(--ink);font:14px/1.45 "
    "system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\","
    "\"Noto Sans CJK SC\",\"Noto Sans SC\",\"Source Han Sans SC\","
    "\"PingFang SC\",\"Hiragino Sans GB\",\"Microsoft YaHei\","
    "\"WenQuanYi Micro Hei\",sans-serif}"
    "header{background:#fff;border-bottom:1px solid var(--line);"
    "padding:14px 24px}"
    "h1{font-size:20px;margin:0}h2{font-size:17px;margin:0 0 10px}"
    "h3{font-size:14px;margin:18px 0 8px;color:var(--muted)}"
    ".meta{color:var(--muted);margin:2px 0 0}"
    "main{padding:16px 24px 32px}section{margin:0 0 28px}"
    ".summary{display:flex;flex-wrap:wrap;gap:6px;list-style:none;"
    "padding:0;margin:10px 0 0}"
    ".summary li{border:1px solid var(--line);border-radius:12px;"
    "padding:1px 10px;background:#fff}"
    ".summary li.c{color:var(--cls);background:var(--clsbg);"
    "border-color:var(--cls)}"
    "table{border-collapse:collapse;width:100%;background:#fff;"
    "border:1px solid var(--line)}"
    "th,td{padding:6px 10px;border-bottom:1px solid var(--soft);"
    "text-align:left;vertical-align:top}"
    "thead th{font-size:12px;color:var(--muted);font-weight:600;"
    "background:#fafbfc}"
    ".num{text-align:right;white-space:nowrap;"
    "font-variant-numeric:tabular-nums}"
    "tr.group th{background:#f0f3f6;font-size:13px}"
    "tr.group .n{color:var(--muted);font-weight:400}"
    ".title a{color:inherit;font-weight:600;text-decoration:none}"
    ".title a:hover{text-decoration:underline}"
    ".title b{font-weight:600}"
    ".source,.msg,.note{color:var(--muted);font-size:12px}"
    ".source{font-style:italic}"
    ".badge{display:inline-block;white-space:nowrap;font-size:12px;"
    "font-weight:600;padding:0 8px;border-radius:10px;"
    "border:1px solid var(--cls);color:var(--cls);background:var(--clsbg)}"
    ".bar{position:relative;display:inline-block;width:110px;height:10px;"
    "margin-right:6px;vertical-align:-1px;background:var(--soft);"
    "border-radius:5px;overflow:hidden}"
    ".bar .fill{position:absolute;left:0;top:0;bottom:0;"
    "background:var(--cls)}"
    ".bar .mark{position:absolute;top:0;bottom:0;width:2px;"
    "background:var(--ink)}"
    ".c-on_track{--cls:#1a7f37;--clsbg:#e6f4ea}"
    ".c-achieved{--cls:#0b6e4f;--clsbg:#d3f3e5}"
    ".c-at_risk{--cls:#9a6700;--clsbg:#fff4d4}"
    ".c-off_track{--cls:#cf222e;--clsbg:#ffebe9}"
    ".c-missed{--cls:#82071e;--clsbg:#ffd8d3}"
    ".c-no_data{--cls:#8250df;--clsbg:#f3eefe}"
    ".c-pending{--cls:#6e7781;--clsbg:#f0f2f4}"
    ".c-ok{--cls:#1a7f37;--clsbg:#e6f4ea}"
    ".c-failing{--cls:#cf222e;--clsbg:#ffebe9}"
    ".cards{display:grid;gap:14px;"
    "grid-template-columns:repeat(auto-fill,minmax(520px,1fr))}"
    ".card{background:#fff;border:1px solid var(--line);"
    "border-top:4px solid var(--cls);border-radius:6px;padding:10px 12px}"
    ".card h4{margin:0;font-size:15px}"
    ".card .nums{margin:4px 0 2px;color:var(--muted);font-size:12px}"
    ".card .nums b{color:var(--ink);font-weight:600}"
    ".legend{display:flex;flex-wrap:wrap;gap:16px;color:var(--muted);"
    "font-size:12px;margin:0 0 8px}"
    ".legend svg{vertical-align:middle;margin-right:4px}"
    "svg.chart{display:block;width:100%;height:auto;margin-top:6px}"
    "svg .plot{fill:#fff;stroke:var(--line)}"
    "svg .grid{stroke:#eef1f4}"
    "svg text{font-family:inherit}"
    "svg .tick{font-size:11px;fill:var(--muted)}"
    "svg .expected{stroke:#8c959f;stroke-width:1.6}"
    "svg .actual{stroke:var(--cls);stroke-width:2.4;"
    "stroke-linejoin:round}"
    "svg .dot{fill:var(--cls)}"
    "svg .projection{stroke:var(--cls);stroke-width:1.8;opacity:.85}"
    "svg .goal{stroke:var(--ink);stroke-width:1;stroke-dasharray:1 3}"
    "svg .band{fill:#1a7f37;fill-opacity:.1}"
    "svg .goal-label,svg .now-label,svg .empty{paint-order:stroke;"
    "stroke:#fff;"
    "stroke-width:3px;stroke-linejoin:round}"
    "svg .goal-label{font-size:11px;fill:var(--ink)}"
    "svg .now{stroke:#afb8c1;stroke-dasharray:3 3}"
    "svg .now-label{font-size:10px;fill:var(--muted)}"
    "svg .empty{font-size:15px;fill:var(--muted)}"
    "tr.series td{font-size:12px;color:var(--muted);padding-top:0;"
    "border-bottom:none}"
    "td.err{color:#cf222e;font-size:12px;word-break:break-word}"
    "td.when{white-space:nowrap}"
    "code{font-family:ui-monospace,\"DejaVu Sans Mono\",monospace;"
    "font-size:12px}"
    "footer{color:var(--muted);font-size:12px;padding:0 24px 24px}";

/* Severity for picking charts: the worst first. */
static int severity(const char *cls) {
  static const char *const order[] = {"missed",  "off_track", "at_risk",
                                      "no_data", "pending",   "on_track",
                                      "achieved"};
  for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
    if (strcmp(cls, order[i]) == 0)
      return (int)i;
  return (int)(sizeof(order) / sizeof(order[0]));
}

struct pick {
  int severity;
  double score;
  size_t index;
};

static int by_severity(const void *a, const void *b) {
  const struct pick *x = a, *y = b;
  if (x->severity != y->severity)
    return x->severity < y->severity ? -1 : 1;
  if (x->score != y->score)
    return x->score < y->score ? -1 : 1;
  return x->index < y->index ? -1 : 1;
}

void page_pick_charts(struct page *p, size_t max) {
  struct pick *picks;
  p->max_charts = max;
  p->ncharted = p->ntargets < max ? p->ntargets : max;
  for (size_t i = 0; i < p->ntargets; i++)
    p->targets[i].charted = p->ntargets <= max;
  if (p->ntargets <= max)
    return;
  picks = xcalloc(p->ntargets, sizeof(*picks));
  for (size_t i = 0; i < p->ntargets; i++) {
    const struct table_row *r = &p->targets[i].row;
    picks[i].severity = severity(r->status);
    picks[i].score = isfinite(r->score) ? r->score : INFINITY;
    picks[i].index = i;
  }
  qsort(picks, p->ntargets, sizeof(*picks), by_severity);
  for (size_t k = 0; k < max; k++)
    p->targets[picks[k].index].charted = true;
  free(picks);
}

/* ---- pieces ---- */

/* "on_track" as people say it: "on track". */
static void class_words(struct strbuf *out, const char *cls) {
  for (const char *c = cls; *c; c++)
    strbuf_add(out, *c == '_' ? " " : c, 1);
}

static void badge(struct strbuf *out, const char *cls) {
  strbuf_adds(out, "<span class=\"badge c-");
  html_escape(out, cls);
  strbuf_adds(out, "\" data-class=\"");
  html_escape(out, cls);
  strbuf_adds(out, "\">");
  class_words(out, cls);
  strbuf_adds(out, "</span>");
}

static void number(struct strbuf *out, double v) {
  char buf[64];
  table_number(v, buf, sizeof(buf));
  strbuf_adds(out, buf);
}

static void local_time(int64_t ms, const char *fmt, char *buf, size_t len) {
  struct civil c;
  tz_ms_to_local(ms, &c);
  if (strcmp(fmt, "date") == 0)
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d", c.year, c.month, c.day,
             c.hour, c.min);
  else
    snprintf(buf, len, "%02d:%02d:%02d", c.hour, c.min, c.sec);
}

static void span_words(int64_t ms, char *buf, size_t len) {
  int64_t s = ms / 1000;
  if (s < 120)
    snprintf(buf, len, "%lld s", (long long)s);
  else if (s < 7200)
    snprintf(buf, len, "%lld min", (long long)(s / 60));
  else if (s < 2 * 86400)
    snprintf(buf, len, "%lld h", (long long)(s / 3600));
  else
    snprintf(buf, len, "%lld d", (long long)(s / 86400));
}

/* A time people read at a glance: its local time (the date when not
 * today) and how long ago, or in how long. */
static void when(struct strbuf *out, int64_t now, int64_t t, const char *none) {
  char iso[40], at[40], ago[32];
  struct civil a, b;
  if (t <= 0) {
    strbuf_adds(out, none);
    return;
  }
  tz_ms_to_local(now, &a);
  tz_ms_to_local(t, &b);
  timefmt_iso(t, iso, sizeof(iso));
  local_time(t,
             a.year == b.year && a.month == b.month && a.day == b.day ? "time"
                                                                      : "date",
             at, sizeof(at));
  span_words(t <= now ? now - t : t - now, ago, sizeof(ago));
  strbuf_addf(out, "<time datetime=\"%s\">%s</time> (%s%s%s)", iso, at,
              t <= now ? "" : "in ", ago, t <= now ? " ago" : "");
}

static void progress(struct strbuf *out, const struct table_row *r) {
  double mark, fill = table_progress(r, &mark);
  strbuf_addf(out,
              "<span class=\"bar\" aria-hidden=\"true\"><span class=\"fill\" "
              "style=\"width:%.1f%%\"></span>",
              fill * 100);
  if (isfinite(mark))
    strbuf_addf(out, "<span class=\"mark\" style=\"left:%.1f%%\"></span>",
                mark * 100);
  strbuf_addf(out, "</span>%.0f%%", fill * 100);
}

/* ---- sections ---- */

static void head(struct strbuf *out, const struct page *p) {
  char iso[40];
  size_t counts[16] = {0}, failing = 0;
  static const char *const classes[] = {"missed",  "off_track", "at_risk",
                                        "no_data", "pending",   "on_track",
                                        "achieved"};
  timefmt_iso(p->now_ms, iso, sizeof(iso));
  strbuf_addf(out,
              "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
              "charset=\"utf-8\"><meta name=\"viewport\" "
              "content=\"width=device-width,initial-scale=1\"><meta "
              "http-equiv=\"refresh\" content=\"%d\"><title>indicatord: "
              "%zu target%s</title><style>%s</style></head><body><header>"
              "<h1>indicatord</h1><p class=\"meta\">as of <time "
              "datetime=\"%s\">%s</time>; refreshes every %d s; version ",
              PAGE_REFRESH_S, p->ntargets, p->ntargets == 1 ? "" : "s", style,
              iso, iso, PAGE_REFRESH_S);
  html_escape(out, p->version);
  strbuf_adds(out, "</p><ul class=\"summary\">");
  for (size_t i = 0; i < p->ntargets; i++)
    counts[severity(p->targets[i].row.status)]++;
  for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
    if (!counts[c])
      continue;
    strbuf_addf(out, "<li class=\"c c-%s\"><b>%zu</b> ", classes[c], counts[c]);
    class_words(out, classes[c]);
    strbuf_adds(out, "</li>");
  }
  for (size_t i = 0; i < p->nfeeds; i++)
    failing += p->feeds[i].failing;
  strbuf_addf(out, "<li class=\"c c-%s\">feeds: %zu ok, %zu failing</li>",
              failing ? "failing" : "ok", p->nfeeds - failing, failing);
  strbuf_addf(out, "<li class=\"c c-%s\">Redis %s",
              p->redis_up ? "ok" : "failing", p->redis_up ? "up" : "down: ");
  if (!p->redis_up)
    html_escape(out, p->redis_error ? p->redis_error : "connecting");
  strbuf_adds(out, "</li></ul></header><main>");
}

static void group_row(struct strbuf *out, const struct page *p,
                      const size_t *order, size_t k, int cols) {
  const char *group = p->targets[order[k]].row.group;
  size_t members = 1;
  while (k + members < p->ntargets &&
         table_same_group(group, p->targets[order[k + members]].row.group))
    members++;
  strbuf_addf(out, "<tr class=\"group\"><th colspan=\"%d\">", cols);
  html_escape(out, group);
  strbuf_addf(out, " <span class=\"n\">(%zu target%s)</span></th></tr>",
              members, members == 1 ? "" : "s");
}

static bool starts_group(const struct page *p, const size_t *order, size_t k) {
  const char *group = p->targets[order[k]].row.group;
  return group && (k == 0 || !table_same_group(
                                 group, p->targets[order[k - 1]].row.group));
}

static void target_row(struct strbuf *out, const struct page_target *t) {
  const struct table_row *r = &t->row;
  char goal[256];
  strbuf_adds(out, "<tr class=\"target c-");
  html_escape(out, r->status);
  strbuf_adds(out, "\" id=\"row-");
  html_escape(out, r->id);
  strbuf_adds(out, "\" data-class=\"");
  html_escape(out, r->status);
  strbuf_adds(out, "\"><td class=\"title\">");
  if (t->charted) {
    strbuf_adds(out, "<a href=\"#t-");
    html_escape(out, r->id);
    strbuf_adds(out, "\">");
    html_escape(out, r->title ? r->title : r->id);
    strbuf_adds(out, "</a>");
  } else {
    strbuf_adds(out, "<b>");
    html_escape(out, r->title ? r->title : r->id);
    strbuf_adds(out, "</b>");
  }
  if (r->source) {
    strbuf_adds(out, "<div class=\"source\">\xE2\x80\x9C");
    html_escape(out, r->source);
    strbuf_adds(out, "\xE2\x80\x9D</div>");
  }
  if (r->message && *r->message) {
    strbuf_adds(out, "<div class=\"msg\">");
    html_escape(out, r->message);
    strbuf_adds(out, "</div>");
  }
  strbuf_adds(out, "</td><td>");
  badge(out, r->status);
  strbuf_adds(out, "</td><td class=\"num\">");
  number(out, r->actual);
  strbuf_adds(out, "</td><td class=\"num\">");
  number(out, r->expected);
  strbuf_adds(out, "</td><td class=\"num\">");
  number(out, r->projected);
  strbuf_adds(out, "</td><td class=\"num\">");
  table_goal(r, goal, sizeof(goal));
  html_escape(out, goal);
  strbuf_adds(out, "</td><td class=\"num\">");
  progress(out, r);
  strbuf_adds(out, "</td></tr>");
}

static void target_table(struct strbuf *out, const struct page *p,
                         const size_t *order) {
  strbuf_adds(out,
              "<section id=\"targets\"><h2>Targets</h2><table "
              "class=\"targets\"><thead><tr><th>target</th><th>status</th>"
              "<th class=\"num\">actual</th><th class=\"num\">expected</th>"
              "<th class=\"num\">projected</th><th class=\"num\">goal</th>"
              "<th class=\"num\">progress</th></tr></thead><tbody>");
  if (!p->ntargets)
    strbuf_adds(out, "<tr><td colspan=\"7\">No targets are configured."
                     "</td></tr>");
  for (size_t k = 0; k < p->ntargets; k++) {
    if (starts_group(p, order, k))
      group_row(out, p, order, k, 7);
    target_row(out, &p->targets[order[k]]);
  }
  strbuf_adds(out, "</tbody></table></section>");
}

static void legend(struct strbuf *out) {
  static const struct {
    const char *cls, *words, *dash;
  } keys[] = {
      {"actual", "actual", ""},
      {"expected", "expected pace", ""},
      {"projection", "projection to the deadline", "6 4"},
      {"goal", "goal", ""},
  };
  strbuf_adds(out, "<p class=\"legend c-on_track\">");
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    strbuf_addf(
        out,
        "<span><svg width=\"28\" height=\"10\" aria-hidden=\"true\">"
        "<line class=\"%s\" x1=\"1\" y1=\"5\" x2=\"27\" y2=\"5\"%s%s%s/>"
        "</svg>%s</span>",
        keys[i].cls, *keys[i].dash ? " stroke-dasharray=\"" : "", keys[i].dash,
        *keys[i].dash ? "\"" : "", keys[i].words);
  }
  strbuf_adds(out, "<span><svg width=\"28\" height=\"10\" aria-hidden="
                   "\"true\"><rect class=\"band\" x=\"1\" y=\"1\" "
                   "width=\"26\" height=\"8\"/></svg>goal band</span></p>");
}

static void card(struct strbuf *out, const struct page_target *t, unsigned id,
                 int64_t now) {
  const struct table_row *r = &t->row;
  struct strbuf label = {0};
  struct chart c = {0};
  char goal[256], a[64], e[64], pr[64];
  table_goal(r, goal, sizeof(goal));
  table_number(r->actual, a, sizeof(a));
  table_number(r->expected, e, sizeof(e));
  table_number(r->projected, pr, sizeof(pr));
  strbuf_adds(out, "<article class=\"card c-");
  html_escape(out, r->status);
  strbuf_adds(out, "\" id=\"t-");
  html_escape(out, r->id);
  strbuf_adds(out, "\" data-class=\"");
  html_escape(out, r->status);
  strbuf_adds(out, "\"><h4>");
  html_escape(out, r->title ? r->title : r->id);
  strbuf_adds(out, " ");
  badge(out, r->status);
  strbuf_adds(out, "</h4><div class=\"nums\">actual <b>");
  html_escape(out, a);
  strbuf_adds(out, "</b> &middot; expected <b>");
  html_escape(out, e);
  strbuf_adds(out, "</b> &middot; projected <b>");
  html_escape(out, pr);
  strbuf_adds(out, "</b> &middot; goal <b>");
  html_escape(out, goal);
  strbuf_adds(out, "</b></div>");
  strbuf_addf(&label, "%s: %s; actual %s, expected %s, projected %s, goal %s",
              r->title ? r->title : r->id, r->status, a, e, pr, goal);
  c.start_ms = t->start_ms;
  c.end_ms = t->end_ms;
  c.now_ms = now;
  c.rule = r->rule;
  c.pts = t->pts;
  c.npts = t->npts;
  c.expected = t->expected;
  c.nexpected = t->nexpected;
  c.empty = t->chart_note                       ? t->chart_note
            : strcmp(r->status, "pending") == 0 ? "pending: no judgement yet"
                                                : "no data yet";
  c.label = label.buf;
  c.id = id;
  chart_svg(out, &c);
  strbuf_free(&label);
  strbuf_adds(out, "</article>");
}

static void charts(struct strbuf *out, const struct page *p,
                   const size_t *order) {
  unsigned id = 0;
  bool open = false;
  strbuf_adds(out, "<section id=\"charts\"><h2>Charts</h2>");
  legend(out);
  if (p->ncharted < p->ntargets)
    strbuf_addf(out,
                "<p class=\"note\">Charts for the %zu targets in the worst "
                "state of %zu (at most %zu are drawn); every target is in "
                "the table above and in <a href=\"/status\">/status</a>.</p>",
                p->ncharted, p->ntargets, p->max_charts);
  for (size_t k = 0; k < p->ntargets; k++) {
    const struct page_target *t = &p->targets[order[k]];
    if (!t->charted)
      continue;
    if (!open || (t->row.group && starts_group(p, order, k))) {
      if (open)
        strbuf_adds(out, "</div>");
      if (t->row.group) {
        strbuf_adds(out, "<h3>");
        html_escape(out, t->row.group);
        strbuf_adds(out, "</h3>");
      }
      strbuf_adds(out, "<div class=\"cards\">");
      open = true;
    }
    card(out, t, id++, p->now_ms);
  }
  if (open)
    strbuf_adds(out, "</div>");
  strbuf_adds(out, "</section>");
}

static void feed_row(struct strbuf *out, const struct page_feed *f,
                     int64_t now) {
  bool clean = true;
  strbuf_adds(out, "<tr class=\"feed c-");
  strbuf_adds(out, f->failing ? "failing" : "ok");
  strbuf_adds(out, "\"><td><code>");
  html_escape(out, f->id);
  strbuf_adds(out, "</code><div class=\"source\">");
  html_escape(out, f->url);
  strbuf_addf(out,
              "</div></td><td><span class=\"badge\">%s</span></td><td "
              "class=\"when\">",
              f->failing ? "failing" : "ok");
  when(out, now, f->last_fetch_ms, "not yet");
  strbuf_adds(out, "</td><td class=\"when\">");
  when(out, now, f->last_success_ms, "never");
  if (f->failures)
    strbuf_addf(out, "</td><td class=\"num\">%u in a row", f->failures);
  else
    strbuf_adds(out, "</td><td class=\"num\">none");
  strbuf_addf(out,
              "<div class=\"msg\">%llu of %llu fetch%s failed</div></td><td>",
              (unsigned long long)f->failures_total,
              (unsigned long long)f->fetches, f->fetches == 1 ? "" : "es");
  if (f->elsewhere) {
    strbuf_adds(out, "polled by another instance");
  } else if (f->failing && f->next_ms > 0) {
    strbuf_adds(out, "backing off; retry ");
    when(out, now, f->next_ms, "");
  } else {
    when(out, now, f->next_ms, "-");
  }
  /* A feed that recovered keeps its last error on show, as history. */
  strbuf_adds(out, f->failing ? "</td><td class=\"err\">"
                              : "</td><td class=\"msg\">");
  if (f->error && !f->failing)
    strbuf_adds(out, "earlier: ");
  html_escape(out, f->error);
  strbuf_adds(out, "</td></tr>");
  for (size_t i = 0; i < f->nseries; i++) {
    if (!f->series[i].error)
      continue;
    clean = false;
    strbuf_adds(out, "<tr class=\"series\"><td colspan=\"6\">series <code>");
    html_escape(out, f->series[i].id);
    strbuf_adds(out, "</code>: last error</td><td class=\"err\">");
    html_escape(out, f->series[i].error);
    strbuf_adds(out, "</td></tr>");
  }
  if (clean && f->nseries && f->last_success_ms > 0)
    strbuf_addf(out,
                "<tr class=\"series\"><td colspan=\"7\">%zu series, no "
                "problem in the last body</td></tr>",
                f->nseries);
}

static void feeds(struct strbuf *out, const struct page *p) {
  strbuf_adds(out, "<section id=\"feeds\"><h2>Feed health</h2><table "
                   "class=\"feeds\"><thead><tr><th>feed</th><th>state</th>"
                   "<th>last fetch</th><th>last success</th><th "
                   "class=\"num\">failures</th><th>next fetch</th><th>last "
                   "error</th></tr></thead><tbody>");
  if (!p->nfeeds)
    strbuf_adds(out, "<tr><td colspan=\"7\">No feeds are running."
                     "</td></tr>");
  /* The failing first: with many feeds they are what one looks for. */
  for (size_t i = 0; i < p->nfeeds; i++)
    if (p->feeds[i].failing)
      feed_row(out, &p->feeds[i], p->now_ms);
  for (size_t i = 0; i < p->nfeeds; i++)
    if (!p->feeds[i].failing)
      feed_row(out, &p->feeds[i], p->now_ms);
  strbuf_adds(out, "</tbody></table></section>");
}

void page_render(struct strbuf *out, const struct page *p) {
  size_t *order;
  struct table_row *rows = xcalloc(p->ntargets + 1, sizeof(*rows));
  for (size_t i = 0; i < p->ntargets; i++)
    rows[i] = p->targets[i].row;
  order = table_order(rows, p->ntargets);
  free(rows);
  head(out, p);
  target_table(out, p, order);
  charts(out, p, order);
  feeds(out, p);
  strbuf_adds(out,
              "</main><footer>For machines: <a href=\"/status\">/status</a> "
              "(JSON), <a href=\"/metrics\">/metrics</a> (Prometheus), <a "
              "href=\"/healthz\">/healthz</a>. Dashboards over time are "
              "Grafana's, from the same Redis.</footer></body></html>\n");
  free(order);
}
