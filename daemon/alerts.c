#include "alerts.h"

#include "clock.h"
#include "log.h"
#include "receiver.h"
#include "timefmt.h"
#include "tz.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 500
#define RESEND_EVERY_MS                                                        \
  MS_PER_MINUTE /* Alertmanager: well inside resolve_timeout */
#define AM_ENDS_AFTER_MS (4 * RESEND_EVERY_MS)
#define MAX_ATTEMPTS 60
#define BACKOFF_MAX_MS (10 * MS_PER_MINUTE)
#define BATCH_AT 3 /* due items for one rate-limited receiver */
#define CLOSE_GRACE_MS 3000

static bool bad(enum eval_class c) {
  return c == CLASS_AT_RISK || c == CLASS_OFF_TRACK || c == CLASS_MISSED ||
         c == CLASS_NO_DATA;
}

static bool good(enum eval_class c) {
  return c == CLASS_ON_TRACK || c == CLASS_ACHIEVED;
}

static const char *label_zh(enum eval_class c) {
  static const char *const zh[EVAL_NCLASSES] = {
      "待定", "无数据", "已完成", "正常", "有风险", "滞后", "未完成"};
  return zh[c];
}

static const char *severity(enum eval_class c) {
  if (c == CLASS_OFF_TRACK || c == CLASS_MISSED)
    return "critical";
  if (bad(c))
    return "warning";
  return "info";
}

/* ---- routing ---- */

static bool routed_anywhere(const struct config *cfg, const char *rid) {
  for (size_t i = 0; i < cfg->ntargets; i++)
    for (size_t j = 0; j < cfg->targets[i].nnotify; j++)
      if (strcmp(cfg->targets[i].notify[j], rid) == 0)
        return true;
  return false;
}

/* Receivers named in the target's notify:, plus those no target names. */
static bool receives(const struct config *cfg, const struct receiver *r,
                     const struct target *t) {
  if (!t)
    return true;
  for (size_t j = 0; j < t->nnotify; j++)
    if (strcmp(t->notify[j], r->id) == 0)
      return true;
  return !routed_anywhere(cfg, r->id);
}

static struct receiver_stats *stats_of(struct alerts *al, const char *rid) {
  for (size_t i = 0; i < al->cfg->nreceivers; i++)
    if (strcmp(al->cfg->receivers[i].id, rid) == 0)
      return &al->stats[i];
  return NULL;
}

/* ---- the outbox ---- */

static char *outbox_key(struct alerts *al) {
  return store_key(al->store, "outbox", NULL);
}

static void persist(struct alerts *al, struct outbox_item *it) {
  char *key = outbox_key(al);
  json_t *rec = json_pack("{s:s, s:O, s:i}", "receiver", it->receiver_id, "msg",
                          it->msg, "attempts", it->attempts);
  char *val = json_dumps(rec, JSON_COMPACT);
  const char *argv[] = {"HSET", key, it->key, val};
  store_command(al->store, 4, argv, NULL);
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

static void item_free(struct outbox_item *it) {
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

static void add_item(struct alerts *al, const char *key, const char *rid,
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
  item_free(it);
}

static json_t *make_msg(struct alerts *al, const char *id, const char *kind,
                        const struct target *t, const struct target_state *ts,
                        const char *title, const char *text, int64_t now) {
  /* A resolve speaks of the class the incident was notified with, so that
   * Alertmanager resolves the alert it holds (class and severity are
   * labels). */
  bool resolved = strcmp(kind, "resolved") == 0;
  enum eval_class c = !ts ? CLASS_PENDING : resolved ? ts->inc.cls : ts->st.cls;
  const char *cls = ts ? eval_class_name(c) : kind;
  const char *prev = ts && !resolved && ts->inc.cls != ts->st.cls
                         ? eval_class_name(ts->inc.cls)
                         : "";
  json_t *m = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I}", "id", id,
      "incident", ts ? ts->inc.id : "", "kind", kind, "target", t ? t->id : "",
      "title", title, "text", text, "cls", cls, "prev_cls", prev, "severity",
      ts ? severity(c) : "info", "firing",
      ts ? (int)(bad(ts->st.cls) && ts->inc.id[0]) : 0, "starts_ms",
      (json_int_t)(ts && ts->inc.opened_ms ? ts->inc.opened_ms : now),
      "ends_ms", (json_int_t)(now + AM_ENDS_AFTER_MS));
  if (al->cfg->alerts.dashboard_url)
    json_object_set_new(m, "link", json_string(al->cfg->alerts.dashboard_url));
  return m;
}

