#include "chart.h"

#include "html.h"
#include "tz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARGIN_RIGHT 14.0
#define MARGIN_TOP 16.0
#define MARGIN_BOTTOM 40.0
#define LABEL_CHAR_WIDTH 6.4 /* of a digit at the tick labels' 11 px */
#define VALUE_TICKS 4        /* about this many steps over the range */
#define MONTH_LABELS_MAX 12
#define DAY_LABELS_MAX 10

static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};

static void extend(double *lo, double *hi, double v) {
  if (!isfinite(v))
    return;
  if (v < *lo)
    *lo = v;
  if (v > *hi)
    *hi = v;
}

/* 1, 2, 2.5 or 5 times a power of ten, the first at least raw. */
static double nice_step(double raw) {
  static const double steps[] = {1, 2, 2.5, 5, 10};
  double mag = pow(10, floor(log10(raw)));
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
    if (steps[i] * mag >= raw * (1 - 1e-9))
      return steps[i] * mag;
  return 10 * mag;
}

static void value_label(double v, double step, bool percent, char *buf,
                        size_t len) {
  char num[48];
  if (step < 0.01)
    snprintf(num, sizeof(num), "%g", v);
  else
    format_number(v, num, sizeof(num));
  snprintf(buf, len, "%s%s", num, percent ? "%" : "");
}

void chart_layout(const struct chart *c, struct chart_geom *g) {
  const struct rule *r = c->rule;
  double lo = INFINITY, hi = -INFINITY, span, step, proj = NAN;
  size_t widest = 0;
  memset(g, 0, sizeof(*g));
  g->t0 = c->start_ms;
  g->t1 = c->end_ms > c->start_ms ? c->end_ms : c->start_ms + 1;
  for (size_t i = 0; i < c->npts; i++)
    extend(&lo, &hi, c->pts[i].actual);
  for (size_t i = 0; i < c->nexpected; i++)
    extend(&lo, &hi, c->expected[i].v);
  if (r->op == OP_IN) {
    extend(&lo, &hi, r->low);
    extend(&lo, &hi, r->high);
  } else {
    extend(&lo, &hi, r->value);
  }
  /* Counted from nothing: a total, and a growth (its sign matters). */
  if (r->measure == MEASURE_TOTAL || r->measure == MEASURE_GROWTH)
    extend(&lo, &hi, 0);
  if (!(lo <= hi)) {
    lo = 0;
    hi = 1;
  }
  /* One value only (a goal, no data yet): from zero to it. */
  if (hi - lo <= 0) {
    extend(&lo, &hi, 0);
    if (hi - lo <= 0)
      hi = lo + 1;
  }
  span = hi - lo;
  /* Lines off the frame: a little room unless the edge is zero. */
  if (lo != 0)
    lo -= span * 0.04;
  if (hi != 0)
    hi += span * 0.04;
  if (c->npts)
    proj = c->pts[c->npts - 1].projected;
  if (isfinite(proj)) {
    /* A projection from a few early days can be far out: shown up to one
     * range beyond the rest, cut beyond that. */
    if (proj >= lo - span && proj <= hi + span)
      extend(&lo, &hi, proj);
    else
      g->clipped = true;
  }
  step = nice_step((hi - lo) / VALUE_TICKS);
  g->vmin = floor(lo / step + 1e-9) * step;
  g->vmax = ceil(hi / step - 1e-9) * step;
  if (g->vmax <= g->vmin)
    g->vmax = g->vmin + step;
  for (double v = g->vmin;
       v <= g->vmax + step * 1e-6 && g->nticks < CHART_MAX_TICKS; v += step) {
    char label[64];
    double tick = fabs(v) < step * 1e-6 ? 0 : v;
    value_label(tick, step, r->percent, label, sizeof(label));
    if (strlen(label) > widest)
      widest = strlen(label);
    g->ticks[g->nticks++] = tick;
  }
  g->left = 12 + LABEL_CHAR_WIDTH * (double)widest;
  if (g->left < 40)
    g->left = 40;
  g->right = CHART_WIDTH - MARGIN_RIGHT;
  g->top = MARGIN_TOP;
  g->bottom = CHART_HEIGHT - MARGIN_BOTTOM;
}

