#include "feed_prom.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROM_MAX_LABELS 64

struct prom_label {
  char *name, *value;
};

struct prom_selector {
  char *name;
  struct prom_label *labels;
  size_t n;
};

struct sample {
  struct prom_label labels[PROM_MAX_LABELS];
  size_t n;
};

static bool name_start(char c) {
  return isalpha((unsigned char)c) || c == '_' || c == ':';
}

static bool name_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == ':';
}

/* Parses {name="value",...} at *pp (which points at '{'); end bounds the
 * text. Label names and values are copied into lab[0..*n). */
static int parse_labels(const char **pp, const char *end,
                        struct prom_label *lab, size_t *n, size_t max,
                        const char **why) {
  const char *p = *pp + 1;
  *n = 0;
  for (;;) {
    const char *k;
    struct strbuf v = {0};
    while (p < end && (*p == ' ' || *p == '\t'))
      p++;
    if (p < end && *p == '}') {
      p++;
      break;
    }
    if (p >= end || !name_start(*p) || *p == ':') {
      *why = "expected a label name";
      goto fail;
    }
    k = p;
    while (p < end && name_char(*p) && *p != ':')
      p++;
    if (*n >= max) {
      *why = "too many labels";
      goto fail;
    }
    lab[*n].name = xstrndup(k, (size_t)(p - k));
    lab[*n].value = NULL;
    (*n)++;
    while (p < end && *p == ' ')
      p++;
    if (p >= end || *p != '=') {
      *why = "expected '=' after the label name";
      goto fail;
    }
    p++;
    while (p < end && *p == ' ')
      p++;
    if (p >= end || *p != '"') {
      *why = "expected a quoted label value";
      goto fail;
    }
    p++;
    while (p < end && *p != '"') {
      if (*p == '\n') {
        *why = "line break inside a label value";
        strbuf_free(&v);
        goto fail;
      }
      if (*p == '\\' && p + 1 < end) {
        p++;
        if (*p == 'n')
          strbuf_add(&v, "\n", 1);
        else if (*p == '\\' || *p == '"')
          strbuf_add(&v, p, 1);
        else {
          *why = "unknown escape in a label value";
          strbuf_free(&v);
          goto fail;
        }
        p++;
        continue;
      }
      strbuf_add(&v, p, 1);
      p++;
    }
    if (p >= end) {
      *why = "unterminated label value";
      strbuf_free(&v);
      goto fail;
    }
    p++;
    lab[*n - 1].value = strbuf_take(&v);
    while (p < end && *p == ' ')
      p++;
    if (p < end && *p == ',') {
      p++;
      continue;
    }
    if (p < end && *p == '}') {
      p++;
      break;
    }
    *why = "expected ',' or '}'";
    goto fail;
  }
  *pp = p;
  return 0;
fail:
  *pp = p;
  return -EINVAL;
}

static void free_labels(struct prom_label *lab, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(lab[i].name);
    free(lab[i].value);
  }
}

int feed_prom_selector_parse(const char *text, struct prom_selector **out,
                             char *err, size_t errlen, size_t *at) {
  const char *p = text, *end = text + strlen(text), *why = NULL;
  struct prom_label lab[PROM_MAX_LABELS];
  struct prom_selector *sel;
  size_t n = 0;
  if (!name_start(*p)) {
    snprintf(err, errlen, "expected a metric name");
    *at = 0;
    return -EINVAL;
  }
  while (name_char(*p))
    p++;
  sel = xcalloc(1, sizeof(*sel));
  sel->name = xstrndup(text, (size_t)(p - text));
  if (*p == '{') {
    if (parse_labels(&p, end, lab, &n, PROM_MAX_LABELS, &why) < 0) {
      free_labels(lab, n);
      snprintf(err, errlen, "%s", why);
      *at = (size_t)(p - text);
      feed_prom_selector_free(sel);
      return -EINVAL;
    }
    sel->labels = xcalloc(n ? n : 1, sizeof(*sel->labels));
    memcpy(sel->labels, lab, n * sizeof(*lab));
    sel->n = n;
  }
  while (*p == ' ')
    p++;
  if (*p) {
    snprintf(err, errlen, "unexpected text after the selector");
    *at = (size_t)(p - text);
    feed_prom_selector_free(sel);
    return -EINVAL;
  }
  *out = sel;
  return 0;
}

void feed_prom_selector_free(struct prom_selector *sel) {
  if (!sel)
    return;
  free_labels(sel->labels, sel->n);
  free(sel->labels);
  free(sel->name);
  free(sel);
}

static bool labels_match(const struct prom_selector *sel,
                         const struct prom_label *lab, size_t n) {
  for (size_t i = 0; i < sel->n; i++) {
    bool ok = false;
    for (size_t j = 0; j < n && !ok; j++)
      ok = strcmp(sel->labels[i].name, lab[j].name) == 0 &&
           strcmp(sel->labels[i].value, lab[j].value) == 0;
    /* PromQL: label="" matches a sample without that label. */
    if (!ok && sel->labels[i].value[0] == '\0') {
      ok = true;
      for (size_t j = 0; j < n; j++)
        if (strcmp(sel->labels[i].name, lab[j].name) == 0)
          ok = false;
    }
    if (!ok)
      return false;
  }
  return true;
}

static bool same_labels(const struct prom_label *a, size_t na,
                        const struct prom_label *b, size_t nb) {
  if (na != nb)
    return false;
  for (size_t i = 0; i < na; i++) {
    bool found = false;
    for (size_t j = 0; j < nb && !found; j++)
      found = strcmp(a[i].name, b[j].name) == 0 &&
              strcmp(a[i].value, b[j].value) == 0;
    if (!found)
      return false;
  }
  return true;
}

