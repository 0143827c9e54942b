/* The store (contract §4): every write to Redis goes through one ordered,
 * pipelined queue, so observations, target results and events share one
 * ordering and one outage path. While Redis takes writes they go from
 * memory (at most max_queue; beyond that to the spool); while it does not
 * (unreachable, not yet connected, or refusing writes for lack of
 * permission) every write goes to the spool in state_dir as it is queued,
 * and what memory held goes there too, so that a crash (kill -9, the
 * watchdog, the OOM killer) loses nothing the process had accepted; the
 * spool is fsynced every redis.spool_sync (1 s), which bounds what a crash
 * of the machine can lose. Everything replays in order once Redis takes
 * writes again, and a spool left by a previous run is replayed first.
 * Observations are upserted by one Lua script (loaded per connection,
 * called by SHA): an identical re-fetch writes nothing, a revised value
 * replaces the old one, a late observation is inserted in order. */
#ifndef INDICATORD_STORE_H
#define INDICATORD_STORE_H

#include "config.h"
#include "observation.h"
#include "rlink.h"
#include "spool.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct store_op;     /* one queued Redis command */
struct store_script; /* a script of an earlier version (store_scripts.c) */

struct store_stats {
  uint64_t observations; /* observations queued */
  uint64_t written;      /* commands acknowledged by Redis */
  uint64_t rejected;     /* commands Redis refused for good */
  uint64_t spooled;      /* commands written to the spool */
  uint64_t refused;      /* commands lost: queue and spool both full */
  uint64_t fenced;       /* fenced groups refused: the lease was not ours */
  uint64_t reconnects;
};

typedef void (*store_flush_cb)(void *data, bool ok);
/* A fenced group was refused: key no longer holds this writer's name. */
typedef void (*store_fenced_cb)(void *data, const char *key);
/* What a write did to a series' history besides adding to its end: the
 * evaluation reads only what is new (contract §5) and must hear of the
 * rest. STORE_REWRITTEN: the entries from ms on were rewritten (a
 * revision, a late observation, a replay of older data), every time that
 * was there still there; STORE_TRIMMED: the entries before ms were
 * removed (retention). STORE_REWRITTEN from STORE_HISTORY_ALL: the series
 * may have changed anywhere (a spooled write by a script of an earlier
 * version, whose reply does not say). */
enum store_history { STORE_REWRITTEN, STORE_TRIMMED };
#define STORE_HISTORY_ALL INT64_MIN
/* The same, for every process writing to this Redis: the rewrite log
 * <prefix>rw (STORE_LOG_KEY), a stream the store's scripts append to with
 * each rewrite ("series", id, "from", ms) and each trim that removed
 * entries ("series", id, "trim", ms), and "by", the writing store's token
 * (struct store's writer), capped at about STORE_LOG_LEN entries. */
#define STORE_LOG_KEY "rw"
#define STORE_LOG_LEN "10000"
typedef void (*store_history_cb)(void *data, const char *series,
                                 enum store_history what, int64_t ms);
typedef void (*store_read_cb)(void *data, redisReply *reply);

struct store_waiter {
  uint64_t target;
  store_flush_cb cb;
  void *data;
};

struct store {
  uv_loop_t *loop;
  const struct config *cfg; /* borrowed; replaced by store_set_config */
  struct rlink link;
  struct spool spool;
  bool have_spool;
  bool use_spool;      /* the daemon and once; not status */
  char *spool_dir;     /* where the spool is (state_dir) */
  char *moving_to;     /* a reloaded state_dir, until the spool can move */
  struct store_op **q; /* ring buffer */
  size_t qcap, qhead, qlen;
  size_t qspooled; /* ops in q read back from the spool (still in it) */
  size_t sent;     /* the first `sent` queued ops await replies */
  size_t discard;  /* replies still due for ops taken back (see hold) */
  bool resetting;
  /* Redis refuses writes for lack of permission (an ACL): they are held
   * in the spool and one is tried again every probe_every. */
  bool held;
  char refusal[256]; /* why Redis refuses writes; "" when it takes them */
  uint64_t probe_at, probe_every; /* loop time */
  uint64_t synced_at;             /* loop time of the last spool fsync */
  uint64_t sync_ms;               /* redis.spool_sync */
  bool script_loaded;
  char sha[41];       /* upsert of one entry (ind:p:<target>) */
  char sha_many[41];  /* upserts of a series' observations */
  char sha_tail[41];  /* a stream's tail replaced (ind:p:<target>) */
  char sha_fence[41]; /* a fenced group (store_group.c) */
  char *fence_lua;
  char sha_trim[41]; /* a series trimmed to its retention */
  char writer[17];   /* this store's token in the rewrite log */
  int scripts_loaded, scripts_to_load; /* SCRIPT LOADs answered, sent */
  /* Scripts of earlier versions that spooled writes call: loaded with
   * ours until the spool is replayed (store_scripts.c). */
  struct store_script *old_scripts;
  size_t nold_scripts;
  struct store_replay *replay; /* with sentinels (store_replay.c) */
  /* Fenced groups: the one being built, its nesting, the store's fence. */
  struct store_group *group;
  int group_depth;
  char *fence_key, *fence_holder;
  store_fenced_cb on_fenced;
  void *fenced_data;
  /* redis.min_replicas: a write counts once a replica has it (WAIT). Of
   * the `sent` ops at the front, the first `replied` were answered and
   * wait for that. */
  int min_replicas;
  size_t replied;
  uint64_t popped;    /* ops taken off the front since the connection came */
  uint64_t wait_upto; /* popped + sent as of the last WAIT sent */
  uint64_t wait_gen;  /* WAITs sent before a reset are stale */
  int wait_failures;
  size_t max_queue;
  uint64_t enqueued, acked; /* totals, for flush waiters */
  struct store_waiter *waiters;
  size_t nwaiters, capwaiters;
  uv_timer_t timer; /* fsync batching and probes */
  /* Per feed series (feed_base[f] + index in the feed): when its stream was
   * last trimmed to its retention, loop time. */
  uint64_t *trimmed_at;
  /* Per feed series: the grain (timefmt_grain + 1; 0: none) last written
   * to its meta hash. */
  unsigned char *grain_written;
  size_t *feed_base;
  /* Per feed: when its status was last written, and a fingerprint of the
   * errors it wrote (0: none). */
  uint64_t *status_at;
  uint64_t *status_errors;
  bool spool_full_logged;
  struct store_stats stats;
  store_history_cb on_history; /* NULL: nobody listens */
  void *history_data;
  bool closing;       /* store_close was called */
  int pending_closes; /* the timer, the link and the spool, until closed */
  void (*on_closed)(struct store *s);
};