double chart_x(const struct chart_geom *g, int64_t t) {
  return g->left +
         (double)(t - g->t0) / (double)(g->t1 - g->t0) * (g->right - g->left);
}

double chart_y(const struct chart_geom *g, double v) {
  return g->bottom - (v - g->vmin) / (g->vmax - g->vmin) * (g->bottom - g->top);
}

/* ---- the time axis ---- */

static int64_t local_midnight(int y, int m, int d) {
  struct civil c = {0};
  c.year = y;
  c.month = m;
  c.day = d;
  return tz_local_to_ms(&c);
}

static void time_label(struct strbuf *out, double x, double y,
                       const char *anchor, const char *text) {
  strbuf_addf(out,
              "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
              "text-anchor=\"%s\">%s</text>",
              x, y, anchor, text);
}

static void grid_x(struct strbuf *out, const struct chart_geom *g, double x) {
  strbuf_addf(out,
              "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
              "y2=\"%.1f\"/>",
              x, g->top, x, g->bottom);
}

/* Month starts, every step months; labelled in the middle of their month
 * when every month is, else at the line; the year under the first label
 * and under each January. */
static void month_axis(struct strbuf *out, const struct chart_geom *g,
                       int months) {
  static const int steps[] = {1, 2, 3, 4, 6, 12, 24, 60, 120};
  struct civil c;
  int step = steps[sizeof(steps) / sizeof(steps[0]) - 1], y, m;
  bool first = true;
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
    if (months / steps[i] <= MONTH_LABELS_MAX) {
      step = steps[i];
      break;
    }
  tz_ms_to_local(g->t0, &c);
  y = c.year;
  m = c.month;
  if (local_midnight(y, m, 1) < g->t0) {
    m = m == 12 ? 1 : m + 1;
    y = m == 1 ? y + 1 : y;
  }
  for (;;) {
    int64_t t = local_midnight(y, m, 1), next;
    int ny = y + (m - 1 + step) / 12, nm = (m - 1 + step) % 12 + 1;
    double x, lx;
    if (t >= g->t1)
      break;
    next = local_midnight(ny, nm, 1);
    x = chart_x(g, t);
    grid_x(out, g, x);
    lx = step == 1 ? (x + chart_x(g, next < g->t1 ? next : g->t1)) / 2 : x;
    time_label(out, lx, g->bottom + 15, "middle", month_names[m - 1]);
    if (first || m == 1) {
      char year[16];
      snprintf(year, sizeof(year), "%d", y);
      time_label(out, lx, g->bottom + 29, "middle", year);
    }
    first = false;
    y = ny;
    m = nm;
  }
}

static void day_axis(struct strbuf *out, const struct chart_geom *g,
                     int64_t days) {
  static const int steps[] = {1, 2, 7, 14};
  struct civil c;
  int step = 14;
  int64_t day;
  bool first = true;
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
    if (days / steps[i] <= DAY_LABELS_MAX) {
      step = steps[i];
      break;
    }
  tz_ms_to_local(g->t0, &c);
  day = tz_days_from_civil(c.year, c.month, c.day);
  if (local_midnight(c.year, c.month, c.day) < g->t0)
    day++;
  for (;; day += step) {
    int y, m, d;
    int64_t t;
    char text[32];
    double x;
    tz_civil_from_days(day, &y, &m, &d);
    t = local_midnight(y, m, d);
    if (t >= g->t1)
      break;
    x = chart_x(g, t);
    grid_x(out, g, x);
    snprintf(text, sizeof(text), "%s %d", month_names[m - 1], d);
    time_label(out, x, g->bottom + 15, "middle", text);
    if (first) {
      snprintf(text, sizeof(text), "%d", y);
      time_label(out, x, g->bottom + 29, "middle", text);
    }
    first = false;
  }
}

