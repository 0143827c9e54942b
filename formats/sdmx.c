#include "sdmx.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Dimensions and attributes are presented at one of these levels. */
enum sdmx_level { LEVEL_DATASET, LEVEL_SERIES, LEVEL_OBS, NLEVELS };

static const char *const level_names[NLEVELS] = {"dataSet", "series",
                                                 "observation"};

/* An attribute the reader applies, where it is presented. */
struct sdmx_attr {
  const json_t *comp; /* NULL when the structure has none */
  enum sdmx_level level;
  bool group; /* presented per dimension group, not at level */
  size_t pos; /* in the level's (or dimensionGroup's) attribute list */
};

struct sdmx_reader {
  const json_t *structure, *dataset;
  struct cube_dim *dims; /* dataSet, then series, then observation level */
  enum sdmx_level *level;
  size_t *pos; /* position within its level */
  size_t ndims, nlevel[NLEVELS];
  size_t time; /* index in dims */
  size_t *want;
  size_t measure, nmeasures;
  struct sdmx_attr unit_mult, decimals;
  char *err;
  size_t errlen;
};

static int reject(struct sdmx_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int reject(struct sdmx_reader *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err, r->errlen, fmt, ap);
  va_end(ap);
  return -EINVAL;
}

/* 1.0 writes "role": "TIME_PERIOD", 2.0 "roles": ["TIME_PERIOD"]. */
static bool has_role(const json_t *comp, const char *role) {
  const json_t *v = json_object_get(comp, "role"), *e;
  size_t i;
  if (json_is_string(v) && strcmp(json_string_value(v), role) == 0)
    return true;
  v = json_object_get(comp, "roles");
  json_array_foreach(v, i, e) {
    if (json_is_string(e) && strcmp(json_string_value(e), role) == 0)
      return true;
  }
  return false;
}

static bool is_component(const json_t *comp, const char *id) {
  const json_t *v = json_object_get(comp, "id");
  return (json_is_string(v) && strcmp(json_string_value(v), id) == 0) ||
         has_role(comp, id);
}

static const json_t *level_list(const json_t *group, enum sdmx_level l) {
  const json_t *v = json_object_get(group, level_names[l]);
  return json_is_array(v) ? v : NULL;
}

static int read_dims(struct sdmx_reader *r) {
  const json_t *group = json_object_get(r->structure, "dimensions");
  size_t total = 0;
  if (!json_is_object(group))
    return reject(r, "structure has no dimensions object");
  for (int l = 0; l < NLEVELS; l++)
    total += json_array_size(level_list(group, (enum sdmx_level)l));
  r->dims = xcalloc(total ? total : 1, sizeof(*r->dims));
  r->level = xcalloc(total ? total : 1, sizeof(*r->level));
  r->pos = xcalloc(total ? total : 1, sizeof(*r->pos));
  r->want = xcalloc(total ? total : 1, sizeof(*r->want));
  r->time = SIZE_MAX;
  for (int l = 0; l < NLEVELS; l++) {
    const json_t *list = level_list(group, (enum sdmx_level)l), *comp;
    size_t i;
    json_array_foreach(list, i, comp) {
      struct cube_dim *d = &r->dims[r->ndims];
      const json_t *id = json_object_get(comp, "id");
      const json_t *values = json_object_get(comp, "values"), *v;
      size_t k;
      int rc;
      if (!json_is_string(id))
        return reject(r, "dimension %zu at %s level has no id", i,
                      level_names[l]);
      d->id = json_string_value(id);
      if (!json_is_array(values))
        return reject(r, "dimension %s has no values", d->id);
      d->codes = xcalloc(json_array_size(values) + 1, sizeof(*d->codes));
      r->level[r->ndims] = (enum sdmx_level)l;
      r->pos[r->ndims] = i;
      r->ndims++;
      json_array_foreach(values, k, v) {
        const json_t *code = json_object_get(v, "id");
        if (!json_is_string(code))
          return reject(r, "dimension %s: value %zu has no id", d->id, k);
        d->codes[d->ncodes++] = json_string_value(code);
      }
      rc = cube_dim_check(d, r->err, r->errlen);
      if (rc < 0)
        return rc;
      if (is_component(comp, "TIME_PERIOD")) {
        if (r->time != SIZE_MAX)
          return reject(r, "two time dimensions: %s and %s",
                        r->dims[r->time].id, d->id);
        r->time = r->ndims - 1;
      }
    }
    r->nlevel[l] = json_array_size(list);
  }
  if (r->time == SIZE_MAX)
    return reject(r, "no time dimension (TIME_PERIOD) in the structure");
  return 0;
}

