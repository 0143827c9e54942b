#include "feed_prom.h"

#include "feed_format.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
  struct prom_found found;
};

/* Counter families declared by "# TYPE name counter" (OpenMetrics): their
 * samples are name_total and name_created. */
struct families {
  char **names;
  size_t n, cap;
};

static void families_free(struct families *f) {
  for (size_t i = 0; i < f->n; i++)
    free(f->names[i]);
  free(f->names);
}

static bool families_has(const struct families *f, const char *name,
                         size_t len) {
  for (size_t i = 0; i < f->n; i++)
    if (strlen(f->names[i]) == len && memcmp(f->names[i], name, len) == 0)
      return true;
  return false;
}

/* "# TYPE name counter" and "# EOF"; other comments are skipped. */
static void comment_line(const char *q, const char *eol, struct families *f) {
  const char *name, *type;
  size_t len;
  if (eol - q < 7 || memcmp(q, "# TYPE ", 7) != 0)
    return;
  name = q + 7;
  for (type = name; type < eol && name_char(*type); type++)
    ;
  len = (size_t)(type - name);
  while (type < eol && *type == ' ')
    type++;
  if (len && (size_t)(eol - type) >= 7 && memcmp(type, "counter", 7) == 0 &&
      !families_has(f, name, len)) {
    xgrow((void **)&f->names, &f->cap, f->n + 1, sizeof(*f->names));
    f->names[f->n++] = xstrndup(name, len);
  }
}

static bool name_matches(const struct prom_selector *sel, const char *name,
                         size_t len, enum prom_dialect dialect,
                         const struct families *counters) {
  size_t sl = strlen(sel->name);
  if (sl == len && memcmp(sel->name, name, len) == 0)
    return true;
  /* OpenMetrics: a counter family's value is its name_total sample. */
  return dialect == PROM_OPENMETRICS && len == sl + 6 &&
         memcmp(name, sel->name, sl) == 0 &&
         memcmp(name + sl, "_total", 6) == 0 &&
         families_has(counters, sel->name, sl);
}

/* Prometheus text timestamps below this (1973-03-03 as milliseconds) are
 * seconds written by an OpenMetrics or hand-made exporter. */
#define PROM_MS_FLOOR 100000000000LL

/* The sample's own timestamp: integer milliseconds (Prometheus text) or
 * seconds with an optional fraction (OpenMetrics). 0, -1 when malformed,
 * -2 when Prometheus text carries seconds. */
static int parse_timestamp(const char *q, size_t tl, enum prom_dialect dialect,
                           int64_t *out) {
  char tsbuf[40];
  char *e;
  if (tl == 0 || tl >= sizeof(tsbuf))
    return -1;
  memcpy(tsbuf, q, tl);
  tsbuf[tl] = '\0';
  errno = 0;
  if (dialect == PROM_OPENMETRICS) {
    double sec = strtod(tsbuf, &e);
    if (*e || errno == ERANGE || !isfinite(sec) || sec < -2208988800.0 ||
        sec > 253402300799.999)
      return -1;
    *out = (int64_t)llround(sec * 1000.0);
    return 0;
  } else {
    long long t = strtoll(tsbuf, &e, 10);
    if (*e || errno == ERANGE || t < -2208988800000LL || t > 253402300799999LL)
      return -1;
    if (t > 0 && t < PROM_MS_FLOOR)
      return -2;
    *out = t;
    return 0;
  }
}

