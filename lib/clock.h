/* The wall clock and the lengths of time the daemon counts in. Every
 * reading of real time (observation times, deadlines in Redis, incident
 * times) goes through clock_wall_ms(); loop timers use libuv's monotonic
 * uv_now() instead. */
#ifndef INDICATORD_CLOCK_H
#define INDICATORD_CLOCK_H

#include <stdint.h>

#define MS_PER_SECOND INT64_C(1000)
#define MS_PER_MINUTE (60 * MS_PER_SECOND)
#define MS_PER_HOUR (60 * MS_PER_MINUTE)
#define MS_PER_DAY (24 * MS_PER_HOUR)

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_wall_ms(void);

#endif
