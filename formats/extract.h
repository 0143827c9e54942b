/* Turning a feed's body into observations (series, time, value): the
 * per-feed compiled extractor, the output every format fills, and the
 * rules the formats share (numbers, scale, min/max, period-labelled
 * times). The formats themselves are in feed_format.h's table.
 *
 * Nothing wrong is stored silently: after the format has read the body,
 * extract_run drops, each with an error naming the series (and the record
 * or row), observations dated outside what the store can mean
 * (timefmt_check_range) and every observation of a series that the body
 * gives twice at one time; with not_after: now it drops observations dated
 * after the fetch (forecasts, not errors); beyond EXTRACT_MAX_OBS it keeps
 * the newest and says so once. */
#ifndef INDICATORD_EXTRACT_H
#define INDICATORD_EXTRACT_H

#include "config.h"
#include "observation.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One body keeps at most this many observations: the newest. */
#define EXTRACT_MAX_OBS 200000
/* Formats stop reading beyond this many (before the newest are chosen). */
#define EXTRACT_HARD_MAX_OBS (10 * EXTRACT_MAX_OBS)
/* Messages kept per series (and for the body); the rest are counted. */
#define EXTRACT_ERRORS_PER_SERIES 5

/* One body as fetched. */
struct extract_body {
  const char *data;
  size_t len;
  int64_t fetch_ms;
  const char *content_type; /* the response's Content-Type, or NULL */
};

/* A problem with one series (series != NULL: the config's id string) or
 * with the whole body or several series (series NULL). */
struct extract_error {
  const char *series;
  char *msg;
  size_t more; /* further problems of this series, not kept */
};

struct extract_out {
  struct observation *obs;
  size_t *recs; /* per observation: its record or row (1-based), 0: none */
  size_t n, cap, caprecs;
  struct extract_error *errs;
  size_t nerrs, caperrs;
  /* Set by the format while it reads: the record or row observations come
   * from (0: none) and what the body calls them ("record", "row"). */
  size_t record;
  const char *record_noun;
};

/* A feed compiled for extraction through its format. */
struct extractor;

/* Compiles the feed through its format (paths, selectors, options).
 * Returns 0, or -EINVAL with the reason in err (naming the series and
 * path). */
int extract_new(const struct feed *feed, struct extractor **out, char *err,
                size_t errlen);
void extract_free(struct extractor *ex);

/* Reads body[0..len) fetched at fetch_ms (content_type: the response's
 * Content-Type or NULL). Returns 0 when the body could be read
 * (series-level problems are in out->errs), or -EINVAL when it could not
 * (the reason is out->errs[0] with series NULL). */
int extract_run(const struct extractor *ex, const char *body, size_t len,
                int64_t fetch_ms, const char *content_type,
                struct extract_out *out);
void extract_out_reset(struct extract_out *out);
void extract_out_free(struct extract_out *out);

/* Every problem out records for series s (its own and the body's), joined
 * with "; ", or NULL when there is none. Caller frees. */
char *extract_errors_of(const struct extract_out *out,
                        const struct feed_series *s);
/* How many problems out records, counted ones included. */
size_t extract_error_count(const struct extract_out *out);

/* ---- shared by the format parsers ---- */

void extract_error(struct extract_out *out, const char *series, const char *fmt,
                   ...) __attribute__((format(printf, 3, 4)));
/* Parses a decimal number (surrounding spaces allowed). False for anything
 * else, NaN and infinities included. */
bool extract_number(const char *text, size_t len, double *out);
/* value × scale, computed on the shortest decimal texts of both so that
 * 2503.7 × 1e8 is 250370000000 exactly (not 250369999999.99997). */
double extract_scale(double value, double scale);
/* Parses a time with the feed's time_format. Returns 0 or -EINVAL with a
 * reason. */
int extract_time(const struct feed *feed, const char *text, size_t len,
                 struct timefmt_value *out, char *err, size_t errlen);
/* Where an observation with this time stands: period-labelled times at the
 * end of the period for cumulative and increment series, at the start for
 * instant ones, unless the series says at: start|end. */
int64_t extract_place(const struct timefmt_value *t,
                      const struct series_meta *meta);
/* A point in time (the fetch time, a sample's own timestamp). */
void extract_time_now(int64_t fetch_ms, struct timefmt_value *out);
/* Applies the series' scale, checks min/max and records one observation
 * (from out->record) at the time `when` names, placed by extract_place,
 * with its grain (the evaluator counts staleness from the end of the
 * period an observation describes); false (with an error recorded) when
 * the value is rejected. */
bool extract_add(struct extract_out *out, const struct feed_series *s,
                 const struct timefmt_value *when, double value);
/* The same without the series' scale: value is final (scale: auto). */
bool extract_add_scaled(struct extract_out *out, const struct feed_series *s,
                        const struct timefmt_value *when, double value);
/* Checks that text is valid UTF-8; returns -1 or the offset of the first
 * invalid byte. */
long extract_utf8_invalid_at(const char *text, size_t len);

#endif
