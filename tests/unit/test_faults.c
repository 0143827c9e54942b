/* Regressions of the review's faults (issue 17) at unit level: UTF-8 cuts
 * and repairs, a notification with a title of 200 CJK characters (jansson
 * returned NULL), files that are not regular (a FIFO blocked open()), the
 * endpoint's request reader (HTTP/0.9, garbage, folding). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alerts_private.h"
#include "file.h"
#include "request.h"
#include "testutil.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

static void utf8_cuts(void **state) {
  char buf[16];
  char *s;
  (void)state;
  /* "很" is 3 bytes: 7 bytes of "很很很" end inside the third */
  assert_int_equal(utf8_prefix("很很很", 9, 7), 6);
  assert_int_equal(utf8_prefix("很很很", 9, 9), 9);
  assert_int_equal(utf8_prefix("abc", 3, 2), 2);
  /* what snprintf(buf, 8, ...) leaves of "很很很" */
  memcpy(buf, "很很很", 7);
  buf[7] = '\0';
  utf8_trim_partial(buf);
  assert_string_equal(buf, "很很");
  strcpy(buf, "ab\xE5");
  utf8_trim_partial(buf);
  assert_string_equal(buf, "ab");
  strcpy(buf, "µg/m³");
  utf8_trim_partial(buf);
  assert_string_equal(buf, "µg/m³");
  assert_true(utf8_valid("指标 ok", strlen("指标 ok")));
  assert_false(utf8_valid("\xE5\x88", 2));
  assert_false(utf8_valid("\xC0\xAF", 2));         /* overlong */
  assert_false(utf8_valid("\xED\xA0\x80", 3));     /* a surrogate */
  assert_false(utf8_valid("\xF4\x90\x80\x80", 4)); /* beyond U+10FFFF */
  s = utf8_repair("a\xE5\x88z");
  assert_string_equal(s, "a\xEF\xBF\xBD\xEF\xBF\xBDz");
  free(s);
  s = utf8_repair("很好");
  assert_string_equal(s, "很好");
  free(s);
}

/* The crash loop: a title of 200 × "很" (600 bytes) made a message that
 * jansson refused (NULL), and persist() then crashed on strlen(NULL). */
