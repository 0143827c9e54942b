#include "endpoint.h"

#include "log.h"
#include "request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUEST_HEAD_MAX (16 * 1024)
/* From accept to a whole request head: bounds a slowloris however slowly
 * it trickles. */
#define REQUEST_DEADLINE_MS 5000
/* From the request to the answer gone and the peer's close. */
#define ANSWER_DEADLINE_MS 10000
/* A connection refused at the limit, or timed out: its answer, then it
 * goes. */
#define SHORT_LINGER_MS 1000

struct endpoint_listener {
  struct endpoint *ep; /* NULL once it is no longer the endpoint's */
  uv_tcp_t tcp;
};

/* A status page request: outlives its connection until answered. */
struct endpoint_request {
  struct endpoint_conn *conn; /* NULL once the connection is closed */
  bool head;
};

struct endpoint_conn {
  struct list_node node;
  struct endpoint_request *waiting; /* for the status page */
  struct endpoint *ep;
  uv_tcp_t tcp;
  uv_timer_t deadline;
  uv_write_t write;
  uv_shutdown_t shutdown;
  struct strbuf out;
  bool answered, written, peer_done, closing;
  int pending_closes;
  size_t len;
  char head[REQUEST_HEAD_MAX];
};

static void endpoint_closed_one(struct endpoint *ep) {
  if (--ep->pending_closes == 0 && ep->on_closed)
    ep->on_closed(ep);
}

/* ---- connections ---- */

static void on_conn_closed(uv_handle_t *h) {
  struct endpoint_conn *c = h->data;
  struct endpoint *ep = c->ep;
  if (--c->pending_closes > 0)
    return;
  strbuf_free(&c->out);
  free(c);
  ep->conns_closing--;
  if (ep->closing)
    endpoint_closed_one(ep);
}

static void close_conn(struct endpoint_conn *c) {
  if (c->closing)
    return;
  c->closing = true;
  if (c->waiting)
    c->waiting->conn = NULL;
  list_remove(&c->node);
  c->ep->nconns--;
  if (!c->answered)
    c->ep->nreading--;
  c->ep->conns_closing++;
  c->pending_closes = 2;
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  uv_close((uv_handle_t *)&c->deadline, on_conn_closed);
}

static void on_shut(uv_shutdown_t *req, int status) {
  struct endpoint_conn *c = req->data;
  /* Otherwise the peer closes when it has read the answer (read EOF), or
   * the deadline does. */
  if (status < 0 || c->peer_done)
    close_conn(c);
}

static void on_written(uv_write_t *req, int status) {
  struct endpoint_conn *c = req->data;
  if (status < 0 || c->closing) {
    close_conn(c);
    return;
  }
  c->written = true;
  c->shutdown.data = c;
  if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shut) < 0)
    close_conn(c);
}

static void on_deadline(uv_timer_t *t);

static void answer(struct endpoint_conn *c, unsigned code, const char *reason,
                   const char *type, const char *extra_header, const char *body,
                   size_t len, bool head_only, uint64_t linger_ms) {
  uv_buf_t buf;
  /* Answered, it no longer counts against the limit: it only waits for
   * the peer to close (or its linger to end). */
  if (!c->answered)
    c->ep->nreading--;
  c->answered = true;
  strbuf_addf(&c->out,
              "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n",
              code, reason, type, len, extra_header ? extra_header : "");
  if (!head_only && len)
    strbuf_add(&c->out, body, len);
  uv_timer_start(&c->deadline, on_deadline, linger_ms, 0);
  buf = uv_buf_init(c->out.buf, (unsigned)c->out.len);
  c->write.data = c;
  if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_written) < 0)
    close_conn(c);
}

static void answer_text(struct endpoint_conn *c, unsigned code,
                        const char *reason, const char *text) {
  answer(c, code, reason, "text/plain; charset=utf-8", NULL, text, strlen(text),
         false, ANSWER_DEADLINE_MS);
}

static void on_deadline(uv_timer_t *t) {
  struct endpoint_conn *c = t->data;
  if (c->answered) {
    close_conn(c);
    return;
  }
  static const char msg[] = "request timeout: no whole request in time\n";
  if (c->waiting) {
    static const char slow[] = "the status page took too long\n";
    c->waiting->conn = NULL;
    c->waiting = NULL;
    c->ep->timed_out++;
    answer(c, 503, "Service Unavailable", "text/plain; charset=utf-8",
           "Retry-After: 1\r\n", slow, sizeof(slow) - 1, false,
           SHORT_LINGER_MS);
    return;
  }
  c->ep->timed_out++;
  answer(c, 408, "Request Timeout", "text/plain; charset=utf-8", NULL, msg,
         sizeof(msg) - 1, false, SHORT_LINGER_MS);
}