int feed_prom_scan(const char *body, size_t len, enum prom_dialect dialect,
                   struct prom_selector *const *sels, size_t nsels,
                   struct prom_found *found, char *err, size_t errlen) {
  const char *p = body, *end = body + len;
  struct match *m = xcalloc(nsels ? nsels : 1, sizeof(*m));
  struct prom_label lab[PROM_MAX_LABELS];
  struct families counters = {0};
  size_t line = 0;
  bool eof = false;
  int rc = 0;
  long bad = extract_utf8_invalid_at(body, len);

  if (bad >= 0) {
    snprintf(err, errlen, "body is not UTF-8 (byte %ld)", bad + 1);
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
    if (eof) {
      if (q < eol && !(q + 1 == eol && *q == '\r')) {
        snprintf(err, errlen, "line %zu: text after # EOF", line);
        rc = -EINVAL;
      }
      goto next;
    }
    if (dialect == PROM_OPENMETRICS && (size_t)(eol - q) >= 5 &&
        memcmp(q, "# EOF", 5) == 0 &&
        (eol - q == 5 || (eol - q == 6 && q[5] == '\r'))) {
      eof = true;
      goto next;
    }
    if (q < eol && *q == '#') {
      comment_line(q, eol, &counters);
      goto next;
    }
    if (q == eol || (q + 1 == eol && *q == '\r'))
      goto next;
    if (!name_start(*q)) {
      snprintf(err, errlen, "line %zu: expected a metric name", line);
      rc = -EINVAL;
      break;
    }
    name = q;
    while (q < eol && name_char(*q))
      q++;
    namelen = (size_t)(q - name);
    if (q < eol && *q == '{' &&
        parse_labels(&q, eol, lab, &nlab, PROM_MAX_LABELS, &why) < 0) {
      snprintf(err, errlen, "line %zu: %s", line, why);
      free_labels(lab, nlab);
      rc = -EINVAL;
      break;
    }
    while (q < eol && (*q == ' ' || *q == '\t'))
      q++;
    if (!parse_value(q, eol, &v, &q)) {
      snprintf(err, errlen, "line %zu: expected a sample value", line);
      free_labels(lab, nlab);
      rc = -EINVAL;
      break;
    }
    while (q < eol && (*q == ' ' || *q == '\t'))
      q++;
    /* OpenMetrics: an exemplar (" # {trace_id=...} 0.5") is not the
     * sample's value or time. */
    if (q < eol && *q != '\r' && !(dialect == PROM_OPENMETRICS && *q == '#')) {
      size_t tl = 0;
      while (q + tl < eol && q[tl] != ' ' && q[tl] != '\r' && q[tl] != '\t')
        tl++;
      int tsrc = parse_timestamp(q, tl, dialect, &ts);
      if (tsrc == -2)
        snprintf(err, errlen,
                 "line %zu: timestamp %.*s is in seconds; Prometheus text "
                 "writes milliseconds (an OpenMetrics body? use format: "
                 "openmetrics)",
                 line, (int)tl, q);
      else if (tsrc < 0)
        snprintf(err, errlen, "line %zu: bad timestamp", line);
      if (tsrc < 0) {
        free_labels(lab, nlab);
        rc = -EINVAL;
        break;
      }
      q += tl;
      while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r'))
        q++;
      if (q != eol && !(dialect == PROM_OPENMETRICS && *q == '#')) {
        snprintf(err, errlen, "line %zu: bad timestamp", line);
        free_labels(lab, nlab);
        rc = -EINVAL;
        break;
      }
      has_ts = true;
    }
    for (size_t i = 0; i < nsels; i++) {
      struct match *mm = &m[i];
      if (!name_matches(sels[i], name, namelen, dialect, &counters) ||
          !labels_match(sels[i], lab, nlab))
        continue;
      if (mm->found.count && same_labels(mm->labels, mm->nlabels, lab, nlab)) {
        snprintf(err, errlen,
                 "line %zu: duplicate sample of %.*s (first on line %zu)", line,
                 (int)namelen, name, mm->found.line);
        rc = -EINVAL;
        break;
      }
      mm->found.count++;
      if (mm->found.count == 1) {
        for (size_t k = 0; k < nlab; k++) {
          mm->labels[k].name = xstrdup(lab[k].name);
          mm->labels[k].value = xstrdup(lab[k].value);
        }
        mm->nlabels = nlab;
        mm->found.value = v;
        mm->found.has_ts = has_ts;
        mm->found.ts_ms = ts;
        mm->found.line = line;
      }
    }
    free_labels(lab, nlab);
  next:
    p = eol + 1;
  }
  if (rc == 0 && dialect == PROM_OPENMETRICS && !eof) {
    snprintf(err, errlen, "no # EOF line: the body is cut short");
    rc = -EINVAL;
  }
  for (size_t i = 0; i < nsels; i++) {
    found[i] = m[i].found;
    free_labels(m[i].labels, m[i].nlabels);
  }
  families_free(&counters);
  free(m);
  return rc;
}

/* The compiled selectors of a feed's series. */
struct prom_state {
  struct prom_selector **sel;
  size_t n;
};

/* The dialect of a body: what its Content-Type says when it names one of
 * the two exposition formats (a server may answer either, whatever was
 * asked), else the configured format's. */
static enum prom_dialect dialect_of(const char *content_type,
                                    enum prom_dialect configured) {
  const char *p = content_type, *semi;
  size_t len;
  if (!p)
    return configured;
  while (*p == ' ' || *p == '\t')
    p++;
  semi = strchr(p, ';');
  len = semi ? (size_t)(semi - p) : strlen(p);
  while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
    len--;
  if (len == 28 && strncasecmp(p, "application/openmetrics-text", len) == 0)
    return PROM_OPENMETRICS;
  /* Prometheus text names itself by its version; a bare text/plain (a
   * file server, a proxy) says nothing. */
  if (len == 10 && strncasecmp(p, "text/plain", len) == 0 && semi &&
      strstr(semi, "version=0.0.4"))
    return PROM_TEXT;
  return configured;
}

