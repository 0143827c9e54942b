#include "cluster.h"

#include "clock.h"
#include "cluster_leader.h"
#include "cluster_lua.h"
#include "log.h"
#include "rng.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Steps failing in a row before it is said at warn level. */
#define FAILURES_SAID 3

struct step_taken {
  size_t feed;
  int64_t due_ms;
  char *etag, *last_modified;
  unsigned failures;
};

/* A step's answer, applied once confirmed (min_replicas: WAIT). */
struct cluster_step {
  size_t live, share;
  char leader[256];
  size_t *lost;
  size_t nlost;
  struct step_taken *taken;
  size_t ntaken;
  int64_t soonest_ms;
};

static void step_free(struct cluster_step *st) {
  if (!st)
    return;
  for (size_t i = 0; i < st->ntaken; i++) {
    free(st->taken[i].etag);
    free(st->taken[i].last_modified);
  }
  free(st->taken);
  free(st->lost);
  free(st);
}

static void feed_clear(struct cluster_feed *f) {
  free(f->etag);
  free(f->last_modified);
  f->etag = f->last_modified = NULL;
  f->waiting = false;
}

static char *key_of(const struct cluster *cl, const char *kind,
                    const char *id) {
  return xasprintf("%s%s%s", cl->cfg->redis.prefix, kind, id ? id : "");
}

static size_t index_of(const struct cluster *cl, const char *id) {
  const void *v = strmap_get(&cl->ids, id);
  return v ? (size_t)(uintptr_t)v - 1 : SIZE_MAX;
}

static void index_feeds(struct cluster *cl) {
  const char **ids = xcalloc(cl->nfeeds + 1, sizeof(*ids));
  strmap_free(&cl->ids);
  strmap_init(&cl->ids, cl->nfeeds);
  for (size_t i = 0; i < cl->nfeeds; i++) {
    ids[i] = cl->cfg->feeds[i].id;
    strmap_put(&cl->ids, ids[i], (const void *)(uintptr_t)(i + 1));
  }
  free(cl->order);
  cl->order = xcalloc(cl->nfeeds + 1, sizeof(*cl->order));
  cluster_rank(ids, cl->nfeeds, cl->instance, cl->order);
  free(ids);
}

static void count_held(struct cluster *cl) {
  cl->held = 0;
  for (size_t i = 0; i < cl->nfeeds; i++)
    if (cl->feeds[i].state == CLUSTER_HELD)
      cl->held++;
}

/* ---- feeds ---- */

/* Writes feed i's handoff and deletes its lease, both only while it is
 * ours (one fenced group). */
static void hand_over(struct cluster *cl, size_t i, bool busy) {
  const struct feed *f = &cl->cfg->feeds[i];
  struct feed_handoff h;
  char *lease = key_of(cl, "lease:f:", f->id);
  char *state = key_of(cl, "feed:", f->id);
  char due[24], failures[16];
  collector_handoff(cl->col, i, &h);
  /* A fetch cut off by the shutdown: the next holder fetches at once. */
  snprintf(due, sizeof(due), "%lld",
           (long long)(busy ? clock_wall_ms() : h.due_ms));
  snprintf(failures, sizeof(failures), "%u", h.failures);
  store_group_begin(cl->store, lease, cl->instance);
  {
    const char *argv[] = {
        "HSET",          state,
        "due",           due,
        "etag",          h.etag ? h.etag : "",
        "last_modified", h.last_modified ? h.last_modified : "",
        "failures",      failures};
    store_command(cl->store, 10, argv, NULL);
  }
  {
    const char *argv[] = {"DEL", lease};
    store_command(cl->store, 2, argv, NULL);
  }
  store_group_end(cl->store);
  collector_drop(cl->col, i);
  cl->feeds[i].polled = false;
  cl->handovers++;
  log_debug("cluster: handed feed %s over", f->id);
  free(lease);
  free(state);
}

static void apply_event(struct cluster *cl, size_t i,
                        enum cluster_feed_event e) {
  struct cluster_feed *f = &cl->feeds[i];
  bool busy = collector_busy(cl->col, i), over;
  enum cluster_feed_state was = f->state;
  f->state = cluster_feed_next(f->state, e, busy, &over);
  if (over)
    hand_over(cl, i, busy);
  if (!cluster_feed_polled(f->state) && f->polled) {
    collector_drop(cl->col, i);
    f->polled = false;
  }
  if (f->state == CLUSTER_FREE && was != CLUSTER_FREE)
    feed_clear(f);
  count_held(cl);
}

