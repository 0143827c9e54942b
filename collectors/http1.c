#include "http1.h"

#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP1_READ_BUFFER (64 * 1024)
#define HTTP1_MAX_ADDRS 8
/* As curl's default DNS cache lifetime. */
#define HTTP1_DNS_TTL_MS MS_PER_MINUTE
/* Deadlines are checked this often: one timer for the whole client instead
 * of a timer start and stop per request. */
#define HTTP1_SWEEP_MS 50
/* As curl's CURLOPT_MAXAGE_CONN: an idle connection older than this is
 * closed rather than trusted (and a daily feed holds no socket all day). */
#define HTTP1_MAX_IDLE_MS (118 * MS_PER_SECOND)

struct http1_host {
  struct http1_client *client;
  struct list_node link; /* in client->hosts */
  char *name;
  char port[8];
  bool numeric; /* an IP literal: never resolved */
  bool resolving;
  int resolve_error;
  uint64_t resolved_at;
  struct sockaddr_storage addrs[HTTP1_MAX_ADDRS];
  size_t naddrs;
  uv_getaddrinfo_t gai;
  struct list_node conns; /* all open connections (http1_conn.link) */
  struct list_node idle;  /* LIFO, the warmest first (http1_conn.idle_link) */
  size_t nconns;
  struct list_node queue; /* requests waiting for a connection, in order */
};

struct http1_conn {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  struct http1_host *host;
  struct list_node link;      /* in host->conns */
  struct list_node idle_link; /* in host->idle while idle */
  struct http1_req *req;
  struct response resp;
  struct strbuf out;
  unsigned addr_index;
  int start_error; /* a connect that failed at once, reported by the sweep */
  uint64_t idle_since; /* loop time */
  bool reused, writing, closing;
};

static void pump(struct http1_host *h);
static void fail_queue(struct http1_host *h, int rc, const char *msg);

static void client_release(struct http1_client *c) {
  if (--c->pending == 0 && c->closing) {
    while (!list_empty(&c->hosts)) {
      struct http1_host *h = list_first(&c->hosts, struct http1_host, link);
      list_remove(&h->link);
      free(h->name);
      free(h);
    }
    free(c->rbuf);
    c->rbuf = NULL;
    if (c->on_closed)
      c->on_closed(c);
  }
}

void http1_client_init(struct http1_client *c, uv_loop_t *loop) {
  memset(c, 0, sizeof(*c));
  c->loop = loop;
  list_init(&c->hosts);
  /* Cannot fail: a timer init only records the loop. */
  uv_timer_init(loop, &c->sweep);
  c->sweep.data = c;
  c->pending = 1; /* the sweep timer */
}

static void on_sweep_closed(uv_handle_t *h) {
  client_release(h->data);
}

/* ---- connections ---- */

static void on_conn_closed(uv_handle_t *handle) {
  struct http1_conn *conn = handle->data;
  struct http1_client *c = conn->host->client;
  response_free(&conn->resp);
  strbuf_free(&conn->out);
  free(conn);
  client_release(c);
}

static void conn_close(struct http1_conn *conn) {
  struct http1_host *h = conn->host;
  if (conn->closing)
    return;
  conn->closing = true;
  list_remove(&conn->idle_link);
  list_remove(&conn->link);
  h->nconns--;
  uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
}

/* Ends conn's request with rc; the connection goes back to the pool when
 * the response allows it, else it closes. */
static void conn_finish(struct http1_conn *conn, int rc, const char *error) {
  struct http1_req *req = conn->req;
  struct http1_host *h = conn->host;
  bool reusable = rc == 0 && conn->resp.keep_alive && !conn->writing;
  conn->req = NULL;
  req->conn = NULL;
  if (!reusable)
    conn_close(conn);
  /* resp stays untouched during the callback: the connection is neither
   * idle nor freed (close callbacks run in a later loop phase) until it
   * returns. */
  req->done(req, rc, &conn->resp, error);
  response_free(&conn->resp);
  if (reusable && !conn->closing && !h->client->closing) {
    conn->reused = true;
    conn->idle_since = uv_now(h->client->loop);
    list_push_front(&h->idle, &conn->idle_link);
  } else if (reusable) {
    conn_close(conn);
  }
  pump(h);
}

