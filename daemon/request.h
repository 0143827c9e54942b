/* The request head the HTTP endpoint reads: a request line and header
 * lines, up to the empty line. Only what routing needs is kept (method and
 * path); everything else is checked for shape and skipped. Strict on
 * purpose: an HTTP/0.9 request, a header folded over lines or a line of
 * garbage is a 400, never a guess. */
#ifndef INDICATORD_REQUEST_H
#define INDICATORD_REQUEST_H

#include <stddef.h>

#define REQUEST_METHOD_MAX 16
#define REQUEST_PATH_MAX 1024

struct request {
  char method[REQUEST_METHOD_MAX];
  char path[REQUEST_PATH_MAX]; /* the target up to '?' */
  int minor;                   /* HTTP/1.minor */
};

/* Reads the head at the start of buf (len bytes so far). Returns the
 * head's length once it is complete, 0 while more is needed, or -EINVAL
 * when it is not an HTTP/1.x request head (-ENAMETOOLONG for a target
 * longer than REQUEST_PATH_MAX). */
long request_parse(const char *buf, size_t len, struct request *out);

#endif
