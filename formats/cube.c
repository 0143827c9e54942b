#include "cube.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Codes listed in an error before "…": enough to spot a typo. */
#define CUBE_LIST_CODES 12

void cube_points_free(struct cube_points *pts) {
  free(pts->v);
  memset(pts, 0, sizeof(*pts));
}

struct cube_point *cube_points_add(struct cube_points *pts) {
  struct cube_point *p;
  xgrow((void **)&pts->v, &pts->cap, pts->n + 1, sizeof(*pts->v));
  p = &pts->v[pts->n++];
  memset(p, 0, sizeof(*p));
  p->decimals = -1;
  return p;
}

double cube_point_value(const struct cube_point *p) {
  char buf[64];
  /* Decimal text is where both rules are exact: printf rounds the binary
   * value to the published decimals, strtod reads the shifted decimal. */
  if (p->decimals >= 0 && p->decimals <= 20) {
    snprintf(buf, sizeof(buf), "%.*fe%d", p->decimals, p->value, p->scale);
    return strtod(buf, NULL);
  }
  /* The shortest decimal that reads back as the value is the one that was
   * published: 2503.7, not 2503.6999999999998. */
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(buf, sizeof(buf), "%.*g", digits, p->value);
    if (strtod(buf, NULL) == p->value || digits == 17)
      break;
  }
  snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "e%d", p->scale);
  return strtod(buf, NULL);
}

static void list_codes(struct strbuf *sb, const struct cube_dim *d) {
  for (size_t i = 0; i < d->ncodes && i < CUBE_LIST_CODES; i++)
    strbuf_addf(sb, "%s%s", i ? ", " : "", d->codes[i]);
  if (d->ncodes > CUBE_LIST_CODES)
    strbuf_addf(sb, ", … (%zu in all)", d->ncodes);
}

static size_t find_dim(const struct cube_dim *dims, size_t n, const char *id) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(dims[i].id, id) == 0)
      return i;
  return SIZE_MAX;
}

static void set_err(char *err, size_t errlen, struct strbuf *sb) {
  snprintf(err, errlen, "%s", sb->buf ? sb->buf : "");
  strbuf_free(sb);
}

int cube_resolve(const struct cube_dim *dims, size_t n, size_t time,
                 const struct cube_key *key, size_t *want, char *err,
                 size_t errlen) {
  struct strbuf sb = {0};
  bool *named = xcalloc(n ? n : 1, sizeof(*named));
  size_t unnamed = 0;
  int rc = 0;

  for (size_t k = 0; k < key->n && rc == 0; k++) {
    const struct cube_key_part *part = &key->parts[k];
    size_t d = find_dim(dims, n, part->dim);
    size_t c;
    if (d == SIZE_MAX) {
      strbuf_addf(&sb, "key: no dimension %s (dimensions: ", part->dim);
      for (size_t i = 0; i < n; i++)
        strbuf_addf(&sb, "%s%s", i ? ", " : "", dims[i].id);
      strbuf_adds(&sb, ")");
      rc = -EINVAL;
      break;
    }
    if (d == time) {
      strbuf_addf(&sb,
                  "key: %s is the time dimension; every period of the cell "
                  "is an observation, do not name it",
                  part->dim);
      rc = -EINVAL;
      break;
    }
    if (named[d]) {
      strbuf_addf(&sb, "key: %s is named twice", part->dim);
      rc = -EINVAL;
      break;
    }
    for (c = 0; c < dims[d].ncodes; c++)
      if (strcmp(dims[d].codes[c], part->code) == 0)
        break;
    if (c == dims[d].ncodes) {
      strbuf_addf(&sb, "key: dimension %s has no code %s (codes: ", part->dim,
                  part->code);
      list_codes(&sb, &dims[d]);
      strbuf_adds(&sb, ")");
      rc = -EINVAL;
      break;
    }
    named[d] = true;
    want[d] = c;
  }
  for (size_t d = 0; rc == 0 && d < n; d++) {
    if (named[d] || d == time)
      continue;
    if (dims[d].ncodes == 1) {
      want[d] = 0;
      continue;
    }
    strbuf_adds(&sb, unnamed++ ? "; "
                               : "key: name one code for each "
                                 "dimension with several: ");
    strbuf_addf(&sb, "%s (", dims[d].id);
    if (dims[d].ncodes == 0)
      strbuf_adds(&sb, "no codes");
    list_codes(&sb, &dims[d]);
    strbuf_adds(&sb, ")");
  }
  if (unnamed)
    rc = -EINVAL;
  free(named);
  if (rc < 0)
    set_err(err, errlen, &sb);
  strbuf_free(&sb);
  return rc;
}

static int by_code(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cube_dim_check(const struct cube_dim *d, char *err, size_t errlen) {
  const char **sorted;
  int rc = 0;
  if (d->ncodes < 2)
    return 0;
  sorted = xmalloc(d->ncodes * sizeof(*sorted));
  memcpy(sorted, d->codes, d->ncodes * sizeof(*sorted));
  qsort(sorted, d->ncodes, sizeof(*sorted), by_code);
  for (size_t i = 1; i < d->ncodes && rc == 0; i++)
    if (strcmp(sorted[i], sorted[i - 1]) == 0) {
      snprintf(err, errlen, "dimension %s lists code %s twice", d->id,
               sorted[i]);
      rc = -EINVAL;
    }
  free(sorted);
  return rc;
}

static int by_time(const void *a, const void *b) {
  const struct cube_point *x = a, *y = b;
  return x->time_pos < y->time_pos ? -1 : x->time_pos > y->time_pos;
}

int cube_points_finish(struct cube_points *pts, char *err, size_t errlen) {
  if (pts->n > 1)
    qsort(pts->v, pts->n, sizeof(*pts->v), by_time);
  for (size_t i = 1; i < pts->n; i++)
    if (pts->v[i].time_pos == pts->v[i - 1].time_pos) {
      snprintf(err, errlen, "period %s has two values (%g and %g)",
               pts->v[i].period, pts->v[i - 1].value, pts->v[i].value);
      return -EINVAL;
    }
  return 0;
}

static bool decimal_text(const char *s) {
  bool digits = false;
  if (*s == '+' || *s == '-')
    s++;
  while (isdigit((unsigned char)*s)) {
    digits = true;
    s++;
  }
  if (*s == '.')
    for (s++; isdigit((unsigned char)*s); s++)
      digits = true;
  if (!digits)
    return false;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-')
      s++;
    if (!isdigit((unsigned char)*s))
      return false;
    while (isdigit((unsigned char)*s))
      s++;
  }
  return *s == '\0';
}

int cube_number(const json_t *v, double *out) {
  char buf[128];
  size_t len, start = 0;
  double d;
  if (!v || json_is_null(v))
    return 0;
  if (json_is_number(v)) {
    *out = json_number_value(v);
    return isfinite(*out) ? 1 : -1;
  }
  if (!json_is_string(v))
    return -1;
  len = json_string_length(v);
  if (len >= sizeof(buf))
    return -1;
  memcpy(buf, json_string_value(v), len);
  buf[len] = '\0';
  while (len && isspace((unsigned char)buf[len - 1]))
    buf[--len] = '\0';
  while (isspace((unsigned char)buf[start]))
    start++;
  /* SDMX writes NaN for a missing observation. */
  if (buf[start] == '\0' || strcmp(buf + start, "NaN") == 0)
    return 0;
  if (!decimal_text(buf + start))
    return -1;
  d = strtod(buf + start, NULL);
  if (!isfinite(d))
    return -1;
  *out = d;
  return 1;
}