/* Gives the collector what we hold and may poll (a confirmed step). */
static void poll_held(struct cluster *cl) {
  for (size_t i = 0; i < cl->nfeeds; i++) {
    struct cluster_feed *f = &cl->feeds[i];
    struct feed_handoff h;
    if (f->state != CLUSTER_HELD || f->polled)
      continue;
    h.due_ms = f->due_ms;
    h.etag = f->etag;
    h.last_modified = f->last_modified;
    h.failures = f->failures;
    collector_take(cl->col, i, f->waiting ? &h : NULL);
    f->polled = true;
    feed_clear(f);
  }
}

/* Nothing of ours can be trusted any more (no renewal in time, or the
 * name is taken): stop polling and leading at once. */
static void set_leader(struct cluster *cl, bool leader);

static void lose_all(struct cluster *cl, const char *why) {
  size_t n = 0;
  for (size_t i = 0; i < cl->nfeeds; i++)
    if (cl->feeds[i].state != CLUSTER_FREE) {
      apply_event(cl, i, CLUSTER_LOST);
      n++;
    }
  if (n || cl->leader)
    log_warn("cluster: %s: stopped polling %zu feed(s)%s", why, n,
             cl->leader ? " and leading" : "");
  cl->losses += n;
  cl->valid_until = 0;
  uv_timer_stop(&cl->expiry_timer);
  set_leader(cl, false);
}

static void on_expiry(uv_timer_t *t) {
  lose_all(t->data, "the leases could not be renewed in time");
}

/* ---- the leader ---- */

static void set_leader(struct cluster *cl, bool leader) {
  if (leader == cl->leader)
    return;
  cl->leader = leader;
  if (leader) {
    cl->takeovers++;
    log_info("cluster: %s leads now (judges the targets, delivers the "
             "outbox)",
             cl->instance);
    cluster_leader_start(cl);
  } else {
    cluster_leader_stop(cl);
    log_info("cluster: %s does not lead any more", cl->instance);
  }
  if (cl->on_leader)
    cl->on_leader(cl->data, leader);
}

bool cluster_is_leader(const struct cluster *cl) {
  return cl->leader;
}

/* ---- the step ---- */

static void send_step(struct cluster *cl);

static void on_step_timer(uv_timer_t *t) {
  send_step(t->data);
}

static void next_step(struct cluster *cl, uint64_t delay) {
  if (!cl->closing)
    uv_timer_start(&cl->step_timer, on_step_timer, delay, 0);
}

static void step_failed(struct cluster *cl, const char *why) {
  cl->stepping = false;
  step_free(cl->answer);
  cl->answer = NULL;
  if (++cl->step_failures == FAILURES_SAID)
    log_warn("cluster: cannot renew the leases: %s; trying again", why);
  else
    log_debug("cluster: step failed: %s", why);
  next_step(cl, cluster_next_step(cl->lease_ms, true, -1));
}

static void apply_step(struct cluster *cl, struct cluster_step *st,
                       bool confirmed) {
  bool was_leader = cl->leader;
  if (!cl->joined) {
    cl->joined = true;
    cl->duplicate_since = 0;
    log_info("cluster: %s joined (%zu live instance(s), lease %.1f s)",
             cl->instance, st->live, (double)cl->lease_ms / 1000.0);
  }
  if (cl->step_failures >= FAILURES_SAID)
    log_info("cluster: leases renewed again");
  cl->step_failures = 0;
  cl->steps++;
  for (size_t k = 0; k < st->nlost; k++) {
    if (cl->feeds[st->lost[k]].state == CLUSTER_FREE)
      continue;
    log_info("cluster: feed %s is held by another instance now",
             cl->cfg->feeds[st->lost[k]].id);
    cl->losses++;
    apply_event(cl, st->lost[k], CLUSTER_LOST);
  }
  for (size_t k = 0; k < st->ntaken; k++) {
    struct step_taken *tk = &st->taken[k];
    struct cluster_feed *f = &cl->feeds[tk->feed];
    if (f->state != CLUSTER_FREE)
      continue;
    apply_event(cl, tk->feed, CLUSTER_ACQUIRED);
    feed_clear(f);
    f->waiting = true;
    f->due_ms = tk->due_ms;
    f->failures = tk->failures;
    f->etag = tk->etag;
    f->last_modified = tk->last_modified;
    tk->etag = tk->last_modified = NULL;
  }
  cl->live = st->live;
  cl->share = st->share;
  snprintf(cl->leader_name, sizeof(cl->leader_name), "%s", st->leader);
  if (confirmed) {
    cl->valid_until = cluster_valid_until(cl->step_sent_at, cl->lease_ms);
    uv_timer_start(&cl->expiry_timer, on_expiry,
                   cl->valid_until > uv_now(cl->loop)
                       ? cl->valid_until - uv_now(cl->loop)
                       : 0,
                   0);
    poll_held(cl);
  }
  /* Leading needs a confirmed step; losing it does not. */
  if (strcmp(st->leader, cl->instance) != 0)
    set_leader(cl, false);
  else if (confirmed && !was_leader)
    set_leader(cl, true);
  /* Over the share (an instance joined): the feeds we want least go. */
  count_held(cl);
  for (size_t k = cl->nfeeds; k-- > 0 && cl->held > cl->share;)
    if (cl->feeds[cl->order[k]].state == CLUSTER_HELD)
      apply_event(cl, cl->order[k], CLUSTER_OVER_SHARE);
  next_step(cl, cluster_next_step(cl->lease_ms, cl->held < cl->share,
                                  st->soonest_ms));
}

