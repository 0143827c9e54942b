/* The target table people read (`once`, `status`): one row per target with
 * title, class, actual, expected-to-date, projected, goal and a progress
 * bar, aligned by display width so CJK titles line up; colour only on a
 * terminal (NO_COLOR honoured). Rows with a group are printed under its
 * heading, groups in order of first appearance. --json prints the same data
 * as one object, with group and source where the target has them, and a
 * band's goal_low and goal_high. */
#ifndef INDICATORD_TABLE_H
#define INDICATORD_TABLE_H

#include "rule.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct table_row {
  const char *id, *title, *status, *unit, *message;
  const char *group, *source; /* NULL: not configured */
  const struct rule *rule;    /* the goal: its measure, op, value or band */
  double actual, expected, projected, score, pace;
  double remaining_budget, required_rate; /* NAN: not applicable */
  int valid_days;                         /* -1: not applicable */
};

/* A number as the table prints it: digits grouped, "-" when there is none. */
void table_number(double v, char *buf, size_t len);
/* The goal as the table prints it: ">= 450,000 人", "in [3, 4] %". */
void table_goal(const struct table_row *r, char *buf, size_t len);
/* The progress bar's fill in [0, 1]: toward the goal for a total, through
 * the period for other measures; *mark: where the pace says a total should
 * be by now (NAN: no mark). */
double table_progress(const struct table_row *r, double *mark);
/* Row indices in print order (caller frees): ungrouped rows first, then
 * each group's rows, groups in order of first appearance, rows in input
 * order within each. */
size_t *table_order(const struct table_row *rows, size_t n);
/* Whether two rows' groups (NULL: none) are the same. */
bool table_same_group(const char *a, const char *b);

void table_print(FILE *out, const struct table_row *rows, size_t n,
                 int64_t now_ms, bool color);
void table_print_json(FILE *out, const struct table_row *rows, size_t n,
                      int64_t now_ms);
/* Whether to colour: a terminal, and NO_COLOR unset. */
bool table_want_color(FILE *out);

#endif
