/* Slack incoming webhook: {"text": ...}; success is 200 with body "ok". */
#include "receiver.h"

#include "util.h"

#include <jansson.h>
#include <string.h>

static int build(const struct receiver *r, const struct alert_msg *m,
                 int64_t now_ms, struct receiver_request *out) {
  json_t *o = json_object();
  char *text = receiver_full_text(&slack_ops, m);
  (void)now_ms;
  json_object_set_new(o, "text", json_string(text));
  free(text);
  return receiver_request_json(out, r->url, o);
}

static enum receiver_verdict judge(long http, const char *body, size_t len,
                                   int64_t *retry_after_ms, char *why,
                                   size_t whylen) {
  enum receiver_verdict v =
      receiver_judge_http(http, retry_after_ms, why, whylen);
  if (v != RECEIVER_OK)
    return v;
  if (len == 2 && memcmp(body, "ok", 2) == 0)
    return RECEIVER_OK;
  snprintf(why, whylen, "unexpected answer %.*s", (int)(len < 60 ? len : 60),
           body);
  return RECEIVER_GIVE_UP;
}

const struct receiver_ops slack_ops = {
    .name = "slack",
    .max_text = 40000,
    .max_in_bytes = false,
    .per_second = 1,
    .build = build,
    .judge = judge,
};