static void long_cjk_title(void **state) {
  struct strbuf yaml = {0}, title = {0};
  struct config *cfg;
  struct store store;
  struct targets tg;
  struct alerts al;
  uv_loop_t loop;
  char err[200];
  (void)state;
  for (int i = 0; i < 200; i++)
    strbuf_adds(&title, "很");
  strbuf_addf(&yaml,
              "timezone: Asia/Shanghai\n"
              "redis: {url: 'redis://127.0.0.1:1/0'}\n"
              "feeds:\n"
              "  - {id: f, url: 'http://127.0.0.1/x', series: {s: $.v}}\n"
              "targets:\n"
              "  - {id: t, title: '%s', series: s, rule: 'latest >= 1', "
              "period: 2026}\n"
              "receivers:\n"
              "  - {id: r, type: webhook, url: 'https://h/1'}\n",
              title.buf);
  cfg = test_config(yaml.buf);
  assert_non_null(cfg);
  uv_loop_init(&loop);
  assert_int_equal(store_init(&store, &loop, cfg, false, err, sizeof(err)), 0);
  targets_init(&tg, &loop, &store, cfg, false);
  assert_int_equal(alerts_init(&al, &loop, &store, &tg, cfg, false), 0);
  tg.states[0].st.cls = CLASS_OFF_TRACK;
  /* A message cut by snprintf in the middle of a character, too. */
  memset(tg.states[0].message, 0, sizeof(tg.states[0].message));
  strcpy(tg.states[0].message, "进度\xE5\x88");
  alerts_on_eval(&al, &cfg->targets[0], &tg.states[0], CLASS_ON_TRACK, true,
                 true, INT64_C(1795800000000));
  assert_int_equal(al.n, 1);
  {
    struct alert_msg am;
    struct receiver_request req = {0};
    alerts_msg_view(al.items[0]->msg, &am);
    assert_non_null(strstr(am.title, title.buf)); /* whole */
    assert_string_equal(am.text, "进度\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_int_equal(
        cfg->receivers[0].type->build(&cfg->receivers[0], &am, 0, &req), 0);
    assert_non_null(req.body);
    free(req.url);
    free(req.body);
  }
  /* The outbox write was queued (a NULL there crashed). */
  assert_true(store_queue_depth(&store) >= 1);
  alerts_close(&al, NULL);
  targets_close(&tg, NULL);
  store_close(&store, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  config_free(cfg);
  strbuf_free(&yaml);
  strbuf_free(&title);
}

static void files_not_regular(void **state) {
  char dir[] = "/tmp/indicatord-files-XXXXXX";
  char path[128];
  struct strbuf sb = {0};
  const char *kind = NULL;
  FILE *f;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/fifo", dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  /* No writer: a plain open() would block here for good. */
  assert_int_equal(file_read(path, 100, &sb, &kind), -ENOTSUP);
  assert_string_equal(kind, "a FIFO");
  assert_int_equal(file_check(path, &kind), -ENOTSUP);
  unlink(path);
  assert_int_equal(file_read(dir, 100, &sb, &kind), -ENOTSUP);
  assert_string_equal(kind, "a directory");
  assert_int_equal(file_read("/dev/null", 100, &sb, &kind), -ENOTSUP);
  assert_string_equal(kind, "a character device");
  snprintf(path, sizeof(path), "%s/regular", dir);
  f = fopen(path, "w");
  fputs("secret\n", f);
  fclose(f);
  assert_int_equal(file_read(path, 100, &sb, &kind), 0);
  assert_string_equal(sb.buf, "secret\n");
  assert_int_equal(file_read(path, 3, &sb, &kind), -EFBIG);
  assert_int_equal(file_read("/nonexistent/x", 3, &sb, &kind), -ENOENT);
  unlink(path);
  rmdir(dir);
  strbuf_free(&sb);
}

static void request_heads(void **state) {
  static const struct {
    const char *text;
    long rc; /* > 0: the head's length */
    const char *method, *path;
  } cases[] = {
      {"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 34, "GET", "/metrics"},
      {"HEAD /healthz?probe=1 HTTP/1.0\r\n\r\n", 34, "HEAD", "/healthz"},
      {"GET /status HTTP/1.1\nX: y\n\n", 27, "GET", "/status"},
      {"GET /metrics HTTP/1.1\r\nHost: x\r\n", 0, NULL, NULL},
      {"GET /metr", 0, NULL, NULL},
      {"GET /\r\n", -EINVAL, NULL, NULL},              /* HTTP/0.9 */
      {"GET / HTTP/2.0\r\n\r\n", -EINVAL, NULL, NULL}, /* not ours */
      {"\x16\x03\x01\x02", -EINVAL, NULL, NULL},       /* TLS to a plain port */
      {"garbage\r\n\r\n", -EINVAL, NULL, NULL},
      {"GET / HTTP/1.1\r\n folded\r\n\r\n", -EINVAL, NULL, NULL},
      {"GET http://h/ HTTP/1.1\r\n\r\n", -EINVAL, NULL, NULL},
      {"GET / HTTP/1.1\r\nNo colon\r\n\r\n", -EINVAL, NULL, NULL},
      {"G\x01T / HTTP/1.1\r\n\r\n", -EINVAL, NULL, NULL},
  };
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct request rq;
    long rc = request_parse(cases[i].text, strlen(cases[i].text), &rq);
    if (rc != cases[i].rc)
      fprintf(stderr, "case %zu: %ld, want %ld\n", i, rc, cases[i].rc);
    assert_int_equal(rc, cases[i].rc);
    if (rc > 0) {
      assert_string_equal(rq.method, cases[i].method);
      assert_string_equal(rq.path, cases[i].path);
    }
  }
  {
    struct strbuf long_path = {0};
    struct request rq;
    strbuf_adds(&long_path, "GET /");
    for (int i = 0; i < REQUEST_PATH_MAX; i++)
      strbuf_adds(&long_path, "a");
    strbuf_adds(&long_path, " HTTP/1.1\r\n\r\n");
    assert_int_equal(request_parse(long_path.buf, long_path.len, &rq),
                     -ENAMETOOLONG);
    strbuf_free(&long_path);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(utf8_cuts),
      cmocka_unit_test(long_cjk_title),
      cmocka_unit_test(files_not_regular),
      cmocka_unit_test(request_heads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
