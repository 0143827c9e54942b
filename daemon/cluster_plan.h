/* The cluster's decisions without I/O (unit-tested): the fair share of
 * feeds, which feeds an instance prefers, the life of a feed's lease on
 * this instance, and how long a renewed lease may be trusted. cluster.c
 * does the talking to Redis. */
#ifndef INDICATORD_CLUSTER_PLAN_H
#define INDICATORD_CLUSTER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At most this many feeds per instance: ceil(feeds / live instances), so
 * the shares cover every feed and differ by at most one feed each. */
size_t cluster_share(size_t nfeeds, size_t live);

/* Rendezvous hashing: how much instance wants feed. Each instance ranks
 * the feeds its own way and always the same way, so free feeds spread
 * without talking, and a feed stays with the instance that wants it
 * most. */
uint64_t cluster_affinity(const char *feed, const char *instance);
/* order[0..n) := 0..n-1 sorted by affinity for instance, highest first
 * (ties by index). */
void cluster_rank(const char *const *ids, size_t n, const char *instance,
                  size_t *order);

/* A feed's lease as this instance sees it. */
enum cluster_feed_state {
  CLUSTER_FREE,      /* not ours */
  CLUSTER_HELD,      /* ours: polled here, renewed every step */
  CLUSTER_RELEASING, /* over our share: not polled any more; the lease goes
                      * once its fetch in flight has finished */
};

enum cluster_feed_event {
  CLUSTER_ACQUIRED,   /* a step took the lease */
  CLUSTER_OVER_SHARE, /* we hold more than our share: give this one up */
  CLUSTER_IDLE,       /* no fetch of it in flight (any more) */
  CLUSTER_LOST,       /* another instance holds it, or our lease ran out */
  CLUSTER_STOPPING,   /* shutdown: handed over as it stands */
};

/* The next state. *hand_over: write the feed's handoff and delete the
 * lease now. An event that does not apply leaves the state as it is. */
enum cluster_feed_state cluster_feed_next(enum cluster_feed_state s,
                                          enum cluster_feed_event e, bool busy,
                                          bool *hand_over);
/* Whether this instance polls a feed in state s. */
bool cluster_feed_polled(enum cluster_feed_state s);

/* Renewed by a request sent at sent_at (loop ms): trusted until the value
 * returned. Redis started the key's clock no earlier than the request
 * left, so up to then no other instance can hold it; a margin covers
 * clocks that run at different rates. */
uint64_t cluster_valid_until(uint64_t sent_at, uint64_t lease_ms);
/* The delay to the next step: every lease/3 to renew; sooner while we are
 * under our share (hungry) or when a lease or registration of another
 * instance runs out before that (soonest_ms; negative: none), so that a
 * dead instance's feeds and leadership move as soon as Redis lets them. */
uint64_t cluster_next_step(uint64_t lease_ms, bool hungry, int64_t soonest_ms);

#endif