static int read_measures(struct sdmx_reader *r) {
  const json_t *group = json_object_get(r->structure, "measures");
  const json_t *list = json_object_get(group, "observation"), *comp;
  struct strbuf sb = {0};
  size_t i;
  /* Without measures there is one, OBS_VALUE (1.0, and 2.0 for short). */
  r->nmeasures = json_is_array(list) ? json_array_size(list) : 1;
  r->measure = 0;
  if (r->nmeasures == 0)
    return reject(r, "the structure has no measure");
  if (r->nmeasures == 1)
    return 0;
  json_array_foreach(list, i, comp) {
    const json_t *id = json_object_get(comp, "id");
    if (is_component(comp, "OBS_VALUE")) {
      r->measure = i;
      return 0;
    }
    strbuf_addf(&sb, "%s%s", i ? ", " : "",
                json_is_string(id) ? json_string_value(id) : "?");
  }
  reject(r, "%zu measures and none is OBS_VALUE: %s", r->nmeasures, sb.buf);
  strbuf_free(&sb);
  return -EINVAL;
}

static void find_attr(struct sdmx_reader *r, const char *id,
                      struct sdmx_attr *out) {
  const json_t *group = json_object_get(r->structure, "attributes");
  const json_t *comp;
  size_t i;
  memset(out, 0, sizeof(*out));
  for (int l = 0; l < NLEVELS; l++) {
    json_array_foreach(level_list(group, (enum sdmx_level)l), i, comp) {
      if (is_component(comp, id)) {
        out->comp = comp;
        out->level = (enum sdmx_level)l;
        out->pos = i;
        return;
      }
    }
  }
  json_array_foreach(json_object_get(group, "dimensionGroup"), i, comp) {
    if (is_component(comp, id)) {
      out->comp = comp;
      out->group = true;
      out->pos = i;
      return;
    }
  }
}

/* A dimensionGroup attribute's value: dataSet.dimensionGroupAttributes is
 * keyed by the positions of the dimensions the attribute relates to, every
 * dimension in the structure's order (dataSet, series, observation level)
 * and the others left empty: "0::3". */
static const json_t *group_value(struct sdmx_reader *r,
                                 const struct sdmx_attr *a, size_t time_pos) {
  const json_t *rel =
      json_object_get(json_object_get(a->comp, "relationship"), "dimensions");
  struct strbuf key = {0};
  const json_t *v;
  for (size_t d = 0; d < r->ndims; d++) {
    const json_t *id;
    size_t k;
    bool related = false;
    json_array_foreach(rel, k, id) {
      if (json_is_string(id) &&
          strcmp(json_string_value(id), r->dims[d].id) == 0)
        related = true;
    }
    strbuf_adds(&key, d ? ":" : "");
    if (related)
      strbuf_addf(&key, "%zu", d == r->time ? time_pos : r->want[d]);
  }
  v = json_array_get(
      json_object_get(json_object_get(r->dataset, "dimensionGroupAttributes"),
                      key.buf ? key.buf : ""),
      a->pos);
  strbuf_free(&key);
  return v;
}

/* An attribute's value as an integer: v is an index into the component's
 * values (whose id or value is the number) or, when the component lists no
 * values, the value itself. 1 when set, 0 when not, -1 when malformed. */
