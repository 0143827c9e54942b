/* UTF-8 text that stays valid when it is cut or copied into a fixed
 * buffer: JSON (jansson) refuses a string that ends in half a character,
 * so every cut in text that may hold CJK lands on a character boundary. */
#ifndef INDICATORD_UTF8_H
#define INDICATORD_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The length of the longest prefix of s (len bytes) of at most max bytes
 * that ends on a character boundary. */
size_t utf8_prefix(const char *s, size_t len, size_t max);
/* Drops an incomplete character at the end of s (what snprintf leaves
 * when it cuts), in place. */
void utf8_trim_partial(char *s);
/* Whether s holds only well-formed UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *s, size_t len);
/* A copy of s that is valid UTF-8: every byte that does not start a
 * well-formed character becomes U+FFFD. Caller frees; never NULL. */
char *utf8_repair(const char *s);

#endif
