#include "period.h"

#include "tz.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

static int digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i]))
      return -EINVAL;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

int period_parse_date(const char *text, int *year, int *month, int *day) {
  if (strlen(text) != 10 || text[4] != '-' || text[7] != '-')
    return -EINVAL;
  if (digits(text, 4, year) || digits(text + 5, 2, month) ||
      digits(text + 8, 2, day))
    return -EINVAL;
  return tz_date_valid(*year, *month, *day) ? 0 : -EINVAL;
}

int period_parse(const char *text, struct period *out) {
  size_t len = strlen(text);
  int year, first = 1, last = 12, n;
  if (len < 4 || digits(text, 4, &year) || year < 1900 || year > 9999)
    return -EINVAL;
  if (len == 4) {
    /* whole year */
  } else if (len == 7 && text[4] == '-' && (text[5] == 'Q' || text[5] == 'q')) {
    if (text[6] < '1' || text[6] > '4')
      return -EINVAL;
    first = (text[6] - '1') * 3 + 1;
    last = first + 2;
  } else if (len == 7 && text[4] == '-' && (text[5] == 'H' || text[5] == 'h')) {
    if (text[6] != '1' && text[6] != '2')
      return -EINVAL;
    first = text[6] == '1' ? 1 : 7;
    last = first + 5;
  } else if (len == 7 && text[4] == '-') {
    if (digits(text + 5, 2, &n) || n < 1 || n > 12)
      return -EINVAL;
    first = last = n;
  } else {
    return -EINVAL;
  }
  out->from_year = out->to_year = year;
  out->from_month = first;
  out->from_day = 1;
  out->to_month = last;
  out->to_day = tz_days_in_month(year, last);
  return 0;
}

int64_t period_days(const struct period *p) {
  return tz_days_from_civil(p->to_year, p->to_month, p->to_day) -
         tz_days_from_civil(p->from_year, p->from_month, p->from_day) + 1;
}

int64_t period_start_ms(const struct period *p) {
  struct civil c = {p->from_year, p->from_month, p->from_day, 0, 0, 0, 0};
  return tz_local_to_ms(&c);
}

int64_t period_end_ms(const struct period *p) {
  struct civil c = {0};
  int64_t next = tz_days_from_civil(p->to_year, p->to_month, p->to_day) + 1;
  tz_civil_from_days(next, &c.year, &c.month, &c.day);
  return tz_local_to_ms(&c);
}
