/* The plain-HTTP fast path's pieces: the response parser (framing, codings,
 * limits, errors with their byte offsets, the same answer whatever the read
 * sizes), the feed schedule heap on a real loop, and the client's deadlines
 * when the loop is held, against a server on the same loop. The client
 * against real servers is tests/integration/test_http1.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http1.h"
#include "response.h"
#include "schedule.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include <zlib.h>

struct parsed {
  int rc;
  struct response r;
  struct strbuf body;
  size_t used;
};

/* Feeds text in pieces of `step` bytes (0: all at once); stops at the end
 * of the response or at an error. */
static void parse(struct parsed *p, const char *text, size_t len, size_t step,
                  size_t max_body) {
  size_t pos = 0;
  memset(p, 0, sizeof(*p));
  response_init(&p->r, &p->body, max_body);
  p->rc = 0;
  while (pos < len && p->rc == 0) {
    size_t n = step && len - pos > step ? step : len - pos, used = 0;
    p->rc = response_feed(&p->r, text + pos, n, &used);
    pos += used;
  }
  p->used = pos;
}

static void done(struct parsed *p) {
  response_free(&p->r);
  strbuf_free(&p->body);
}

static const char *body_of(struct parsed *p) {
  return p->body.buf ? p->body.buf : "";
}

/* Every way of cutting the response into reads gives the same result. */
static void check_all_splits(const char *text, size_t len, int want_rc,
                             const char *want_body) {
  for (size_t step = 0; step <= len; step++) {
    struct parsed p;
    parse(&p, text, len, step, 1 << 20);
    assert_int_equal(p.rc, want_rc);
    if (want_body)
      assert_string_equal(body_of(&p), want_body);
    done(&p);
    if (step > 64)
      step += 7; /* long inputs: enough cut points, not all */
  }
}

static void test_content_length(void **state) {
  static const char t[] = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n"
                          "ETag: \"v1\"\r\nLast-Modified: Sat, 28 Nov 2026 "
                          "01:00:00 GMT\r\n\r\n{\"v\": 41}";
  struct parsed p;
  (void)state;
  check_all_splits(t, sizeof(t) - 1, 1, "{\"v\": 41}");
  parse(&p, t, sizeof(t) - 1, 0, 1024);
  assert_int_equal(p.r.status, 200);
  assert_true(p.r.keep_alive);
  assert_string_equal(p.r.etag, "\"v1\"");
  assert_string_equal(p.r.last_modified, "Sat, 28 Nov 2026 01:00:00 GMT");
  assert_int_equal(p.used, sizeof(t) - 1);
  done(&p);
}

static void test_chunked(void **state) {
  static const char t[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          "\r\n4;ext=1\r\n{\"v\"\r\nB\r\n: 41.5}   \n\r\n"
                          "0\r\nX-Trailer: t\r\n\r\n";
  (void)state;
  check_all_splits(t, sizeof(t) - 1, 1, "{\"v\": 41.5}   \n");
}

static void test_close_delimited(void **state) {
  static const char t[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                          " 93.5\n";
  struct parsed p;
  (void)state;
  parse(&p, t, sizeof(t) - 1, 3, 1024);
  assert_int_equal(p.rc, 0); /* the body runs until the peer closes */
  assert_false(p.r.keep_alive);
  assert_int_equal(response_eof(&p.r), 1);
  assert_string_equal(body_of(&p), " 93.5\n");
  done(&p);
}

static void test_keep_alive_rules(void **state) {
  static const char *const cases[][2] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "1"},
      {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
       "0"},
      {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", "0"},
      {"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
       "1"},
  };
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct parsed p;
    parse(&p, cases[i][0], strlen(cases[i][0]), 0, 1024);
    assert_int_equal(p.rc, 1);
    assert_int_equal(p.r.keep_alive, cases[i][1][0] == '1');
    done(&p);
  }
}

