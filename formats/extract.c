#include "extract.h"

#include "feed_format.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct extractor {
  const struct feed *feed; /* borrowed; outlives the extractor */
  void *state;             /* the format's */
};

int extract_new(const struct feed *feed, struct extractor **out, char *err,
                size_t errlen) {
  struct extractor *ex = xcalloc(1, sizeof(*ex));
  ex->feed = feed;
  if (feed->format->compile) {
    int rc = feed->format->compile(feed, &ex->state, err, errlen);
    if (rc < 0) {
      free(ex);
      return rc;
    }
  }
  *out = ex;
  return 0;
}

void extract_free(struct extractor *ex) {
  if (!ex)
    return;
  if (ex->feed->format->free)
    ex->feed->format->free(ex->state);
  free(ex);
}

/* Local ISO 8601 with milliseconds when the time has them: two
 * observations a millisecond apart must not read alike. */
static void iso_ms(int64_t ms, char *buf, size_t len) {
  int64_t frac = ms % 1000;
  char whole[48];
  const char *zone;
  if (frac < 0)
    frac += 1000;
  timefmt_iso(ms - frac, whole, sizeof(whole));
  if (!frac) {
    snprintf(buf, len, "%s", whole);
    return;
  }
  zone = whole + strlen(whole);
  while (zone > whole && zone[-1] != 'Z' && zone[-1] != '+' && zone[-1] != '-')
    zone--;
  if (zone > whole && zone[-1] == 'Z')
    zone--;
  else if (zone > whole)
    zone--;
  snprintf(buf, len, "%.*s.%03d%s", (int)(zone - whole), whole, (int)frac,
           zone);
}

