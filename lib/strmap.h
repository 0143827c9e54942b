/* A string -> pointer map (open addressing, FNV-1a) for lookups and
 * duplicate checks that stay linear with 10,000 feeds or keys. Keys are
 * borrowed and must outlive the map; values must not be NULL. */
#ifndef INDICATORD_STRMAP_H
#define INDICATORD_STRMAP_H

#include <stddef.h>

struct strmap {
  const char **keys;
  const void **vals;
  size_t cap, n;
};

/* Sized for about n keys; a zeroed map works too (sized on first put). */
void strmap_init(struct strmap *m, size_t n);
void strmap_free(struct strmap *m);
/* The value for key, or NULL. */
const void *strmap_get(const struct strmap *m, const char *key);
/* Adds key -> val unless key is there; returns the value already there,
 * or NULL when added. */
const void *strmap_put(struct strmap *m, const char *key, const void *val);

#endif