static void conn_fail(struct http1_conn *conn, int rc, const char *fmt,
                      const char *detail) {
  char msg[200];
  snprintf(msg, sizeof(msg), fmt, detail);
  conn_close(conn);
  conn_finish(conn, rc, msg);
}

/* A request on a pooled connection that the server had already closed
 * gets one more try on a fresh connection. */
static bool retry_elsewhere(struct http1_conn *conn) {
  struct http1_req *req = conn->req;
  struct http1_host *h = conn->host;
  if (!conn->reused || req->retried || response_started(&conn->resp))
    return false;
  req->retried = true;
  conn->req = NULL;
  req->conn = NULL;
  conn_close(conn);
  list_push_front(&h->queue, &req->link);
  req->queued = true;
  pump(h);
  return true;
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  struct http1_conn *conn = handle->data;
  (void)suggested;
  buf->base = conn->host->client->rbuf;
  buf->len = HTTP1_READ_BUFFER;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  struct http1_conn *conn = stream->data;
  int rc;
  if (nread == 0 || conn->closing)
    return;
  if (!conn->req) {
    /* Data or a close on an idle connection: it cannot be reused. */
    conn_close(conn);
    return;
  }
  if (nread < 0) {
    if (retry_elsewhere(conn))
      return;
    rc = response_eof(&conn->resp);
    if (rc == 1) {
      conn->resp.keep_alive = false;
      conn_finish(conn, 0, NULL);
    } else if (nread == UV_EOF) {
      conn_fail(conn, -EPROTO, "%s", conn->resp.error);
    } else {
      conn_fail(conn, (int)nread, "receive failed: %s",
                uv_strerror((int)nread));
    }
    return;
  }
  {
    size_t used = 0;
    rc = response_feed(&conn->resp, buf->base, (size_t)nread, &used);
    if (rc == 1) {
      if (used < (size_t)nread)
        conn->resp.keep_alive = false; /* bytes we did not ask for */
      conn_finish(conn, 0, NULL);
    } else if (rc < 0) {
      conn_fail(conn, rc, "%s", conn->resp.error);
    }
  }
}

static void on_written(uv_write_t *w, int status) {
  struct http1_conn *conn = w->data;
  conn->writing = false;
  if (status == UV_ECANCELED || conn->closing || !conn->req)
    return;
  if (status < 0 && !retry_elsewhere(conn))
    conn_fail(conn, status, "send failed: %s", uv_strerror(status));
}

static void send_request(struct http1_conn *conn) {
  struct http1_req *req = conn->req;
  struct strbuf *out = &conn->out;
  uv_buf_t b;
  int rc;
  strbuf_reset(out);
  strbuf_add(out, req->head, req->head_len);
  /* Appended, not formatted: this runs for every fetch. */
  if (req->if_none_match) {
    strbuf_adds(out, "If-None-Match: ");
    strbuf_adds(out, req->if_none_match);
    strbuf_add(out, "\r\n", 2);
  }
  if (req->if_modified_since) {
    strbuf_adds(out, "If-Modified-Since: ");
    strbuf_adds(out, req->if_modified_since);
    strbuf_add(out, "\r\n", 2);
  }
  strbuf_add(out, "\r\n", 2);
  /* Almost always the whole request fits the socket buffer: written at
   * once, no write request, no epoll change when it completes. */
  b = uv_buf_init(out->buf, (unsigned)out->len);
  rc = uv_try_write((uv_stream_t *)&conn->tcp, &b, 1);
  if (rc == (int)out->len)
    return;
  if (rc < 0 && rc != UV_EAGAIN) {
    if (!retry_elsewhere(conn))
      conn_fail(conn, rc, "send failed: %s", uv_strerror(rc));
    return;
  }
  /* The rest goes out with a write request; out stays untouched until it
   * completes (the connection is not reused while writing). */
  b = uv_buf_init(out->buf + (rc > 0 ? rc : 0),
                  (unsigned)(out->len - (size_t)(rc > 0 ? rc : 0)));
  conn->write.data = conn;
  rc = uv_write(&conn->write, (uv_stream_t *)&conn->tcp, &b, 1, on_written);
  if (rc < 0) {
    if (!retry_elsewhere(conn))
      conn_fail(conn, rc, "send failed: %s", uv_strerror(rc));
    return;
  }
  conn->writing = true;
}

