/* The outage spool: order, torn tails, damaged records, bounds, rewrite,
 * the scan in blocks of a large damaged file, rewinding a replay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/indicatord-spool-XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  char path[128];
  (void)state;
  snprintf(path, sizeof(path), "%s/spool.bin", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/spool.bin.new", dir);
  unlink(path);
  rmdir(dir);
  return 0;
}

/* spool_open and the scan the daemon runs on the thread pool, here
 * blocking. */
static int open_scanned(struct spool *sp, uint64_t max, char **warn) {
  int rc = spool_open(sp, dir, max);
  *warn = NULL;
  if (rc == 0)
    spool_scan_now(sp, warn);
  return rc;
}

static void append_n(struct spool *sp, int from, int to) {
  for (int i = from; i < to; i++) {
    char rec[32];
    snprintf(rec, sizeof(rec), "record %d", i);
    assert_int_equal(spool_append(sp, rec, strlen(rec)), 0);
  }
}

/* Reads every pending record and checks they are from..to-1 in order. */
static void expect_records(struct spool *sp, int from, int to) {
  struct strbuf rec = {0};
  int i = from;
  while (spool_next(sp, &rec) == 1) {
    char want[32];
    snprintf(want, sizeof(want), "record %d", i++);
    assert_string_equal(rec.buf, want);
  }
  assert_int_equal(i, to);
  strbuf_free(&rec);
}

static void order_and_reopen(void **state) {
  struct spool sp;
  char *warn = NULL;
  (void)state;
  assert_int_equal(open_scanned(&sp, 1 << 20, &warn), 0);
  assert_null(warn);
  assert_false(spool_pending(&sp));
  append_n(&sp, 0, 100);
  spool_close(&sp);
  assert_int_equal(open_scanned(&sp, 1 << 20, &warn), 0);
  assert_null(warn);
  assert_int_equal(sp.records, 100);
  assert_true(spool_pending(&sp));
  expect_records(&sp, 0, 100);
  assert_false(spool_pending(&sp));
  assert_int_equal(spool_reset(&sp), 0);
  assert_int_equal(sp.size, 0);
  spool_close(&sp);
}

static void torn_tail(void **state) {
  struct spool sp;
  char *warn = NULL;
  char path[128];
  int fd;
  (void)state;
  assert_int_equal(open_scanned(&sp, 1 << 20, &warn), 0);
  append_n(&sp, 0, 10);
  spool_close(&sp);
  /* A crash in the middle of a write: half a header and some payload. */
  snprintf(path, sizeof(path), "%s/spool.bin", dir);
  fd = open(path, O_WRONLY | O_APPEND);
  assert_true(write(fd, "IDS1\x40\x00\x00\x00\x01\x02", 10) == 10);
  close(fd);
  assert_int_equal(open_scanned(&sp, 1 << 20, &warn), 0);
  assert_non_null(warn);
  assert_non_null(strstr(warn, "10 byte(s) after the last whole record"));
  free(warn);
  expect_records(&sp, 0, 10);
  /* New records go after the cut, not after the garbage. */
  append_n(&sp, 10, 12);
  expect_records(&sp, 10, 12);
  spool_close(&sp);
}

static void damaged_middle(void **state) {
  struct spool sp;
  char *warn = NULL;
  char path[128];
  struct strbuf rec = {0};
  int fd, n = 0;
  (void)state;
  assert_int_equal(open_scanned(&sp, 1 << 20, &warn), 0);
  append_n(&sp, 0, 5);
  spool_close(&sp);
  snprintf(path, sizeof(path), "%s/spool.bin", dir);
  fd = open(path, O_WRONLY);
  /* Flip one payload byte of the second record (each is 12 + 8 bytes). */
  assert_true(pwrite(fd, "X", 1, 20 + 12 + 2) == 1);
  close(fd);
  assert_int_equal(open_scanned(&sp, 1 << 20, &warn), 0);
  assert_null(warn); /* the tail is whole */
  while (spool_next(&sp, &rec) == 1)
    n++;
  assert_int_equal(n, 4);
  assert_int_equal(sp.skipped_bytes, 20);
  strbuf_free(&rec);
  spool_close(&sp);
}

static void bound(void **state) {
  struct spool sp;
  char *warn = NULL;
  (void)state;
  assert_int_equal(open_scanned(&sp, 100, &warn), 0);
  append_n(&sp, 0, 5); /* 5 x 20 bytes */
  assert_int_equal(spool_append(&sp, "x", 1), -ENOSPC);
  spool_close(&sp);
}

static void rewrite_front(void **state) {
  struct spool sp;
  char *warn = NULL;
  struct strbuf front = {0}, rec = {0};
  (void)state;
  assert_int_equal(open_scanned(&sp, 1 << 20, &warn), 0);
  append_n(&sp, 3, 6);
  assert_int_equal(spool_next(&sp, &rec), 1); /* "record 3" replayed */
  spool_frame(&front, "record 1", 8);
  spool_frame(&front, "record 2", 8);
  assert_int_equal(spool_rewrite_with_front(&sp, &front), 0);
  spool_close(&sp);
  assert_int_equal(open_scanned(&sp, 1 << 20, &warn), 0);
  assert_int_equal(sp.records, 4);
  {
    static const char *const want[] = {"record 1", "record 2", "record 4",
                                       "record 5"};
    for (int i = 0; i < 4; i++) {
      assert_int_equal(spool_next(&sp, &rec), 1);
      assert_string_equal(rec.buf, want[i]);
    }
    assert_int_equal(spool_next(&sp, &rec), 0);
  }
  strbuf_free(&front);
  strbuf_free(&rec);
  spool_close(&sp);
}

