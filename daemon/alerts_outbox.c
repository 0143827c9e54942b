/* The durable outbox (ind:outbox): every notification is written there
 * before it is sent and leaves only when its receiver accepted it.
 * Delivery: one request per receiver at a time, the provider's rate
 * limits, several waiting notifications batched into one message,
 * retries with exponential backoff and jitter (Retry-After honoured). */
#include "alerts_private.h"

#include "clock.h"
#include "log.h"
#include "rng.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ATTEMPTS 60
#define BACKOFF_MAX_MS (10 * MS_PER_MINUTE)
#define BATCH_AT 3 /* due items for one rate-limited receiver */

static struct alerts_receiver *receiver_state(struct alerts *al,
                                              const char *rid) {
  for (size_t i = 0; i < al->cfg->nreceivers; i++)
    if (strcmp(al->cfg->receivers[i].id, rid) == 0)
      return &al->receivers[i];
  return NULL;
}

static char *outbox_key(struct alerts *al) {
  return store_key(al->store, "outbox", NULL);
}

static void persist(struct alerts *al, struct outbox_item *it) {
  char *key = outbox_key(al);
  json_t *rec = json_pack("{s:s, s:O, s:i}", "receiver", it->receiver_id, "msg",
                          it->msg, "attempts", it->attempts);
  char *val = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
  if (val) {
    const char *argv[] = {"HSET", key, it->key, val};
    store_command(al->store, 4, argv, NULL);
  } else {
    /* Delivered from memory all the same; only a restart would forget
     * it. */
    log_error("alerts: cannot save %s to the outbox (not serialisable)",
              it->key);
  }
  free(val);
  json_decref(rec);
  free(key);
}

static void unpersist(struct alerts *al, struct outbox_item *it) {
  char *key = outbox_key(al);
  const char *argv[] = {"HDEL", key, it->key};
  store_command(al->store, 3, argv, NULL);
  free(key);
}

void alerts_item_free(struct outbox_item *it) {
  json_decref(it->msg);
  free(it->key);
  free(it->receiver_id);
  free(it->batch);
  free(it);
}

static bool have_key(struct alerts *al, const char *key) {
  for (size_t i = 0; i < al->n; i++)
    if (strcmp(al->items[i]->key, key) == 0)
      return true;
  return false;
}

void alerts_outbox_add(struct alerts *al, const char *key, const char *rid,
                       json_t *msg, int attempts, bool save) {
  struct outbox_item *it;
  if (have_key(al, key)) {
    json_decref(msg);
    return;
  }
  it = xcalloc(1, sizeof(*it));
  it->al = al;
  it->key = xstrdup(key);
  it->receiver_id = xstrdup(rid);
  it->msg = msg;
  it->attempts = attempts;
  it->next_ms = 0;
  if (save && al->wait_durable)
    it->seq = ++al->saved_seq;
  xgrow((void **)&al->items, &al->cap, al->n + 1, sizeof(*al->items));
  al->items[al->n++] = it;
  if (save)
    persist(al, it);
}

static void remove_item(struct alerts *al, struct outbox_item *it) {
  for (size_t i = 0; i < al->n; i++)
    if (al->items[i] == it) {
      al->items[i] = al->items[--al->n];
      break;
    }
  alerts_item_free(it);
}

static const struct receiver *receiver_of(const struct alerts *al,
                                          const char *rid) {
  return config_receiver(al->cfg, rid);
}

static bool rate_allows(const struct receiver_ops *ops,
                        struct alerts_receiver *st, int64_t now) {
  size_t in_sec = 0, in_min = 0;
  for (size_t i = 0; i < st->nsent; i++) {
    if (now - st->sent_ms[i] < MS_PER_SECOND)
      in_sec++;
    if (now - st->sent_ms[i] < MS_PER_MINUTE)
      in_min++;
  }
  if (ops->per_second > 0 && (double)in_sec >= ops->per_second)
    return false;
  if (ops->per_minute > 0 && (double)in_min >= ops->per_minute)
    return false;
  return true;
}

static void note_send(struct alerts_receiver *st, int64_t now) {
  size_t keep = 0;
  for (size_t i = 0; i < st->nsent; i++)
    if (now - st->sent_ms[i] < MS_PER_MINUTE)
      st->sent_ms[keep++] = st->sent_ms[i];
  st->nsent = keep;
  if (st->nsent < sizeof(st->sent_ms) / sizeof(st->sent_ms[0]))
    st->sent_ms[st->nsent++] = now;
}

static void event(struct alerts *al, const struct alert_msg *m,
                  const char *what, const char *rid) {
  char *key = store_key(al->store, "events", NULL);
  char *line = xasprintf("%s %s via %s", what, m->kind, rid);
  const char *argv[] = {"XADD", key,  "*",  "target",  m->target, "from",
                        "",     "to", what, "message", line};
  store_command(al->store, 11, argv, NULL);
  free(line);
  free(key);
}

