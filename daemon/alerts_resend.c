/* Alertmanager re-sends: firing alerts go again every RESEND_EVERY_MS with
 * endsAt AM_ENDS_AFTER_MS ahead, so that they stay active while the
 * incident is open and expire by themselves if indicatord stops. */
#include "alerts_private.h"

#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_resent(struct fetch_post *p, const struct fetch_result *res) {
  struct alerts *al = p->data;
  if (!res->ok)
    log_debug("alerts: Alertmanager re-send failed: %s", res->error);
  fetch_post_cancel(p);
  al->nresends--;
}

/* Firing alerts are re-sent so that Alertmanager never resolves them by
 * timeout while the incident is open. */
void alerts_resend_firing(struct alerts *al, int64_t now) {
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
      char *title;
      json_error_t e;
      json_t *m, *one;
      if (!ts->inc.id[0] || !ts->inc.notified || !alerts_bad(ts->st.cls) ||
          !alerts_receives(al->cfg, rc, t))
        continue;
      title =
          xasprintf("%s%s: %s (%s)", al->cfg->alerts.keyword, t->title,
                    alerts_label_zh(ts->st.cls), eval_class_name(ts->st.cls));
      m = alerts_make_msg(al, ts->inc.id, "resend", t, ts, title, ts->message,
                          now);
      free(title);
      if (!m)
        continue;
      alerts_msg_view(m, &am);
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
      if (body && fetch_post_start(&al->resends[0], &al->eng, url, hdr, body,
                                   rc->timeout_ms, on_resent, al) == 0)
        al->nresends = 1;
      free(url);
      free(body);
    }
    json_decref(arr);
    break; /* one Alertmanager re-send in flight at a time */
  }
}
