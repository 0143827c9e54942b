/* Discord webhook: {"content": ...}; 204 or 200 is success. */
#include "receiver.h"

#include "util.h"

#include <jansson.h>

static int build(const struct receiver *r, const struct alert_msg *m,
                 int64_t now_ms, struct receiver_request *out) {
  json_t *o = json_object();
  char *text = receiver_full_text(&discord_ops, m);
  (void)now_ms;
  json_object_set_new(o, "content", json_string(text));
  /* No @everyone surprises from target titles. */
  json_object_set_new(o, "allowed_mentions", json_pack("{s:[]}", "parse"));
  free(text);
  return receiver_request_json(out, r->url, o);
}

const struct receiver_ops discord_ops = {
    .name = "discord",
    .max_text = 2000,
    .max_in_bytes = false,
    .per_second = 1,
    .build = build,
    .judge = receiver_judge_status,
};
