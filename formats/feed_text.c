/* Plain-text bodies holding one number: every series of the feed gets it
 * (at the fetch time). */
#include "feed_format.h"

#include <errno.h>

static int extract(const struct feed *f, const void *state,
                   const struct extract_body *b, struct extract_out *out) {
  struct timefmt_value now;
  double v;
  long bad = extract_utf8_invalid_at(b->data, b->len);
  (void)state;
  if (bad >= 0) {
    extract_error(out, NULL, "body is not UTF-8 (byte %ld)", bad + 1);
    return -EINVAL;
  }
  if (!extract_number(b->data, b->len, &v)) {
    extract_error(out, NULL, "body is not one number (%zu bytes)", b->len);
    return -EINVAL;
  }
  extract_time_now(b->fetch_ms, &now);
  for (size_t i = 0; i < f->nseries; i++)
    extract_add(out, &f->series[i], &now, v);
  return 0;
}

const struct feed_format feed_text = {
    .name = "text",
    .no_path = "the body is one number",
    .extract = extract,
};
