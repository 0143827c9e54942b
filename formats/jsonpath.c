#include "jsonpath.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSONPATH_MAX_STEPS 64

enum step_kind { STEP_KEY, STEP_INDEX, STEP_WILD, STEP_FILTER };
enum filter_op { F_EQ, F_NE, F_LT, F_LE, F_GT, F_GE };

struct step {
  enum step_kind kind;
  char *key;       /* STEP_KEY */
  long long index; /* STEP_INDEX */
  /* STEP_FILTER */
  struct jsonpath *lhs; /* relative path below @ */
  enum filter_op op;
  bool lit_is_str;
  char *lit_str;
  double lit_num;
};

struct jsonpath {
  bool relative;
  struct step *steps;
  size_t n;
};

struct parser {
  const char *start, *p;
  char *err;
  size_t errlen;
  size_t *at;
};

static int fail(struct parser *ps, const char *msg) {
  snprintf(ps->err, ps->errlen, "%s", msg);
  *ps->at = (size_t)(ps->p - ps->start);
  return -EINVAL;
}

static void skip_ws(struct parser *ps) {
  while (*ps->p == ' ')
    ps->p++;
}

/* A quoted string with \\ \' \" escapes. */
static int parse_quoted(struct parser *ps, char **out) {
  char q = *ps->p++;
  struct strbuf sb = {0};
  while (*ps->p && *ps->p != q) {
    if (*ps->p == '\\' && ps->p[1]) {
      ps->p++;
    }
    strbuf_add(&sb, ps->p, 1);
    ps->p++;
  }
  if (*ps->p != q) {
    strbuf_free(&sb);
    return fail(ps, "unterminated string");
  }
  ps->p++;
  *out = strbuf_take(&sb);
  return 0;
}

static int parse_path(struct parser *ps, struct jsonpath *jp, bool in_filter);

static void path_clear(struct jsonpath *p) {
  for (size_t i = 0; i < p->n; i++) {
    free(p->steps[i].key);
    free(p->steps[i].lit_str);
    jsonpath_free(p->steps[i].lhs);
  }
  free(p->steps);
  p->steps = NULL;
  p->n = 0;
}

static struct step *add_step(struct jsonpath *jp, enum step_kind kind) {
  struct step *s;
  jp->steps = xrealloc(jp->steps, (jp->n + 1) * sizeof(*jp->steps));
  s = &jp->steps[jp->n++];
  memset(s, 0, sizeof(*s));
  s->kind = kind;
  return s;
}

static bool key_char(char c) {
  return c && c != '.' && c != '[' && c != ']' && c != ' ' && c != '(' &&
         c != ')' && c != '=' && c != '!' && c != '<' && c != '>' &&
         c != '\'' && c != '"';
}

static int parse_filter(struct parser *ps, struct step *s) {
  static const struct {
    const char *t;
    enum filter_op op;
  } ops[] = {{"==", F_EQ}, {"!=", F_NE}, {"<=", F_LE},
             {">=", F_GE}, {"<", F_LT},  {">", F_GT}};
  bool found = false;
  int rc;
  /* at "?(" */
  ps->p += 2;
  skip_ws(ps);
  if (*ps->p != '@')
    return fail(ps, "a filter starts with @ (as in [?(@.name=='x')])");
  s->lhs = xcalloc(1, sizeof(*s->lhs));
  s->lhs->relative = true;
  ps->p++;
  rc = parse_path(ps, s->lhs, true);
  if (rc < 0)
    return rc;
  skip_ws(ps);
  for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
    size_t l = strlen(ops[i].t);
    if (strncmp(ps->p, ops[i].t, l) == 0) {
      s->op = ops[i].op;
      ps->p += l;
      found = true;
      break;
    }
  }
  if (!found)
    return fail(ps, "expected a comparison: == != < <= > >=");
  skip_ws(ps);
  if (*ps->p == '\'' || *ps->p == '"') {
    s->lit_is_str = true;
    rc = parse_quoted(ps, &s->lit_str);
    if (rc < 0)
      return rc;
  } else {
    char *end;
    errno = 0;
    s->lit_num = strtod(ps->p, &end);
    if (end == ps->p || errno == ERANGE || !isfinite(s->lit_num))
      return fail(ps, "expected a string or number literal");
    ps->p = end;
  }
  skip_ws(ps);
  if (ps->p[0] != ')' || ps->p[1] != ']')
    return fail(ps, "expected )] to close the filter");
  ps->p += 2;
  return 0;
}

static int parse_bracket(struct parser *ps, struct jsonpath *jp) {
  struct step *s;
  ps->p++; /* '[' */
  skip_ws(ps);
  if (*ps->p == '\'' || *ps->p == '"') {
    s = add_step(jp, STEP_KEY);
    if (parse_quoted(ps, &s->key) < 0)
      return -EINVAL;
  } else if (*ps->p == '*') {
    add_step(jp, STEP_WILD);
    ps->p++;
  } else if (*ps->p == '?' && ps->p[1] == '(') {
    s = add_step(jp, STEP_FILTER);
    return parse_filter(ps, s);
  } else if (*ps->p == '-' || isdigit((unsigned char)*ps->p)) {
    char *end;
    errno = 0;
    s = add_step(jp, STEP_INDEX);
    s->index = strtoll(ps->p, &end, 10);
    if (end == ps->p || errno == ERANGE || s->index > 1000000000LL ||
        s->index < -1000000000LL)
      return fail(ps, "expected an array index");
    ps->p = end;
  } else {
    return fail(ps, "expected 'key', n, * or ?(...) inside [ ]");
  }
  skip_ws(ps);
  if (*ps->p != ']')
    return fail(ps, "expected ]");
  ps->p++;
  return 0;
}

