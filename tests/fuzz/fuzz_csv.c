/* libFuzzer target: CSV bodies through the extractor. The first byte picks
 * the feed: long layout with where: (UTF-8), GBK with a preamble, missing
 * marks, thousands separators and a period-headed column, or the wide
 * layout (GB18030); the rest is the body. */
#include "config.h"
#include "config_load.h"
#include "extract.h"
#include "tz.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config *cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char yaml[] =
      "timezone: Asia/Shanghai\n"
      "feeds:\n"
      "  - id: a\n"
      "    url: http://127.0.0.1/a\n"
      "    format: csv\n"
      "    time: month\n"
      "    time_format: '%Y-%m'\n"
      "    series:\n"
      "      x: {column: value, kind: cumulative}\n"
      "      y: {column: 3, where: {region: 辽宁}}\n"
      "  - id: b\n"
      "    url: http://127.0.0.1/b\n"
      "    format: csv\n"
      "    encoding: gbk\n"
      "    skip_rows: 2\n"
      "    missing: ['—', '-', '…']\n"
      "    thousands: ','\n"
      "    not_after: now\n"
      "    series:\n"
      "      p: {column: 2026年3月, where: {指标: 就业}, scale: 10000}\n"
      "      q: {column: 2, kind: cumulative, min: 0}\n"
      "  - id: c\n"
      "    url: http://127.0.0.1/c\n"
      "    format: csv\n"
      "    encoding: gb18030\n"
      "    layout: wide\n"
      "    thousands: ','\n"
      "    series:\n"
      "      r: {where: {指标: 零售}, scale: 100000000, kind: cumulative}\n"
      "      s: {where: {1: x, 单位: '%'}}\n";
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
  if (size < 1)
    return 0;
  if (extract_new(&cfg->feeds[data[0] % cfg->nfeeds], &ex, err, sizeof(err)) <
      0)
    abort();
  extract_run(ex, (const char *)data + 1, size - 1, 1795856400000, NULL, &out);
  extract_out_free(&out);
  extract_free(ex);
  return 0;
}
