/* JSON bodies (jansson) with the JSONPath subset of jsonpath.h; with
 * records: every selected element is one observation. */
#ifndef INDICATORD_FEED_JSON_H
#define INDICATORD_FEED_JSON_H

#include "extract.h"

int feed_json_extract(const struct extractor *ex, const char *body, size_t len,
                      int64_t fetch_ms, struct extract_out *out);

#endif