static bool parse_value(const char *p, const char *end, double *v,
                        const char **next) {
  char buf[64];
  size_t len = 0;
  char *e;
  while (p + len < end && p[len] != ' ' && p[len] != '\t')
    len++;
  if (len == 0 || len >= sizeof(buf))
    return false;
  memcpy(buf, p, len);
  buf[len] = '\0';
  *next = p + len;
  if (strcmp(buf, "+Inf") == 0 || strcmp(buf, "Inf") == 0) {
    *v = INFINITY;
    return true;
  }
  if (strcmp(buf, "-Inf") == 0) {
    *v = -INFINITY;
    return true;
  }
  if (strcmp(buf, "NaN") == 0) {
    *v = NAN;
    return true;
  }
  errno = 0;
  *v = strtod(buf, &e);
  return e != buf && !*e && errno != ERANGE;
}

struct match {
  struct prom_label labels[PROM_MAX_LABELS];
  size_t nlabels;
  double value;
  bool has_ts;
  int64_t ts;
  size_t line;
  size_t count;
};

int feed_prom_extract(const struct extractor *ex, const char *body, size_t len,
                      int64_t fetch_ms, struct extract_out *out) {
  const char *p = body, *end = body + len;
  struct match *m = xcalloc(ex->nseries, sizeof(*m));
  struct prom_label lab[PROM_MAX_LABELS];
  size_t line = 0;
  int rc = 0;
  long bad = extract_utf8_invalid_at(body, len);

  if (bad >= 0) {
    extract_error(out, NULL, "body is not UTF-8 (byte %ld)", bad + 1);
    free(m);
    return -EINVAL;
  }
  while (p < end && rc == 0) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *q = p, *name, *why = NULL;
    size_t nlab = 0, namelen;
    double v;
    bool has_ts = false;
    int64_t ts = 0;
    if (!eol)
      eol = end;
    line++;
    while (q < eol && (*q == ' ' || *q == '\t'))
      q++;
    if (q == eol || *q == '#' || (q + 1 == eol && *q == '\r'))
      goto next;
    if (!name_start(*q)) {
      extract_error(out, NULL, "line %zu: expected a metric name", line);
      rc = -EINVAL;
      break;
    }
    name = q;
    while (q < eol && name_char(*q))
      q++;
    namelen = (size_t)(q - name);
    if (q < eol && *q == '{' &&
        parse_labels(&q, eol, lab, &nlab, PROM_MAX_LABELS, &why) < 0) {
      extract_error(out, NULL, "line %zu: %s", line, why);
      free_labels(lab, nlab);
      rc = -EINVAL;
      break;
    }
    while (q < eol && (*q == ' ' || *q == '\t'))
      q++;
    if (!parse_value(q, eol, &v, &q)) {
      extract_error(out, NULL, "line %zu: expected a sample value", line);
      free_labels(lab, nlab);
      rc = -EINVAL;
      break;
    }
    while (q < eol && (*q == ' ' || *q == '\t'))
      q++;
    if (q < eol && *q != '\r') {
      /* The body is not NUL-terminated: parse a bounded copy. */
      char tsbuf[24];
      size_t tl = 0;
      char *e;
      long long t;
      while (q + tl < eol && q[tl] != ' ' && q[tl] != '\r' && q[tl] != '\t')
        tl++;
      errno = 0;
      t = 0;
      if (tl > 0 && tl < sizeof(tsbuf)) {
        memcpy(tsbuf, q, tl);
        tsbuf[tl] = '\0';
        t = strtoll(tsbuf, &e, 10);
      } else {
        e = tsbuf;
        tsbuf[0] = 'x';
      }
      q += tl;
      while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r'))
        q++;
      if (*e || q != eol || errno == ERANGE || t < -2208988800000LL ||
          t > 253402300799999LL) {
        extract_error(out, NULL, "line %zu: bad timestamp", line);
        free_labels(lab, nlab);
        rc = -EINVAL;
        break;
      }
      has_ts = true;
      ts = t;
    }
    for (size_t i = 0; i < ex->nseries; i++) {
      const struct prom_selector *sel = ex->series[i].sel;
      struct match *mm = &m[i];
      if (strlen(sel->name) != namelen ||
          memcmp(sel->name, name, namelen) != 0 ||
          !labels_match(sel, lab, nlab))
        continue;
      if (mm->count && same_labels(mm->labels, mm->nlabels, lab, nlab)) {
        extract_error(out, NULL,
                      "line %zu: duplicate sample of %.*s (first on line %zu)",
                      line, (int)namelen, name, mm->line);
        rc = -EINVAL;
        break;
      }
      mm->count++;
      if (mm->count == 1) {
        for (size_t k = 0; k < nlab; k++) {
          mm->labels[k].name = xstrdup(lab[k].name);
          mm->labels[k].value = xstrdup(lab[k].value);
        }
        mm->nlabels = nlab;
        mm->value = v;
        mm->has_ts = has_ts;
        mm->ts = ts;
        mm->line = line;
      }
    }
    free_labels(lab, nlab);
  next:
    p = eol + 1;
  }
  for (size_t i = 0; rc == 0 && i < ex->nseries; i++) {
    const struct feed_series *s = ex->series[i].cfg;
    if (m[i].count == 0)
      extract_error(out, s->id, "series '%s' (%s): no sample matches", s->id,
                    s->path);
    else if (m[i].count > 1)
      extract_error(out, s->id,
                    "series '%s' (%s): %zu samples match; the selector must "
                    "match exactly one",
                    s->id, s->path, m[i].count);
    else
      extract_add(out, s, m[i].has_ts ? m[i].ts : fetch_ms, m[i].value);
  }
  for (size_t i = 0; i < ex->nseries; i++)
    free_labels(m[i].labels, m[i].nlabels);
  free(m);
  return rc;
}
