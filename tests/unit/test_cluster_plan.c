/* The cluster's decisions without I/O: the fair share, the ranking of
 * feeds per instance, a feed lease's states, the trust in a renewal and
 * the pace of the steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cluster_plan.h"

#include <stdio.h>
#include <string.h>

static void share_covers_every_feed(void **state) {
  (void)state;
  assert_int_equal(cluster_share(30, 3), 10);
  assert_int_equal(cluster_share(30, 2), 15);
  assert_int_equal(cluster_share(32, 3), 11);
  assert_int_equal(cluster_share(1, 3), 1);
  assert_int_equal(cluster_share(0, 3), 0);
  /* No live instance known yet (the registry read failed): all of them. */
  assert_int_equal(cluster_share(7, 0), 7);
  for (size_t n = 0; n < 200; n++)
    for (size_t live = 1; live < 12; live++) {
      size_t s = cluster_share(n, live);
      assert_true(s * live >= n);                /* every feed has a taker */
      assert_true(s == 0 || (s - 1) * live < n); /* no more than needed */
    }
}

static void ranking_is_stable_and_spreads(void **state) {
  char names[30][8];
  const char *ids[30];
  size_t a[30], b[30], again[30];
  size_t same_top = 0;
  (void)state;
  for (size_t i = 0; i < 30; i++) {
    snprintf(names[i], sizeof(names[i]), "f%zu", i);
    ids[i] = names[i];
  }
  cluster_rank(ids, 30, "host-a", a);
  cluster_rank(ids, 30, "host-a", again);
  cluster_rank(ids, 30, "host-b", b);
  assert_memory_equal(a, again, sizeof(a));
  /* A permutation of the feeds. */
  for (size_t i = 0; i < 30; i++) {
    size_t seen = 0;
    for (size_t k = 0; k < 30; k++)
      seen += a[k] == i;
    assert_int_equal(seen, 1);
  }
  /* Two instances do not want the same feeds first. */
  for (size_t k = 0; k < 10; k++)
    for (size_t j = 0; j < 10; j++)
      same_top += a[k] == b[j];
  assert_true(same_top < 10);
  /* Highest affinity first. */
  for (size_t k = 1; k < 30; k++)
    assert_true(cluster_affinity(ids[a[k - 1]], "host-a") >=
                cluster_affinity(ids[a[k]], "host-a"));
  /* The separator: "f1"+"0x" and "f10"+"x" differ. */
  assert_true(cluster_affinity("f1", "0x") != cluster_affinity("f10", "x"));
}

static void feed_lease_states(void **state) {
  bool hand = true;
  (void)state;
  assert_int_equal(
      cluster_feed_next(CLUSTER_FREE, CLUSTER_ACQUIRED, false, &hand),
      CLUSTER_HELD);
  assert_false(hand);
  /* Over the share while idle: handed over at once. */
  assert_int_equal(
      cluster_feed_next(CLUSTER_HELD, CLUSTER_OVER_SHARE, false, &hand),
      CLUSTER_FREE);
  assert_true(hand);
  /* While a fetch runs: released once it is done, not before. */
  assert_int_equal(
      cluster_feed_next(CLUSTER_HELD, CLUSTER_OVER_SHARE, true, &hand),
      CLUSTER_RELEASING);
  assert_false(hand);
  assert_int_equal(
      cluster_feed_next(CLUSTER_RELEASING, CLUSTER_IDLE, true, &hand),
      CLUSTER_RELEASING);
  assert_false(hand);
  assert_int_equal(
      cluster_feed_next(CLUSTER_RELEASING, CLUSTER_IDLE, false, &hand),
      CLUSTER_FREE);
  assert_true(hand);
  /* Lost: nothing of ours to delete. */
  assert_int_equal(cluster_feed_next(CLUSTER_HELD, CLUSTER_LOST, false, &hand),
                   CLUSTER_FREE);
  assert_false(hand);
  assert_int_equal(
      cluster_feed_next(CLUSTER_RELEASING, CLUSTER_STOPPING, true, &hand),
      CLUSTER_FREE);
  assert_true(hand);
  assert_int_equal(
      cluster_feed_next(CLUSTER_FREE, CLUSTER_STOPPING, false, &hand),
      CLUSTER_FREE);
  assert_false(hand);
  /* Events that do not apply change nothing. */
  assert_int_equal(
      cluster_feed_next(CLUSTER_FREE, CLUSTER_OVER_SHARE, false, &hand),
      CLUSTER_FREE);
  assert_int_equal(cluster_feed_next(CLUSTER_HELD, CLUSTER_IDLE, false, &hand),
                   CLUSTER_HELD);
  assert_false(hand);
  assert_true(cluster_feed_polled(CLUSTER_HELD));
  assert_false(cluster_feed_polled(CLUSTER_RELEASING));
  assert_false(cluster_feed_polled(CLUSTER_FREE));
}

static void renewals_are_trusted_less_than_the_lease(void **state) {
  (void)state;
  assert_int_equal(cluster_valid_until(1000, 30000), 1000 + 27000);
  assert_true(cluster_valid_until(5, 2000) < 5 + 2000);
}

static void steps_renew_every_third_of_the_lease(void **state) {
  (void)state;
  assert_int_equal(cluster_next_step(30000, false, -1), 10000);
  /* Hungry: a tenth of the lease, at least 100 ms. */
  assert_int_equal(cluster_next_step(30000, true, -1), 3000);
  assert_int_equal(cluster_next_step(600, true, -1), 100);
  /* Another's lease runs out sooner: just after it. */
  assert_int_equal(cluster_next_step(30000, false, 500), 520);
  assert_int_equal(cluster_next_step(30000, false, 20000), 10000);
  assert_true(cluster_next_step(1, false, -1) >= 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(share_covers_every_feed),
      cmocka_unit_test(ranking_is_stable_and_spreads),
      cmocka_unit_test(feed_lease_states),
      cmocka_unit_test(renewals_are_trusted_less_than_the_lease),
      cmocka_unit_test(steps_renew_every_third_of_the_lease),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
