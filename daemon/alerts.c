#include "alerts.h"

#include "alerts_private.h"
#include "clock.h"
#include "rng.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define TICK_MS 500
#define CLOSE_GRACE_MS 3000

struct durable_req {
  struct alerts *al;
  uint64_t seq;
};

static void on_durable(void *data, bool ok) {
  struct durable_req *req = data;
  if (ok && req->seq > req->al->durable_seq)
    req->al->durable_seq = req->seq;
  free(req);
}

static void on_tick(uv_timer_t *t) {
  struct alerts *al = t->data;
  int64_t now = clock_wall_ms();
  if (al->follower)
    return;
  if (al->wait_durable && al->flush_asked < al->saved_seq) {
    struct durable_req *req = xmalloc(sizeof(*req));
    req->al = al;
    req->seq = al->flush_asked = al->saved_seq;
    store_flush(al->store, on_durable, req);
  }
  if (!al->loaded) {
    if (!al->loading && store_is_up(al->store))
      alerts_load(al);
    return;
  }
  if (now - al->last_reminder_check_ms >= 10 * MS_PER_SECOND) {
    al->last_reminder_check_ms = now;
    alerts_reminders(al, now);
    alerts_digest(al, now);
  }
  alerts_resend_firing(al, now);
  alerts_deliver(al, now);
}

int alerts_init(struct alerts *al, uv_loop_t *loop, struct store *store,
                struct targets *tg, const struct config *cfg, bool deliver) {
  int rc;
  memset(al, 0, sizeof(*al));
  al->loop = loop;
  al->store = store;
  al->tg = tg;
  al->cfg = cfg;
  al->deliver = deliver;
  al->wait_durable = cfg->cluster.on;
  al->rng = rng_seed();
  al->receivers = xcalloc(cfg->nreceivers + 1, sizeof(*al->receivers));
  if (!deliver)
    return 0;
  rc = fetch_engine_init(&al->eng, loop);
  if (rc < 0) {
    free(al->receivers);
    return rc;
  }
  /* Cannot fail: a timer init only records the loop. */
  uv_timer_init(loop, &al->timer);
  al->timer.data = al;
  uv_timer_start(&al->timer, on_tick, TICK_MS, TICK_MS);
  return 0;
}

void alerts_set_config(struct alerts *al, const struct config *cfg) {
  struct alerts_receiver *old = al->receivers;
  const struct config *oldcfg = al->cfg;
  al->receivers = xcalloc(cfg->nreceivers + 1, sizeof(*al->receivers));
  for (size_t i = 0; i < cfg->nreceivers; i++)
    for (size_t j = 0; j < oldcfg->nreceivers; j++)
      if (strcmp(cfg->receivers[i].id, oldcfg->receivers[j].id) == 0)
        al->receivers[i] = old[j];
  free(old);
  al->cfg = cfg;
}

void alerts_set_leader(struct alerts *al, bool leader) {
  al->follower = !leader;
  al->generation++;
  al->loaded = false;
  for (size_t i = 0; i < al->n;) {
    struct outbox_item *it = al->items[i];
    bool riding = false;
    for (size_t j = 0; j < al->n && !riding; j++)
      for (size_t k = 0; k < al->items[j]->nbatch; k++)
        riding = riding || al->items[j]->batch[k] == it;
    if (it->inflight || riding) {
      i++; /* its answer removes it from Redis, or leaves it there */
      continue;
    }
    al->items[i] = al->items[--al->n];
    alerts_item_free(it);
  }
}

size_t alerts_outbox_depth(const struct alerts *al) {
  return al->n;
}

const struct alerts_stats *alerts_stats(const struct alerts *al, size_t i) {
  return &al->receivers[i].stats;
}

static void closed_one(uv_handle_t *h) {
  (void)h;
}

static void on_engine_closed(struct fetch_engine *e) {
  struct alerts *al = container_of(e, struct alerts, eng);
  for (size_t i = 0; i < al->n; i++)
    alerts_item_free(al->items[i]);
  free(al->items);
  al->items = NULL;
  al->n = 0;
  free(al->receivers);
  al->receivers = NULL;
  free(al->resends);
  al->resends = NULL;
  if (al->on_closed)
    al->on_closed(al);
}

static bool any_inflight(const struct alerts *al) {
  for (size_t i = 0; i < al->n; i++)
    if (al->items[i]->inflight)
      return true;
  return al->nresends > 0;
}

static void really_close(struct alerts *al) {
  for (size_t i = 0; i < al->n; i++)
    if (al->items[i]->inflight) {
      fetch_post_cancel(&al->items[i]->post);
      al->items[i]->inflight = false;
    }
  if (al->nresends) {
    fetch_post_cancel(&al->resends[0]);
    al->nresends = 0;
  }
  uv_close((uv_handle_t *)&al->timer, closed_one);
  fetch_engine_close(&al->eng, on_engine_closed);
}

static void on_close_wait(uv_timer_t *t) {
  struct alerts *al = t->data;
  uint64_t waited = uv_now(al->loop) - al->close_started;
  if (!any_inflight(al) || waited >= CLOSE_GRACE_MS) {
    uv_timer_stop(t);
    really_close(al);
  }
}

void alerts_close(struct alerts *al, void (*on_closed)(struct alerts *al)) {
  al->closing = true;
  al->on_closed = on_closed;
  if (!al->deliver) {
    for (size_t i = 0; i < al->n; i++)
      alerts_item_free(al->items[i]);
    free(al->items);
    al->items = NULL;
    al->n = 0;
    free(al->receivers);
    al->receivers = NULL;
    if (on_closed)
      on_closed(al);
    return;
  }
  if (!any_inflight(al)) {
    uv_timer_stop(&al->timer);
    really_close(al);
    return;
  }
  /* Deliveries in flight get a moment to finish: a notification cut off
   * mid-request would be sent again at the next start. */
  al->close_started = uv_now(al->loop);
  uv_timer_start(&al->timer, on_close_wait, 50, 50);
}