/* The routes: one per path. */
static void route(struct endpoint_conn *c, const struct request *rq) {
  struct endpoint *ep = c->ep;
  struct strbuf body = {0};
  bool head = strcmp(rq->method, "HEAD") == 0;
  if (!head && strcmp(rq->method, "GET") != 0) {
    static const char msg[] = "method not allowed: GET or HEAD\n";
    answer(c, 405, "Method Not Allowed", "text/plain; charset=utf-8",
           "Allow: GET, HEAD\r\n", msg, sizeof(msg) - 1, false,
           ANSWER_DEADLINE_MS);
    return;
  }
  ep->served++;
  if (strcmp(rq->path, "/") == 0) {
    struct endpoint_request *req = xcalloc(1, sizeof(*req));
    req->conn = c;
    req->head = head;
    c->waiting = req;
    /* The request is in: from now on the answer's deadline. */
    uv_timer_start(&c->deadline, on_deadline, ANSWER_DEADLINE_MS, 0);
    ep->ops->page(ep->data, req);
    return;
  }
  if (strcmp(rq->path, "/metrics") == 0) {
    ep->ops->metrics(ep->data, &body);
    answer(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", NULL,
           body.buf, body.len, head, ANSWER_DEADLINE_MS);
  } else if (strcmp(rq->path, "/healthz") == 0) {
    bool ok = ep->ops->health(ep->data, &body);
    if (ok)
      strbuf_adds(&body, "ok\n");
    answer(c, ok ? 200 : 503, ok ? "OK" : "Service Unavailable",
           "text/plain; charset=utf-8", NULL, body.buf, body.len, head,
           ANSWER_DEADLINE_MS);
  } else if (strcmp(rq->path, "/status") == 0) {
    ep->ops->status(ep->data, &body);
    answer(c, 200, "OK", "application/json; charset=utf-8", NULL, body.buf,
           body.len, head, ANSWER_DEADLINE_MS);
  } else {
    static const char msg[] = "not found: try /, /metrics, /healthz, /status\n";
    answer(c, 404, "Not Found", "text/plain; charset=utf-8", NULL, msg,
           sizeof(msg) - 1, head, ANSWER_DEADLINE_MS);
  }
  strbuf_free(&body);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  /* After the answer, reads only wait for the peer's close. */
  static char discard[4096];
  struct endpoint_conn *c = h->data;
  (void)suggested;
  if (c->answered || c->len >= sizeof(c->head))
    *buf = uv_buf_init(discard, sizeof(discard));
  else
    *buf = uv_buf_init(c->head + c->len, (unsigned)(sizeof(c->head) - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct endpoint_conn *c = s->data;
  struct request rq;
  long rc;
  (void)buf;
  if (n < 0) {
    /* A peer that closed its side after the request still gets the
     * answer being written. */
    if (c->answered && !c->written && n == UV_EOF)
      c->peer_done = true;
    else
      close_conn(c);
    return;
  }
  if (c->answered || n == 0)
    return;
  c->len += (size_t)n;
  rc = request_parse(c->head, c->len, &rq);
  if (rc == 0 && c->len >= sizeof(c->head))
    answer_text(c, 431, "Request Header Fields Too Large",
                "request head larger than 16 KiB\n");
  else if (rc == -ENAMETOOLONG)
    answer_text(c, 414, "URI Too Long", "request target too long\n");
  else if (rc < 0)
    answer_text(c, 400, "Bad Request",
                "bad request: not an HTTP/1.x request\n");
  else if (rc > 0)
    route(c, &rq);
}

static void on_connection(uv_stream_t *server, int status) {
  struct endpoint_listener *l = server->data;
  struct endpoint *ep = l->ep;
  struct endpoint_conn *c;
  if (status < 0 || !ep || ep->closing)
    return;
  c = xcalloc(1, sizeof(*c));
  c->ep = ep;
  list_init(&c->node);
  /* Cannot fail: a TCP or timer init without flags only records the
   * loop. */
  uv_tcp_init(ep->loop, &c->tcp);
  uv_timer_init(ep->loop, &c->deadline);
  c->tcp.data = c->deadline.data = c;
  list_push_back(&ep->conns, &c->node);
  ep->nconns++;
  ep->nreading++;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
    close_conn(c);
    return;
  }
  if (ep->nreading > ENDPOINT_MAX_CONNECTIONS) {
    /* Accepted only to be told: the listen socket keeps being served. */
    static const char msg[] = "busy: too many connections, try again\n";
    if (!ep->refused++)
      log_warn("endpoint %s: %d connections at once; refusing more with 503",
               ep->where, ENDPOINT_MAX_CONNECTIONS);
    answer(c, 503, "Service Unavailable", "text/plain; charset=utf-8",
           "Retry-After: 1\r\n", msg, sizeof(msg) - 1, false, SHORT_LINGER_MS);
    return;
  }
  uv_timer_start(&c->deadline, on_deadline, REQUEST_DEADLINE_MS, 0);
}

void endpoint_answer(struct endpoint_request *req, unsigned code,
                     const char *type, const char *body, size_t len) {
  struct endpoint_conn *c = req->conn;
  if (c) {
    c->waiting = NULL;
    answer(c, code, code == 200 ? "OK" : "Service Unavailable", type, NULL,
           body, len, req->head, ANSWER_DEADLINE_MS);
  }
  free(req);
}

/* ---- listening ---- */

static void on_listener_closed(uv_handle_t *h) {
  struct endpoint_listener *l = h->data;
  struct endpoint *ep = l->ep;
  free(l);
  if (ep)
    endpoint_closed_one(ep);
}

static void drop_listener(struct endpoint_listener *l) {
  l->ep = NULL;
  uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
}

static int listen_on(struct endpoint *ep, const char *host, int port,
                     struct endpoint_listener **out, char *err, size_t errlen) {
  struct sockaddr_storage sa;
  struct endpoint_listener *l;
  int rc;
  memset(&sa, 0, sizeof(sa));
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&sa) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa) != 0) {
    snprintf(err, errlen, "listen: %s is not an IP address", host);
    return -EINVAL;
  }
  l = xcalloc(1, sizeof(*l));
  rc = uv_tcp_init(ep->loop, &l->tcp);
  if (rc < 0) {
    free(l);
    snprintf(err, errlen, "listen: %s", uv_strerror(rc));
    return rc;
  }
  l->tcp.data = l;
  rc = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&sa, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&l->tcp, 511, on_connection);
  if (rc < 0) {
    snprintf(err, errlen, "listen: cannot serve HTTP on %s%s%s:%d: %s",
             strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
             port, uv_strerror(rc));
    drop_listener(l);
    return rc;
  }
  l->ep = ep;
  *out = l;
  return 0;
}