static void time_axis(struct strbuf *out, const struct chart_geom *g) {
  struct civil a, b;
  int months;
  tz_ms_to_local(g->t0, &a);
  tz_ms_to_local(g->t1 - 1, &b);
  months = (b.year - a.year) * 12 + (b.month - a.month) + 1;
  if (months > 2)
    month_axis(out, g, months);
  else
    day_axis(out, g,
             tz_days_from_civil(b.year, b.month, b.day) -
                 tz_days_from_civil(a.year, a.month, a.day) + 1);
}

/* ---- the value axis and the lines ---- */

static void hline(struct strbuf *out, const char *cls,
                  const struct chart_geom *g, double y) {
  strbuf_addf(out,
              "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
              "y2=\"%.1f\"/>",
              cls, g->left, y, g->right, y);
}

static void value_axis(struct strbuf *out, const struct chart *c,
                       const struct chart_geom *g) {
  double step = g->nticks > 1 ? g->ticks[1] - g->ticks[0] : 1;
  for (size_t i = 0; i < g->nticks; i++) {
    char label[64];
    double y = chart_y(g, g->ticks[i]);
    value_label(g->ticks[i], step, c->rule->percent, label, sizeof(label));
    hline(out, "grid", g, y);
    strbuf_addf(out,
                "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
                "text-anchor=\"end\">%s</text>",
                g->left - 6, y + 4, label);
  }
}

/* "goal >= 15%", "goal in [3%, 4%]": the rule's own words and numbers. */
static void goal_text(const struct rule *r, char *buf, size_t len) {
  char a[64], b[64];
  if (r->op == OP_IN) {
    value_label(r->low, 1, r->percent, a, sizeof(a));
    value_label(r->high, 1, r->percent, b, sizeof(b));
    snprintf(buf, len, "goal in [%s, %s]", a, b);
  } else {
    value_label(r->value, 1, r->percent, a, sizeof(a));
    snprintf(buf, len, "goal %s %s", rule_op_name(r->op), a);
  }
}

static void goal(struct strbuf *out, const struct chart *c,
                 const struct chart_geom *g) {
  const struct rule *r = c->rule;
  char text[160];
  double y;
  goal_text(r, text, sizeof(text));
  if (r->op == OP_IN) {
    double ylo = chart_y(g, r->low), yhi = chart_y(g, r->high);
    strbuf_addf(out,
                "<rect class=\"band\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                "height=\"%.1f\"/>",
                g->left, yhi, g->right - g->left, ylo - yhi);
    hline(out, "goal", g, ylo);
    hline(out, "goal", g, yhi);
    y = yhi;
  } else {
    y = chart_y(g, r->value);
    hline(out, "goal", g, y);
  }
  strbuf_addf(out,
              "<text class=\"goal-label\" x=\"%.1f\" y=\"%.1f\" "
              "text-anchor=\"end\">",
              g->right - 4, y - 5);
  html_escape(out, text);
  strbuf_adds(out, "</text>");
}

/* A polyline, points closer than a unit of x to the one before left out
 * (the last one always drawn). */
static void path(struct strbuf *out, const char *cls, const double *xs,
                 const double *ys, size_t n) {
  double last_x = 0;
  size_t kept = 0;
  strbuf_addf(out, "<path class=\"%s\" fill=\"none\" d=\"", cls);
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(ys[i]) || (kept && i + 1 < n && xs[i] - last_x < 1.0))
      continue;
    strbuf_addf(out, "%s%.1f %.1f", kept ? " L" : "M", xs[i], ys[i]);
    last_x = xs[i];
    kept++;
  }
  strbuf_adds(out, "\"/>");
}

