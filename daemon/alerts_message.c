/* Composing notifications: who receives a target's (notify: routing), the
 * title and text of each kind, the daily digest, and the notification as
 * stored in the outbox (JSON) and as providers read it (struct
 * alert_msg). */
#include "alerts_private.h"

#include "log.h"
#include "tz.h"
#include "utf8.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *alerts_label_zh(enum eval_class c) {
  static const char *const zh[EVAL_NCLASSES] = {
      "待定", "无数据", "已完成", "正常", "有风险", "滞后", "未完成"};
  return zh[c];
}

static const char *severity(enum eval_class c) {
  if (c == CLASS_OFF_TRACK || c == CLASS_MISSED)
    return "critical";
  if (alerts_bad(c))
    return "warning";
  return "info";
}

static bool routed_anywhere(const struct config *cfg, const char *rid) {
  for (size_t i = 0; i < cfg->ntargets; i++)
    for (size_t j = 0; j < cfg->targets[i].nnotify; j++)
      if (strcmp(cfg->targets[i].notify[j], rid) == 0)
        return true;
  return false;
}

/* Receivers named in the target's notify:, plus those no target names. */
bool alerts_receives(const struct config *cfg, const struct receiver *r,
                     const struct target *t) {
  if (!t)
    return true;
  for (size_t j = 0; j < t->nnotify; j++)
    if (strcmp(t->notify[j], r->id) == 0)
      return true;
  return !routed_anywhere(cfg, r->id);
}

json_t *alerts_make_msg(struct alerts *al, const char *id, const char *kind,
                        const struct target *t, const struct target_state *ts,
                        const char *title, const char *text, int64_t now) {
  /* The class of the moment; the incident's identity (its id) does not
   * depend on it (webhook_labels). prev_cls: the class the incident was
   * last notified with, when this one differs. */
  enum eval_class c = ts ? ts->st.cls : CLASS_PENDING;
  const char *cls = ts ? eval_class_name(c) : kind;
  const char *prev =
      ts && ts->inc.cls != ts->st.cls ? eval_class_name(ts->inc.cls) : "";
  /* jansson refuses a string that is not valid UTF-8 (a cut in the middle
   * of a character): repaired copies, so that no notification is lost to
   * a NULL. */
  char *title_ok = utf8_repair(title), *text_ok = utf8_repair(text);
  json_t *m = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I}", "id", id,
      "incident", ts ? ts->inc.id : "", "kind", kind, "target", t ? t->id : "",
      "title", title_ok, "text", text_ok, "cls", cls, "prev_cls", prev,
      "severity", ts ? severity(c) : "info", "firing",
      ts ? (int)(alerts_bad(ts->st.cls) && ts->inc.id[0]) : 0, "starts_ms",
      (json_int_t)(ts && ts->inc.opened_ms ? ts->inc.opened_ms : now),
      "ends_ms", (json_int_t)(now + AM_ENDS_AFTER_MS));
  free(title_ok);
  free(text_ok);
  if (m && al->cfg->alerts.dashboard_url)
    json_object_set_new(m, "link", json_string(al->cfg->alerts.dashboard_url));
  return m;
}

