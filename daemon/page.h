/* The status page (`GET /`), rendered from a plain model: one HTML
 * document with its style sheet inline and nothing fetched (no script, no
 * font, no image), readable without JavaScript, refreshing itself. It has
 * a summary (targets per class, feeds, Redis), the target table (grouped
 * like the CLI's, numbers formatted as there, a progress bar per target),
 * one chart card per charted target (chart.h) and the feed health table.
 * Every class is shown in colour and in words. All text is escaped
 * (html.h); the fonts named include CJK ones, so titles in Chinese render
 * wherever such a font is installed. */
#ifndef INDICATORD_PAGE_H
#define INDICATORD_PAGE_H

#include "eval.h"
#include "rule.h"
#include "table.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_REFRESH_S 60

struct page_target {
  struct table_row row; /* as the table prints it */
  int64_t start_ms, end_ms;
  bool charted; /* gets a chart card */
  /* The trajectory (ascending, within the period) and the expected line;
   * when not read, chart_note says why. */
  struct eval_traj_point *pts;
  size_t npts;
  struct eval_point *expected;
  size_t nexpected;
  const char *chart_note;
};

struct page_series {
  const char *id;
  const char *error; /* the series' problem in the last body; NULL: none */
};

struct page_feed {
  const char *id;
  const char *url; /* redacted */
  bool failing;
  unsigned failures; /* in a row, and so the backoff */
  uint64_t fetches, failures_total;
  int64_t last_fetch_ms, last_success_ms; /* wall clock; 0: never */
  int64_t next_ms;                        /* 0: not scheduled */
  /* cluster: another instance holds its lease (the figures are this
   * instance's, from when it last polled it) */
  bool elsewhere;
  const char *error; /* the last failure (redacted); NULL: none */
  struct page_series *series;
  size_t nseries;
};

struct page {
  int64_t now_ms;
  const char *version;
  bool redis_up;
  const char *redis_error; /* why it is down; NULL: connecting */
  struct page_target *targets;
  size_t ntargets, ncharted, max_charts;
  struct page_feed *feeds;
  size_t nfeeds;
};

/* Marks the targets that get a chart: every one up to max, else the max
 * worst (missed, off track, at risk, no data, pending, on track,
 * achieved; the lower score first), in their table order. Sets
 * p->ncharted and p->max_charts. */
void page_pick_charts(struct page *p, size_t max);
/* Appends the whole document. */
void page_render(struct strbuf *out, const struct page *p);

#endif
