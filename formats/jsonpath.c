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
enum expr_kind { E_OR, E_AND, E_NOT, E_CMP, E_EXISTS };

/* One side of a comparison: a path below @, or a literal. */
struct operand {
  struct jsonpath *path;
  json_t *lit;
};

/* A filter expression: || of && of (! | ( ) | comparison | existence). */
struct expr {
  enum expr_kind kind;
  struct expr *a, *b; /* E_OR, E_AND: both; E_NOT: a */
  enum filter_op op;  /* E_CMP */
  struct operand l, r;
};

struct step {
  enum step_kind kind;
  char *key;         /* STEP_KEY */
  long long index;   /* STEP_INDEX */
  struct expr *test; /* STEP_FILTER */
};

struct jsonpath {
  bool relative;
  struct step *steps;
  size_t n;
};

/* Nesting of ( ) and ! in a filter, bounded so that no input can exhaust
 * the stack. */
#define JSONPATH_MAX_NESTING 32

struct parser {
  const char *start, *p;
  int depth;
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

static void expr_free(struct expr *e) {
  if (!e)
    return;
  expr_free(e->a);
  expr_free(e->b);
  jsonpath_free(e->l.path);
  jsonpath_free(e->r.path);
  json_decref(e->l.lit);
  json_decref(e->r.lit);
  free(e);
}

static void path_clear(struct jsonpath *p) {
  for (size_t i = 0; i < p->n; i++) {
    free(p->steps[i].key);
    expr_free(p->steps[i].test);
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

static bool key_char(char c, bool in_filter) {
  if (in_filter && (c == '&' || c == '|'))
    return false;
  return c && c != '.' && c != '[' && c != ']' && c != ' ' && c != '(' &&
         c != ')' && c != '=' && c != '!' && c != '<' && c != '>' &&
         c != '\'' && c != '"';
}

static bool word(struct parser *ps, const char *w) {
  size_t n = strlen(w);
  if (strncmp(ps->p, w, n) != 0 || isalnum((unsigned char)ps->p[n]) ||
      ps->p[n] == '_')
    return false;
  ps->p += n;
  return true;
}

static int parse_operand(struct parser *ps, struct operand *o) {
  skip_ws(ps);
  if (*ps->p == '@') {
    o->path = xcalloc(1, sizeof(*o->path));
    o->path->relative = true;
    ps->p++;
    return parse_path(ps, o->path, true);
  }
  if (*ps->p == '\'' || *ps->p == '"') {
    char *str = NULL;
    int rc = parse_quoted(ps, &str);
    if (rc < 0)
      return rc;
    o->lit = json_string(str);
    free(str);
    /* Not UTF-8: a string no member can equal. */
    if (!o->lit)
      return fail(ps, "string literal is not UTF-8");
    return 0;
  }
  if (word(ps, "true")) {
    o->lit = json_true();
    return 0;
  }
  if (word(ps, "false")) {
    o->lit = json_false();
    return 0;
  }
  if (word(ps, "null")) {
    o->lit = json_null();
    return 0;
  }
  if (*ps->p == '-' || *ps->p == '+' || *ps->p == '.' ||
      isdigit((unsigned char)*ps->p)) {
    char *end;
    double v;
    errno = 0;
    v = strtod(ps->p, &end);
    if (end != ps->p && errno != ERANGE && isfinite(v)) {
      ps->p = end;
      o->lit = json_real(v);
      return 0;
    }
  }
  return -ENOENT;
}

static int parse_or(struct parser *ps, struct expr **out);

static int parse_unary(struct parser *ps, struct expr **out) {
  static const struct {
    const char *t;
    enum filter_op op;
  } ops[] = {{"==", F_EQ}, {"!=", F_NE}, {"<=", F_LE},
             {">=", F_GE}, {"<", F_LT},  {">", F_GT}};
  struct expr *e;
  int rc;
  skip_ws(ps);
  if (++ps->depth > JSONPATH_MAX_NESTING)
    return fail(ps, "filter nested too deeply");
  if (*ps->p == '(') {
    ps->p++;
    rc = parse_or(ps, out);
    ps->depth--;
    if (rc < 0)
      return rc;
    skip_ws(ps);
    if (*ps->p != ')')
      return fail(ps, "expected ) to close the parenthesis");
    ps->p++;
    return 0;
  }
  e = xcalloc(1, sizeof(*e));
  *out = e;
  if (*ps->p == '!' && ps->p[1] != '=') {
    ps->p++;
    e->kind = E_NOT;
    rc = parse_unary(ps, &e->a);
    ps->depth--;
    return rc;
  }
  ps->depth--;
  rc = parse_operand(ps, &e->l);
  if (rc == -ENOENT)
    return fail(ps, "expected @.member or a literal (a filter starts with @, "
                    "as in [?(@.name=='x')])");
  if (rc < 0)
    return rc;
  skip_ws(ps);
  for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
    size_t l = strlen(ops[i].t);
    if (strncmp(ps->p, ops[i].t, l) == 0) {
      e->kind = E_CMP;
      e->op = ops[i].op;
      ps->p += l;
      rc = parse_operand(ps, &e->r);
      if (rc == -ENOENT)
        return fail(ps, "expected @.member or a string, number, true, false "
                        "or null literal");
      return rc;
    }
  }
  if (!e->l.path)
    return fail(ps, "expected a comparison: == != < <= > >= after the "
                    "literal");
  e->kind = E_EXISTS;
  return 0;
}

static int parse_and(struct parser *ps, struct expr **out) {
  int rc = parse_unary(ps, out);
  while (rc == 0) {
    struct expr *e;
    skip_ws(ps);
    if (strncmp(ps->p, "&&", 2) != 0)
      break;
    ps->p += 2;
    e = xcalloc(1, sizeof(*e));
    e->kind = E_AND;
    e->a = *out;
    *out = e;
    rc = parse_unary(ps, &e->b);
  }
  return rc;
}

static int parse_or(struct parser *ps, struct expr **out) {
  int rc = parse_and(ps, out);
  while (rc == 0) {
    struct expr *e;
    skip_ws(ps);
    if (strncmp(ps->p, "||", 2) != 0)
      break;
    ps->p += 2;
    e = xcalloc(1, sizeof(*e));
    e->kind = E_OR;
    e->a = *out;
    *out = e;
    rc = parse_and(ps, &e->b);
  }
  return rc;
}

static int parse_filter(struct parser *ps, struct step *s) {
  int rc;
  /* at "?(" */
  ps->p += 2;
  rc = parse_or(ps, &s->test);
  if (rc < 0)
    return rc;
  skip_ws(ps);
  if (ps->p[0] != ')' || ps->p[1] != ']')
    return fail(ps, "expected )] to close the filter, or a comparison (== "
                    "!= < <= > >=), && or ||");
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
      while (key_char(*ps->p, in_filter))
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
  struct parser ps = {text, text, 0, err, errlen, at};
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
  json_t **out, **parents;
  size_t max, n;
};

static void emit(struct sel *s, json_t *v, json_t *parent) {
  if (s->n < s->max) {
    s->out[s->n] = v;
    if (s->parents)
      s->parents[s->n] = parent;
  }
  s->n++;
}

/* The value an operand stands for in elem: the literal, or what its path
 * selects when that is exactly one value; NULL for nothing. */
static json_t *operand_value(const struct operand *o, json_t *elem) {
  json_t *v = NULL;
  if (o->lit)
    return o->lit;
  return jsonpath_eval(o->path, elem, &v, 1) == 1 ? v : NULL;
}

/* RFC 9535 comparisons: equal when both are nothing or of one type with one
 * value; < only between two numbers or two strings. */
static bool values_equal(json_t *a, json_t *b) {
  if (!a || !b)
    return a == b;
  if (json_is_number(a) && json_is_number(b))
    return json_number_value(a) == json_number_value(b);
  return json_equal(a, b);
}

static bool values_less(json_t *a, json_t *b) {
  if (!a || !b)
    return false;
  if (json_is_number(a) && json_is_number(b))
    return json_number_value(a) < json_number_value(b);
  if (json_is_string(a) && json_is_string(b))
    return strcmp(json_string_value(a), json_string_value(b)) < 0;
  return false;
}

static bool test(const struct expr *e, json_t *elem) {
  json_t *l, *r, *v = NULL;
  switch (e->kind) {
  case E_OR:
    return test(e->a, elem) || test(e->b, elem);
  case E_AND:
    return test(e->a, elem) && test(e->b, elem);
  case E_NOT:
    return !test(e->a, elem);
  case E_EXISTS:
    return jsonpath_eval(e->l.path, elem, &v, 1) > 0;
  case E_CMP:
    l = operand_value(&e->l, elem);
    r = operand_value(&e->r, elem);
    switch (e->op) {
    case F_EQ:
      return values_equal(l, r);
    case F_NE:
      return !values_equal(l, r);
    case F_LT:
      return values_less(l, r);
    case F_LE:
      return values_less(l, r) || values_equal(l, r);
    case F_GT:
      return values_less(r, l);
    case F_GE:
      return values_less(r, l) || values_equal(l, r);
    }
  }
  return false;
}

static void walk(const struct jsonpath *p, size_t i, json_t *v, json_t *parent,
                 struct sel *s) {
  const struct step *st;
  if (i == p->n) {
    emit(s, v, parent);
    return;
  }
  st = &p->steps[i];
  switch (st->kind) {
  case STEP_KEY: {
    json_t *c = json_is_object(v) ? json_object_get(v, st->key) : NULL;
    if (c)
      walk(p, i + 1, c, v, s);
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
      walk(p, i + 1, json_array_get(v, (size_t)idx), v, s);
    break;
  }
  case STEP_WILD:
    if (json_is_array(v)) {
      for (size_t k = 0; k < json_array_size(v); k++)
        walk(p, i + 1, json_array_get(v, k), v, s);
    } else if (json_is_object(v)) {
      const char *key;
      json_t *c;
      json_object_foreach(v, key, c) walk(p, i + 1, c, v, s);
    }
    break;
  case STEP_FILTER:
    if (json_is_array(v)) {
      for (size_t k = 0; k < json_array_size(v); k++) {
        json_t *c = json_array_get(v, k);
        if (test(st->test, c))
          walk(p, i + 1, c, v, s);
      }
    } else if (json_is_object(v)) {
      const char *key;
      json_t *c;
      json_object_foreach(v, key, c) {
        if (test(st->test, c))
          walk(p, i + 1, c, v, s);
      }
    }
    break;
  }
}

size_t jsonpath_eval(const struct jsonpath *p, json_t *root, json_t **out,
                     size_t max) {
  return jsonpath_eval_parents(p, root, out, NULL, max);
}

size_t jsonpath_eval_parents(const struct jsonpath *p, json_t *root,
                             json_t **out, json_t **parents, size_t max) {
  struct sel s = {out, parents, max, 0};
  if (root)
    walk(p, 0, root, NULL, &s);
  return s.n;
}
