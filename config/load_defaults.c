#include "load.h"

#include "clock.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void load_defaults(struct config *cfg) {
  const char *sd = getenv("STATE_DIRECTORY");
  cfg->timezone = xstrdup("UTC");
  cfg->redis.host = xstrdup("127.0.0.1");
  cfg->redis.port = 6379;
  cfg->redis.url = xstrdup("redis://127.0.0.1:6379/0");
  cfg->redis.prefix = xstrdup(CONFIG_DEFAULT_PREFIX);
  cfg->redis.max_queue = 100000;
  cfg->redis.max_spool = 1024u * 1024 * 1024;
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
  cfg->alerts.keyword = xstrdup(CONFIG_DEFAULT_KEYWORD);
}
