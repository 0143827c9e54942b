/* Microsoft Teams Workflows webhook: a message with an Adaptive Card. */
#include "receiver.h"

#include "util.h"

#include <jansson.h>

static int build(const struct receiver *r, const struct alert_msg *m,
                 int64_t now_ms, struct receiver_request *out) {
  char *text = receiver_truncate(m->text, teams_ops.max_text, true);
  json_t *body = json_array();
  json_t *card, *o;
  (void)now_ms;
  json_array_append_new(
      body, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "type", "TextBlock",
                      "text", m->title, "weight", "Bolder", "size", "Medium",
                      "wrap", 1, "color", m->firing ? "Attention" : "Good"));
  json_array_append_new(body, json_pack("{s:s, s:s, s:b}", "type", "TextBlock",
                                        "text", text, "wrap", 1));
  card = json_pack("{s:s, s:s, s:s, s:o, s:{s:s}}", "$schema",
                   "http://adaptivecards.io/schemas/adaptive-card.json", "type",
                   "AdaptiveCard", "version", "1.2", "body", body, "msteams",
                   "width", "Full");
  if (m->link)
    json_object_set_new(card, "actions",
                        json_pack("[{s:s, s:s, s:s}]", "type", "Action.OpenUrl",
                                  "title", "Dashboard", "url", m->link));
  o = json_pack("{s:s, s:[{s:s, s:n, s:o}]}", "type", "message", "attachments",
                "contentType", "application/vnd.microsoft.card.adaptive",
                "contentUrl", "content", card);
  free(text);
  return receiver_request_json(out, r->url, o);
}

const struct receiver_ops teams_ops = {
    .name = "teams",
    .max_text = 20000,
    .max_in_bytes = true,
    .per_second = 1,
    .build = build,
    .judge = receiver_judge_status,
};
