/* Receivers: the reference's signature test vectors, truncation on UTF-8
 * boundaries, every provider's body shape and verdicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "receiver.h"
#include "sign.h"
#include "testutil.h"

#include <jansson.h>

static void signatures(void **state) {
  char *s;
  (void)state;
  /* webhooks.md A.12 */
  s = sign_dingtalk("SECexample0123456789", INT64_C(1700000000000));
  assert_string_equal(s, "figG6qqCA%2FlRh0hsGCW2zNtNV5znkAFut5BI0zKhqnQ%3D");
  free(s);
  s = sign_feishu("test-secret", 1599360473);
  assert_string_equal(s, "wSds2BzzFIIGf/WrhUO+NI1q/9j+FRJd3JNHKAq0NZY=");
  assert_string_not_equal(s, "bwOSU6XMEexAHKuyN31krxa2lbNEg4trOnn0f+E2pPs=");
  free(s);
  {
    char b64[64];
    const char *sts = "1700000000000\nSECexample0123456789";
    sign_hmac_b64("SECexample0123456789", 20, sts, strlen(sts), b64);
    assert_string_equal(b64, "figG6qqCA/lRh0hsGCW2zNtNV5znkAFut5BI0zKhqnQ=");
  }
}

static void truncation(void **state) {
  char *s;
  (void)state;
  s = receiver_truncate("short", 100, true);
  assert_string_equal(s, "short");
  free(s);
  /* 10 CJK characters = 30 bytes; cut to 24 bytes: the mark takes 15
   * (… is 3 bytes), leaving 9 bytes = 3 whole characters. */
  s = receiver_truncate("指标告警指标告警指标", 24, true);
  assert_string_equal(s, "指标告…(truncated)");
  assert_true(strlen(s) <= 24);
  free(s);
  /* by characters: 10 characters, limit 14: no cut */
  s = receiver_truncate("指标告警指标告警指标", 14, false);
  assert_string_equal(s, "指标告警指标告警指标");
  free(s);
  s = receiver_truncate("指标告警指标告警指标", 9, false);
  assert_string_equal(s, "…(truncated)");
  free(s);
  {
    /* never splits a sequence */
    struct strbuf sb = {0};
    for (int i = 0; i < 1000; i++)
      strbuf_adds(&sb, "进度");
    s = receiver_truncate(sb.buf, 2048, true);
    assert_true(strlen(s) <= 2048);
    assert_int_equal(extract_utf8_invalid_at(s, strlen(s)), -1);
    free(s);
    strbuf_free(&sb);
  }
}

static struct config *cfg_with(const char *receivers) {
  char *yaml = xasprintf("feeds: []\nreceivers:\n%s", receivers);
  struct config *c = test_config(yaml);
  free(yaml);
  assert_non_null(c);
  return c;
}

static struct alert_msg msg(void) {
  struct alert_msg m = {"n1",
                        "jobs-2026-1",
                        "open",
                        "jobs-2026",
                        "【指标告警】城镇新增就业: 滞后",
                        "412,000 so far",
                        "off_track",
                        "",
                        "critical",
                        true,
                        INT64_C(1795800000000),
                        INT64_C(1795856400000) + 240000,
                        NULL};
  return m;
}

static json_t *build(const struct config *c, size_t i, int64_t now,
                     char **url) {
  const struct receiver *r = &c->receivers[i];
  struct receiver_request req = {0};
  struct alert_msg m = msg();
  json_error_t e;
  json_t *j;
  assert_int_equal(r->type->build(r, &m, now, &req), 0);
  j = json_loads(req.body, 0, &e);
  assert_non_null(j);
  *url = req.url;
  free(req.body);
  return j;
}

