/* One evaluation pass: which targets are read, in what pieces, and when
 * they are judged. The loop is never held for long: at most WINDOW targets
 * have reads in flight, each read brings at most CHUNK entries (so one
 * reply is a bounded piece of work), and read targets wait in a queue that
 * an idle handle works off at most SLICE_NS a turn (a target's first
 * judgement draws its whole trajectory). */
#include "targets_private.h"

#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 16
#define CHUNK 1000
#define CHUNK_TEXT "1000"
#define SLICE_NS 2000000
#define LOG_COUNT 1000
#define LOG_COUNT_TEXT "1000"

enum read_kind { READ_STATE, READ_GRAIN, READ_POINTS };

struct read_ctx {
  struct targets *tg;
  size_t index;
  enum read_kind kind;
  uint64_t epoch, gen;
};

static void on_read(void *data, redisReply *reply);
static void pump(struct targets *tg);
static void target_read(struct targets *tg, size_t i);

static void send_read(struct targets *tg, size_t i, enum read_kind kind,
                      int argc, const char **argv) {
  struct target_state *ts = &tg->states[i];
  struct read_ctx *rc = xmalloc(sizeof(*rc));
  rc->tg = tg;
  rc->index = i;
  rc->kind = kind;
  rc->epoch = tg->epoch;
  rc->gen = ts->tally_ready ? ts->tally.generation : 0;
  if (store_read(tg->store, argc, argv, NULL, on_read, rc) < 0) {
    free(rc);
    ts->failed = true;
    tg->pass_failed = true;
    return;
  }
  tg->outstanding++;
  ts->replies++;
}

/* The next chunk of the series after what the tally holds (a what-if:
 * nothing after its now). */
static void read_points(struct targets *tg, size_t i) {
  struct target_state *ts = &tg->states[i];
  char from[48], until[24];
  char *key = store_key(tg->store, "s", tg->cfg->targets[i].series);
  eval_tally_read_from(&ts->tally, from, sizeof(from));
  snprintf(until, sizeof(until), "%lld", (long long)tg->fixed_now);
  ts->gen = ts->tally.generation;
  {
    const char *argv[] = {"XRANGE", key,
                          from,     targets_what_if(tg) ? until : "+",
                          "COUNT",  CHUNK_TEXT};
    send_read(tg, i, READ_POINTS, 6, argv);
  }
  free(key);
}

static void start_target(struct targets *tg, size_t i) {
  const struct target *t = &tg->cfg->targets[i];
  struct target_state *ts = &tg->states[i];
  bool restore, judge;
  if (tg->follower)
    ts->restored = false; /* the leader's latest judgement */
  restore = !ts->restored && !targets_what_if(tg);
  judge = ts->want && !tg->follower && targets_judging(tg, i);
  char *key;
  if (!restore && !judge)
    return;
  ts->in_pass = true;
  ts->judge = judge;
  ts->failed = false;
  tg->reading++;
  if (restore) {
    key = store_key(tg->store, "t", t->id);
    {
      const char *argv[] = {"HGETALL", key};
      send_read(tg, i, READ_STATE, 2, argv);
    }
    free(key);
  }
  if (judge) {
    ts->want = false;
    if (!ts->tally_ready) {
      eval_tally_init(&ts->tally, t, tg->series_of[i]->meta.kind,
                      tg->cfg->timezone);
      ts->tally_ready = true;
      tg->stats.rereads++;
    } else if (targets_what_if(tg)) {
      eval_tally_reset(&ts->tally); /* a what-if starts afresh */
    }
    key = store_key(tg->store, "m", t->series);
    {
      const char *argv[] = {"HGET", key, "grain"};
      send_read(tg, i, READ_GRAIN, 3, argv);
    }
    free(key);
    read_points(tg, i);
  }
  if (ts->replies == 0) /* nothing could be sent */
    target_read(tg, i);
}

static void on_judging(uv_idle_t *h);

/* Every read of target i in this pass was answered. */
static void target_read(struct targets *tg, size_t i) {
  struct target_state *ts = &tg->states[i];
  tg->reading--;
  if (ts->failed || !ts->judge) {
    if (ts->failed && ts->judge)
      ts->want = true; /* the next pass tries again */
    ts->in_pass = ts->judge = false;
    return;
  }
  ts->ready = true;
  tg->ready[(tg->ready_head + tg->nready++) % tg->n] = i;
  if (tg->nready == 1)
    uv_idle_start(&tg->judging, on_judging);
}