static const char *reply_str(const redisReply *r) {
  return r && r->type == REDIS_REPLY_STRING ? r->str : NULL;
}

static const char *hash_field(const redisReply *h, const char *field) {
  for (size_t i = 0; h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements;
       i += 2)
    if (reply_str(h->element[i]) && strcmp(h->element[i]->str, field) == 0)
      return reply_str(h->element[i + 1]);
  return NULL;
}

static struct cluster_step *parse_step(struct cluster *cl,
                                       const redisReply *r) {
  struct cluster_step *st;
  const redisReply *lost, *got;
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 7 ||
      r->element[1]->type != REDIS_REPLY_INTEGER || !reply_str(r->element[2]) ||
      r->element[3]->type != REDIS_REPLY_ARRAY ||
      r->element[4]->type != REDIS_REPLY_ARRAY ||
      r->element[5]->type != REDIS_REPLY_INTEGER ||
      r->element[6]->type != REDIS_REPLY_INTEGER)
    return NULL;
  st = xcalloc(1, sizeof(*st));
  st->live = (size_t)r->element[1]->integer;
  snprintf(st->leader, sizeof(st->leader), "%s", r->element[2]->str);
  st->soonest_ms = r->element[5]->integer;
  st->share = (size_t)r->element[6]->integer;
  lost = r->element[3];
  got = r->element[4];
  st->lost = xcalloc(lost->elements + 1, sizeof(*st->lost));
  for (size_t k = 0; k < lost->elements; k++) {
    size_t i = reply_str(lost->element[k]) ? index_of(cl, lost->element[k]->str)
                                           : SIZE_MAX;
    if (i != SIZE_MAX)
      st->lost[st->nlost++] = i;
  }
  st->taken = xcalloc(got->elements + 1, sizeof(*st->taken));
  for (size_t k = 0; k < got->elements; k++) {
    const redisReply *g = got->element[k];
    struct step_taken *tk = &st->taken[st->ntaken];
    const char *v;
    size_t i;
    if (g->type != REDIS_REPLY_ARRAY || g->elements != 2 ||
        !reply_str(g->element[0]) ||
        (i = index_of(cl, g->element[0]->str)) == SIZE_MAX)
      continue;
    tk->feed = i;
    if ((v = hash_field(g->element[1], "due")))
      tk->due_ms = strtoll(v, NULL, 10);
    if ((v = hash_field(g->element[1], "etag")) && *v)
      tk->etag = xstrdup(v);
    if ((v = hash_field(g->element[1], "last_modified")) && *v)
      tk->last_modified = xstrdup(v);
    if ((v = hash_field(g->element[1], "failures")))
      tk->failures = (unsigned)strtoul(v, NULL, 10);
    st->ntaken++;
  }
  return st;
}

static void name_taken(struct cluster *cl, long long pttl) {
  uint64_t now = uv_now(cl->loop);
  cl->stepping = false;
  if (!cl->duplicate_since) {
    cl->duplicate_since = now;
    log_warn("cluster: the instance name '%s' is registered by another "
             "process (this one's previous run, or another live instance); "
             "waiting up to %.1f s for it to expire",
             cl->instance, (double)(cl->lease_ms * 3 / 2) / 1000.0);
    lose_all(cl, "the instance name is taken");
  }
  if (now - cl->duplicate_since > cl->lease_ms * 3 / 2) {
    char why[400];
    /* Registrations expire after a lease: this one is renewed. */
    snprintf(why, sizeof(why),
             "another live instance is named '%s': cluster.instance must be "
             "unique",
             cl->instance);
    if (cl->on_fatal)
      cl->on_fatal(cl->data, why);
    return;
  }
  next_step(cl, pttl > 0 && (uint64_t)pttl < cl->lease_ms / 3
                    ? (uint64_t)pttl + 20
                    : cl->lease_ms / 3);
}

