/* SDMX-JSON data messages (1.0 and 2.0) as a format of the table: the
 * reader is sdmx.c; the time dimension is the message's TIME_PERIOD. */
#include "feed_cube.h"
#include "sdmx.h"

static int read_cell(const json_t *doc, const struct cube_key *key,
                     const char *time_dim, struct cube_points *out, char *err,
                     size_t errlen) {
  (void)time_dim;
  return sdmx_read(doc, key, out, err, errlen);
}

static const struct feed_cube_reader reader = {"SDMX-JSON", sdmx_check,
                                               read_cell};

static int extract(const struct feed *f, const void *state,
                   const struct extract_body *b, struct extract_out *out) {
  return feed_cube_extract(f, state, b, &reader, out);
}

const struct feed_format feed_sdmx = {
    .name = "sdmx-json",
    .path_key = "key",
    /* SDMX web services answer SDMX-ML unless asked for JSON. */
    .accept = "application/vnd.sdmx.data+json,application/json;q=0.9,"
              "*/*;q=0.1",
    .path_is_map = true,
    .path_optional = true,
    .scale_auto = true,
    .check = feed_cube_check,
    .compile = feed_cube_compile,
    .free = feed_cube_free,
    .extract = extract,
};
