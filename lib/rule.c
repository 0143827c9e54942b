#include "rule.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const measures[] = {"total", "mean", "latest", "growth"};
static const char *const ops[] = {">=", "<=", ">", "<", "=="};

const char *rule_measure_name(enum rule_measure m) {
  return measures[m];
}

const char *rule_op_name(enum rule_op op) {
  return ops[op];
}

bool rule_higher_is_better(const struct rule *r) {
  return r->op == OP_GE || r->op == OP_GT;
}

int rule_parse(const char *text, struct rule *out, char *err, size_t errlen,
               size_t *at) {
  const char *p = text, *word;
  size_t wlen;
  int measure = -1, op = -1;
  char *end;
  double v;

  while (isspace((unsigned char)*p))
    p++;
  word = p;
  while (isalpha((unsigned char)*p))
    p++;
  wlen = (size_t)(p - word);
  for (int i = 0; i < 4; i++)
    if (wlen == strlen(measures[i]) && strncmp(word, measures[i], wlen) == 0)
      measure = i;
  if (measure < 0) {
    snprintf(err, errlen,
             "rule must start with a measure: total, mean, latest or growth "
             "(as in \"total >= 450000\")");
    *at = (size_t)(word - text);
    return -EINVAL;
  }
  while (isspace((unsigned char)*p))
    p++;
  for (int i = 0; i < 5; i++) {
    size_t l = strlen(ops[i]);
    if (strncmp(p, ops[i], l) == 0) {
      op = i;
      break;
    }
  }
  if (op < 0) {
    snprintf(err, errlen, "rule needs a comparison: >=, <=, >, < or ==");
    *at = (size_t)(p - text);
    return -EINVAL;
  }
  p += strlen(ops[op]);
  while (isspace((unsigned char)*p))
    p++;
  if (!*p ||
      !(isdigit((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.')) {
    snprintf(err, errlen, "rule needs a number after '%s'", ops[op]);
    *at = (size_t)(p - text);
    return -EINVAL;
  }
  errno = 0;
  v = strtod(p, &end);
  if (end == p || errno == ERANGE || !isfinite(v)) {
    snprintf(err, errlen, "rule value is not a finite number");
    *at = (size_t)(p - text);
    return -EINVAL;
  }
  p = end;
  out->percent = false;
  if (*p == '%') {
    out->percent = true;
    p++;
  }
  while (isspace((unsigned char)*p))
    p++;
  if (*p) {
    snprintf(err, errlen, "unexpected text after the rule value");
    *at = (size_t)(p - text);
    return -EINVAL;
  }
  out->measure = (enum rule_measure)measure;
  out->op = (enum rule_op)op;
  out->value = v;
  return 0;
}
