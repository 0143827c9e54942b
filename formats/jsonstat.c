#include "jsonstat.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A cube beyond this many cells is not a dataset anyone publishes as one
 * JSON document; the bound keeps the index arithmetic far from overflow. */
#define JSONSTAT_MAX_CELLS (UINT64_C(1) << 40)

struct js_reader {
  const json_t *ds;
  /* 2.0 keeps id, size and role beside dimension, 1.x inside it */
  const json_t *ids, *sizes, *role, *dimension;
  struct cube_dim *dims;
  size_t n;
  size_t *stride, *want;
  size_t time;
  uint64_t cells;
  char *err;
  size_t errlen;
};

static int reject(struct js_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int reject(struct js_reader *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err, r->errlen, fmt, ap);
  va_end(ap);
  return -EINVAL;
}

/* dimension[id].category: index as an array of codes in order, as an
 * object {code: position}, or left out for a single category named by its
 * label. */
static int read_categories(struct js_reader *r, struct cube_dim *d,
                           size_t size) {
  const json_t *dim = json_object_get(r->dimension, d->id);
  const json_t *cat = json_object_get(dim, "category");
  const json_t *index = json_object_get(cat, "index"), *v;
  const char *code;
  size_t i;
  if (!json_is_object(cat))
    return reject(r, "dimension %s has no category", d->id);
  /* The index must list size categories: checked before allocating, so a
   * size field alone cannot make us allocate beyond the document. */
  if ((json_is_array(index) && json_array_size(index) != size) ||
      (json_is_object(index) && json_object_size(index) != size))
    return reject(r, "dimension %s: size says %zu categories, index has %zu",
                  d->id, size,
                  json_is_array(index) ? json_array_size(index)
                                       : json_object_size(index));
  if (!index && size != 1)
    return reject(r, "dimension %s has no category index", d->id);
  d->codes = xcalloc(size + 1, sizeof(*d->codes));
  d->ncodes = size;
  if (json_is_array(index)) {
    json_array_foreach(index, i, v) {
      if (!json_is_string(v))
        return reject(r, "dimension %s: index %zu is not a code", d->id, i);
      d->codes[i] = json_string_value(v);
    }
  } else if (json_is_object(index)) {
    json_object_foreach((json_t *)index, code, v) {
      json_int_t pos = json_is_integer(v) ? json_integer_value(v) : -1;
      if (pos < 0 || (uint64_t)pos >= size || d->codes[pos])
        return reject(r, "dimension %s: code %s has no position of its own",
                      d->id, code);
      d->codes[pos] = code;
    }
  } else if (!index) {
    const json_t *label = json_object_get(cat, "label");
    const char *only = NULL;
    if (json_object_size(label) != 1)
      return reject(r, "dimension %s has no category index", d->id);
    json_object_foreach((json_t *)label, code, v) {
      only = code;
    }
    d->codes[0] = only;
  } else {
    return reject(r,
                  "dimension %s: category index is neither an array nor "
                  "an object",
                  d->id);
  }
  return cube_dim_check(d, r->err, r->errlen);
}

/* A size is an integer; Statistics Ireland's 1.x answers write it as a
 * string of digits. -1 for anything else. */
static json_int_t size_of(const json_t *v) {
  const char *s = json_string_value(v);
  json_int_t n = 0;
  if (json_is_integer(v))
    return json_integer_value(v);
  if (!s || !*s)
    return -1;
  for (; *s; s++) {
    if (!isdigit((unsigned char)*s) || n > (json_int_t)JSONSTAT_MAX_CELLS)
      return -1;
    n = n * 10 + (*s - '0');
  }
  return n;
}

static int read_dims(struct js_reader *r) {
  const json_t *ids = r->ids, *sizes = r->sizes, *v;
  size_t i;
  if (!json_is_array(ids) || !json_is_array(sizes))
    return reject(r, "not a JSON-stat dataset: no id and size arrays");
  if (json_array_size(ids) != json_array_size(sizes))
    return reject(r, "id has %zu dimensions, size %zu", json_array_size(ids),
                  json_array_size(sizes));
  if (!json_is_object(r->dimension))
    return reject(r, "not a JSON-stat dataset: no dimension object");
  r->n = json_array_size(ids);
  r->dims = xcalloc(r->n + 1, sizeof(*r->dims));
  r->stride = xcalloc(r->n + 1, sizeof(*r->stride));
  r->want = xcalloc(r->n + 1, sizeof(*r->want));
  r->cells = 1;
  json_array_foreach(ids, i, v) {
    json_int_t size = size_of(json_array_get(sizes, i));
    if (!json_is_string(v))
      return reject(r, "id %zu is not a dimension name", i);
    r->dims[i].id = json_string_value(v);
    for (size_t k = 0; k < i; k++)
      if (strcmp(r->dims[k].id, r->dims[i].id) == 0)
        return reject(r, "dimension %s is listed twice", r->dims[i].id);
    if (size < 1 || (uint64_t)size > JSONSTAT_MAX_CELLS / r->cells)
      return reject(r,
                    "dimension %s: size is not a count of categories or "
                    "makes the cube too large",
                    r->dims[i].id);
    r->cells *= (uint64_t)size;
  }
  for (i = 0; i < r->n; i++) {
    int rc = read_categories(r, &r->dims[i],
                             (size_t)size_of(json_array_get(sizes, i)));
    if (rc < 0)
      return rc;
  }
  /* Row-major: the last dimension varies fastest. */
  for (size_t k = r->n; k-- > 0;)
    r->stride[k] = k + 1 == r->n ? 1 : r->stride[k + 1] * r->dims[k + 1].ncodes;
  return 0;
}

