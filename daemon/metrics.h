/* /metrics: the daemon's counters in Prometheus text format 0.0.4. */
#ifndef INDICATORD_METRICS_H
#define INDICATORD_METRICS_H

#include "collector.h"
#include "endpoint.h"
#include "store.h"
#include "targets.h"
#include "util.h"

#include "alerts.h"

/* Any of the parts may be NULL (not running). */
void metrics_render(struct strbuf *out, const struct collector *col,
                    const struct store *st, const struct targets *tg,
                    const struct alerts *al);
/* The endpoint's own counters: how it copes with its clients. */
void metrics_render_endpoint(struct strbuf *out, const struct endpoint *ep);

#endif
