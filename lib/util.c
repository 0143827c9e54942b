#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(void) {
  /* Writing directly: the logger may itself need memory. */
  static const char msg[] = "<2>indicatord: out of memory\n";
  fwrite(msg, 1, sizeof(msg) - 1, stderr);
  abort();
}

void *xmalloc(size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p)
    oom();
  return p;
}

void *xcalloc(size_t nmemb, size_t size) {
  void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
  if (!p)
    oom();
  return p;
}

void *xrealloc(void *ptr, size_t size) {
  void *p = realloc(ptr, size ? size : 1);
  if (!p)
    oom();
  return p;
}

char *xstrdup(const char *s) {
  return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n) {
  char *p = xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *xasprintf(const char *fmt, ...) {
  struct strbuf sb = {0};
  va_list ap;
  va_start(ap, fmt);
  strbuf_vaddf(&sb, fmt, ap);
  va_end(ap);
  return strbuf_take(&sb);
}

void xgrow(void **arr, size_t *cap, size_t need, size_t elem_size) {
  size_t n;
  if (need <= *cap)
    return;
  n = *cap ? *cap : 4;
  while (n < need)
    n *= 2;
  *arr = xrealloc(*arr, n * elem_size);
  *cap = n;
}

static void strbuf_reserve(struct strbuf *sb, size_t extra) {
  size_t need = sb->len + extra + 1;
  if (need <= sb->cap)
    return;
  xgrow((void **)&sb->buf, &sb->cap, need < 64 ? 64 : need, 1);
}

void strbuf_add(struct strbuf *sb, const char *data, size_t len) {
  strbuf_reserve(sb, len);
  memcpy(sb->buf + sb->len, data, len);
  sb->len += len;
  sb->buf[sb->len] = '\0';
}

void strbuf_adds(struct strbuf *sb, const char *s) {
  strbuf_add(sb, s, strlen(s));
}

void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap) {
  va_list ap2;
  int n;
  /* Formatted once into the room there is, and again only when it did not
   * fit: measuring first doubled the cost of every key and message. */
  strbuf_reserve(sb, 0);
  va_copy(ap2, ap);
  n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap2);
  va_end(ap2);
  if (n < 0) {
    sb->buf[sb->len] = '\0';
    return;
  }
  if ((size_t)n >= sb->cap - sb->len) {
    strbuf_reserve(sb, (size_t)n);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
  }
  sb->len += (size_t)n;
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  strbuf_vaddf(sb, fmt, ap);
  va_end(ap);
}

char *strbuf_take(struct strbuf *sb) {
  /* Taken strings usually live long (config values, one per feed): the
   * doubling slack would be a third of a large configuration's memory. */
  char *p =
      sb->buf ? sb->cap > sb->len + 1 ? xrealloc(sb->buf, sb->len + 1) : sb->buf
              : xstrdup("");
  sb->buf = NULL;
  sb->len = sb->cap = 0;
  return p;
}

void strbuf_reset(struct strbuf *sb) {
  sb->len = 0;
  if (sb->buf)
    sb->buf[0] = '\0';
}

void strbuf_free(struct strbuf *sb) {
  free(sb->buf);
  sb->buf = NULL;
  sb->len = sb->cap = 0;
}

static int is_wide(unsigned cp) {
  /* The East Asian Wide and Fullwidth blocks that occur in our titles. */
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
         (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
         (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
         (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
         (cp >= 0x20000 && cp <= 0x3FFFD);
}

int utf8_width(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  int w = 0;
  while (*p) {
    unsigned cp;
    int n;
    if (*p < 0x80) {
      cp = *p;
      n = 1;
    } else if ((*p & 0xE0) == 0xC0) {
      cp = *p & 0x1F;
      n = 2;
    } else if ((*p & 0xF0) == 0xE0) {
      cp = *p & 0x0F;
      n = 3;
    } else if ((*p & 0xF8) == 0xF0) {
      cp = *p & 0x07;
      n = 4;
    } else {
      p++;
      w++;
      continue;
    }
    for (int i = 1; i < n; i++) {
      if ((p[i] & 0xC0) != 0x80) {
        n = i;
        break;
      }
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    p += n;
    if (cp >= 0x300 && cp <= 0x36F)
      continue; /* combining marks take no column */
    w += is_wide(cp) ? 2 : 1;
  }
  return w;
}

int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  int row[101];
  if (la > 100 || lb > 100)
    return 100;
  for (size_t j = 0; j <= lb; j++)
    row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int prev = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int cur = row[j];
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int best = prev + cost;
      if (row[j] + 1 < best)
        best = row[j] + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      prev = cur;
    }
  }
  return row[lb];
}

void format_number(double v, char *buf, size_t len) {
  char raw[64], out[96];
  size_t o = 0, intlen;
  const char *p = raw;
  int decimals = fabs(v) >= 1000 ? 0 : fabs(v) >= 100 ? 1 : 2;
  if (!isfinite(v)) {
    snprintf(buf, len, "n/a");
    return;
  }
  if (fabs(v) >= 1e15) {
    /* Past what digit grouping helps to read. */
    snprintf(buf, len, "%.4g", v);
    return;
  }
  snprintf(raw, sizeof(raw), "%.*f", decimals, v);
  if (*p == '-')
    out[o++] = *p++;
  intlen = strcspn(p, ".");
  for (size_t i = 0; i < intlen; i++) {
    out[o++] = p[i];
    if ((intlen - i - 1) % 3 == 0 && i + 1 < intlen)
      out[o++] = ',';
  }
  p += intlen;
  /* Trailing zeros after the point say nothing. */
  if (*p == '.') {
    size_t l = strlen(p);
    while (l > 1 && p[l - 1] == '0')
      l--;
    if (l == 1)
      l = 0;
    memcpy(out + o, p, l);
    o += l;
  }
  out[o] = '\0';
  snprintf(buf, len, "%s", out);
}