/* Queues one notification to every receiver routed for t. */
void alerts_notify(struct alerts *al, const char *kind, const struct target *t,
                   struct target_state *ts, int64_t now) {
  const char *kw = al->cfg->alerts.keyword;
  char *id, *title;
  size_t lost = 0;
  if (!al->cfg->nreceivers)
    return;
  id = xasprintf("%s:%s:%lld", ts->inc.id[0] ? ts->inc.id : t->id, kind,
                 (long long)now);
  /* Whole, however long: each provider cuts to its own limit on a
   * character boundary (receiver_truncate). */
  if (strcmp(kind, "resolved") == 0)
    title = xasprintf("%s%s: 已恢复 %s (resolved)", kw, t->title,
                      alerts_label_zh(ts->st.cls));
  else
    title = xasprintf("%s%s: %s (%s)%s", kw, t->title,
                      alerts_label_zh(ts->st.cls), eval_class_name(ts->st.cls),
                      strcmp(kind, "reminder") == 0 ? " [提醒 reminder]" : "");
  for (size_t i = 0; i < al->cfg->nreceivers; i++) {
    const struct receiver *r = &al->cfg->receivers[i];
    json_t *msg;
    char *key;
    if (!alerts_receives(al->cfg, r, t))
      continue;
    msg = alerts_make_msg(al, id, kind, t, ts, title, ts->message, now);
    if (!msg) {
      lost++;
      continue;
    }
    key = xasprintf("%s@%s", id, r->id);
    alerts_outbox_add(al, key, r->id, msg, 0, true);
    free(key);
  }
  if (lost)
    log_error("alerts: cannot compose the %s notification for target %s "
              "(%zu receiver(s) not notified)",
              kind, t->id, lost);
  log_info("alerts: %s for target %s (%s)", kind, t->id,
           eval_class_name(ts->st.cls));
  free(id);
  free(title);
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

void alerts_digest(struct alerts *al, int64_t now) {
  struct civil c;
  int64_t today;
  char idbuf[64];
  char *title;
  if (al->cfg->alerts.digest_minute < 0 || !al->tg || !al->cfg->nreceivers)
    return;
  tz_ms_to_local(now, &c);
  today = tz_days_from_civil(c.year, c.month, c.day);
  if (today <= al->digest_day ||
      c.hour * 60 + c.min < al->cfg->alerts.digest_minute)
    return;
  /* After a start, targets are judged once their feeds answered (within
   * their timeouts): the day's digest waits for them rather than go out
   * without them. */
  for (size_t i = 0; i < al->tg->n; i++)
    if (targets_awaiting_feed(al->tg, i))
      return;
  al->digest_day = today;
  snprintf(idbuf, sizeof(idbuf), "digest-%04d-%02d-%02d", c.year, c.month,
           c.day);
  /* The digest and the day it was sent land together (a new leader does
   * not send the day's digest twice). */
  store_group_begin(al->store, NULL, NULL);
  title = xasprintf("%s每日进度 daily digest %04d-%02d-%02d",
                    al->cfg->alerts.keyword, c.year, c.month, c.day);
  for (size_t r = 0; r < al->cfg->nreceivers; r++) {
    const struct receiver *rc = &al->cfg->receivers[r];
    struct strbuf sb = {0};
    json_t *msg;
    char key[200];
    for (size_t i = 0; i < al->tg->n; i++) {
      const struct target *t = &al->tg->cfg->targets[i];
      const struct target_state *ts = &al->tg->states[i];
      char b[40];
      double fill;
      if (!alerts_receives(al->cfg, rc, t) || !ts->have_result)
        continue;
      fill = t->rule.measure == MEASURE_TOTAL && t->rule.value > 0
                 ? ts->res.actual / t->rule.value
                 : ts->res.pace;
      bar(isfinite(fill) ? fill : 0, b, sizeof(b));
      strbuf_addf(&sb, "%s %s %s (%s)\n", b, t->title,
                  alerts_label_zh(ts->st.cls), eval_class_name(ts->st.cls));
    }
    if (!sb.len) {
      strbuf_free(&sb);
      continue;
    }
    snprintf(key, sizeof(key), "%s@%s", idbuf, rc->id);
    msg = alerts_make_msg(al, idbuf, "digest", NULL, NULL, title, sb.buf, now);
    if (msg)
      alerts_outbox_add(al, key, rc->id, msg, 0, true);
    else
      log_error("alerts: cannot compose the daily digest for receiver %s",
                rc->id);
    strbuf_free(&sb);
  }
  free(title);
  {
    char *k = store_key(al->store, "alerts", NULL);
    char day[24];
    const char *argv[] = {"HSET", k, "digest_day", day};
    snprintf(day, sizeof(day), "%lld", (long long)today);
    store_command(al->store, 4, argv, NULL);
    free(k);
  }
  store_group_end(al->store);
  log_info("alerts: daily digest queued");
}

void alerts_msg_view(json_t *m, struct alert_msg *am) {
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