/* Queues one notification to every receiver routed for t. */
static void notify(struct alerts *al, const char *kind, const struct target *t,
                   struct target_state *ts, int64_t now) {
  char id[160], title[600], text[1200];
  const char *kw = al->cfg->alerts.keyword;
  if (!al->cfg->nreceivers)
    return;
  snprintf(id, sizeof(id), "%s:%s:%lld", ts->inc.id[0] ? ts->inc.id : t->id,
           kind, (long long)now);
  if (strcmp(kind, "resolved") == 0)
    snprintf(title, sizeof(title), "%s%s: 已恢复 %s (resolved)", kw, t->title,
             label_zh(ts->st.cls));
  else
    snprintf(title, sizeof(title), "%s%s: %s (%s)%s", kw, t->title,
             label_zh(ts->st.cls), eval_class_name(ts->st.cls),
             strcmp(kind, "reminder") == 0 ? " [提醒 reminder]" : "");
  snprintf(text, sizeof(text), "%s", ts->message);
  for (size_t i = 0; i < al->cfg->nreceivers; i++) {
    const struct receiver *r = &al->cfg->receivers[i];
    char key[300];
    if (!receives(al->cfg, r, t))
      continue;
    snprintf(key, sizeof(key), "%s@%s", id, r->id);
    add_item(al, key, r->id, make_msg(al, id, kind, t, ts, title, text, now), 0,
             true);
  }
  log_info("alerts: %s for target %s (%s)", kind, t->id,
           eval_class_name(ts->st.cls));
}

void alerts_on_eval(void *data, const struct target *t, struct target_state *ts,
                    enum eval_class from, bool first, bool changed,
                    int64_t now_ms) {
  struct alerts *al = data;
  enum eval_class to = ts->st.cls;
  (void)from;
  if (!changed && !first)
    return;
  if (bad(to)) {
    if (!ts->inc.id[0]) {
      snprintf(ts->inc.id, sizeof(ts->inc.id), "%s-%lld", t->id,
               (long long)now_ms);
      ts->inc.opened_ms = now_ms;
      ts->inc.cls = to;
      notify(al, "open", t, ts, now_ms);
    } else {
      notify(al, "update", t, ts, now_ms);
    }
    ts->inc.notified = true;
    ts->inc.last_notified_ms = now_ms;
    ts->inc.cls = to;
  } else if (good(to) && ts->inc.id[0]) {
    /* Resolved: said only when the opening was said. */
    if (ts->inc.notified)
      notify(al, "resolved", t, ts, now_ms);
    memset(&ts->inc, 0, sizeof(ts->inc));
  }
}

/* ---- reminders, digest, Alertmanager re-sends ---- */

static void save_incident(struct alerts *al, const struct target *t,
                          const struct target_state *ts) {
  char *key = store_key(al->store, "t", t->id);
  char when[40];
  timefmt_iso(ts->inc.last_notified_ms, when, sizeof(when));
  {
    const char *argv[] = {"HSET", key, "incident_notified_at", when};
    store_command(al->store, 4, argv, NULL);
  }
  free(key);
}

static void reminders(struct alerts *al, int64_t now) {
  struct targets *tg = al->tg;
  int64_t every = al->cfg->alerts.repeat_ms;
  if (!every || !tg)
    return;
  for (size_t i = 0; i < tg->n; i++) {
    struct target_state *ts = &tg->states[i];
    const struct target *t = &tg->cfg->targets[i];
    if (!ts->inc.id[0] || !ts->inc.notified || !bad(ts->st.cls))
      continue;
    if (now - ts->inc.last_notified_ms < every)
      continue;
    ts->inc.last_notified_ms = now;
    notify(al, "reminder", t, ts, now);
    save_incident(al, t, ts);
  }
}

