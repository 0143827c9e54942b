#include "rng.h"

#include <time.h>
#include <unistd.h>

uint32_t rng_seed(void) {
  struct timespec ts;
  uint32_t s;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  s = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec * 2654435761u ^
      (uint32_t)getpid() * 40503u;
  return s ? s : 1;
}

uint32_t rng_next(uint32_t *state) {
  uint32_t x = *state ? *state : 0x9E3779B9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}
