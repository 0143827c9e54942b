/* What the write path puts on the wire, against the slow ways it replaced:
 * Redis commands (resp) byte for byte against hiredis's formatter, times
 * (timefmt_iso) and values (store_format_value) against snprintf, keys
 * (store_key) and strbuf_addf against their formatted forms, on random
 * inputs with a fixed seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "resp.h"
#include "store.h"
#include "timefmt.h"
#include "tz.h"
#include "util.h"

#include <hiredis/hiredis.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t next(void) {
  /* xorshift64*: repeatable across runs and machines. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

static void resp_matches_hiredis(void **state) {
  (void)state;
  for (int round = 0; round < 5000; round++) {
    int argc = 1 + (int)(next() % (round % 50 == 0 ? 800 : 12));
    const char **argv = xcalloc((size_t)argc, sizeof(*argv));
    size_t *lens = xcalloc((size_t)argc, sizeof(*lens));
    char **bufs = xcalloc((size_t)argc, sizeof(*bufs));
    bool with_lens = round % 2 == 0;
    char *ref = NULL, *ours;
    int reflen;
    size_t len;
    for (int i = 0; i < argc; i++) {
      /* Lengths across digit boundaries (9/10, 99/100, ...), bytes of every
       * value when lengths are given (CR, LF, NUL included). */
      size_t l = next() % 4 == 0 ? (size_t)(next() % 12000) : next() % 12;
      bufs[i] = xmalloc(l + 1);
      for (size_t j = 0; j < l; j++) {
        char c = (char)(next() & 0xff);
        bufs[i][j] = with_lens ? c : (char)('a' + (unsigned char)c % 26);
      }
      bufs[i][l] = '\0';
      argv[i] = bufs[i];
      lens[i] = l;
    }
    reflen = redisFormatCommandArgv(&ref, argc, argv, with_lens ? lens : NULL);
    assert_true(reflen > 0);
    len = resp_command_len(argc, argv, with_lens ? lens : NULL);
    assert_int_equal(len, (size_t)reflen);
    ours = xmalloc(len + 1);
    assert_int_equal(
        resp_command_write(ours, argc, argv, with_lens ? lens : NULL), len);
    /* hiredis reads a formatted command as a C string (strchr, and one
     * byte past a command of one argument): the NUL is part of it. */
    assert_memory_equal(ours, ref, len + 1);
    free(ours);
    redisFreeCommand(ref);
    for (int i = 0; i < argc; i++)
      free(bufs[i]);
    free(bufs);
    free(lens);
    free(argv);
  }
}

/* timefmt_iso as it was: snprintf throughout. */
static void iso_reference(int64_t ms, char *buf, size_t len) {
  struct civil c;
  int64_t off_min;
  tz_ms_to_local(ms, &c);
  off_min = (tz_utc_to_ms(&c) - ms) / MS_PER_MINUTE;
  if (off_min == 0) {
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day,
             c.hour, c.min, c.sec);
    return;
  }
  snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", c.year,
           c.month, c.day, c.hour, c.min, c.sec, off_min < 0 ? '-' : '+',
           (int)(llabs(off_min) / 60), (int)(llabs(off_min) % 60));
}

static void iso_matches_snprintf(void **state) {
  /* Whole, half, quarter-hour and sub-minute (LMT) offsets, both signs. */
  static const char *const zones[] = {"UTC",
                                      "Asia/Shanghai",
                                      "America/St_Johns",
                                      "Asia/Kathmandu",
                                      "Europe/Dublin",
                                      "Pacific/Kiritimati",
                                      "America/Los_Angeles",
                                      "Europe/Amsterdam"};
  /* -5000 to 15000 years around 1970: four-digit years, and the others
   * that take snprintf's way. */
  const int64_t span = (int64_t)20000 * 366 * MS_PER_DAY;
  (void)state;
  for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
    assert_int_equal(tz_set(zones[z]), 0);
    for (int i = 0; i < 20000; i++) {
      int64_t ms =
          i % 2 ? (int64_t)(next() % (uint64_t)span) -
                      (int64_t)7000 * 366 * MS_PER_DAY
                : (int64_t)(next() % (uint64_t)(200 * 366 * MS_PER_DAY)) -
                      (int64_t)100 * 366 * MS_PER_DAY;
      char want[64], got[64];
      size_t len = i % 97 == 0 ? (size_t)(next() % 30) + 1 : sizeof(got);
      memset(want, 'x', sizeof(want));
      memset(got, 'x', sizeof(got));
      iso_reference(ms, want, len);
      timefmt_iso(ms, got, len);
      assert_memory_equal(got, want, len);
    }
  }
  assert_int_equal(tz_set("UTC"), 0);
}

