/* Several instances on one Redis (contract §8). Every instance registers
 * in ind:instances (a sorted set by expiry, plus ind:instance:<name>
 * holding a random token of this process, so that two live instances
 * cannot share a name) and, every lease/3, runs one Lua step that renews
 * its registration and leases and takes free ones:
 *  - feeds: ind:lease:f:<feed> (value: the instance; SET NX PX), at most
 *    the fair share ceil(feeds / live instances) per instance; one over
 *    its share hands a feed over once its fetch in flight is done. The
 *    feed's schedule, ETag/Last-Modified and backoff follow it in
 *    ind:feed:<feed>, written after every fetch and at the handover
 *    (fenced by the lease: a holder that lost it writes nothing);
 *  - the leader: ind:lease:leader; only the leader judges the targets and
 *    delivers the outbox. Its writes go in fenced groups (store_group_*),
 *    so a leader that lost the lease cannot write a judgement or a
 *    notification. It learns of fetches by other instances from the
 *    ind:fetches stream.
 * A lease renewed by a request sent at t is trusted here until
 * t + lease - lease/10 (cluster_plan.h); past that without a renewal the
 * instance stops polling and leading before Redis can give them away. */
#ifndef INDICATORD_CLUSTER_H
#define INDICATORD_CLUSTER_H

#include "cluster_plan.h"
#include "collector.h"
#include "config.h"
#include "store.h"
#include "strmap.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct cluster_feed {
  enum cluster_feed_state state;
  bool polled; /* given to the collector */
  /* Taken in a step not yet confirmed: where its predecessor left it. */
  bool waiting;
  int64_t due_ms;
  char *etag, *last_modified;
  unsigned failures;
};

struct cluster_step; /* a step's answer, until confirmed (cluster.c) */

struct cluster {
  uv_loop_t *loop;
  struct store *store;
  struct collector *col;
  const struct config *cfg;
  char *instance;
  char token[33]; /* this process's, in ind:instance:<name> */
  uint64_t lease_ms;
  struct cluster_feed *feeds; /* per feed of cfg */
  size_t nfeeds;
  size_t *order;     /* cfg's feeds, the ones this instance wants most first */
  struct strmap ids; /* feed id -> index + 1 */
  bool joined;
  uint64_t duplicate_since; /* loop time our name was first seen taken */
  bool leader;
  char leader_name[256]; /* as of the last step; "" none */
  size_t live, share, held;
  uint64_t valid_until; /* loop time; 0: nothing to trust */
  bool stepping;
  uint64_t step_sent_at;
  struct cluster_step *answer;
  unsigned step_failures;
  /* The leader reads ind:fetches from here. */
  char cursor[64];
  bool reading;
  uv_timer_t step_timer, expiry_timer, read_timer;
  /* Counters for /metrics. */
  uint64_t steps, takeovers, handovers, losses;
  void (*on_leader)(void *data, bool leader);
  /* A fetch by another instance (leader only): feed index, new data. */
  void (*on_fetch)(void *data, size_t feed, bool new_data);
  /* The instance cannot run (its name is taken): stop. */
  void (*on_fatal)(void *data, const char *why);
  void *data;
  bool closing;
  int pending_closes;
  void (*on_closed)(struct cluster *cl);
};

/* Joins the cluster of cfg (cluster.on): the collector (leased mode) polls
 * only what this instance holds. The first step runs at once. */
void cluster_start(struct cluster *cl, uv_loop_t *loop, struct store *store,
                   struct collector *col, const struct config *cfg);
/* A reloaded configuration (same instance): feeds map by id; leases of
 * feeds that are gone are released. Call after collector_apply. */
void cluster_set_config(struct cluster *cl, const struct config *cfg);
/* collector_done: a fetch of feed i finished and its next is scheduled. */
void cluster_fetched(struct cluster *cl, size_t i, bool new_data);
/* store_fenced_cb: a write of ours was refused by its lease. */
void cluster_fenced(void *data, const char *key);
bool cluster_is_leader(const struct cluster *cl);
/* Hands every feed and the leadership over (their state written, their
 * leases deleted), leaves the registry, then closes; call before the
 * collector closes. on_closed runs once the timers are closed. */
void cluster_close(struct cluster *cl, void (*on_closed)(struct cluster *cl));

#endif
