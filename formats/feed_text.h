/* Plain-text bodies holding one number. */
#ifndef INDICATORD_FEED_TEXT_H
#define INDICATORD_FEED_TEXT_H

#include "extract.h"

int feed_text_extract(const struct extractor *ex, const char *body, size_t len,
                      int64_t fetch_ms, struct extract_out *out);

#endif
