/* Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text
 * (feed_prom in feed_format.h): a selector must match exactly one sample;
 * its own timestamp is used when present. Here: the selectors and the
 * sample scan, pure functions (also fuzzed on their own). */
#ifndef INDICATORD_FEED_PROM_H
#define INDICATORD_FEED_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct prom_selector;

/* A selector metric{label="v",...}: labels not named are ignored. Returns
 * 0, or -EINVAL with a reason and the offending offset. */
int feed_prom_selector_parse(const char *text, struct prom_selector **out,
                             char *err, size_t errlen, size_t *at);
void feed_prom_selector_free(struct prom_selector *sel);

enum prom_dialect {
  PROM_TEXT,        /* 0.0.4: timestamps in integer milliseconds */
  PROM_OPENMETRICS, /* timestamps in seconds (with a fraction), exemplars,
                     * "# EOF" required last, counter families */
};

/* What one selector found in a body. */
struct prom_found {
  size_t count; /* samples that matched; the value is the first one's */
  double value;
  bool has_ts;
  int64_t ts_ms;
  size_t line;
};

/* Scans body[0..len) once for every selector (pure: no config). In the
 * OpenMetrics dialect exemplars are skipped, a selector naming a counter
 * family ("# TYPE x counter") matches its x_total sample (x_created only
 * when named), and a body without "# EOF" or with text after it is
 * refused. Fills found[0..nsels) and returns 0, or -EINVAL with the reason
 * (and line) in err: the body could not be read. */
int feed_prom_scan(const char *body, size_t len, enum prom_dialect dialect,
                   struct prom_selector *const *sels, size_t nsels,
                   struct prom_found *found, char *err, size_t errlen);

#endif