static size_t find_dim(const struct js_reader *r, const char *id,
                       bool any_case) {
  for (size_t i = 0; i < r->n; i++)
    if (any_case ? strcasecmp(r->dims[i].id, id) == 0
                 : strcmp(r->dims[i].id, id) == 0)
      return i;
  return SIZE_MAX;
}

static int find_time(struct js_reader *r, const char *time_dim) {
  const json_t *role = json_object_get(r->role, "time");
  static const char *const names[] = {"time", "TIME_PERIOD"};
  if (time_dim) {
    r->time = find_dim(r, time_dim, false);
    if (r->time == SIZE_MAX)
      return reject(r, "no dimension %s for the time", time_dim);
    return 0;
  }
  if (json_array_size(role) > 1)
    return reject(r,
                  "role.time names %zu dimensions; say which one is the "
                  "time",
                  json_array_size(role));
  if (json_array_size(role) == 1) {
    const json_t *id = json_array_get(role, 0);
    r->time = json_is_string(id) ? find_dim(r, json_string_value(id), false)
                                 : SIZE_MAX;
    if (r->time == SIZE_MAX)
      return reject(r, "role.time names no dimension of the dataset");
    return 0;
  }
  for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
    r->time = find_dim(r, names[i], true);
    if (r->time != SIZE_MAX)
      return 0;
  }
  return reject(r, "no time dimension: no role.time and no dimension named "
                   "time");
}

/* An integer property of a unit within [lo, hi]: 1 when there, 0 when
 * not, -1 when it is something else. */
static int unit_int(const json_t *unit, const char *name, int lo, int hi,
                    int *out) {
  const json_t *v = json_object_get(unit, name);
  if (!v)
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < lo ||
      json_integer_value(v) > hi)
    return -1;
  *out = (int)json_integer_value(v);
  return 1;
}

/* unit.decimals and unit.multiplier (a power of ten: 3 for thousands) of
 * the selected metric category: role.metric names the dimensions to look
 * in; without it any dimension whose category has a unit. */
static int find_unit(struct js_reader *r, int *decimals, int *scale) {
  const json_t *metric = json_object_get(r->role, "metric");
  *decimals = -1;
  *scale = 0;
  for (size_t i = 0; i < r->n; i++) {
    const json_t *dim, *unit;
    const char *code = r->dims[i].codes[r->want[i]];
    bool listed = false;
    size_t k;
    const json_t *m;
    int dec, mult;
    json_array_foreach(metric, k, m) {
      if (json_is_string(m) && strcmp(json_string_value(m), r->dims[i].id) == 0)
        listed = true;
    }
    if ((metric && !listed) || i == r->time)
      continue;
    dim = json_object_get(r->dimension, r->dims[i].id);
    unit = json_object_get(
        json_object_get(json_object_get(dim, "category"), "unit"), code);
    dec = unit_int(unit, "decimals", 0, 20, decimals);
    /* A power of ten beyond this is a wrong unit, as for SDMX. */
    mult = unit_int(unit, "multiplier", -30, 30, scale);
    if (dec < 0)
      return reject(r, "unit of %s: decimals is not a small integer", code);
    if (mult < 0)
      return reject(r, "unit of %s: multiplier is not a small integer", code);
    if (dec || mult)
      return 0;
  }
  return 0;
}

/* A sparse value or status object is keyed by the cell index in decimal;
 * a key that is not one would silently never be read. */
static int check_sparse(struct js_reader *r, const json_t *obj,
                        const char *what) {
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    uint64_t idx = 0;
    const char *p = key;
    if (!isdigit((unsigned char)*p) || (p[0] == '0' && p[1]))
      return reject(r, "%s key \"%s\" is not a cell index", what, key);
    for (; isdigit((unsigned char)*p); p++) {
      idx = idx * 10 + (uint64_t)(*p - '0');
      if (idx >= r->cells)
        return reject(r, "%s key \"%s\" is beyond the %llu cells", what, key,
                      (unsigned long long)r->cells);
    }
    if (*p)
      return reject(r, "%s key \"%s\" is not a cell index", what, key);
  }
  return 0;
}

