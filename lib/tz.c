#include "tz.h"

#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool tz_is_leap(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int tz_days_in_month(int year, int month) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12)
    return 0;
  return month == 2 && tz_is_leap(year) ? 29 : days[month - 1];
}

bool tz_date_valid(int year, int month, int day) {
  return year >= 1900 && year <= 9999 && month >= 1 && month <= 12 &&
         day >= 1 && day <= tz_days_in_month(year, month);
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t tz_days_from_civil(int year, int month, int day) {
  int64_t y = year - (month <= 2);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t mp = (month + 9) % 12;
  int64_t doy = (153 * mp + 2) / 5 + day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int *year, int *month, int *day) {
  int64_t era, doe, yoe, y, doy, mp, d, m;
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  *year = (int)(y + (m <= 2));
  *month = (int)m;
  *day = (int)d;
}

bool tz_valid(const char *name) {
  char path[512];
  char magic[4];
  FILE *f;
  size_t got;
  if (!name || !*name || name[0] == '/' || strstr(name, "..") ||
      strlen(name) > 200)
    return false;
  if (strcmp(name, "UTC") == 0)
    return true;
  for (const char *p = name; *p; p++)
    if (!(*p == '/' || *p == '_' || *p == '-' || *p == '+' ||
          (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
          (*p >= 'A' && *p <= 'Z')))
      return false;
  snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
  f = fopen(path, "rb");
  if (!f)
    return false;
  got = fread(magic, 1, sizeof(magic), f);
  fclose(f);
  return got == 4 && memcmp(magic, "TZif", 4) == 0;
}

int tz_set(const char *name) {
  char spec[256];
  if (!tz_valid(name))
    return -EINVAL;
  snprintf(spec, sizeof(spec), ":%s", name);
  if (setenv("TZ", spec, 1) != 0)
    return -errno;
  tzset();
  return 0;
}

int64_t tz_local_to_ms(const struct civil *c) {
  struct tm tm = {0};
  time_t t;
  tm.tm_year = c->year - 1900;
  tm.tm_mon = c->month - 1;
  tm.tm_mday = c->day;
  tm.tm_hour = c->hour;
  tm.tm_min = c->min;
  tm.tm_sec = c->sec;
  tm.tm_isdst = -1;
  t = mktime(&tm);
  return (int64_t)t * 1000 + c->ms;
}

void tz_ms_to_local(int64_t ms, struct civil *out) {
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  time_t t = (time_t)secs;
  struct tm tm;
  localtime_r(&t, &tm);
  out->year = tm.tm_year + 1900;
  out->month = tm.tm_mon + 1;
  out->day = tm.tm_mday;
  out->hour = tm.tm_hour;
  out->min = tm.tm_min;
  out->sec = tm.tm_sec;
  out->ms = (int)(ms - secs * 1000);
}

int64_t tz_utc_to_ms(const struct civil *c) {
  int64_t days = tz_days_from_civil(c->year, c->month, c->day);
  return ((days * 24 + c->hour) * 60 + c->min) * MS_PER_MINUTE + c->sec * 1000 +
         c->ms;
}