static void test_no_body_statuses(void **state) {
  /* A 304 may carry the Content-Length of the full answer: no body. */
  static const char t304[] = "HTTP/1.1 304 Not Modified\r\nContent-Length: "
                             "44\r\nETag: \"v1\"\r\n\r\nHTTP/1.1 200";
  static const char t100[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No "
                             "Content\r\n\r\n";
  struct parsed p;
  (void)state;
  parse(&p, t304, sizeof(t304) - 1, 0, 1024);
  assert_int_equal(p.rc, 1);
  assert_int_equal(p.r.status, 304);
  assert_int_equal(p.used, sizeof(t304) - 1 - strlen("HTTP/1.1 200"));
  done(&p);
  check_all_splits(t100, sizeof(t100) - 1, 1, "");
  parse(&p, t100, sizeof(t100) - 1, 0, 1024);
  assert_int_equal(p.r.status, 204);
  done(&p);
}

static void compress_to(struct strbuf *out, const char *text, int window) {
  z_stream z;
  unsigned char buf[4096];
  memset(&z, 0, sizeof(z));
  assert_int_equal(
      deflateInit2(&z, 9, Z_DEFLATED, window, 8, Z_DEFAULT_STRATEGY), Z_OK);
  z.next_in = (Bytef *)(uintptr_t)text;
  z.avail_in = (uInt)strlen(text);
  z.next_out = buf;
  z.avail_out = sizeof(buf);
  assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
  strbuf_add(out, (const char *)buf, sizeof(buf) - z.avail_out);
  deflateEnd(&z);
}

static void test_gzip_and_deflate(void **state) {
  const char *json = "{\"v\": 7, \"pad\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}";
  struct {
    const char *coding;
    int window;
  } cases[] = {{"gzip", 15 + 16}, {"x-gzip", 15 + 16}, {"deflate", 15}};
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct strbuf z = {0}, t = {0};
    compress_to(&z, json, cases[i].window);
    strbuf_addf(&t,
                "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
                "Content-Length: %zu\r\n\r\n",
                cases[i].coding, z.len);
    strbuf_add(&t, z.buf, z.len);
    check_all_splits(t.buf, t.len, 1, json);
    /* The limit applies to the decoded body. */
    {
      struct parsed p;
      parse(&p, t.buf, t.len, 0, 20);
      assert_int_equal(p.rc, -EFBIG);
      done(&p);
    }
    /* Cut short: an error, not a short body. */
    {
      struct parsed p;
      parse(&p, t.buf, t.len - 4, 0, 1024);
      assert_int_equal(p.rc, 0);
      assert_true(response_eof(&p.r) < 0);
      done(&p);
    }
    strbuf_free(&z);
    strbuf_free(&t);
  }
}

static void expect_error(const char *text, int want_rc, const char *want) {
  struct parsed p;
  parse(&p, text, strlen(text), 0, 16);
  if (p.rc != want_rc || !strstr(p.r.error, want))
    fprintf(stderr, "  got %d '%s' for: %s\n", p.rc, p.r.error, text);
  assert_int_equal(p.rc, want_rc);
  assert_non_null(strstr(p.r.error, want));
  done(&p);
}

static void test_errors_name_the_byte(void **state) {
  (void)state;
  expect_error("SSH-2.0-OpenSSH\r\n", -EPROTO,
               "byte 0: not an HTTP/1.x status line");
  expect_error("HTTP/2 200\r\n", -EPROTO, "byte 0: not an HTTP/1.x");
  expect_error("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", -EPROTO,
               "byte 17: bad Content-Length");
  expect_error("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n"
               "\r\n",
               -EPROTO, "byte 36: conflicting Content-Length headers");
  expect_error("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", -EPROTO,
               "byte 17: header line without a name");
  expect_error("HTTP/1.1 200 OK\r\n folded\r\n\r\n", -EPROTO,
               "byte 17: folded header line");
  expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
               -EPROTO, "byte 47: bad chunk size");
  expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               "1\r\nab\r\n",
               -EPROTO, "chunk data longer than its size");
  expect_error("HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n", -EFBIG,
               "body larger than max_body (16 bytes)");
  expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
               -ENOTSUP, "transfer coding other than chunked");
  expect_error("HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n\r\n", -ENOTSUP,
               "content coding other than gzip or deflate");
}

static void test_eof_cases(void **state) {
  struct parsed p;
  static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}";
  (void)state;
  parse(&p, "", 0, 0, 1024);
  assert_false(response_started(&p.r));
  assert_true(response_eof(&p.r) < 0);
  assert_non_null(strstr(p.r.error, "without a response"));
  done(&p);
  parse(&p, head, sizeof(head) - 1, 0, 1024);
  assert_true(response_started(&p.r));
  assert_true(response_eof(&p.r) < 0);
  assert_non_null(strstr(p.r.error, "before the end of the body"));
  done(&p);
}

