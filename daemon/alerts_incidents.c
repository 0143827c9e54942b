/* Incidents: a target opens one on entering a bad class and resolves it on
 * returning to on_track or achieved; notifications on opening, on a class
 * change within it, every alerts.repeat (reminders) and on the resolve. */
#include "alerts_private.h"

#include "log.h"
#include "timefmt.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool alerts_bad(enum eval_class c) {
  return c == CLASS_AT_RISK || c == CLASS_OFF_TRACK || c == CLASS_MISSED ||
         c == CLASS_NO_DATA;
}

bool alerts_good(enum eval_class c) {
  return c == CLASS_ON_TRACK || c == CLASS_ACHIEVED;
}

void alerts_on_eval(void *data, const struct target *t, struct target_state *ts,
                    enum eval_class from, bool first, bool changed,
                    int64_t now_ms) {
  struct alerts *al = data;
  enum eval_class to = ts->st.cls;
  (void)from;
  if (!changed && !first)
    return;
  if (alerts_bad(to)) {
    if (!ts->inc.id[0]) {
      snprintf(ts->inc.id, sizeof(ts->inc.id), "%s-%lld", t->id,
               (long long)now_ms);
      ts->inc.opened_ms = now_ms;
      ts->inc.cls = to;
      alerts_notify(al, "open", t, ts, now_ms);
    } else {
      alerts_notify(al, "update", t, ts, now_ms);
    }
    ts->inc.notified = true;
    ts->inc.last_notified_ms = now_ms;
    ts->inc.cls = to;
  } else if (alerts_good(to) && ts->inc.id[0]) {
    /* Resolved: said only when the opening was said. */
    if (ts->inc.notified)
      alerts_notify(al, "resolved", t, ts, now_ms);
    memset(&ts->inc, 0, sizeof(ts->inc));
  }
}

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

void alerts_reminders(struct alerts *al, int64_t now) {
  struct targets *tg = al->tg;
  int64_t every = al->cfg->alerts.repeat_ms;
  if (!every || !tg)
    return;
  for (size_t i = 0; i < tg->n; i++) {
    struct target_state *ts = &tg->states[i];
    const struct target *t = &tg->cfg->targets[i];
    if (!ts->inc.id[0] || !ts->inc.notified || !alerts_bad(ts->st.cls))
      continue;
    if (now - ts->inc.last_notified_ms < every)
      continue;
    ts->inc.last_notified_ms = now;
    store_group_begin(al->store, NULL, NULL);
    alerts_notify(al, "reminder", t, ts, now);
    save_incident(al, t, ts);
    store_group_end(al->store);
  }
}
