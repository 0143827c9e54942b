#include "redis_uv.h"

#include "util.h"

#include <stdbool.h>
#include <stdlib.h>

struct redis_uv {
  redisAsyncContext *ac; /* NULL once hiredis has cleaned up */
  uv_poll_t poll;
  uv_prepare_t flush;
  int events; /* what the poll handle watches */
  bool want_write, flushing;
  int pending_closes; /* the handles, until closed */
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

/* hiredis asks for reads after every reply: only a real change touches
 * epoll (each uv_poll_start costs two epoll_ctl calls). */
static void set_poll(struct redis_uv *p, int events) {
  if (events == p->events)
    return;
  p->events = events;
  if (events)
    uv_poll_start(&p->poll, events, on_poll);
  else
    uv_poll_stop(&p->poll);
}

/* Runs just before the loop blocks: every command queued during this turn
 * goes out in one write, without waiting for a writable event. Only when
 * the socket does not take it all does the poll handle watch for writes. */
static void on_flush(uv_prepare_t *h) {
  struct redis_uv *p = h->data;
  uv_prepare_stop(&p->flush);
  if (!p->ac || !p->want_write)
    return;
  p->flushing = true;
  redisAsyncHandleWrite(p->ac);
  if (p->ac) {
    p->flushing = false;
    if (p->want_write)
      set_poll(p, p->events | UV_WRITABLE);
  }
}

static void add_read(void *data) {
  struct redis_uv *p = data;
  set_poll(p, p->events | UV_READABLE);
}

static void del_read(void *data) {
  struct redis_uv *p = data;
  set_poll(p, p->events & ~UV_READABLE);
}

static void add_write(void *data) {
  struct redis_uv *p = data;
  p->want_write = true;
  /* While connecting, writability is how the connect completes. */
  if (!(p->ac->c.flags & REDIS_CONNECTED))
    set_poll(p, p->events | UV_WRITABLE);
  else if (!p->flushing && !(p->events & UV_WRITABLE))
    uv_prepare_start(&p->flush, on_flush);
}

static void del_write(void *data) {
  struct redis_uv *p = data;
  p->want_write = false;
  set_poll(p, p->events & ~UV_WRITABLE);
}

static void on_closed(uv_handle_t *h) {
  struct redis_uv *p = h->data;
  if (--p->pending_closes == 0)
    free(p);
}

static void cleanup(void *data) {
  struct redis_uv *p = data;
  p->ac = NULL;
  /* hiredis closes the fd right after this returns: stop polling now. */
  uv_poll_stop(&p->poll);
  uv_close((uv_handle_t *)&p->poll, on_closed);
  uv_close((uv_handle_t *)&p->flush, on_closed);
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
  /* Cannot fail: a prepare init only records the loop. */
  uv_prepare_init(loop, &p->flush);
  p->pending_closes = 2;
  p->ac = ac;
  p->poll.data = p;
  p->flush.data = p;
  ac->ev.addRead = add_read;
  ac->ev.delRead = del_read;
  ac->ev.addWrite = add_write;
  ac->ev.delWrite = del_write;
  ac->ev.cleanup = cleanup;
  ac->ev.data = p;
  return 0;
}
