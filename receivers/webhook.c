/* Generic webhook: the Alertmanager webhook v4 JSON body, so anything that
 * accepts Alertmanager's webhooks accepts ours. Any 2xx is success. */
#include "receiver.h"

#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Labels: the identity of the alert, the same from the incident's opening
 * to its resolve (Alertmanager identifies an alert by its label set, and
 * so does the fingerprint here): a class or a severity that changes
 * within the incident would make each change a different alert, and the
 * end of one would not end the other. Class and severity go to the
 * annotations. Digests and tests are their own short-lived alert. */
json_t *webhook_labels(const struct alert_msg *m);
json_t *webhook_labels(const struct alert_msg *m) {
  if (!m->target[0])
    return json_pack("{s:s, s:s, s:s}", "alertname", "IndicatorNotice",
                     "target", "indicatord", "incident", m->id);
  return json_pack("{s:s, s:s, s:s}", "alertname", "IndicatorTarget", "target",
                   m->target, "incident", m->incident);
}

/* What the labels leave out: the class and severity of the moment. */
json_t *webhook_annotations(const struct alert_msg *m);
json_t *webhook_annotations(const struct alert_msg *m) {
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "summary", m->title,
                   "description", m->text, "class", m->cls, "previous_class",
                   m->prev_cls, "severity", m->severity, "notification", m->id);
}

/* FNV-1a over the sorted label pairs, as a 16-digit hex fingerprint. */
void webhook_fingerprint(json_t *labels, char out[17]);
void webhook_fingerprint(json_t *labels, char out[17]) {
  const char *keys[16];
  size_t n = 0;
  const char *k;
  json_t *v;
  uint64_t h = 1469598103934665603ull;
  json_object_foreach(labels, k, v) {
    if (n < 16)
      keys[n++] = k;
  }
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
      const char *t = keys[j];
      keys[j] = keys[j - 1];
      keys[j - 1] = t;
    }
  for (size_t i = 0; i < n; i++) {
    const char *parts[2] = {
        keys[i], json_string_value(json_object_get(labels, keys[i]))};
    for (int p = 0; p < 2; p++) {
      for (const char *c = parts[p] ? parts[p] : ""; *c; c++) {
        h ^= (unsigned char)*c;
        h *= 1099511628211ull;
      }
      h ^= 0xff;
      h *= 1099511628211ull;
    }
  }
  snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static int build(const struct receiver *r, const struct alert_msg *m,
                 int64_t now_ms, struct receiver_request *out) {
  char starts[32], ends[32], fp[17];
  json_t *labels = webhook_labels(m);
  json_t *ann = webhook_annotations(m);
  json_t *alert, *o = NULL;
  const char *status = m->firing ? "firing" : "resolved";
  (void)now_ms;
  if (!labels || !ann)
    goto out;
  receiver_rfc3339(m->starts_ms, starts, sizeof(starts));
  receiver_rfc3339(m->ends_ms, ends, sizeof(ends));
  webhook_fingerprint(labels, fp);
  alert = json_pack("{s:s, s:O, s:O, s:s, s:s, s:s, s:s}", "status", status,
                    "labels", labels, "annotations", ann, "startsAt", starts,
                    "endsAt", m->firing ? "0001-01-01T00:00:00Z" : ends,
                    "generatorURL", m->link ? m->link : "", "fingerprint", fp);
  o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:{s:s}, s:O, s:{}, s:s, s:s, "
                "s:[o]}",
                "version", "4", "groupKey",
                m->incident[0] ? m->incident : m->id, "truncatedAlerts", 0,
                "status", status, "receiver", r->id, "groupLabels", "target",
                m->target[0] ? m->target : "indicatord", "commonLabels", labels,
                "commonAnnotations", "externalURL", m->link ? m->link : "",
                "notification_reason", m->kind, "alerts", alert);
out:
  json_decref(labels);
  json_decref(ann);
  /* NULL (a string jansson refused) makes this fail with -ENOMEM. */
  return receiver_request_json(out, r->url, o);
}

const struct receiver_ops webhook_ops = {
    .name = "webhook",
    .max_text = 60000,
    .max_in_bytes = true,
    .build = build,
    .judge = receiver_judge_status,
};
