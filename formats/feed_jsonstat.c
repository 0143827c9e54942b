/* JSON-stat 2.0 datasets as a format of the table: the reader is
 * jsonstat.c; time: names the time dimension when role.time does not. */
#include "feed_cube.h"
#include "jsonstat.h"

static const struct feed_cube_reader reader = {"JSON-stat", jsonstat_check,
                                               jsonstat_read};

static int extract(const struct feed *f, const void *state,
                   const struct extract_body *b, struct extract_out *out) {
  return feed_cube_extract(f, state, b, &reader, out);
}

const struct feed_format feed_jsonstat = {
    .name = "json-stat",
    .path_key = "key",
    .accept = "application/json,*/*;q=0.1",
    .path_is_map = true,
    .path_optional = true,
    .takes_time = true,
    .scale_auto = true,
    .check = feed_cube_check,
    .compile = feed_cube_compile,
    .free = feed_cube_free,
    .extract = extract,
};