static void on_read(void *data, redisReply *reply) {
  struct read_ctx *rc = data;
  struct targets *tg = rc->tg;
  struct target_state *ts;
  tg->outstanding--;
  if (tg->closing || rc->epoch != tg->epoch) {
    free(rc);
    pump(tg);
    return;
  }
  ts = &tg->states[rc->index];
  ts->replies--;
  if (!reply) {
    ts->failed = true; /* the connection went: the pass again */
    tg->pass_failed = true;
  } else if (reply->type == REDIS_REPLY_ERROR) {
    /* Redis refused this one read (a key of another type): that target
     * waits, the others are judged. */
    log_warn("targets: target %s: Redis refused a read: %s",
             tg->cfg->targets[rc->index].id, reply->str ? reply->str : "");
    if (rc->kind == READ_STATE)
      ts->restored = true;
    else
      ts->failed = true;
    if (!ts->have_result)
      snprintf(ts->message, sizeof(ts->message),
               "not judged: Redis refused reading its data: %s",
               reply->str ? reply->str : "");
  } else if (rc->kind == READ_STATE) {
    targets_io_restore(ts, reply);
  } else if (rc->kind == READ_GRAIN) {
    targets_io_grain(ts, reply);
  } else if (rc->gen != ts->tally.generation) {
    /* The store rewrote the series since this was sent: read again from
     * where the tally now stands. */
    read_points(tg, rc->index);
  } else {
    tg->stats.entries += targets_io_points(&ts->tally, reply);
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= CHUNK)
      read_points(tg, rc->index);
  }
  if (ts->replies == 0)
    target_read(tg, rc->index);
  free(rc);
  pump(tg);
}

/* Judges read targets for at most SLICE_NS of this turn of the loop. */
static void on_judging(uv_idle_t *h) {
  struct targets *tg = h->data;
  uint64_t t0 = uv_hrtime();
  while (tg->nready && !tg->closing) {
    size_t i = tg->ready[tg->ready_head];
    struct target_state *ts = &tg->states[i];
    tg->ready_head = (tg->ready_head + 1) % tg->n;
    tg->nready--;
    ts->ready = false;
    if (ts->tally.generation != ts->gen) {
      /* Rewound since it was read: read on from the rewritten day. */
      tg->reading++;
      read_points(tg, i);
      if (ts->replies == 0)
        target_read(tg, i);
      continue;
    }
    ts->in_pass = ts->judge = false;
    targets_judge(tg, i);
    if (uv_hrtime() - t0 >= SLICE_NS)
      break;
  }
  if (!tg->nready)
    uv_idle_stop(&tg->judging);
  pump(tg);
}

/* ---- the rewrite log ---- */

/* Every target reads its series again from the start. */
static void reread_all(struct targets *tg) {
  for (size_t i = 0; i < tg->n; i++)
    if (tg->states[i].tally_ready) {
      eval_tally_reset(&tg->states[i].tally);
      tg->stats.rereads++;
    }
  for (size_t i = 0; i < tg->n; i++)
    tg->states[i].want = true;
}

static const char *entry_id(const redisReply *e) {
  if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
      e->element[0]->type != REDIS_REPLY_STRING)
    return NULL;
  return e->element[0]->str;
}

/* One entry of the log: a rewrite or trim by another process. This
 * process's own were heard of from its store. */
static void log_entry(struct targets *tg, const redisReply *e) {
  const char *series = NULL, *by = NULL;
  int64_t ms = 0;
  enum store_history what = STORE_REWRITTEN;
  bool have_ms = false;
  const redisReply *f = e->element[1];
  if (f->type != REDIS_REPLY_ARRAY)
    return;
  for (size_t k = 0; k + 1 < f->elements; k += 2) {
    const char *name = f->element[k]->str, *v = f->element[k + 1]->str;
    if (f->element[k]->type != REDIS_REPLY_STRING ||
        f->element[k + 1]->type != REDIS_REPLY_STRING)
      continue;
    if (strcmp(name, "series") == 0) {
      series = v;
    } else if (strcmp(name, "by") == 0) {
      by = v;
    } else if (strcmp(name, "from") == 0 || strcmp(name, "trim") == 0) {
      what = name[0] == 'f' ? STORE_REWRITTEN : STORE_TRIMMED;
      ms = strtoll(v, NULL, 10);
      have_ms = true;
    }
  }
  if (series && have_ms && !(by && strcmp(by, tg->store->writer) == 0))
    targets_history(tg, series, what, ms);
}

