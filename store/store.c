#include "store_private.h"

#include "clock.h"
#include "log.h"
#include "rng.h"
#include "store_history.h"
#include "store_op.h"
#include "upsert.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IN_FLIGHT 1024
/* Writes refused for lack of permission are tried again this often,
 * doubling. */
#define PROBE_MIN_MS MS_PER_SECOND
#define PROBE_MAX_MS (30 * MS_PER_SECOND)
/* min_replicas: how long one WAIT waits for the replicas, and how many
 * unanswered in a row make the master unusable (a failover, or no replica
 * left): the connection is dropped, the sentinels asked again, and the
 * writes not confirmed are sent again. */
#define WAIT_TIMEOUT "1000"
#define WAIT_TRIES 3

/* ---- the queue ---------------------------------------------------------- */

struct store_op *store_q_at(const struct store *s, size_t i) {
  return s->q[(s->qhead + i) % s->qcap];
}

void store_q_push(struct store *s, struct store_op *op) {
  if (s->qlen == s->qcap) {
    size_t ncap = s->qcap ? s->qcap * 2 : 256;
    struct store_op **nq = xcalloc(ncap, sizeof(*nq));
    for (size_t i = 0; i < s->qlen; i++)
      nq[i] = store_q_at(s, i);
    free(s->q);
    s->q = nq;
    s->qcap = ncap;
    s->qhead = 0;
  }
  s->q[(s->qhead + s->qlen) % s->qcap] = op;
  s->qlen++;
  if (op->spool_off != STORE_OP_NOT_SPOOLED)
    s->qspooled++;
}

struct store_op *store_q_pop(struct store *s) {
  struct store_op *op = s->q[s->qhead];
  s->qhead = (s->qhead + 1) % s->qcap;
  s->qlen--;
  if (op->spool_off != STORE_OP_NOT_SPOOLED)
    s->qspooled--;
  return op;
}

void store_q_clear(struct store *s) {
  while (s->qlen)
    free(store_q_pop(s));
  s->sent = 0;
  s->replied = 0;
}

/* Callbacks may queue more waiters or close the store: the list is taken
 * out first. */
static void notify_waiters(struct store *s, bool closing) {
  struct store_waiter *list = s->waiters;
  size_t n = s->nwaiters;
  s->waiters = NULL;
  s->nwaiters = s->capwaiters = 0;
  for (size_t i = 0; i < n; i++) {
    struct store_waiter w = list[i];
    if (closing || s->closing) {
      w.cb(w.data, s->acked >= w.target);
    } else if (s->acked >= w.target) {
      w.cb(w.data, true);
    } else {
      xgrow((void **)&s->waiters, &s->capwaiters, s->nwaiters + 1,
            sizeof(*s->waiters));
      s->waiters[s->nwaiters++] = w;
    }
  }
  free(list);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);

/* Whether Redis takes writes now: otherwise they go to the spool as they
 * are queued. */
static bool takes_writes(const struct store *s) {
  return rlink_is_up(&s->link) && s->script_loaded && !s->resetting && !s->held;
}

bool store_transient_error(const char *e) {
  static const char *const codes[] = {"LOADING",    "BUSY",        "MISCONF",
                                      "OOM",        "READONLY",    "TRYAGAIN",
                                      "MASTERDOWN", "CLUSTERDOWN", NULL};
  for (int i = 0; codes[i]; i++)
    if (strncmp(e, codes[i], strlen(codes[i])) == 0)
      return true;
  return false;
}

/* An ACL that forbids the command or the key: not the write's fault, and
 * not for good either (an operator fixes the ACL). Scripts report it as
 * an ERR of their own. */
bool store_permission_error(const char *e) {
  return strncmp(e, "NOPERM", 6) == 0 ||
         strstr(e, "The user executing the script can't") != NULL;
}

/* ---- the spool side ----------------------------------------------------- */

void store_enqueue(struct store *s, struct store_op *op) {
  s->enqueued++;
  /* Once anything waits in the spool, newer writes go behind it; while
   * Redis does not take writes, they go to disk at once. */
  if ((s->have_spool && (spool_pending(&s->spool) || !takes_writes(s))) ||
      s->qlen >= s->max_queue) {
    store_spill(s, op);
    return;
  }
  store_q_push(s, op);
  store_pump(s);
}

