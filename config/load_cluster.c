/* Several instances on one Redis (contract §8): redis.sentinel (the master
 * found through Redis Sentinel instead of a url) and cluster (instance
 * name and lease). */
#include "load.h"

#include "clock.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN_LEASE_MS MS_PER_SECOND
#define MAX_INSTANCE_LEN 200

static void load_addresses(struct loader *L, const struct ydoc_node *n) {
  struct config *cfg = L->cfg;
  if (!load_want(L, n, YDOC_SEQ, "sentinel addresses"))
    return;
  if (!n->n) {
    load_error(L, n,
               "sentinel addresses must list at least one HOST:PORT (each "
               "sentinel's address, e.g. \"10.0.0.1:26379\")");
    return;
  }
  cfg->redis.sentinels = xcalloc(n->n, sizeof(*cfg->redis.sentinels));
  for (size_t i = 0; i < n->n; i++) {
    const struct ydoc_node *a = n->items[i];
    char *s = NULL, *host = NULL;
    int port;
    if (!load_nonempty(L, a, "sentinel address", &s))
      continue;
    if (!load_hostport(s, &host, &port) || !host[0])
      load_error(L, a,
                 "sentinel address '%s' must be HOST:PORT (e.g. "
                 "\"10.0.0.1:26379\" or \"[::1]:26379\")",
                 s);
    else {
      struct config_hostport *hp =
          &cfg->redis.sentinels[cfg->redis.nsentinels++];
      hp->host = host;
      hp->port = port;
      host = NULL;
    }
    free(host);
    free(s);
  }
}

void load_sentinel(struct loader *L, const struct ydoc_node *redis) {
  static const char *const keys[] = {"addresses", "master", "password",
                                     "password_file", NULL};
  struct config *cfg = L->cfg;
  const struct ydoc_node *n = ydoc_get(redis, "sentinel");
  const struct ydoc_node *url = ydoc_get(redis, "url");
  if (!n || !load_want(L, n, YDOC_MAP, "sentinel"))
    return;
  load_keys(L, n, "sentinel", keys);
  if (url)
    load_error(L, ydoc_key(redis, "sentinel"),
               "redis: give url or sentinel, not both (with sentinel the "
               "master's address comes from the sentinels)");
  if (ydoc_get(n, "addresses"))
    load_addresses(L, ydoc_get(n, "addresses"));
  else
    load_error(L, ydoc_key(redis, "sentinel"),
               "sentinel needs addresses: the sentinels to ask, e.g. "
               "[\"10.0.0.1:26379\", \"10.0.0.2:26379\"]");
  if (ydoc_get(n, "master")) {
    load_nonempty(L, ydoc_get(n, "master"), "master",
                  &cfg->redis.sentinel_master);
  } else {
    load_error(L, ydoc_key(redis, "sentinel"),
               "sentinel needs master: the name the sentinels monitor it by "
               "(their 'sentinel monitor NAME ...' line)");
  }
  load_secret(L, n, "password", &cfg->redis.sentinel_password, NULL);
  if (!cfg->redis.sentinel_master)
    cfg->redis.sentinel_master = xstrdup(""); /* sentinel mode all the same */
}

static bool instance_ok(const char *s) {
  if (strlen(s) > MAX_INSTANCE_LEN)
    return false;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p <= ' ' || *p == 0x7f)
      return false;
  return true;
}

/* hostname:pid, unique on the network as long as host names are. */
static char *default_instance(void) {
  char host[256];
  if (gethostname(host, sizeof(host)) != 0 || !host[0])
    snprintf(host, sizeof(host), "localhost");
  host[sizeof(host) - 1] = '\0';
  return xasprintf("%s:%ld", host, (long)getpid());
}

void load_cluster(struct loader *L, const struct ydoc_node *root) {
  static const char *const keys[] = {"instance", "lease", NULL};
  struct config *cfg = L->cfg;
  const struct ydoc_node *n = ydoc_get(root, "cluster");
  const struct ydoc_node *v;
  if (!n)
    return;
  cfg->cluster.on = true;
  if (ydoc_is_null(n)) {
    /* "cluster:" alone: every default. */
  } else if (!load_want(L, n, YDOC_MAP, "cluster")) {
    return;
  } else {
    load_keys(L, n, "cluster", keys);
    v = ydoc_get(n, "instance");
    if (v && load_nonempty(L, v, "instance", &cfg->cluster.instance) &&
        !instance_ok(cfg->cluster.instance))
      load_error(L, v,
                 "instance must be at most %d characters without spaces or "
                 "control characters",
                 MAX_INSTANCE_LEN);
    v = ydoc_get(n, "lease");
    if (v &&
        load_duration(L, v, "lease", MIN_LEASE_MS, false,
                      &cfg->cluster.lease_ms) &&
        cfg->cluster.lease_ms > 10 * MS_PER_MINUTE)
      load_error(L, v,
                 "lease must be at most 10m: an instance that dies keeps its "
                 "feeds and the leadership that long");
  }
  if (!cfg->cluster.instance)
    cfg->cluster.instance = default_instance();
}
