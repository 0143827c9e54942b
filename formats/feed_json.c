/* JSON bodies (jansson) with the JSONPath subset of jsonpath.h; with
 * records: every selected element is one observation. */
#include "feed_format.h"
#include "jsonpath.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The compiled paths of a feed. */
struct json_state {
  struct jsonpath *records, *time; /* NULL when not given */
  struct jsonpath **paths;         /* per series */
  size_t n;
};

/* The records: option (a JSONPath selecting one element per observation)
 * as the loader kept it, or NULL. */
static const char *records_of(const struct feed *f) {
  const struct ydoc_node *r = feed_option(f->options, "records");
  return r && r->kind == YDOC_SCALAR ? r->value : NULL;
}

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

static int time_of(const struct feed *f, const json_t *v,
                   struct timefmt_value *out, char *err, size_t errlen) {
  char buf[64];
  const char *text;
  size_t len;
  if (json_is_string(v)) {
    text = json_string_value(v);
    len = json_string_length(v);
  } else if (json_is_number(v) && (f->time_format == TIMEFMT_EPOCH ||
                                   f->time_format == TIMEFMT_EPOCH_MS)) {
    snprintf(buf, sizeof(buf), "%.17g", json_number_value(v));
    text = buf;
    len = strlen(buf);
  } else if (json_is_number(v) &&
             (f->time_format == TIMEFMT_STRPTIME ||
              (f->time_format == TIMEFMT_ISO8601 &&
               json_number_value(v) == floor(json_number_value(v))))) {
    /* A year or period code written as a bare number: 2026 under "%Y",
     * 2026 or 202603 (NBS) for the default parser. */
    snprintf(buf, sizeof(buf), "%.17g", json_number_value(v));
    text = buf;
    len = strlen(buf);
  } else {
    snprintf(err, errlen, "time is %s, not a string%s", json_kind(v),
             f->time_format == TIMEFMT_ISO8601 ? " or a whole number"
                                               : " or number");
    return -EINVAL;
  }
  return extract_time(f, text, len, out, err, errlen);
}

/* Selects exactly one value. Returns 1, 0 for none, or the count. */
static size_t select_one(const struct jsonpath *p, json_t *root, json_t *rec,
                         json_t **out) {
  json_t *base = jsonpath_is_relative(p) ? rec : root;
  return jsonpath_eval(p, base, out, 1);
}

static void add_value(struct extract_out *out, const struct feed_series *s,
                      json_t *v, const struct timefmt_value *when,
                      const char *where) {
  double x;
  if (!json_number_of(v, &x)) {
    if (json_is_string(v))
      extract_error(out, s->id,
                    "series '%s' (%s)%s: selected the string \"%.40s\", not "
                    "a number",
                    s->id, s->path, where, json_string_value(v));
    else
      extract_error(out, s->id, "series '%s' (%s)%s: selected %s, not a number",
                    s->id, s->path, where, json_kind(v));
    return;
  }
  extract_add(out, s, when, x);
}

/* A value that says it is not there: null, an empty string, or a member of
 * an object marked "hasdata": false (NBS easyquery writes 0 for a month
 * without data). */
static const char *gap_of(json_t *v, json_t *parent) {
  if (json_is_null(v))
    return "null";
  if (json_is_object(parent) &&
      json_is_false(json_object_get(parent, "hasdata")))
    return "hasdata: false";
  if (json_is_string(v)) {
    const char *p = json_string_value(v);
    while (*p == ' ')
      p++;
    if (!*p)
      return "an empty string";
  }
  return NULL;
}

static int one_shot(const struct feed *f, const struct json_state *st,
                    json_t *root, int64_t fetch_ms, struct extract_out *out) {
  struct timefmt_value t;
  extract_time_now(fetch_ms, &t);
  if (st->time) {
    json_t *v = NULL;
    size_t n = select_one(st->time, root, NULL, &v);
    char why[128];
    if (n != 1) {
      extract_error(out, NULL, "time %s selected %s", f->time,
                    n ? "several values" : "nothing");
      return -EINVAL;
    }
    if (time_of(f, v, &t, why, sizeof(why)) < 0) {
      extract_error(out, NULL, "time %s: %s", f->time, why);
      return -EINVAL;
    }
  }
  for (size_t i = 0; i < f->nseries; i++) {
    const struct feed_series *s = &f->series[i];
    json_t *v[2] = {NULL, NULL}, *parent[2] = {NULL, NULL};
    size_t n = jsonpath_eval_parents(st->paths[i], root, v, parent, 2);
    const char *gap;
    if (n == 0) {
      extract_error(out, s->id, "series '%s' (%s): selected nothing", s->id,
                    s->path);
      continue;
    }
    if (n > 1) {
      extract_error(out, s->id,
                    "series '%s' (%s): selected %zu values; the path must "
                    "select exactly one",
                    s->id, s->path, n);
      continue;
    }
    gap = gap_of(v[0], parent[0]);
    if (gap) {
      extract_error(out, s->id, "series '%s' (%s): no value (%s)", s->id,
                    s->path, gap);
      continue;
    }
    add_value(out, s, v[0], &t, "");
  }
  return 0;
}

