/* The collector's schedule arithmetic: the delay after consecutive failures
 * (every doubled per failure, capped at 4x, +-10% jitter) with exact
 * figures, and the deterministic start offset. The jitter comes from the
 * feed's own generator state, which the caller owns: the test seeds it and
 * reads back the draw, so each delay is checked to the millisecond. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collector.h"
#include "config.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>

/* What collector_backoff must return for a base delay once the generator
 * has drawn `drawn` (the generator's new state): base - 10% + drawn mod 20%. */
static uint64_t jittered(uint64_t base, uint32_t drawn) {
  uint64_t spread = base / 5;
  return spread ? base - spread / 2 + drawn % spread : base;
}

struct backoff_case {
  int64_t every_ms;
  unsigned failures;
  uint64_t base_ms; /* before jitter */
};

static const struct backoff_case backoff_cases[] = {
    {1000, 1, 1000},
    {1000, 2, 2000},
    {1000, 3, 4000},
    {1000, 4, 4000}, /* the cap: 4x every */
    {1000, 5, 4000},
    {1000, 10, 4000},
    {1000, 64, 4000}, /* no overflow however long it fails */
    {1000, UINT_MAX, 4000},
    {60000, 1, 60000},
    {60000, 2, 120000},
    {60000, 3, 240000},
    {60000, 7, 240000},
    {86400000, 2, 172800000},
    {86400000, 9, 345600000},
    {3, 2, 6}, /* too short to jitter: exact */
    {3, 5, 12},
};

static void backoff_exact(void **state) {
  static const uint32_t seeds[] = {0, 1, 12345, 0xDEADBEEF, 0xFFFFFFFF};
  struct feed f = {0};
  (void)state;
  f.id = "f";
  for (size_t s = 0; s < ARRAY_SIZE(seeds); s++) {
    uint32_t rng = seeds[s];
    for (size_t i = 0; i < ARRAY_SIZE(backoff_cases); i++) {
      const struct backoff_case *c = &backoff_cases[i];
      uint32_t before = rng;
      uint64_t d, want;
      f.every_ms = c->every_ms;
      d = collector_backoff(&f, c->failures, &rng);
      want = jittered(c->base_ms, rng);
      if (d != want || (c->base_ms >= 5 && rng == before)) {
        fprintf(stderr,
                "every %lld ms, %u failures, seed %u: %llu ms, want %llu "
                "(base %llu, drawn %u)\n",
                (long long)c->every_ms, c->failures, seeds[s],
                (unsigned long long)d, (unsigned long long)want,
                (unsigned long long)c->base_ms, rng);
        fail();
      }
      /* +-10% around the base, never more */
      assert_true(d * 10 >= c->base_ms * 9 && d * 10 <= c->base_ms * 11);
    }
  }
}

/* The jitter is real: successive draws spread over the +-10% window
 * instead of repeating one figure. */
static void backoff_jitter_spreads(void **state) {
  struct feed f = {0};
  uint32_t rng = 42;
  uint64_t lo = UINT64_MAX, hi = 0;
  (void)state;
  f.id = "f";
  f.every_ms = 1000;
  for (int i = 0; i < 1000; i++) {
    uint64_t d = collector_backoff(&f, 1, &rng);
    lo = d < lo ? d : lo;
    hi = d > hi ? d : hi;
  }
  assert_in_range(lo, 900, 920);
  assert_in_range(hi, 1080, 1099);
}

static void start_offset(void **state) {
  struct feed f = {0};
  (void)state;
  f.id = "pm25";
  for (int64_t every = 1000; every <= 86400000; every *= 10) {
    uint64_t j;
    f.every_ms = every;
    j = collector_jitter(&f);
    /* the same feed always starts at the same offset */
    assert_int_equal(j, collector_jitter(&f));
    /* within the interval and the first 5 s, on the 50 ms grid */
    assert_true(j < (uint64_t)every && j < 5000);
    assert_int_equal(j % COLLECTOR_SLOT_MS, 0);
  }
  f.every_ms = 200; /* short intervals: any offset within the interval */
  assert_true(collector_jitter(&f) < 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(backoff_exact),
      cmocka_unit_test(backoff_jitter_spreads),
      cmocka_unit_test(start_offset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
