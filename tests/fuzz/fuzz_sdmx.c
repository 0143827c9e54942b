/* libFuzzer target: SDMX-JSON data messages. The first line is the key
 * ("REF_AREA=CHN,UNIT_MEASURE=PC"), the rest the message. Points must come
 * back in strictly increasing time order with finite values. */
#include "cube.h"
#include "sdmx.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
  if (!keytext)
    return 0;
  memcpy(keytext, text, klen);
  keytext[klen] = '\0';
  for (char *tok = strtok_r(keytext, ",", &save); tok && key.n < MAX_PARTS;
       tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq)
      continue;
    *eq = '\0';
    parts[key.n].dim = tok;
    parts[key.n].code = eq + 1;
    key.n++;
  }
  doc = nl ? json_loadb(nl + 1, size - klen - 1, 0, NULL) : NULL;
  if (doc && sdmx_read(doc, &key, &pts, err, sizeof(err)) == 0) {
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
  return 0;
}
