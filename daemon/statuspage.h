/* The status page on the loop: what page.h renders, gathered per request
 * without blocking. The target table comes from memory (targets_row), feed
 * health from the collector; the trajectories of the charted targets
 * (ind:p:<target>) are read from Redis, one XREVRANGE each, all sent at
 * once, and the page is rendered when the last answers or after
 * STATUSPAGE_DEADLINE_MS (a chart whose trajectory did not come says so,
 * as it does while Redis is down). Requests that arrive while a page is
 * being gathered wait for that one: however many ask, there is one build
 * at a time, and a page rendered less than STATUSPAGE_REUSE_MS ago is
 * served again (with 10,000 targets a render takes tens of milliseconds of
 * the loop: a flood of requests costs at most one a second). At most
 * STATUSPAGE_MAX_CHARTS charts are drawn (the worst
 * classes first); the table lists every target. Everything a build needs
 * is copied when it starts, so a reload meanwhile changes nothing in it.
 * Errors are shown redacted: a feed's URL and secrets never appear. */
#ifndef INDICATORD_STATUSPAGE_H
#define INDICATORD_STATUSPAGE_H

#include "collector.h"
#include "config.h"
#include "store.h"
#include "targets.h"

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#define STATUSPAGE_MAX_CHARTS 200
#define STATUSPAGE_DEADLINE_MS 3000
#define STATUSPAGE_REUSE_MS 1000
/* Trajectory entries read per chart: the newest ones (a daily series over
 * four years). */
#define STATUSPAGE_MAX_POINTS 1500

/* Receives the page (borrowed for the call). */
typedef void (*statuspage_cb)(void *arg, const char *html, size_t len);

struct statuspage_build;

struct statuspage {
  uv_loop_t *loop;
  struct store *store;
  const struct targets *tg;
  const struct collector *col; /* NULL: no feed health */
  size_t max_charts;
  struct statuspage_build *build; /* being gathered; NULL: none */
  char *last;                     /* the last page rendered */
  size_t last_len;
  uint64_t last_at; /* loop time it was rendered */
  bool closed;
};

/* Cannot fail: nothing is opened until a page is asked for. */
void statuspage_init(struct statuspage *sp, uv_loop_t *loop,
                     struct store *store, const struct targets *tg,
                     const struct collector *col);
/* Calls cb(arg, ...) with the page: later, or from within this call when
 * nothing needs to be read. */
void statuspage_get(struct statuspage *sp, statuspage_cb cb, void *arg);
/* Answers whoever waits with the page as gathered so far; takes no more
 * requests (frees the last page). Reads still out finish on their own
 * (store_close answers them), and the last one frees what they need. */
void statuspage_close(struct statuspage *sp);

/* text with feed's secrets taken out, for people to read: its URL as
 * config_redact_url gives it, any other URL likewise, and each header
 * value, password and token as REDACTED. Caller frees. */
char *statuspage_redact(const struct feed *feed, const char *text);

#endif
