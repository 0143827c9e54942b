#include "receiver.h"

#include "clock.h"
#include "tz.h"
#include "util.h"

#include <jansson.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

const struct receiver_ops *const receiver_types[] = {
    &slack_ops, &discord_ops,  &teams_ops,   &feishu_ops,       &dingtalk_ops,
    &wecom_ops, &telegram_ops, &webhook_ops, &alertmanager_ops, NULL};

const struct receiver_ops *receiver_find(const char *name) {
  for (size_t i = 0; receiver_types[i]; i++)
    if (strcmp(receiver_types[i]->name, name) == 0)
      return receiver_types[i];
  return NULL;
}

static size_t seq_len(unsigned char c) {
  return c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
}

char *receiver_truncate(const char *text, size_t max, bool in_bytes) {
  static const char mark[] = "…(truncated)";
  const size_t mark_bytes = sizeof(mark) - 1, mark_chars = 12;
  size_t len = strlen(text), units = 0, cut = 0, i = 0;
  size_t budget;
  /* Count in the provider's unit. */
  for (i = 0; i < len; i += seq_len((unsigned char)text[i]))
    units++;
  if ((in_bytes ? len : units) <= max)
    return xstrdup(text);
  budget = max > (in_bytes ? mark_bytes : mark_chars)
               ? max - (in_bytes ? mark_bytes : mark_chars)
               : 0;
  units = 0;
  for (i = 0; i < len;) {
    size_t n = seq_len((unsigned char)text[i]);
    if (i + n > len || (in_bytes ? i + n : units + 1) > budget)
      break;
    i += n;
    units++;
    cut = i;
  }
  return xasprintf("%.*s%s", (int)cut, text, mark);
}

char *receiver_full_text(const struct receiver_ops *ops,
                         const struct alert_msg *m) {
  char *full = xasprintf("%s\n%s%s%s", m->title, m->text, m->link ? "\n" : "",
                         m->link ? m->link : "");
  char *cut = receiver_truncate(full, ops->max_text, ops->max_in_bytes);
  free(full);
  return cut;
}

void receiver_rfc3339(int64_t ms, char *buf, size_t len) {
  int y, mo, d;
  int64_t secs = ms / 1000, days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  tz_civil_from_days(days, &y, &mo, &d);
  snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d,
           (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}

enum receiver_verdict receiver_judge_http(long http, int64_t *retry_after_ms,
                                          char *why, size_t whylen) {
  if (http >= 200 && http < 300)
    return RECEIVER_OK;
  snprintf(why, whylen, "HTTP %ld", http);
  if (http == 429 || http >= 500 || http == 0) {
    if (http == 429 && *retry_after_ms <= 0)
      *retry_after_ms = MS_PER_MINUTE;
    return RECEIVER_RETRY;
  }
  return RECEIVER_GIVE_UP;
}

bool receiver_json_int(const char *body, size_t len, const char *field,
                       long long *out) {
  json_error_t e;
  json_t *root = json_loadb(body, len, 0, &e), *v;
  bool ok = false;
  if (!root)
    return false;
  v = json_object_get(root, field);
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    ok = true;
  }
  json_decref(root);
  return ok;
}

enum receiver_verdict
receiver_judge_code(const char *provider, const char *field,
                    const struct receiver_retry_code *retry, size_t nretry,
                    long http, const char *body, size_t len,
                    int64_t *retry_after_ms, char *why, size_t whylen) {
  long long code;
  enum receiver_verdict v =
      receiver_judge_http(http, retry_after_ms, why, whylen);
  if (v != RECEIVER_OK)
    return v;
  if (!receiver_json_int(body, len, field, &code)) {
    snprintf(why, whylen, "%s answer without %s", provider, field);
    return RECEIVER_RETRY;
  }
  if (code == 0)
    return RECEIVER_OK;
  snprintf(why, whylen, "%s %s %lld", provider, field, code);
  for (size_t i = 0; i < nretry; i++)
    if (retry[i].code == code) {
      if (*retry_after_ms < retry[i].wait_ms)
        *retry_after_ms = retry[i].wait_ms;
      return RECEIVER_RETRY;
    }
  return RECEIVER_GIVE_UP;
}

int receiver_request_json(struct receiver_request *out, const char *url,
                          json_t *body) {
  out->url = xstrdup(url);
  out->body = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  return out->body ? 0 : -ENOMEM;
}

enum receiver_verdict receiver_judge_status(long http, const char *body,
                                            size_t len, int64_t *retry_after_ms,
                                            char *why, size_t whylen) {
  (void)body;
  (void)len;
  return receiver_judge_http(http, retry_after_ms, why, whylen);
}
