/* The write path alone: observations per second through the store (the
 * ordered, pipelined queue and the Lua upsert) into a redis-server.
 * usage: bench_store REDIS_URL COUNT STATE_DIR */
#include "config.h"
#include "config_load.h"
#include "store.h"
#include "tz.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

struct bench {
  struct store store;
  struct config *cfg;
  uv_timer_t poll;
  long count;
  struct timespec t0, t1;
  bool done;
};

static double secs(const struct timespec *a, const struct timespec *b) {
  return (double)(b->tv_sec - a->tv_sec) +
         (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void on_flushed(void *data, bool ok) {
  struct bench *b = data;
  clock_gettime(CLOCK_MONOTONIC, &b->t1);
  b->done = ok;
  store_close(&b->store, NULL);
}

static void on_poll(uv_timer_t *t) {
  struct bench *b = t->data;
  struct observation obs[1000];
  const struct feed *f = &b->cfg->feeds[0];
  if (!store_is_up(&b->store))
    return;
  uv_close((uv_handle_t *)t, NULL);
  clock_gettime(CLOCK_MONOTONIC, &b->t0);
  for (long i = 0; i < b->count; i += 1000) {
    size_t n = b->count - i < 1000 ? (size_t)(b->count - i) : 1000;
    for (size_t k = 0; k < n; k++) {
      obs[k].series = f->series[0].id;
      obs[k].time_ms = INT64_C(1790000000000) + (i + (long)k) * 1000;
      obs[k].value = (double)(i + (long)k);
      obs[k].grain = GRAIN_INSTANT;
    }
    store_observations(&b->store, f, obs, n);
  }
  store_flush(&b->store, on_flushed, b);
}

int main(int argc, char **argv) {
  struct bench b;
  struct diag d = {0};
  uv_loop_t loop;
  char err[200];
  char *yaml;
  if (argc != 4) {
    fprintf(stderr, "usage: bench_store REDIS_URL COUNT STATE_DIR\n");
    return 2;
  }
  memset(&b, 0, sizeof(b));
  b.count = atol(argv[2]);
  yaml = xasprintf("timezone: UTC\ninclude: []\nstate_dir: %s\n"
                   "redis: {url: '%s', max_queue: 10000000}\n"
                   "feeds:\n  - {id: f, url: 'http://127.0.0.1/x', series: "
                   "{s: $.v}}\n",
                   argv[3], argv[1]);
  b.cfg = config_load_text("/nonexistent/bench.yaml", yaml, strlen(yaml), &d);
  free(yaml);
  if (!b.cfg) {
    diag_print(&d, stderr);
    return 2;
  }
  tz_set(b.cfg->timezone);
  uv_loop_init(&loop);
  if (store_init(&b.store, &loop, b.cfg, true, err, sizeof(err)) < 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  uv_timer_init(&loop, &b.poll);
  b.poll.data = &b;
  uv_timer_start(&b.poll, on_poll, 10, 10);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (!b.done) {
    fprintf(stderr, "bench_store: writes not confirmed\n");
    return 1;
  }
  printf("%.0f\n", (double)b.count / secs(&b.t0, &b.t1));
  config_free(b.cfg);
  diag_free(&d);
  return 0;
}
