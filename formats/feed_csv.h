/* CSV bodies (RFC 4180 through libcsv): UTF-8 with or without BOM, a
 * header row, series by column name or 1-based index, rows picked by
 * where:, one observation per matching row. */
#ifndef INDICATORD_FEED_CSV_H
#define INDICATORD_FEED_CSV_H

#include "extract.h"

int feed_csv_extract(const struct extractor *ex, const char *body, size_t len,
                     int64_t fetch_ms, struct extract_out *out);

#endif