static void large_damage(void **state) {
  struct spool sp;
  char *warn = NULL;
  char path[128];
  struct strbuf rec = {0};
  size_t garbage = 40u << 20; /* 40 MiB of zeros between records */
  char *zeros = calloc(1, 1 << 20);
  FILE *f;
  (void)state;
  assert_int_equal(open_scanned(&sp, 1u << 30, &warn), 0);
  append_n(&sp, 0, 3);
  spool_close(&sp);
  snprintf(path, sizeof(path), "%s/spool.bin", dir);
  f = fopen(path, "ab");
  for (size_t i = 0; i < garbage >> 20; i++)
    assert_int_equal(fwrite(zeros, 1, 1 << 20, f), 1 << 20);
  fclose(f);
  assert_int_equal(spool_open(&sp, dir, 1u << 30), 0);
  assert_false(sp.scanned);
  /* Nothing is replayed before the scan; appends go on behind. */
  assert_int_equal(spool_next(&sp, &rec), 0);
  append_n(&sp, 3, 5);
  spool_scan_now(&sp, &warn);
  /* The scan covered what was there at open: the zeros are a torn tail
   * there, skipped (not cut: records were appended behind them). */
  assert_non_null(warn);
  assert_non_null(strstr(warn, "skipped"));
  free(warn);
  assert_int_equal(sp.records, 3);
  assert_int_equal(sp.ndamaged, 1);
  assert_int_equal(sp.damaged[0].len, garbage);
  expect_records(&sp, 0, 5);
  assert_int_equal(sp.skipped_bytes, garbage);
  spool_close(&sp);
  free(zeros);
  strbuf_free(&rec);
}

static void rewind_replay(void **state) {
  struct spool sp;
  char *warn = NULL;
  struct strbuf rec = {0};
  uint64_t second;
  (void)state;
  assert_int_equal(open_scanned(&sp, 1 << 20, &warn), 0);
  append_n(&sp, 0, 4);
  assert_int_equal(spool_next(&sp, &rec), 1);
  assert_int_equal(spool_next(&sp, &rec), 1);
  second = sp.last_off;
  assert_string_equal(rec.buf, "record 1");
  assert_int_equal(spool_next(&sp, &rec), 1);
  /* The connection dropped before record 1 was acknowledged. */
  spool_rewind(&sp, second);
  expect_records(&sp, 1, 4);
  strbuf_free(&rec);
  spool_close(&sp);
}

static void scan_finds_records_in_garbage(void **state) {
  struct spool_scan sc = {0};
  struct strbuf file = {0};
  char path[128];
  FILE *f;
  int fd;
  (void)state;
  /* garbage, a record, garbage with a false magic, a record, a torn one */
  strbuf_add(&file, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 29);
  spool_frame(&file, "one", 3);
  strbuf_add(&file,
             "IDS1\x03\x00\x00\x00\x00\x00\x00\x00"
             "abc",
             15);
  spool_frame(&file, "two", 3);
  strbuf_add(&file, "IDS1\x40\x00\x00", 7);
  snprintf(path, sizeof(path), "%s/spool.bin", dir);
  f = fopen(path, "wb");
  fwrite(file.buf, 1, file.len, f);
  fclose(f);
  fd = open(path, O_RDONLY);
  sc.end = file.len;
  spool_scan_file(fd, &sc);
  close(fd);
  assert_int_equal(sc.records, 2);
  assert_int_equal(sc.ndamaged, 3);
  assert_int_equal(sc.damaged[0].off, 0);
  assert_int_equal(sc.damaged[0].len, 29);
  assert_int_equal(sc.damaged[1].off, 29 + 15);
  assert_int_equal(sc.damaged[1].len, 15);
  assert_int_equal(sc.damaged[2].len, 7);
  assert_int_equal(sc.last_good, file.len - 7);
  spool_scan_free(&sc);
  strbuf_free(&file);
}

static void crc(void **state) {
  (void)state;
  assert_int_equal(spool_crc32("123456789", 9), 0xCBF43926u);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(order_and_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(torn_tail, setup, teardown),
      cmocka_unit_test_setup_teardown(damaged_middle, setup, teardown),
      cmocka_unit_test_setup_teardown(bound, setup, teardown),
      cmocka_unit_test_setup_teardown(rewrite_front, setup, teardown),
      cmocka_unit_test_setup_teardown(large_damage, setup, teardown),
      cmocka_unit_test_setup_teardown(rewind_replay, setup, teardown),
      cmocka_unit_test_setup_teardown(scan_finds_records_in_garbage, setup,
                                      teardown),
      cmocka_unit_test(crc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
