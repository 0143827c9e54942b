/* Picking one series out of a statistical data cube, as SDMX-JSON (sdmx)
 * and JSON-stat (jsonstat) publish them: a key names one code per
 * dimension, the dimensions it does not name must have a single code, and
 * every time period of the selected cell is one point. Pure: no config, no
 * I/O; strings in points are borrowed from the parsed document. */
#ifndef INDICATORD_CUBE_H
#define INDICATORD_CUBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* One code per dimension: {REF_AREA: CN, INDICATOR: NGDP_RPCH}. */
struct cube_key_part {
  const char *dim;
  const char *code;
};

struct cube_key {
  const struct cube_key_part *parts;
  size_t n;
};

/* One time period of the selected cell. */
struct cube_point {
  const char *period; /* as published: "2026-Q1", "2026M03"; borrowed */
  double value;       /* as published, before scale and decimals */
  int scale;    /* power of ten the unit multiplier asks for (UNIT_MULT) */
  int decimals; /* published decimals, -1 when not given */
  const char *status; /* observation status ("p", "e"), NULL; borrowed */
  size_t time_pos;    /* position of the period in the time dimension */
};

struct cube_points {
  struct cube_point *v;
  size_t n, cap;
};

void cube_points_free(struct cube_points *pts);

/* The value with the publication's own rules applied: rounded to its
 * decimals (when given) and multiplied by 10^scale, both in decimal so that
 * 1234.5 with UNIT_MULT 6 is exactly 1234500000. */
double cube_point_value(const struct cube_point *p);

/* ---- shared by the readers ---- */

/* A dimension of the cube: its id and codes in order. */
struct cube_dim {
  const char *id;
  const char **codes;
  size_t ncodes;
};

/* Checks key against dims[0..n) (time, when not SIZE_MAX, is the time
 * dimension and may not be named) and fills want[i] with the position of
 * the code picked in dimension i (the only one when not named). Returns 0,
 * or -EINVAL naming the unknown dimension, the unknown code (with the codes
 * that exist) or every unnamed dimension that has several codes. */
int cube_resolve(const struct cube_dim *dims, size_t n, size_t time,
                 const struct cube_key *key, size_t *want, char *err,
                 size_t errlen);

/* Fails with -EINVAL when a dimension lists one code twice (its cells
 * could not be told apart). */
int cube_dim_check(const struct cube_dim *d, char *err, size_t errlen);

/* Appends a point; the caller fills it. */
struct cube_point *cube_points_add(struct cube_points *pts);

/* Sorts the points by time position and fails with -EINVAL when a period
 * has two values. */
int cube_points_finish(struct cube_points *pts, char *err, size_t errlen);

/* Reads a published number: 1 (in *out), 0 for a gap (null, "", "NaN"),
 * -1 for anything else. */
int cube_number(const json_t *v, double *out);

#endif
