/* What the two statistical-cube formats (feed_sdmx: sdmx-json, feed_jsonstat:
 * json-stat) share as formats of the table: each series picks its cell by
 * key: {DIM: code, ...} (a mapping the loader keeps in series->options),
 * every period of the cell is one observation (its period parsed by the
 * feed's time parser and placed as the series says), and scale: auto
 * applies the published unit multiplier and decimals. */
#ifndef INDICATORD_FEED_CUBE_H
#define INDICATORD_FEED_CUBE_H

#include "cube.h"
#include "feed_format.h"

#include <jansson.h>

/* One reader of a cube document. */
struct feed_cube_reader {
  const char *what; /* "SDMX-JSON", "JSON-stat" */
  /* Whether doc is a document of this kind at all: 0, or -EINVAL with the
   * reason (the body is then unusable, not a series' problem). */
  int (*check)(const json_t *doc, char *err, size_t errlen);
  /* The points of the cell key picks (time_dim: feed's time:, or NULL). */
  int (*read)(const json_t *doc, const struct cube_key *key,
              const char *time_dim, struct cube_points *out, char *err,
              size_t errlen);
};

void feed_cube_check(const struct feed *f, struct feed_check *chk);
int feed_cube_compile(const struct feed *f, void **state, char *err,
                      size_t errlen);
void feed_cube_free(void *state);
int feed_cube_extract(const struct feed *f, const void *state,
                      const struct extract_body *b,
                      const struct feed_cube_reader *reader,
                      struct extract_out *out);

#endif