/* Opens the spool (unless !use_spool: readers such as `status`) and starts
 * connecting. Returns 0, or a negative code with the reason in err. */
MUST_CHECK int store_init(struct store *s, uv_loop_t *loop,
                          const struct config *cfg, bool use_spool, char *err,
                          size_t errlen);
/* Points the store at a reloaded config: prefix, series metadata, the
 * bounds, and the Redis server and credentials (a change reconnects). */
void store_set_config(struct store *s, const struct config *cfg);
bool store_is_up(const struct store *s);
/* Whether Redis is reachable and takes writes; otherwise why not, in
 * reason (for /healthz and STATUS=). */
bool store_healthy(const struct store *s, struct strbuf *reason);
/* The Redis key for a kind ("s", "m", "t", "p") and id, or for a plain
 * name (id NULL): prefix applied. Caller frees. */
char *store_key(const struct store *s, const char *kind, const char *id);

/* Tells cb (NULL: nobody) of every rewrite and trim of a series' history,
 * as Redis acknowledges it: after the replies to every command sent
 * before it, so a read answered earlier may hold what it replaced. */
void store_on_history(struct store *s, store_history_cb cb, void *data);
/* Queues the observations of one fetch of feed, and each series' grain
 * (how much of the calendar its times name) in its meta hash when it
 * changed. */
void store_observations(struct store *s, const struct feed *feed,
                        const struct observation *obs, size_t n);
/* Queues the per-fetch metadata of every series of feed: last_fetch, and
 * last_error: the feed's error when the fetch failed, else the series' own
 * (series_errors[i] for feed->series[i], NULL or a NULL entry for none);
 * an empty last_error means the fetch gave the series no problem; and the
 * series' grain once known. */
void store_feed_status(struct store *s, const struct feed *feed,
                       int64_t fetch_ms, const char *error,
                       const char *const *series_errors);
/* Queues an upsert of one entry at ID <ms>-0 of stream key with the given
 * numeric fields (same semantics as observations: identical = no write). */
void store_upsert(struct store *s, const char *key, int64_t ms,
                  const char *const *fields, const double *values, size_t n);
/* Queues the replacement of stream key's entries from from_ms on by n
 * entries (times[i], values[i * nfields ...]), every entry with all
 * nfields fields. */
void store_replace_tail(struct store *s, const char *key, int64_t from_ms,
                        const char *const *fields, size_t nfields,
                        const int64_t *times, const double *values, size_t n);
/* Queues any write (argv copied). Used by the target engine and alerts. */
void store_command(struct store *s, int argc, const char **argv,
                   const size_t *argvlen);
/* The writes queued until the matching store_group_end (groups nest; the
 * outermost counts) go to Redis as one unit, run only while key holds
 * holder: a writer that lost its lease cannot overwrite its successor.
 * key NULL: the store's fence (store_set_fence); without a fence the
 * writes are queued as they come. A refused group is dropped and
 * on_fenced is told. */
void store_group_begin(struct store *s, const char *key, const char *holder);
void store_group_end(struct store *s);
/* The fence of groups begun with key NULL (key NULL: none). */
void store_set_fence(struct store *s, const char *key, const char *holder);
/* Calls cb(data, true) once every write queued so far is in Redis, or
 * cb(data, false) when the store closes first. */
void store_flush(struct store *s, store_flush_cb cb, void *data);
/* Sends a read now (bypassing the queue). -ENOTCONN while down; cb gets
 * NULL when the connection drops first. */
int store_read(struct store *s, int argc, const char **argv,
               const size_t *argvlen, store_read_cb cb, void *data);
/* A field of a hash as HGETALL answers it: its value, or NULL when the
 * reply is not a list of field/value strings or lacks the field. */
const char *store_hash_field(const redisReply *r, const char *field);
/* The field's number: NAN when absent, empty or not a number. */
double store_hash_number(const redisReply *r, const char *field);
size_t store_queue_depth(const struct store *s);
uint64_t store_spool_bytes(const struct store *s);
/* Persists what is still queued to the spool, then closes. */
void store_close(struct store *s, void (*on_closed)(struct store *s));

/* Formats a double the shortest way that reads back exactly. */
void store_format_value(double v, char *buf, size_t len);

#endif
