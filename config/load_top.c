#include "load.h"

#include "clock.h"
#include "tz.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool load_hostport(const char *s, char **host, int *port) {
  const char *colon;
  char *end;
  long p;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (!close || close[1] != ':')
      return false;
    *host = xstrndup(s + 1, (size_t)(close - s - 1));
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon)
      return false;
    *host = xstrndup(s, (size_t)(colon - s));
  }
  errno = 0;
  p = strtol(colon + 1, &end, 10);
  if (!colon[1] || *end || errno || p < 1 || p > 65535) {
    free(*host);
    *host = NULL;
    return false;
  }
  *port = (int)p;
  return true;
}

static void load_listen(struct loader *L, const struct ydoc_node *n) {
  struct config *cfg = L->cfg;
  char *s = NULL;
  if (!n || !load_str(L, n, "listen", &s))
    return;
  if (strcmp(s, "off") == 0) {
    cfg->listen_off = true;
  } else {
    char *host = NULL;
    int port;
    unsigned char addr[sizeof(struct in6_addr)];
    if (!load_hostport(s, &host, &port)) {
      load_error(L, n, "listen must be HOST:PORT (e.g. 127.0.0.1:9464) or off");
    } else if (!host[0]) {
      /* ":9464" used to mean every address, silently. */
      load_error(L, n,
                 "listen '%s' needs an address: 127.0.0.1:%d (this machine "
                 "only) or 0.0.0.0:%d (every address)",
                 s, port, port);
    } else if (inet_pton(AF_INET, host, addr) != 1 &&
               inet_pton(AF_INET6, host, addr) != 1) {
      load_error(L, n,
                 "listen address '%s' must be an IP address such as "
                 "127.0.0.1 or [::1]",
                 host);
    } else {
      free(cfg->listen_host);
      cfg->listen_host = host;
      host = NULL;
      cfg->listen_port = port;
      cfg->listen_off = false;
    }
    free(host);
  }
  free(s);
}

/* redis://[user[:password]@]host[:port][/db] or unix://path[?db=N] */
static void load_redis_url(struct loader *L, const struct ydoc_node *n,
                           const char *url, char **url_password) {
  struct config *cfg = L->cfg;
  const char *p;
  if (strncmp(url, "unix://", 7) == 0) {
    const char *q = strchr(url + 7, '?');
    size_t len = q ? (size_t)(q - (url + 7)) : strlen(url + 7);
    if (len == 0 || url[7] != '/') {
      load_error(L, n, "redis url: unix:// needs an absolute socket path");
      return;
    }
    cfg->redis.is_unix = true;
    cfg->redis.host = xstrndup(url + 7, len);
    if (q) {
      char *end;
      long db;
      if (strncmp(q, "?db=", 4) != 0 ||
          ((db = strtol(q + 4, &end, 10)),
           *end || end == q + 4 || db < 0 || db > 15)) {
        load_error(L, n,
                   "redis url: only ?db=N (0..15) may follow a socket path");
        return;
      }
      cfg->redis.db = (int)db;
    }
    return;
  }
  if (strncmp(url, "redis://", 8) != 0) {
    load_error(L, n, "redis url must start with redis:// or unix://");
    return;
  }
  p = url + 8;
  {
    const char *at = strrchr(p, '@');
    const char *slash;
    char *hostport;
    if (at) {
      const char *colon = memchr(p, ':', (size_t)(at - p));
      if (colon) {
        if (colon > p)
          cfg->redis.user = xstrndup(p, (size_t)(colon - p));
        *url_password = xstrndup(colon + 1, (size_t)(at - colon - 1));
      } else if (at > p) {
        cfg->redis.user = xstrndup(p, (size_t)(at - p));
      }
      p = at + 1;
    }
    slash = strchr(p, '/');
    hostport = slash ? xstrndup(p, (size_t)(slash - p)) : xstrdup(p);
    if (!hostport[0]) {
      load_error(L, n, "redis url has no host");
    } else if (strchr(hostport, ':') &&
               !(hostport[0] == '[' && !strstr(hostport, "]:"))) {
      char *host = NULL;
      int port;
      if (!load_hostport(hostport, &host, &port) || !host[0]) {
        load_error(L, n, "redis url: port must be 1..65535");
        free(host);
      } else {
        cfg->redis.host = host;
        cfg->redis.port = port;
      }
    } else {
      size_t hl = strlen(hostport);
      if (hostport[0] == '[' && hl > 2)
        cfg->redis.host = xstrndup(hostport + 1, hl - 2);
      else
        cfg->redis.host = xstrdup(hostport);
      cfg->redis.port = 6379;
    }
    free(hostport);
    if (slash && slash[1]) {
      char *end;
      long db = strtol(slash + 1, &end, 10);
      if (*end || db < 0 || db > 15)
        load_error(L, n, "redis url: database must be a number 0..15");
      else
        cfg->redis.db = (int)db;
    }
  }
}

