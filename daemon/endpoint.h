/* The HTTP endpoint (`listen`): GET /metrics, /healthz and /status, served by
 * libmicrohttpd without threads: its epoll fd sits under a uv_poll_t and
 * MHD_run is called from the loop. Bodies come from the owner's callbacks;
 * everything else is 404 (405 for methods other than GET and HEAD). */
#ifndef INDICATORD_ENDPOINT_H
#define INDICATORD_ENDPOINT_H

#include "util.h"

#include <stdbool.h>
#include <uv.h>

struct MHD_Daemon;

struct endpoint_ops {
  void (*metrics)(void *data, struct strbuf *out);
  /* Returns true when healthy; otherwise fills reason. */
  bool (*health)(void *data, struct strbuf *reason);
  void (*status)(void *data, struct strbuf *out);
};

struct endpoint {
  uv_loop_t *loop;
  struct MHD_Daemon *mhd;
  uv_poll_t poll;
  uv_timer_t timer;
  const struct endpoint_ops *ops;
  void *data;
  int pending_closes; /* handles whose close callback is due */
  void (*on_closed)(struct endpoint *ep);
};

/* Listens on host:port. Returns 0, or a negative code with the reason in
 * err. */
MUST_CHECK int endpoint_start(struct endpoint *ep, uv_loop_t *loop,
                              const char *host, int port,
                              const struct endpoint_ops *ops, void *data,
                              char *err, size_t errlen);
void endpoint_close(struct endpoint *ep, void (*on_closed)(struct endpoint *));

#endif