struct wait_req {
  struct store *s;
  uint64_t gen, upto;
};

static void on_wait(redisAsyncContext *ac, void *r, void *privdata);

/* Asks Redis to answer once min_replicas replicas have every write sent so
 * far. */
static void send_wait(struct store *s, uint64_t upto) {
  struct wait_req *w = xmalloc(sizeof(*w));
  char n[16];
  const char *argv[] = {"WAIT", n, WAIT_TIMEOUT};
  snprintf(n, sizeof(n), "%d", s->min_replicas);
  w->s = s;
  w->gen = s->wait_gen;
  w->upto = upto;
  if (rlink_command(&s->link, on_wait, w, 3, argv, NULL) < 0)
    free(w);
  else
    s->wait_upto = upto;
}

void store_pump(struct store *s) {
  size_t limit = MAX_IN_FLIGHT;
  if (!rlink_is_up(&s->link) || s->resetting || !s->script_loaded)
    return;
  if (s->held) {
    /* One write at a time, when the probe is due. */
    if (s->sent || uv_now(s->loop) < s->probe_at)
      return;
    limit = 1;
  }
  store_refill(s, s->held ? 1 : s->max_queue / 2 + 1);
  while (s->sent < s->qlen && s->sent < limit) {
    struct store_op *op = store_q_at(s, s->sent);
    if (rlink_command(&s->link, on_reply, s, (int)op->argc,
                      (const char **)op->argv, op->len) < 0)
      break;
    s->sent++;
  }
  if (s->min_replicas && s->popped + s->sent > s->wait_upto)
    send_wait(s, s->popped + s->sent);
}

/* Redis refuses writes for lack of permission: they are held (spooled,
 * in order) and tried again one at a time, ever less often; logged once
 * per reason. */
static void hold(struct store *s, const char *why) {
  bool said = s->held && strcmp(s->refusal, why) == 0;
  if (!s->held)
    s->probe_every = PROBE_MIN_MS;
  s->held = true;
  snprintf(s->refusal, sizeof(s->refusal), "%s", why);
  /* Replies of the ops sent after the refused one still come: they are
   * for ops taken back, to be sent again. */
  s->discard += s->sent > s->replied ? s->sent - s->replied - 1 : 0;
  s->wait_gen++;
  store_park(s);
  s->probe_at = uv_now(s->loop) + s->probe_every;
  s->probe_every =
      s->probe_every * 2 > PROBE_MAX_MS ? PROBE_MAX_MS : s->probe_every * 2;
  if (!said)
    log_error("store: Redis refuses writes: %s; holding them (in the spool) "
              "and trying again until it takes them",
              why);
}

static void release(struct store *s) {
  if (s->refusal[0])
    log_info("store: Redis takes writes again; sending the held ones");
  s->held = false;
  s->refusal[0] = '\0';
}

/* ---- replies and the connection ----------------------------------------- */

/* The first n ops are in Redis (and, with min_replicas, in its replicas):
 * they leave the queue. */
static void confirmed(struct store *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    store_replay_keep(s, store_q_pop(s));
    s->sent--;
    s->acked++;
    s->stats.written++;
  }
  s->replied -= s->min_replicas ? n : 0;
  s->popped += n;
  if (s->nwaiters)
    notify_waiters(s, false);
  store_spool_maybe_reset(s);
  if (!s->closing)
    store_pump(s);
}

