#include "csv_options.h"

#include "util.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Preamble lines a portal puts above its header: a title, a unit. */
#define CSV_MAX_SKIP_ROWS 1000

/* iconv's name for an encoding: option; NULL for UTF-8; "" when unknown. */
static const char *iconv_name(const char *enc) {
  if (strcasecmp(enc, "utf-8") == 0 || strcasecmp(enc, "utf8") == 0)
    return NULL;
  if (strcasecmp(enc, "gbk") == 0)
    return "GBK";
  if (strcasecmp(enc, "gb18030") == 0)
    return "GB18030";
  return "";
}

static const struct ydoc_node *scalar_option(const struct ydoc_node *opts,
                                             const char *key) {
  const struct ydoc_node *n = feed_option(opts, key);
  return n && n->kind == YDOC_SCALAR ? n : NULL;
}

void csv_options_free(struct csv_options *st) {
  if (!st)
    return;
  for (size_t i = 0; i < st->n; i++) {
    free(st->where[i].col);
    free(st->where[i].value);
  }
  free(st->where);
  free(st->missing);
  free(st);
}

static int compile_missing(const struct feed *f, struct csv_options *st) {
  const struct ydoc_node *m = feed_option(f->options, "missing");
  if (!m) {
    st->missing = xmalloc(sizeof(*st->missing));
    st->missing[0] = "";
    st->nmissing = 1;
    return 0;
  }
  if (m->kind == YDOC_SCALAR) {
    st->missing = xcalloc(2, sizeof(*st->missing));
    st->missing[0] = "";
    st->missing[1] = m->value;
    st->nmissing = 2;
    return 0;
  }
  if (m->kind != YDOC_SEQ)
    return -EINVAL;
  /* An empty cell stays a gap whatever the list says. */
  st->missing = xcalloc(m->n + 2, sizeof(*st->missing));
  st->missing[st->nmissing++] = "";
  for (size_t i = 0; i < m->n; i++) {
    if (m->items[i]->kind != YDOC_SCALAR)
      return -EINVAL;
    st->missing[st->nmissing++] = m->items[i]->value;
  }
  return 0;
}

int csv_options_compile(const struct feed *f, struct csv_options **out,
                        char *err, size_t errlen) {
  struct csv_options *st = xcalloc(1, sizeof(*st));
  const struct ydoc_node *n;
  st->where = xcalloc(f->nseries + 1, sizeof(*st->where));
  st->n = f->nseries;
  if ((n = scalar_option(f->options, "encoding"))) {
    st->encoding = iconv_name(n->value);
    if (st->encoding && !*st->encoding) {
      snprintf(err, errlen, "encoding %s is not gbk, gb18030 or utf-8",
               n->value);
      goto fail;
    }
    if (st->encoding) {
      iconv_t cd = iconv_open("UTF-8", st->encoding);
      if (cd == (iconv_t)-1) {
        snprintf(err, errlen, "encoding %s: iconv cannot decode it here: %s",
                 n->value, strerror(errno));
        goto fail;
      }
      iconv_close(cd);
    }
  }
  if ((n = scalar_option(f->options, "skip_rows")))
    st->skip_rows = (size_t)strtoul(n->value, NULL, 10);
  if ((n = scalar_option(f->options, "thousands")) && n->value[0])
    st->thousands = n->value;
  if ((n = scalar_option(f->options, "layout")))
    st->wide = strcmp(n->value, "wide") == 0;
  if (compile_missing(f, st) < 0) {
    snprintf(err, errlen, "missing must be a list of cell texts");
    goto fail;
  }
  for (size_t i = 0; i < f->nseries; i++) {
    const struct ydoc_node *w = feed_option(f->series[i].options, "where");
    struct csv_where *cw = &st->where[i];
    if (!st->wide && !f->series[i].path) {
      snprintf(err, errlen, "series '%s' needs a column", f->series[i].id);
      goto fail;
    }
    if (!w)
      continue;
    if (w->kind != YDOC_MAP) {
      snprintf(err, errlen, "series '%s': where must be a mapping",
               f->series[i].id);
      goto fail;
    }
    cw->col = xcalloc(w->n + 1, sizeof(*cw->col));
    cw->value = xcalloc(w->n + 1, sizeof(*cw->value));
    for (size_t k = 0; k < w->n; k++) {
      if (w->items[k]->kind != YDOC_SCALAR)
        continue;
      cw->col[cw->n] = w->keys[k]->value;
      cw->value[cw->n++] = w->items[k]->value;
    }
  }
  *out = st;
  return 0;
fail:
  csv_options_free(st);
  return -EINVAL;
}

