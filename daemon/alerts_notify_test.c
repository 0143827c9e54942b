/* `indicatord notify-test RECEIVER`: one test message through a receiver,
 * on a private loop, and the provider's verdict. */
#include "alerts.h"

#include "clock.h"
#include "receiver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_ctx {
  const struct receiver *r;
  int rc;
  struct fetch_engine eng;
  struct fetch_post post;
};

static void on_test_done(struct fetch_post *p, const struct fetch_result *res) {
  struct test_ctx *tc = p->data;
  const struct receiver_ops *ops = tc->r->type;
  int64_t ra = res->retry_after_ms;
  char why[200] = "";
  enum receiver_verdict v = !res->http_code && !res->ok
                                ? RECEIVER_RETRY
                                : ops->judge(res->http_code, res->body,
                                             res->len, &ra, why, sizeof(why));
  if (v == RECEIVER_OK) {
    printf("notify-test %s (%s): delivered (HTTP %ld)\n", tc->r->id, ops->name,
           res->http_code);
    tc->rc = 0;
  } else {
    printf("notify-test %s (%s): %s: %s\n", tc->r->id, ops->name,
           v == RECEIVER_RETRY ? "failed, would retry" : "refused",
           why[0] ? why : res->error);
    tc->rc = 1;
  }
  fetch_post_cancel(p);
  fetch_engine_close(&tc->eng, NULL);
}

int alerts_notify_test(const struct config *cfg, const struct receiver *r) {
  uv_loop_t loop;
  struct test_ctx tc;
  struct receiver_request req = {0};
  struct alert_msg m;
  char *title;
  const struct receiver_ops *ops = r->type;
  static const char *const hdr[] = {
      "Content-Type: application/json; charset=utf-8", NULL};
  int64_t now = clock_wall_ms();
  char id[64];
  memset(&tc, 0, sizeof(tc));
  tc.r = r;
  tc.rc = 1;
  snprintf(id, sizeof(id), "test-%lld", (long long)now);
  title =
      xasprintf("%s测试消息 test message from indicatord", cfg->alerts.keyword);
  memset(&m, 0, sizeof(m));
  m.id = id;
  m.incident = "";
  m.kind = "test";
  m.target = "";
  m.title = title;
  m.text = "If you can read this, the receiver works. 收到即表示配置正确。";
  m.cls = "test";
  m.prev_cls = "";
  m.severity = "info";
  m.firing = true;
  m.starts_ms = now;
  m.ends_ms = now + 5 * MS_PER_MINUTE;
  m.link = cfg->alerts.dashboard_url;
  if (uv_loop_init(&loop) < 0 || fetch_engine_init(&tc.eng, &loop) < 0) {
    fprintf(stderr, "indicatord: cannot start the HTTP engine\n");
    return 1;
  }
  if (ops->build(r, &m, now, &req) < 0 ||
      fetch_post_start(&tc.post, &tc.eng, req.url, hdr, req.body, r->timeout_ms,
                       on_test_done, &tc) < 0) {
    fprintf(stderr, "indicatord: cannot send through %s\n", r->id);
    fetch_engine_close(&tc.eng, NULL);
  }
  free(req.url);
  free(req.body);
  free(title);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0)
    tc.rc = 1;
  return tc.rc;
}
