/* libFuzzer target: JSON-stat 2.0 datasets. The first line is the key
 * ("geo=DE", "@Tid" names the time dimension), the rest the dataset.
 * Points must come back in strictly increasing time order with finite values.
 */
#include "cube.h"
#include "jsonstat.h"

#include "config.h"
#include "config_load.h"
#include "extract.h"
#include "tz.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config *cfg;

/* The body also goes through the json-stat format of the table, as a feed
 * reads it. */
static void through_format(const char *body, size_t len) {
  static const char yaml[] =
      "timezone: Europe/Oslo\n"
      "feeds:\n"
      "  - id: a\n"
      "    url: http://127.0.0.1/a\n"
      "    format: json-stat\n"
      "    series:\n"
      "      x: {key: {geo: DE}, scale: auto}\n"
      "      y: {key: {ContentsCode: KpiIndMnd}, kind: increment}\n"
      "  - id: b\n"
      "    url: http://127.0.0.1/b\n"
      "    format: json-stat\n"
      "    time: Tid\n"
      "    series: {z: ~}\n";
  if (!cfg) {
    struct diag d = {0};
    cfg = config_load_text("/nonexistent/f.yaml", yaml, sizeof(yaml) - 1, &d);
    diag_free(&d);
    if (!cfg)
      abort();
    tz_set(cfg->timezone);
  }
  for (size_t f = 0; f < cfg->nfeeds; f++) {
    struct extractor *ex = NULL;
    struct extract_out out = {0};
    char err[128];
    if (extract_new(&cfg->feeds[f], &ex, err, sizeof(err)) < 0)
      abort();
    extract_run(ex, body, len, 1795856400000, NULL, &out);
    extract_out_free(&out);
    extract_free(ex);
  }
}

#define MAX_PARTS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  const char *nl = memchr(text, '\n', size);
  size_t klen = nl ? (size_t)(nl - text) : size;
  char *keytext = malloc(klen + 1);
  struct cube_key_part parts[MAX_PARTS];
  struct cube_key key = {parts, 0};
  struct cube_points pts = {0};
  char err[512];
  json_t *doc;
  char *save = NULL;
  const char *time_dim = NULL;
  if (!keytext)
    return 0;
  memcpy(keytext, text, klen);
  keytext[klen] = '\0';
  for (char *tok = strtok_r(keytext, ",", &save); tok && key.n < MAX_PARTS;
       tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    if (tok[0] == '@') {
      time_dim = tok + 1;
      continue;
    }
    if (!eq)
      continue;
    *eq = '\0';
    parts[key.n].dim = tok;
    parts[key.n].code = eq + 1;
    key.n++;
  }
  doc = nl ? json_loadb(nl + 1, size - klen - 1, 0, NULL) : NULL;
  if (doc && jsonstat_read(doc, &key, time_dim, &pts, err, sizeof(err)) == 0) {
    for (size_t i = 0; i < pts.n; i++) {
      if (!pts.v[i].period || !isfinite(pts.v[i].value) ||
          (i && pts.v[i].time_pos <= pts.v[i - 1].time_pos))
        abort();
      (void)cube_point_value(&pts.v[i]);
    }
  }
  cube_points_free(&pts);
  json_decref(doc);
  free(keytext);
  if (nl)
    through_format(nl + 1, size - klen - 1);
  return 0;
}
