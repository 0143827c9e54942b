/* A target's rule: "<measure> <op> <value>[%]", e.g. "total >= 450000",
 * "mean <= 33", "growth >= 15%", "min >= 90%"; or a band,
 * "<measure> in [<low>, <high>]", e.g. "growth in [3%, 4%]" (左右). */
#ifndef INDICATORD_RULE_H
#define INDICATORD_RULE_H

#include <stdbool.h>
#include <stddef.h>

enum rule_measure {
  MEASURE_TOTAL,
  MEASURE_MEAN,
  MEASURE_LATEST,
  MEASURE_GROWTH,
  MEASURE_MIN, /* a level to hold all period: its lowest value */
  MEASURE_MAX, /* a ceiling to hold all period: its highest value */
};
enum rule_op { OP_GE, OP_LE, OP_GT, OP_LT, OP_EQ, OP_IN };

struct rule {
  enum rule_measure measure;
  enum rule_op op;
  double value;     /* the goal; for a band (OP_IN) its midpoint */
  double low, high; /* OP_IN: the band, both ends inclusive */
  bool percent;     /* the value was written with a trailing '%' */
};

/* Returns 0, or -EINVAL with a reason in err and the 0-based offset of the
 * offending character in *at. */
int rule_parse(const char *text, struct rule *out, char *err, size_t errlen,
               size_t *at);
const char *rule_measure_name(enum rule_measure m);
const char *rule_op_name(enum rule_op op);
/* Whether a larger value is better for this rule (>=, >). */
bool rule_higher_is_better(const struct rule *r);
/* Whether v meets the rule's goal (inside the band for OP_IN). */
bool rule_met(const struct rule *r, double v);
/* The goal as people read it: ">= 450,000", "in [3, 4]" (no unit). */
void rule_goal_text(const struct rule *r, char *buf, size_t len);

#endif
