#include "store.h"

#include "clock.h"
#include "log.h"
#include "upsert.h"
#include "timefmt.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IN_FLIGHT 1024
#define TICK_MS MS_PER_SECOND
#define TRIM_EVERY_MS (10 * MS_PER_MINUTE)
#define STATUS_EVERY_MS MS_PER_MINUTE

/* Observations per script call: bounds one call's work inside Redis. */
#define UPSERT_BATCH 256

struct store_op {
  uint32_t argc;
  size_t *len;
  char **argv;
};

static struct store_op *op_new(int argc, const char **argv,
                               const size_t *argvlen) {
  size_t total = 0;
  struct store_op *op;
  char *p;
  for (int i = 0; i < argc; i++)
    total += (argvlen ? argvlen[i] : strlen(argv[i])) + 1;
  op = xmalloc(sizeof(*op) + (size_t)argc * (sizeof(size_t) + sizeof(char *)) +
               total);
  op->argc = (uint32_t)argc;
  op->len = (size_t *)(op + 1);
  op->argv = (char **)(op->len + argc);
  p = (char *)(op->argv + argc);
  for (int i = 0; i < argc; i++) {
    size_t l = argvlen ? argvlen[i] : strlen(argv[i]);
    memcpy(p, argv[i], l);
    p[l] = '\0';
    op->argv[i] = p;
    op->len[i] = l;
    p += l + 1;
  }
  return op;
}

static void serialise(const struct store_op *op, struct strbuf *out) {
  unsigned char n[4];
  strbuf_reset(out);
  n[0] = (unsigned char)op->argc;
  n[1] = (unsigned char)(op->argc >> 8);
  n[2] = (unsigned char)(op->argc >> 16);
  n[3] = (unsigned char)(op->argc >> 24);
  strbuf_add(out, (const char *)n, 4);
  for (uint32_t i = 0; i < op->argc; i++) {
    uint32_t l = (uint32_t)op->len[i];
    n[0] = (unsigned char)l;
    n[1] = (unsigned char)(l >> 8);
    n[2] = (unsigned char)(l >> 16);
    n[3] = (unsigned char)(l >> 24);
    strbuf_add(out, (const char *)n, 4);
    strbuf_add(out, op->argv[i], op->len[i]);
  }
}

static uint32_t rd32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

/* NULL when the record does not hold a well-formed command. */
static struct store_op *deserialise(const char *buf, size_t len) {
  const unsigned char *p = (const unsigned char *)buf;
  uint32_t argc;
  const char **argv;
  size_t *lens, off = 4;
  struct store_op *op = NULL;
  if (len < 4)
    return NULL;
  argc = rd32(p);
  if (argc == 0 || argc > len / 4)
    return NULL;
  argv = xcalloc(argc, sizeof(*argv));
  lens = xcalloc(argc, sizeof(*lens));
  for (uint32_t i = 0; i < argc; i++) {
    uint32_t l;
    if (len - off < 4)
      goto out;
    l = rd32(p + off);
    off += 4;
    if (len - off < l)
      goto out;
    argv[i] = buf + off;
    lens[i] = l;
    off += l;
  }
  if (off == len)
    op = op_new((int)argc, argv, lens);
out:
  free(argv);
  free(lens);
  return op;
}

/* v's decimal digits into buf (room for 17 bytes); v is a whole number
 * of at most 15 digits. */
