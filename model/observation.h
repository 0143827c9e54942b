/* The unit of the data flow: one value of one series at one time, as a
 * feed's format reads it from a body and the store writes it to Redis. */
#ifndef INDICATORD_OBSERVATION_H
#define INDICATORD_OBSERVATION_H

#include <stdint.h>

struct observation {
  const char *series; /* the series id, borrowed from the config */
  int64_t time_ms;
  double value;
};

#endif