static void bar(double fill, char *buf, size_t len) {
  int n = (int)lround((fill < 0 ? 0 : fill > 1 ? 1 : fill) * 10);
  char b[16];
  for (int i = 0; i < 10; i++)
    b[i] = i < n ? '#' : '.';
  b[10] = '\0';
  snprintf(buf, len, "[%s] %3.0f%%", b,
           (fill < 0   ? 0
            : fill > 1 ? 1
                       : fill) *
               100);
}

static void digest(struct alerts *al, int64_t now) {
  struct civil c;
  int64_t today;
  char idbuf[64], title[300];
  if (al->cfg->alerts.digest_minute < 0 || !al->tg || !al->cfg->nreceivers)
    return;
  tz_ms_to_local(now, &c);
  today = tz_days_from_civil(c.year, c.month, c.day);
  if (today <= al->digest_day ||
      c.hour * 60 + c.min < al->cfg->alerts.digest_minute)
    return;
  al->digest_day = today;
  snprintf(idbuf, sizeof(idbuf), "digest-%04d-%02d-%02d", c.year, c.month,
           c.day);
  snprintf(title, sizeof(title), "%s每日进度 daily digest %04d-%02d-%02d",
           al->cfg->alerts.keyword, c.year, c.month, c.day);
  for (size_t r = 0; r < al->cfg->nreceivers; r++) {
    const struct receiver *rc = &al->cfg->receivers[r];
    struct strbuf sb = {0};
    char key[200];
    for (size_t i = 0; i < al->tg->n; i++) {
      const struct target *t = &al->tg->cfg->targets[i];
      const struct target_state *ts = &al->tg->states[i];
      char b[40];
      double fill;
      if (!receives(al->cfg, rc, t) || !ts->have_result)
        continue;
      fill = t->rule.measure == MEASURE_TOTAL && t->rule.value > 0
                 ? ts->res.actual / t->rule.value
                 : ts->res.pace;
      bar(isfinite(fill) ? fill : 0, b, sizeof(b));
      strbuf_addf(&sb, "%s %s %s (%s)\n", b, t->title, label_zh(ts->st.cls),
                  eval_class_name(ts->st.cls));
    }
    if (!sb.len) {
      strbuf_free(&sb);
      continue;
    }
    snprintf(key, sizeof(key), "%s@%s", idbuf, rc->id);
    add_item(al, key, rc->id,
             make_msg(al, idbuf, "digest", NULL, NULL, title, sb.buf, now), 0,
             true);
    strbuf_free(&sb);
  }
  {
    char *k = store_key(al->store, "alerts", NULL);
    char day[24];
    const char *argv[] = {"HSET", k, "digest_day", day};
    snprintf(day, sizeof(day), "%lld", (long long)today);
    store_command(al->store, 4, argv, NULL);
    free(k);
  }
  log_info("alerts: daily digest queued");
}

static void on_resent(struct fetch_post *p, const struct fetch_result *res) {
  struct alerts *al = p->data;
  if (!res->ok)
    log_debug("alerts: Alertmanager re-send failed: %s", res->error);
  fetch_post_cancel(p);
  al->nresends--;
}

static void msg_view(json_t *m, struct alert_msg *am);

/* Firing alerts are re-sent so that Alertmanager never resolves them by
 * timeout while the incident is open. */
