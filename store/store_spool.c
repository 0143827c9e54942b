/* The store's outage path: while Redis does not take writes they go to
 * the spool (state_dir/spool.bin) and replay in order once it does. */
#include "store_private.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Once everything in the spool is in Redis, the file starts over. */
void store_spool_maybe_reset(struct store *s) {
  if (!s->have_spool || spool_pending(&s->spool) || !s->spool.size ||
      !s->spool.scanned)
    return;
  if (s->qspooled)
    return; /* still needed if the replay has to start again */
  if (s->spool.skipped_bytes)
    log_warn("store: skipped %llu damaged spool byte(s) while replaying",
             (unsigned long long)s->spool.skipped_bytes);
  s->spool.skipped_bytes = 0;
  if (spool_reset(&s->spool) < 0)
    return;
  log_info("store: spool replayed");
  /* Nothing left calls an earlier version's scripts: neither the spool
   * nor memory (qspooled is 0, and what this process queued calls
   * ours). */
  if (s->nold_scripts) {
    char why[512];
    if (store_scripts_forget_old(s, why, sizeof(why)) < 0)
      log_warn("store: the scripts beside the spool: %s", why);
  }
}

/* Redis does not take writes any more: what memory holds goes to the
 * spool, in front of what is there, so that a crash from now on loses
 * nothing. Ops read back from the spool are still in it: the replay just
 * starts again from the first of them. */
void store_park(struct store *s) {
  struct strbuf rec = {0};
  uint64_t bytes = 0;
  int rc = 0;
  s->sent = 0;
  /* While the scan runs, everything goes to the spool anyway. */
  if (!s->have_spool || !s->qlen || !s->spool.scanned)
    return;
  if (s->qspooled == s->qlen) {
    spool_rewind(&s->spool, store_q_at(s, 0)->spool_off);
    store_q_clear(s);
    return;
  }
  if (spool_pending(&s->spool)) {
    /* Older than the unread part of the spool: written in front of it. */
    struct strbuf front = {0};
    for (size_t i = 0; i < s->qlen; i++) {
      store_op_serialise(store_q_at(s, i), &rec);
      spool_frame(&front, rec.buf, rec.len);
    }
    rc = spool_rewrite_with_front(&s->spool, &front);
    strbuf_free(&front);
  } else {
    for (size_t i = 0; i < s->qlen; i++) {
      store_op_serialise(store_q_at(s, i), &rec);
      bytes += spool_framed_size(rec.len);
    }
    rc = bytes <= s->spool.max_bytes ? spool_reset(&s->spool) : -ENOSPC;
    for (size_t i = 0; i < s->qlen && rc == 0; i++) {
      store_op_serialise(store_q_at(s, i), &rec);
      rc = spool_append(&s->spool, rec.buf, rec.len);
    }
  }
  strbuf_free(&rec);
  if (rc == 0) {
    s->stats.spooled += s->qlen;
    store_q_clear(s);
  } else {
    log_error("store: cannot move %zu write(s) from memory to the spool (%s): "
              "a crash now would lose them",
              s->qlen, strerror(-rc));
  }
}

void store_spill(struct store *s, struct store_op *op) {
  struct strbuf rec = {0};
  int rc = -ENOENT;
  if (s->have_spool) {
    store_op_serialise(op, &rec);
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
      log_error("store: Redis does not take writes, the queue is full (%zu "
                "writes) and the spool refuses more (%s): writes are being "
                "LOST until Redis takes them again",
                s->max_queue, strerror(-rc));
    s->spool_full_logged = true;
  }
  free(op);
}

/* Moves spooled writes back into memory until it holds want. */
void store_refill(struct store *s, size_t want) {
  struct strbuf rec = {0};
  while (s->have_spool && spool_pending(&s->spool) && s->qlen < want) {
    struct store_op *op;
    int rc = spool_next(&s->spool, &rec);
    if (rc < 0)
      log_warn("store: cannot read the spool: %s", strerror(-rc));
    if (rc <= 0)
      break;
    op = store_op_deserialise(rec.buf, rec.len);
    if (!op) {
      log_warn("store: skipped a malformed spool record (%zu bytes)", rec.len);
      s->acked++; /* counted when the scan found it */
      continue;
    }
    op->spool_off = s->spool.last_off;
    store_q_push(s, op);
  }
  strbuf_free(&rec);
  store_spool_maybe_reset(s);
}