static void load_redis(struct loader *L, const struct ydoc_node *n) {
  static const char *const keys[] = {"url",           "user",       "password",
                                     "password_file", "prefix",     "max_queue",
                                     "max_spool",     "spool_sync", "sentinel",
                                     "min_replicas",  NULL};
  struct config *cfg = L->cfg;
  char *url = NULL, *url_password = NULL;
  bool pw_given = false;
  if (!n || !load_want(L, n, YDOC_MAP, "redis"))
    return;
  load_keys(L, n, "redis", keys);
  if (ydoc_get(n, "url") && load_nonempty(L, ydoc_get(n, "url"), "url", &url)) {
    free(cfg->redis.host);
    cfg->redis.host = NULL;
    load_redis_url(L, ydoc_get(n, "url"), url, &url_password);
  }
  load_sentinel(L, n);
  load_int(L, ydoc_get(n, "min_replicas"), "min_replicas", 0, 16,
           &cfg->redis.min_replicas);
  load_nonempty(L, ydoc_get(n, "user"), "user", &cfg->redis.user);
  load_secret(L, n, "password", &cfg->redis.password, &pw_given);
  if (url_password) {
    if (pw_given)
      load_error(L, ydoc_get(n, "url"),
                 "redis url carries a password and password is also given");
    else {
      free(cfg->redis.password);
      cfg->redis.password = url_password;
      url_password = NULL;
    }
  }
  load_str(L, ydoc_get(n, "prefix"), "prefix", &cfg->redis.prefix);
  {
    int mq = (int)cfg->redis.max_queue;
    if (load_int(L, ydoc_get(n, "max_queue"), "max_queue", 1, 10000000, &mq))
      cfg->redis.max_queue = (size_t)mq;
  }
  load_size(L, ydoc_get(n, "max_spool"), "max_spool", &cfg->redis.max_spool);
  if (load_duration(L, ydoc_get(n, "spool_sync"), "spool_sync", 10, false,
                    &cfg->redis.spool_sync_ms) &&
      cfg->redis.spool_sync_ms > MS_PER_MINUTE)
    load_error(L, ydoc_get(n, "spool_sync"), "spool_sync must be at most 1m");
  if (ydoc_get(n, "prefix")) {
    for (const char *p = cfg->redis.prefix; *p; p++)
      if ((unsigned char)*p <= ' ' || *p == '*' || *p == '?' || *p == '[') {
        load_error(L, ydoc_get(n, "prefix"),
                   "prefix must not contain spaces or glob characters");
        break;
      }
  }
  if (url && cfg->redis.host) {
    /* Keep a copy without credentials: this one may be logged. */
    free(cfg->redis.url);
    cfg->redis.url = config_redact_url(url);
  }
  if (cfg->redis.sentinel_master) {
    /* What logs name: the master, as the sentinels call it. */
    free(cfg->redis.url);
    cfg->redis.url =
        xasprintf("sentinel master '%s'", cfg->redis.sentinel_master);
  }
  free(url);
  free(url_password);
}

static int parse_hhmm(const char *s) {
  int h, m;
  char extra;
  if (strlen(s) != 5 || s[2] != ':' ||
      sscanf(s, "%2d:%2d%c", &h, &m, &extra) != 2 || h < 0 || h > 23 || m < 0 ||
      m > 59 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[3]))
    return -1;
  return h * 60 + m;
}

static void load_alerts(struct loader *L, const struct ydoc_node *n) {
  static const char *const keys[] = {"repeat", "digest", "keyword",
                                     "dashboard_url", NULL};
  struct config *cfg = L->cfg;
  const struct ydoc_node *v;
  if (!n || !load_want(L, n, YDOC_MAP, "alerts"))
    return;
  load_keys(L, n, "alerts", keys);
  load_duration(L, ydoc_get(n, "repeat"), "repeat", MS_PER_MINUTE, true,
                &cfg->alerts.repeat_ms);
  v = ydoc_get(n, "digest");
  if (v) {
    char *s = NULL;
    if (load_str(L, v, "digest", &s)) {
      if (strcmp(s, "off") == 0)
        cfg->alerts.digest_minute = -1;
      else if ((cfg->alerts.digest_minute = parse_hhmm(s)) < 0)
        load_error(L, v,
                   "digest must be a local time HH:MM (e.g. \"09:00\") or off");
    }
    free(s);
  }
  load_str(L, ydoc_get(n, "keyword"), "keyword", &cfg->alerts.keyword);
  v = ydoc_get(n, "dashboard_url");
  if (v && load_nonempty(L, v, "dashboard_url", &cfg->alerts.dashboard_url))
    load_url(L, v, "dashboard_url", cfg->alerts.dashboard_url, false);
}

void load_top(struct loader *L, const struct ydoc_node *root) {
  struct config *cfg = L->cfg;
  const struct ydoc_node *v;

  v = ydoc_get(root, "timezone");
  if (v && load_nonempty(L, v, "timezone", &cfg->timezone) &&
      !tz_valid(cfg->timezone))
    load_error(L, v,
               "timezone '%s' is not an IANA time zone name (such as "
               "Asia/Shanghai)",
               cfg->timezone);
  load_redis(L, ydoc_get(root, "redis"));
  if (cfg->redis.min_replicas < 0)
    cfg->redis.min_replicas = cfg->redis.sentinel_master ? 1 : 0;
  v = ydoc_get(root, "state_dir");
  if (v) {
    char *s = NULL;
    if (load_nonempty(L, v, "state_dir", &s)) {
      free(cfg->state_dir);
      cfg->state_dir = load_path(L, s, false);
    }
    free(s);
  }
  load_listen(L, ydoc_get(root, "listen"));
  v = ydoc_get(root, "log_level");
  if (v) {
    char *s = NULL;
    if (load_str(L, v, "log_level", &s) &&
        log_level_parse(s, &cfg->log_level) < 0)
      load_error(L, v, "log_level must be error, warn, info or debug, not '%s'",
                 s);
    free(s);
  }
  load_duration(L, ydoc_get(root, "evaluate"), "evaluate", MS_PER_SECOND, false,
                &cfg->evaluate_every_ms);
  load_alerts(L, ydoc_get(root, "alerts"));
  load_cluster(L, root);
}
