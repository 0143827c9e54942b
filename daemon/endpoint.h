/* The HTTP endpoint (`listen`): GET /, /metrics, /healthz and /status on
 * the loop, libuv TCP and our own request reader (request.c). Bodies come
 * from the owner's callbacks, the status page's (/) later: its connection
 * waits until endpoint_answer (or its answer deadline: 503). A path not
 * routed is 404, a method other than GET and HEAD 405. One request per
 * connection (Connection: close).
 *
 * Built to stay up under abuse: each connection has a deadline for its
 * request to arrive (a slowloris sending a byte every few seconds gets a
 * 408 and is closed) and another for its answer to leave; at most
 * ENDPOINT_MAX_CONNECTIONS wait for their request at once, and one more is
 * accepted only to be told 503 and closed, so a flood neither blocks the
 * listen socket nor leaves it unwatched; request heads are bounded
 * (431). */
#ifndef INDICATORD_ENDPOINT_H
#define INDICATORD_ENDPOINT_H

#include "list.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define ENDPOINT_MAX_CONNECTIONS 256

struct endpoint_request; /* a request answered later */

struct endpoint_ops {
  void (*metrics)(void *data, struct strbuf *out);
  /* Returns true when healthy; otherwise fills reason. */
  bool (*health)(void *data, struct strbuf *reason);
  void (*status)(void *data, struct strbuf *out);
  /* GET /: answered through endpoint_answer, exactly once, from within
   * this call or later. */
  void (*page)(void *data, struct endpoint_request *req);
};

struct endpoint_listener; /* one listening socket */

struct endpoint {
  uv_loop_t *loop;
  struct endpoint_listener *listener;
  char host[64]; /* where it listens */
  int port;
  char where[80]; /* "host:port", for logs */
  const struct endpoint_ops *ops;
  void *data;
  struct list_node conns; /* struct endpoint_conn */
  size_t nconns;
  size_t nreading;      /* connections still waiting for their request */
  size_t conns_closing; /* closed, their handles not yet */
  uint64_t served, refused, timed_out; /* for /metrics */
  bool closing;
  int pending_closes; /* listeners and connections, until closed */
  void (*on_closed)(struct endpoint *ep);
};

/* Listens on host:port (an IP address). Returns 0, or a negative code with
 * the reason in err (nothing is left open then). */
MUST_CHECK int endpoint_start(struct endpoint *ep, uv_loop_t *loop,
                              const char *host, int port,
                              const struct endpoint_ops *ops, void *data,
                              char *err, size_t errlen);
/* Listens on host:port instead; the connections in progress finish. When
 * the new address cannot be bound the old one stays: returns a negative
 * code with the reason in err. */
MUST_CHECK int endpoint_rebind(struct endpoint *ep, const char *host, int port,
                               char *err, size_t errlen);
/* Whether host (an IP address) is a loopback address. */
bool endpoint_is_loopback(const char *host);
void endpoint_close(struct endpoint *ep, void (*on_closed)(struct endpoint *));
/* Answers a request handed to ops->page (body copied). A request whose
 * connection went meanwhile (closed by its client, its deadline or the
 * endpoint's close) is only forgotten. */
void endpoint_answer(struct endpoint_request *req, unsigned code,
                     const char *type, const char *body, size_t len);

#endif
