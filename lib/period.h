/* A target's period: a span of whole local days, both ends inclusive.
 * Written as "2026", "2026-H1", "2026-Q2", "2026-03" or {from, to}. */
#ifndef INDICATORD_PERIOD_H
#define INDICATORD_PERIOD_H

#include <stdint.h>

struct period {
  int from_year, from_month, from_day;
  int to_year, to_month, to_day;
};

/* Parses a period label. Returns 0, or -EINVAL. */
int period_parse(const char *text, struct period *out);
/* Parses a calendar date "YYYY-MM-DD". Returns 0, or -EINVAL. */
int period_parse_date(const char *text, int *year, int *month, int *day);
/* Number of days in the period (inclusive). */
int64_t period_days(const struct period *p);
/* First millisecond of the period and first millisecond after it, local
 * time in the installed zone. */
int64_t period_start_ms(const struct period *p);
int64_t period_end_ms(const struct period *p);

#endif
