/* The alert engine's internals, shared by its files (alerts.h lists them);
 * not for other modules (tests look inside). */
#ifndef INDICATORD_ALERTS_PRIVATE_H
#define INDICATORD_ALERTS_PRIVATE_H

#include "alerts.h"
#include "clock.h"
#include "receiver.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Alertmanager: re-sent well inside its resolve_timeout, each time ending
 * a few re-sends ahead. */
#define RESEND_EVERY_MS MS_PER_MINUTE
#define AM_ENDS_AFTER_MS (4 * RESEND_EVERY_MS)

/* One notification for one receiver, waiting in the outbox. */
struct outbox_item {
  struct alerts *al;
  char *key; /* "<notification id>@<receiver id>" */
  char *receiver_id;
  json_t *msg; /* the notification (struct alert_msg as JSON) */
  int attempts;
  uint64_t seq;    /* alerts.saved_seq when saved; 0: read from Redis */
  int64_t next_ms; /* wall clock */
  bool inflight;
  struct outbox_item **batch; /* other items riding in this request */
  size_t nbatch;
  struct fetch_post post;
};

/* Per receiver: its counters and its recent sends (for the rate limits). */
struct alerts_receiver {
  struct alerts_stats stats;
  int64_t sent_ms[128];
  size_t nsent;
};

/* ---- incidents (alerts_incidents.c) ---- */

/* Classes that open an incident, and those that resolve it. */
bool alerts_bad(enum eval_class c);
bool alerts_good(enum eval_class c);
/* Reminders for incidents notified longer than alerts.repeat ago. */
void alerts_reminders(struct alerts *al, int64_t now);

/* ---- composition (alerts_message.c) ---- */

const char *alerts_label_zh(enum eval_class c);
/* Whether receiver r gets target t's notifications (t NULL: digests). */
bool alerts_receives(const struct config *cfg, const struct receiver *r,
                     const struct target *t);
/* A notification as stored in the outbox. */
json_t *alerts_make_msg(struct alerts *al, const char *id, const char *kind,
                        const struct target *t, const struct target_state *ts,
                        const char *title, const char *text, int64_t now);
/* Queues one notification of kind to every receiver routed for t. */
void alerts_notify(struct alerts *al, const char *kind, const struct target *t,
                   struct target_state *ts, int64_t now);
/* The daily digest, once a day at alerts.digest. */
void alerts_digest(struct alerts *al, int64_t now);
/* Reads a stored notification (strings borrowed from m). */
void alerts_msg_view(json_t *m, struct alert_msg *am);

/* ---- the outbox (alerts_outbox.c) ---- */

/* Adds msg (taken) for receiver rid unless key is there; save also writes
 * it to ind:outbox. */
void alerts_outbox_add(struct alerts *al, const char *key, const char *rid,
                       json_t *msg, int attempts, bool save);
void alerts_item_free(struct outbox_item *it);
/* Sends what is due, within each receiver's limits. */
void alerts_deliver(struct alerts *al, int64_t now);
/* Reads the outbox and the last digest day from Redis after a start. */
void alerts_load(struct alerts *al);

/* ---- Alertmanager (alerts_resend.c) ---- */

void alerts_resend_firing(struct alerts *al, int64_t now);

#endif
