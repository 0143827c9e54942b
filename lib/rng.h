/* A small pseudo-random generator (xorshift32) for jitter: retry and
 * backoff delays spread so that instances, feeds and receivers do not
 * retry in step. Not for anything secret. */
#ifndef INDICATORD_RNG_H
#define INDICATORD_RNG_H

#include <stdint.h>

/* A seed that differs between processes and runs (time and pid). */
uint32_t rng_seed(void);
/* The next number of the sequence in *state (a zero state is moved off
 * zero, where xorshift would stay). */
uint32_t rng_next(uint32_t *state);

#endif