static void resend_firing(struct alerts *al, int64_t now) {
  if (!al->tg || now - al->last_resend_ms < RESEND_EVERY_MS || al->nresends)
    return;
  al->last_resend_ms = now;
  for (size_t r = 0; r < al->cfg->nreceivers; r++) {
    const struct receiver *rc = &al->cfg->receivers[r];
    static const char *const hdr[] = {"Content-Type: application/json", NULL};
    json_t *arr;
    char *url = NULL;
    if (!rc->type->resends_firing)
      continue;
    arr = json_array();
    for (size_t i = 0; i < al->tg->n; i++) {
      const struct target *t = &al->tg->cfg->targets[i];
      struct target_state *ts = &al->tg->states[i];
      struct receiver_request req = {0};
      struct alert_msg am;
      char title[600];
      json_error_t e;
      json_t *m, *one;
      if (!ts->inc.id[0] || !ts->inc.notified || !bad(ts->st.cls) ||
          !receives(al->cfg, rc, t))
        continue;
      snprintf(title, sizeof(title), "%s%s: %s (%s)", al->cfg->alerts.keyword,
               t->title, label_zh(ts->st.cls), eval_class_name(ts->st.cls));
      m = make_msg(al, ts->inc.id, "resend", t, ts, title, ts->message, now);
      msg_view(m, &am);
      am.prev_cls = ""; /* the current class only */
      if (rc->type->build(rc, &am, now, &req) == 0) {
        one = json_loads(req.body, 0, &e);
        if (one)
          json_array_extend(arr, one);
        json_decref(one);
        free(url);
        url = req.url;
        req.url = NULL;
      }
      free(req.url);
      free(req.body);
      json_decref(m);
    }
    if (url) {
      char *body = json_dumps(arr, JSON_COMPACT);
      al->resends = xrealloc(al->resends, sizeof(*al->resends));
      if (fetch_post_start(&al->resends[0], &al->eng, url, hdr, body,
                           rc->timeout_ms, on_resent, al) == 0)
        al->nresends = 1;
      free(url);
      free(body);
    }
    json_decref(arr);
    break; /* one Alertmanager re-send in flight at a time */
  }
}

/* ---- delivery ---- */

static const struct receiver *receiver_of(const struct alerts *al,
                                          const char *rid) {
  return config_receiver(al->cfg, rid);
}

