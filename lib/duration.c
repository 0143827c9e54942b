#include "duration.h"

#include "clock.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define DURATION_MAX (100 * 365 * MS_PER_DAY)

static const struct {
  const char *suffix;
  int64_t ms;
} units[] = {
    {"ms", 1},
    {"s", MS_PER_SECOND},
    {"m", MS_PER_MINUTE},
    {"h", MS_PER_HOUR},
    {"d", MS_PER_DAY},
    {"w", 7 * MS_PER_DAY},
    {"y", 365 * MS_PER_DAY},
};

int duration_parse(const char *text, int64_t *ms) {
  const char *p = text;
  int64_t total = 0;
  if (!*p)
    return -EINVAL;
  while (*p) {
    int64_t n = 0;
    size_t best = 0;
    int unit = -1;
    if (!isdigit((unsigned char)*p))
      return -EINVAL;
    while (isdigit((unsigned char)*p)) {
      n = n * 10 + (*p - '0');
      if (n > DURATION_MAX)
        return -ERANGE;
      p++;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
      size_t l = strlen(units[i].suffix);
      if (strncmp(p, units[i].suffix, l) == 0 && l > best) {
        best = l;
        unit = (int)i;
      }
    }
    if (unit < 0)
      return -EINVAL;
    p += best;
    if (n > DURATION_MAX / units[unit].ms)
      return -ERANGE;
    total += n * units[unit].ms;
    if (total > DURATION_MAX)
      return -ERANGE;
  }
  *ms = total;
  return 0;
}

void duration_format(int64_t ms, char *buf, size_t len) {
  static const struct {
    const char *s;
    int64_t ms;
  } parts[] = {{"d", MS_PER_DAY},
               {"h", MS_PER_HOUR},
               {"m", MS_PER_MINUTE},
               {"s", MS_PER_SECOND},
               {"ms", 1}};
  size_t off = 0;
  if (len == 0)
    return;
  buf[0] = '\0';
  if (ms <= 0) {
    snprintf(buf, len, "0s");
    return;
  }
  for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && off < len; i++) {
    if (ms >= parts[i].ms) {
      int w = snprintf(buf + off, len - off, "%lld%s",
                       (long long)(ms / parts[i].ms), parts[i].s);
      if (w < 0)
        return;
      off += (size_t)w;
      ms %= parts[i].ms;
    }
  }
}
