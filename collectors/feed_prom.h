/* Prometheus text exposition format 0.0.4: a selector must match exactly
 * one sample; its own timestamp is used when present. */
#ifndef INDICATORD_FEED_PROM_H
#define INDICATORD_FEED_PROM_H

#include "extract.h"

int feed_prom_extract(const struct extractor *ex, const char *body, size_t len,
                      int64_t fetch_ms, struct extract_out *out);

/* A selector metric{label="v",...}: labels not named are ignored. Returns
 * 0, or -EINVAL with a reason and the offending offset. */
int feed_prom_selector_parse(const char *text, struct prom_selector **out,
                             char *err, size_t errlen, size_t *at);
void feed_prom_selector_free(struct prom_selector *sel);

#endif
