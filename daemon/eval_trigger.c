#include "eval_trigger.h"

void eval_trigger_init(struct eval_trigger *tr, int64_t coalesce_ms,
                       int64_t min_gap_ms) {
  tr->coalesce_ms = coalesce_ms;
  tr->min_gap_ms = min_gap_ms;
  tr->due_ms = -1;
  tr->last_ms = INT64_MIN;
}

int64_t eval_trigger_data(struct eval_trigger *tr, int64_t now_ms) {
  int64_t due = now_ms + tr->coalesce_ms;
  if (tr->due_ms >= 0)
    return -1;
  if (tr->last_ms != INT64_MIN && tr->last_ms + tr->min_gap_ms > due)
    due = tr->last_ms + tr->min_gap_ms;
  tr->due_ms = due;
  return due - now_ms;
}

void eval_trigger_began(struct eval_trigger *tr, int64_t now_ms) {
  tr->due_ms = -1;
  tr->last_ms = now_ms;
}
