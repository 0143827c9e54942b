/* libFuzzer target: Prometheus selectors (first line) and exposition
 * bodies (the rest) through the extractor. */
#include "config.h"
#include "config_load.h"
#include "extract.h"
#include "feed_prom.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* strndup would scan past the end of an unterminated input. */
static char *copy(const char *p, size_t n) {
  char *s = malloc(n + 1);
  if (s) {
    memcpy(s, p, n);
    s[n] = '\0';
  }
  return s;
}

static struct config *cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char yaml[] =
      "feeds:\n"
      "  - id: a\n"
      "    url: http://127.0.0.1/a\n"
      "    format: prometheus\n"
      "    series: {x: 'm{k=\"v\"}', y: up, z: 'n{a=\"\"}'}\n"
      "  - id: b\n"
      "    url: http://127.0.0.1/b\n"
      "    format: openmetrics\n"
      "    series: {u: 'm{k=\"v\"}', v: c, w: {metric: up, scale: 2}}\n";
  /* Each body also as the server may label it. */
  static const char *const types[] = {
      NULL, "application/openmetrics-text; version=1.0.0",
      "text/plain; version=0.0.4"};
  const char *text = (const char *)data;
  const char *nl = memchr(text, '\n', size);
  size_t slen = nl ? (size_t)(nl - text) : size;
  char *sel_text = copy(text, slen);
  struct prom_selector *sel = NULL;
  struct extractor *ex = NULL;
  struct extract_out out = {0};
  char err[128];
  size_t at;
  if (!cfg) {
    struct diag d = {0};
    cfg = config_load_text("/nonexistent/f.yaml", yaml, sizeof(yaml) - 1, &d);
    diag_free(&d);
    if (!cfg)
      abort();
  }
  if (sel_text &&
      feed_prom_selector_parse(sel_text, &sel, err, sizeof(err), &at) == 0)
    feed_prom_selector_free(sel);
  free(sel_text);
  for (size_t f = 0; f < cfg->nfeeds; f++)
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
      if (extract_new(&cfg->feeds[f], &ex, err, sizeof(err)) < 0)
        abort();
      extract_run(ex, nl ? nl + 1 : "", nl ? size - slen - 1 : 0, 1795856400000,
                  types[t], &out);
      extract_out_free(&out);
      extract_free(ex);
    }
  return 0;
}