/* What each series met in the records. */
struct tally {
  size_t found; /* records that had a value (or several) */
  size_t gaps;  /* records whose value was a gap */
};

static void say_what_was_missing(const struct feed *f,
                                 const struct tally *tally, size_t n,
                                 size_t timed, struct extract_out *out) {
  for (size_t i = 0; i < f->nseries; i++) {
    const struct feed_series *s = &f->series[i];
    /* With no time parsed, the time errors already say why. */
    if (tally[i].found || timed == 0)
      continue;
    if (tally[i].gaps)
      extract_error(out, s->id,
                    "series '%s' (%s): no value: a gap (null, \"\" or "
                    "hasdata: false) in all %zu records%s",
                    s->id, s->path, tally[i].gaps,
                    timed < n ? " whose time parsed" : "");
    else if (timed < n)
      extract_error(out, s->id,
                    "series '%s' (%s): selected nothing in the %zu of %zu "
                    "records whose time parsed",
                    s->id, s->path, timed, n);
    else
      extract_error(out, s->id,
                    "series '%s' (%s): selected nothing in any of %zu records",
                    s->id, s->path, n);
  }
}

static int per_record(const struct feed *f, const struct json_state *st,
                      json_t *root, int64_t fetch_ms, struct extract_out *out) {
  size_t n = jsonpath_eval(st->records, root, NULL, 0), timed = 0;
  json_t **recs;
  struct tally *tally;
  if (n == 0) {
    extract_error(out, NULL, "records %s selected nothing", records_of(f));
    return 0;
  }
  if (n > EXTRACT_HARD_MAX_OBS) {
    extract_error(out, NULL, "records %s selected %zu elements (at most %d)",
                  records_of(f), n, EXTRACT_HARD_MAX_OBS);
    return -EINVAL;
  }
  recs = xcalloc(n, sizeof(*recs));
  tally = xcalloc(f->nseries + 1, sizeof(*tally));
  jsonpath_eval(st->records, root, recs, n);
  for (size_t r = 0; r < n; r++) {
    struct timefmt_value t;
    char where[48];
    snprintf(where, sizeof(where), " in record %zu", r + 1);
    out->record = r + 1;
    extract_time_now(fetch_ms, &t);
    if (st->time) {
      json_t *v = NULL;
      size_t k = select_one(st->time, root, recs[r], &v);
      char why[128];
      if (k != 1) {
        extract_error(out, NULL, "record %zu: time %s selected %s", r + 1,
                      f->time, k ? "several values" : "nothing");
        continue;
      }
      if (time_of(f, v, &t, why, sizeof(why)) < 0) {
        extract_error(out, NULL, "record %zu: time %s: %s", r + 1, f->time,
                      why);
        continue;
      }
    }
    timed++;
    for (size_t i = 0; i < f->nseries; i++) {
      const struct feed_series *s = &f->series[i];
      const struct jsonpath *p = st->paths[i];
      json_t *v[2] = {NULL, NULL}, *parent[2] = {NULL, NULL};
      size_t k = jsonpath_eval_parents(
          p, jsonpath_is_relative(p) ? recs[r] : root, v, parent, 2);
      /* A record without this series is not about it. */
      if (k == 0)
        continue;
      if (k > 1) {
        tally[i].found++;
        extract_error(out, s->id,
                      "series '%s' (%s)%s: selected %zu values; the path "
                      "must select exactly one",
                      s->id, s->path, where, k);
        continue;
      }
      if (gap_of(v[0], parent[0])) {
        tally[i].gaps++;
        continue;
      }
      tally[i].found++;
      add_value(out, s, v[0], &t, where);
    }
  }
  out->record = 0;
  say_what_was_missing(f, tally, n, timed, out);
  free(tally);
  free(recs);
  return 0;
}

static int extract(const struct feed *f, const void *state,
                   const struct extract_body *b, struct extract_out *out) {
  const struct json_state *st = state;
  json_error_t jerr;
  json_t *root;
  int rc;
  /* Integers as reals: a feed's 20-digit number is still a number. */
  root = json_loadb(b->data, b->len,
                    JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL |
                        JSON_REJECT_DUPLICATES,
                    &jerr);
  if (!root) {
    extract_error(out, NULL, "invalid JSON at line %d column %d: %s", jerr.line,
                  jerr.column, jerr.text);
    return -EINVAL;
  }
  rc = st->records ? per_record(f, st, root, b->fetch_ms, out)
                   : one_shot(f, st, root, b->fetch_ms, out);
  json_decref(root);
  return rc;
}

/* ---- compiling ---- */