/* state_dir changed: the spool moves once nothing in it waits for Redis
 * (an outage or a replay finishes first), so no write stays behind in the
 * old file. */
void store_spool_maybe_move(struct store *s) {
  struct spool next;
  char why[512];
  int rc;
  if (!s->moving_to || s->closing)
    return;
  if (s->have_spool &&
      (spool_busy(&s->spool) || !s->spool.scanned || spool_pending(&s->spool)))
    return;
  if (s->qspooled)
    return;
  rc = spool_open(&next, s->moving_to, s->cfg->redis.max_spool);
  if (rc < 0) {
    log_error("store: cannot move the spool to %s: %s; it stays in %s",
              s->moving_to, strerror(-rc),
              s->have_spool ? s->spool_dir : "memory");
    free(s->moving_to);
    s->moving_to = NULL;
    return;
  }
  if (s->have_spool)
    spool_close(&s->spool);
  /* Nothing waits in the old spool: its earlier scripts are not needed. */
  if (s->nold_scripts && store_scripts_forget_old(s, why, sizeof(why)) < 0)
    log_warn("store: the scripts beside the spool: %s", why);
  s->spool = next;
  s->have_spool = true;
  free(s->spool_dir);
  s->spool_dir = s->moving_to;
  s->moving_to = NULL;
  log_info("store: the spool is now in %s", s->spool_dir);
  /* Not fsynced, on the loop's thread: the next start writes them again,
   * so only a crash of the machine and an upgrade before any restart
   * could miss them. */
  if (store_scripts_remember(s, s->spool_dir, s->spool.size > 0, false, why,
                             sizeof(why)) < 0)
    log_warn("store: the scripts beside the spool: %s", why);
  if (!s->spool.scanned &&
      spool_scan_start(&s->spool, s->loop, store_spool_scanned) < 0) {
    char *warning = NULL;
    spool_scan_now(&s->spool, &warning);
    store_spool_scanned(&s->spool, warning);
    free(warning);
  }
}

void store_spool_scanned(struct spool *sp, const char *warning) {
  struct store *s = container_of(sp, struct store, spool);
  if (warning)
    log_warn("store: spool %s: %s", sp->path, warning);
  if (sp->records) {
    log_info("store: %llu write(s) from an earlier run are in the spool and "
             "go first",
             (unsigned long long)sp->records);
    /* Older than anything queued meanwhile: every waiter waits for them
     * too. */
    s->enqueued += sp->records;
    for (size_t i = 0; i < s->nwaiters; i++)
      s->waiters[i].target += sp->records;
  }
  if (!s->closing)
    store_pump(s);
}

/* Leaves the spool holding exactly what is not in Redis yet, oldest
 * first: what memory holds, then the unread rest; records already
 * replayed are dropped, so that the next start does not send them
 * again. */
void store_save_for_next_start(struct store *s) {
  struct strbuf front = {0}, rec = {0};
  size_t n = s->qlen;
  int rc = 0;
  if (!s->have_spool) {
    if (n)
      log_error("store: %zu unwritten write(s) lost (no spool)", n);
    return;
  }
  /* While the scan runs, memory holds nothing (everything goes behind
   * it), and nothing has been replayed. */
  if (!s->spool.scanned)
    return;
  for (size_t i = 0; i < n; i++) {
    store_op_serialise(store_q_at(s, i), &rec);
    spool_frame(&front, rec.buf, rec.len);
  }
  if (!n && !spool_pending(&s->spool))
    rc = s->spool.size ? spool_reset(&s->spool) : 0;
  else if (n || s->spool.read_off)
    rc = spool_rewrite_with_front(&s->spool, &front);
  if (rc == 0 && n)
    log_info("store: %zu unwritten write(s) saved to the spool", n);
  else if (rc < 0 && n)
    log_error("store: cannot save %zu unwritten write(s) to the spool (%s): "
              "they are lost",
              n, strerror(-rc));
  strbuf_free(&front);
  strbuf_free(&rec);
}
