/* One target's chart for the status page, as inline SVG drawn on the
 * server (no script, no font or file fetched): x is the target's period,
 * labelled by month (by day for a period shorter than two months), y the
 * measure, labelled by value; the actual as a line (with its points when
 * there are few), the expected pace as a line over the whole period, the
 * projection as a dashed segment from the last actual to the deadline, the
 * goal as a horizontal line (a band as a shaded area between two lines)
 * and today as a vertical mark. Without data it still draws the period,
 * the goal and the pace, and says why there is nothing else. Colours come
 * from the page's style sheet, by class (actual, expected, projection,
 * goal, band, now); a projection far outside the rest is cut at the edge
 * of the plot rather than squeezing it. */
#ifndef INDICATORD_CHART_H
#define INDICATORD_CHART_H

#include "eval.h"
#include "rule.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHART_WIDTH 600
#define CHART_HEIGHT 240
#define CHART_MAX_TICKS 12
/* Past this many points the actual is drawn as a line only. */
#define CHART_MAX_DOTS 60

struct chart {
  int64_t start_ms, end_ms; /* the period: [start, end) */
  int64_t now_ms;
  const struct rule *rule;
  /* The trajectory, ascending, within the period: the actual and the
   * projection as of each point. */
  const struct eval_traj_point *pts;
  size_t npts;
  /* The expected line, ascending, over the period. */
  const struct eval_point *expected;
  size_t nexpected;
  const char *empty; /* why there is no trajectory; NULL: "no data yet" */
  const char *label; /* the accessible name (<title>) */
  unsigned id;       /* unique on the page (names the clip path) */
};

/* Where things go: the plot area in SVG units, the time span and value
 * range it shows, and the value ticks. */
struct chart_geom {
  double left, right, top, bottom;
  int64_t t0, t1;
  double vmin, vmax;
  double ticks[CHART_MAX_TICKS];
  size_t nticks;
  bool clipped; /* the projection lies outside [vmin, vmax] */
};

void chart_layout(const struct chart *c, struct chart_geom *g);
double chart_x(const struct chart_geom *g, int64_t t);
double chart_y(const struct chart_geom *g, double v);
/* Appends the <svg> element. */
void chart_svg(struct strbuf *out, const struct chart *c);

#endif