static int attr_int(const json_t *comp, const json_t *v, int *out) {
  const json_t *values = json_object_get(comp, "values");
  char *end;
  long n;
  if (!v || json_is_null(v))
    return 0;
  if (json_array_size(values) > 0) {
    const json_t *e;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (size_t)json_integer_value(v) >= json_array_size(values))
      return -1;
    e = json_array_get(values, (size_t)json_integer_value(v));
    v = json_object_get(e, "id");
    if (!v)
      v = json_object_get(e, "value");
  }
  if (json_is_integer(v)) {
    n = (long)json_integer_value(v);
  } else if (json_is_string(v)) {
    const char *s = json_string_value(v);
    if (!*s || isspace((unsigned char)*s))
      return -1;
    n = strtol(s, &end, 10);
    if (*end)
      return -1;
  } else {
    return -1;
  }
  /* A power of ten beyond this is a wrong attribute, not a unit. */
  if (n < -30 || n > 30)
    return -1;
  *out = (int)n;
  return 1;
}

/* The attribute's value for one observation: the most specific level that
 * presents it, else the component's default. */
static int attr_value(struct sdmx_reader *r, const struct sdmx_attr *a,
                      const json_t *series, const json_t *obs, size_t time_pos,
                      int *out, const char *what, const char *period) {
  const json_t *v = NULL;
  int rc;
  if (!a->comp)
    return 0;
  if (a->group)
    v = group_value(r, a, time_pos);
  else
    switch (a->level) {
    case LEVEL_DATASET:
      v = json_array_get(json_object_get(r->dataset, "attributes"), a->pos);
      break;
    case LEVEL_SERIES:
      v = json_array_get(json_object_get(series, "attributes"), a->pos);
      break;
    case LEVEL_OBS:
      v = json_array_get(obs, r->nmeasures + a->pos);
      break;
    case NLEVELS:
      break;
    }
  rc = attr_int(a->comp, v, out);
  if (rc == 0)
    rc = attr_int(NULL, json_object_get(a->comp, "default"), out);
  if (rc < 0)
    return reject(r, "period %s: attribute %s is not a small integer", period,
                  what);
  return 0;
}

/* Parses "0:12:3" into idx[0..n); NULL series key parts are not allowed. */
static bool parse_key(const char *key, size_t *idx, size_t n) {
  const char *p = key;
  for (size_t i = 0; i < n; i++) {
    size_t v = 0;
    if (!isdigit((unsigned char)*p))
      return false;
    while (isdigit((unsigned char)*p)) {
      if (v > 100000000)
        return false;
      v = v * 10 + (size_t)(*p++ - '0');
    }
    idx[i] = v;
    if (i + 1 < n && *p++ != ':')
      return false;
  }
  return *p == '\0';
}

/* Checks the positions of one level's dimensions against what the key
 * wants; *time_pos gets the time position when the time dimension is at
 * this level. -1 when a position is out of range. */
static int level_matches(struct sdmx_reader *r, enum sdmx_level l,
                         const size_t *idx, size_t *time_pos) {
  int match = 1;
  for (size_t d = 0; d < r->ndims; d++) {
    size_t v;
    if (r->level[d] != l)
      continue;
    v = idx[r->pos[d]];
    if (v >= r->dims[d].ncodes)
      return -1;
    if (d == r->time)
      *time_pos = v;
    else if (v != r->want[d])
      match = 0;
  }
  return match;
}

/* Reads the observations of one series, or with lead (the series-level
 * dimensions' count) the flat observations of a dataSet that leaves its
 * series out: their keys then start with the series-level positions. */
