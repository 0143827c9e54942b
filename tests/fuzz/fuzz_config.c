/* libFuzzer target: the YAML config loader (syntax, schema, checks). */
#include "config.h"
#include "config_load.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct diag d = {0};
  /* A directory that does not exist: no drop-ins, no secret files. */
  struct config *c =
      config_load_text("/nonexistent/fuzz.yaml", (const char *)data, size, &d);
  for (size_t i = 0; i < d.n; i++)
    free(diag_format(&d, i));
  config_free(c);
  diag_free(&d);
  return 0;
}