static const json_t *cell(const json_t *arr_or_obj, uint64_t idx) {
  char key[24];
  if (json_is_array(arr_or_obj))
    return json_array_get(arr_or_obj, (size_t)idx);
  snprintf(key, sizeof(key), "%llu", (unsigned long long)idx);
  return json_object_get(arr_or_obj, key);
}

static int read_values(struct js_reader *r, int decimals, int scale,
                       struct cube_points *out) {
  const json_t *value = json_object_get(r->ds, "value");
  const json_t *status = json_object_get(r->ds, "status");
  uint64_t base = 0;
  int rc;
  if (json_is_array(value)) {
    if (json_array_size(value) != r->cells)
      return reject(r, "value has %zu entries; the dimensions make %llu",
                    json_array_size(value), (unsigned long long)r->cells);
  } else if (json_is_object(value)) {
    rc = check_sparse(r, value, "value");
    if (rc < 0)
      return rc;
  } else {
    return reject(r, "value is neither an array nor an object");
  }
  /* The status is not stored: one that is not keyed by cell (Eurostat's
   * 1.x answers wrap it as {"value": [...]}) is left unread, and no value
   * is lost over it. */
  if (json_is_object(status) && check_sparse(r, status, "status") < 0) {
    status = NULL;
    r->err[0] = '\0';
  }
  for (size_t i = 0; i < r->n; i++)
    if (i != r->time)
      base += (uint64_t)r->want[i] * r->stride[i];
  for (size_t t = 0; t < r->dims[r->time].ncodes; t++) {
    uint64_t idx = base + (uint64_t)t * r->stride[r->time];
    const json_t *st = json_is_string(status) ? status : cell(status, idx);
    struct cube_point *p;
    double v;
    int num = cube_number(cell(value, idx), &v);
    if (num < 0)
      return reject(r, "period %s: the value is not a number",
                    r->dims[r->time].codes[t]);
    if (num == 0)
      continue;
    p = cube_points_add(out);
    p->period = r->dims[r->time].codes[t];
    p->time_pos = t;
    p->value = v;
    p->decimals = decimals;
    p->scale = scale;
    p->status = json_is_string(st) ? json_string_value(st) : NULL;
  }
  return 0;
}

/* Points the reader at a dataset's parts: 2.0 keeps id, size and role
 * beside dimension, 1.x inside it. */
static void use_dataset(struct js_reader *r, const json_t *ds) {
  const json_t *dim = json_object_get(ds, "dimension");
  const json_t *holder = json_is_array(json_object_get(ds, "id")) ? ds : dim;
  r->ds = ds;
  r->dimension = dim;
  r->ids = json_object_get(holder, "id");
  r->sizes = json_object_get(holder, "size");
  r->role = json_object_get(holder, "role");
}

/* A dataset with its data in it (not a link to one). */
static bool is_dataset(const json_t *v) {
  return json_is_object(json_object_get(v, "dimension")) &&
         json_object_get(v, "value");
}

static bool has_key_dims(const json_t *ds, const struct cube_key *key) {
  struct js_reader r = {0};
  use_dataset(&r, ds);
  for (size_t k = 0; k < key->n; k++) {
    const json_t *id;
    size_t i;
    bool found = false;
    json_array_foreach(r.ids, i, id) {
      if (json_is_string(id) &&
          strcmp(json_string_value(id), key->parts[k].dim) == 0)
        found = true;
    }
    if (!found)
      return false;
  }
  return true;
}

/* The datasets a 2.0 collection embeds (link.item) or a 1.x bundle holds
 * (its members), with a name for messages: the member's name, else the
 * item's label or href. */
static size_t list_datasets(const json_t *doc, bool collection,
                            const json_t **sets, const char **names,
                            size_t max) {
  size_t n = 0;
  if (collection) {
    const json_t *items = json_object_get(json_object_get(doc, "link"), "item");
    const json_t *item;
    size_t i;
    json_array_foreach(items, i, item) {
      const json_t *name = json_object_get(item, "label");
      if (!is_dataset(item))
        continue;
      if (!json_is_string(name))
        name = json_object_get(item, "href");
      if (n < max) {
        sets[n] = item;
        names[n] = json_is_string(name) ? json_string_value(name) : "?";
      }
      n++;
    }
  } else {
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)doc, k, v) {
      if (!is_dataset(v))
        continue;
      if (n < max) {
        sets[n] = v;
        names[n] = k;
      }
      n++;
    }
  }
  return n;
}

