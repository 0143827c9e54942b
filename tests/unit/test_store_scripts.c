/* The store's scripts beside the spool (store_scripts.c): ours written
 * under their SHAs, an earlier version's kept while the spool holds
 * writes and deleted once it does not, a damaged one not loaded; and what
 * the store tells of a series' history when a reply does not say. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "file.h"
#include "store_history.h"
#include "store_op.h"
#include "store_private.h"
#include "testutil.h"

static char dir[64];
static struct config *cfg;

/* An earlier version's script, and one whose name lies about its text. */
static const char old_text[] = "-- an earlier version\nreturn 1\n";
static char old_sha[41];
static const char bad_sha[] = "0123456789abcdef0123456789abcdef01234567";

static void path_of(char *buf, size_t len, const char *sha) {
  snprintf(buf, len, "%s/scripts/%s.lua", dir, sha);
}

static bool exists(const char *sha) {
  char path[160];
  path_of(path, sizeof(path), sha);
  return access(path, F_OK) == 0;
}

static void put_file(const char *sha, const char *text) {
  char path[160];
  FILE *f;
  path_of(path, sizeof(path), sha);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int setup(void **state) {
  struct strbuf yaml = {0};
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/indicatord-scripts-XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  strbuf_addf(&yaml,
              "timezone: Asia/Shanghai\n"
              "state_dir: %s\n"
              "redis: {url: 'redis://127.0.0.1:1/0'}\n"
              "feeds:\n"
              "  - {id: f, url: 'http://127.0.0.1/x', series: {s: $.v}}\n",
              dir);
  cfg = test_config(yaml.buf);
  strbuf_free(&yaml);
  store_script_sha(old_text, strlen(old_text), old_sha);
  return cfg ? 0 : -1;
}

static int teardown(void **state) {
  char cmd[96];
  (void)state;
  config_free(cfg);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void with_store(void (*fn)(struct store *s)) {
  struct store s;
  uv_loop_t loop;
  char err[300];
  uv_loop_init(&loop);
  assert_int_equal(store_init(&s, &loop, cfg, true, err, sizeof(err)), 0);
  fn(&s);
  store_close(&s, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void ours_written(struct store *s) {
  const char *shas[] = {s->sha, s->sha_many, s->sha_tail, s->sha_fence,
                        s->sha_trim};
  for (int i = 0; i < 5; i++) {
    char path[160], got[41];
    struct strbuf text = {0};
    const char *kind = NULL;
    path_of(path, sizeof(path), shas[i]);
    assert_int_equal(file_read(path, 1 << 20, &text, &kind), 0);
    store_script_sha(text.buf, text.len, got);
    assert_string_equal(got, shas[i]);
    assert_true(store_script_known(s, shas[i]));
    assert_false(store_script_old(s, shas[i]));
    strbuf_free(&text);
  }
  assert_int_equal(s->nold_scripts, 0);
}

static void old_kept(struct store *s) {
  assert_int_equal(s->nold_scripts, 2);
  assert_true(store_script_old(s, old_sha));
  assert_true(store_script_known(s, old_sha));
  /* Not loaded: its NOSCRIPT is for good. */
  assert_true(store_script_old(s, bad_sha));
  assert_false(store_script_known(s, bad_sha));
}

static void nothing_old(struct store *s) {
  assert_int_equal(s->nold_scripts, 0);
  assert_false(store_script_known(s, old_sha));
}

static void remember(void **state) {
  struct spool sp;
  (void)state;
  with_store(ours_written);
  /* What an earlier version left: its script, and a write calling it. */
  put_file(old_sha, old_text);
  put_file(bad_sha, old_text);
  assert_int_equal(spool_open(&sp, dir, 1 << 20), 0);
  assert_int_equal(spool_append(&sp, "x", 1), 0);
  spool_close(&sp);
  with_store(old_kept);
  assert_true(exists(old_sha) && exists(bad_sha));
  /* The spool replayed (here: emptied): they go. */
  assert_int_equal(spool_open(&sp, dir, 1 << 20), 0);
  assert_int_equal(spool_reset(&sp), 0);
  spool_close(&sp);
  with_store(nothing_old);
  assert_false(exists(old_sha) || exists(bad_sha));
  with_store(ours_written);
}

/* ---- history from replies ---- */

static char heard_series[64];
static int64_t heard_ms;
static int heard;

static void on_history(void *data, const char *series, enum store_history what,
                       int64_t ms) {
  (void)data;
  assert_int_equal(what, STORE_REWRITTEN);
  snprintf(heard_series, sizeof(heard_series), "%s", series);
  heard_ms = ms;
  heard++;
}

static void note(struct store *s, const char *sha, const char *nkeys,
                 const char *key, const redisReply *r) {
  const char *argv[] = {"EVALSHA",       sha,          nkeys,    key, "ind:m:y",
                        "ind:latest",    "ind:series", "ind:rw", "y", "w",
                        "1795000000000", "2026-11-19", "1"};
  struct store_op *op = store_op_new(13, argv, NULL);
  heard = 0;
  store_note_history(s, op, r);
  free(op);
}

static void replies(struct store *s) {
  redisReply one = {.type = REDIS_REPLY_INTEGER, .integer = 1};
  redisReply from = {.type = REDIS_REPLY_INTEGER, .integer = 1795000000000};
  redisReply none = {.type = REDIS_REPLY_INTEGER, .integer = -1};
  redisReply *pair[] = {&one, &from}, *appended[] = {&one, &none};
  redisReply rewrote = {
      .type = REDIS_REPLY_ARRAY, .elements = 2, .element = pair};
  redisReply appends = {
      .type = REDIS_REPLY_ARRAY, .elements = 2, .element = appended};
  store_on_history(s, on_history, NULL);
  /* Ours, as it answers. */
  note(s, s->sha_many, "5", "ind:s:y", &rewrote);
  assert_int_equal(heard, 1);
  assert_string_equal(heard_series, "y");
  assert_int_equal(heard_ms, 1795000000000);
  note(s, s->sha_many, "5", "ind:s:y", &appends);
  assert_int_equal(heard, 0);
  /* Ours, answering what it does not: the worst is assumed. */
  note(s, s->sha_many, "5", "ind:s:y", &one);
  assert_int_equal(heard, 1);
  assert_int_equal(heard_ms, STORE_HISTORY_ALL);
  /* An earlier version's, whatever it answers: every series among its
   * keys (here 4 of them, one a series) read whole. */
  note(s, old_sha, "4", "ind:s:x", &rewrote);
  assert_int_equal(heard, 1);
  assert_string_equal(heard_series, "x");
  assert_int_equal(heard_ms, STORE_HISTORY_ALL);
  note(s, old_sha, "4", "ind:s:x", &one);
  assert_int_equal(heard, 1);
  assert_int_equal(heard_ms, STORE_HISTORY_ALL);
}

static void history(void **state) {
  struct spool sp;
  (void)state;
  with_store(ours_written);
  put_file(old_sha, old_text);
  assert_int_equal(spool_open(&sp, dir, 1 << 20), 0);
  assert_int_equal(spool_append(&sp, "x", 1), 0);
  spool_close(&sp);
  with_store(replies);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(remember, setup, teardown),
      cmocka_unit_test_setup_teardown(history, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
