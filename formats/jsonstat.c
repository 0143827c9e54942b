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
  const json_t *dim =
      json_object_get(json_object_get(r->ds, "dimension"), d->id);
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

static int read_dims(struct js_reader *r) {
  const json_t *ids = json_object_get(r->ds, "id");
  const json_t *sizes = json_object_get(r->ds, "size"), *v;
  size_t i;
  if (!json_is_array(ids) || !json_is_array(sizes))
    return reject(r, "not a JSON-stat 2.0 dataset: no id and size arrays");
  if (json_array_size(ids) != json_array_size(sizes))
    return reject(r, "id has %zu dimensions, size %zu", json_array_size(ids),
                  json_array_size(sizes));
  if (!json_is_object(json_object_get(r->ds, "dimension")))
    return reject(r, "not a JSON-stat 2.0 dataset: no dimension object");
  r->n = json_array_size(ids);
  r->dims = xcalloc(r->n + 1, sizeof(*r->dims));
  r->stride = xcalloc(r->n + 1, sizeof(*r->stride));
  r->want = xcalloc(r->n + 1, sizeof(*r->want));
  r->cells = 1;
  json_array_foreach(ids, i, v) {
    const json_t *sz = json_array_get(sizes, i);
    json_int_t size = json_is_integer(sz) ? json_integer_value(sz) : -1;
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
    int rc = read_categories(
        r, &r->dims[i], (size_t)json_integer_value(json_array_get(sizes, i)));
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
  const json_t *role = json_object_get(json_object_get(r->ds, "role"), "time");
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

/* unit.decimals of the selected metric category: role.metric names the
 * dimensions to look in; without it any dimension whose category has a
 * unit. */
static int find_decimals(struct js_reader *r, int *out) {
  const json_t *metric =
      json_object_get(json_object_get(r->ds, "role"), "metric");
  *out = -1;
  for (size_t i = 0; i < r->n; i++) {
    const json_t *dim, *unit, *dec;
    bool listed = false;
    size_t k;
    const json_t *m;
    json_array_foreach(metric, k, m) {
      if (json_is_string(m) && strcmp(json_string_value(m), r->dims[i].id) == 0)
        listed = true;
    }
    if ((metric && !listed) || i == r->time)
      continue;
    dim = json_object_get(json_object_get(r->ds, "dimension"), r->dims[i].id);
    unit = json_object_get(
        json_object_get(json_object_get(dim, "category"), "unit"),
        r->dims[i].codes[r->want[i]]);
    dec = json_object_get(unit, "decimals");
    if (!dec)
      continue;
    if (!json_is_integer(dec) || json_integer_value(dec) < 0 ||
        json_integer_value(dec) > 20)
      return reject(r, "unit of %s: decimals is not a small integer",
                    r->dims[i].codes[r->want[i]]);
    *out = (int)json_integer_value(dec);
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

static int read_values(struct js_reader *r, int decimals,
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
  if (json_is_object(status)) {
    rc = check_sparse(r, status, "status");
    if (rc < 0)
      return rc;
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
    p->status = json_is_string(st) ? json_string_value(st) : NULL;
  }
  return 0;
}

/* The root is the dataset; a JSON-stat 1.x bundle or an error response
 * gets a message that says so. */
static int check_root(struct js_reader *r) {
  const json_t *cls = json_object_get(r->ds, "class");
  const json_t *error = json_object_get(r->ds, "error");
  if (!json_is_object(r->ds))
    return reject(r, "not a JSON-stat dataset: the body is not an object");
  if (error && !json_object_get(r->ds, "value")) {
    const json_t *first =
        json_is_array(error) ? json_array_get(error, 0) : error;
    const json_t *label = json_object_get(first, "label");
    if (json_is_string(label))
      return reject(r, "the response is an error: %s",
                    json_string_value(label));
    return reject(r, "the response is an error");
  }
  if (json_is_string(cls) && strcmp(json_string_value(cls), "dataset") != 0)
    return reject(r, "JSON-stat class %s, not a dataset",
                  json_string_value(cls));
  if (!cls && !json_object_get(r->ds, "id")) {
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)r->ds, k, v) {
      if (json_is_object(json_object_get(v, "dimension")))
        return reject(r,
                      "a JSON-stat 1.x bundle (dataset \"%s\"): ask the "
                      "service for version 2.0",
                      k);
    }
  }
  return 0;
}

int jsonstat_check(const json_t *doc, char *err, size_t errlen) {
  struct js_reader r = {.ds = doc, .err = err, .errlen = errlen};
  int rc = check_root(&r);
  if (rc == 0 && (!json_is_array(json_object_get(doc, "id")) ||
                  !json_is_array(json_object_get(doc, "size"))))
    rc = reject(&r, "not a JSON-stat 2.0 dataset: no id and size arrays");
  return rc;
}

int jsonstat_read(const json_t *doc, const struct cube_key *key,
                  const char *time_dim, struct cube_points *out, char *err,
                  size_t errlen) {
  struct js_reader r = {.ds = doc, .err = err, .errlen = errlen};
  int decimals = -1;
  int rc;
  out->n = 0;
  rc = check_root(&r);
  if (rc == 0)
    rc = read_dims(&r);
  if (rc == 0)
    rc = find_time(&r, time_dim);
  if (rc == 0)
    rc = cube_resolve(r.dims, r.n, r.time, key, r.want, err, errlen);
  if (rc == 0)
    rc = find_decimals(&r, &decimals);
  if (rc == 0)
    rc = read_values(&r, decimals, out);
  if (rc == 0)
    rc = cube_points_finish(out, err, errlen);
  for (size_t i = 0; i < r.n; i++)
    free(r.dims[i].codes);
  free(r.dims);
  free(r.stride);
  free(r.want);
  return rc;
}
