#include "load.h"

#include "clock.h"
#include "feed_prom.h"
#include "jsonpath.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static const char *const format_names[] = {"json", "csv", "prometheus", "text"};
static const char *const path_key[] = {"path", "column", "metric", NULL};

static void load_where(struct loader *L, const struct ydoc_node *n,
                       struct feed_series *s) {
  if (!load_want(L, n, YDOC_MAP, "where"))
    return;
  s->where = xcalloc(n->n, sizeof(*s->where));
  for (size_t i = 0; i < n->n; i++) {
    struct config_kv *kv = &s->where[s->nwhere];
    kv->key = NULL;
    kv->value = NULL;
    if (!load_nonempty(L, n->keys[i], "where column", &kv->key) ||
        !load_str(L, n->items[i], "where value", &kv->value)) {
      free(kv->key);
      free(kv->value);
      continue;
    }
    s->nwhere++;
  }
}

/* Compiles a JSONPath or Prometheus selector as the collector will. */
static void check_path_syntax(struct loader *L, const struct ydoc_node *n,
                              const struct feed *f, const char *path) {
  char why[128];
  size_t at = 0;
  if (f->format == FEED_JSON) {
    struct jsonpath *jp = NULL;
    if (jsonpath_compile(path, &jp, why, sizeof(why), &at) < 0) {
      struct ydoc_node pos = load_at_offset(n, path, at);
      load_error(L, &pos, "JSONPath: %s", why);
      return;
    }
    if (jsonpath_is_relative(jp) && !f->records)
      load_error(L, n,
                 "JSONPath '@' is relative to a record; the feed needs "
                 "records: (or start the path with $)");
    jsonpath_free(jp);
  } else if (f->format == FEED_PROMETHEUS) {
    struct prom_selector *sel = NULL;
    if (feed_prom_selector_parse(path, &sel, why, sizeof(why), &at) < 0) {
      struct ydoc_node pos = load_at_offset(n, path, at);
      load_error(L, &pos, "Prometheus selector: %s (as in name{label=\"v\"})",
                 why);
      return;
    }
    feed_prom_selector_free(sel);
  }
}

