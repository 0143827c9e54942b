/* Feed timers: one min-heap of due times under one uv_timer_t, instead of a
 * uv_timer_t per feed. Entries due in the same millisecond fire in one
 * timer callback. */
#ifndef INDICATORD_SCHEDULE_H
#define INDICATORD_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct schedule_entry {
  uint64_t due; /* loop time, ms */
  size_t index; /* in the heap; SCHEDULE_IDLE when not scheduled */
};

#define SCHEDULE_IDLE ((size_t)-1)

struct schedule;
typedef void (*schedule_fire_cb)(struct schedule *s, struct schedule_entry *e);

/* The due time is kept next to the pointer: comparisons walk the array
 * only, not the entries spread over the feeds' states (a cache miss per
 * level showed in perf at 1,000 feeds). */
struct schedule_slot {
  uint64_t due;
  struct schedule_entry *entry;
};

struct schedule {
  uv_loop_t *loop;
  uv_timer_t timer;
  struct schedule_slot *heap;
  size_t n, cap;
  schedule_fire_cb fire;
  bool firing;
  void (*on_closed)(struct schedule *s);
};

/* Cannot fail: it only prepares the timer. */
void schedule_init(struct schedule *s, uv_loop_t *loop, schedule_fire_cb fire);
/* Marks e as not scheduled; call once before its first schedule_at. */
void schedule_entry_init(struct schedule_entry *e);
/* (Re)schedules e at loop time due; fire runs for it once, at or after
 * (from within fire, not before the next loop turn). */
void schedule_at(struct schedule *s, struct schedule_entry *e, uint64_t due);
/* Unschedules e; no-op when it is not scheduled. */
void schedule_cancel(struct schedule *s, struct schedule_entry *e);
/* Closes the timer; entries are forgotten. on_closed runs when closed. */
void schedule_close(struct schedule *s, void (*on_closed)(struct schedule *s));

#endif
