#include "strmap.h"

#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint32_t hash(const char *key) {
  uint32_t h = 2166136261u;
  for (const char *p = key; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  return h;
}

void strmap_init(struct strmap *m, size_t n) {
  m->cap = 16;
  while (m->cap < 2 * n)
    m->cap *= 2;
  m->n = 0;
  m->keys = xcalloc(m->cap, sizeof(*m->keys));
  m->vals = xcalloc(m->cap, sizeof(*m->vals));
}

void strmap_free(struct strmap *m) {
  free(m->keys);
  free(m->vals);
  m->keys = NULL;
  m->vals = NULL;
  m->cap = m->n = 0;
}

static size_t slot(const struct strmap *m, const char *key) {
  size_t i = hash(key) & (m->cap - 1);
  while (m->keys[i] && strcmp(m->keys[i], key) != 0)
    i = (i + 1) & (m->cap - 1);
  return i;
}

const void *strmap_get(const struct strmap *m, const char *key) {
  return m->cap ? m->vals[slot(m, key)] : NULL;
}

const void *strmap_put(struct strmap *m, const char *key, const void *val) {
  size_t i;
  if (!m->cap)
    strmap_init(m, 8);
  if (2 * (m->n + 1) > m->cap) {
    struct strmap bigger;
    strmap_init(&bigger, m->n + 1);
    for (size_t j = 0; j < m->cap; j++) {
      if (!m->keys[j])
        continue;
      i = slot(&bigger, m->keys[j]);
      bigger.keys[i] = m->keys[j];
      bigger.vals[i] = m->vals[j];
      bigger.n++;
    }
    strmap_free(m);
    *m = bigger;
  }
  i = slot(m, key);
  if (m->keys[i])
    return m->vals[i];
  m->keys[i] = key;
  m->vals[i] = val;
  m->n++;
  return NULL;
}
