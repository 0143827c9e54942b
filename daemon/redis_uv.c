#include "redis_uv.h"

#include "util.h"

#include <stdlib.h>

struct redis_uv {
  redisAsyncContext *ac; /* NULL once hiredis has cleaned up */
  uv_poll_t poll;
  int events;
};

static void on_poll(uv_poll_t *h, int status, int events) {
  struct redis_uv *p = h->data;
  /* On POLLERR libuv reports a status and stops the handle; hiredis must
   * still try the operations it waits for, so that it sees the error and
   * disconnects instead of stalling forever. */
  int ev = status < 0 ? p->events : events;
  if (p->ac && (ev & UV_READABLE))
    redisAsyncHandleRead(p->ac);
  /* Reading may have freed the context (cleanup clears p->ac). */
  if (p->ac && (ev & UV_WRITABLE))
    redisAsyncHandleWrite(p->ac);
}

static void update(struct redis_uv *p, int events) {
  p->events = events;
  if (events)
    uv_poll_start(&p->poll, events, on_poll);
  else
    uv_poll_stop(&p->poll);
}

static void add_read(void *data) {
  struct redis_uv *p = data;
  update(p, p->events | UV_READABLE);
}

static void del_read(void *data) {
  struct redis_uv *p = data;
  update(p, p->events & ~UV_READABLE);
}

static void add_write(void *data) {
  struct redis_uv *p = data;
  update(p, p->events | UV_WRITABLE);
}

static void del_write(void *data) {
  struct redis_uv *p = data;
  update(p, p->events & ~UV_WRITABLE);
}

static void on_closed(uv_handle_t *h) {
  free(h->data);
}

static void cleanup(void *data) {
  struct redis_uv *p = data;
  p->ac = NULL;
  /* hiredis closes the fd right after this returns: stop polling now. */
  uv_poll_stop(&p->poll);
  uv_close((uv_handle_t *)&p->poll, on_closed);
}

int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop) {
  struct redis_uv *p;
  int rc;
  if (ac->ev.data)
    return UV_EEXIST;
  p = xcalloc(1, sizeof(*p));
  rc = uv_poll_init_socket(loop, &p->poll, ac->c.fd);
  if (rc < 0) {
    free(p);
    return rc;
  }
  p->ac = ac;
  p->poll.data = p;
  ac->ev.addRead = add_read;
  ac->ev.delRead = del_read;
  ac->ev.addWrite = add_write;
  ac->ev.delWrite = del_write;
  ac->ev.cleanup = cleanup;
  ac->ev.data = p;
  return 0;
}
