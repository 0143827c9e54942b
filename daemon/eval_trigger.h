/* When new data calls for an evaluation pass (contract §5: within 2 s of
 * new data for a target's series, even while data keeps arriving). A
 * throttle, not a debounce: the first new data arms a pass, and data that
 * arrives while it is armed never pushes it back, so continuous data cannot
 * starve evaluation. Passes on new data start at most once per min_gap
 * (and after coalesce, so feeds answering together share one pass). Pure
 * arithmetic on a caller's clock, so it is tested with a fake one. */
#ifndef INDICATORD_EVAL_TRIGGER_H
#define INDICATORD_EVAL_TRIGGER_H

#include <stdbool.h>
#include <stdint.h>

struct eval_trigger {
  int64_t coalesce_ms, min_gap_ms;
  int64_t due_ms;  /* the armed pass; -1: none */
  int64_t last_ms; /* the last pass began; INT64_MIN: none yet */
};

void eval_trigger_init(struct eval_trigger *tr, int64_t coalesce_ms,
                       int64_t min_gap_ms);
/* New data at now: returns the delay after which the pass is due when a
 * timer must be armed for it, or -1 when one is armed already (keep it). */
int64_t eval_trigger_data(struct eval_trigger *tr, int64_t now_ms);
/* A pass begins at now (the armed one, or any other): disarms. */
void eval_trigger_began(struct eval_trigger *tr, int64_t now_ms);

#endif
