/* Turning a feed's body into observations (series, time, value): the
 * per-feed compiled extractor, the output every format fills, and the
 * rules the formats share (numbers, min/max, period-labelled times). The
 * formats themselves are in feed_format.h's table. */
#ifndef INDICATORD_EXTRACT_H
#define INDICATORD_EXTRACT_H

#include "config.h"
#include "observation.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One body yields at most this many observations. */
#define EXTRACT_MAX_OBS 200000

/* A problem with one series (series != NULL) or the whole body. */
struct extract_error {
  const char *series;
  char *msg;
};

struct extract_out {
  struct observation *obs;
  size_t n, cap;
  struct extract_error *errs;
  size_t nerrs, caperrs;
};

/* A feed compiled for extraction through its format. */
struct extractor;

/* Compiles the feed through its format (paths, selectors, options).
 * Returns 0, or -EINVAL with the reason in err (naming the series and
 * path). */
int extract_new(const struct feed *feed, struct extractor **out, char *err,
                size_t errlen);
void extract_free(struct extractor *ex);

/* Parses body[0..len) fetched at fetch_ms. Returns 0 when the body could be
 * read (series-level problems are in out->errs), or -EINVAL when it could
 * not (the reason is out->errs[0] with series NULL). */
int extract_run(const struct extractor *ex, const char *body, size_t len,
                int64_t fetch_ms, struct extract_out *out);
void extract_out_reset(struct extract_out *out);
void extract_out_free(struct extract_out *out);

/* ---- shared by the format parsers ---- */

void extract_error(struct extract_out *out, const char *series, const char *fmt,
                   ...) __attribute__((format(printf, 3, 4)));
/* Parses a decimal number (surrounding spaces allowed). False for anything
 * else, NaN and infinities included. */
bool extract_number(const char *text, size_t len, double *out);
/* Parses a time with the feed's time_format. Returns 0 or -EINVAL with a
 * reason. */
int extract_time(const struct feed *feed, const char *text, size_t len,
                 struct timefmt_value *out, char *err, size_t errlen);
/* Where an observation with this time stands: period-labelled times at the
 * end of the period for cumulative and increment series, at the start for
 * instant ones, unless the series says at: start|end. */
int64_t extract_place(const struct timefmt_value *t,
                      const struct series_meta *meta);
/* A time that is the fetch time itself. */
void extract_time_now(int64_t fetch_ms, struct timefmt_value *out);
/* Checks min/max and records one observation; false (with an error
 * recorded) when the value is rejected. */
bool extract_add(struct extract_out *out, const struct feed_series *s,
                 int64_t time_ms, double value);
/* Checks that text is valid UTF-8; returns -1 or the offset of the first
 * invalid byte. */
long extract_utf8_invalid_at(const char *text, size_t len);

#endif