static void expected(struct strbuf *out, const struct chart *c,
                     const struct chart_geom *g) {
  double *xs, *ys;
  if (c->nexpected < 2)
    return;
  xs = xcalloc(c->nexpected, sizeof(*xs));
  ys = xcalloc(c->nexpected, sizeof(*ys));
  for (size_t i = 0; i < c->nexpected; i++) {
    xs[i] = chart_x(g, c->expected[i].t);
    ys[i] = chart_y(g, c->expected[i].v);
  }
  path(out, "expected", xs, ys, c->nexpected);
  free(xs);
  free(ys);
}

static void actual(struct strbuf *out, const struct chart *c,
                   const struct chart_geom *g) {
  const struct eval_traj_point *last = &c->pts[c->npts - 1];
  double *xs = xcalloc(c->npts, sizeof(*xs)),
         *ys = xcalloc(c->npts, sizeof(*ys));
  strbuf_addf(out, "<g clip-path=\"url(#chart-clip-%u)\">", c->id);
  if (isfinite(last->projected))
    strbuf_addf(out,
                "<path class=\"projection\" fill=\"none\" "
                "stroke-dasharray=\"6 4\" d=\"M%.1f %.1f L%.1f %.1f\"/>",
                chart_x(g, last->t), chart_y(g, last->actual),
                chart_x(g, g->t1), chart_y(g, last->projected));
  for (size_t i = 0; i < c->npts; i++) {
    xs[i] = chart_x(g, c->pts[i].t);
    ys[i] = chart_y(g, c->pts[i].actual);
  }
  path(out, "actual", xs, ys, c->npts);
  if (c->npts <= CHART_MAX_DOTS)
    for (size_t i = 0; i < c->npts; i++)
      if (isfinite(ys[i]))
        strbuf_addf(out,
                    "<circle class=\"dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\"/>",
                    xs[i], ys[i]);
  strbuf_adds(out, "</g>");
  free(xs);
  free(ys);
}

static void now_mark(struct strbuf *out, const struct chart *c,
                     const struct chart_geom *g) {
  double x;
  if (c->now_ms <= g->t0 || c->now_ms >= g->t1)
    return;
  x = chart_x(g, c->now_ms);
  strbuf_addf(out,
              "<line class=\"now\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
              "y2=\"%.1f\"/><text class=\"now-label\" x=\"%.1f\" y=\"%.1f\" "
              "text-anchor=\"middle\">today</text>",
              x, g->top - 2, x, g->bottom, x, g->top - 5);
}

void chart_svg(struct strbuf *out, const struct chart *c) {
  struct chart_geom g;
  chart_layout(c, &g);
  strbuf_addf(out,
              "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
              "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
              CHART_WIDTH, CHART_HEIGHT);
  html_escape(out, c->label);
  strbuf_adds(out, "\"><title>");
  html_escape(out, c->label);
  strbuf_addf(out,
              "</title><defs><clipPath id=\"chart-clip-%u\"><rect x=\"%.1f\" "
              "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath></defs>",
              c->id, g.left, g.top, g.right - g.left, g.bottom - g.top);
  strbuf_addf(out,
              "<rect class=\"plot\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
              "height=\"%.1f\"/>",
              g.left, g.top, g.right - g.left, g.bottom - g.top);
  value_axis(out, c, &g);
  time_axis(out, &g);
  goal(out, c, &g);
  expected(out, c, &g);
  now_mark(out, c, &g);
  if (c->npts) {
    actual(out, c, &g);
  } else {
    strbuf_addf(out,
                "<text class=\"empty\" x=\"%.1f\" y=\"%.1f\" "
                "text-anchor=\"middle\">",
                (g.left + g.right) / 2, (g.top + g.bottom) / 2 + 5);
    html_escape(out, c->empty ? c->empty : "no data yet");
    strbuf_adds(out, "</text>");
  }
  strbuf_adds(out, "</svg>");
}