/* store_format_value as it was: the shortest of %.15g to %.17g that reads
 * back. */
static void value_reference(double v, char *buf, size_t len) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, len, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      return;
  }
}

static double random_value(int i) {
  static const double edges[] = {0.0,
                                 -0.0,
                                 1,
                                 -1,
                                 9,
                                 10,
                                 999999999999999.0,
                                 -999999999999999.0,
                                 1e15,
                                 -1e15,
                                 1e15 - 1,
                                 1e15 + 2,
                                 4503599627370496.0,
                                 9007199254740993.0,
                                 0.5,
                                 -0.5,
                                 1e-300,
                                 123456789.125,
                                 INFINITY,
                                 -INFINITY,
                                 NAN};
  int64_t whole = (int64_t)(next() % 2000000000000000ull) - 1000000000000000ll;
  switch (i % 6) {
  case 0:
    return edges[(size_t)i / 6 % (sizeof(edges) / sizeof(edges[0]))];
  case 1:
    return (double)whole;
  case 2:
    return (double)(whole % 100000);
  case 3:
    return (double)whole / 1000.0;
  case 4: {
    double d;
    uint64_t bits = next();
    memcpy(&d, &bits, sizeof(d));
    return d;
  }
  default:
    return ldexp((double)(whole % 1000), (int)(next() % 120) - 60);
  }
}

static void value_matches_snprintf(void **state) {
  (void)state;
  for (int i = 0; i < 200000; i++) {
    double v = random_value(i);
    char want[40], got[40];
    value_reference(v, want, sizeof(want));
    store_format_value(v, got, sizeof(got));
    assert_string_equal(got, want);
  }
}

static void key_matches_format(void **state) {
  struct config cfg;
  struct store s;
  static const char *const prefixes[] = {"ind:", "", "a-much-longer-prefix:"};
  (void)state;
  memset(&cfg, 0, sizeof(cfg));
  memset(&s, 0, sizeof(s));
  s.cfg = &cfg;
  for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
    char *k;
    cfg.redis.prefix = (char *)prefixes[p];
    k = store_key(&s, "s", "pm25.daily");
    {
      char *want = xasprintf("%ss:pm25.daily", prefixes[p]);
      assert_string_equal(k, want);
      free(want);
    }
    free(k);
    k = store_key(&s, "latest", NULL);
    {
      char *want = xasprintf("%slatest", prefixes[p]);
      assert_string_equal(k, want);
      free(want);
    }
    free(k);
    k = store_key(&s, "m", "");
    {
      char *want = xasprintf("%sm:", prefixes[p]);
      assert_string_equal(k, want);
      free(want);
    }
    free(k);
  }
}

static void addf_matches_snprintf(void **state) {
  (void)state;
  for (int round = 0; round < 2000; round++) {
    struct strbuf sb = {0};
    char want[4096] = "";
    size_t wl = 0;
    int parts = 1 + (int)(next() % 8);
    for (int i = 0; i < parts; i++) {
      /* Pieces around the 64-byte first allocation and its doublings. */
      int n = (int)(next() % 300);
      int num = (int)(next() % 100000);
      char piece[400];
      memset(piece, 'a' + i, (size_t)n);
      piece[n] = '\0';
      wl +=
          (size_t)snprintf(want + wl, sizeof(want) - wl, "%s|%d;", piece, num);
      strbuf_addf(&sb, "%s|%d;", piece, num);
      assert_int_equal(sb.len, wl);
      assert_string_equal(sb.buf, want);
    }
    strbuf_free(&sb);
  }
  {
    char *s = xasprintf("%s", "");
    assert_string_equal(s, "");
    free(s);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(resp_matches_hiredis),
      cmocka_unit_test(iso_matches_snprintf),
      cmocka_unit_test(value_matches_snprintf),
      cmocka_unit_test(key_matches_format),
      cmocka_unit_test(addf_matches_snprintf),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
