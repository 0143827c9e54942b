#include "cluster_plan.h"

#include "util.h"

#include <stdlib.h>

/* A hungry instance looks for free feeds this often (at most). */
#define HUNGRY_MS 100
/* After a lease of another instance runs out, this long before we try. */
#define AFTER_EXPIRY_MS 20

size_t cluster_share(size_t nfeeds, size_t live) {
  if (live == 0)
    live = 1;
  return (nfeeds + live - 1) / live;
}

/* FNV-1a 64 over feed, a separator and instance, then a finaliser that
 * spreads the bits (splitmix64's), so that similar names rank apart. */
uint64_t cluster_affinity(const char *feed, const char *instance) {
  uint64_t h = UINT64_C(1469598103934665603);
  for (const unsigned char *p = (const unsigned char *)feed; *p; p++)
    h = (h ^ *p) * UINT64_C(1099511628211);
  h = (h ^ 0xff) * UINT64_C(1099511628211);
  for (const unsigned char *p = (const unsigned char *)instance; *p; p++)
    h = (h ^ *p) * UINT64_C(1099511628211);
  h ^= h >> 30;
  h *= UINT64_C(0xbf58476d1ce4e5b9);
  h ^= h >> 27;
  h *= UINT64_C(0x94d049bb133111eb);
  h ^= h >> 31;
  return h;
}

struct ranked {
  uint64_t score;
  size_t index;
};

static int by_score(const void *a, const void *b) {
  const struct ranked *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

void cluster_rank(const char *const *ids, size_t n, const char *instance,
                  size_t *order) {
  struct ranked *r = xcalloc(n + 1, sizeof(*r));
  for (size_t i = 0; i < n; i++) {
    r[i].score = cluster_affinity(ids[i], instance);
    r[i].index = i;
  }
  qsort(r, n, sizeof(*r), by_score);
  for (size_t i = 0; i < n; i++)
    order[i] = r[i].index;
  free(r);
}

enum cluster_feed_state cluster_feed_next(enum cluster_feed_state s,
                                          enum cluster_feed_event e, bool busy,
                                          bool *hand_over) {
  *hand_over = false;
  switch (e) {
  case CLUSTER_ACQUIRED:
    return s == CLUSTER_FREE ? CLUSTER_HELD : s;
  case CLUSTER_LOST:
    /* Nothing to hand over: the lease is not ours to delete. */
    return CLUSTER_FREE;
  case CLUSTER_OVER_SHARE:
    if (s != CLUSTER_HELD)
      return s;
    if (busy)
      return CLUSTER_RELEASING;
    *hand_over = true;
    return CLUSTER_FREE;
  case CLUSTER_IDLE:
    if (s != CLUSTER_RELEASING || busy)
      return s;
    *hand_over = true;
    return CLUSTER_FREE;
  case CLUSTER_STOPPING:
    if (s == CLUSTER_FREE)
      return s;
    *hand_over = true;
    return CLUSTER_FREE;
  }
  return s;
}

bool cluster_feed_polled(enum cluster_feed_state s) {
  return s == CLUSTER_HELD;
}

uint64_t cluster_valid_until(uint64_t sent_at, uint64_t lease_ms) {
  return sent_at + lease_ms - lease_ms / 10;
}

uint64_t cluster_next_step(uint64_t lease_ms, bool hungry, int64_t soonest_ms) {
  uint64_t d = lease_ms / 3;
  uint64_t quick = lease_ms / 10 > HUNGRY_MS ? lease_ms / 10 : HUNGRY_MS;
  if (hungry && quick < d)
    d = quick;
  if (soonest_ms >= 0 && (uint64_t)soonest_ms + AFTER_EXPIRY_MS < d)
    d = (uint64_t)soonest_ms + AFTER_EXPIRY_MS;
  return d ? d : 1;
}
