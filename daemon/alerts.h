/* The alert half (contract §6): incidents per target (open on entering
 * at_risk/off_track/missed/no_data, resolved on returning to
 * on_track/achieved), notifications on class changes, reminders every
 * `repeat`, a daily digest, and delivery to the receivers through a durable
 * outbox in Redis (ind:outbox) with retries, backoff, per-receiver rate
 * limits and batching. A notification leaves the outbox only once its
 * receiver accepted it; after a crash it is sent again, so a receiver may
 * see it twice (Alertmanager deduplicates by labels).
 *
 * One module in several files, one per job: alerts.c (start, the tick,
 * close), alerts_incidents.c, alerts_message.c (composition, the digest),
 * alerts_outbox.c (delivery), alerts_resend.c (Alertmanager re-sends),
 * alerts_notify_test.c; their shared internals in alerts_private.h. */
#ifndef INDICATORD_ALERTS_H
#define INDICATORD_ALERTS_H

#include "config.h"
#include "fetch.h"
#include "store.h"
#include "targets.h"
#include "util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct outbox_item;     /* alerts_private.h */
struct alerts_receiver; /* alerts_private.h */

/* Delivery counters of one receiver (for /metrics). */
struct alerts_stats {
  uint64_t delivered, failed, retries;
};

struct alerts {
  uv_loop_t *loop;
  struct store *store;
  struct targets *tg;
  const struct config *cfg;
  struct fetch_engine eng;
  uv_timer_t timer;
  struct outbox_item **items; /* the outbox, in memory */
  size_t n, cap;
  struct alerts_receiver *receivers; /* per receiver of cfg */
  bool loaded, loading, closing, deliver;
  /* Several instances: only the leader delivers (alerts_set_leader), and
   * a notification goes out only once Redis has it (its seq at most
   * durable_seq), so that a new leader finds whatever was sent. */
  bool follower, wait_durable;
  uint64_t saved_seq, flush_asked, durable_seq;
  unsigned generation, loading_generation;
  int64_t digest_day;     /* local day of the last digest */
  int64_t last_resend_ms; /* Alertmanager re-sends */
  int64_t last_reminder_check_ms;
  uint64_t close_started;     /* loop time alerts_close began waiting */
  uint32_t rng;               /* retry jitter */
  struct fetch_post *resends; /* Alertmanager re-sends in flight */
  size_t nresends;
  void (*on_closed)(struct alerts *al);
};

/* deliver false (once): incidents are kept and notifications queued in the
 * durable outbox, for the daemon to deliver. */
MUST_CHECK int alerts_init(struct alerts *al, uv_loop_t *loop,
                           struct store *store, struct targets *tg,
                           const struct config *cfg, bool deliver);
void alerts_set_config(struct alerts *al, const struct config *cfg);
/* Leading: the outbox is read again from Redis and delivered; following:
 * nothing is delivered (requests in flight finish) and the outbox in
 * memory is dropped, the leader's being in Redis. */
void alerts_set_leader(struct alerts *al, bool leader);
/* targets_eval_cb: incident bookkeeping and notifications. */
void alerts_on_eval(void *data, const struct target *t, struct target_state *ts,
                    enum eval_class from, bool first, bool changed,
                    int64_t now_ms);
size_t alerts_outbox_depth(const struct alerts *al);
/* The counters of receiver i of the current configuration. */
const struct alerts_stats *alerts_stats(const struct alerts *al, size_t i);
/* Waits a moment for deliveries in flight, then closes. */
void alerts_close(struct alerts *al, void (*on_closed)(struct alerts *al));

/* `notify-test`: sends one test message through receiver r on a private
 * loop and prints the verdict. Returns the exit code. */
int alerts_notify_test(const struct config *cfg, const struct receiver *r);

#endif
