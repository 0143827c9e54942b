/* An incremental HTTP/1.1 response parser for the plain-HTTP fast path
 * (http1): status line, the headers a feed needs, framing (Content-Length,
 * chunked, until close), gzip/deflate decoding and the body size limit.
 * Bytes go in as they arrive, in pieces of any size; errors name the byte
 * offset where the response went wrong. */
#ifndef INDICATORD_RESPONSE_H
#define INDICATORD_RESPONSE_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

struct response {
  /* What the head said. */
  int status;
  bool keep_alive;
  char *etag, *last_modified; /* owned; NULL when absent */
  char *content_type;         /* owned; NULL when absent */
  bool has_location;
  /* Where the decoded body goes. */
  struct strbuf *body;
  size_t max_body;
  /* Parser state. */
  int state;
  int head_flags;
  uint64_t offset; /* bytes consumed so far */
  size_t head_bytes;
  struct strbuf line;
  int64_t content_length; /* -1: none */
  uint64_t remaining;     /* of a Content-Length body or of a chunk */
  bool z_active, z_ended;
  z_stream z;
  char error[160];
};

/* Prepares r to parse one response whose decoded body is appended to body
 * (up to max_body bytes). */
void response_init(struct response *r, struct strbuf *body, size_t max_body);
/* Consumes up to len bytes; *used says how many. Returns 1 when the
 * response is complete, 0 when it needs more, or a negative code with the
 * reason in r->error: -EPROTO (malformed), -EFBIG (body over max_body),
 * -ENOTSUP (a coding this parser does not do; curl can). */
int response_feed(struct response *r, const char *data, size_t len,
                  size_t *used);
/* The peer closed the connection: completes a body that runs until close
 * (returns 1), anything else is an error (negative, r->error). */
int response_eof(struct response *r);
/* Whether any byte of a response arrived. */
bool response_started(const struct response *r);
void response_free(struct response *r);

#endif
