/* Every default of the configuration, in one place: what a key is when the
 * file does not give it (docs/configuration.md lists the same values). */
#include "load.h"

#include "clock.h"
#include "feed_format.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_PREFIX "ind:"
#define DEFAULT_KEYWORD "【指标告警】"

void load_defaults(struct config *cfg) {
  const char *sd = getenv("STATE_DIRECTORY");
  cfg->timezone = xstrdup("UTC");
  cfg->redis.host = xstrdup("127.0.0.1");
  cfg->redis.port = 6379;
  cfg->redis.url = xstrdup("redis://127.0.0.1:6379/0");
  cfg->redis.prefix = xstrdup(DEFAULT_PREFIX);
  cfg->redis.max_queue = 100000;
  cfg->redis.max_spool = 1024u * 1024 * 1024;
  cfg->redis.spool_sync_ms = MS_PER_SECOND;
  cfg->redis.min_replicas = -1; /* 1 with sentinel, else 0 (after load) */
  cfg->cluster.lease_ms = 30 * MS_PER_SECOND;
  /* systemd's StateDirectory= may list several, colon-separated. */
  if (sd && *sd)
    cfg->state_dir = xstrndup(sd, strcspn(sd, ":"));
  else
    cfg->state_dir = xstrdup("/var/lib/indicatord");
  cfg->listen_host = xstrdup("127.0.0.1");
  cfg->listen_port = 9464;
  cfg->log_level = LOG_LEVEL_INFO;
  cfg->evaluate_every_ms = MS_PER_HOUR;
  cfg->alerts.repeat_ms = MS_PER_DAY;
  cfg->alerts.digest_minute = 9 * 60;
  cfg->alerts.keyword = xstrdup(DEFAULT_KEYWORD);
}

void load_feed_defaults(struct feed *f) {
  f->every_ms = 15 * MS_PER_MINUTE;
  f->max_body = 4u * 1024 * 1024;
  f->tls_verify = true;
  f->time_format = TIMEFMT_ISO8601;
  f->format = feed_formats[0];
}

void load_series_defaults(struct feed_series *s) {
  s->scale = 1;
}

int64_t load_feed_timeout(int64_t every_ms) {
  return every_ms < 30 * MS_PER_SECOND ? every_ms : 30 * MS_PER_SECOND;
}

void load_target_defaults(struct target *t) {
  t->on_track = 0.95;
  t->off_track = 0.90;
  t->confirm = 2;
}

void load_receiver_defaults(struct receiver *r) {
  r->timeout_ms = 10 * MS_PER_SECOND;
}