static int read_obs(struct sdmx_reader *r, const json_t *series,
                    const json_t *observations, size_t time_pos, size_t lead,
                    struct cube_points *out) {
  size_t nparts = lead + r->nlevel[LEVEL_OBS];
  size_t *idx = xcalloc(nparts + 1, sizeof(*idx));
  const char *okey;
  const json_t *obs;
  int rc = 0;
  if (!json_is_object(observations)) {
    free(idx);
    return reject(r, "observations is not an object");
  }
  json_object_foreach((json_t *)observations, okey, obs) {
    struct cube_point *p;
    const json_t *v;
    double value;
    int m, lead_m, num;
    if (!parse_key(okey, idx, nparts)) {
      rc = reject(r, "observation key \"%s\" does not have %zu parts", okey,
                  nparts);
      break;
    }
    lead_m = lead ? level_matches(r, LEVEL_SERIES, idx, &time_pos) : 1;
    m = level_matches(r, LEVEL_OBS, idx + lead, &time_pos);
    if (m < 0 || lead_m < 0) {
      rc = reject(r, "observation key \"%s\" is out of range", okey);
      break;
    }
    if (!m || !lead_m)
      continue;
    if (!json_is_array(obs)) {
      rc = reject(r, "observation \"%s\" is not an array", okey);
      break;
    }
    v = json_array_get(obs, r->measure);
    num = cube_number(v, &value);
    if (num < 0) {
      rc = reject(r, "period %s: the value is not a number",
                  r->dims[r->time].codes[time_pos]);
      break;
    }
    if (num == 0)
      continue;
    p = cube_points_add(out);
    p->period = r->dims[r->time].codes[time_pos];
    p->time_pos = time_pos;
    p->value = value;
    rc = attr_value(r, &r->unit_mult, series, obs, time_pos, &p->scale,
                    "UNIT_MULT", p->period);
    if (rc == 0)
      rc = attr_value(r, &r->decimals, series, obs, time_pos, &p->decimals,
                      "DECIMALS", p->period);
    if (rc < 0)
      break;
  }
  free(idx);
  return rc;
}

static int read_dataset(struct sdmx_reader *r, const struct cube_key *key,
                        struct cube_points *out) {
  const json_t *series = json_object_get(r->dataset, "series");
  size_t time_pos = 0;
  int rc;
  rc = read_dims(r);
  if (rc == 0)
    rc = read_measures(r);
  if (rc == 0)
    rc = cube_resolve(r->dims, r->ndims, r->time, key, r->want, r->err,
                      r->errlen);
  if (rc < 0)
    return rc;
  find_attr(r, "UNIT_MULT", &r->unit_mult);
  find_attr(r, "DECIMALS", &r->decimals);
  /* A time dimension at dataSet level has its single period. */
  if (r->level[r->time] == LEVEL_DATASET && r->dims[r->time].ncodes != 1)
    return reject(r, "time dimension %s at dataSet level has %zu values",
                  r->dims[r->time].id, r->dims[r->time].ncodes);
  if (json_is_object(series)) {
    size_t *idx = xcalloc(r->nlevel[LEVEL_SERIES] + 1, sizeof(*idx));
    const char *skey;
    const json_t *s;
    json_object_foreach((json_t *)series, skey, s) {
      int m;
      if (!parse_key(skey, idx, r->nlevel[LEVEL_SERIES])) {
        rc = reject(r, "series key \"%s\" does not have %zu parts", skey,
                    r->nlevel[LEVEL_SERIES]);
        break;
      }
      m = level_matches(r, LEVEL_SERIES, idx, &time_pos);
      if (m < 0) {
        rc = reject(r, "series key \"%s\" is out of range", skey);
        break;
      }
      if (!m)
        continue;
      rc = read_obs(r, s, json_object_get(s, "observations"), time_pos, 0, out);
      if (rc < 0)
        break;
    }
    free(idx);
    return rc;
  }
  /* A flat dataSet under a structure that has series-level dimensions
   * keys its observations by those and then the observation-level ones
   * (2.0, constructed-sample-full.json). */
  if (json_object_get(r->dataset, "observations"))
    return read_obs(r, NULL, json_object_get(r->dataset, "observations"),
                    time_pos, r->nlevel[LEVEL_SERIES], out);
  return 0;
}

static void reader_reset(struct sdmx_reader *r) {
  for (size_t i = 0; i < r->ndims; i++)
    free(r->dims[i].codes);
  free(r->dims);
  free(r->level);
  free(r->pos);
  free(r->want);
  r->dims = NULL;
  r->level = NULL;
  r->pos = NULL;
  r->want = NULL;
  r->ndims = 0;
  memset(r->nlevel, 0, sizeof(r->nlevel));
}

/* Points out->v[first..n) revise the earlier points of the same periods:
 * each replaces its earlier one, the rest stay new. ntime is the time
 * dimension's size (every time_pos is below it). */
