/* WeCom (企业微信) group robot: msgtype text, at most 2,048 bytes; success
 * is {"errcode":0}. No signature: the key is in the URL. */
#include "receiver.h"

#include "clock.h"
#include "util.h"

#include <jansson.h>

static int build(const struct receiver *r, const struct alert_msg *m,
                 int64_t now_ms, struct receiver_request *out) {
  char *text = receiver_full_text(&wecom_ops, m);
  json_t *o =
      json_pack("{s:s, s:{s:s}}", "msgtype", "text", "text", "content", text);
  (void)now_ms;
  free(text);
  return receiver_request_json(out, r->url, o);
}

static enum receiver_verdict judge(long http, const char *body, size_t len,
                                   int64_t *retry_after_ms, char *why,
                                   size_t whylen) {
  /* 45009: over the frequency limit; -1: busy. */
  static const struct receiver_retry_code retry[] = {{45009, MS_PER_MINUTE},
                                                     {-1, 0}};
  return receiver_judge_code("wecom", "errcode", retry, 2, http, body, len,
                             retry_after_ms, why, whylen);
}

const struct receiver_ops wecom_ops = {
    .name = "wecom",
    .max_text = 2048,
    .max_in_bytes = true,
    .per_minute = 20,
    .build = build,
    .judge = judge,
};