static void on_wait(redisAsyncContext *ac, void *r, void *privdata) {
  struct wait_req *w = privdata;
  struct store *s = w->s;
  redisReply *reply = r;
  uint64_t upto = w->upto;
  bool stale = w->gen != s->wait_gen;
  (void)ac;
  free(w);
  if (!reply || stale || s->resetting)
    return;
  if (reply->type == REDIS_REPLY_INTEGER && reply->integer >= s->min_replicas) {
    size_t n = upto > s->popped ? (size_t)(upto - s->popped) : 0;
    s->wait_failures = 0;
    rlink_confirm(&s->link);
    if (s->refusal[0] && !s->held)
      release(s);
    confirmed(s, n <= s->replied ? n : s->replied);
    return;
  }
  if (++s->wait_failures < WAIT_TRIES) {
    send_wait(s, upto);
    return;
  }
  snprintf(s->refusal, sizeof(s->refusal),
           "fewer than %d replica(s) acknowledged the writes (WAIT, %d "
           "tries of " WAIT_TIMEOUT " ms)",
           s->min_replicas, WAIT_TRIES);
  s->wait_failures = 0;
  s->resetting = true;
  rlink_rediscover(&s->link, NULL, 0, s->refusal);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata) {
  struct store *s = privdata;
  redisReply *reply = r;
  struct store_op *op;
  char fenced[300] = "";
  (void)ac;
  /* NULL: the connection went; on_down takes back what was in flight.
   * After a reset or a hold, replies still due belong to ops that will be
   * sent again. */
  if (!reply)
    return;
  if (s->discard) {
    s->discard--;
    return;
  }
  if (s->resetting || s->sent == s->replied)
    return;
  op = store_q_at(s, s->replied);
  if (reply->type == REDIS_REPLY_ERROR) {
    const char *e = reply->str ? reply->str : "ERR (no message)";
    const char *what =
        op->argc > 1
            ? op->argv[op->argc > 3 && strcmp(op->argv[0], "EVALSHA") == 0 ? 3
                                                                           : 1]
            : "";
    /* An earlier version's script that spooled writes call is loaded
     * with ours: its NOSCRIPT too is a flushed cache. */
    bool ours = op->argc > 1 && store_script_known(s, op->argv[1]);
    if (strncmp(e, "READONLY", 8) == 0) {
      /* A master turned replica: a failover. With sentinels they are
       * asked at once; the writes go to the new master. */
      s->resetting = true;
      rlink_rediscover(&s->link, NULL, 0, e);
      return;
    }
    if ((strncmp(e, "NOSCRIPT", 8) == 0 && ours) || store_transient_error(e)) {
      /* The script cache was flushed (or Redis is not ready): reconnect,
       * which loads the scripts again, and send from here. rlink backs
       * off: this connection did no work. */
      s->resetting = true;
      rlink_reset(&s->link, e);
      return;
    }
    if (store_permission_error(e)) {
      char why[256];
      snprintf(why, sizeof(why), "%s %.80s: %.160s", op->argv[0], what, e);
      hold(s, why);
      return;
    }
    if (strstr(e, "equal or smaller than the target stream top item")) {
      /* A replayed XADD with an explicit ID that is already there. */
    } else if (strncmp(e, "FENCED", 6) == 0 && ours && op->argc > 3) {
      /* The lease went to another instance: its writes win. */
      snprintf(fenced, sizeof(fenced), "%s", op->argv[3]);
      s->stats.fenced++;
      log_debug("store: a write fenced off: %s", e);
    } else {
      s->stats.rejected++;
      log_warn("store: Redis refused %s %s: %s", op->argv[0], what, e);
    }
  } else {
    if (!s->min_replicas)
      rlink_confirm(&s->link);
    store_note_history(s, op, reply);
  }
  if (s->held || (s->refusal[0] && !s->min_replicas))
    release(s);
  if (s->min_replicas) {
    /* Done once a replica has it too (on_wait). */
    s->replied++;
    if (!s->closing)
      store_pump(s);
  } else {
    confirmed(s, 1);
  }
  if (fenced[0] && s->on_fenced)
    s->on_fenced(s->fenced_data, fenced);
}

static void on_up(struct rlink *link) {
  struct store *s = container_of(link, struct store, link);
  s->resetting = false;
  s->sent = 0;
  s->replied = 0;
  s->popped = s->wait_upto = 0;
  s->wait_gen++;
  s->wait_failures = 0;
  s->discard = 0;
  s->script_loaded = false;
  /* A new connection (an operator may have fixed the ACL): try at once. */
  s->probe_at = uv_now(s->loop);
  if (link->connects > 1)
    s->stats.reconnects++;
  if (s->min_replicas && link->replicas >= 0 &&
      link->replicas < s->min_replicas)
    /* Said once per connection: WAIT would only time out, quietly. */
    log_warn("store: Redis master %s has %d replica(s) connected, "
             "min_replicas is %d: writes wait until that many acknowledge "
             "them",
             link->where, link->replicas, s->min_replicas);
  if (store_scripts_load(s) < 0)
    rlink_reset(link, "cannot send SCRIPT LOAD");
}

static void on_down(struct rlink *link, const char *reason) {
  struct store *s = container_of(link, struct store, link);
  (void)reason;
  s->discard = 0;
  s->resetting = false;
  s->script_loaded = false;
  s->wait_gen++;
  store_park(s);
}

