#include "feed_text.h"

#include <errno.h>

int feed_text_extract(const struct extractor *ex, const char *body, size_t len,
                      int64_t fetch_ms, struct extract_out *out) {
  double v;
  long bad = extract_utf8_invalid_at(body, len);
  if (bad >= 0) {
    extract_error(out, NULL, "body is not UTF-8 (byte %ld)", bad + 1);
    return -EINVAL;
  }
  if (!extract_number(body, len, &v)) {
    extract_error(out, NULL, "body is not one number (%zu bytes)", len);
    return -EINVAL;
  }
  for (size_t i = 0; i < ex->nseries; i++)
    extract_add(out, ex->series[i].cfg, fetch_ms, v);
  return 0;
}