static int compile_path(const char *what, const char *text,
                        struct jsonpath **out, char *err, size_t errlen) {
  char why[128];
  size_t at = 0;
  if (jsonpath_compile(text, out, why, sizeof(why), &at) < 0) {
    snprintf(err, errlen, "%s %s: %s at character %zu", what, text, why,
             at + 1);
    return -EINVAL;
  }
  return 0;
}

static void release(void *state) {
  struct json_state *st = state;
  if (!st)
    return;
  for (size_t i = 0; i < st->n; i++)
    jsonpath_free(st->paths[i]);
  free(st->paths);
  jsonpath_free(st->records);
  jsonpath_free(st->time);
  free(st);
}

static int compile(const struct feed *f, void **state, char *err,
                   size_t errlen) {
  struct json_state *st = xcalloc(1, sizeof(*st));
  const char *records = records_of(f);
  int rc = 0;
  st->paths = xcalloc(f->nseries + 1, sizeof(*st->paths));
  st->n = f->nseries;
  if (records)
    rc = compile_path("records", records, &st->records, err, errlen);
  if (rc == 0 && f->time)
    rc = compile_path("time", f->time, &st->time, err, errlen);
  for (size_t i = 0; rc == 0 && i < f->nseries; i++) {
    const struct feed_series *s = &f->series[i];
    char what[200];
    snprintf(what, sizeof(what), "series '%s' path", s->id);
    rc = compile_path(what, s->path, &st->paths[i], err, errlen);
    if (rc == 0 && !records && jsonpath_is_relative(st->paths[i])) {
      snprintf(err, errlen,
               "series '%s' path %s: '@' paths need records: on the feed",
               s->id, s->path);
      rc = -EINVAL;
    }
  }
  if (rc == 0 && st->time && jsonpath_is_relative(st->time) && !st->records) {
    snprintf(err, errlen, "time %s: '@' paths need records: on the feed",
             f->time);
    rc = -EINVAL;
  }
  if (rc == 0 && st->records && !st->time) {
    snprintf(err, errlen, "records %s needs time: (the time of each record)",
             records);
    rc = -EINVAL;
  }
  if (rc < 0) {
    release(st);
    return rc;
  }
  *state = st;
  return 0;
}

/* ---- checking, while the configuration loads ---- */

/* Compiles a path as compile will, reporting at the offending character. */
static void check_path(struct feed_check *chk, const struct feed *f,
                       const char *path, const struct config_pos *at) {
  struct jsonpath *jp = NULL;
  char why[128];
  size_t off = 0;
  if (jsonpath_compile(path, &jp, why, sizeof(why), &off) < 0) {
    feed_check_error(chk, at, (long)off, "JSONPath: %s", why);
    return;
  }
  if (jsonpath_is_relative(jp) && !records_of(f))
    feed_check_error(chk, at, -1,
                     "JSONPath '@' is relative to a record; the feed needs "
                     "records: (or start the path with $)");
  jsonpath_free(jp);
}

/* The records path, compiled as compile will. */
static void check_records(struct feed_check *chk, const struct ydoc_node *r) {
  struct jsonpath *jp = NULL;
  struct config_pos at = feed_check_pos(chk, r);
  char why[128];
  size_t off = 0;
  /* The option is a copy (${} expanded): the position is the value's,
   * the offending character is named. */
  if (jsonpath_compile(r->value, &jp, why, sizeof(why), &off) < 0)
    feed_check_error(chk, &at, -1, "records JSONPath: %s at character %zu", why,
                     off + 1);
  jsonpath_free(jp);
}

static void check(const struct feed *f, struct feed_check *chk) {
  const struct ydoc_node *r = feed_option(f->options, "records");
  if (r) {
    struct config_pos at = feed_check_pos(chk, r);
    if (r->kind != YDOC_SCALAR)
      feed_check_error(chk, &at, -1, "records must be a scalar, not %s",
                       ydoc_kind_name(r->kind));
    else if (!r->value[0])
      feed_check_error(chk, &at, -1, "records must not be empty");
    else if (r->value[0] != '$')
      feed_check_error(chk, &at, -1,
                       "records must be a JSONPath starting with '$' "
                       "(as in $.data[*])");
    else
      check_records(chk, r);
    /* Without a time every record would stand at the fetch time, one
     * overwriting the other. */
    if (!f->time)
      feed_check_error(chk, &at, -1,
                       "records needs time: on the feed (the JSONPath of "
                       "each record's time, as in \"@.date\")");
  }
  if (f->time)
    check_path(chk, f, f->time, &f->time_pos);
  for (size_t i = 0; i < f->nseries; i++)
    if (f->series[i].path)
      check_path(chk, f, f->series[i].path, &f->series[i].path_pos);
}

static const char *const feed_keys[] = {"records", NULL};

const struct feed_format feed_json = {
    .name = "json",
    .path_key = "path",
    .takes_time = true,
    .feed_keys = feed_keys,
    .check = check,
    .compile = compile,
    .free = release,
    .extract = extract,
};