static struct http1_conn *conn_new(struct http1_host *h);
static void conn_connect(struct http1_conn *conn);

static void on_connected(uv_connect_t *cr, int status) {
  struct http1_conn *conn = cr->data;
  struct http1_host *h = conn->host;
  if (status == UV_ECANCELED || conn->closing)
    return;
  if (!conn->req) {
    conn_close(conn);
    return;
  }
  if (status < 0) {
    /* Try the host's next address with the same request and deadline. */
    if (conn->addr_index + 1 < h->naddrs) {
      struct http1_conn *next = conn_new(h);
      struct http1_req *req = conn->req;
      next->addr_index = conn->addr_index + 1;
      conn->req = NULL;
      conn_close(conn);
      next->req = req;
      req->conn = next;
      conn_connect(next);
      return;
    }
    conn_fail(conn, status, "could not connect: %s", uv_strerror(status));
    return;
  }
  uv_tcp_nodelay(&conn->tcp, 1);
  status = uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
  if (status < 0) {
    conn_fail(conn, status, "could not connect: %s", uv_strerror(status));
    return;
  }
  send_request(conn);
}

static struct http1_conn *conn_new(struct http1_host *h) {
  struct http1_conn *conn = xcalloc(1, sizeof(*conn));
  struct http1_client *c = h->client;
  /* Allocated with the first connection: the alerts' engine never uses
   * http1. */
  if (!c->rbuf)
    c->rbuf = xmalloc(HTTP1_READ_BUFFER);
  conn->host = h;
  /* Cannot fail: without an address family no socket is made until the
   * connect, which reports its own errors. */
  uv_tcp_init(c->loop, &conn->tcp);
  conn->tcp.data = conn;
  c->pending++;
  list_init(&conn->idle_link);
  list_push_front(&h->conns, &conn->link);
  h->nconns++;
  return conn;
}

static void sweep_start(struct http1_client *c);

/* Connects conn (whose req is set) to the host's address addr_index; the
 * request's deadline covers connect and exchange. */
static void conn_connect(struct http1_conn *conn) {
  struct http1_host *h = conn->host;
  int rc;
  response_init(&conn->resp, conn->req->body, conn->req->max_body);
  conn->connect.data = conn;
  rc = uv_tcp_connect(&conn->connect, &conn->tcp,
                      (const struct sockaddr *)&h->addrs[conn->addr_index],
                      on_connected);
  /* Reported by the sweep: a caller never sees its callback run from
   * within http1_start. */
  if (rc < 0)
    conn->start_error = rc;
  sweep_start(h->client);
}

static void conn_assign(struct http1_conn *conn, struct http1_req *req) {
  conn->req = req;
  req->conn = conn;
  response_init(&conn->resp, req->body, req->max_body);
  sweep_start(conn->host->client);
  send_request(conn);
}

static void timed_out(struct http1_req *req, char *msg, size_t len) {
  snprintf(msg, len, "timed out after %.1f s",
           (double)req->timeout_ms / 1000.0);
}

