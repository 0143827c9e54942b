/* The unit of the data flow: one value of one series at one time, as a
 * feed's format reads it from a body and the store writes it to Redis. */
#ifndef INDICATORD_OBSERVATION_H
#define INDICATORD_OBSERVATION_H

#include "timefmt.h"

#include <stdint.h>

struct observation {
  const char *series; /* the series id, borrowed from the config */
  int64_t time_ms;    /* where it stands (extract_place) */
  double value;
  /* How much of the calendar its time named (GRAIN_INSTANT: a point in
   * time): with time_ms and the series' placement it gives the end of the
   * period the observation describes. */
  enum timefmt_grain grain;
};

#endif