static void on_step_reply(void *data, redisReply *reply) {
  struct cluster *cl = data;
  char why[300];
  if (cl->closing)
    return;
  if (!reply) {
    step_failed(cl, "the connection to Redis was lost");
    return;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    snprintf(why, sizeof(why), "Redis refused the step: %.250s", reply->str);
    step_failed(cl, why);
    return;
  }
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
      reply_str(reply->element[0]) &&
      strcmp(reply->element[0]->str, "duplicate") == 0) {
    step_free(cl->answer);
    cl->answer = NULL;
    name_taken(cl, reply->element[1]->type == REDIS_REPLY_INTEGER
                       ? reply->element[1]->integer
                       : -1);
    return;
  }
  step_free(cl->answer);
  cl->answer = parse_step(cl, reply);
  if (!cl->answer) {
    step_failed(cl, "unexpected answer to the step");
    return;
  }
  if (cl->store->min_replicas)
    return; /* on_step_wait applies it */
  cl->stepping = false;
  apply_step(cl, cl->answer, true);
  step_free(cl->answer);
  cl->answer = NULL;
}

/* min_replicas: a step counts once a replica has it, so that a failover
 * does not give our leases to another instance while we poll them. */
static void on_step_wait(void *data, redisReply *reply) {
  struct cluster *cl = data;
  struct cluster_step *st = cl->answer;
  if (cl->closing || !cl->stepping)
    return;
  cl->answer = NULL;
  if (!st) {
    /* Dropped by a reload (its feeds were the old ones): again. */
    cl->stepping = false;
    next_step(cl, 0);
    return;
  }
  cl->stepping = false;
  apply_step(cl, st,
             reply && reply->type == REDIS_REPLY_INTEGER &&
                 reply->integer >= cl->store->min_replicas);
  step_free(st);
}

static void send_step(struct cluster *cl) {
  size_t nheld = 0, n = 0;
  const char **argv;
  char lease[24], nfeeds[24], heldbuf[24];
  if (cl->stepping || cl->closing)
    return;
  argv = xcalloc(cl->nfeeds + 12, sizeof(*argv));
  snprintf(lease, sizeof(lease), "%llu", (unsigned long long)cl->lease_ms);
  snprintf(nfeeds, sizeof(nfeeds), "%zu", cl->nfeeds);
  argv[n++] = "EVAL";
  argv[n++] = cluster_step_lua;
  argv[n++] = "0";
  argv[n++] = cl->cfg->redis.prefix;
  argv[n++] = cl->instance;
  argv[n++] = cl->token;
  argv[n++] = lease;
  argv[n++] = nfeeds;
  argv[n++] = "1";
  argv[n++] = heldbuf;
  for (size_t k = 0; k < cl->nfeeds; k++)
    if (cl->feeds[cl->order[k]].state != CLUSTER_FREE) {
      argv[n++] = cl->cfg->feeds[cl->order[k]].id;
      nheld++;
    }
  snprintf(heldbuf, sizeof(heldbuf), "%zu", nheld);
  for (size_t k = 0; k < cl->nfeeds; k++)
    if (cl->feeds[cl->order[k]].state == CLUSTER_FREE)
      argv[n++] = cl->cfg->feeds[cl->order[k]].id;
  cl->step_sent_at = uv_now(cl->loop);
  if (store_read(cl->store, (int)n, argv, NULL, on_step_reply, cl) < 0) {
    free(argv);
    step_failed(cl, "Redis is not connected");
    return;
  }
  free(argv);
  cl->stepping = true;
  if (cl->store->min_replicas) {
    char nrep[16];
    const char *wait[] = {"WAIT", nrep, "1000"};
    snprintf(nrep, sizeof(nrep), "%d", cl->store->min_replicas);
    if (store_read(cl->store, 3, wait, NULL, on_step_wait, cl) < 0)
      cl->stepping = false; /* the step's reply comes as NULL */
  }
}

/* ---- the daemon's calls ---- */