/* Fails what is past its deadline, queued or on a connection. */
static void on_sweep(uv_timer_t *t) {
  struct http1_client *c = t->data;
  uint64_t now = uv_now(c->loop);
  bool busy = false;
  char msg[200];
  struct list_node *hn, *n;
  /* A check that runs late follows a loop turn that held the thread: the
   * answers that arrived meanwhile wait in the sockets, and timers run
   * before the loop reads them. Judge deadlines one turn later, once they
   * are read; only once in a row, so a loop held all the time still times
   * requests out. */
  bool late = c->sweep_fast && now - c->last_sweep > 2 * HTTP1_SWEEP_MS &&
              !c->sweep_deferred;
  c->last_sweep = now;
  c->sweep_deferred = late;
  if (late)
    return;
  list_for_each(hn, &c->hosts) {
    struct http1_host *h = container_of(hn, struct http1_host, link);
    if (!list_empty(&h->queue) && !h->naddrs && !h->resolving) {
      snprintf(
          msg, sizeof(msg), "could not resolve host: %s",
          uv_strerror(h->resolve_error ? h->resolve_error : UV_EAI_NODATA));
      fail_queue(h, -EHOSTUNREACH, msg);
    }
  again:
    list_for_each(n, &h->conns) {
      struct http1_conn *conn = container_of(n, struct http1_conn, link);
      if (list_linked(&conn->idle_link) &&
          conn->idle_since + HTTP1_MAX_IDLE_MS <= now) {
        conn_close(conn);
        goto again;
      }
      if (!conn->req)
        continue;
      if (conn->start_error) {
        conn_fail(conn, conn->start_error, "could not connect: %s",
                  uv_strerror(conn->start_error));
        goto again;
      }
      if (now >= conn->req->deadline) {
        timed_out(conn->req, msg, sizeof(msg));
        conn_fail(conn, -ETIMEDOUT, "%s", msg);
        goto again;
      }
      busy = true;
    }
    list_for_each(n, &h->queue) {
      struct http1_req *req = container_of(n, struct http1_req, link);
      if (now < req->deadline) {
        busy = true;
        continue;
      }
      list_remove(&req->link);
      req->queued = false;
      timed_out(req, msg, sizeof(msg));
      req->done(req, -ETIMEDOUT, NULL, msg);
      goto again; /* done may have started or cancelled requests */
    }
  }
  if (busy)
    return;
  /* Nothing in flight: wake up only when the oldest idle connection
   * expires. */
  c->sweep_fast = false;
  {
    uint64_t next = UINT64_MAX;
    list_for_each(hn, &c->hosts) {
      struct http1_host *h = container_of(hn, struct http1_host, link);
      list_for_each(n, &h->idle) {
        struct http1_conn *conn = container_of(n, struct http1_conn, idle_link);
        if (conn->idle_since + HTTP1_MAX_IDLE_MS < next)
          next = conn->idle_since + HTTP1_MAX_IDLE_MS;
      }
    }
    if (next == UINT64_MAX)
      uv_timer_stop(&c->sweep);
    else
      uv_timer_start(&c->sweep, on_sweep, next > now ? next - now : 0, 0);
  }
}

static void sweep_start(struct http1_client *c) {
  if (!c->sweep_fast) {
    c->sweep_fast = true;
    c->last_sweep = uv_now(c->loop); /* not the slow sweep's long wait */
    uv_timer_start(&c->sweep, on_sweep, HTTP1_SWEEP_MS, HTTP1_SWEEP_MS);
  }
}

/* ---- hosts, resolving, the queue ---- */

static struct http1_req *queue_pop(struct http1_host *h) {
  struct http1_req *req = list_first(&h->queue, struct http1_req, link);
  list_remove(&req->link);
  req->queued = false;
  return req;
}

static void fail_queue(struct http1_host *h, int rc, const char *msg) {
  while (!list_empty(&h->queue)) {
    struct http1_req *req = queue_pop(h);
    req->done(req, rc, NULL, msg);
  }
}

static void on_resolved(uv_getaddrinfo_t *gai, int status,
                        struct addrinfo *res) {
  struct http1_host *h = gai->data;
  struct http1_client *c = h->client;
  h->resolving = false;
  if (status == 0) {
    size_t n = 0;
    for (struct addrinfo *ai = res; ai && n < HTTP1_MAX_ADDRS; ai = ai->ai_next)
      if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
        memcpy(&h->addrs[n++], ai->ai_addr, ai->ai_addrlen);
    h->naddrs = n;
    h->resolved_at = uv_now(c->loop);
    if (!n)
      status = UV_EAI_NODATA;
  }
  uv_freeaddrinfo(res);
  if (!c->closing) {
    if (status < 0) {
      char msg[200];
      snprintf(msg, sizeof(msg), "could not resolve host %s: %s", h->name,
               uv_strerror(status));
      h->naddrs = 0;
      fail_queue(h, -EHOSTUNREACH, msg);
    } else {
      pump(h);
    }
  }
  client_release(c);
}

