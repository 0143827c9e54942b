#include "table.h"

#include "eval.h"

#include "strmap.h"
#include "timefmt.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BAR_WIDTH 12

bool table_want_color(FILE *out) {
  const char *nc = getenv("NO_COLOR");
  return isatty(fileno(out)) && !(nc && *nc);
}

static const char *status_color(const char *s) {
  if (strcmp(s, "on_track") == 0)
    return "\033[32m";
  if (strcmp(s, "achieved") == 0)
    return "\033[1;32m";
  if (strcmp(s, "at_risk") == 0)
    return "\033[33m";
  if (strcmp(s, "off_track") == 0)
    return "\033[31m";
  if (strcmp(s, "missed") == 0)
    return "\033[1;31m";
  if (strcmp(s, "no_data") == 0)
    return "\033[35m";
  return "\033[2m";
}

void table_number(double v, char *buf, size_t len) {
  if (!isfinite(v))
    snprintf(buf, len, "-");
  else
    format_number(v, buf, len);
}

void table_goal(const struct table_row *r, char *buf, size_t len) {
  char goal[64];
  rule_goal_text(r->rule, goal, sizeof(goal));
  snprintf(buf, len, "%s%s%s", goal, r->unit && *r->unit ? " " : "",
           r->unit ? r->unit : "");
}

double table_progress(const struct table_row *r, double *mark) {
  double fill, goal = r->rule->value;
  bool total = r->rule->measure == MEASURE_TOTAL;
  if (total && isfinite(r->actual) && goal > 0)
    fill = r->actual / goal;
  else
    fill = r->pace;
  if (!isfinite(fill))
    fill = 0;
  *mark = total && isfinite(r->pace) && r->pace < 1 ? r->pace : NAN;
  return fill < 0 ? 0 : fill > 1 ? 1 : fill;
}

/* The progress as text: '#' filled, '|' where the pace says it should be. */
static void bar(const struct table_row *r, char *buf, size_t len) {
  double mark, fill = table_progress(r, &mark);
  struct strbuf sb = {0};
  for (int i = 0; i < BAR_WIDTH; i++) {
    double pos = (i + 0.5) / BAR_WIDTH;
    bool at_mark = isfinite(mark) && (int)(mark * BAR_WIDTH) == i;
    strbuf_adds(&sb, at_mark ? "|" : pos <= fill ? "#" : ".");
  }
  snprintf(buf, len, "[%s] %3.0f%%", sb.buf, fill * 100);
  strbuf_free(&sb);
}

static void pad(FILE *out, const char *s, int width, bool right) {
  int w = utf8_width(s);
  if (right)
    fprintf(out, "%*s%s", width > w ? width - w : 0, "", s);
  else
    fprintf(out, "%s%*s", s, width > w ? width - w : 0, "");
}

/* A counting sort, so 10,000 rows cost no more than printing them. */
size_t *table_order(const struct table_row *rows, size_t n) {
  struct strmap ranks;
  size_t *rank = xcalloc(n ? n : 1, sizeof(*rank));
  size_t *order = xcalloc(n ? n : 1, sizeof(*order));
  size_t *start, ngroups = 0;
  strmap_init(&ranks, n);
  for (size_t i = 0; i < n; i++) {
    const void *known;
    if (!rows[i].group)
      continue;
    known = strmap_put(&ranks, rows[i].group,
                       (const void *)(uintptr_t)(ngroups + 1));
    rank[i] = known ? (size_t)(uintptr_t)known : ++ngroups;
  }
  start = xcalloc(ngroups + 2, sizeof(*start));
  for (size_t i = 0; i < n; i++)
    start[rank[i] + 1]++;
  for (size_t g = 1; g <= ngroups + 1; g++)
    start[g] += start[g - 1];
  for (size_t i = 0; i < n; i++)
    order[start[rank[i]]++] = i;
  free(start);
  free(rank);
  strmap_free(&ranks);
  return order;
}