static void on_tick(uv_timer_t *t) {
  struct store *s = t->data;
  uint64_t now = uv_now(s->loop);
  if (s->have_spool && now - s->synced_at >= s->sync_ms) {
    spool_fsync_async(&s->spool, s->loop);
    s->synced_at = now;
  }
  if (s->held && now >= s->probe_at)
    store_pump(s);
  store_spool_maybe_move(s);
}

static void index_series(struct store *s) {
  size_t total = 0;
  free(s->trimmed_at);
  free(s->feed_base);
  s->feed_base = xcalloc(s->cfg->nfeeds + 1, sizeof(*s->feed_base));
  for (size_t i = 0; i < s->cfg->nfeeds; i++) {
    s->feed_base[i] = total;
    total += s->cfg->feeds[i].nseries;
  }
  s->trimmed_at = xcalloc(total + 1, sizeof(*s->trimmed_at));
  free(s->grain_written);
  s->grain_written = xcalloc(total + 1, sizeof(*s->grain_written));
  free(s->status_at);
  free(s->status_errors);
  s->status_at = xcalloc(s->cfg->nfeeds + 1, sizeof(*s->status_at));
  s->status_errors = xcalloc(s->cfg->nfeeds + 1, sizeof(*s->status_errors));
}

/* The caller frees *addrs. */
static void redis_options(const struct config *cfg, struct rlink_options *opt,
                          struct rlink_addr **addrs) {
  memset(opt, 0, sizeof(*opt));
  opt->host = cfg->redis.host;
  opt->port = cfg->redis.is_unix ? 0 : cfg->redis.port;
  opt->user = cfg->redis.user;
  opt->password = cfg->redis.password;
  opt->db = cfg->redis.db;
  *addrs = xcalloc(cfg->redis.nsentinels + 1, sizeof(**addrs));
  if (!cfg->redis.sentinel_master)
    return;
  for (size_t i = 0; i < cfg->redis.nsentinels; i++) {
    (*addrs)[i].host = cfg->redis.sentinels[i].host;
    (*addrs)[i].port = cfg->redis.sentinels[i].port;
  }
  opt->sentinels = *addrs;
  opt->nsentinels = cfg->redis.nsentinels;
  opt->master = cfg->redis.sentinel_master;
  opt->sentinel_password = cfg->redis.sentinel_password;
}

/* The tick fsyncs the spool every sync_ms and sends due probes. */
static void start_tick(struct store *s) {
  uint64_t every = s->sync_ms < MS_PER_SECOND ? s->sync_ms : MS_PER_SECOND;
  uv_timer_start(&s->timer, on_tick, every, every);
}