void cluster_fetched(struct cluster *cl, size_t i, bool new_data) {
  const struct feed *f;
  struct feed_handoff h;
  char *lease, *state, *stream;
  char due[24], failures[16], now[24], maxlen[24];
  if (cl->closing || i >= cl->nfeeds)
    return;
  if (cl->feeds[i].state == CLUSTER_RELEASING) {
    apply_event(cl, i, CLUSTER_IDLE);
    return;
  }
  if (cl->feeds[i].state != CLUSTER_HELD)
    return;
  f = &cl->cfg->feeds[i];
  collector_handoff(cl->col, i, &h);
  lease = key_of(cl, "lease:f:", f->id);
  state = key_of(cl, "feed:", f->id);
  stream = key_of(cl, "fetches", NULL);
  snprintf(due, sizeof(due), "%lld", (long long)h.due_ms);
  snprintf(failures, sizeof(failures), "%u", h.failures);
  snprintf(now, sizeof(now), "%lld", (long long)clock_wall_ms());
  /* Room for a few passes of the leader's reads over every feed. */
  snprintf(maxlen, sizeof(maxlen), "%zu", 4 * cl->nfeeds + 1000);
  store_group_begin(cl->store, lease, cl->instance);
  {
    const char *argv[] = {"HSET",
                          state,
                          "due",
                          due,
                          "etag",
                          h.etag ? h.etag : "",
                          "last_modified",
                          h.last_modified ? h.last_modified : "",
                          "failures",
                          failures,
                          "fetched",
                          now,
                          "by",
                          cl->instance};
    store_command(cl->store, 14, argv, NULL);
  }
  {
    const char *argv[] = {
        "XADD", stream,      "MAXLEN", "~",   maxlen,
        "*",    "feed",      f->id,    "new", new_data ? "1" : "0",
        "by",   cl->instance};
    store_command(cl->store, 12, argv, NULL);
  }
  store_group_end(cl->store);
  free(lease);
  free(state);
  free(stream);
}

void cluster_fenced(void *data, const char *key) {
  struct cluster *cl = data;
  char *leader = key_of(cl, "lease:leader", NULL);
  char *prefix = key_of(cl, "lease:f:", NULL);
  if (cl->closing) {
    /* Handing over at the end: someone else has it already. */
  } else if (strcmp(key, leader) == 0) {
    if (cl->leader)
      log_warn("cluster: a write of the leader was refused: another "
               "instance holds the leader lease");
    set_leader(cl, false);
    next_step(cl, 0);
  } else if (strncmp(key, prefix, strlen(prefix)) == 0) {
    size_t i = index_of(cl, key + strlen(prefix));
    if (i != SIZE_MAX && cl->feeds[i].state != CLUSTER_FREE) {
      log_info("cluster: feed %s is held by another instance now",
               cl->cfg->feeds[i].id);
      cl->losses++;
      apply_event(cl, i, CLUSTER_LOST);
    }
  }
  free(leader);
  free(prefix);
}

static void make_token(char token[33]) {
  unsigned char raw[16];
  uint32_t seed = rng_seed();
  if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) != (ssize_t)sizeof(raw))
    for (size_t i = 0; i < sizeof(raw); i++)
      raw[i] = (unsigned char)rng_next(&seed);
  for (size_t i = 0; i < sizeof(raw); i++)
    snprintf(token + 2 * i, 3, "%02x", raw[i]);
}

void cluster_start(struct cluster *cl, uv_loop_t *loop, struct store *store,
                   struct collector *col, const struct config *cfg) {
  char *leader;
  /* The daemon sets the callbacks before this: keep them. */
  void (*on_leader)(void *, bool) = cl->on_leader;
  void (*on_fetch)(void *, size_t, bool) = cl->on_fetch;
  void (*on_fatal)(void *, const char *) = cl->on_fatal;
  void *data = cl->data;
  memset(cl, 0, sizeof(*cl));
  cl->on_leader = on_leader;
  cl->on_fetch = on_fetch;
  cl->on_fatal = on_fatal;
  cl->data = data;
  cl->loop = loop;
  cl->store = store;
  cl->col = col;
  cl->cfg = cfg;
  cl->instance = xstrdup(cfg->cluster.instance);
  cl->lease_ms = (uint64_t)cfg->cluster.lease_ms;
  make_token(cl->token);
  cl->nfeeds = cfg->nfeeds;
  cl->feeds = xcalloc(cl->nfeeds + 1, sizeof(*cl->feeds));
  index_feeds(cl);
  /* Cannot fail: timer inits only record the loop. */
  uv_timer_init(loop, &cl->step_timer);
  uv_timer_init(loop, &cl->expiry_timer);
  uv_timer_init(loop, &cl->read_timer);
  cl->step_timer.data = cl->expiry_timer.data = cl->read_timer.data = cl;
  leader = key_of(cl, "lease:leader", NULL);
  store_set_fence(store, leader, cl->instance);
  free(leader);
  store->on_fenced = cluster_fenced;
  store->fenced_data = cl;
  log_info("cluster: instance %s joining (%zu feeds, lease %.1f s)",
           cl->instance, cl->nfeeds, (double)cl->lease_ms / 1000.0);
  next_step(cl, 0);
}