static void merge_later(struct cube_points *out, size_t first, size_t ntime) {
  size_t *at = xmalloc((ntime ? ntime : 1) * sizeof(*at));
  size_t kept = first;
  for (size_t t = 0; t < ntime; t++)
    at[t] = SIZE_MAX;
  for (size_t k = 0; k < first; k++)
    at[out->v[k].time_pos] = k;
  for (size_t j = first; j < out->n; j++) {
    size_t earlier = at[out->v[j].time_pos];
    if (earlier != SIZE_MAX)
      out->v[earlier] = out->v[j];
    else
      out->v[kept++] = out->v[j];
  }
  out->n = kept;
  free(at);
}

/* The message's errors array (SDMX web services answer with one). */
static int message_errors(const json_t *errors, char *err, size_t errlen) {
  const json_t *e = json_array_get(errors, 0);
  const char *fields[] = {"detail", "title", "message"};
  for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
    const json_t *v = json_object_get(e, fields[i]);
    if (json_is_string(v)) {
      snprintf(err, errlen, "the message reports an error: %s",
               json_string_value(v));
      return -EINVAL;
    }
  }
  snprintf(err, errlen, "the message reports an error");
  return -EINVAL;
}

/* Where the message keeps its parts: data (1.0, 2.0) or the top (before
 * 1.0). */
static const json_t *data_of(const json_t *doc) {
  const json_t *data = json_object_get(doc, "data");
  return json_is_object(data) ? data : doc;
}

int sdmx_check(const json_t *doc, char *err, size_t errlen) {
  const json_t *data = data_of(doc);
  if (!json_is_array(json_object_get(data, "structures")) &&
      !json_is_object(json_object_get(data, "structure"))) {
    if (json_array_size(json_object_get(doc, "errors")) > 0)
      return message_errors(json_object_get(doc, "errors"), err, errlen);
    snprintf(err, errlen,
             "not an SDMX-JSON data message: no structure "
             "(data.structure or data.structures)");
    return -EINVAL;
  }
  if (!json_is_array(json_object_get(data, "dataSets"))) {
    snprintf(err, errlen, "not an SDMX-JSON data message: no dataSets array");
    return -EINVAL;
  }
  return 0;
}

int sdmx_read(const json_t *doc, const struct cube_key *key,
              struct cube_points *out, char *err, size_t errlen) {
  struct sdmx_reader r = {.err = err, .errlen = errlen};
  const json_t *data = data_of(doc);
  const json_t *structures, *single, *datasets, *ds;
  const json_t *from_structure = NULL;
  size_t i, from_dataset = SIZE_MAX;
  int rc;

  out->n = 0;
  rc = sdmx_check(doc, err, errlen);
  if (rc < 0)
    return rc;
  structures = json_object_get(data, "structures");
  single = json_object_get(data, "structure");
  datasets = json_object_get(data, "dataSets");
  json_array_foreach(datasets, i, ds) {
    const json_t *action = json_object_get(ds, "action");
    size_t before = out->n;
    if (json_is_string(action) &&
        strcmp(json_string_value(action), "Delete") == 0)
      continue;
    r.dataset = ds;
    r.structure = single;
    if (json_is_array(structures)) {
      const json_t *n = json_object_get(ds, "structure");
      json_int_t k = json_is_integer(n) ? json_integer_value(n) : 0;
      r.structure = k >= 0 ? json_array_get(structures, (size_t)k) : NULL;
      if (!json_is_object(r.structure)) {
        snprintf(err, errlen, "dataSet %zu refers to a missing structure", i);
        return -EINVAL;
      }
    }
    rc = read_dataset(&r, key, out);
    /* The standard processes the dataSets of a message in order: a later
     * one's value for a period replaces an earlier one's. Periods are
     * matched by position in the time dimension, so only under one
     * structure. */
    if (rc == 0 && out->n > before && from_dataset != SIZE_MAX) {
      if (r.structure == from_structure) {
        merge_later(out, before, r.dims[r.time].ncodes);
      } else {
        snprintf(err, errlen,
                 "dataSets %zu and %zu both carry this series under "
                 "different structures",
                 from_dataset, i);
        rc = -EINVAL;
      }
    }
    if (rc == 0 && out->n > before && from_dataset == SIZE_MAX) {
      from_dataset = i;
      from_structure = r.structure;
    }
    reader_reset(&r);
    if (rc < 0)
      return rc;
  }
  return cube_points_finish(out, err, errlen);
}
