#include "feed_cube.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The compiled keys of a feed's series. */
struct cube_state {
  struct cube_key *keys;
  struct cube_key_part **parts; /* owned arrays behind keys[i].parts */
  char **texts;                 /* "{geo: DE}" for messages */
  size_t n;
};

static const struct ydoc_node *key_of(const struct feed_series *s) {
  return feed_option(s->options, "key");
}

void feed_cube_check(const struct feed *f, struct feed_check *chk) {
  for (size_t i = 0; i < f->nseries; i++) {
    const struct ydoc_node *k = key_of(&f->series[i]);
    struct config_pos at;
    if (!k || ydoc_is_null(k))
      continue;
    at = feed_check_pos(chk, k);
    if (k->kind != YDOC_MAP) {
      feed_check_error(chk, &at, -1,
                       "key must be a mapping of dimension to code, as in "
                       "{REF_AREA: CN}, not %s",
                       ydoc_kind_name(k->kind));
      continue;
    }
    for (size_t j = 0; j < k->n; j++) {
      const struct ydoc_node *code = k->items[j];
      if (!k->keys[j]->value[0]) {
        struct config_pos kat = feed_check_pos(chk, k->keys[j]);
        feed_check_error(chk, &kat, -1, "key: a dimension must be named");
      } else if (code->kind != YDOC_SCALAR || ydoc_is_null(code) ||
                 !code->value[0]) {
        struct config_pos cat = feed_check_pos(chk, code);
        feed_check_error(chk, &cat, -1,
                         "key: dimension %s needs one code (a scalar), not %s",
                         k->keys[j]->value,
                         ydoc_is_null(code) ? "nothing"
                                            : ydoc_kind_name(code->kind));
      }
    }
  }
}

void feed_cube_free(void *state) {
  struct cube_state *st = state;
  if (!st)
    return;
  for (size_t i = 0; i < st->n; i++) {
    free(st->parts[i]);
    free(st->texts[i]);
  }
  free(st->parts);
  free(st->texts);
  free(st->keys);
  free(st);
}

int feed_cube_compile(const struct feed *f, void **state, char *err,
                      size_t errlen) {
  struct cube_state *st = xcalloc(1, sizeof(*st));
  st->n = f->nseries;
  st->keys = xcalloc(f->nseries + 1, sizeof(*st->keys));
  st->parts = xcalloc(f->nseries + 1, sizeof(*st->parts));
  st->texts = xcalloc(f->nseries + 1, sizeof(*st->texts));
  for (size_t i = 0; i < f->nseries; i++) {
    const struct ydoc_node *k = key_of(&f->series[i]);
    struct strbuf sb = {0};
    size_t n = k && k->kind == YDOC_MAP ? k->n : 0;
    if (k && !ydoc_is_null(k) && k->kind != YDOC_MAP) {
      snprintf(err, errlen, "series '%s': key must be a mapping",
               f->series[i].id);
      feed_cube_free(st);
      return -EINVAL;
    }
    st->parts[i] = xcalloc(n + 1, sizeof(**st->parts));
    strbuf_adds(&sb, "{");
    for (size_t j = 0; j < n; j++) {
      if (k->items[j]->kind != YDOC_SCALAR) {
        snprintf(err, errlen, "series '%s': key %s needs one code",
                 f->series[i].id, k->keys[j]->value);
        strbuf_free(&sb);
        feed_cube_free(st);
        return -EINVAL;
      }
      st->parts[i][j].dim = k->keys[j]->value;
      st->parts[i][j].code = k->items[j]->value;
      strbuf_addf(&sb, "%s%s: %s", j ? ", " : "", k->keys[j]->value,
                  k->items[j]->value);
    }
    strbuf_adds(&sb, "}");
    st->keys[i].parts = st->parts[i];
    st->keys[i].n = n;
    st->texts[i] = strbuf_take(&sb);
  }
  *state = st;
  return 0;
}

/* An SDMX time range: a start, "/", and a duration (P1Y) or an end date;
 * "2020/21" (a fiscal year) is left to the time parser to refuse. */
static bool is_time_range(const char *period) {
  const char *slash = strchr(period, '/');
  return slash && (slash[1] == 'P' || strlen(slash + 1) >= 10);
}

