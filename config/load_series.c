#include "load.h"

#include "clock.h"
#include "feed_format.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const meta_keys[] = {"title", "unit", "kind",      "min",
                                        "max",   "at",   "retention", NULL};

struct meta_entry *load_meta_find(struct loader *L, const char *id) {
  uintptr_t at = (uintptr_t)strmap_get(&L->meta_index, id);
  return at ? &L->metas[at - 1] : NULL;
}

static bool load_meta_key(struct loader *L, const struct ydoc_node *map,
                          const char *key, struct series_meta *m,
                          unsigned *set) {
  const struct ydoc_node *v = ydoc_get(map, key);
  if (!v)
    return true;
  if (strcmp(key, "title") == 0) {
    *set |= META_TITLE;
    return load_str(L, v, "title", &m->title);
  }
  if (strcmp(key, "unit") == 0) {
    *set |= META_UNIT;
    return load_str(L, v, "unit", &m->unit);
  }
  if (strcmp(key, "kind") == 0) {
    static const char *const kinds[] = {"instant", "cumulative", "increment"};
    char *s = NULL;
    *set |= META_KIND;
    if (!load_str(L, v, "kind", &s))
      return false;
    for (int i = 0; i < 3; i++)
      if (strcmp(s, kinds[i]) == 0) {
        m->kind = (enum series_kind)i;
        free(s);
        return true;
      }
    load_error(L, v, "kind must be instant, cumulative or increment, not '%s'",
               s);
    free(s);
    return false;
  }
  if (strcmp(key, "min") == 0) {
    *set |= META_MIN;
    m->has_min = true;
    return load_number(L, v, "min", &m->min);
  }
  if (strcmp(key, "max") == 0) {
    *set |= META_MAX;
    m->has_max = true;
    return load_number(L, v, "max", &m->max);
  }
  if (strcmp(key, "at") == 0) {
    char *s = NULL;
    *set |= META_AT;
    if (!load_str(L, v, "at", &s))
      return false;
    if (strcmp(s, "start") == 0)
      m->at = AT_START;
    else if (strcmp(s, "end") == 0)
      m->at = AT_END;
    else
      load_error(L, v, "at must be start or end, not '%s'", s);
    free(s);
    return true;
  }
  if (strcmp(key, "retention") == 0) {
    *set |= META_RETENTION;
    return load_duration(L, v, "retention", MS_PER_MINUTE, true,
                         &m->retention_ms);
  }
  return true;
}

static void load_meta(struct loader *L, const struct ydoc_node *map,
                      struct series_meta *m, unsigned *set) {
  for (size_t i = 0; meta_keys[i]; i++)
    load_meta_key(L, map, meta_keys[i], m, set);
  if (m->has_min && m->has_max && m->min > m->max)
    load_error(L, ydoc_get(map, "max"), "max (%g) is below min (%g)", m->max,
               m->min);
}

void load_meta_free(struct series_meta *m) {
  free(m->title);
  free(m->unit);
}

void load_series_section(struct loader *L, const struct ydoc_node *n) {
  if (!n || !load_want(L, n, YDOC_MAP, "series"))
    return;
  for (size_t i = 0; i < n->n; i++) {
    const struct ydoc_node *k = n->keys[i], *v = n->items[i];
    struct meta_entry *e;
    char *id = NULL;
    if (!load_id(L, k, "series id", &id)) {
      free(id);
      continue;
    }
    {
      const struct meta_entry *seen = load_meta_find(L, id);
      if (seen) {
        load_error(L, k, "series '%s' already described at %s:%d", id,
                   seen->pos.file, seen->pos.line);
        free(id);
        continue;
      }
    }
    if (!load_want(L, v, YDOC_MAP, "a series description")) {
      free(id);
      continue;
    }
    load_keys(L, v, "a series description", meta_keys);
    xgrow((void **)&L->metas, &L->capmetas, L->nmetas + 1, sizeof(*L->metas));
    e = &L->metas[L->nmetas++];
    memset(e, 0, sizeof(*e));
    e->id = id;
    strmap_put(&L->meta_index, e->id, (const void *)(uintptr_t)L->nmetas);
    e->pos = load_pos(L, k);
    load_meta(L, v, &e->meta, &e->set);
  }
}