static void load_feed_series(struct loader *L, struct feed *f,
                             const struct ydoc_node *n) {
  const char *want_key = path_key[f->format < FEED_TEXT ? f->format : 0];
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
    f->nseries++;
    if (ydoc_is_null(v)) {
      if (f->format != FEED_TEXT)
        load_error(L, v, "series '%s' needs a %s", s->id, want_key);
      continue;
    }
    if (v->kind == YDOC_SCALAR) {
      pathnode = v;
    } else if (load_want(L, v, YDOC_MAP, "a series")) {
      static const char *const keys[] = {
          "path", "column", "metric", "where", "title",     "unit",
          "kind", "min",    "max",    "at",    "retention", NULL};
      load_keys(L, v, "a feed series", keys);
      for (int j = 0; path_key[j]; j++) {
        const struct ydoc_node *pk = ydoc_key(v, path_key[j]);
        if (!pk)
          continue;
        if (f->format == FEED_TEXT)
          load_error(L, pk, "text feeds take no '%s': the body is one number",
                     path_key[j]);
        else if (strcmp(path_key[j], want_key) != 0)
          load_error(L, pk, "%s feeds take '%s', not '%s'",
                     format_names[f->format], want_key, path_key[j]);
        else
          pathnode = ydoc_get(v, path_key[j]);
      }
      if (ydoc_get(v, "where")) {
        if (f->format != FEED_CSV)
          load_error(L, ydoc_key(v, "where"),
                     "where applies to csv feeds only");
        else
          load_where(L, ydoc_get(v, "where"), s);
      }
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
      if (!pathnode && f->format != FEED_TEXT)
        load_error(L, v, "series '%s' needs a %s", s->id, want_key);
    }
    if (pathnode) {
      if (f->format == FEED_TEXT) {
        if (v->kind == YDOC_SCALAR && pathnode->value[0])
          load_error(L, pathnode,
                     "text feeds take no path: the body is one number");
      } else if (load_nonempty(L, pathnode, want_key, &s->path)) {
        if (f->format == FEED_CSV) {
          char *end;
          long idx = strtol(s->path, &end, 10);
          if (!*end && end != s->path) {
            if (idx < 1 || idx > 10000)
              load_error(L, pathnode, "column index must be from 1 to 10000");
            else
              s->column_index = (int)idx;
          }
        } else {
          check_path_syntax(L, pathnode, f, s->path);
        }
      }
    }
    (void)set;
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

static void load_headers(struct loader *L, struct feed *f,
                         const struct ydoc_node *n) {
  if (!load_want(L, n, YDOC_MAP, "headers"))
    return;
  f->headers = xcalloc(n->n, sizeof(*f->headers));
  for (size_t i = 0; i < n->n; i++) {
    struct config_kv *kv = &f->headers[f->nheaders];
    const char *name = n->keys[i]->value;
    bool ok = *name != '\0';
    for (const char *p = name; *p; p++)
      if (!(isalnum((unsigned char)*p) || strchr("!#$%&'*+-.^_`|~", *p)))
        ok = false;
    if (!ok) {
      load_error(L, n->keys[i], "'%s' is not a valid HTTP header name", name);
      continue;
    }
    kv->key = xstrdup(name);
    kv->value = NULL;
    if (!load_str(L, n->items[i], "header value", &kv->value)) {
      free(kv->key);
      continue;
    }
    if (strpbrk(kv->value, "\r\n")) {
      load_error(L, n->items[i], "header %s: value contains a line break",
                 name);
      free(kv->key);
      free(kv->value);
      continue;
    }
    f->nheaders++;
  }
}

static void load_auth(struct loader *L, struct feed *f,
                      const struct ydoc_node *n) {
  static const char *const keys[] = {"basic", "bearer", "bearer_file", NULL};
  static const char *const bkeys[] = {"user", "password", "password_file",
                                      NULL};
  const struct ydoc_node *b;
  bool bearer = false;
  if (!load_want(L, n, YDOC_MAP, "auth"))
    return;
  load_keys(L, n, "auth", keys);
  load_secret(L, n, "bearer", &f->bearer_token, &bearer);
  b = ydoc_get(n, "basic");
  if (b && bearer)
    load_error(L, ydoc_key(n, "basic"), "give basic or bearer auth, not both");
  if (b && load_want(L, b, YDOC_MAP, "basic")) {
    bool pw = false;
    load_keys(L, b, "basic auth", bkeys);
    if (!ydoc_get(b, "user"))
      load_error(L, b, "basic auth needs a user");
    load_str(L, ydoc_get(b, "user"), "user", &f->basic_user);
    load_secret(L, b, "password", &f->basic_password, &pw);
    if (!pw)
      load_error(L, b, "basic auth needs password or password_file");
  }
  for (size_t i = 0; i < f->nheaders; i++)
    if (strcasecmp(f->headers[i].key, "Authorization") == 0 && (b || bearer))
      load_error(L, n, "auth and an Authorization header are both given");
}

static void load_file_opt(struct loader *L, const struct ydoc_node *n,
                          const char *what, char **out) {
  char *name = NULL;
  if (!n || !load_nonempty(L, n, what, &name)) {
    free(name);
    return;
  }
  free(*out);
  *out = load_path(L, name, true);
  if (access(*out, R_OK) != 0)
    load_error(L, n, "%s: cannot read '%s': %s", what, name, strerror(errno));
  free(name);
}

static void load_tls(struct loader *L, struct feed *f,
                     const struct ydoc_node *n) {
  static const char *const keys[] = {"verify", "ca_file", "cert_file",
                                     "key_file", NULL};
  if (!load_want(L, n, YDOC_MAP, "tls"))
    return;
  load_keys(L, n, "tls", keys);
  load_bool(L, ydoc_get(n, "verify"), "verify", &f->tls_verify);
  load_file_opt(L, ydoc_get(n, "ca_file"), "ca_file", &f->ca_file);
  load_file_opt(L, ydoc_get(n, "cert_file"), "cert_file", &f->cert_file);
  load_file_opt(L, ydoc_get(n, "key_file"), "key_file", &f->key_file);
  if (!f->tls_verify && f->ca_file)
    load_error(L, ydoc_get(n, "ca_file"),
               "ca_file has no effect with verify: false; drop one of them");
  if ((f->cert_file != NULL) != (f->key_file != NULL))
    load_error(L, n, "a client certificate needs both cert_file and key_file");
}

void load_feed(struct loader *L, const struct ydoc_node *n) {
  static const char *const keys[] = {
      "id",      "url",         "url_file", "every",    "timeout",
      "headers", "auth",        "tls",      "max_body", "format",
      "time",    "time_format", "records",  "series",   NULL};
  struct config *cfg = L->cfg;
  struct feed *f;
  const struct ydoc_node *v;
  bool url_given = false;

  if (!load_want(L, n, YDOC_MAP, "a feed"))
    return;
  load_keys(L, n, "a feed", keys);
  xgrow((void **)&cfg->feeds, &L->capfeeds, cfg->nfeeds + 1,
        sizeof(*cfg->feeds));
  f = &cfg->feeds[cfg->nfeeds++];
  memset(f, 0, sizeof(*f));
  f->pos = load_pos(L, n);
  load_feed_defaults(f);

  if (!ydoc_get(n, "id"))
    load_error(L, n, "a feed needs an id");
  else
    load_id(L, ydoc_get(n, "id"), "feed id", &f->id);

  load_secret(L, n, "url", &f->url, &url_given);
  if (!url_given)
    load_error(L, n, "feed '%s' needs a url (or url_file)",
               f->id ? f->id : "?");
  else if (f->url) {
    v = ydoc_get(n, "url") ? ydoc_get(n, "url") : ydoc_get(n, "url_file");
    load_url(L, v, "url", f->url, true);
  }

  load_duration(L, ydoc_get(n, "every"), "every", MS_PER_SECOND, false,
                &f->every_ms);
  f->timeout_ms = load_feed_timeout(f->every_ms);
  v = ydoc_get(n, "timeout");
  if (v && load_duration(L, v, "timeout", 100, false, &f->timeout_ms) &&
      f->timeout_ms > f->every_ms)
    load_error(L, v, "timeout must not be longer than every");
  load_size(L, ydoc_get(n, "max_body"), "max_body", &f->max_body);

  v = ydoc_get(n, "format");
  if (v) {
    char *s = NULL;
    if (load_str(L, v, "format", &s)) {
      bool found = false;
      for (int i = 0; i < 4; i++)
        if (strcmp(s, format_names[i]) == 0) {
          f->format = (enum feed_format)i;
          found = true;
        }
      if (!found) {
        const char *near = load_closest(s, format_names, 4);
        load_error(
            L, v,
            "format must be json, csv, prometheus or text, not '%s'%s%s%s", s,
            near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
      }
    }
    free(s);
  }

  v = ydoc_get(n, "headers");
  if (v)
    load_headers(L, f, v);
  v = ydoc_get(n, "auth");
  if (v)
    load_auth(L, f, v);
  v = ydoc_get(n, "tls");
  if (v)
    load_tls(L, f, v);

  v = ydoc_get(n, "records");
  if (v && load_nonempty(L, v, "records", &f->records)) {
    if (f->format != FEED_JSON)
      load_error(L, ydoc_key(n, "records"),
                 "records applies to json feeds only");
    else if (f->records[0] != '$')
      load_error(L, v,
                 "records must be a JSONPath starting with '$' "
                 "(as in $.data[*])");
  }

  v = ydoc_get(n, "time");
  if (v && load_nonempty(L, v, "time", &f->time)) {
    if (f->format == FEED_TEXT || f->format == FEED_PROMETHEUS)
      load_error(L, ydoc_key(n, "time"),
                 "%s feeds carry no time field (prometheus uses the sample "
                 "timestamp; otherwise the fetch time is used)",
                 format_names[f->format]);
    else if (f->format == FEED_JSON)
      check_path_syntax(L, v, f, f->time);
  }
  v = ydoc_get(n, "time_format");
  if (v) {
    char *s = NULL;
    if (load_nonempty(L, v, "time_format", &s)) {
      if (strcmp(s, "iso8601") == 0)
        f->time_format = TIMEFMT_ISO8601;
      else if (strcmp(s, "epoch") == 0)
        f->time_format = TIMEFMT_EPOCH;
      else if (strcmp(s, "epoch_ms") == 0)
        f->time_format = TIMEFMT_EPOCH_MS;
      else if (strchr(s, '%')) {
        char why[256];
        if (timefmt_pattern_check(s, why, sizeof(why)) < 0)
          load_error(L, v, "time_format \"%s\": %s", s, why);
        f->time_format = TIMEFMT_STRPTIME;
        f->time_pattern = s;
        s = NULL;
      } else
        load_error(L, v,
                   "time_format must be iso8601, epoch, epoch_ms or a strptime "
                   "pattern such as \"%%Y-%%m\", not '%s'",
                   s);
      if (!f->time)
        load_error(L, ydoc_key(n, "time_format"),
                   "time_format without time: say where the time is");
    }
    free(s);
  }

  v = ydoc_get(n, "series");
  if (!v)
    load_error(L, n, "feed '%s' needs series: (what to extract)",
               f->id ? f->id : "?");
  else
    load_feed_series(L, f, v);
}
