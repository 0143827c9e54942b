/* The collect half: every feed on its own schedule (deterministic jitter,
 * backoff on failure, never two fetches of one feed at once), each body
 * parsed into observations that go to one sink. Failures are logged once per
 * state change; counters are kept for the metrics endpoint. */
#ifndef INDICATORD_COLLECTOR_H
#define INDICATORD_COLLECTOR_H

#include "config.h"
#include "extract.h"
#include "fetch.h"
#include "schedule.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Fetch latency histogram bounds, seconds (plus +Inf). */
#define COLLECTOR_LATENCY_BUCKETS 10
extern const double collector_latency_bounds[COLLECTOR_LATENCY_BUCKETS];

struct feed_stats {
  uint64_t fetches;       /* completed fetches, successful or not */
  uint64_t failures;      /* fetches that failed (transport, HTTP, body) */
  uint64_t not_modified;  /* 304 answers */
  uint64_t observations;  /* observations handed to the sink */
  uint64_t series_errors; /* problems with series or observations, summed */
  uint64_t body_errors;   /* gauge: problems in the last body read */
  uint64_t skipped;       /* due while the previous fetch still ran */
  uint64_t latency[COLLECTOR_LATENCY_BUCKETS + 1];
  double latency_sum;
  int64_t last_success_ms; /* wall clock; 0 never */
  int64_t last_fetch_ms;   /* wall clock of the last fetch ended; 0 never */
};

struct feed_state {
  struct collector *col;
  const struct feed *feed; /* borrowed from the current config */
  struct extractor *ex;
  struct fetch_job job;
  struct schedule_entry sched; /* due: loop time (ms) of the next fetch */
  uint64_t next_due;           /* loop time; kept while not polled too */
  bool polled;                 /* false: another instance polls it */
  size_t index;                /* in collector.feeds (and cfg->feeds) */
  unsigned backoff;            /* consecutive failures */
  bool failing;
  char last_error[300];     /* why the last failed fetch failed (as logged) */
  char *last_series_errors; /* to log series problems once per change */
  /* The last body's problems per series (feed->series[i]; NULL: none),
   * kept for the store across 304 answers. */
  char **series_errors;
  size_t nseries_errors;
  struct feed_stats stats;
  uint32_t rng;
};

/* Receives the outcome of every fetch: its wall-clock time, the reason it
 * failed (NULL on success, including 304), the problems of each series in
 * the last body read (series_errors[i] for feed->series[i], NULL entries
 * for none; NULL when the fetch failed) and the observations of the body
 * (all borrowed for the call). */
typedef void (*collector_sink)(void *data, const struct feed *feed,
                               int64_t fetch_ms, const char *error,
                               const char *const *series_errors,
                               const struct observation *obs, size_t n);
/* Runs after the sink, once the feed's next fetch is scheduled (not in
 * once mode): new_data tells whether the fetch brought observations. */
typedef void (*collector_done)(void *data, size_t index, bool new_data);
/* Receives the outcome of each feed in once mode. */
typedef void (*collector_report)(void *data, const struct feed *feed,
                                 const struct fetch_result *res,
                                 const struct extract_out *out, int rc);

/* Schedule lag (how late a fetch started after it was due) bounds, s. */
#define COLLECTOR_LAG_BUCKETS 10
extern const double collector_lag_bounds[COLLECTOR_LAG_BUCKETS];

struct collector {
  uv_loop_t *loop;
  uint32_t seed; /* of the feeds' backoff jitter */
  uint64_t lag[COLLECTOR_LAG_BUCKETS + 1];
  double lag_sum;
  struct fetch_engine eng;
  struct schedule sched;
  struct feed_state **feeds; /* one allocation each: kept across reloads */
  size_t nfeeds;
  collector_sink sink;
  collector_report report;
  collector_done done;
  void *data;
  /* Several instances: a feed is polled only between collector_take and
   * collector_drop (set before collector_start). */
  bool leased;
  bool once;
  int64_t fixed_now; /* the fetch time of every fetch (once --now); 0: the
                      * wall clock */
  size_t once_pending;
  void (*once_done)(struct collector *c);
  int pending_closes; /* the schedule and the engine, until closed */
  void (*on_closed)(struct collector *c);
};

/* Prepares one state per feed of cfg (cfg must outlive the collector).
 * Returns 0, or a negative code with the reason in err. */
MUST_CHECK int collector_init(struct collector *c, uv_loop_t *loop,
                              const struct config *cfg, collector_sink sink,
                              void *data, char *err, size_t errlen);
/* Moves to a reloaded config: feeds whose configuration is unchanged keep
 * their schedule, ETag, backoff and counters; new ones start, removed ones
 * stop, changed ones restart. counts: kept, started, stopped. All or
 * nothing: on error (err) the running feeds are untouched. */
MUST_CHECK int collector_apply(struct collector *c, const struct config *cfg,
                               size_t counts[3], char *err, size_t errlen);
/* Starts every feed on its schedule. */
void collector_start(struct collector *c);
/* Fetches every feed once, now and concurrently; report runs per feed and
 * done once all have finished. */
void collector_run_once(struct collector *c, collector_report report,
                        void (*done)(struct collector *c));
/* Stops scheduling, cancels fetches in flight and closes every handle;
 * on_closed runs when all are closed. */
void collector_close(struct collector *c,
                     void (*on_closed)(struct collector *));

/* What moves with a feed from one instance to the next. */
struct feed_handoff {
  int64_t due_ms; /* wall clock of its next fetch; 0: spread as at a start */
  const char *etag, *last_modified; /* NULL: none */
  unsigned failures;                /* consecutive, for the backoff */
};

/* Starts polling feed i (leased mode) where h says its predecessor left
 * it (h NULL: as at a start). */
void collector_take(struct collector *c, size_t i,
                    const struct feed_handoff *h);
/* Stops polling feed i: nothing more is scheduled; a fetch in flight
 * finishes and goes to the sink. */
void collector_drop(struct collector *c, size_t i);
/* Whether a fetch of feed i is in flight. */
bool collector_busy(const struct collector *c, size_t i);
/* Feed i's handoff as it stands (strings borrowed from the collector,
 * valid until its next fetch). */
void collector_handoff(const struct collector *c, size_t i,
                       struct feed_handoff *h);

/* Start offsets are multiples of this (for intervals of 1 s and more). */
#define COLLECTOR_SLOT_MS 50

/* The deterministic start offset of a feed within its interval. */
uint64_t collector_jitter(const struct feed *feed);
/* The delay before the next attempt after `failures` consecutive failures:
 * every doubled per failure, capped at 4x, with +-10% jitter. */
uint64_t collector_backoff(const struct feed *feed, unsigned failures,
                           uint32_t *rng);

#endif
