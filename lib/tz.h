/* Calendar arithmetic and the configured IANA time zone. The daemon runs in
 * one zone (the config's `timezone`), installed process-wide with tz_set();
 * all local-time conversions go through this module. */
#ifndef INDICATORD_TZ_H
#define INDICATORD_TZ_H

#include <stdbool.h>
#include <stdint.h>

struct civil {
  int year, month, day; /* month 1..12, day 1..31 */
  int hour, min, sec, ms;
};

bool tz_is_leap(int year);
int tz_days_in_month(int year, int month);
bool tz_date_valid(int year, int month, int day);
/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t tz_days_from_civil(int year, int month, int day);
void tz_civil_from_days(int64_t days, int *year, int *month, int *day);

/* True when name is an installed IANA zone (or "UTC"). Never touches TZ. */
bool tz_valid(const char *name);
/* Installs the zone for this process. Returns 0 or -EINVAL. */
int tz_set(const char *name);
/* Local civil time -> epoch ms, in the installed zone. */
int64_t tz_local_to_ms(const struct civil *c);
/* Epoch ms -> local civil time, in the installed zone. */
void tz_ms_to_local(int64_t ms, struct civil *out);
/* UTC civil time -> epoch ms. */
int64_t tz_utc_to_ms(const struct civil *c);

#endif