bool table_same_group(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

void table_print(FILE *out, const struct table_row *rows, size_t n,
                 int64_t now_ms, bool color) {
  static const char *const head[] = {"target",   "status",    "actual",
                                     "expected", "projected", "goal",
                                     "progress"};
  enum { COLS = 7 };
  char ***cells = xcalloc(n ? n : 1, sizeof(*cells));
  size_t *order = table_order(rows, n);
  int width[COLS];
  char when[40];
  for (int c = 0; c < COLS; c++)
    width[c] = utf8_width(head[c]);
  for (size_t i = 0; i < n; i++) {
    const struct table_row *r = &rows[i];
    char buf[256];
    cells[i] = xcalloc(COLS, sizeof(char *));
    cells[i][0] = xstrdup(r->title ? r->title : r->id);
    cells[i][1] = xstrdup(r->status);
    table_number(r->actual, buf, sizeof(buf));
    cells[i][2] = xstrdup(buf);
    table_number(r->expected, buf, sizeof(buf));
    cells[i][3] = xstrdup(buf);
    table_number(r->projected, buf, sizeof(buf));
    cells[i][4] = xstrdup(buf);
    table_goal(r, buf, sizeof(buf));
    cells[i][5] = xstrdup(buf);
    bar(r, buf, sizeof(buf));
    cells[i][6] = xstrdup(buf);
    for (int c = 0; c < COLS; c++)
      if (utf8_width(cells[i][c]) > width[c])
        width[c] = utf8_width(cells[i][c]);
  }
  timefmt_iso(now_ms, when, sizeof(when));
  fprintf(out, "indicatord: %zu target%s as of %s\n\n", n, n == 1 ? "" : "s",
          when);
  for (int c = 0; c < COLS; c++) {
    if (c)
      fputs("  ", out);
    pad(out, head[c], width[c], c >= 2 && c <= 4);
  }
  fputc('\n', out);
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    const char *group = rows[i].group;
    if (group &&
        (k == 0 || !table_same_group(group, rows[order[k - 1]].group))) {
      size_t members = 1;
      while (k + members < n &&
             table_same_group(group, rows[order[k + members]].group))
        members++;
      fprintf(out, "%s== %s (%zu target%s) ==%s\n", color ? "\033[1m" : "",
              group, members, members == 1 ? "" : "s", color ? "\033[0m" : "");
    }
    for (int c = 0; c < COLS; c++) {
      if (c)
        fputs("  ", out);
      if (c == 1 && color)
        fputs(status_color(cells[i][1]), out);
      pad(out, cells[i][c], width[c], c >= 2 && c <= 4);
      if (c == 1 && color)
        fputs("\033[0m", out);
    }
    fputc('\n', out);
    if (rows[i].message && *rows[i].message)
      fprintf(out, "    %s%s%s\n", color ? "\033[2m" : "", rows[i].message,
              color ? "\033[0m" : "");
  }
  for (size_t i = 0; i < n; i++) {
    for (int c = 0; c < COLS; c++)
      free(cells[i][c]);
    free(cells[i]);
  }
  free(cells);
  free(order);
}

static json_t *jnum(double v) {
  return isfinite(v) ? json_real(v) : json_null();
}

void table_print_json(FILE *out, const struct table_row *rows, size_t n,
                      int64_t now_ms) {
  json_t *top = json_object(), *arr = json_array();
  char when[40];
  timefmt_iso(now_ms, when, sizeof(when));
  json_object_set_new(top, "now", json_string(when));
  for (size_t i = 0; i < n; i++) {
    const struct table_row *r = &rows[i];
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "title", json_string(r->title ? r->title : r->id));
    if (r->group)
      json_object_set_new(o, "group", json_string(r->group));
    if (r->source)
      json_object_set_new(o, "source", json_string(r->source));
    json_object_set_new(o, "status", json_string(r->status));
    json_object_set_new(o, "actual", jnum(r->actual));
    json_object_set_new(o, "expected", jnum(r->expected));
    json_object_set_new(o, "projected", jnum(r->projected));
    json_object_set_new(o, "goal", jnum(r->rule->value));
    if (r->rule->op == OP_IN) {
      json_object_set_new(o, "goal_low", jnum(r->rule->low));
      json_object_set_new(o, "goal_high", jnum(r->rule->high));
    }
    json_object_set_new(o, "score", jnum(r->score));
    json_object_set_new(o, "remaining_budget", jnum(r->remaining_budget));
    json_object_set_new(o, "required_rate", jnum(r->required_rate));
    json_object_set_new(o, "required_rate_per",
                        isfinite(r->required_rate) ? json_string(EVAL_RATE_PER)
                                                   : json_null());
    json_object_set_new(o, "valid_days",
                        r->valid_days >= 0 ? json_integer(r->valid_days)
                                           : json_null());
    json_object_set_new(o, "message",
                        json_string(r->message ? r->message : ""));
    json_array_append_new(arr, o);
  }
  json_object_set_new(top, "targets", arr);
  json_dumpf(top, out, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
  fputc('\n', out);
  json_decref(top);
}
