/* Small helpers shared by every module: fatal-on-OOM allocation, a growable
 * string buffer and container_of. Allocation failure is fatal in the daemon
 * so ordinary code carries no untestable OOM branches. */
#ifndef INDICATORD_UTIL_H
#define INDICATORD_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member)                                        \
  ((type *)((char *)(ptr)-offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* On functions that start something (init, start): a caller that drops the
 * result does not compile. */
#define MUST_CHECK __attribute__((warn_unused_result))

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grows *arr (of *cap elements of elem_size) so that it holds at least need
 * elements. */
void xgrow(void **arr, size_t *cap, size_t need, size_t elem_size);

/* A NUL-terminated growable string. Zero-initialise before use. */
struct strbuf {
  char *buf;
  size_t len;
  size_t cap;
};

void strbuf_add(struct strbuf *sb, const char *data, size_t len);
void strbuf_adds(struct strbuf *sb, const char *s);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Takes the buffer out; the caller frees it and sb is reset. Never NULL. */
char *strbuf_take(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);

/* A number for people: digit groups ("412,000"), at most two decimals,
 * no trailing zeros; "n/a" when not finite. */
void format_number(double v, char *buf, size_t len);

/* Display width of UTF-8 text on a terminal (East Asian wide = 2 columns). */
int utf8_width(const char *s);

/* Levenshtein distance, capped at 100; for "did you mean". */
int edit_distance(const char *a, const char *b);

#endif
