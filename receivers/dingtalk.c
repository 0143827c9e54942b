/* DingTalk custom robot: msgtype text; signed with timestamp (ms) and the
 * URL-encoded sign in the query; success is {"errcode":0}. */
#include "receiver.h"

#include "clock.h"
#include "sign.h"
#include "util.h"

#include <jansson.h>
#include <string.h>

static int build(const struct receiver *r, const struct alert_msg *m,
                 int64_t now_ms, struct receiver_request *out) {
  json_t *o;
  char *text = receiver_full_text(&dingtalk_ops, m);
  char *url;
  int rc;
  o = json_pack("{s:s, s:{s:s}, s:{s:b}}", "msgtype", "text", "text", "content",
                text, "at", "isAtAll", 0);
  if (r->secret) {
    char *sig = sign_dingtalk(r->secret, now_ms);
    url = xasprintf("%s%stimestamp=%lld&sign=%s", r->url,
                    strchr(r->url, '?') ? "&" : "?", (long long)now_ms, sig);
    free(sig);
  } else {
    url = xstrdup(r->url);
  }
  free(text);
  rc = receiver_request_json(out, url, o);
  free(url);
  return rc;
}

static enum receiver_verdict judge(long http, const char *body, size_t len,
                                   int64_t *retry_after_ms, char *why,
                                   size_t whylen) {
  /* 130101 and 410100: throttled for 10 minutes; -1: busy. */
  static const struct receiver_retry_code retry[] = {
      {130101, 10 * MS_PER_MINUTE}, {410100, 10 * MS_PER_MINUTE}, {-1, 0}};
  return receiver_judge_code("dingtalk", "errcode", retry, 3, http, body, len,
                             retry_after_ms, why, whylen);
}

const struct receiver_ops dingtalk_ops = {
    .name = "dingtalk",
    .max_text = 4000,
    .max_in_bytes = true,
    .per_minute = 20,
    .takes_secret = true,
    .build = build,
    .judge = judge,
};
