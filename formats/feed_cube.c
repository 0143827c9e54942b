#include "feed_cube.h"

#include "util.h"

#include <errno.h>
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

static void read_series(const struct feed *f, const struct feed_series *s,
                        const char *key_text, const struct cube_points *pts,
                        struct extract_out *out) {
  for (size_t k = 0; k < pts->n; k++) {
    const struct cube_point *p = &pts->v[k];
    struct timefmt_value t;
    char why[160];
    out->record = p->time_pos + 1;
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

int feed_cube_extract(const struct feed *f, const void *state,
                      const struct extract_body *b,
                      const struct feed_cube_reader *reader,
                      struct extract_out *out) {
  const struct cube_state *st = state;
  struct cube_points pts = {0};
  json_error_t jerr;
  char err[512];
  json_t *doc = json_loadb(b->data, b->len,
                           JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
  if (!doc) {
    extract_error(out, NULL, "invalid JSON at line %d column %d: %s", jerr.line,
                  jerr.column, jerr.text);
    return -EINVAL;
  }
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
