#include "feed_json.h"

#include "jsonpath.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *json_kind(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "an object";
  case JSON_ARRAY:
    return "a list";
  case JSON_STRING:
    return "a string";
  case JSON_INTEGER:
  case JSON_REAL:
    return "a number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "a boolean";
  case JSON_NULL:
    return "null";
  }
  return "?";
}

/* A number, or a string holding one. */
static bool json_number_of(const json_t *v, double *out) {
  if (json_is_number(v)) {
    *out = json_number_value(v);
    return isfinite(*out);
  }
  if (json_is_string(v))
    return extract_number(json_string_value(v), json_string_length(v), out);
  return false;
}

static int time_of(const struct extractor *ex, const json_t *v,
                   struct timefmt_value *out, char *err, size_t errlen) {
  char buf[64];
  const char *text;
  size_t len;
  if (json_is_string(v)) {
    text = json_string_value(v);
    len = json_string_length(v);
  } else if (json_is_number(v) && (ex->feed->time_format == TIMEFMT_EPOCH ||
                                   ex->feed->time_format == TIMEFMT_EPOCH_MS)) {
    snprintf(buf, sizeof(buf), "%.17g", json_number_value(v));
    text = buf;
    len = strlen(buf);
  } else if (json_is_number(v) && ex->feed->time_format == TIMEFMT_STRPTIME) {
    /* A year written as a bare number (2026) under a "%Y" pattern. */
    snprintf(buf, sizeof(buf), "%.17g", json_number_value(v));
    text = buf;
    len = strlen(buf);
  } else {
    snprintf(err, errlen, "time is %s, not a %s", json_kind(v),
             ex->feed->time_format == TIMEFMT_ISO8601 ? "string"
                                                      : "string or number");
    return -EINVAL;
  }
  return extract_time(ex->feed, text, len, out, err, errlen);
}

/* Selects exactly one value. Returns 1, 0 for none, or the count. */
static size_t select_one(const struct jsonpath *p, json_t *root, json_t *rec,
                         json_t **out) {
  json_t *base = jsonpath_is_relative(p) ? rec : root;
  return jsonpath_eval(p, base, out, 1);
}

static void add_value(struct extract_out *out, const struct extract_series *s,
                      json_t *v, int64_t time_ms, const char *where) {
  double x;
  if (!json_number_of(v, &x)) {
    extract_error(out, s->cfg->id,
                  "series '%s' (%s)%s: selected %s, not a "
                  "number",
                  s->cfg->id, s->cfg->path, where, json_kind(v));
    return;
  }
  extract_add(out, s->cfg, time_ms, x);
}

static int one_shot(const struct extractor *ex, json_t *root, int64_t fetch_ms,
                    struct extract_out *out) {
  struct timefmt_value t;
  extract_time_now(fetch_ms, &t);
  if (ex->time) {
    json_t *v = NULL;
    size_t n = select_one(ex->time, root, NULL, &v);
    char why[128];
    if (n != 1) {
      extract_error(out, NULL, "time %s selected %s", ex->feed->time,
                    n ? "several values" : "nothing");
      return -EINVAL;
    }
    if (time_of(ex, v, &t, why, sizeof(why)) < 0) {
      extract_error(out, NULL, "time %s: %s", ex->feed->time, why);
      return -EINVAL;
    }
  }
  for (size_t i = 0; i < ex->nseries; i++) {
    const struct extract_series *s = &ex->series[i];
    json_t *v[2] = {NULL, NULL};
    size_t n = jsonpath_eval(s->path, root, v, 2);
    if (n == 0) {
      extract_error(out, s->cfg->id, "series '%s' (%s): selected nothing",
                    s->cfg->id, s->cfg->path);
      continue;
    }
    if (n > 1) {
      extract_error(out, s->cfg->id,
                    "series '%s' (%s): selected %zu values; the path must "
                    "select exactly one",
                    s->cfg->id, s->cfg->path, n);
      continue;
    }
    if (json_is_null(v[0])) {
      extract_error(out, s->cfg->id, "series '%s' (%s): value is null",
                    s->cfg->id, s->cfg->path);
      continue;
    }
    add_value(out, s, v[0], extract_place(&t, &s->cfg->meta), "");
  }
  return 0;
}

static int per_record(const struct extractor *ex, json_t *root,
                      int64_t fetch_ms, struct extract_out *out) {
  size_t n = jsonpath_eval(ex->records, root, NULL, 0);
  json_t **recs;
  size_t *found;
  if (n == 0) {
    extract_error(out, NULL, "records %s selected nothing", ex->feed->records);
    return 0;
  }
  if (n > EXTRACT_MAX_OBS) {
    extract_error(out, NULL, "records %s selected %zu elements (at most %d)",
                  ex->feed->records, n, EXTRACT_MAX_OBS);
    return -EINVAL;
  }
  recs = xcalloc(n, sizeof(*recs));
  found = xcalloc(ex->nseries, sizeof(*found));
  jsonpath_eval(ex->records, root, recs, n);
  for (size_t r = 0; r < n; r++) {
    struct timefmt_value t;
    char where[48];
    snprintf(where, sizeof(where), " in record %zu", r + 1);
    extract_time_now(fetch_ms, &t);
    if (ex->time) {
      json_t *v = NULL;
      size_t k = select_one(ex->time, root, recs[r], &v);
      char why[128];
      if (k != 1) {
        extract_error(out, NULL, "record %zu: time %s selected %s", r + 1,
                      ex->feed->time, k ? "several values" : "nothing");
        continue;
      }
      if (time_of(ex, v, &t, why, sizeof(why)) < 0) {
        extract_error(out, NULL, "record %zu: time %s: %s", r + 1,
                      ex->feed->time, why);
        continue;
      }
    }
    for (size_t i = 0; i < ex->nseries; i++) {
      const struct extract_series *s = &ex->series[i];
      json_t *v[2] = {NULL, NULL};
      size_t k = jsonpath_eval(
          s->path, jsonpath_is_relative(s->path) ? recs[r] : root, v, 2);
      /* A record without this series (or null) is a gap, not an error. */
      if (k == 0 || json_is_null(v[0]))
        continue;
      found[i]++;
      if (k > 1) {
        extract_error(out, s->cfg->id,
                      "series '%s' (%s)%s: selected %zu values; the path "
                      "must select exactly one",
                      s->cfg->id, s->cfg->path, where, k);
        continue;
      }
      add_value(out, s, v[0], extract_place(&t, &s->cfg->meta), where);
    }
  }
  for (size_t i = 0; i < ex->nseries; i++)
    if (!found[i])
      extract_error(out, ex->series[i].cfg->id,
                    "series '%s' (%s): selected nothing in any of %zu records",
                    ex->series[i].cfg->id, ex->series[i].cfg->path, n);
  free(found);
  free(recs);
  return 0;
}

int feed_json_extract(const struct extractor *ex, const char *body, size_t len,
                      int64_t fetch_ms, struct extract_out *out) {
  json_error_t jerr;
  json_t *root;
  int rc;
  /* Integers as reals: a feed's 20-digit number is still a number. */
  root = json_loadb(body, len,
                    JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL |
                        JSON_REJECT_DUPLICATES,
                    &jerr);
  if (!root) {
    extract_error(out, NULL, "invalid JSON at line %d column %d: %s", jerr.line,
                  jerr.column, jerr.text);
    return -EINVAL;
  }
  rc = ex->records ? per_record(ex, root, fetch_ms, out)
                   : one_shot(ex, root, fetch_ms, out);
  json_decref(root);
  return rc;
}