bool endpoint_is_loopback(const char *host) {
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static void remember(struct endpoint *ep, const char *host, int port) {
  bool v6 = strchr(host, ':') != NULL;
  snprintf(ep->host, sizeof(ep->host), "%s", host);
  ep->port = port;
  snprintf(ep->where, sizeof(ep->where), "%s%s%s:%d", v6 ? "[" : "", host,
           v6 ? "]" : "", port);
}

int endpoint_start(struct endpoint *ep, uv_loop_t *loop, const char *host,
                   int port, const struct endpoint_ops *ops, void *data,
                   char *err, size_t errlen) {
  int rc;
  memset(ep, 0, sizeof(*ep));
  ep->loop = loop;
  ep->ops = ops;
  ep->data = data;
  list_init(&ep->conns);
  rc = listen_on(ep, host, port, &ep->listener, err, errlen);
  if (rc < 0)
    return rc;
  remember(ep, host, port);
  return 0;
}

static void retire_listener(struct endpoint *ep) {
  ep->pending_closes++;
  uv_close((uv_handle_t *)&ep->listener->tcp, on_listener_closed);
  ep->listener = NULL;
}

int endpoint_rebind(struct endpoint *ep, const char *host, int port, char *err,
                    size_t errlen) {
  struct endpoint_listener *l = NULL;
  char old_host[64];
  int old_port = ep->port, rc;
  rc = listen_on(ep, host, port, &l, err, errlen);
  if (rc == UV_EADDRINUSE && port == ep->port) {
    /* 0.0.0.0:P next to 127.0.0.1:P, say: the new socket overlaps the
     * old one, which must go first (uv_close closes the descriptor at
     * once); if the new one still cannot be bound, the old comes back. */
    snprintf(old_host, sizeof(old_host), "%s", ep->host);
    retire_listener(ep);
    rc = listen_on(ep, host, port, &l, err, errlen);
    if (rc < 0) {
      char again[200];
      if (listen_on(ep, old_host, old_port, &ep->listener, again,
                    sizeof(again)) < 0)
        log_error("endpoint: cannot listen on %s again: %s", ep->where, again);
      return rc;
    }
    ep->listener = l;
    remember(ep, host, port);
    return 0;
  }
  if (rc < 0)
    return rc;
  /* The old socket goes; its connections stay with the endpoint. */
  retire_listener(ep);
  ep->listener = l;
  remember(ep, host, port);
  return 0;
}

void endpoint_close(struct endpoint *ep, void (*on_closed)(struct endpoint *)) {
  struct endpoint_conn *c;
  ep->on_closed = on_closed;
  ep->closing = true;
  /* Each connection (open or closing), the listener, and one held until
   * this returns. */
  ep->pending_closes += 1 + (int)(ep->nconns + ep->conns_closing);
  if (ep->listener)
    retire_listener(ep);
  while ((c = list_first(&ep->conns, struct endpoint_conn, node)))
    close_conn(c);
  endpoint_closed_one(ep);
}
