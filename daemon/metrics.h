/* /metrics: the daemon's counters in Prometheus text format 0.0.4. */
#ifndef INDICATORD_METRICS_H
#define INDICATORD_METRICS_H

#include "cluster.h"
#include "collector.h"
#include "endpoint.h"
#include "store.h"
#include "targets.h"
#include "util.h"

#include "alerts.h"

/* Any of the parts may be NULL (not running). */
void metrics_render(struct strbuf *out, const struct collector *col,
                    const struct store *st, const struct targets *tg,
                    const struct alerts *al, const struct cluster *cl);
/* The endpoint's own counters: how it copes with its clients. */
void metrics_render_endpoint(struct strbuf *out, const struct endpoint *ep);
/* /status in a cluster: the table's JSON (json, len) with a "cluster"
 * object added (the instance, the leader, the feed leases it holds). */
void metrics_cluster_json(const char *json, size_t len,
                          const struct cluster *cl, struct strbuf *out);

#endif
