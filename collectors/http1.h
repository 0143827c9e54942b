/* The fast path for plain http:// feeds: HTTP/1.1 with keep-alive on libuv
 * streams, a bounded pool of connections per host, DNS through
 * uv_getaddrinfo (cached for a minute). A poll costs one write and one read
 * on a connection that stays registered with the loop; curl's per-transfer
 * bookkeeping was most of the daemon's CPU (tests/bench/README.md).
 *
 * Anything this client does not do (TLS, redirects, proxies, codings other
 * than gzip/deflate) is left to curl: see fetch.c. */
#ifndef INDICATORD_HTTP1_H
#define INDICATORD_HTTP1_H

#include "list.h"
#include "response.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* As curl's CURLMOPT_MAX_HOST_CONNECTIONS in fetch.c: extra requests queue. */
#define HTTP1_MAX_HOST_CONNECTIONS 64

struct http1_host;
struct http1_conn;

struct http1_client {
  uv_loop_t *loop;
  struct list_node hosts; /* struct http1_host, kept for the client's life */
  char *rbuf;             /* every read lands here and is parsed at once */
  uv_timer_t sweep;
  bool sweep_fast;     /* checking deadlines every HTTP1_SWEEP_MS */
  uint64_t last_sweep; /* loop time of the previous deadline check */
  bool sweep_deferred; /* the previous check ran late and failed nothing */
  size_t pending;      /* handles and resolves not yet closed or answered */
  bool closing;
  void (*on_closed)(struct http1_client *c);
};

struct http1_req;
/* rc 0: a complete response in resp (borrowed for the call). Otherwise a
 * negative code with the reason in error: -ETIMEDOUT, -EFBIG (max_body),
 * -ENOTSUP (curl can do it), others for transport and protocol errors. */
typedef void (*http1_done_cb)(struct http1_req *req, int rc,
                              const struct response *resp, const char *error);

struct http1_req {
  struct http1_host *host;
  struct http1_conn *conn;
  struct list_node link; /* in the host's queue while queued */
  bool queued, retried;
  const char *head; /* the request head without its final empty line;
                       borrowed until done */
  size_t head_len;
  /* Conditional headers, sent when not NULL; borrowed until done. */
  const char *if_none_match, *if_modified_since;
  struct strbuf *body;
  size_t max_body;
  int64_t timeout_ms;
  uint64_t deadline; /* loop time */
  http1_done_cb done;
};

/* Cannot fail: connections and resolves start with the first request. */
void http1_client_init(struct http1_client *c, uv_loop_t *loop);
/* Every request must be finished or cancelled first. Closes the pooled
 * connections; on_closed runs once all handles are closed. */
void http1_client_close(struct http1_client *c,
                        void (*on_closed)(struct http1_client *c));

/* The pool for host (as in the URL, without IPv6 brackets) and port;
 * created on first use and kept for the life of the client. */
struct http1_host *http1_host_get(struct http1_client *c, const char *host,
                                  int port);

/* Sends the request (head, len: a GET and its header lines, each ending in
 * CRLF, valid until done; then req's conditional headers and the empty
 * line) to host; done runs once, never from within this call. Returns 0 or
 * a negative code (then done never runs). */
MUST_CHECK int http1_start(struct http1_req *req, struct http1_host *host,
                           const char *head, size_t len, struct strbuf *body,
                           size_t max_body, int64_t timeout_ms,
                           http1_done_cb done);
/* Stops a request without calling done; its connection, if any, closes. */
void http1_cancel(struct http1_req *req);

#endif
