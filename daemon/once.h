/* `indicatord once`: fetch every feed once (concurrently), store what they
 * gave, evaluate every target and print the target table (or JSON).
 * `indicatord status`: print the stored target table from Redis. */
#ifndef INDICATORD_ONCE_H
#define INDICATORD_ONCE_H

#include "config.h"
#include "eval.h"

#include <stdbool.h>
#include <stdint.h>

struct once_options {
  bool json;
  int64_t now_ms; /* 0: the wall clock */
  bool fail;      /* --fail-on given */
  enum eval_class fail_on;
};

/* Each runs on a private loop and returns the process exit code. */
int once_run(const struct config *cfg, const struct once_options *opt);
int once_status(const struct config *cfg, const struct once_options *opt);

#endif
