/* Durations as written in the config: "30s", "5m", "1h", "1d", "2w", "5y"
 * and sums such as "1h30m". A year is 365 days. */
#ifndef INDICATORD_DURATION_H
#define INDICATORD_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0 and the length in milliseconds, -EINVAL for text that is not a
 * duration, -ERANGE for one longer than 100 years. */
int duration_parse(const char *text, int64_t *ms);
/* Writes the shortest exact form ("90m" -> "1h30m") into buf. */
void duration_format(int64_t ms, char *buf, size_t len);

#endif
