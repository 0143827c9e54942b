#include "metrics.h"

#include "version.h"

#include <jansson.h>
#include <stdlib.h>

#include <math.h>

static void head(struct strbuf *o, const char *name, const char *type,
                 const char *help) {
  strbuf_addf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void feeds(struct strbuf *o, const struct collector *c) {
  uint64_t buckets[COLLECTOR_LATENCY_BUCKETS + 1] = {0};
  double sum = 0;
  uint64_t count = 0;
  static const struct {
    const char *name, *help;
    size_t off;
  } counters[] = {
      {"indicatord_feed_fetches_total", "Fetches completed per feed.",
       offsetof(struct feed_stats, fetches)},
      {"indicatord_feed_failures_total",
       "Fetches that failed per feed (transport, HTTP status, body).",
       offsetof(struct feed_stats, failures)},
      {"indicatord_feed_not_modified_total", "304 answers per feed.",
       offsetof(struct feed_stats, not_modified)},
      {"indicatord_feed_observations_total", "Observations parsed per feed.",
       offsetof(struct feed_stats, observations)},
      {"indicatord_feed_series_errors_total",
       "Problems with series or observations in the bodies read, per feed.",
       offsetof(struct feed_stats, series_errors)},
      {"indicatord_feed_skipped_total",
       "Scheduled fetches skipped because the previous one still ran.",
       offsetof(struct feed_stats, skipped)},
  };
  for (size_t k = 0; k < sizeof(counters) / sizeof(counters[0]); k++) {
    head(o, counters[k].name, "counter", counters[k].help);
    for (size_t i = 0; i < c->nfeeds; i++) {
      const struct feed_state *fs = c->feeds[i];
      uint64_t v =
          *(const uint64_t *)((const char *)&fs->stats + counters[k].off);
      strbuf_addf(o, "%s{feed=\"%s\"} %llu\n", counters[k].name, fs->feed->id,
                  (unsigned long long)v);
    }
  }
  head(o, "indicatord_feed_up", "gauge",
       "1 when the feed's last fetch succeeded, 0 while it is failing.");
  for (size_t i = 0; i < c->nfeeds; i++)
    strbuf_addf(o, "indicatord_feed_up{feed=\"%s\"} %d\n",
                c->feeds[i]->feed->id, c->feeds[i]->failing ? 0 : 1);
  head(o, "indicatord_feed_body_errors", "gauge",
       "Problems in the feed's last body: series without an observation, "
       "observations dropped (time, range, min/max, duplicates); 0: clean.");
  for (size_t i = 0; i < c->nfeeds; i++)
    strbuf_addf(o, "indicatord_feed_body_errors{feed=\"%s\"} %llu\n",
                c->feeds[i]->feed->id,
                (unsigned long long)c->feeds[i]->stats.body_errors);
  head(o, "indicatord_feed_last_success_timestamp_seconds", "gauge",
       "Wall-clock time of the feed's last successful fetch (0: never).");
  for (size_t i = 0; i < c->nfeeds; i++)
    strbuf_addf(o,
                "indicatord_feed_last_success_timestamp_seconds{feed=\"%s\"} "
                "%.3f\n",
                c->feeds[i]->feed->id,
                (double)c->feeds[i]->stats.last_success_ms / 1000.0);
  for (size_t i = 0; i < c->nfeeds; i++) {
    const struct feed_stats *st = &c->feeds[i]->stats;
    for (size_t b = 0; b <= COLLECTOR_LATENCY_BUCKETS; b++) {
      buckets[b] += st->latency[b];
      count += st->latency[b];
    }
    sum += st->latency_sum;
  }
  head(o, "indicatord_fetch_duration_seconds", "histogram",
       "Fetch latency over all feeds.");
  {
    uint64_t cum = 0;
    for (size_t b = 0; b < COLLECTOR_LATENCY_BUCKETS; b++) {
      cum += buckets[b];
      strbuf_addf(o,
                  "indicatord_fetch_duration_seconds_bucket{le=\"%g\"} %llu\n",
                  collector_latency_bounds[b], (unsigned long long)cum);
    }
    cum += buckets[COLLECTOR_LATENCY_BUCKETS];
    strbuf_addf(o,
                "indicatord_fetch_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                "indicatord_fetch_duration_seconds_sum %.6f\n"
                "indicatord_fetch_duration_seconds_count %llu\n",
                (unsigned long long)cum, sum, (unsigned long long)count);
  }
}

static void lag(struct strbuf *o, const struct collector *c) {
  uint64_t cum = 0;
  head(o, "indicatord_schedule_lag_seconds", "histogram",
       "How late fetches started after they were due.");
  for (size_t b = 0; b < COLLECTOR_LAG_BUCKETS; b++) {
    cum += c->lag[b];
    strbuf_addf(o, "indicatord_schedule_lag_seconds_bucket{le=\"%g\"} %llu\n",
                collector_lag_bounds[b], (unsigned long long)cum);
  }
  cum += c->lag[COLLECTOR_LAG_BUCKETS];
  strbuf_addf(o,
              "indicatord_schedule_lag_seconds_bucket{le=\"+Inf\"} %llu\n"
              "indicatord_schedule_lag_seconds_sum %.6f\n"
              "indicatord_schedule_lag_seconds_count %llu\n",
              (unsigned long long)cum, c->lag_sum, (unsigned long long)cum);
}

/* A metric without labels: its HELP/TYPE lines and its one sample. */
static void single(struct strbuf *o, const char *name, const char *type,
                   const char *help, unsigned long long value) {
  head(o, name, type, help);
  strbuf_addf(o, "%s %llu\n", name, value);
}

static void store(struct strbuf *o, const struct store *s) {
  struct strbuf why = {0};
  single(o, "indicatord_redis_up", "gauge",
         "1 while Redis is reachable and takes writes (0 while it refuses "
         "them, say for lack of permission: they are held).",
         store_healthy(s, &why) ? 1 : 0);
  strbuf_free(&why);
  single(o, "indicatord_observations_written_total", "counter",
         "Observations queued for Redis.", s->stats.observations);
  single(o, "indicatord_redis_commands_total", "counter",
         "Writes acknowledged by Redis.", s->stats.written);
  single(o, "indicatord_redis_rejected_total", "counter",
         "Writes Redis refused for good.", s->stats.rejected);
  single(o, "indicatord_redis_queue_depth", "gauge",
         "Writes waiting in memory.", store_queue_depth(s));
  single(o, "indicatord_spool_bytes", "gauge",
         "Bytes of writes waiting in the outage spool.", store_spool_bytes(s));
  single(o, "indicatord_spooled_total", "counter",
         "Writes that went to the spool.", s->stats.spooled);
  single(o, "indicatord_refused_total", "counter",
         "Writes lost because queue and spool were full.", s->stats.refused);
  single(o, "indicatord_redis_reconnects_total", "counter",
         "Connections to Redis after the first.", s->stats.reconnects);
}

static void targets(struct strbuf *o, const struct targets *tg) {
  size_t counts[EVAL_NCLASSES];
  targets_count(tg, counts);
  head(o, "indicatord_targets", "gauge", "Targets per class.");
  for (int c = 0; c < EVAL_NCLASSES; c++)
    strbuf_addf(o, "indicatord_targets{class=\"%s\"} %zu\n",
                eval_class_name((enum eval_class)c), counts[c]);
  single(o, "indicatord_evaluation_passes_total", "counter",
         "Evaluation passes finished.", tg->stats.passes);
  single(o, "indicatord_target_evaluations_total", "counter", "Targets judged.",
         tg->stats.evaluations);
  single(o, "indicatord_evaluation_entries_read_total", "counter",
         "Stream entries the evaluation read (only what is new to it).",
         tg->stats.entries);
  single(o, "indicatord_evaluation_rereads_total", "counter",
         "Targets whose series was read again from its start (a start, a "
         "changed definition, a reconnect, a rewrite or trim before what it "
         "held, rewrite log entries lost).",
         tg->stats.rereads);
  head(o, "indicatord_target_score", "gauge",
       "Each target's score (1.0 = exactly on pace).");
  for (size_t i = 0; i < tg->n; i++) {
    const struct target_state *ts = &tg->states[i];
    if (!ts->have_result || !isfinite(ts->res.score))
      continue;
    strbuf_addf(o, "indicatord_target_score{target=\"%s\"} %.6g\n",
                tg->cfg->targets[i].id, ts->res.score);
  }
  head(o, "indicatord_target_class", "gauge",
       "1 for each target's current class.");
  for (size_t i = 0; i < tg->n; i++)
    strbuf_addf(o, "indicatord_target_class{target=\"%s\",class=\"%s\"} 1\n",
                tg->cfg->targets[i].id,
                eval_class_name(tg->states[i].st.known ? tg->states[i].st.cls
                                                       : CLASS_PENDING));
}

static void alerts(struct strbuf *o, const struct alerts *al) {
  static const struct {
    const char *name, *help;
    size_t off;
  } counters[] = {
      {"indicatord_deliveries_total", "Notifications a receiver accepted.",
       offsetof(struct alerts_stats, delivered)},
      {"indicatord_delivery_failures_total",
       "Notifications given up on (refused for good or too many attempts).",
       offsetof(struct alerts_stats, failed)},
      {"indicatord_delivery_retries_total",
       "Delivery attempts that will be retried.",
       offsetof(struct alerts_stats, retries)},
  };
  single(o, "indicatord_outbox_depth", "gauge",
         "Notifications waiting for their receiver.", alerts_outbox_depth(al));
  for (size_t k = 0; k < sizeof(counters) / sizeof(counters[0]); k++) {
    head(o, counters[k].name, "counter", counters[k].help);
    for (size_t i = 0; i < al->cfg->nreceivers; i++)
      strbuf_addf(o, "%s{receiver=\"%s\"} %llu\n", counters[k].name,
                  al->cfg->receivers[i].id,
                  (unsigned long long)*(
                      const uint64_t *)((const char *)alerts_stats(al, i) +
                                        counters[k].off));
  }
}

/* A label value as the text format wants it. */
static void label(struct strbuf *o, const char *v) {
  for (; *v; v++) {
    if (*v == '\\' || *v == '"')
      strbuf_addf(o, "\\%c", *v);
    else if (*v == '\n')
      strbuf_adds(o, "\\n");
    else
      strbuf_addf(o, "%c", *v);
  }
}

static void cluster(struct strbuf *o, const struct cluster *cl) {
  static const struct {
    const char *name, *help;
    size_t off;
  } counters[] = {
      {"indicatord_cluster_steps_total",
       "Steps that renewed this instance's registration and leases.",
       offsetof(struct cluster, steps)},
      {"indicatord_cluster_leaderships_total",
       "Times this instance took the leader lease.",
       offsetof(struct cluster, takeovers)},
      {"indicatord_cluster_handovers_total",
       "Feeds this instance handed over (over its share, or stopping).",
       offsetof(struct cluster, handovers)},
      {"indicatord_cluster_lost_leases_total",
       "Feed leases lost: another instance took them, or they could not be "
       "renewed in time.",
       offsetof(struct cluster, losses)},
  };
  head(o, "indicatord_cluster_info", "gauge",
       "This instance and the leader as its last step saw it.");
  strbuf_adds(o, "indicatord_cluster_info{instance=\"");
  label(o, cl->instance);
  strbuf_adds(o, "\",leader=\"");
  label(o, cl->leader_name);
  strbuf_adds(o, "\"} 1\n");
  single(o, "indicatord_cluster_leader", "gauge",
         "1 while this instance is the leader (judges, delivers).", cl->leader);
  single(o, "indicatord_cluster_instances", "gauge",
         "Live instances in the registry.", cl->live);
  single(o, "indicatord_cluster_share", "gauge",
         "The most feeds one instance takes: ceil(feeds / instances).",
         cl->share);
  single(o, "indicatord_cluster_leases", "gauge",
         "Feed leases this instance holds.", cl->held);
  for (size_t k = 0; k < sizeof(counters) / sizeof(counters[0]); k++)
    single(o, counters[k].name, "counter", counters[k].help,
           *(const uint64_t *)((const char *)cl + counters[k].off));
  head(o, "indicatord_cluster_lease", "gauge",
       "1 for each feed whose lease this instance holds.");
  for (size_t i = 0; i < cl->nfeeds; i++)
    if (cl->feeds[i].state == CLUSTER_HELD)
      strbuf_addf(o, "indicatord_cluster_lease{feed=\"%s\"} 1\n",
                  cl->cfg->feeds[i].id);
}

void metrics_cluster_json(const char *json, size_t len,
                          const struct cluster *cl, struct strbuf *out) {
  json_error_t e;
  json_t *top = json_loadb(json, len, 0, &e), *o, *feeds;
  char *text;
  if (!top) {
    strbuf_add(out, json, len);
    return;
  }
  o = json_object();
  feeds = json_array();
  for (size_t i = 0; i < cl->nfeeds; i++)
    if (cl->feeds[i].state == CLUSTER_HELD)
      json_array_append_new(feeds, json_string(cl->cfg->feeds[i].id));
  json_object_set_new(o, "instance", json_string(cl->instance));
  json_object_set_new(o, "leader",
                      cl->leader_name[0] ? json_string(cl->leader_name)
                                         : json_null());
  json_object_set_new(o, "leading", json_boolean(cl->leader));
  json_object_set_new(o, "instances", json_integer((json_int_t)cl->live));
  json_object_set_new(o, "share", json_integer((json_int_t)cl->share));
  json_object_set_new(o, "leases", json_integer((json_int_t)cl->held));
  json_object_set_new(o, "feeds", feeds);
  json_object_set_new(top, "cluster", o);
  text = json_dumps(top, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
  if (text) {
    strbuf_adds(out, text);
    strbuf_adds(out, "\n");
  }
  free(text);
  json_decref(top);
}

void metrics_render(struct strbuf *out, const struct collector *col,
                    const struct store *st, const struct targets *tg,
                    const struct alerts *al, const struct cluster *cl) {
  head(out, "indicatord_build_info", "gauge", "Version of the running build.");
  strbuf_addf(out, "indicatord_build_info{version=\"%s\"} 1\n",
              INDICATORD_VERSION);
  if (col) {
    feeds(out, col);
    lag(out, col);
  }
  if (st)
    store(out, st);
  if (tg)
    targets(out, tg);
  if (al)
    alerts(out, al);
  if (cl)
    cluster(out, cl);
}

void metrics_render_endpoint(struct strbuf *out, const struct endpoint *ep) {
  single(out, "indicatord_http_requests_total", "counter",
         "Requests the endpoint answered.", ep->served);
  single(out, "indicatord_http_refused_total", "counter",
         "Connections told 503 at once: too many were waiting for their "
         "request.",
         ep->refused);
  single(out, "indicatord_http_timeouts_total", "counter",
         "Connections closed because their request did not arrive, or the "
         "status page was not ready, in time.",
         ep->timed_out);
}
