#include "request.h"

#include <errno.h>
#include <string.h>

/* RFC 9110 token characters. */
static int is_tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the line starting at p (at '\n'; a '\r' before it is the
 * caller's to drop), or NULL when the buffer ends first. */
static const char *line_end(const char *p, const char *end) {
  return memchr(p, '\n', (size_t)(end - p));
}

static long parse_request_line(const char *p, const char *eol,
                               struct request *out) {
  const char *sp1, *sp2, *q;
  size_t mlen, plen;
  if (eol > p && eol[-1] == '\r')
    eol--;
  sp1 = memchr(p, ' ', (size_t)(eol - p));
  if (!sp1)
    return -EINVAL; /* HTTP/0.9 ("GET /") or not HTTP at all */
  mlen = (size_t)(sp1 - p);
  if (mlen == 0 || mlen >= REQUEST_METHOD_MAX)
    return -EINVAL;
  for (q = p; q < sp1; q++)
    if (!is_tchar((unsigned char)*q))
      return -EINVAL;
  sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
  if (!sp2 || sp2 == sp1 + 1)
    return -EINVAL;
  /* origin-form only: a proxy's absolute-form is not for us. */
  if (sp1[1] != '/')
    return -EINVAL;
  for (q = sp1 + 1; q < sp2; q++)
    if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f)
      return -EINVAL;
  if (eol - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
      (sp2[8] != '0' && sp2[8] != '1'))
    return -EINVAL;
  q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
  plen = (size_t)((q ? q : sp2) - (sp1 + 1));
  if (plen >= REQUEST_PATH_MAX)
    return -ENAMETOOLONG;
  memcpy(out->method, p, mlen);
  out->method[mlen] = '\0';
  memcpy(out->path, sp1 + 1, plen);
  out->path[plen] = '\0';
  out->minor = sp2[8] - '0';
  return 0;
}

static int header_line_ok(const char *p, const char *eol) {
  const char *colon;
  if (eol > p && eol[-1] == '\r')
    eol--;
  colon = memchr(p, ':', (size_t)(eol - p));
  /* A name of token characters, then ':'; a leading space would be an
   * obsolete line folding. */
  if (!colon || colon == p)
    return 0;
  for (const char *q = p; q < colon; q++)
    if (!is_tchar((unsigned char)*q))
      return 0;
  for (const char *q = colon + 1; q < eol; q++)
    if ((unsigned char)*q < ' ' && *q != '\t')
      return 0;
  return 1;
}

long request_parse(const char *buf, size_t len, struct request *out) {
  const char *p = buf, *end = buf + len, *eol;
  long rc;
  memset(out, 0, sizeof(*out));
  eol = line_end(p, end);
  if (!eol) {
    /* Say no early to what cannot become a request line. */
    for (const char *q = p; q < end && *q != ' '; q++)
      if (!is_tchar((unsigned char)*q) && *q != '\r')
        return -EINVAL;
    return 0;
  }
  rc = parse_request_line(p, eol, out);
  if (rc < 0)
    return rc;
  p = eol + 1;
  for (;;) {
    eol = line_end(p, end);
    if (!eol)
      return 0;
    if (eol == p || (eol == p + 1 && *p == '\r'))
      return (long)(eol + 1 - buf);
    if (!header_line_ok(p, eol))
      return -EINVAL;
    p = eol + 1;
  }
}
