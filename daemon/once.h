/* `indicatord once`: fetch every feed once, concurrently, and report what
 * each series got or why it got nothing. */
#ifndef INDICATORD_ONCE_H
#define INDICATORD_ONCE_H

#include "config.h"

#include <stdbool.h>

/* Runs on a private loop and returns the process exit code. */
int once_run(const struct config *cfg, bool json);

#endif
