#include "html.h"

#include <string.h>

#define REPLACEMENT "\xEF\xBF\xBD"

/* The length of the well-formed UTF-8 sequence at s (n bytes left), or 0:
 * no overlong forms, no surrogates, nothing past U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  size_t len;
  unsigned lo = 0x80, hi = 0xBF;
  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xC2 && s[0] <= 0xDF)
    len = 2;
  else if (s[0] >= 0xE0 && s[0] <= 0xEF)
    len = 3;
  else if (s[0] >= 0xF0 && s[0] <= 0xF4)
    len = 4;
  else
    return 0;
  if (s[0] == 0xE0)
    lo = 0xA0;
  else if (s[0] == 0xED)
    hi = 0x9F;
  else if (s[0] == 0xF0)
    lo = 0x90;
  else if (s[0] == 0xF4)
    hi = 0x8F;
  if (n < len || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xBF)
      return 0;
  return len;
}

void html_escape_n(struct strbuf *out, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, plain = 0;
  while (i < len) {
    size_t n = utf8_seq(p + i, len - i);
    const char *ref = NULL;
    if (n == 1) {
      switch (p[i]) {
      case '&':
        ref = "&amp;";
        break;
      case '<':
        ref = "&lt;";
        break;
      case '>':
        ref = "&gt;";
        break;
      case '"':
        ref = "&quot;";
        break;
      case '\'':
        ref = "&#39;";
        break;
      default:
        if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n') || p[i] == 0x7F)
          ref = REPLACEMENT;
      }
    } else if (n == 0) {
      ref = REPLACEMENT;
      n = 1;
    }
    if (ref) {
      strbuf_add(out, s + plain, i - plain);
      strbuf_adds(out, ref);
      plain = i + n;
    }
    i += n;
  }
  strbuf_add(out, s + plain, len - plain);
}

void html_escape(struct strbuf *out, const char *s) {
  if (s)
    html_escape_n(out, s, strlen(s));
}