static int extract_dialect(const struct feed *f, const void *state,
                           const struct extract_body *b,
                           enum prom_dialect configured,
                           struct extract_out *out) {
  const struct prom_state *st = state;
  struct prom_found *found =
      xcalloc(f->nseries ? f->nseries : 1, sizeof(*found));
  enum prom_dialect d = dialect_of(b->content_type, configured);
  char err[256];
  int rc = feed_prom_scan(b->data, b->len, d, st->sel, f->nseries, found, err,
                          sizeof(err));
  if (rc < 0)
    extract_error(out, NULL, "%s%s", err,
                  d == configured ? ""
                  : d == PROM_OPENMETRICS
                      ? " (read as OpenMetrics: the Content-Type says so)"
                      : " (read as Prometheus text: the Content-Type says "
                        "so)");
  for (size_t i = 0; rc == 0 && i < f->nseries; i++) {
    const struct feed_series *s = &f->series[i];
    if (found[i].count == 0)
      extract_error(out, s->id, "series '%s' (%s): no sample matches", s->id,
                    s->path);
    else if (found[i].count > 1)
      extract_error(out, s->id,
                    "series '%s' (%s): %zu samples match; the selector must "
                    "match exactly one",
                    s->id, s->path, found[i].count);
    else {
      struct timefmt_value when;
      out->record = found[i].line;
      extract_time_now(found[i].has_ts ? found[i].ts_ms : b->fetch_ms, &when);
      extract_add(out, s, &when, found[i].value);
    }
  }
  out->record = 0;
  free(found);
  return rc;
}

static int extract_text(const struct feed *f, const void *state,
                        const struct extract_body *b, struct extract_out *out) {
  return extract_dialect(f, state, b, PROM_TEXT, out);
}

static int extract_openmetrics(const struct feed *f, const void *state,
                               const struct extract_body *b,
                               struct extract_out *out) {
  return extract_dialect(f, state, b, PROM_OPENMETRICS, out);
}

static void release(void *state) {
  struct prom_state *st = state;
  if (!st)
    return;
  for (size_t i = 0; i < st->n; i++)
    feed_prom_selector_free(st->sel[i]);
  free(st->sel);
  free(st);
}

static int compile(const struct feed *f, void **state, char *err,
                   size_t errlen) {
  struct prom_state *st = xcalloc(1, sizeof(*st));
  st->sel = xcalloc(f->nseries + 1, sizeof(*st->sel));
  st->n = f->nseries;
  for (size_t i = 0; i < f->nseries; i++) {
    const struct feed_series *s = &f->series[i];
    char why[128];
    size_t at = 0;
    if (feed_prom_selector_parse(s->path, &st->sel[i], why, sizeof(why), &at) <
        0) {
      snprintf(err, errlen, "series '%s' selector %s: %s at character %zu",
               s->id, s->path, why, at + 1);
      release(st);
      return -EINVAL;
    }
  }
  *state = st;
  return 0;
}

static void check(const struct feed *f, struct feed_check *chk) {
  for (size_t i = 0; i < f->nseries; i++) {
    const struct feed_series *s = &f->series[i];
    struct prom_selector *sel = NULL;
    char why[128];
    size_t at = 0;
    if (!s->path)
      continue;
    if (feed_prom_selector_parse(s->path, &sel, why, sizeof(why), &at) < 0)
      feed_check_error(chk, &s->path_pos, (long)at,
                       "Prometheus selector: %s (as in name{label=\"v\"})",
                       why);
    else
      feed_prom_selector_free(sel);
  }
}

const struct feed_format feed_prom = {
    .name = "prometheus",
    .path_key = "metric",
    .accept = "text/plain;version=0.0.4;q=0.9,*/*;q=0.1",
    .check = check,
    .compile = compile,
    .free = release,
    .extract = extract_text,
};

const struct feed_format feed_openmetrics = {
    .name = "openmetrics",
    .path_key = "metric",
    /* What Prometheus itself asks; a server answering in text 0.0.4 says
     * so in Content-Type and is read that way. */
    .accept = "application/openmetrics-text;version=1.0.0,"
              "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    .check = check,
    .compile = compile,
    .free = release,
    .extract = extract_openmetrics,
};
