#include "rule.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const measures[] = {"total",  "mean", "latest",
                                       "growth", "min",  "max"};
static const char *const ops[] = {">=", "<=", ">", "<", "==", "in"};
#define NMEASURES ((int)(sizeof(measures) / sizeof(measures[0])))
#define NOPS ((int)(sizeof(ops) / sizeof(ops[0])))

const char *rule_measure_name(enum rule_measure m) {
  return measures[m];
}

const char *rule_op_name(enum rule_op op) {
  return ops[op];
}

bool rule_higher_is_better(const struct rule *r) {
  return r->op == OP_GE || r->op == OP_GT;
}

bool rule_met(const struct rule *r, double v) {
  switch (r->op) {
  case OP_GE:
    return v >= r->value;
  case OP_LE:
    return v <= r->value;
  case OP_GT:
    return v > r->value;
  case OP_LT:
    return v < r->value;
  case OP_EQ:
    return v == r->value;
  case OP_IN:
    return v >= r->low && v <= r->high;
  }
  return false;
}

void rule_goal_text(const struct rule *r, char *buf, size_t len) {
  char a[32], b[32];
  if (r->op == OP_IN) {
    format_number(r->low, a, sizeof(a));
    format_number(r->high, b, sizeof(b));
    snprintf(buf, len, "in [%s, %s]", a, b);
    return;
  }
  format_number(r->value, a, sizeof(a));
  snprintf(buf, len, "%s %s", ops[r->op], a);
}

/* A number with an optional trailing '%' at *pp; advances past it. */
static int number(const char *text, const char **pp, double *v, bool *percent,
                  const char *after, char *err, size_t errlen, size_t *at) {
  const char *p = *pp;
  char *end;
  while (isspace((unsigned char)*p))
    p++;
  if (!*p ||
      !(isdigit((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.')) {
    snprintf(err, errlen, "rule needs a number after '%s'", after);
    *at = (size_t)(p - text);
    return -EINVAL;
  }
  errno = 0;
  *v = strtod(p, &end);
  if (end == p || errno == ERANGE || !isfinite(*v)) {
    snprintf(err, errlen, "rule value is not a finite number");
    *at = (size_t)(p - text);
    return -EINVAL;
  }
  p = end;
  if (*p == '%') {
    *percent = true;
    p++;
  }
  while (isspace((unsigned char)*p))
    p++;
  *pp = p;
  return 0;
}

/* "[low, high]" after "in". */
static int band(const char *text, const char **pp, struct rule *out, char *err,
                size_t errlen, size_t *at) {
  const char *p = *pp, *open;
  while (isspace((unsigned char)*p))
    p++;
  open = p;
  if (*p != '[') {
    snprintf(err, errlen,
             "a band is written [low, high] (as in \"growth in [3%%, 4%%]\")");
    *at = (size_t)(p - text);
    return -EINVAL;
  }
  p++;
  if (number(text, &p, &out->low, &out->percent, "[", err, errlen, at) < 0)
    return -EINVAL;
  if (*p != ',') {
    snprintf(err, errlen, "a band needs a ',' between low and high");
    *at = (size_t)(p - text);
    return -EINVAL;
  }
  p++;
  if (number(text, &p, &out->high, &out->percent, ",", err, errlen, at) < 0)
    return -EINVAL;
  if (*p != ']') {
    snprintf(err, errlen, "a band ends with ']'");
    *at = (size_t)(p - text);
    return -EINVAL;
  }
  p++;
  /* Scores outside the band are ratios to its ends (projected / low,
   * high / projected), which need positive ends. */
  if (!(out->low > 0 && out->low < out->high)) {
    snprintf(err, errlen, "a band needs 0 < low < high");
    *at = (size_t)(open - text);
    return -EINVAL;
  }
  out->value = (out->low + out->high) / 2;
  *pp = p;
  return 0;
}

int rule_parse(const char *text, struct rule *out, char *err, size_t errlen,
               size_t *at) {
  const char *p = text, *word;
  size_t wlen;
  int measure = -1, op = -1;

  memset(out, 0, sizeof(*out));
  while (isspace((unsigned char)*p))
    p++;
  word = p;
  while (isalpha((unsigned char)*p))
    p++;
  wlen = (size_t)(p - word);
  for (int i = 0; i < NMEASURES; i++)
    if (wlen == strlen(measures[i]) && strncmp(word, measures[i], wlen) == 0)
      measure = i;
  if (measure < 0) {
    snprintf(err, errlen,
             "rule must start with a measure: total, mean, latest, growth, "
             "min or max (as in \"total >= 450000\")");
    *at = (size_t)(word - text);
    return -EINVAL;
  }
  while (isspace((unsigned char)*p))
    p++;
  for (int i = 0; i < NOPS; i++) {
    size_t l = strlen(ops[i]);
    if (strncmp(p, ops[i], l) == 0 &&
        (i != OP_IN || !isalnum((unsigned char)p[l]))) {
      op = i;
      break;
    }
  }
  if (op < 0) {
    snprintf(err, errlen,
             "rule needs a comparison: >=, <=, >, <, == or in [low, high]");
    *at = (size_t)(p - text);
    return -EINVAL;
  }
  p += strlen(ops[op]);
  if (op == OP_IN) {
    if (band(text, &p, out, err, errlen, at) < 0)
      return -EINVAL;
    while (isspace((unsigned char)*p))
      p++;
  } else if (number(text, &p, &out->value, &out->percent, ops[op], err, errlen,
                    at) < 0) {
    return -EINVAL;
  }
  if (*p) {
    snprintf(err, errlen, "unexpected text after the rule value");
    *at = (size_t)(p - text);
    return -EINVAL;
  }
  out->measure = (enum rule_measure)measure;
  out->op = (enum rule_op)op;
  if (op != OP_IN)
    out->low = out->high = out->value;
  return 0;
}