static bool same_series(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

static void drop(struct extract_out *out, const bool *gone) {
  size_t kept = 0;
  for (size_t i = 0; i < out->n; i++) {
    if (gone[i])
      continue;
    out->obs[kept] = out->obs[i];
    out->recs[kept] = out->recs[i];
    kept++;
  }
  out->n = kept;
}

/* " (record 3)", or "" when the observation has no record. */
static void where_of(const struct extract_out *out, size_t i, char *buf,
                     size_t len) {
  if (out->recs[i])
    snprintf(buf, len, " (%s %zu)", out->record_noun, out->recs[i]);
  else
    buf[0] = '\0';
}

/* A time the store cannot hold (before 1970-01-02) or cannot mean (a year
 * off, far ahead) is an error for that observation, never a stored point. */
static void drop_out_of_range(struct extract_out *out, int64_t fetch_ms) {
  bool *gone = xcalloc(out->n + 1, sizeof(*gone));
  for (size_t i = 0; i < out->n; i++) {
    char why[128], where[48];
    if (timefmt_check_range(out->obs[i].time_ms, fetch_ms, why, sizeof(why)) ==
        0)
      continue;
    where_of(out, i, where, sizeof(where));
    extract_error(out, out->obs[i].series, "series '%s'%s: %s",
                  out->obs[i].series, where, why);
    gone[i] = true;
  }
  drop(out, gone);
  free(gone);
}

/* not_after: now: what is dated after the fetch is a forecast. */
static void drop_forecasts(struct extract_out *out, int64_t fetch_ms) {
  bool *gone = xcalloc(out->n + 1, sizeof(*gone));
  for (size_t i = 0; i < out->n; i++)
    gone[i] = out->obs[i].time_ms > fetch_ms;
  drop(out, gone);
  free(gone);
}

struct obs_key {
  const char *series;
  int64_t time_ms;
  size_t i;
};

static int by_series_time(const void *a, const void *b) {
  const struct obs_key *x = a, *y = b;
  int c = strcmp(x->series, y->series);
  if (c)
    return c;
  if (x->time_ms != y->time_ms)
    return x->time_ms < y->time_ms ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

/* Two values of one series at one time: which one is right cannot be told
 * (two indicators mixed into one series, a time that did not vary), so
 * neither is stored. */
static void drop_duplicates(struct extract_out *out) {
  struct obs_key *key;
  size_t g = 0;
  bool *gone;
  if (out->n < 2)
    return;
  key = xmalloc(out->n * sizeof(*key));
  gone = xcalloc(out->n, sizeof(*gone));
  for (size_t i = 0; i < out->n; i++) {
    key[i].series = out->obs[i].series;
    key[i].time_ms = out->obs[i].time_ms;
    key[i].i = i;
  }
  qsort(key, out->n, sizeof(*key), by_series_time);
  while (g < out->n) {
    const struct observation *o = &out->obs[key[g].i];
    size_t e = g + 1;
    while (e < out->n && key[e].time_ms == o->time_ms &&
           strcmp(key[e].series, o->series) == 0)
      e++;
    if (e - g > 1) {
      char when[64], more[48] = "";
      size_t r1 = out->recs[key[g].i], r2 = out->recs[key[g + 1].i];
      iso_ms(o->time_ms, when, sizeof(when));
      if (e - g > 2)
        snprintf(more, sizeof(more), " (and %zu more)", e - g - 2);
      if (r1 && r2)
        extract_error(out, o->series,
                      "series '%s': %ss %zu and %zu%s both give a value at "
                      "%s; none is stored%s",
                      o->series, out->record_noun, r1, r2, more, when,
                      strcmp(out->record_noun, "record") == 0
                          ? " (one record per time: filter the others out)"
                          : "");
      else
        extract_error(out, o->series,
                      "series '%s': %zu values at %s; none is stored",
                      o->series, e - g, when);
      for (size_t k = g; k < e; k++)
        gone[key[k].i] = true;
    }
    g = e;
  }
  drop(out, gone);
  free(gone);
  free(key);
}

static int by_time_desc(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* A body with more than EXTRACT_MAX_OBS observations keeps the newest: a
 * long history is cut at its old end. */
static void keep_newest(struct extract_out *out) {
  int64_t *times, from;
  size_t above = 0, equal_room;
  bool *gone;
  if (out->n <= EXTRACT_MAX_OBS)
    return;
  times = xmalloc(out->n * sizeof(*times));
  for (size_t i = 0; i < out->n; i++)
    times[i] = out->obs[i].time_ms;
  qsort(times, out->n, sizeof(*times), by_time_desc);
  from = times[EXTRACT_MAX_OBS - 1];
  for (size_t i = 0; i < out->n; i++)
    if (out->obs[i].time_ms > from)
      above++;
  equal_room = EXTRACT_MAX_OBS - above;
  gone = xcalloc(out->n, sizeof(*gone));
  for (size_t i = 0; i < out->n; i++) {
    if (out->obs[i].time_ms > from)
      continue;
    if (out->obs[i].time_ms == from && equal_room) {
      equal_room--;
      continue;
    }
    gone[i] = true;
  }
  /* The same words every poll: a long history that keeps growing is
   * logged once, not once per fetch. */
  extract_error(out, NULL,
                "more than %d observations in one body: the newest %d are "
                "kept, the older ones are not stored",
                EXTRACT_MAX_OBS, EXTRACT_MAX_OBS);
  drop(out, gone);
  free(gone);
  free(times);
}

int extract_run(const struct extractor *ex, const char *body, size_t len,
                int64_t fetch_ms, const char *content_type,
                struct extract_out *out) {
  struct extract_body b = {body, len, fetch_ms, content_type};
  int rc;
  out->record = 0;
  out->record_noun = "record";
  rc = ex->feed->format->extract(ex->feed, ex->state, &b, out);
  out->record = 0;
  if (rc < 0) {
    out->n = 0;
    return rc;
  }
  drop_out_of_range(out, fetch_ms);
  if (ex->feed->not_after_now)
    drop_forecasts(out, fetch_ms);
  drop_duplicates(out);
  keep_newest(out);
  return rc;
}

void extract_out_reset(struct extract_out *out) {
  for (size_t i = 0; i < out->nerrs; i++)
    free(out->errs[i].msg);
  out->n = 0;
  out->nerrs = 0;
  out->record = 0;
}

void extract_out_free(struct extract_out *out) {
  extract_out_reset(out);
  free(out->obs);
  free(out->recs);
  free(out->errs);
  memset(out, 0, sizeof(*out));
}

char *extract_errors_of(const struct extract_out *out,
                        const struct feed_series *s) {
  struct strbuf sb = {0};
  for (size_t i = 0; i < out->nerrs; i++) {
    const struct extract_error *e = &out->errs[i];
    if (e->series && strcmp(e->series, s->id) != 0)
      continue;
    strbuf_addf(&sb, "%s%s", sb.len ? "; " : "", e->msg);
    if (e->more)
      strbuf_addf(&sb, " (and %zu more like it)", e->more);
  }
  return sb.len ? strbuf_take(&sb) : NULL;
}

size_t extract_error_count(const struct extract_out *out) {
  size_t n = 0;
  for (size_t i = 0; i < out->nerrs; i++)
    n += 1 + out->errs[i].more;
  return n;
}

void extract_error(struct extract_out *out, const char *series, const char *fmt,
                   ...) {
  struct strbuf sb = {0};
  size_t same = 0, last = 0;
  va_list ap;
  /* A few messages per series say enough; a body with a bad time in every
   * record would otherwise flood the logs and the meta hash. */
  for (size_t i = 0; i < out->nerrs; i++)
    if (same_series(out->errs[i].series, series)) {
      same++;
      last = i;
    }
  if (same >= EXTRACT_ERRORS_PER_SERIES) {
    out->errs[last].more++;
    return;
  }
  va_start(ap, fmt);
  strbuf_vaddf(&sb, fmt, ap);
  va_end(ap);
  xgrow((void **)&out->errs, &out->caperrs, out->nerrs + 1, sizeof(*out->errs));
  out->errs[out->nerrs].series = series;
  out->errs[out->nerrs].msg = strbuf_take(&sb);
  out->errs[out->nerrs].more = 0;
  out->nerrs++;
}

bool extract_number(const char *text, size_t len, double *out) {
  char buf[128];
  char *end;
  double v;
  while (len && isspace((unsigned char)*text)) {
    text++;
    len--;
  }
  while (len && isspace((unsigned char)text[len - 1]))
    len--;
  if (len == 0 || len >= sizeof(buf))
    return false;
  memcpy(buf, text, len);
  buf[len] = '\0';
  /* strtod would also take hex, "inf" and "nan"; feeds mean decimals. */
  for (size_t i = 0; i < len; i++)
    if (!(isdigit((unsigned char)buf[i]) || strchr("+-.eE", buf[i])))
      return false;
  errno = 0;
  v = strtod(buf, &end);
  if (end == buf || *end || !isfinite(v) || errno == ERANGE)
    return false;
  *out = v;
  return true;
}

int extract_time(const struct feed *feed, const char *text, size_t len,
                 struct timefmt_value *out, char *err, size_t errlen) {
  return timefmt_parse(text, len, feed->time_format, feed->time_pattern, out,
                       err, errlen);
}

int64_t extract_place(const struct timefmt_value *t,
                      const struct series_meta *meta) {
  enum series_at at = meta->at;
  if (t->grain == GRAIN_INSTANT)
    return t->start_ms;
  if (at == AT_DEFAULT)
    at = meta->kind == KIND_INSTANT ? AT_START : AT_END;
  return at == AT_END ? t->last_ms : t->start_ms;
}

void extract_time_now(int64_t fetch_ms, struct timefmt_value *out) {
  out->grain = GRAIN_INSTANT;
  out->start_ms = out->last_ms = fetch_ms;
}

bool extract_add_scaled(struct extract_out *out, const struct feed_series *s,
                        const struct timefmt_value *when, double value) {
  char where[48] = "";
  if (out->record)
    snprintf(where, sizeof(where), " (%s %zu)", out->record_noun, out->record);
  if (!isfinite(value)) {
    extract_error(out, s->id, "series '%s': value is not a finite number%s",
                  s->id, where);
    return false;
  }
  if (s->meta.has_min && value < s->meta.min) {
    extract_error(out, s->id, "series '%s': value %.15g is below min %g%s",
                  s->id, value, s->meta.min, where);
    return false;
  }
  if (s->meta.has_max && value > s->meta.max) {
    extract_error(out, s->id, "series '%s': value %.15g is above max %g%s",
                  s->id, value, s->meta.max, where);
    return false;
  }
  if (out->n >= EXTRACT_HARD_MAX_OBS) {
    extract_error(out, NULL,
                  "more than %d observations in one body; the rest is not "
                  "read",
                  EXTRACT_HARD_MAX_OBS);
    return false;
  }
  xgrow((void **)&out->obs, &out->cap, out->n + 1, sizeof(*out->obs));
  xgrow((void **)&out->recs, &out->caprecs, out->n + 1, sizeof(*out->recs));
  out->obs[out->n].series = s->id;
  out->obs[out->n].time_ms = extract_place(when, &s->meta);
  out->obs[out->n].grain = when->grain;
  out->obs[out->n].value = value == 0 ? 0 : value; /* no -0 */
  out->recs[out->n] = out->record;
  out->n++;
  return true;
}

bool extract_add(struct extract_out *out, const struct feed_series *s,
                 const struct timefmt_value *when, double value) {
  if (!s->scale_auto && s->scale != 0 && s->scale != 1 && isfinite(value))
    value = extract_scale(value, s->scale);
  return extract_add_scaled(out, s, when, value);
}

/* The shortest decimal that reads back as v, split into its digits (no
 * leading zeros, at most 17) and a power of ten: v = ±digits × 10^exp.
 * False for values without one (not finite). */
static bool decimal_of(double v, bool *neg, char *digits, int *exp) {
  char buf[48], *p, *e;
  size_t n = 0;
  int dot_shift = 0;
  bool seen_dot = false;
  if (!isfinite(v))
    return false;
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
    if (strtod(buf, NULL) == v)
      break;
  }
  p = buf;
  *neg = *p == '-';
  if (*p == '-' || *p == '+')
    p++;
  e = strchr(p, 'e');
  for (; p < e; p++) {
    if (*p == '.') {
      seen_dot = true;
      continue;
    }
    if (n == 0 && *p == '0') {
      if (seen_dot)
        dot_shift++;
      continue;
    }
    digits[n++] = *p;
    if (seen_dot)
      dot_shift++;
  }
  digits[n] = '\0';
  *exp = (int)strtol(e + 1, NULL, 10) - dot_shift;
  if (n == 0) {
    digits[0] = '0';
    digits[1] = '\0';
    *exp = 0;
  }
  return true;
}

double extract_scale(double value, double scale) {
  char a[24], b[24], prod[48], text[64];
  int ea, eb, acc[48] = {0};
  bool na, nb;
  size_t la, lb, lp, start = 0;
  if (scale == 1)
    return value;
  if (!decimal_of(value, &na, a, &ea) || !decimal_of(scale, &nb, b, &eb))
    return value * scale;
  /* Schoolbook product of the two digit strings: exact, then one rounding
   * by strtod. */
  la = strlen(a);
  lb = strlen(b);
  lp = la + lb;
  for (size_t i = la; i-- > 0;)
    for (size_t j = lb; j-- > 0;) {
      int sum = acc[i + j + 1] + (a[i] - '0') * (b[j] - '0');
      acc[i + j + 1] = sum % 10;
      acc[i + j] += sum / 10;
    }
  while (start + 1 < lp && acc[start] == 0)
    start++;
  for (size_t i = start; i < lp; i++)
    prod[i - start] = (char)('0' + acc[i]);
  prod[lp - start] = '\0';
  snprintf(text, sizeof(text), "%s%se%d", na != nb ? "-" : "", prod, ea + eb);
  return strtod(text, NULL);
}

long extract_utf8_invalid_at(const char *text, size_t len) {
  const unsigned char *p = (const unsigned char *)text;
  size_t i = 0;
  while (i < len) {
    unsigned c = p[i];
    size_t n;
    unsigned cp;
    if (c == 0)
      return (long)i; /* text bodies carry no NUL */
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return (long)i;
    }
    for (size_t k = 1; k <= n; k++) {
      if (i + k >= len || (p[i + k] & 0xC0) != 0x80)
        return (long)i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    /* overlong, surrogates, beyond U+10FFFF */
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return (long)i;
    i += n + 1;
  }
  return -1;
}