int store_init(struct store *s, uv_loop_t *loop, const struct config *cfg,
               bool use_spool, char *err, size_t errlen) {
  struct rlink_options opt;
  struct rlink_addr *addrs;
  int rc;

  memset(s, 0, sizeof(*s));
  s->loop = loop;
  s->cfg = cfg;
  s->max_queue = cfg->redis.max_queue;
  s->sync_ms = (uint64_t)cfg->redis.spool_sync_ms;
  s->min_replicas = cfg->redis.min_replicas;
  s->fence_lua = store_group_script();
  store_script_sha(upsert_lua, strlen(upsert_lua), s->sha);
  store_script_sha(upsert_many_lua, strlen(upsert_many_lua), s->sha_many);
  store_script_sha(replace_tail_lua, strlen(replace_tail_lua), s->sha_tail);
  store_script_sha(s->fence_lua, strlen(s->fence_lua), s->sha_fence);
  store_script_sha(trim_lua, strlen(trim_lua), s->sha_trim);
  {
    uint32_t r = rng_seed();
    uint32_t hi = rng_next(&r), lo = rng_next(&r);
    snprintf(s->writer, sizeof(s->writer), "%08x%08x", hi, lo);
  }

  s->use_spool = use_spool;
  s->spool_dir = xstrdup(cfg->state_dir);
  rc = use_spool ? spool_open(&s->spool, cfg->state_dir, cfg->redis.max_spool)
                 : -ENOENT;
  if (rc == -EWOULDBLOCK) {
    log_warn("store: the spool in %s is in use by another indicatord; "
             "writes are held in memory only",
             cfg->state_dir);
  } else if (rc < 0 && use_spool) {
    snprintf(err, errlen, "cannot open the spool in %s: %s", cfg->state_dir,
             strerror(-rc));
    free(s->spool_dir);
    free(s->fence_lua);
    s->spool_dir = NULL;
    s->fence_lua = NULL;
    return rc;
  } else if (rc == 0) {
    char why[512];
    s->have_spool = true;
    /* Before anything is spooled with them; an earlier version's are
     * needed while its writes wait in the spool. */
    if (store_scripts_remember(s, cfg->state_dir, s->spool.size > 0, true, why,
                               sizeof(why)) < 0)
      log_warn("store: the scripts beside the spool: %s", why);
  }
  /* What an earlier run left is scanned on the thread pool: a large or
   * damaged spool delays neither READY=1 nor the loop. Until the scan is
   * done nothing is replayed, and new writes go behind it. */
  if (s->have_spool && !s->spool.scanned &&
      spool_scan_start(&s->spool, loop, store_spool_scanned) < 0) {
    char *warning = NULL;
    spool_scan_now(&s->spool, &warning);
    store_spool_scanned(&s->spool, warning);
    free(warning);
  }

  index_series(s);
  /* Cannot fail: a timer init only records the loop. */
  uv_timer_init(loop, &s->timer);
  s->timer.data = s;
  s->synced_at = uv_now(loop);
  start_tick(s);

  redis_options(cfg, &opt, &addrs);
  rlink_start(&s->link, loop, &opt, on_up, on_down, s);
  free(addrs);
  return 0;
}

void store_set_config(struct store *s, const struct config *cfg) {
  struct rlink_options opt;
  struct rlink_addr *addrs;
  s->cfg = cfg;
  s->max_queue = cfg->redis.max_queue;
  if (s->have_spool)
    s->spool.max_bytes = cfg->redis.max_spool;
  if (s->sync_ms != (uint64_t)cfg->redis.spool_sync_ms) {
    s->sync_ms = (uint64_t)cfg->redis.spool_sync_ms;
    start_tick(s);
  }
  index_series(s);
  if (s->use_spool && strcmp(cfg->state_dir, s->spool_dir) != 0) {
    free(s->moving_to);
    s->moving_to = xstrdup(cfg->state_dir);
    store_spool_maybe_move(s);
  } else if (s->moving_to) {
    free(s->moving_to); /* back where it is */
    s->moving_to = NULL;
  }
  redis_options(cfg, &opt, &addrs);
  if (rlink_options_differ(&s->link, &opt)) {
    /* What is in memory waits in the spool for the new server. */
    s->min_replicas = cfg->redis.min_replicas;
    rlink_set_options(&s->link, &opt);
    s->refusal[0] = '\0';
    s->held = false;
  } else if (s->min_replicas != cfg->redis.min_replicas) {
    /* Writes answered but not yet confirmed are sent again. */
    s->min_replicas = cfg->redis.min_replicas;
    s->resetting = rlink_is_up(&s->link);
    rlink_reset(&s->link, "min_replicas changed");
  }
  free(addrs);
}

bool store_healthy(const struct store *s, struct strbuf *reason) {
  if (s->refusal[0]) {
    strbuf_addf(reason, "redis refuses writes (%s): %s\n", s->link.where,
                s->refusal);
    return false;
  }
  if (store_is_up(s))
    return true;
  strbuf_addf(reason, "redis unreachable (%s): %s\n", s->link.where,
              s->link.last_error[0] ? s->link.last_error : "connecting");
  return false;
}

bool store_is_up(const struct store *s) {
  return rlink_is_up(&s->link) && s->script_loaded;
}

void store_command(struct store *s, int argc, const char **argv,
                   const size_t *argvlen) {
  if (s->closing)
    return;
  if (s->group)
    store_group_add(s, argc, argv, argvlen);
  else
    store_enqueue(s, store_op_new(argc, argv, argvlen));
}

void store_flush(struct store *s, store_flush_cb cb, void *data) {
  uint64_t target = s->enqueued;
  if (s->acked >= target && !(s->have_spool && spool_pending(&s->spool))) {
    cb(data, true);
    return;
  }
  /* Spilled writes count once they are replayed and acknowledged; the
   * total enqueued is the bar either way. */
  xgrow((void **)&s->waiters, &s->capwaiters, s->nwaiters + 1,
        sizeof(*s->waiters));
  s->waiters[s->nwaiters].target = target;
  s->waiters[s->nwaiters].cb = cb;
  s->waiters[s->nwaiters].data = data;
  s->nwaiters++;
}

