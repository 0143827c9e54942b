/* Telegram Bot API sendMessage (the url is .../bot<token>/sendMessage):
 * plain text; success is {"ok":true}; 429 carries retry_after. */
#include "receiver.h"

#include "util.h"

#include <jansson.h>
#include <stdlib.h>

static int build(const struct receiver *r, const struct alert_msg *m,
                 int64_t now_ms, struct receiver_request *out) {
  char *text = receiver_full_text(&telegram_ops, m);
  json_t *o = json_pack("{s:s, s:s, s:{s:b}}", "chat_id", r->chat_id, "text",
                        text, "link_preview_options", "is_disabled", 1);
  (void)now_ms;
  free(text);
  return receiver_request_json(out, r->url, o);
}

static enum receiver_verdict judge(long http, const char *body, size_t len,
                                   int64_t *retry_after_ms, char *why,
                                   size_t whylen) {
  json_error_t e;
  json_t *root = json_loadb(body, len, 0, &e);
  enum receiver_verdict v;
  if (root && json_is_true(json_object_get(root, "ok")) && http == 200) {
    json_decref(root);
    return RECEIVER_OK;
  }
  if (root) {
    json_t *ra =
        json_object_get(json_object_get(root, "parameters"), "retry_after");
    if (json_is_integer(ra))
      *retry_after_ms = json_integer_value(ra) * 1000;
    json_decref(root);
  }
  v = receiver_judge_http(http, retry_after_ms, why, whylen);
  return v == RECEIVER_OK ? RECEIVER_RETRY : v;
}

const struct receiver_ops telegram_ops = {
    .name = "telegram",
    .max_text = 4096,
    .max_in_bytes = false,
    .per_second = 1,
    .per_minute = 20,
    .needs_chat_id = true,
    .build = build,
    .judge = judge,
};
