#include "utf8.h"

#include "util.h"

#include <string.h>

/* The length of the well-formed character at p (n bytes available), or 0
 * when the bytes there are not one. */
static size_t char_len(const unsigned char *p, size_t n) {
  unsigned cp;
  size_t need;
  if (n == 0)
    return 0;
  if (p[0] < 0x80)
    return 1;
  if (p[0] >= 0xC2 && p[0] <= 0xDF) {
    need = 2;
    cp = p[0] & 0x1F;
  } else if ((p[0] & 0xF0) == 0xE0) {
    need = 3;
    cp = p[0] & 0x0F;
  } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
    need = 4;
    cp = p[0] & 0x07;
  } else {
    return 0;
  }
  if (n < need)
    return 0;
  for (size_t i = 1; i < need; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = cp << 6 | (p[i] & 0x3F);
  }
  if ((need == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return need;
}

size_t utf8_prefix(const char *s, size_t len, size_t max) {
  const unsigned char *p = (const unsigned char *)s;
  size_t cut;
  if (len <= max)
    return len;
  cut = max;
  /* Back off continuation bytes to the start of the character that the
   * cut would split. */
  while (cut > 0 && (p[cut] & 0xC0) == 0x80)
    cut--;
  return cut;
}

void utf8_trim_partial(char *s) {
  size_t len = strlen(s), start = len;
  const unsigned char *p = (const unsigned char *)s;
  /* At most three continuation bytes end a character. */
  while (start > 0 && len - start < 4 && (p[start - 1] & 0xC0) == 0x80)
    start--;
  if (start > 0 && p[start - 1] >= 0xC0) {
    start--;
    if (char_len(p + start, len - start) != len - start)
      s[start] = '\0';
  }
}

bool utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    size_t n = char_len(p + i, len - i);
    if (!n)
      return false;
    i += n;
  }
  return true;
}

char *utf8_repair(const char *s) {
  static const char replacement[] = "\xEF\xBF\xBD";
  const unsigned char *p = (const unsigned char *)s;
  size_t len = strlen(s);
  struct strbuf out = {0};
  if (utf8_valid(s, len))
    return xstrdup(s);
  for (size_t i = 0; i < len;) {
    size_t n = char_len(p + i, len - i);
    if (n) {
      strbuf_add(&out, s + i, n);
      i += n;
    } else {
      strbuf_add(&out, replacement, 3);
      i++;
    }
  }
  return strbuf_take(&out);
}
