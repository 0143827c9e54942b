/* Feishu / Lark custom bot: msg_type text; signed with timestamp (seconds)
 * and sign in the body; success is {"code":0}. */
#include "receiver.h"

#include "clock.h"
#include "sign.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>

static int build(const struct receiver *r, const struct alert_msg *m,
                 int64_t now_ms, struct receiver_request *out) {
  json_t *o = json_object();
  char *text = receiver_full_text(&feishu_ops, m);
  if (r->secret) {
    char ts[24];
    char *sig = sign_feishu(r->secret, now_ms / 1000);
    snprintf(ts, sizeof(ts), "%lld", (long long)(now_ms / 1000));
    json_object_set_new(o, "timestamp", json_string(ts));
    json_object_set_new(o, "sign", json_string(sig));
    free(sig);
  }
  json_object_set_new(o, "msg_type", json_string("text"));
  json_object_set_new(o, "content", json_pack("{s:s}", "text", text));
  free(text);
  return receiver_request_json(out, r->url, o);
}

static enum receiver_verdict judge(long http, const char *body, size_t len,
                                   int64_t *retry_after_ms, char *why,
                                   size_t whylen) {
  /* 11232 and 99991400: rate limited; 19021: a stale timestamp, which the
   * retry signs anew. */
  static const struct receiver_retry_code retry[] = {
      {11232, MS_PER_MINUTE}, {99991400, MS_PER_MINUTE}, {19021, 0}};
  return receiver_judge_code("feishu", "code", retry, 3, http, body, len,
                             retry_after_ms, why, whylen);
}

/* 20 KB per request body; the text keeps well inside it. */
const struct receiver_ops feishu_ops = {
    .name = "feishu",
    .max_text = 18000,
    .max_in_bytes = true,
    .per_second = 5,
    .per_minute = 100,
    .takes_secret = true,
    .build = build,
    .judge = judge,
};
