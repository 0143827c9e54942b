/* libFuzzer target: JSONPath compile + eval, and JSON bodies through the
 * extractor (with and without records). Input: a path, a newline, a body. */
#include "config.h"
#include "config_load.h"
#include "extract.h"
#include "jsonpath.h"
#include "tz.h"

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

static struct config *load(void) {
  static const char yaml[] =
      "timezone: Asia/Shanghai\n"
      "feeds:\n"
      "  - id: a\n"
      "    url: http://127.0.0.1/a\n"
      "    time: $.t\n"
      "    series: {x: $.v, y: '$.d[?(@.n==\"s\")].v'}\n"
      "  - id: b\n"
      "    url: http://127.0.0.1/b\n"
      "    records: $.data[*]\n"
      "    time: '@.m'\n"
      "    time_format: '%Y-%m'\n"
      "    series: {z: {path: '@.v', kind: cumulative, min: 0}}\n"
      "  - id: c\n"
      "    url: http://127.0.0.1/c\n"
      "    records: \"$.returndata.datanodes[?(@.wds[0].valuecode=='A' && "
      "(@.data.hasdata==true || !@.x) && @.n != null)]\"\n"
      "    time: '@.wds[1].valuecode'\n"
      "    not_after: now\n"
      "    series: {w: {path: '@.data.data', scale: 10000}}\n";
  struct diag d = {0};
  struct config *c =
      config_load_text("/nonexistent/f.yaml", yaml, sizeof(yaml) - 1, &d);
  diag_free(&d);
  if (!c)
    abort();
  tz_set(c->timezone);
  return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  const char *nl = memchr(text, '\n', size);
  size_t plen = nl ? (size_t)(nl - text) : size;
  const char *body = nl ? nl + 1 : "";
  size_t blen = nl ? size - plen - 1 : 0;
  char *path = copy(text, plen);
  struct jsonpath *jp = NULL;
  char err[128];
  size_t at;
  json_error_t jerr;
  json_t *root;

  if (!cfg)
    cfg = load();
  root = json_loadb(body, blen, JSON_DECODE_ANY, &jerr);
  if (path && jsonpath_compile(path, &jp, err, sizeof(err), &at) == 0) {
    json_t *out[8];
    jsonpath_eval(jp, root, out, 8);
    jsonpath_free(jp);
  }
  json_decref(root);
  free(path);
  for (size_t f = 0; f < cfg->nfeeds; f++) {
    struct extractor *ex = NULL;
    struct extract_out out = {0};
    if (extract_new(&cfg->feeds[f], &ex, err, sizeof(err)) < 0)
      abort();
    extract_run(ex, body, blen, 1795856400000, NULL, &out);
    extract_out_free(&out);
    extract_free(ex);
  }
  return 0;
}