void cluster_set_config(struct cluster *cl, const struct config *cfg) {
  struct cluster_feed *next = xcalloc(cfg->nfeeds + 1, sizeof(*next));
  const struct config *old = cl->cfg;
  for (size_t i = 0; i < cl->nfeeds; i++) {
    struct cluster_feed *f = &cl->feeds[i];
    const struct feed *nf = config_feed(cfg, old->feeds[i].id);
    if (nf) {
      next[nf - cfg->feeds] = *f;
      continue;
    }
    /* Gone from the configuration: its lease goes too. */
    if (f->state != CLUSTER_FREE) {
      char *lease = key_of(cl, "lease:f:", old->feeds[i].id);
      const char *argv[] = {"DEL", lease};
      store_group_begin(cl->store, lease, cl->instance);
      store_command(cl->store, 2, argv, NULL);
      store_group_end(cl->store);
      free(lease);
    }
    feed_clear(f);
  }
  free(cl->feeds);
  cl->feeds = next;
  cl->cfg = cfg;
  cl->nfeeds = cfg->nfeeds;
  cl->lease_ms = (uint64_t)cfg->cluster.lease_ms;
  index_feeds(cl);
  count_held(cl);
  /* A step in flight named the feeds by the old indices. */
  if (cl->stepping) {
    step_free(cl->answer);
    cl->answer = NULL;
  }
  next_step(cl, 0);
}

static void on_timer_closed(uv_handle_t *h) {
  struct cluster *cl = h->data;
  if (--cl->pending_closes > 0)
    return;
  for (size_t i = 0; i < cl->nfeeds; i++)
    feed_clear(&cl->feeds[i]);
  free(cl->feeds);
  free(cl->order);
  strmap_free(&cl->ids);
  free(cl->instance);
  step_free(cl->answer);
  cl->feeds = NULL;
  cl->order = NULL;
  cl->instance = NULL;
  cl->answer = NULL;
  if (cl->on_closed)
    cl->on_closed(cl);
}

void cluster_close(struct cluster *cl, void (*on_closed)(struct cluster *cl)) {
  size_t n = 0;
  cl->on_closed = on_closed;
  for (size_t i = 0; i < cl->nfeeds; i++)
    if (cl->feeds[i].state != CLUSTER_FREE) {
      apply_event(cl, i, CLUSTER_STOPPING);
      n++;
    }
  if (cl->leader) {
    char *leader = key_of(cl, "lease:leader", NULL);
    const char *argv[] = {"DEL", leader};
    store_group_begin(cl->store, leader, cl->instance);
    store_command(cl->store, 2, argv, NULL);
    store_group_end(cl->store);
    free(leader);
  }
  if (cl->joined) {
    char *ikey = key_of(cl, "instance:", cl->instance);
    char *reg = key_of(cl, "instances", NULL);
    const char *zrem[] = {"ZREM", reg, cl->instance};
    const char *del[] = {"DEL", ikey};
    store_group_begin(cl->store, ikey, cl->token);
    store_command(cl->store, 3, zrem, NULL);
    store_command(cl->store, 2, del, NULL);
    store_group_end(cl->store);
    free(ikey);
    free(reg);
  }
  log_info("cluster: %s leaves: %zu feed(s)%s handed over", cl->instance, n,
           cl->leader ? " and the leadership" : "");
  cl->closing = true;
  cl->leader = false;
  store_set_fence(cl->store, NULL, NULL);
  cl->store->on_fenced = NULL;
  cl->pending_closes = 3;
  uv_close((uv_handle_t *)&cl->step_timer, on_timer_closed);
  uv_close((uv_handle_t *)&cl->expiry_timer, on_timer_closed);
  uv_close((uv_handle_t *)&cl->read_timer, on_timer_closed);
}
