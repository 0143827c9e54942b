/* Prometheus Alertmanager: POST /api/v2/alerts with a JSON array holding
 * one alert per notification. Its labels (alertname, target, incident; see
 * webhook_labels) stay the same for the whole incident, so that the alert
 * opened is the alert updated and the alert resolved: a class change
 * updates the annotations (class, severity) of the same alert instead of
 * starting another. A firing alert ends in the future (it is re-sent well
 * before), a resolved one ends now. */
#include "receiver.h"

#include "util.h"

#include <jansson.h>
#include <string.h>

json_t *webhook_labels(const struct alert_msg *m);
json_t *webhook_annotations(const struct alert_msg *m);

static int build(const struct receiver *r, const struct alert_msg *m,
                 int64_t now_ms, struct receiver_request *out) {
  const char *base = r->url;
  size_t blen = strlen(base);
  /* Digests and tests are not incidents: a short-lived alert of their
   * own. */
  bool firing = m->target[0] ? m->firing : true;
  char starts[32], ends[32];
  json_t *arr = NULL, *labels = webhook_labels(m),
         *ann = webhook_annotations(m);
  char *url;
  int rc;
  receiver_rfc3339(m->starts_ms, starts, sizeof(starts));
  receiver_rfc3339(firing ? m->ends_ms : now_ms, ends, sizeof(ends));
  if (labels && ann)
    arr = json_pack("[{s:O, s:O, s:s, s:s, s:s}]", "labels", labels,
                    "annotations", ann, "startsAt", starts, "endsAt", ends,
                    "generatorURL", m->link ? m->link : "");
  json_decref(labels);
  json_decref(ann);
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