/* Datasets of one collection or bundle a message lists. */
#define JSONSTAT_LIST_SETS 8

/* Finds the dataset: the root itself, or the one dataset a collection or
 * bundle holds, or among several the only one that has every dimension
 * the key names (any, with no key). Error responses say so. */
static int find_dataset(struct js_reader *r, const json_t *doc,
                        const struct cube_key *key) {
  const json_t *cls = json_object_get(doc, "class");
  const json_t *error = json_object_get(doc, "error");
  const json_t *sets[JSONSTAT_LIST_SETS];
  const char *names[JSONSTAT_LIST_SETS];
  const char *what = "bundle";
  const json_t *pick = NULL;
  size_t n, matching = 0;
  if (!json_is_object(doc))
    return reject(r, "not a JSON-stat dataset: the body is not an object");
  if (error && !json_object_get(doc, "value")) {
    const json_t *first =
        json_is_array(error) ? json_array_get(error, 0) : error;
    const json_t *label = json_object_get(first, "label");
    if (json_is_string(label))
      return reject(r, "the response is an error: %s",
                    json_string_value(label));
    return reject(r, "the response is an error");
  }
  if (json_is_string(cls) && strcmp(json_string_value(cls), "collection") == 0)
    what = "collection";
  else if (json_is_string(cls) &&
           strcmp(json_string_value(cls), "dataset") != 0 &&
           strcmp(json_string_value(cls), "bundle") != 0)
    return reject(r, "JSON-stat class %s, not a dataset",
                  json_string_value(cls));
  if (!strcmp(what, "bundle") &&
      (json_is_object(json_object_get(doc, "dimension")) ||
       json_is_array(json_object_get(doc, "id")))) {
    use_dataset(r, doc);
    return 0;
  }
  n = list_datasets(doc, !strcmp(what, "collection"), sets, names,
                    JSONSTAT_LIST_SETS);
  if (n == 0 && !strcmp(what, "collection"))
    return reject(r, "a JSON-stat collection that embeds no dataset: ask for "
                     "one of its datasets (link.item[].href)");
  if (n == 0)
    return reject(r, "not a JSON-stat dataset: no id and size arrays");
  for (size_t i = 0; i < n && i < JSONSTAT_LIST_SETS; i++)
    if (!key || has_key_dims(sets[i], key)) {
      pick = sets[i];
      matching++;
    }
  if (n == 1 || (key && matching == 1 && n <= JSONSTAT_LIST_SETS) || !key) {
    use_dataset(r, n == 1 || !key ? sets[0] : pick);
    return 0;
  }
  {
    struct strbuf sb = {0};
    for (size_t i = 0; i < n && i < JSONSTAT_LIST_SETS; i++)
      strbuf_addf(&sb, "%s\"%s\"", i ? ", " : "", names[i]);
    if (n > JSONSTAT_LIST_SETS)
      strbuf_addf(&sb, ", … (%zu in all)", n);
    reject(r,
           "the JSON-stat %s holds %zu datasets (%s) and %s; name "
           "dimensions of one of them in key:",
           what, n, sb.buf,
           matching ? "the key's dimensions are in several"
                    : "none has every dimension of the key");
    strbuf_free(&sb);
  }
  return -EINVAL;
}

int jsonstat_check(const json_t *doc, char *err, size_t errlen) {
  struct js_reader r = {.err = err, .errlen = errlen};
  int rc = find_dataset(&r, doc, NULL);
  if (rc == 0 && (!json_is_array(r.ids) || !json_is_array(r.sizes)))
    rc = reject(&r, "not a JSON-stat dataset: no id and size arrays");
  return rc;
}

int jsonstat_read(const json_t *doc, const struct cube_key *key,
                  const char *time_dim, struct cube_points *out, char *err,
                  size_t errlen) {
  struct js_reader r = {.err = err, .errlen = errlen};
  int decimals = -1, scale = 0;
  int rc;
  out->n = 0;
  rc = find_dataset(&r, doc, key);
  if (rc == 0)
    rc = read_dims(&r);
  if (rc == 0)
    rc = find_time(&r, time_dim);
  if (rc == 0)
    rc = cube_resolve(r.dims, r.n, r.time, key, r.want, err, errlen);
  if (rc == 0)
    rc = find_unit(&r, &decimals, &scale);
  if (rc == 0)
    rc = read_values(&r, decimals, scale, out);
  if (rc == 0)
    rc = cube_points_finish(out, err, errlen);
  for (size_t i = 0; i < r.n; i++)
    free(r.dims[i].codes);
  free(r.dims);
  free(r.stride);
  free(r.want);
  return rc;
}
