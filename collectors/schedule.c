#include "schedule.h"

#include "util.h"

#include <stdbool.h>
#include <stdlib.h>

static void place(struct schedule *s, size_t i, struct schedule_slot slot) {
  s->heap[i] = slot;
  slot.entry->index = i;
}

static void sift_up(struct schedule *s, size_t i) {
  struct schedule_slot slot = s->heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (s->heap[parent].due <= slot.due)
      break;
    place(s, i, s->heap[parent]);
    i = parent;
  }
  place(s, i, slot);
}

static void sift_down(struct schedule *s, size_t i) {
  struct schedule_slot slot = s->heap[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= s->n)
      break;
    if (child + 1 < s->n && s->heap[child + 1].due < s->heap[child].due)
      child++;
    if (slot.due <= s->heap[child].due)
      break;
    place(s, i, s->heap[child]);
    i = child;
  }
  place(s, i, slot);
}

static void on_timer(uv_timer_t *t);

static void arm(struct schedule *s) {
  uint64_t now = uv_now(s->loop);
  if (!s->n) {
    uv_timer_stop(&s->timer);
    return;
  }
  uv_timer_start(&s->timer, on_timer,
                 s->heap[0].due > now ? s->heap[0].due - now : 0, 0);
}

static void remove_at(struct schedule *s, size_t i) {
  struct schedule_entry *e = s->heap[i].entry;
  s->n--;
  if (i != s->n) {
    place(s, i, s->heap[s->n]);
    if (i > 0 && s->heap[(i - 1) / 2].due > s->heap[i].due)
      sift_up(s, i);
    else
      sift_down(s, i);
  }
  e->index = SCHEDULE_IDLE;
}

static void on_timer(uv_timer_t *t) {
  struct schedule *s = t->data;
  uint64_t now = uv_now(s->loop);
  s->firing = true;
  while (s->n && s->heap[0].due <= now) {
    struct schedule_entry *e = s->heap[0].entry;
    remove_at(s, 0);
    s->fire(s, e);
  }
  s->firing = false;
  arm(s);
}

void schedule_init(struct schedule *s, uv_loop_t *loop, schedule_fire_cb fire) {
  s->loop = loop;
  s->heap = NULL;
  s->n = s->cap = 0;
  s->fire = fire;
  s->firing = false;
  s->on_closed = NULL;
  /* Cannot fail: a timer init only records the loop. */
  uv_timer_init(loop, &s->timer);
  s->timer.data = s;
}

void schedule_entry_init(struct schedule_entry *e) {
  e->due = 0;
  e->index = SCHEDULE_IDLE;
}

void schedule_at(struct schedule *s, struct schedule_entry *e, uint64_t due) {
  bool was_first = s->n && s->heap[0].entry == e;
  /* From within fire, "now" means the next turn: the firing loop must
   * end. */
  if (s->firing && due <= uv_now(s->loop))
    due = uv_now(s->loop) + 1;
  if (e->index != SCHEDULE_IDLE)
    remove_at(s, e->index);
  e->due = due;
  xgrow((void **)&s->heap, &s->cap, s->n + 1, sizeof(*s->heap));
  place(s, s->n, (struct schedule_slot){due, e});
  s->n++;
  sift_up(s, e->index);
  /* The timer only moves when the earliest entry changed. */
  if (!s->firing && (was_first || s->heap[0].entry == e))
    arm(s);
}

void schedule_cancel(struct schedule *s, struct schedule_entry *e) {
  bool was_first;
  if (e->index == SCHEDULE_IDLE)
    return;
  was_first = e->index == 0;
  remove_at(s, e->index);
  if (was_first && !s->firing)
    arm(s);
}

static void on_closed(uv_handle_t *h) {
  struct schedule *s = h->data;
  free(s->heap);
  s->heap = NULL;
  s->n = s->cap = 0;
  if (s->on_closed)
    s->on_closed(s);
}

void schedule_close(struct schedule *s, void (*closed)(struct schedule *s)) {
  for (size_t i = 0; i < s->n; i++)
    s->heap[i].entry->index = SCHEDULE_IDLE;
  s->n = 0;
  s->on_closed = closed;
  uv_close((uv_handle_t *)&s->timer, on_closed);
}