/* A scalar option: reports a non-scalar and returns NULL. */
static const struct ydoc_node *
check_scalar(struct feed_check *chk, const struct feed *f, const char *key) {
  const struct ydoc_node *n = feed_option(f->options, key);
  struct config_pos at;
  if (!n)
    return NULL;
  if (n->kind == YDOC_SCALAR && !ydoc_is_null(n))
    return n;
  at = feed_check_pos(chk, n);
  feed_check_error(chk, &at, -1, "%s must be a scalar, not %s", key,
                   ydoc_is_null(n) ? "nothing" : ydoc_kind_name(n->kind));
  return NULL;
}

static void check_options(const struct feed *f, struct feed_check *chk) {
  const struct ydoc_node *n;
  struct config_pos at;
  if ((n = check_scalar(chk, f, "encoding"))) {
    const char *name = iconv_name(n->value);
    at = feed_check_pos(chk, n);
    if (name && !*name)
      feed_check_error(chk, &at, -1,
                       "encoding must be gbk, gb18030 or utf-8, not '%s'",
                       n->value);
  }
  if ((n = check_scalar(chk, f, "skip_rows"))) {
    char *end;
    long v = strtol(n->value, &end, 10);
    at = feed_check_pos(chk, n);
    if (*end || end == n->value || v < 0 || v > CSV_MAX_SKIP_ROWS)
      feed_check_error(chk, &at, -1,
                       "skip_rows must be a number of lines from 0 to %d, "
                       "not '%s'",
                       CSV_MAX_SKIP_ROWS, n->value);
  }
  if ((n = check_scalar(chk, f, "thousands"))) {
    at = feed_check_pos(chk, n);
    if (!n->value[0] || strlen(n->value) > 4 ||
        strpbrk(n->value, "0123456789+-eE"))
      feed_check_error(chk, &at, -1,
                       "thousands must be the separator between digit "
                       "groups, such as \",\" or \" \", not '%s'",
                       n->value);
  }
  if ((n = check_scalar(chk, f, "layout"))) {
    at = feed_check_pos(chk, n);
    if (strcmp(n->value, "long") != 0 && strcmp(n->value, "wide") != 0)
      feed_check_error(chk, &at, -1, "layout must be long or wide, not '%s'",
                       n->value);
  }
  if ((n = feed_option(f->options, "missing"))) {
    bool ok = n->kind == YDOC_SCALAR;
    if (n->kind == YDOC_SEQ) {
      ok = true;
      for (size_t i = 0; i < n->n; i++)
        ok = ok && n->items[i]->kind == YDOC_SCALAR;
    }
    at = feed_check_pos(chk, n);
    if (!ok)
      feed_check_error(chk, &at, -1,
                       "missing must be a list of cell texts that mark a "
                       "gap, as in [\"—\", \"-\", \"…\"]");
  }
}

static bool wide_layout(const struct feed *f) {
  const struct ydoc_node *n = feed_option(f->options, "layout");
  return n && n->kind == YDOC_SCALAR && strcmp(n->value, "wide") == 0;
}

void csv_options_check(const struct feed *f, struct feed_check *chk) {
  bool wide = wide_layout(f);
  check_options(f, chk);
  if (wide && f->time)
    feed_check_error(chk, &f->time_pos, -1,
                     "layout: wide reads the times from the header row; "
                     "drop time:");
  for (size_t i = 0; i < f->nseries; i++) {
    const struct feed_series *s = &f->series[i];
    const struct ydoc_node *w = feed_option(s->options, "where");
    if (wide && s->path)
      feed_check_error(chk, &s->path_pos, -1,
                       "layout: wide reads every time column of the row "
                       "where: picks; drop column:");
    else if (!wide && !s->path)
      feed_check_error(chk, &s->pos, -1, "series '%s' needs a column", s->id);
    if (wide && !w)
      feed_check_error(chk, &s->pos, -1,
                       "series '%s' needs where: {column: value} to pick its "
                       "row (layout: wide)",
                       s->id);
    if (s->path) {
      char *end;
      long idx = strtol(s->path, &end, 10);
      if (!*end && end != s->path && (idx < 1 || idx > 10000))
        feed_check_error(chk, &s->path_pos, -1,
                         "column index must be from 1 to 10000");
    }
    if (!w)
      continue;
    if (w->kind != YDOC_MAP) {
      struct config_pos at = feed_check_pos(chk, w);
      feed_check_error(chk, &at, -1, "where must be %s, not %s",
                       ydoc_kind_name(YDOC_MAP), ydoc_kind_name(w->kind));
      continue;
    }
    for (size_t k = 0; k < w->n; k++) {
      if (!w->keys[k]->value[0]) {
        struct config_pos at = feed_check_pos(chk, w->keys[k]);
        feed_check_error(chk, &at, -1, "where column must not be empty");
      } else if (w->items[k]->kind != YDOC_SCALAR) {
        struct config_pos at = feed_check_pos(chk, w->items[k]);
        feed_check_error(chk, &at, -1, "where value must be %s, not %s",
                         ydoc_kind_name(YDOC_SCALAR),
                         ydoc_kind_name(w->items[k]->kind));
      }
    }
  }
}
