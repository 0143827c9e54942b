/* libFuzzer target: observation times. The first byte picks the format
 * (and, for strptime, the pattern); the rest is the text, which is also
 * checked as a pattern of its own. A parsed period must not end before it
 * starts. */
#include "timefmt.h"
#include "tz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const patterns[] = {"%Y-%m", "%d/%m/%Y %H:%M", "%Y年%m月",
                                         "%Y-%m-%dT%H:%M:%S%z"};
  static int zone_set;
  struct timefmt_value v;
  char err[256];
  char *pattern;
  unsigned sel;
  if (!zone_set) {
    tz_set("Asia/Shanghai");
    zone_set = 1;
  }
  if (size < 1)
    return 0;
  sel = data[0];
  if (timefmt_parse((const char *)data + 1, size - 1,
                    (enum timefmt_kind)(sel % 4), patterns[(sel / 4) % 4], &v,
                    err, sizeof(err)) == 0) {
    if (v.last_ms < v.start_ms)
      abort();
    timefmt_check_range(v.start_ms, 1795856400000, err, sizeof(err));
  }
  pattern = malloc(size);
  if (pattern) {
    memcpy(pattern, data + 1, size - 1);
    pattern[size - 1] = '\0';
    timefmt_pattern_check(pattern, err, sizeof(err));
    free(pattern);
  }
  return 0;
}