static void finish_item(struct alerts *al, struct outbox_item *it,
                        const char *what) {
  struct alert_msg am;
  alerts_msg_view(it->msg, &am);
  event(al, &am, what, it->receiver_id);
  unpersist(al, it);
  remove_item(al, it);
}

static void on_delivered(struct fetch_post *p, const struct fetch_result *res) {
  struct outbox_item *it = p->data;
  struct alerts *al = it->al;
  const struct receiver *r = receiver_of(al, it->receiver_id);
  struct alerts_receiver *st = receiver_state(al, it->receiver_id);
  const struct receiver_ops *ops = r ? r->type : NULL;
  enum receiver_verdict v;
  int64_t retry_after = res->retry_after_ms;
  char why[200] = "";
  int64_t now = clock_wall_ms();
  if (!res->http_code && !res->ok) {
    snprintf(why, sizeof(why), "%.190s", res->error);
    v = RECEIVER_RETRY;
  } else {
    v = ops ? ops->judge(res->http_code, res->body, res->len, &retry_after, why,
                         sizeof(why))
            : RECEIVER_GIVE_UP;
  }
  fetch_post_cancel(p);
  it->inflight = false;
  if (v == RECEIVER_OK) {
    if (st)
      st->stats.delivered += 1 + it->nbatch;
    log_debug("alerts: %s accepted %s", it->receiver_id, it->key);
    for (size_t i = 0; i < it->nbatch; i++)
      finish_item(al, it->batch[i], "notified");
    finish_item(al, it, "notified");
    return;
  }
  it->attempts++;
  for (size_t i = 0; i < it->nbatch; i++)
    it->batch[i]->inflight = false;
  if (v == RECEIVER_RETRY && it->attempts < MAX_ATTEMPTS && !al->closing) {
    int64_t backoff = MS_PER_SECOND;
    for (int i = 1; i < it->attempts && backoff < BACKOFF_MAX_MS; i++)
      backoff *= 2;
    if (backoff > BACKOFF_MAX_MS)
      backoff = BACKOFF_MAX_MS;
    backoff += rng_next(&al->rng) % (uint32_t)(backoff / 5 + 1);
    if (retry_after > backoff)
      backoff = retry_after;
    it->next_ms = now + backoff;
    for (size_t i = 0; i < it->nbatch; i++)
      it->batch[i]->next_ms = it->next_ms;
    if (st)
      st->stats.retries++;
    log_warn("alerts: receiver %s: %s; retrying in %lld s", it->receiver_id,
             why, (long long)(backoff / MS_PER_SECOND));
    free(it->batch);
    it->batch = NULL;
    it->nbatch = 0;
    return;
  }
  if (al->closing && v == RECEIVER_RETRY) {
    free(it->batch);
    it->batch = NULL;
    it->nbatch = 0;
    return; /* stays in the outbox for the next start */
  }
  if (st)
    st->stats.failed += 1 + it->nbatch;
  log_error("alerts: receiver %s refused %s: %s; giving up", it->receiver_id,
            it->key, why);
  for (size_t i = 0; i < it->nbatch; i++)
    finish_item(al, it->batch[i], "gave_up");
  finish_item(al, it, "gave_up");
}

static void send_item(struct alerts *al, struct outbox_item *it,
                      const struct receiver *r, int64_t now) {
  const struct receiver_ops *ops = r->type;
  struct receiver_request req = {0};
  struct alert_msg am;
  struct strbuf combined = {0};
  char *title = NULL;
  static const char *const hdr[] = {
      "Content-Type: application/json; charset=utf-8", NULL};
  alerts_msg_view(it->msg, &am);
  log_debug("alerts: sending %s (attempt %d, %zu more in the batch)", it->key,
            it->attempts + 1, it->nbatch);
  if (it->nbatch) {
    /* Several waiting for a slow receiver: one message instead of a
     * backlog (nothing is dropped). */
    strbuf_addf(&combined, "%s\n%s\n", am.title, am.text);
    for (size_t i = 0; i < it->nbatch; i++) {
      struct alert_msg bm;
      alerts_msg_view(it->batch[i]->msg, &bm);
      strbuf_addf(&combined, "\n%s\n%s\n", bm.title, bm.text);
    }
    title = xasprintf("%s%zu 条通知 notifications", al->cfg->alerts.keyword,
                      it->nbatch + 1);
    am.title = title;
    am.text = combined.buf;
  }
  if (ops->build(r, &am, now, &req) < 0 ||
      fetch_post_start(&it->post, &al->eng, req.url, hdr, req.body,
                       r->timeout_ms, on_delivered, it) < 0) {
    it->next_ms = now + 5000;
    free(it->batch);
    it->batch = NULL;
    it->nbatch = 0;
  } else {
    it->inflight = true;
    for (size_t i = 0; i < it->nbatch; i++)
      it->batch[i]->inflight = true;
    note_send(receiver_state(al, r->id), now);
  }
  strbuf_free(&combined);
  free(title);
  free(req.url);
  free(req.body);
}