static bool rate_allows(const struct receiver_ops *ops,
                        struct receiver_stats *st, int64_t now) {
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

static void note_send(struct receiver_stats *st, int64_t now) {
  size_t keep = 0;
  for (size_t i = 0; i < st->nsent; i++)
    if (now - st->sent_ms[i] < MS_PER_MINUTE)
      st->sent_ms[keep++] = st->sent_ms[i];
  st->nsent = keep;
  if (st->nsent < sizeof(st->sent_ms) / sizeof(st->sent_ms[0]))
    st->sent_ms[st->nsent++] = now;
}

static void msg_view(json_t *m, struct alert_msg *am) {
  memset(am, 0, sizeof(*am));
  am->id = json_string_value(json_object_get(m, "id"));
  am->incident = json_string_value(json_object_get(m, "incident"));
  am->kind = json_string_value(json_object_get(m, "kind"));
  am->target = json_string_value(json_object_get(m, "target"));
  am->title = json_string_value(json_object_get(m, "title"));
  am->text = json_string_value(json_object_get(m, "text"));
  am->cls = json_string_value(json_object_get(m, "cls"));
  am->prev_cls = json_string_value(json_object_get(m, "prev_cls"));
  am->severity = json_string_value(json_object_get(m, "severity"));
  am->firing = json_is_true(json_object_get(m, "firing"));
  am->starts_ms = json_integer_value(json_object_get(m, "starts_ms"));
  am->ends_ms = json_integer_value(json_object_get(m, "ends_ms"));
  am->link = json_string_value(json_object_get(m, "link"));
#define OR_EMPTY(f)                                                            \
  if (!am->f)                                                                  \
  am->f = ""
  OR_EMPTY(id);
  OR_EMPTY(incident);
  OR_EMPTY(kind);
  OR_EMPTY(target);
  OR_EMPTY(title);
  OR_EMPTY(text);
  OR_EMPTY(cls);
  OR_EMPTY(prev_cls);
  OR_EMPTY(severity);
#undef OR_EMPTY
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
  msg_view(it->msg, &am);
  event(al, &am, what, it->receiver_id);
  unpersist(al, it);
  remove_item(al, it);
}

static void on_delivered(struct fetch_post *p, const struct fetch_result *res) {
  struct outbox_item *it = p->data;
  struct alerts *al = it->al;
  const struct receiver *r = receiver_of(al, it->receiver_id);
  struct receiver_stats *st = stats_of(al, it->receiver_id);
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
      st->delivered += 1 + it->nbatch;
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
    backoff += rand() % (backoff / 5 + 1);
    if (retry_after > backoff)
      backoff = retry_after;
    it->next_ms = now + backoff;
    for (size_t i = 0; i < it->nbatch; i++)
      it->batch[i]->next_ms = it->next_ms;
    if (st)
      st->retries++;
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
    st->failed += 1 + it->nbatch;
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
  char title[300];
  static const char *const hdr[] = {
      "Content-Type: application/json; charset=utf-8", NULL};
  msg_view(it->msg, &am);
  log_debug("alerts: sending %s (attempt %d, %zu more in the batch)", it->key,
            it->attempts + 1, it->nbatch);
  if (it->nbatch) {
    /* Several waiting for a slow receiver: one message instead of a
     * backlog (nothing is dropped). */
    strbuf_addf(&combined, "%s\n%s\n", am.title, am.text);
    for (size_t i = 0; i < it->nbatch; i++) {
      struct alert_msg bm;
      msg_view(it->batch[i]->msg, &bm);
      strbuf_addf(&combined, "\n%s\n%s\n", bm.title, bm.text);
    }
    snprintf(title, sizeof(title), "%s%zu 条通知 notifications",
             al->cfg->alerts.keyword, it->nbatch + 1);
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
    note_send(stats_of(al, r->id), now);
  }
  strbuf_free(&combined);
  free(req.url);
  free(req.body);
}

static void deliver(struct alerts *al, int64_t now) {
  for (size_t r = 0; r < al->cfg->nreceivers; r++) {
    const struct receiver *rc = &al->cfg->receivers[r];
    const struct receiver_ops *ops = rc->type;
    struct receiver_stats *st = &al->stats[r];
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
        msg_view(first->msg, &am);
        used += strlen(am.title) + strlen(am.text) + 2;
        first->batch = xcalloc(ndue - 1, sizeof(*first->batch));
        for (size_t i = 1; i < ndue; i++) {
          size_t need;
          msg_view(due[i]->msg, &am);
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
  if (!reply || reply->type != REDIS_REPLY_ARRAY)
    return;
  for (size_t i = 0; i + 1 < reply->elements; i += 2) {
    json_error_t e;
    json_t *rec = json_loads(reply->element[i + 1]->str, 0, &e);
    json_t *msg = rec ? json_object_get(rec, "msg") : NULL;
    const char *rid =
        rec ? json_string_value(json_object_get(rec, "receiver")) : NULL;
    if (msg && rid)
      add_item(al, reply->element[i]->str, rid, json_incref(msg),
               (int)json_integer_value(json_object_get(rec, "attempts")),
               false);
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

static void load(struct alerts *al) {
  char *key = outbox_key(al);
  char *ak = store_key(al->store, "alerts", NULL);
  const char *a1[] = {"HGETALL", key};
  const char *a2[] = {"HGET", ak, "digest_day"};
  if (store_read(al->store, 2, a2, NULL, on_digest_day, al) == 0 &&
      store_read(al->store, 2, a1, NULL, on_outbox_loaded, al) == 0)
    al->loading = true;
  free(key);
  free(ak);
}

static void on_tick(uv_timer_t *t) {
  struct alerts *al = t->data;
  int64_t now = clock_wall_ms();
  if (!al->loaded) {
    if (!al->loading && store_is_up(al->store))
      load(al);
    return;
  }
  if (now - al->last_reminder_check_ms >= 10 * MS_PER_SECOND) {
    al->last_reminder_check_ms = now;
    reminders(al, now);
    digest(al, now);
  }
  resend_firing(al, now);
  deliver(al, now);
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
  al->stats = xcalloc(cfg->nreceivers + 1, sizeof(*al->stats));
  if (!deliver)
    return 0;
  rc = fetch_engine_init(&al->eng, loop);
  if (rc < 0) {
    free(al->stats);
    return rc;
  }
  uv_timer_init(loop, &al->timer);
  al->timer.data = al;
  uv_timer_start(&al->timer, on_tick, TICK_MS, TICK_MS);
  return 0;
}

void alerts_set_config(struct alerts *al, const struct config *cfg) {
  struct receiver_stats *old = al->stats;
  const struct config *oldcfg = al->cfg;
  al->stats = xcalloc(cfg->nreceivers + 1, sizeof(*al->stats));
  for (size_t i = 0; i < cfg->nreceivers; i++)
    for (size_t j = 0; j < oldcfg->nreceivers; j++)
      if (strcmp(cfg->receivers[i].id, oldcfg->receivers[j].id) == 0)
        al->stats[i] = old[j];
  free(old);
  al->cfg = cfg;
}

size_t alerts_outbox_depth(const struct alerts *al) {
  return al->n;
}

static void closed_one(uv_handle_t *h) {
  (void)h;
}

static void on_engine_closed(struct fetch_engine *e) {
  struct alerts *al = container_of(e, struct alerts, eng);
  for (size_t i = 0; i < al->n; i++)
    item_free(al->items[i]);
  free(al->items);
  al->items = NULL;
  al->n = 0;
  free(al->stats);
  al->stats = NULL;
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
  int64_t waited = (int64_t)uv_now(al->loop) - al->last_resend_ms;
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
      item_free(al->items[i]);
    free(al->items);
    al->items = NULL;
    al->n = 0;
    free(al->stats);
    al->stats = NULL;
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
  al->last_resend_ms = (int64_t)uv_now(al->loop);
  uv_timer_start(&al->timer, on_close_wait, 50, 50);
}

/* ---- notify-test ---- */

struct test_ctx {
  const struct receiver *r;
  int rc;
  struct fetch_engine eng;
  struct fetch_post post;
};

static void on_test_done(struct fetch_post *p, const struct fetch_result *res) {
  struct test_ctx *tc = p->data;
  const struct receiver_ops *ops = tc->r->type;
  int64_t ra = res->retry_after_ms;
  char why[200] = "";
  enum receiver_verdict v = !res->http_code && !res->ok
                                ? RECEIVER_RETRY
                                : ops->judge(res->http_code, res->body,
                                             res->len, &ra, why, sizeof(why));
  if (v == RECEIVER_OK) {
    printf("notify-test %s (%s): delivered (HTTP %ld)\n", tc->r->id, ops->name,
           res->http_code);
    tc->rc = 0;
  } else {
    printf("notify-test %s (%s): %s: %s\n", tc->r->id, ops->name,
           v == RECEIVER_RETRY ? "failed, would retry" : "refused",
           why[0] ? why : res->error);
    tc->rc = 1;
  }
  fetch_post_cancel(p);
  fetch_engine_close(&tc->eng, NULL);
}

int alerts_test(const struct config *cfg, const struct receiver *r) {
  uv_loop_t loop;
  struct test_ctx tc;
  struct receiver_request req = {0};
  struct alert_msg m;
  char title[300];
  const struct receiver_ops *ops = r->type;
  static const char *const hdr[] = {
      "Content-Type: application/json; charset=utf-8", NULL};
  int64_t now = clock_wall_ms();
  char id[64];
  memset(&tc, 0, sizeof(tc));
  tc.r = r;
  tc.rc = 1;
  snprintf(id, sizeof(id), "test-%lld", (long long)now);
  snprintf(title, sizeof(title), "%s测试消息 test message from indicatord",
           cfg->alerts.keyword);
  memset(&m, 0, sizeof(m));
  m.id = id;
  m.incident = "";
  m.kind = "test";
  m.target = "";
  m.title = title;
  m.text = "If you can read this, the receiver works. 收到即表示配置正确。";
  m.cls = "test";
  m.prev_cls = "";
  m.severity = "info";
  m.firing = true;
  m.starts_ms = now;
  m.ends_ms = now + 5 * MS_PER_MINUTE;
  m.link = cfg->alerts.dashboard_url;
  if (uv_loop_init(&loop) < 0 || fetch_engine_init(&tc.eng, &loop) < 0) {
    fprintf(stderr, "indicatord: cannot start the HTTP engine\n");
    return 1;
  }
  if (ops->build(r, &m, now, &req) < 0 ||
      fetch_post_start(&tc.post, &tc.eng, req.url, hdr, req.body, r->timeout_ms,
                       on_test_done, &tc) < 0) {
    fprintf(stderr, "indicatord: cannot send through %s\n", r->id);
    fetch_engine_close(&tc.eng, NULL);
  }
  free(req.url);
  free(req.body);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0)
    tc.rc = 1;
  return tc.rc;
}
