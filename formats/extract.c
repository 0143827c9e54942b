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

/* A time the store cannot hold (before 1970-01-02) or cannot mean (a year
 * off, far ahead) is an error for that observation, never a stored point. */
static void drop_out_of_range(struct extract_out *out, int64_t fetch_ms) {
  size_t kept = 0;
  for (size_t i = 0; i < out->n; i++) {
    char why[128];
    if (timefmt_check_range(out->obs[i].time_ms, fetch_ms, why, sizeof(why)) <
        0) {
      extract_error(out, out->obs[i].series, "series '%s': %s",
                    out->obs[i].series, why);
      continue;
    }
    out->obs[kept++] = out->obs[i];
  }
  out->n = kept;
}

int extract_run(const struct extractor *ex, const char *body, size_t len,
                int64_t fetch_ms, struct extract_out *out) {
  int rc =
      ex->feed->format->extract(ex->feed, ex->state, body, len, fetch_ms, out);
  drop_out_of_range(out, fetch_ms);
  return rc;
}

void extract_out_reset(struct extract_out *out) {
  for (size_t i = 0; i < out->nerrs; i++)
    free(out->errs[i].msg);
  out->n = 0;
  out->nerrs = 0;
}

void extract_out_free(struct extract_out *out) {
  extract_out_reset(out);
  free(out->obs);
  free(out->errs);
  memset(out, 0, sizeof(*out));
}

void extract_error(struct extract_out *out, const char *series, const char *fmt,
                   ...) {
  struct strbuf sb = {0};
  va_list ap;
  /* Ten messages per body say enough; the rest would only flood logs. */
  if (out->nerrs >= 10)
    return;
  va_start(ap, fmt);
  strbuf_vaddf(&sb, fmt, ap);
  va_end(ap);
  xgrow((void **)&out->errs, &out->caperrs, out->nerrs + 1, sizeof(*out->errs));
  out->errs[out->nerrs].series = series;
  out->errs[out->nerrs].msg = strbuf_take(&sb);
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

bool extract_add(struct extract_out *out, const struct feed_series *s,
                 int64_t time_ms, double value) {
  if (!isfinite(value)) {
    extract_error(out, s->id, "series '%s': value is not a finite number",
                  s->id);
    return false;
  }
  if (s->meta.has_min && value < s->meta.min) {
    extract_error(out, s->id, "series '%s': value %g is below min %g", s->id,
                  value, s->meta.min);
    return false;
  }
  if (s->meta.has_max && value > s->meta.max) {
    extract_error(out, s->id, "series '%s': value %g is above max %g", s->id,
                  value, s->meta.max);
    return false;
  }
  if (out->n >= EXTRACT_MAX_OBS) {
    extract_error(out, s->id, "more than %d observations in one body",
                  EXTRACT_MAX_OBS);
    return false;
  }
  xgrow((void **)&out->obs, &out->cap, out->n + 1, sizeof(*out->obs));
  out->obs[out->n].series = s->id;
  out->obs[out->n].time_ms = time_ms;
  out->obs[out->n].value = value == 0 ? 0 : value; /* no -0 */
  out->n++;
  return true;
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