static void format_whole(double v, char *buf) {
  long long i = (long long)v;
  unsigned long long u = i < 0 ? (unsigned long long)-i : (unsigned long long)i;
  char digits[16];
  size_t n = 0;
  do {
    digits[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (i < 0)
    *buf++ = '-';
  while (n)
    *buf++ = digits[--n];
  *buf = '\0';
}

void store_format_value(double v, char *buf, size_t len) {
  /* Whole numbers below 10^15 come out of %.15g as their digits and read
   * back exactly: written directly, since counts are common and snprintf
   * with strtod cost about 2,400 instructions a value. -0 goes the long
   * way to keep its sign. */
  if (len >= 17 && v > -1e15 && v < 1e15 && v == (double)(long long)v &&
      (v != 0 || !signbit(v))) {
    format_whole(v, buf);
    return;
  }
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, len, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      return;
  }
}

char *store_key(const struct store *s, const char *kind, const char *id) {
  /* Joined by hand: four keys per fetch, and formatting them showed in
   * profiles. */
  const char *prefix = s->cfg->redis.prefix;
  size_t pl = strlen(prefix), kl = strlen(kind), il = id ? strlen(id) + 1 : 0;
  char *key = xmalloc(pl + kl + il + 1);
  memcpy(key, prefix, pl);
  memcpy(key + pl, kind, kl);
  if (id) {
    key[pl + kl] = ':';
    memcpy(key + pl + kl + 1, id, il - 1);
  }
  key[pl + kl + il] = '\0';
  return key;
}

/* ---- the queue ---------------------------------------------------------- */

static struct store_op *q_at(const struct store *s, size_t i) {
  return s->q[(s->qhead + i) % s->qcap];
}

static void q_push(struct store *s, struct store_op *op) {
  if (s->qlen == s->qcap) {
    size_t ncap = s->qcap ? s->qcap * 2 : 256;
    struct store_op **nq = xcalloc(ncap, sizeof(*nq));
    for (size_t i = 0; i < s->qlen; i++)
      nq[i] = q_at(s, i);
    free(s->q);
    s->q = nq;
    s->qcap = ncap;
    s->qhead = 0;
  }
  s->q[(s->qhead + s->qlen) % s->qcap] = op;
  s->qlen++;
}

static struct store_op *q_pop(struct store *s) {
  struct store_op *op = s->q[s->qhead];
  s->qhead = (s->qhead + 1) % s->qcap;
  s->qlen--;
  return op;
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

static void pump(struct store *s);

static bool transient_error(const char *e) {
  static const char *const codes[] = {"LOADING",    "BUSY",        "MISCONF",
                                      "OOM",        "READONLY",    "TRYAGAIN",
                                      "MASTERDOWN", "CLUSTERDOWN", NULL};
  for (int i = 0; codes[i]; i++)
    if (strncmp(e, codes[i], strlen(codes[i])) == 0)
      return true;
  return false;
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata) {
  struct store *s = privdata;
  redisReply *reply = r;
  struct store_op *op;
  (void)ac;
  /* NULL: the connection went; on_down re-sends what was in flight. After a
   * reset, later replies belong to ops that will be sent again. */
  if (!reply || s->resetting || s->sent == 0)
    return;
  op = q_at(s, 0);
  if (reply->type == REDIS_REPLY_ERROR) {
    const char *e = reply->str ? reply->str : "";
    bool ours = op->argc > 1 && (strcmp(op->argv[1], s->sha) == 0 ||
                                 strcmp(op->argv[1], s->sha_many) == 0 ||
                                 strcmp(op->argv[1], s->sha_tail) == 0);
    if ((strncmp(e, "NOSCRIPT", 8) == 0 && ours) || transient_error(e)) {
      /* The script cache was flushed (or Redis is not ready): reconnect,
       * which loads the scripts again, and send from here. */
      s->resetting = true;
      rlink_reset(&s->link, e);
      return;
    }
    if (strstr(e, "equal or smaller than the target stream top item")) {
      /* A replayed XADD with an explicit ID that is already there. */
    } else {
      s->stats.rejected++;
      log_warn(
          "store: Redis refused %s %s: %s", op->argv[0],
          op->argc > 1
              ? op->argv[op->argc > 3 && strcmp(op->argv[0], "EVALSHA") == 0
                             ? 3
                             : 1]
              : "",
          e);
    }
  }
  free(q_pop(s));
  s->sent--;
  s->acked++;
  s->stats.written++;
  if (s->nwaiters)
    notify_waiters(s, false);
  if (!s->closing)
    pump(s);
}

static void on_script_loaded(redisAsyncContext *ac, void *r, void *privdata) {
  struct store *s = privdata;
  redisReply *reply = r;
  (void)ac;
  if (!reply)
    return;
  if (reply->type != REDIS_REPLY_STRING ||
      (strcmp(reply->str, s->sha) != 0 &&
       strcmp(reply->str, s->sha_many) != 0 &&
       strcmp(reply->str, s->sha_tail) != 0)) {
    log_error("store: SCRIPT LOAD failed: %s",
              reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected SHA");
    rlink_reset(&s->link, "SCRIPT LOAD failed");
    return;
  }
  if (++s->scripts_loaded < 3)
    return;
  s->script_loaded = true;
  pump(s);
}

static void spill(struct store *s, struct store_op *op) {
  struct strbuf rec = {0};
  int rc = -ENOENT;
  if (s->have_spool) {
    serialise(op, &rec);
    rc = spool_append(&s->spool, rec.buf, rec.len);
    strbuf_free(&rec);
  }
  if (rc == 0) {
    s->stats.spooled++;
    s->spool_full_logged = false;
  } else {
    s->stats.refused++;
    s->acked++; /* lost, but no flush waiter should wait for it */
    if (!s->spool_full_logged)
      log_error("store: Redis is unreachable, the queue is full (%zu writes) "
                "and the spool refuses more (%s): writes are being LOST "
                "until Redis is back",
                s->max_queue, strerror(-rc));
    s->spool_full_logged = true;
  }
  free(op);
}

static void enqueue(struct store *s, struct store_op *op) {
  s->enqueued++;
  /* Once anything waits in the spool, newer writes go behind it. */
  if ((s->have_spool && spool_pending(&s->spool)) || s->qlen >= s->max_queue) {
    spill(s, op);
    /* Spilled writes are acknowledged when replayed; count them as part of
     * the stream for flush waiters by replaying them later. */
    return;
  }
  q_push(s, op);
  pump(s);
}

/* Moves spooled writes back into memory while there is room. */
static void refill(struct store *s) {
  struct strbuf rec = {0};
  while (s->have_spool && spool_pending(&s->spool) &&
         s->qlen < s->max_queue / 2 + 1) {
    struct store_op *op;
    int rc = spool_next(&s->spool, &rec);
    if (rc <= 0)
      break;
    op = deserialise(rec.buf, rec.len);
    if (!op) {
      log_warn("store: skipped a malformed spool record (%zu bytes)", rec.len);
      continue;
    }
    q_push(s, op);
  }
  strbuf_free(&rec);
  if (s->have_spool && !spool_pending(&s->spool) && s->spool.size > 0) {
    if (s->spool.skipped_bytes)
      log_warn("store: skipped %llu damaged spool byte(s) while replaying",
               (unsigned long long)s->spool.skipped_bytes);
    s->spool.skipped_bytes = 0;
    spool_reset(&s->spool);
    log_info("store: spool replayed");
  }
}

static void pump(struct store *s) {
  if (!rlink_is_up(&s->link) || s->resetting || !s->script_loaded)
    return;
  refill(s);
  while (s->sent < s->qlen && s->sent < MAX_IN_FLIGHT) {
    struct store_op *op = q_at(s, s->sent);
    if (rlink_command(&s->link, on_reply, s, (int)op->argc,
                      (const char **)op->argv, op->len) < 0)
      break;
    s->sent++;
  }
}

static void on_up(struct rlink *link) {
  struct store *s = container_of(link, struct store, link);
  const char *one[] = {"SCRIPT", "LOAD", upsert_lua};
  const char *many[] = {"SCRIPT", "LOAD", upsert_many_lua};
  const char *tail[] = {"SCRIPT", "LOAD", replace_tail_lua};
  s->resetting = false;
  s->sent = 0;
  s->script_loaded = false;
  s->scripts_loaded = 0;
  if (link->connects > 1)
    s->stats.reconnects++;
  if (rlink_command(link, on_script_loaded, s, 3, one, NULL) < 0 ||
      rlink_command(link, on_script_loaded, s, 3, many, NULL) < 0 ||
      rlink_command(link, on_script_loaded, s, 3, tail, NULL) < 0)
    rlink_reset(link, "cannot send SCRIPT LOAD");
}

static void on_down(struct rlink *link, const char *reason) {
  struct store *s = container_of(link, struct store, link);
  (void)reason;
  s->sent = 0;
  s->resetting = false;
  s->script_loaded = false;
}

static void on_tick(uv_timer_t *t) {
  struct store *s = t->data;
  if (s->have_spool)
    spool_fsync_async(&s->spool, s->loop);
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

/* Trims a series to its retention at most every TRIM_EVERY_MS: XTRIM MINID
 * is cheap, but not needed on every write. */
/* The evaluator counts staleness from the end of the period an observation
 * describes, which the stored time alone does not tell for period labels
 * placed at their start ("2026-10" of an instant series stands at Oct 1):
 * the series' grain is kept in its meta hash, written when it changes. */
static void note_grain(struct store *s, const struct feed *feed, size_t j,
                       const char *meta, enum timefmt_grain grain) {
  size_t fi = (size_t)(feed - s->cfg->feeds);
  unsigned char *at;
  if (fi >= s->cfg->nfeeds)
    return;
  at = &s->grain_written[s->feed_base[fi] + j];
  if (*at == (unsigned char)(grain + 1))
    return;
  *at = (unsigned char)(grain + 1);
  {
    const char *argv[] = {"HSET", meta, "grain", timefmt_grain_name(grain)};
    store_command(s, 4, argv, NULL);
  }
}

static void maybe_trim(struct store *s, const struct feed *feed, size_t j) {
  const struct feed_series *fs = &feed->series[j];
  size_t fi = (size_t)(feed - s->cfg->feeds);
  uint64_t now = uv_now(s->loop), *at;
  char minid[32];
  char *key;
  if (!fs->meta.retention_ms || fi >= s->cfg->nfeeds)
    return;
  at = &s->trimmed_at[s->feed_base[fi] + j];
  if (*at && now - *at < TRIM_EVERY_MS)
    return;
  *at = now ? now : 1;
  key = store_key(s, "s", fs->id);
  snprintf(minid, sizeof(minid), "%lld",
           (long long)(clock_wall_ms() - fs->meta.retention_ms));
  {
    const char *argv[] = {"XTRIM", key, "MINID", minid};
    store_command(s, 4, argv, NULL);
  }
  free(key);
}

int store_init(struct store *s, uv_loop_t *loop, const struct config *cfg,
               bool use_spool, char *err, size_t errlen) {
  struct rlink_options opt;
  unsigned char digest[SHA_DIGEST_LENGTH];
  char *warning = NULL;
  int rc;

  memset(s, 0, sizeof(*s));
  s->loop = loop;
  s->cfg = cfg;
  /* Set at start: a reload does not resize the queue. */
  s->max_queue = cfg->redis.max_queue;
  SHA1((const unsigned char *)upsert_lua, strlen(upsert_lua), digest);
  for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
    snprintf(s->sha + 2 * i, 3, "%02x", digest[i]);
  SHA1((const unsigned char *)upsert_many_lua, strlen(upsert_many_lua), digest);
  for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
    snprintf(s->sha_many + 2 * i, 3, "%02x", digest[i]);
  SHA1((const unsigned char *)replace_tail_lua, strlen(replace_tail_lua),
       digest);
  for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
    snprintf(s->sha_tail + 2 * i, 3, "%02x", digest[i]);

  rc = use_spool ? spool_open(&s->spool, cfg->state_dir, cfg->redis.max_spool,
                              &warning)
                 : -ENOENT;
  if (rc == -EWOULDBLOCK) {
    log_warn("store: the spool in %s is in use by another indicatord; "
             "writes are held in memory only",
             cfg->state_dir);
  } else if (rc < 0 && use_spool) {
    snprintf(err, errlen, "cannot open the spool in %s: %s", cfg->state_dir,
             strerror(-rc));
    return rc;
  } else if (rc == 0) {
    s->have_spool = true;
  }
  if (warning) {
    log_warn("store: spool %s: %s", s->spool.path, warning);
    free(warning);
  }
  /* Replayed records are acknowledged like new ones. */
  s->enqueued = s->have_spool ? s->spool.records : 0;
  if (s->have_spool && spool_pending(&s->spool))
    log_info("store: %llu byte(s) of writes from an earlier run are spooled "
             "and will be replayed first",
             (unsigned long long)s->spool.size);

  index_series(s);
  /* Cannot fail: a timer init only records the loop. */
  uv_timer_init(loop, &s->timer);
  s->timer.data = s;
  uv_timer_start(&s->timer, on_tick, TICK_MS, TICK_MS);

  memset(&opt, 0, sizeof(opt));
  opt.host = cfg->redis.host;
  opt.port = cfg->redis.is_unix ? 0 : cfg->redis.port;
  opt.user = cfg->redis.user;
  opt.password = cfg->redis.password;
  opt.db = cfg->redis.db;
  rlink_start(&s->link, loop, &opt, on_up, on_down, s);
  return 0;
}

void store_set_config(struct store *s, const struct config *cfg) {
  s->cfg = cfg;
  index_series(s);
}

bool store_is_up(const struct store *s) {
  return rlink_is_up(&s->link) && s->script_loaded;
}

void store_command(struct store *s, int argc, const char **argv,
                   const size_t *argvlen) {
  if (s->closing)
    return;
  enqueue(s, op_new(argc, argv, argvlen));
}

void store_observations(struct store *s, const struct feed *feed,
                        const struct observation *obs, size_t n) {
  char *latest = store_key(s, "latest", NULL);
  char *set = store_key(s, "series", NULL);
  int64_t now = clock_wall_ms();
  /* Sized to the batch: most fetches bring one observation per series,
   * and zeroing room for a full batch on every call showed in profiles. */
  size_t batch = n < UPSERT_BATCH ? (n ? n : 1) : UPSERT_BATCH;
  const char **argv = xmalloc((8 + 3 * batch) * sizeof(*argv));
  char(*ms)[24] = xmalloc(batch * sizeof(*ms));
  char(*iso)[40] = xmalloc(batch * sizeof(*iso));
  char(*val)[40] = xmalloc(batch * sizeof(*val));
  /* One script call per series and up to UPSERT_BATCH observations, each
   * series' observations in the order the feed gave them. */
  for (size_t j = 0; j < feed->nseries; j++) {
    const struct feed_series *fs = &feed->series[j];
    char *stream = store_key(s, "s", fs->id);
    char *meta = store_key(s, "m", fs->id);
    size_t k = 0, any = 0;
    const struct observation *newest = NULL;
    for (size_t i = 0; i <= n; i++) {
      bool flush = i == n || k == batch;
      if (flush && k) {
        argv[0] = "EVALSHA";
        argv[1] = s->sha_many;
        argv[2] = "4";
        argv[3] = stream;
        argv[4] = meta;
        argv[5] = latest;
        argv[6] = set;
        argv[7] = fs->id;
        store_command(s, (int)(8 + 3 * k), argv, NULL);
        k = 0;
      }
      if (i == n)
        break;
      if (obs[i].series != fs->id && strcmp(obs[i].series, fs->id) != 0)
        continue;
      any++;
      if (!newest || obs[i].time_ms >= newest->time_ms)
        newest = &obs[i];
      /* A feed that re-publishes its history must not bring back what
       * retention trimmed. */
      if (fs->meta.retention_ms && obs[i].time_ms < now - fs->meta.retention_ms)
        continue;
      snprintf(ms[k], sizeof(ms[k]), "%lld", (long long)obs[i].time_ms);
      timefmt_iso(obs[i].time_ms, iso[k], sizeof(iso[k]));
      store_format_value(obs[i].value, val[k], sizeof(val[k]));
      argv[8 + 3 * k] = ms[k];
      argv[9 + 3 * k] = iso[k];
      argv[10 + 3 * k] = val[k];
      k++;
      s->stats.observations++;
    }
    if (any) {
      note_grain(s, feed, j, meta, newest->grain);
      maybe_trim(s, feed, j);
    }
    free(stream);
    free(meta);
  }
  free(argv);
  free(ms);
  free(iso);
  free(val);
  free(latest);
  free(set);
}

/* FNV-1a over the errors a status carries; 0 when there are none. */
static uint64_t errors_print(const struct feed *feed, const char *error,
                             const char *const *series_errors) {
  uint64_t h = 14695981039346656037ull;
  bool any = false;
  for (size_t i = 0; i <= feed->nseries; i++) {
    const char *e = i == 0                    ? error
                    : series_errors && !error ? series_errors[i - 1]
                                              : NULL;
    if (!e)
      continue;
    any = true;
    for (const char *p = e; *p; p++) {
      h ^= (unsigned char)*p;
      h *= 1099511628211ull;
    }
    h ^= i + 1;
    h *= 1099511628211ull;
  }
  return any ? (h ? h : 1) : 0;
}

void store_feed_status(struct store *s, const struct feed *feed,
                       int64_t fetch_ms, const char *error,
                       const char *const *series_errors) {
  char when[40];
  size_t fi = (size_t)(feed - s->cfg->feeds);
  /* last_fetch moves on every fetch; writing it at most once a minute
   * (and at once when the errors change: a feed or series starts or stops
   * failing) saves a write per observation at high rates. */
  if (fi < s->cfg->nfeeds) {
    uint64_t now = uv_now(s->loop);
    uint64_t print = errors_print(feed, error, series_errors);
    if (s->status_at[fi] && now - s->status_at[fi] < STATUS_EVERY_MS &&
        print == s->status_errors[fi])
      return;
    s->status_at[fi] = now ? now : 1;
    s->status_errors[fi] = print;
  }
  timefmt_iso(fetch_ms, when, sizeof(when));
  for (size_t i = 0; i < feed->nseries; i++) {
    const struct feed_series *fs = &feed->series[i];
    char *meta = store_key(s, "m", fs->id);
    const char *why = error                               ? error
                      : series_errors && series_errors[i] ? series_errors[i]
                                                          : "";
    unsigned char g =
        fi < s->cfg->nfeeds ? s->grain_written[s->feed_base[fi] + i] : 0;
    /* The grain again with the status, so that a Redis that lost it gets
     * it back. */
    const char *argv[] = {
        "HSET",       meta,
        "title",      fs->meta.title ? fs->meta.title : fs->id,
        "unit",       fs->meta.unit ? fs->meta.unit : "",
        "kind",       config_kind_name(fs->meta.kind),
        "feed",       feed->id,
        "last_fetch", when,
        "last_error", why,
        "grain",      g ? timefmt_grain_name((enum timefmt_grain)(g - 1)) : ""};
    store_command(s, g ? 16 : 14, argv, NULL);
    free(meta);
  }
}

void store_upsert(struct store *s, const char *key, int64_t ms,
                  const char *const *fields, const double *values, size_t n) {
  const char **argv = xcalloc(6 + 2 * n, sizeof(*argv));
  char **vals = xcalloc(n + 1, sizeof(*vals));
  char msbuf[24], iso[40];
  snprintf(msbuf, sizeof(msbuf), "%lld", (long long)ms);
  timefmt_iso(ms, iso, sizeof(iso));
  argv[0] = "EVALSHA";
  argv[1] = s->sha;
  argv[2] = "1";
  argv[3] = key;
  argv[4] = msbuf;
  argv[5] = iso;
  for (size_t i = 0; i < n; i++) {
    vals[i] = xmalloc(40);
    store_format_value(values[i], vals[i], 40);
    argv[6 + 2 * i] = fields[i];
    argv[7 + 2 * i] = vals[i];
  }
  store_command(s, (int)(6 + 2 * n), argv, NULL);
  for (size_t i = 0; i < n; i++)
    free(vals[i]);
  free(vals);
  free(argv);
}

void store_replace_tail(struct store *s, const char *key, int64_t from_ms,
                        const char *const *fields, size_t nfields,
                        const int64_t *times, const double *values, size_t n) {
  size_t argc = 6 + nfields + n * (1 + nfields), k = 0;
  const char **argv = xcalloc(argc, sizeof(*argv));
  char(*bufs)[40] = xcalloc(1 + n * (1 + nfields) + 1, sizeof(*bufs));
  size_t b = 0;
  char nf[16];
  snprintf(nf, sizeof(nf), "%zu", nfields);
  argv[k++] = "EVALSHA";
  argv[k++] = s->sha_tail;
  argv[k++] = "1";
  argv[k++] = key;
  snprintf(bufs[b], sizeof(bufs[b]), "%lld", (long long)from_ms);
  argv[k++] = bufs[b++];
  argv[k++] = nf;
  for (size_t f = 0; f < nfields; f++)
    argv[k++] = fields[f];
  for (size_t i = 0; i < n; i++) {
    snprintf(bufs[b], sizeof(bufs[b]), "%lld", (long long)times[i]);
    argv[k++] = bufs[b++];
    for (size_t f = 0; f < nfields; f++) {
      store_format_value(values[i * nfields + f], bufs[b], sizeof(bufs[b]));
      argv[k++] = bufs[b++];
    }
  }
  store_command(s, (int)k, argv, NULL);
  free(bufs);
  free(argv);
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

void store_close(struct store *s, void (*on_closed)(struct store *s)) {
  struct strbuf front = {0}, rec = {0};
  s->on_closed = on_closed;
  s->closing = true;
  s->pending_closes = 2;
  /* What is still in memory is older than what is in the spool: keep the
   * order by writing it in front. */
  if (s->qlen && s->have_spool) {
    size_t n = s->qlen;
    for (size_t i = 0; i < n; i++) {
      serialise(q_at(s, i), &rec);
      spool_frame(&front, rec.buf, rec.len);
    }
    if (spool_rewrite_with_front(&s->spool, &front) == 0)
      log_info("store: %zu unwritten write(s) saved to the spool", n);
    else
      log_error("store: cannot save %zu unwritten write(s) to the spool: "
                "they are lost",
                n);
  } else if (s->qlen) {
    log_error("store: %zu unwritten write(s) lost (no spool)", s->qlen);
  }
  strbuf_free(&front);
  strbuf_free(&rec);
  while (s->qlen)
    free(q_pop(s));
  free(s->q);
  s->q = NULL;
  notify_waiters(s, true);
  free(s->waiters);
  s->waiters = NULL;
  if (s->have_spool)
    spool_close(&s->spool);
  s->have_spool = false;
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
