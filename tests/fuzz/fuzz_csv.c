/* libFuzzer target: CSV bodies through the extractor. */
#include "config.h"
#include "config_load.h"
#include "extract.h"
#include "tz.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config *cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char yaml[] = "timezone: Asia/Shanghai\n"
                             "feeds:\n"
                             "  - id: a\n"
                             "    url: http://127.0.0.1/a\n"
                             "    format: csv\n"
                             "    time: month\n"
                             "    time_format: '%Y-%m'\n"
                             "    series:\n"
                             "      x: {column: value, kind: cumulative}\n"
                             "      y: {column: 3, where: {region: 辽宁}}\n";
  struct extractor *ex = NULL;
  struct extract_out out = {0};
  char err[128];
  if (!cfg) {
    struct diag d = {0};
    cfg = config_load_text("/nonexistent/f.yaml", yaml, sizeof(yaml) - 1, &d);
    diag_free(&d);
    if (!cfg)
      abort();
    tz_set(cfg->timezone);
  }
  if (extract_new(&cfg->feeds[0], &ex, err, sizeof(err)) < 0)
    abort();
  extract_run(ex, (const char *)data, size, 1795856400000, NULL, &out);
  extract_out_free(&out);
  extract_free(ex);
  return 0;
}