/* ---- the formats' keys ---- */

static bool listed(const char *const *list, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i], key) == 0)
      return true;
  return false;
}

/* before, then the keys every format names through keys_of (in table
 * order, each once), then after; NULL-terminated. */
static const char **
key_list(const char *const *before,
         const char *const *(*keys_of)(const struct feed_format *, size_t *),
         const char *const *after) {
  const char **out = NULL;
  size_t n = 0, cap = 0;
  for (size_t i = 0; before && before[i]; i++) {
    xgrow((void **)&out, &cap, n + 2, sizeof(*out));
    out[n++] = before[i];
  }
  for (size_t f = 0; keys_of && feed_formats[f]; f++) {
    size_t nk;
    const char *const *keys = keys_of(feed_formats[f], &nk);
    for (size_t i = 0; i < nk; i++)
      if (!listed(out, n, keys[i])) {
        xgrow((void **)&out, &cap, n + 2, sizeof(*out));
        out[n++] = keys[i];
      }
  }
  for (size_t i = 0; after && after[i]; i++) {
    xgrow((void **)&out, &cap, n + 2, sizeof(*out));
    out[n++] = after[i];
  }
  out[n] = NULL;
  return out;
}

static size_t count(const char *const *v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

static const char *const *path_keys_of(const struct feed_format *f, size_t *n) {
  *n = f->path_key ? 1 : 0;
  return &f->path_key;
}

static const char *const *feed_keys_of(const struct feed_format *f, size_t *n) {
  *n = count(f->feed_keys);
  return f->feed_keys;
}

static const char *const *series_keys_of(const struct feed_format *f,
                                         size_t *n) {
  *n = count(f->series_keys);
  return f->series_keys;
}

const char *const *load_feed_keys(struct loader *L) {
  static const char *const before[] = {
      "id",      "url",         "url_file",  "every",    "timeout",
      "headers", "auth",        "tls",       "max_body", "format",
      "time",    "time_format", "not_after", NULL};
  static const char *const after[] = {"series", NULL};
  if (!L->feed_keys)
    L->feed_keys = key_list(before, feed_keys_of, after);
  return L->feed_keys;
}

/* Keys of a feed's series that every format takes, besides the metadata. */
static const char *const extract_keys[] = {"scale", NULL};

static const char *const *series_keys(struct loader *L) {
  if (!L->series_keys) {
    const char **paths = key_list(NULL, path_keys_of, NULL);
    const char **keys = key_list(paths, series_keys_of, extract_keys);
    L->series_keys = key_list(keys, NULL, meta_keys);
    free(keys);
    free(paths);
  }
  return L->series_keys;
}

/* The formats that take key (through keys_of), for "applies to ... feeds
 * only". Caller frees. */
static char *formats_taking(
    const char *key,
    const char *const *(*keys_of)(const struct feed_format *, size_t *)) {
  const char *names[16];
  size_t n = 0;
  for (size_t f = 0; feed_formats[f] && n < ARRAY_SIZE(names); f++) {
    size_t nk;
    const char *const *keys = keys_of(feed_formats[f], &nk);
    if (listed(keys, nk, key))
      names[n++] = feed_formats[f]->name;
  }
  return load_join(names, n, " and ");
}

/* The formats whose bodies carry unit multipliers. Caller frees. */
static char *formats_scaling(void) {
  const char *names[16];
  size_t n = 0;
  for (size_t f = 0; feed_formats[f] && n < ARRAY_SIZE(names); f++)
    if (feed_formats[f]->scale_auto)
      names[n++] = feed_formats[f]->name;
  return load_join(names, n, " and ");
}

/* Copies the keys of map that belong to formats into *options when f's
 * format takes them; reports those it does not. */
static void load_options(
    struct loader *L, const struct feed *f, const struct ydoc_node *map,
    const char *const *(*keys_of)(const struct feed_format *, size_t *),
    struct ydoc_node **options) {
  size_t nown;
  const char *const *own = keys_of(f->format, &nown);
  for (size_t i = 0; i < map->n; i++) {
    const struct ydoc_node *k = map->keys[i];
    struct ydoc_node *copy;
    bool anywhere = false;
    for (size_t j = 0; feed_formats[j] && !anywhere; j++) {
      size_t nk;
      const char *const *keys = keys_of(feed_formats[j], &nk);
      anywhere = listed(keys, nk, k->value);
    }
    if (!anywhere)
      continue;
    if (!listed(own, nown, k->value)) {
      char *names = formats_taking(k->value, keys_of);
      load_error(L, k, "%s applies to %s feeds only", k->value, names);
      free(names);
      continue;
    }
    copy = load_copy(L, map->items[i]);
    if (!copy)
      continue;
    if (!*options)
      *options = ydoc_map_new(map->line, map->col);
    ydoc_map_add(*options, k, copy);
  }
}

void load_feed_options(struct loader *L, struct feed *f,
                       const struct ydoc_node *map) {
  load_options(L, f, map, feed_keys_of, &f->options);
}

/* ---- a feed's series ---- */

/* scale: a multiplier, or auto for formats that publish their own. */
static void load_scale(struct loader *L, const struct feed *f,
                       struct feed_series *s, const struct ydoc_node *n) {
  char *text = NULL;
  if (!n || !load_nonempty(L, n, "scale", &text)) {
    free(text);
    return;
  }
  if (strcmp(text, "auto") == 0) {
    if (f->format->scale_auto) {
      s->scale_auto = true;
    } else {
      char *names = formats_scaling();
      load_error(L, n,
                 "scale: auto applies the unit multiplier that %s bodies "
                 "carry; %s feeds need a number (10000 for data in 万)",
                 names, f->format->name);
      free(names);
    }
  } else if (load_number(L, n, "scale", &s->scale) && s->scale == 0) {
    load_error(L, n, "scale must not be 0");
    s->scale = 1;
  }
  free(text);
}

/* The map a path key takes (key: {DIM: code}), copied into the series'
 * options under that key. */
static void load_path_map(struct loader *L, const struct feed_format *fmt,
                          struct feed_series *s, const struct ydoc_node *key,
                          const struct ydoc_node *node) {
  struct ydoc_node *copy;
  if (ydoc_is_null(node))
    return;
  if (node->kind != YDOC_MAP) {
    load_error(L, node,
               "%s must be a mapping of dimension to code, as in "
               "{REF_AREA: CN}, not %s",
               fmt->path_key, ydoc_kind_name(node->kind));
    return;
  }
  copy = load_copy(L, node);
  if (!copy)
    return;
  if (!s->options)
    s->options = ydoc_map_new(node->line, node->col);
  ydoc_map_add(s->options, key, copy);
}

void load_feed_series(struct loader *L, struct feed *f,
                      const struct ydoc_node *n) {
  const struct feed_format *fmt = f->format;
  const char *want_key = fmt->path_key ? fmt->path_key : "path";
  if (!load_want(L, n, YDOC_MAP, "series"))
    return;
  if (n->n == 0) {
    load_error(L, n, "feed '%s' extracts no series", f->id ? f->id : "?");
    return;
  }
  f->series = xcalloc(n->n, sizeof(*f->series));
  for (size_t i = 0; i < n->n; i++) {
    const struct ydoc_node *k = n->keys[i], *v = n->items[i];
    struct feed_series *s = &f->series[f->nseries];
    const struct ydoc_node *pathnode = NULL;
    unsigned set = 0;
    memset(s, 0, sizeof(*s));
    if (!load_id(L, k, "series id", &s->id)) {
      free(s->id);
      continue;
    }
    s->pos = load_pos(L, k);
    load_series_defaults(s);
    f->nseries++;
    if (ydoc_is_null(v)) {
      if (fmt->path_key && !fmt->path_optional)
        load_error(L, v, "series '%s' needs a %s", s->id, want_key);
      continue;
    }
    if (v->kind == YDOC_SCALAR && fmt->path_is_map) {
      load_error(L, v, "series '%s' needs %s: {DIM: code, ...} in an object",
                 s->id, want_key);
    } else if (v->kind == YDOC_SCALAR) {
      pathnode = v;
    } else if (load_want(L, v, YDOC_MAP, "a series")) {
      const char *const *keys = series_keys(L);
      load_keys(L, v, "a feed series", keys);
      for (size_t j = 0; feed_formats[j]; j++) {
        const char *pk = feed_formats[j]->path_key;
        const struct ydoc_node *node;
        bool seen = false;
        /* Each path key once, in table order. */
        for (size_t e = 0; pk && e < j && !seen; e++)
          seen = feed_formats[e]->path_key &&
                 strcmp(feed_formats[e]->path_key, pk) == 0;
        if (!pk || seen || !(node = ydoc_key(v, pk)))
          continue;
        if (!fmt->path_key)
          load_error(L, node, "%s feeds take no '%s': %s", fmt->name, pk,
                     fmt->no_path);
        else if (strcmp(pk, want_key) != 0)
          load_error(L, node, "%s feeds take '%s', not '%s'", fmt->name,
                     want_key, pk);
        else if (fmt->path_is_map)
          load_path_map(L, fmt, s, node, ydoc_get(v, pk));
        else
          pathnode = ydoc_get(v, pk);
      }
      load_options(L, f, v, series_keys_of, &s->options);
      load_scale(L, f, s, ydoc_get(v, "scale"));
      load_meta(L, v, &s->meta, &set);
      /* One key in both places would leave the reader guessing which wins. */
      {
        struct meta_entry *e = load_meta_find(L, s->id);
        for (int b = 0; e && meta_keys[b]; b++)
          if (set & e->set & (1u << b))
            load_error(L, ydoc_key(v, meta_keys[b]),
                       "'%s' of series '%s' is also given in series: at %s:%d",
                       meta_keys[b], s->id, e->pos.file, e->pos.line);
      }
      if (!pathnode && fmt->path_key && !fmt->path_optional)
        load_error(L, v, "series '%s' needs a %s", s->id, want_key);
    }
    if (pathnode) {
      if (!fmt->path_key) {
        if (v->kind == YDOC_SCALAR && pathnode->value[0])
          load_error(L, pathnode, "%s feeds take no path: %s", fmt->name,
                     fmt->no_path);
      } else if (load_nonempty(L, pathnode, want_key, &s->path)) {
        s->path_pos = load_text_pos(L, pathnode, s->path);
      }
    }
    /* Merge the top-level description (keys not given here). */
    {
      struct meta_entry *e = load_meta_find(L, s->id);
      if (!e)
        continue;
      e->used = true;
      /* A title or unit that failed to load is set but empty (its error
       * is already reported). */
      if ((e->set & META_TITLE) && e->meta.title && !s->meta.title)
        s->meta.title = xstrdup(e->meta.title);
      if ((e->set & META_UNIT) && e->meta.unit && !s->meta.unit)
        s->meta.unit = xstrdup(e->meta.unit);
      if (e->set & META_KIND)
        s->meta.kind = e->meta.kind;
      if (e->set & META_MIN) {
        s->meta.has_min = true;
        s->meta.min = e->meta.min;
      }
      if (e->set & META_MAX) {
        s->meta.has_max = true;
        s->meta.max = e->meta.max;
      }
      if (e->set & META_AT)
        s->meta.at = e->meta.at;
      if (e->set & META_RETENTION)
        s->meta.retention_ms = e->meta.retention_ms;
    }
  }
}

/* ---- the format's own checks ---- */

struct format_report {
  struct feed_check chk;
  struct loader *L;
};

static void report(struct feed_check *chk, const struct config_pos *at,
                   const char *msg) {
  struct format_report *r = container_of(chk, struct format_report, chk);
  diag_add(r->L->d, at->file, at->line, at->col, "%s", msg);
}

void load_format_check(struct loader *L, const struct feed *f) {
  struct format_report r = {{L->file, report}, L};
  if (f->format->check)
    f->format->check(f, &r.chk);
}