struct read_req {
  store_read_cb cb;
  void *data;
};

static void on_read_reply(redisAsyncContext *ac, void *r, void *privdata) {
  struct read_req *rq = privdata;
  (void)ac;
  rq->cb(rq->data, r);
  free(rq);
}

const char *store_hash_field(const redisReply *r, const char *field) {
  if (!r || r->type != REDIS_REPLY_ARRAY)
    return NULL;
  for (size_t i = 0; i + 1 < r->elements; i += 2)
    if (r->element[i]->type == REDIS_REPLY_STRING &&
        strcmp(r->element[i]->str, field) == 0 &&
        r->element[i + 1]->type == REDIS_REPLY_STRING)
      return r->element[i + 1]->str;
  return NULL;
}

double store_hash_number(const redisReply *r, const char *field) {
  const char *text = store_hash_field(r, field);
  char *end;
  double v;
  if (!text || !*text)
    return NAN;
  v = strtod(text, &end);
  return *end ? NAN : v;
}

int store_read(struct store *s, int argc, const char **argv,
               const size_t *argvlen, store_read_cb cb, void *data) {
  struct read_req *rq = xmalloc(sizeof(*rq));
  int rc;
  rq->cb = cb;
  rq->data = data;
  rc = rlink_command(&s->link, on_read_reply, rq, argc, argv, argvlen);
  if (rc < 0)
    free(rq);
  return rc;
}

size_t store_queue_depth(const struct store *s) {
  return s->qlen;
}

uint64_t store_spool_bytes(const struct store *s) {
  return s->have_spool ? s->spool.size - s->spool.read_off : 0;
}

static void closed_one(struct store *s) {
  if (--s->pending_closes > 0)
    return;
  if (s->on_closed)
    s->on_closed(s);
}

static void on_link_closed(struct rlink *link) {
  closed_one(container_of(link, struct store, link));
}

static void on_timer_closed(uv_handle_t *h) {
  closed_one(h->data);
}

static void free_queue(struct store *s) {
  store_q_clear(s);
  free(s->q);
  s->q = NULL;
  s->qcap = s->qhead = 0;
}

static void close_spool(struct store *s) {
  s->spool.on_idle = NULL;
  store_save_for_next_start(s);
  free_queue(s);
  spool_close(&s->spool);
  s->have_spool = false;
  closed_one(s);
}

static void on_spool_idle(struct spool *sp) {
  close_spool(container_of(sp, struct store, spool));
}

void store_close(struct store *s, void (*on_closed)(struct store *s)) {
  s->on_closed = on_closed;
  s->closing = true;
  s->pending_closes = 3;
  if (s->have_spool && spool_busy(&s->spool)) {
    /* The thread pool still reads or syncs the file: saved and closed
     * when it is done (a scan not yet started is cancelled). */
    if (s->spool.scanning)
      uv_cancel((uv_req_t *)&s->spool.scan_work);
    s->spool.on_idle = on_spool_idle;
  } else if (s->have_spool) {
    close_spool(s);
  } else {
    store_save_for_next_start(s);
    free_queue(s);
    closed_one(s);
  }
  store_group_discard(s);
  store_replay_free(s);
  store_scripts_free(s);
  notify_waiters(s, true);
  free(s->waiters);
  free(s->fence_lua);
  free(s->fence_key);
  free(s->fence_holder);
  s->fence_lua = s->fence_key = s->fence_holder = NULL;
  s->waiters = NULL;
  free(s->spool_dir);
  free(s->moving_to);
  s->spool_dir = s->moving_to = NULL;
  free(s->trimmed_at);
  free(s->grain_written);
  s->grain_written = NULL;
  free(s->feed_base);
  free(s->status_at);
  free(s->status_errors);
  s->trimmed_at = NULL;
  s->feed_base = NULL;
  s->status_at = NULL;
  s->status_errors = NULL;
  uv_close((uv_handle_t *)&s->timer, on_timer_closed);
  rlink_close(&s->link, on_link_closed);
}