static void bodies(void **state) {
  struct config *c = cfg_with(
      "  - {id: d, type: dingtalk, url: 'https://h/robot/send?access_token=T', "
      "secret: SECexample0123456789}\n"
      "  - {id: f, type: feishu, url: 'https://h/hook/x', secret: "
      "test-secret}\n"
      "  - {id: s, type: slack, url: 'https://h/services/x'}\n"
      "  - {id: w, type: wecom, url: 'https://h/send?key=k'}\n"
      "  - {id: t, type: telegram, url: 'https://h/botX/sendMessage', chat_id: "
      "'-100'}\n"
      "  - {id: a, type: alertmanager, url: 'http://127.0.0.1:9093/'}\n"
      "  - {id: g, type: webhook, url: 'http://h/hook'}\n"
      "  - {id: m, type: teams, url: 'https://h/wf'}\n"
      "  - {id: c, type: discord, url: 'https://h/webhooks/1/t'}\n");
  char *url;
  json_t *j;
  (void)state;
  j = build(c, 0, INT64_C(1700000000000), &url);
  assert_string_equal(url, "https://h/robot/send?access_token=T&timestamp="
                           "1700000000000&sign=figG6qqCA%2FlRh0hsGCW2zNtNV5znk"
                           "AFut5BI0zKhqnQ%3D");
  assert_string_equal(json_string_value(json_object_get(j, "msgtype")), "text");
  assert_non_null(strstr(
      json_string_value(json_object_get(json_object_get(j, "text"), "content")),
      "【指标告警】"));
  json_decref(j);
  free(url);
  j = build(c, 1, INT64_C(1599360473000), &url);
  assert_string_equal(json_string_value(json_object_get(j, "timestamp")),
                      "1599360473");
  assert_string_equal(json_string_value(json_object_get(j, "sign")),
                      "wSds2BzzFIIGf/WrhUO+NI1q/9j+FRJd3JNHKAq0NZY=");
  assert_string_equal(json_string_value(json_object_get(j, "msg_type")),
                      "text");
  json_decref(j);
  free(url);
  j = build(c, 2, 0, &url);
  assert_non_null(json_object_get(j, "text"));
  json_decref(j);
  free(url);
  j = build(c, 3, 0, &url);
  assert_string_equal(json_string_value(json_object_get(j, "msgtype")), "text");
  json_decref(j);
  free(url);
  j = build(c, 4, 0, &url);
  assert_string_equal(json_string_value(json_object_get(j, "chat_id")), "-100");
  json_decref(j);
  free(url);
  j = build(c, 5, INT64_C(1795856400000), &url);
  assert_string_equal(url, "http://127.0.0.1:9093/api/v2/alerts");
  assert_true(json_is_array(j));
  {
    json_t *l = json_object_get(json_array_get(j, 0), "labels");
    assert_string_equal(json_string_value(json_object_get(l, "alertname")),
                        "IndicatorTarget");
    assert_string_equal(json_string_value(json_object_get(l, "target")),
                        "jobs-2026");
    json_t *a = json_object_get(json_array_get(j, 0), "annotations");
    /* The identity of the incident, not its class of the moment. */
    assert_null(json_object_get(l, "class"));
    assert_null(json_object_get(l, "severity"));
    assert_non_null(json_string_value(json_object_get(l, "incident")));
    assert_string_equal(json_string_value(json_object_get(a, "class")),
                        "off_track");
    assert_string_equal(json_string_value(json_object_get(a, "severity")),
                        "critical");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(j, 0), "endsAt")),
        "2026-11-28T09:04:00Z");
  }
  json_decref(j);
  free(url);
  j = build(c, 6, 0, &url);
  assert_string_equal(json_string_value(json_object_get(j, "version")), "4");
  assert_string_equal(json_string_value(json_object_get(j, "status")),
                      "firing");
  assert_int_equal(
      strlen(json_string_value(json_object_get(
          json_array_get(json_object_get(j, "alerts"), 0), "fingerprint"))),
      16);
  json_decref(j);
  free(url);
  j = build(c, 7, 0, &url);
  assert_string_equal(json_string_value(json_object_get(j, "type")), "message");
  assert_string_equal(
      json_string_value(json_object_get(
          json_array_get(json_object_get(j, "attachments"), 0), "contentType")),
      "application/vnd.microsoft.card.adaptive");
  json_decref(j);
  free(url);
  j = build(c, 8, 0, &url);
  assert_non_null(json_object_get(j, "content"));
  json_decref(j);
  free(url);
  config_free(c);
}

struct verdict_case {
  const struct receiver_ops *ops;
  long http;
  const char *body;
  enum receiver_verdict want;
  int64_t min_retry_ms;
};

static void verdicts(void **state) {
  const struct verdict_case cases[] = {
      {&dingtalk_ops, 200, "{\"errcode\":0,\"errmsg\":\"ok\"}", RECEIVER_OK, 0},
      {&dingtalk_ops, 200, "{\"errcode\":130101,\"errmsg\":\"send too fast\"}",
       RECEIVER_RETRY, 600000},
      {&dingtalk_ops, 200, "{\"errcode\":310000,\"errmsg\":\"sign not match\"}",
       RECEIVER_GIVE_UP, 0},
      {&dingtalk_ops, 500, "", RECEIVER_RETRY, 0},
      {&feishu_ops, 200, "{\"code\":0,\"msg\":\"success\"}", RECEIVER_OK, 0},
      {&feishu_ops, 200, "{\"code\":11232,\"msg\":\"limited\"}", RECEIVER_RETRY,
       60000},
      {&feishu_ops, 200, "{\"code\":19024,\"msg\":\"Key Words Not Found\"}",
       RECEIVER_GIVE_UP, 0},
      {&wecom_ops, 200, "{\"errcode\":45009}", RECEIVER_RETRY, 60000},
      {&wecom_ops, 200, "{\"errcode\":93000}", RECEIVER_GIVE_UP, 0},
      {&slack_ops, 200, "ok", RECEIVER_OK, 0},
      {&slack_ops, 404, "channel_not_found", RECEIVER_GIVE_UP, 0},
      {&slack_ops, 429, "", RECEIVER_RETRY, 1},
      {&telegram_ops, 200, "{\"ok\":true,\"result\":{}}", RECEIVER_OK, 0},
      {&telegram_ops, 429,
       "{\"ok\":false,\"error_code\":429,\"parameters\":{\"retry_after\":5}}",
       RECEIVER_RETRY, 5000},
      {&telegram_ops, 403, "{\"ok\":false,\"error_code\":403}",
       RECEIVER_GIVE_UP, 0},
      {&alertmanager_ops, 200, "", RECEIVER_OK, 0},
      {&alertmanager_ops, 400, "bad alert", RECEIVER_GIVE_UP, 0},
      {&webhook_ops, 503, "", RECEIVER_RETRY, 0},
  };
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    int64_t ra = 0;
    char why[200] = "";
    enum receiver_verdict v =
        cases[i].ops->judge(cases[i].http, cases[i].body, strlen(cases[i].body),
                            &ra, why, sizeof(why));
    if (v != cases[i].want || ra < cases[i].min_retry_ms) {
      fprintf(stderr, "case %zu (%s %ld %s): verdict %d retry %lld\n", i,
              cases[i].ops->name, cases[i].http, cases[i].body, v,
              (long long)ra);
      fail();
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(signatures),
      cmocka_unit_test(truncation),
      cmocka_unit_test(bodies),
      cmocka_unit_test(verdicts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