void alerts_deliver(struct alerts *al, int64_t now) {
  for (size_t r = 0; r < al->cfg->nreceivers; r++) {
    const struct receiver *rc = &al->cfg->receivers[r];
    const struct receiver_ops *ops = rc->type;
    struct alerts_receiver *st = &al->receivers[r];
    struct outbox_item *first = NULL;
    struct outbox_item **due = NULL;
    size_t ndue = 0;
    bool busy = false;
    for (size_t i = 0; i < al->n; i++) {
      struct outbox_item *it = al->items[i];
      if (strcmp(it->receiver_id, rc->id) != 0)
        continue;
      if (it->inflight)
        busy = true;
      else if (it->seq > al->durable_seq)
        continue; /* not in Redis yet */
      else if (it->next_ms <= now) {
        due = xrealloc(due, (ndue + 1) * sizeof(*due));
        due[ndue++] = it;
      }
    }
    /* One request per receiver at a time keeps the order and the limits. */
    if (!busy && ndue && rate_allows(ops, st, now)) {
      first = due[0];
      if (ops->per_minute > 0 && ndue >= BATCH_AT) {
        /* As many as fit in one message; the rest follow. */
        size_t room = ops->max_text, used = 64;
        struct alert_msg am;
        alerts_msg_view(first->msg, &am);
        used += strlen(am.title) + strlen(am.text) + 2;
        first->batch = xcalloc(ndue - 1, sizeof(*first->batch));
        for (size_t i = 1; i < ndue; i++) {
          size_t need;
          alerts_msg_view(due[i]->msg, &am);
          need = strlen(am.title) + strlen(am.text) + 3;
          if (used + need > room)
            break;
          used += need;
          first->batch[first->nbatch++] = due[i];
        }
      }
      send_item(al, first, rc, now);
    }
    free(due);
  }
  /* Items for receivers no longer configured. */
  for (size_t i = 0; i < al->n;) {
    if (!receiver_of(al, al->items[i]->receiver_id) &&
        !al->items[i]->inflight) {
      log_warn("alerts: receiver %s is gone; dropping %s",
               al->items[i]->receiver_id, al->items[i]->key);
      unpersist(al, al->items[i]);
      remove_item(al, al->items[i]);
      continue;
    }
    i++;
  }
}

/* ---- loading the outbox after a restart ---- */

static void on_outbox_loaded(void *data, redisReply *reply) {
  struct alerts *al = data;
  al->loading = false;
  if (!reply || reply->type != REDIS_REPLY_ARRAY ||
      al->loading_generation != al->generation)
    return;
  for (size_t i = 0; i + 1 < reply->elements; i += 2) {
    json_error_t e;
    json_t *rec = json_loads(reply->element[i + 1]->str, 0, &e);
    json_t *msg = rec ? json_object_get(rec, "msg") : NULL;
    const char *rid =
        rec ? json_string_value(json_object_get(rec, "receiver")) : NULL;
    if (msg && rid)
      alerts_outbox_add(
          al, reply->element[i]->str, rid, json_incref(msg),
          (int)json_integer_value(json_object_get(rec, "attempts")), false);
    json_decref(rec);
  }
  if (reply->elements)
    log_info("alerts: %zu notification(s) from the outbox to deliver",
             reply->elements / 2);
  al->loaded = true;
}

static void on_digest_day(void *data, redisReply *reply) {
  struct alerts *al = data;
  if (reply && reply->type == REDIS_REPLY_STRING)
    al->digest_day = strtoll(reply->str, NULL, 10);
}

static void on_caught_up(void *data, bool ok) {
  struct alerts *al = data;
  char *key, *ak;
  al->loading = false;
  if (!ok || al->closing || al->loading_generation != al->generation)
    return;
  key = outbox_key(al);
  ak = store_key(al->store, "alerts", NULL);
  {
    const char *a1[] = {"HGETALL", key};
    const char *a2[] = {"HGET", ak, "digest_day"};
    if (store_read(al->store, 2, a2, NULL, on_digest_day, al) == 0 &&
        store_read(al->store, 2, a1, NULL, on_outbox_loaded, al) == 0)
      al->loading = true;
  }
  free(key);
  free(ak);
}

void alerts_load(struct alerts *al) {
  /* Notifications queued during an outage reach ind:outbox through the
   * spool, replayed first after a restart: read it once the store has
   * caught up, or they would wait for the next start. */
  al->loading = true;
  al->loading_generation = al->generation;
  store_flush(al->store, on_caught_up, al);
}