static bool resolve_if_needed(struct http1_host *h) {
  struct http1_client *c = h->client;
  struct addrinfo hints;
  int rc;
  if (h->numeric || h->resolving)
    return h->resolving;
  if (h->naddrs && uv_now(c->loop) - h->resolved_at < HTTP1_DNS_TTL_MS)
    return false;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  h->gai.data = h;
  rc = uv_getaddrinfo(c->loop, &h->gai, on_resolved, h->name, h->port, &hints);
  if (rc < 0) {
    h->naddrs = 0;
    h->resolve_error = rc;
    return false;
  }
  h->resolving = true;
  c->pending++;
  return true;
}

static void pump(struct http1_host *h) {
  struct http1_client *c = h->client;
  if (c->closing || list_empty(&h->queue) || resolve_if_needed(h))
    return;
  if (!h->naddrs) {
    /* The resolve could not even start: reported by the sweep, so that
     * no caller sees its callback from within http1_start. */
    sweep_start(c);
    return;
  }
  while (!list_empty(&h->queue) &&
         (!list_empty(&h->idle) || h->nconns < HTTP1_MAX_HOST_CONNECTIONS)) {
    struct http1_req *req = queue_pop(h);
    if (uv_now(c->loop) >= req->deadline) {
      char msg[64];
      timed_out(req, msg, sizeof(msg));
      req->done(req, -ETIMEDOUT, NULL, msg);
      continue;
    }
    if (!list_empty(&h->idle)) {
      struct http1_conn *conn =
          list_first(&h->idle, struct http1_conn, idle_link);
      list_remove(&conn->idle_link);
      conn_assign(conn, req);
    } else {
      struct http1_conn *conn = conn_new(h);
      conn->req = req;
      req->conn = conn;
      conn_connect(conn);
    }
  }
}

struct http1_host *http1_host_get(struct http1_client *c, const char *host,
                                  int port) {
  struct http1_host *h;
  struct list_node *n;
  char portbuf[8];
  snprintf(portbuf, sizeof(portbuf), "%d", port);
  list_for_each(n, &c->hosts) {
    h = container_of(n, struct http1_host, link);
    if (strcmp(h->name, host) == 0 && strcmp(h->port, portbuf) == 0)
      return h;
  }
  h = xcalloc(1, sizeof(*h));
  h->client = c;
  list_init(&h->conns);
  list_init(&h->idle);
  list_init(&h->queue);
  h->name = xstrdup(host);
  memcpy(h->port, portbuf, sizeof(portbuf));
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&h->addrs[0]) == 0 ||
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&h->addrs[0]) == 0) {
    h->numeric = true;
    h->naddrs = 1;
  }
  list_push_front(&c->hosts, &h->link);
  return h;
}

int http1_start(struct http1_req *req, struct http1_host *host,
                const char *head, size_t len, struct strbuf *body,
                size_t max_body, int64_t timeout_ms, http1_done_cb done) {
  struct http1_client *c = host->client;
  if (c->closing)
    return -ESHUTDOWN;
  if (req->queued || req->conn)
    return -EBUSY;
  req->host = host;
  req->head = head;
  req->head_len = len;
  req->body = body;
  req->max_body = max_body;
  req->timeout_ms = timeout_ms;
  uv_update_time(c->loop);
  req->deadline = uv_now(c->loop) + (uint64_t)timeout_ms;
  req->done = done;
  req->retried = false;
  req->queued = true;
  list_push_back(&host->queue, &req->link);
  sweep_start(c);
  pump(host);
  return 0;
}

void http1_cancel(struct http1_req *req) {
  if (req->queued) {
    list_remove(&req->link);
    req->queued = false;
  }
  if (req->conn) {
    struct http1_conn *conn = req->conn;
    conn->req = NULL;
    req->conn = NULL;
    conn_close(conn);
  }
}

void http1_client_close(struct http1_client *c,
                        void (*on_closed)(struct http1_client *c)) {
  struct list_node *n;
  c->closing = true;
  c->on_closed = on_closed;
  list_for_each(n, &c->hosts) {
    struct http1_host *h = container_of(n, struct http1_host, link);
    if (h->resolving)
      uv_cancel((uv_req_t *)&h->gai);
    while (!list_empty(&h->conns)) {
      struct http1_conn *conn = list_first(&h->conns, struct http1_conn, link);
      if (conn->req)
        http1_cancel(conn->req);
      else
        conn_close(conn);
    }
  }
  uv_close((uv_handle_t *)&c->sweep, on_sweep_closed);
}
