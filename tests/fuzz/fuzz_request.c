/* libFuzzer target: request heads as the endpoint reads them. The same
 * bytes given whole and a piece at a time must get the same verdict (a
 * head cut by the network is the same head), and a complete head is never
 * longer than what was given. */
#include "request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct request whole, part;
  const char *text = (const char *)data;
  long rc = request_parse(text, size, &whole), prc = 0;
  size_t at;
  if (rc > (long)size)
    abort();
  if (rc > 0 && (strlen(whole.method) == 0 || whole.path[0] != '/'))
    abort();
  /* Fed as it arrives: every prefix says "more" until the verdict. */
  for (at = 0; at <= size; at++) {
    prc = request_parse(text, at, &part);
    if (prc != 0)
      break;
  }
  if (rc == 0 && prc != 0)
    abort();
  if (rc > 0 && (prc != rc || strcmp(part.path, whole.path) != 0 ||
                 strcmp(part.method, whole.method) != 0))
    abort();
  if (rc < 0 && prc >= 0)
    abort();
  return 0;
}