static int parse_path(struct parser *ps, struct jsonpath *jp, bool in_filter) {
  while (*ps->p) {
    if (jp->n >= JSONPATH_MAX_STEPS)
      return fail(ps, "path has too many steps");
    if (*ps->p == '.') {
      const char *k;
      ps->p++;
      if (*ps->p == '*') {
        add_step(jp, STEP_WILD);
        ps->p++;
        continue;
      }
      if (*ps->p == '.')
        return fail(ps, "recursive descent (..) is not supported");
      k = ps->p;
      while (key_char(*ps->p))
        ps->p++;
      if (ps->p == k)
        return fail(ps, "expected a member name after '.'");
      add_step(jp, STEP_KEY)->key = xstrndup(k, (size_t)(ps->p - k));
    } else if (*ps->p == '[') {
      int rc = parse_bracket(ps, jp);
      if (rc < 0)
        return rc;
    } else if (in_filter) {
      return 0;
    } else {
      return fail(ps, "expected '.' or '['");
    }
  }
  if (in_filter)
    return fail(ps, "unterminated filter");
  return 0;
}

int jsonpath_compile(const char *text, struct jsonpath **out, char *err,
                     size_t errlen, size_t *at) {
  struct parser ps = {text, text, err, errlen, at};
  struct jsonpath *jp = xcalloc(1, sizeof(*jp));
  int rc;
  if (*text == '$') {
    jp->relative = false;
  } else if (*text == '@') {
    jp->relative = true;
  } else {
    free(jp);
    return fail(&ps, "a JSONPath starts with $ (or @ inside records)");
  }
  ps.p++;
  rc = parse_path(&ps, jp, false);
  if (rc < 0) {
    jsonpath_free(jp);
    return rc;
  }
  *out = jp;
  return 0;
}

void jsonpath_free(struct jsonpath *p) {
  if (!p)
    return;
  path_clear(p);
  free(p);
}

bool jsonpath_is_relative(const struct jsonpath *p) {
  return p->relative;
}

struct sel {
  json_t **out;
  size_t max, n;
};

static void emit(struct sel *s, json_t *v) {
  if (s->n < s->max)
    s->out[s->n] = v;
  s->n++;
}

static bool filter_match(const struct step *st, json_t *elem) {
  json_t *v = NULL;
  /* The member must select exactly one value to be compared. */
  size_t n = jsonpath_eval(st->lhs, elem, &v, 1);
  if (n != 1 || !v)
    return false;
  if (st->lit_is_str) {
    int c;
    if (!json_is_string(v))
      return false;
    c = strcmp(json_string_value(v), st->lit_str);
    switch (st->op) {
    case F_EQ:
      return c == 0;
    case F_NE:
      return c != 0;
    case F_LT:
      return c < 0;
    case F_LE:
      return c <= 0;
    case F_GT:
      return c > 0;
    case F_GE:
      return c >= 0;
    }
    return false;
  }
  if (!json_is_number(v))
    return st->op == F_NE;
  {
    double x = json_number_value(v);
    switch (st->op) {
    case F_EQ:
      return x == st->lit_num;
    case F_NE:
      return x != st->lit_num;
    case F_LT:
      return x < st->lit_num;
    case F_LE:
      return x <= st->lit_num;
    case F_GT:
      return x > st->lit_num;
    case F_GE:
      return x >= st->lit_num;
    }
  }
  return false;
}

static void walk(const struct jsonpath *p, size_t i, json_t *v, struct sel *s) {
  const struct step *st;
  if (i == p->n) {
    emit(s, v);
    return;
  }
  st = &p->steps[i];
  switch (st->kind) {
  case STEP_KEY: {
    json_t *c = json_is_object(v) ? json_object_get(v, st->key) : NULL;
    if (c)
      walk(p, i + 1, c, s);
    break;
  }
  case STEP_INDEX: {
    long long n, idx = st->index;
    if (!json_is_array(v))
      break;
    n = (long long)json_array_size(v);
    if (idx < 0)
      idx += n;
    if (idx >= 0 && idx < n)
      walk(p, i + 1, json_array_get(v, (size_t)idx), s);
    break;
  }
  case STEP_WILD:
    if (json_is_array(v)) {
      for (size_t k = 0; k < json_array_size(v); k++)
        walk(p, i + 1, json_array_get(v, k), s);
    } else if (json_is_object(v)) {
      const char *key;
      json_t *c;
      json_object_foreach(v, key, c) walk(p, i + 1, c, s);
    }
    break;
  case STEP_FILTER:
    if (json_is_array(v)) {
      for (size_t k = 0; k < json_array_size(v); k++) {
        json_t *c = json_array_get(v, k);
        if (filter_match(st, c))
          walk(p, i + 1, c, s);
      }
    } else if (json_is_object(v)) {
      const char *key;
      json_t *c;
      json_object_foreach(v, key, c) {
        if (filter_match(st, c))
          walk(p, i + 1, c, s);
      }
    }
    break;
  }
}

size_t jsonpath_eval(const struct jsonpath *p, json_t *root, json_t **out,
                     size_t max) {
  struct sel s = {out, max, 0};
  if (root)
    walk(p, 0, root, &s);
  return s.n;
}
