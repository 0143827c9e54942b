/* libFuzzer target: HTTP/1.1 responses through the fast path's parser. The
 * first byte picks a read size; the same bytes parsed in one piece and in
 * pieces must give the same verdict, status and body (a parser whose
 * answer depends on how the network cut the stream is wrong even when it
 * does not crash), and the limit on the decoded body must hold. */
#include "response.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
  int rc;
  int status;
  struct strbuf body;
};

static void parse(struct run *out, const char *text, size_t len, size_t step,
                  size_t max_body) {
  struct response r;
  size_t pos = 0;
  memset(out, 0, sizeof(*out));
  response_init(&r, &out->body, max_body);
  while (pos < len && out->rc == 0) {
    size_t n = step && len - pos > step ? step : len - pos, used = 0;
    out->rc = response_feed(&r, text + pos, n, &used);
    if (used > n)
      abort();
    pos += used;
  }
  if (out->rc == 0)
    out->rc = response_eof(&r);
  if (out->body.len > max_body)
    abort();
  out->status = r.status;
  response_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct run whole, cut;
  size_t step, max_body = 4096;
  if (size < 1)
    return 0;
  step = (size_t)(data[0] % 17) + 1;
  parse(&whole, (const char *)data + 1, size - 1, 0, max_body);
  parse(&cut, (const char *)data + 1, size - 1, step, max_body);
  if (whole.rc != cut.rc || whole.status != cut.status)
    abort();
  /* Bodies agree whenever both parses completed. */
  if (whole.rc == 1 && (whole.body.len != cut.body.len ||
                        (whole.body.len &&
                         memcmp(whole.body.buf, cut.body.buf, whole.body.len))))
    abort();
  strbuf_free(&whole.body);
  strbuf_free(&cut.body);
  return 0;
}