static void read_series(const struct feed *f, const struct feed_series *s,
                        const char *key_text, const struct cube_points *pts,
                        struct extract_out *out) {
  for (size_t k = 0; k < pts->n; k++) {
    const struct cube_point *p = &pts->v[k];
    struct timefmt_value t;
    char why[160];
    out->record = p->time_pos + 1;
    /* An SDMX time range (2020-07-01/P1Y) has no calendar period to stand
     * at; saying so beats a parser error about its second half. */
    if (is_time_range(p->period)) {
      extract_error(out, s->id,
                    "series '%s' (key %s): period '%.40s' is a time range "
                    "(start/duration), which is not supported: ask the "
                    "service for calendar periods",
                    s->id, key_text, p->period);
      continue;
    }
    if (extract_time(f, p->period, strlen(p->period), &t, why, sizeof(why)) <
        0) {
      extract_error(out, s->id, "series '%s' (key %s): period '%.40s': %s",
                    s->id, key_text, p->period, why);
      continue;
    }
    if (s->scale_auto)
      extract_add_scaled(out, s, &t, cube_point_value(p));
    else
      extract_add(out, s, &t, p->value);
  }
  out->record = 0;
}

/* Duplicated names a body may carry before it is refused. */
#define CUBE_MAX_DUPLICATES 64

/* Whether a key names a cell: SDMX series and observation keys ("0:1:0")
 * and JSON-stat sparse value keys ("12") are digits and colons. */
static bool is_cell_key(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!isdigit((unsigned char)s[i]) && s[i] != ':')
      return false;
  return true;
}

/* Where the key jansson refused as a duplicate starts and ends in text:
 * the last string before the error position. false when not found. */
static bool duplicate_at(const char *text, size_t len, size_t pos, size_t *open,
                         size_t *close) {
  size_t i = pos < len ? pos : len;
  while (i > 0 && text[i - 1] != '"')
    i--;
  if (i == 0)
    return false;
  *close = i - 1;
  for (i = *close; i-- > 0;) {
    size_t slashes = 0;
    if (text[i] != '"')
      continue;
    while (i > slashes && text[i - 1 - slashes] == '\\')
      slashes++;
    if (slashes % 2 == 0) {
      *open = i;
      return true;
    }
  }
  return false;
}

/* Parses the body. A name repeated in one object is tolerated where it is
 * metadata (the SDMX-JSON 1.0 sample repeats "keyPosition"; JavaScript
 * readers keep one): the repeat is renamed and kept out of the way. A
 * repeated cell key is two values for one cell and is refused, naming
 * it. */
static json_t *load_cube(const char *data, size_t len,
                         struct extract_out *out) {
  char *copy = NULL;
  const char *text = data;
  json_t *doc = NULL;
  json_error_t jerr;
  for (int dups = 0;; dups++) {
    size_t open, close;
    char name[32], *next;
    int ins;
    doc =
        json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (doc)
      break;
    if (json_error_code(&jerr) != json_error_duplicate_key ||
        !duplicate_at(text, len, (size_t)jerr.position, &open, &close) ||
        is_cell_key(text + open + 1, close - open - 1) ||
        dups == CUBE_MAX_DUPLICATES) {
      extract_error(out, NULL, "invalid JSON at line %d column %d: %s%s",
                    jerr.line, jerr.column, jerr.text,
                    json_error_code(&jerr) == json_error_duplicate_key
                        ? " (a cell given twice, or too many repeated names)"
                        : "");
      break;
    }
    /* "\u0001dup<n>:" cannot be a name the publisher wrote. */
    ins = snprintf(name, sizeof(name), "\\u0001dup%d:", dups);
    next = xmalloc(len + (size_t)ins);
    memcpy(next, text, open + 1);
    memcpy(next + open + 1, name, (size_t)ins);
    memcpy(next + open + 1 + ins, text + open + 1, len - open - 1);
    len += (size_t)ins;
    free(copy);
    copy = next;
    text = copy;
  }
  free(copy);
  return doc;
}

int feed_cube_extract(const struct feed *f, const void *state,
                      const struct extract_body *b,
                      const struct feed_cube_reader *reader,
                      struct extract_out *out) {
  const struct cube_state *st = state;
  struct cube_points pts = {0};
  char err[512];
  json_t *doc = load_cube(b->data, b->len, out);
  if (!doc)
    return -EINVAL;
  if (reader->check(doc, err, sizeof(err)) < 0) {
    extract_error(out, NULL, "%s", err);
    json_decref(doc);
    return -EINVAL;
  }
  out->record_noun = "period";
  for (size_t i = 0; i < f->nseries; i++) {
    const struct feed_series *s = &f->series[i];
    if (reader->read(doc, &st->keys[i], f->time, &pts, err, sizeof(err)) < 0) {
      extract_error(out, s->id, "series '%s' (key %s): %s", s->id, st->texts[i],
                    err);
      continue;
    }
    if (pts.n == 0) {
      extract_error(out, s->id,
                    "series '%s' (key %s): the %s body has no value for "
                    "this key in any period",
                    s->id, st->texts[i], reader->what);
      continue;
    }
    read_series(f, s, st->texts[i], &pts, out);
  }
  cube_points_free(&pts);
  json_decref(doc);
  return 0;
}
