/* Prometheus Alertmanager: POST /api/v2/alerts with a JSON array of alerts.
 * Labels alertname, target, class, severity; a firing alert ends in the
 * future (it is re-sent well before), a resolved one ends now. When an
 * incident changes class, the old class's alert is resolved in the same
 * request. */
#include "receiver.h"

#include "util.h"

#include <jansson.h>
#include <string.h>

json_t *webhook_labels(const struct alert_msg *m, const char *cls);

static json_t *alert(const struct alert_msg *m, const char *cls, bool firing,
                     int64_t now_ms) {
  char starts[32], ends[32];
  receiver_rfc3339(m->starts_ms, starts, sizeof(starts));
  receiver_rfc3339(firing ? m->ends_ms : now_ms, ends, sizeof(ends));
  return json_pack("{s:o, s:{s:s, s:s, s:s}, s:s, s:s, s:s}", "labels",
                   webhook_labels(m, cls), "annotations", "summary", m->title,
                   "description", m->text, "incident", m->incident, "startsAt",
                   starts, "endsAt", ends, "generatorURL",
                   m->link ? m->link : "");
}

static int build(const struct receiver *r, const struct alert_msg *m,
                 int64_t now_ms, struct receiver_request *out) {
  json_t *arr = json_array();
  const char *base = r->url;
  size_t blen = strlen(base);
  char *url;
  int rc;
  if (!m->target[0]) {
    /* Digests and tests are not alerts: a short-lived info alert. */
    struct alert_msg copy = *m;
    copy.target = "indicatord";
    copy.severity = "info";
    json_array_append_new(arr, alert(&copy, m->kind, true, now_ms));
  } else {
    json_array_append_new(arr, alert(m, m->cls, m->firing, now_ms));
    if (m->prev_cls && m->prev_cls[0] && strcmp(m->prev_cls, m->cls) != 0)
      json_array_append_new(arr, alert(m, m->prev_cls, false, now_ms));
  }
  while (blen && base[blen - 1] == '/')
    blen--;
  url = xasprintf("%.*s/api/v2/alerts", (int)blen, base);
  rc = receiver_request_json(out, url, arr);
  free(url);
  return rc;
}

const struct receiver_ops alertmanager_ops = {
    .name = "alertmanager",
    .max_text = 60000,
    .max_in_bytes = true,
    .resends_firing = true,
    .build = build,
    .judge = receiver_judge_status,
};