static void on_log(void *data, redisReply *reply) {
  struct targets *tg = data;
  size_t from = 0;
  tg->outstanding--;
  tg->log_pending = false;
  if (tg->closing) {
    pump(tg);
    return;
  }
  if (!reply) {
    tg->pass_failed = true; /* the connection went: the pass again */
  } else if (reply->type == REDIS_REPLY_ERROR) {
    log_warn("targets: Redis refused reading the rewrite log: %s",
             reply->str ? reply->str : "");
  } else if (reply->type == REDIS_REPLY_ARRAY && !tg->log_known) {
    /* The first pass reads every series whole: only later entries
     * matter. */
    const char *id = reply->elements ? entry_id(reply->element[0]) : NULL;
    snprintf(tg->log_at, sizeof(tg->log_at), "%s", id ? id : "0-0");
    tg->log_known = true;
  } else if (reply->type == REDIS_REPLY_ARRAY) {
    const char *first = reply->elements ? entry_id(reply->element[0]) : NULL;
    if (strcmp(tg->log_at, "0-0") != 0) {
      /* The read starts at the entry last read: gone, more was trimmed
       * from the log than a pass lets through (or Redis lost it), and
       * what it told is not known. */
      if (first && strcmp(first, tg->log_at) == 0) {
        from = 1;
      } else {
        log_warn("targets: the rewrite log lost entries this process had "
                 "not read; reading every series again");
        reread_all(tg);
        from = reply->elements;
      }
    }
    for (size_t i = from; i < reply->elements; i++)
      if (entry_id(reply->element[i]))
        log_entry(tg, reply->element[i]);
    if (reply->elements && entry_id(reply->element[reply->elements - 1]))
      snprintf(tg->log_at, sizeof(tg->log_at), "%s",
               entry_id(reply->element[reply->elements - 1]));
    if (reply->elements >= LOG_COUNT)
      tg->again = true; /* more: the next pass reads on */
  }
  pump(tg);
}

/* What other processes rewrote since the last pass, before the targets
 * are read (the pass waits for it: tg->log_pending). */
static void read_log(struct targets *tg) {
  char *key = store_key(tg->store, STORE_LOG_KEY, NULL);
  int rc;
  if (!tg->log_known) {
    const char *argv[] = {"XREVRANGE", key, "+", "-", "COUNT", "1"};
    rc = store_read(tg->store, 6, argv, NULL, on_log, tg);
  } else {
    const char *argv[] = {"XRANGE", key,     tg->log_at,
                          "+",      "COUNT", LOG_COUNT_TEXT};
    rc = store_read(tg->store, 6, argv, NULL, on_log, tg);
  }
  free(key);
  if (rc < 0) {
    tg->pass_failed = true;
    return;
  }
  tg->log_pending = true;
  tg->outstanding++;
}

/* ---- the pass ---- */

/* Starts targets while the window has room; ends the pass once nothing
 * is due. */
static void pump(struct targets *tg) {
  if (!tg->busy || tg->flushing)
    return;
  while (!tg->closing && !tg->pass_failed && !tg->log_pending &&
         tg->reading < WINDOW && tg->cursor < tg->n)
    start_target(tg, tg->cursor++);
  if (tg->outstanding)
    return;
  /* Closing, the states may be gone: what is left is not judged. */
  if (!tg->closing &&
      (tg->reading || tg->nready || (!tg->pass_failed && tg->cursor < tg->n)))
    return;
  targets_finish_pass(tg, !tg->closing && !tg->pass_failed);
}

void targets_pass_begin(struct targets *tg) {
  uint64_t connects = tg->store->stats.reconnects;
  tg->cursor = 0;
  tg->pass_failed = false;
  /* After a reconnect Redis may have lost or replaced what was read
   * (a restart without persistence, a failover): read every series
   * again. */
  if (connects != tg->connects) {
    tg->connects = connects;
    reread_all(tg);
  }
  if (tg->full) {
    tg->full = false;
    for (size_t i = 0; i < tg->n; i++)
      tg->states[i].want = true;
  }
  if (!targets_what_if(tg))
    read_log(tg);
  pump(tg);
}

void targets_pass_drop(struct targets *tg) {
  for (size_t i = 0; i < tg->n; i++) {
    struct target_state *ts = &tg->states[i];
    if (ts->in_pass && ts->judge)
      ts->want = true;
    ts->in_pass = ts->judge = ts->ready = false;
    ts->replies = 0;
  }
  tg->reading = tg->nready = tg->ready_head = 0;
  if (!tg->closing)
    uv_idle_stop(&tg->judging);
  if (tg->busy && !tg->flushing)
    tg->pass_failed = true;
}

void targets_pass_continue(struct targets *tg) {
  pump(tg);
}
