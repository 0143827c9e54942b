#include "endpoint.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#define MAX_CONNECTIONS 64
#define CONNECTION_MEMORY (16 * 1024) /* bounds request headers */
#define CONNECTION_TIMEOUT_S 10

static void run_mhd(struct endpoint *ep);

static void on_timer(uv_timer_t *t) {
  run_mhd(t->data);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  run_mhd(h->data);
}

/* Serves whatever is ready and re-arms the timer MHD asks for. */
static void run_mhd(struct endpoint *ep) {
  MHD_UNSIGNED_LONG_LONG timeout;
  if (!ep->mhd)
    return;
  MHD_run(ep->mhd);
  if (MHD_get_timeout(ep->mhd, &timeout) == MHD_YES)
    uv_timer_start(&ep->timer, on_timer, (uint64_t)timeout, 0);
  else
    uv_timer_stop(&ep->timer);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code,
                             const char *type, const char *body, size_t len) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  enum MHD_Result rc;
  if (!r)
    return MHD_NO;
  MHD_add_response_header(r, "Content-Type", type);
  MHD_add_response_header(r, "Cache-Control", "no-store");
  rc = MHD_queue_response(c, code, r);
  MHD_destroy_response(r);
  return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  struct endpoint *ep = cls;
  struct strbuf body = {0};
  enum MHD_Result rc;
  (void)version;
  (void)upload;
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    static const char msg[] = "method not allowed\n";
    return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", msg,
                 sizeof(msg) - 1);
  }
  /* A GET carries no body; anything uploaded is ignored. */
  if (*upload_size) {
    *upload_size = 0;
    return MHD_YES;
  }
  (void)con_cls;
  if (strcmp(url, "/metrics") == 0) {
    ep->ops->metrics(ep->data, &body);
    rc = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
               body.buf ? body.buf : "", body.len);
  } else if (strcmp(url, "/healthz") == 0) {
    bool ok = ep->ops->health(ep->data, &body);
    if (ok)
      strbuf_adds(&body, "ok\n");
    rc = reply(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
               "text/plain; charset=utf-8", body.buf, body.len);
  } else if (strcmp(url, "/status") == 0) {
    ep->ops->status(ep->data, &body);
    rc = reply(c, MHD_HTTP_OK, "application/json; charset=utf-8",
               body.buf ? body.buf : "", body.len);
  } else {
    static const char msg[] = "not found: try /metrics, /healthz, /status\n";
    rc = reply(c, MHD_HTTP_NOT_FOUND, "text/plain", msg, sizeof(msg) - 1);
  }
  strbuf_free(&body);
  return rc;
}

int endpoint_start(struct endpoint *ep, uv_loop_t *loop, const char *host,
                   int port, const struct endpoint_ops *ops, void *data,
                   char *err, size_t errlen) {
  struct sockaddr_storage sa;
  unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
  const union MHD_DaemonInfo *info;
  int rc;
  memset(ep, 0, sizeof(*ep));
  memset(&sa, 0, sizeof(sa));
  ep->loop = loop;
  ep->ops = ops;
  ep->data = data;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&sa) != 0) {
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa) != 0) {
      snprintf(err, errlen, "listen: %s is not an IP address", host);
      return -EINVAL;
    }
    flags |= MHD_USE_IPv6;
  }
  ep->mhd = MHD_start_daemon(
      flags, (uint16_t)port, NULL, NULL, on_request, ep, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
      (unsigned)MAX_CONNECTIONS, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      (size_t)CONNECTION_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
  if (!ep->mhd) {
    snprintf(err, errlen, "listen: cannot serve HTTP on %s:%d (in use?)", host,
             port);
    return -EADDRINUSE;
  }
  info = MHD_get_daemon_info(ep->mhd, MHD_DAEMON_INFO_EPOLL_FD);
  if (!info) {
    MHD_stop_daemon(ep->mhd);
    ep->mhd = NULL;
    snprintf(err, errlen, "listen: no epoll descriptor from libmicrohttpd");
    return -EIO;
  }
  rc = uv_poll_init(loop, &ep->poll, info->epoll_fd);
  if (rc < 0) {
    MHD_stop_daemon(ep->mhd);
    ep->mhd = NULL;
    snprintf(err, errlen, "listen: %s", uv_strerror(rc));
    return rc;
  }
  ep->poll.data = ep;
  /* Cannot fail: a timer init only records the loop. */
  uv_timer_init(loop, &ep->timer);
  ep->timer.data = ep;
  uv_poll_start(&ep->poll, UV_READABLE, on_poll);
  run_mhd(ep);
  return 0;
}

static void on_handle_closed(uv_handle_t *h) {
  struct endpoint *ep = h->data;
  if (--ep->pending_closes == 0 && ep->on_closed)
    ep->on_closed(ep);
}

void endpoint_close(struct endpoint *ep, void (*on_closed)(struct endpoint *)) {
  ep->on_closed = on_closed;
  ep->pending_closes = 2;
  /* Stop polling before MHD closes its epoll descriptor. */
  uv_poll_stop(&ep->poll);
  MHD_stop_daemon(ep->mhd);
  ep->mhd = NULL;
  uv_close((uv_handle_t *)&ep->poll, on_handle_closed);
  uv_close((uv_handle_t *)&ep->timer, on_handle_closed);
}
