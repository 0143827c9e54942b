/* Shared by timefmt.c (ISO times, patterns) and timefmt_codes.c (the
 * period codes of statistics offices); not for other modules. */
#ifndef INDICATORD_TIMEFMT_PRIVATE_H
#define INDICATORD_TIMEFMT_PRIVATE_H

#include "timefmt.h"

#include <stddef.h>

/* Reads exactly n digits at *p (advanced past them). Returns 0 or -1. */
int timefmt_digits(const char **p, const char *end, int n, int *out);
/* Sets out's first and last ms: local days y-m0-d0 to y-m1-d1 inclusive
 * (the grain is the caller's). */
void timefmt_bounds(struct timefmt_value *out, int y, int m0, int m1, int d0,
                    int d1);
/* Parses text[p..end) after the year y as a period code. Returns 0, 1 when
 * it is none of them (an ISO date or time follows), or -EINVAL with the
 * reason in err. */
int timefmt_code_parse(const char *p, const char *end, int y,
                       struct timefmt_value *out, char *err, size_t errlen);

#endif