static void test_head_limit(void **state) {
  struct strbuf t = {0};
  struct parsed p;
  (void)state;
  strbuf_adds(&t, "HTTP/1.1 200 OK\r\n");
  for (int i = 0; i < 5000; i++)
    strbuf_addf(&t, "X-Filler-%d: 0123456789\r\n", i);
  parse(&p, t.buf, t.len, 1000, 1024);
  assert_int_equal(p.rc, -EPROTO);
  assert_non_null(strstr(p.r.error, "too long"));
  done(&p);
  strbuf_free(&t);
}

/* ---- schedule ---- */

struct fired {
  struct schedule_entry e;
  int id;
  int *order;
  int *n;
};

static void on_fire(struct schedule *s, struct schedule_entry *e) {
  struct fired *f = container_of(e, struct fired, e);
  (void)s;
  f->order[(*f->n)++] = f->id;
}

static void test_schedule_order_and_cancel(void **state) {
  uv_loop_t loop;
  struct schedule s;
  struct fired f[6];
  int order[16], n = 0;
  /* Due times, ms from now; entry 3 is cancelled, entry 4 moved earlier. */
  static const uint64_t due[6] = {30, 10, 20, 5, 40, 25};
  (void)state;
  assert_int_equal(uv_loop_init(&loop), 0);
  schedule_init(&s, &loop, on_fire);
  for (int i = 0; i < 6; i++) {
    f[i].id = i;
    f[i].order = order;
    f[i].n = &n;
    schedule_entry_init(&f[i].e);
    schedule_at(&s, &f[i].e, uv_now(&loop) + due[i]);
  }
  schedule_cancel(&s, &f[3].e);
  schedule_cancel(&s, &f[3].e); /* twice: a no-op */
  schedule_at(&s, &f[4].e, uv_now(&loop) + 1);
  uv_run(&loop, UV_RUN_DEFAULT); /* ends when the heap is empty */
  assert_int_equal(n, 5);
  assert_int_equal(order[0], 4);
  assert_int_equal(order[1], 1);
  assert_int_equal(order[2], 2);
  assert_int_equal(order[3], 5);
  assert_int_equal(order[4], 0);
  schedule_close(&s, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* Many entries with equal and random due times come out sorted. */
static int last_due_ok = 1;
static uint64_t last_due;

static void on_fire_sorted(struct schedule *s, struct schedule_entry *e) {
  (void)s;
  if (e->due < last_due)
    last_due_ok = 0;
  last_due = e->due;
}

static void test_schedule_heap_order(void **state) {
  uv_loop_t loop;
  struct schedule s;
  struct schedule_entry *e = calloc(2000, sizeof(*e));
  uint32_t x = 12345;
  (void)state;
  assert_int_equal(uv_loop_init(&loop), 0);
  schedule_init(&s, &loop, on_fire_sorted);
  for (int i = 0; i < 2000; i++) {
    x = x * 1103515245u + 12345u;
    schedule_entry_init(&e[i]);
    schedule_at(&s, &e[i], uv_now(&loop) + (x >> 16) % 50);
  }
  for (int i = 0; i < 2000; i += 3)
    schedule_at(&s, &e[i], uv_now(&loop) + 50 - (uint64_t)(i % 50));
  for (int i = 1; i < 2000; i += 7)
    schedule_cancel(&s, &e[i]);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(last_due_ok, 1);
  for (int i = 0; i < 2000; i++)
    assert_true(e[i].index == SCHEDULE_IDLE);
  schedule_close(&s, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  free(e);
}

/* ---- deadlines when the loop was held ---- */

/* A server on the client's own loop: on a whole request it answers (or
 * not) and then holds the loop for hold_ms, as a long callback would. */
struct stall_server {
  uv_tcp_t listener;
  uv_tcp_t conn;
  bool accepted, answer;
  int hold_ms;
  char buf[1024];
  size_t len;
};

struct stall_result {
  int rc;
  char body[16];
  bool done;
};

static void stall_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  struct stall_server *sv = h->data;
  (void)hint;
  b->base = sv->buf + sv->len;
  b->len = sizeof(sv->buf) - sv->len - 1;
}

static void stall_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  struct stall_server *sv = st->data;
  static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  (void)b;
  if (n <= 0)
    return;
  sv->len += (size_t)n;
  sv->buf[sv->len] = 0;
  if (!strstr(sv->buf, "\r\n\r\n"))
    return;
  if (sv->answer) {
    uv_buf_t out = uv_buf_init((char *)answer, sizeof(answer) - 1);
    assert_int_equal(uv_try_write(st, &out, 1), (int)sizeof(answer) - 1);
  }
  usleep((useconds_t)sv->hold_ms * 1000);
}

static void stall_accept(uv_stream_t *l, int status) {
  struct stall_server *sv = l->data;
  assert_int_equal(status, 0);
  assert_false(sv->accepted);
  assert_int_equal(uv_tcp_init(l->loop, &sv->conn), 0);
  sv->conn.data = sv;
  assert_int_equal(uv_accept(l, (uv_stream_t *)&sv->conn), 0);
  sv->accepted = true;
  assert_int_equal(
      uv_read_start((uv_stream_t *)&sv->conn, stall_alloc, stall_read), 0);
}

static struct stall_result stall_got;

static void stall_done_record(struct http1_req *req, int rc,
                              const struct response *r, const char *error) {
  (void)r;
  (void)error;
  stall_got.rc = rc;
  stall_got.done = true;
  if (rc == 0)
    snprintf(stall_got.body, sizeof(stall_got.body), "%.*s",
             (int)req->body->len, req->body->buf);
}

/* One request with a 200 ms deadline to a server that answers (or not)
 * and then holds the loop for hold_ms. */
static void stalled_request(bool answer, int hold_ms) {
  uv_loop_t loop;
  struct stall_server sv = {.answer = answer, .hold_ms = hold_ms};
  struct http1_client c;
  struct http1_req req = {0};
  struct strbuf body = {0};
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int blen = sizeof(bound);
  static const char head[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  memset(&stall_got, 0, sizeof(stall_got));
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(uv_tcp_init(&loop, &sv.listener), 0);
  sv.listener.data = &sv;
  assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(uv_tcp_bind(&sv.listener, (const struct sockaddr *)&addr, 0),
                   0);
  assert_int_equal(uv_listen((uv_stream_t *)&sv.listener, 4, stall_accept), 0);
  assert_int_equal(
      uv_tcp_getsockname(&sv.listener, (struct sockaddr *)&bound, &blen), 0);
  http1_client_init(&c, &loop);
  assert_int_equal(
      http1_start(
          &req,
          http1_host_get(&c, "127.0.0.1",
                         ntohs(((struct sockaddr_in *)&bound)->sin_port)),
          head, sizeof(head) - 1, &body, 1024, 200, stall_done_record),
      0);
  while (!stall_got.done)
    uv_run(&loop, UV_RUN_ONCE);
  http1_client_close(&c, NULL);
  if (sv.accepted)
    uv_close((uv_handle_t *)&sv.conn, NULL);
  uv_close((uv_handle_t *)&sv.listener, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  strbuf_free(&body);
}

static void test_answer_read_after_held_loop(void **state) {
  (void)state;
  /* answered in time, read only after the loop was held past the deadline */
  stalled_request(true, 500);
  assert_int_equal(stall_got.rc, 0);
  assert_string_equal(stall_got.body, "ok");
  /* no answer: the deadline still holds once the loop is free again */
  stalled_request(false, 500);
  assert_int_equal(stall_got.rc, -ETIMEDOUT);
  /* and without a held loop */
  stalled_request(false, 0);
  assert_int_equal(stall_got.rc, -ETIMEDOUT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_content_length),
      cmocka_unit_test(test_chunked),
      cmocka_unit_test(test_close_delimited),
      cmocka_unit_test(test_keep_alive_rules),
      cmocka_unit_test(test_no_body_statuses),
      cmocka_unit_test(test_gzip_and_deflate),
      cmocka_unit_test(test_errors_name_the_byte),
      cmocka_unit_test(test_eof_cases),
      cmocka_unit_test(test_head_limit),
      cmocka_unit_test(test_schedule_order_and_cancel),
      cmocka_unit_test(test_schedule_heap_order),
      cmocka_unit_test(test_answer_read_after_held_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
