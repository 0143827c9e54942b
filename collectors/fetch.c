#include "fetch.h"

#include "feed_format.h"
#include "log.h"
#include "version.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Buffers above this are released after each fetch: with thousands of
 * feeds, bodies kept between polls would be most of the memory. */
#define FETCH_KEEP_BUFFER 4096

struct fetch_curl {
  struct fetch_xfer xfer;
  struct fetch_job *job;
  CURL *easy;
  struct curl_slist *headers;
  bool too_big;
  char *resp_etag, *resp_last_modified; /* of the response in flight */
  char errbuf[CURL_ERROR_SIZE];
};

struct fetch_socket {
  uv_poll_t poll;
  curl_socket_t fd;
  struct fetch_engine *eng;
};

static void check_done(struct fetch_engine *e);

static void on_socket_closed(uv_handle_t *h) {
  free(container_of((uv_poll_t *)h, struct fetch_socket, poll));
}

/* Tells curl what happened on fd (or that its timer expired) and ends the
 * transfers it finished. A failure is curl's own state gone wrong (out of
 * memory, a bug): no caller can act on it, so it is logged here; the
 * transfers involved end with their own timeouts. */
static void drive(struct fetch_engine *e, curl_socket_t fd, int flags) {
  int running = 0;
  CURLMcode mc = curl_multi_socket_action(e->multi, fd, flags, &running);
  if (mc != CURLM_OK)
    log_error("fetch: curl_multi_socket_action: %s", curl_multi_strerror(mc));
  check_done(e);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  struct fetch_socket *s = h->data;
  struct fetch_engine *e = s->eng;
  int flags = 0;
  if (status < 0) {
    /* libuv has stopped the handle (POLLERR); let curl fail the transfer. */
    flags = CURL_CSELECT_ERR;
  } else {
    if (events & UV_READABLE)
      flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
      flags |= CURL_CSELECT_OUT;
  }
  drive(e, s->fd, flags);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                          void *socketp) {
  struct fetch_engine *e = userp;
  struct fetch_socket *s = socketp;
  int events = 0, rc;
  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    /* curl may close fd as soon as we return: stop polling now. A REMOVE for
     * a socket never announced (socketp NULL) is a no-op. */
    if (s) {
      uv_poll_stop(&s->poll);
      uv_close((uv_handle_t *)&s->poll, on_socket_closed);
      curl_multi_assign(e->multi, fd, NULL);
    }
    return 0;
  }
  if (!s) {
    s = xcalloc(1, sizeof(*s));
    s->fd = fd;
    s->eng = e;
    rc = uv_poll_init_socket(e->loop, &s->poll, fd);
    if (rc < 0) {
      free(s);
      return -1;
    }
    s->poll.data = s;
    curl_multi_assign(e->multi, fd, s);
  }
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
    events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
    events |= UV_WRITABLE;
  rc = uv_poll_start(&s->poll, events, on_poll);
  return rc < 0 ? -1 : 0;
}

static void on_timer(uv_timer_t *t) {
  drive(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
  struct fetch_engine *e = userp;
  (void)multi;
  /* Never call curl from here: only arm or stop the timer. */
  if (timeout_ms < 0)
    uv_timer_stop(&e->timer);
  else
    uv_timer_start(&e->timer, on_timer, (uint64_t)timeout_ms, 0);
  return 0;
}

int fetch_engine_init(struct fetch_engine *e, uv_loop_t *loop) {
  int rc;
  memset(e, 0, sizeof(*e));
  e->loop = loop;
  e->multi = curl_multi_init();
  if (!e->multi)
    return -ENOMEM;
  rc = uv_timer_init(loop, &e->timer);
  if (rc < 0) {
    curl_multi_cleanup(e->multi);
    return rc;
  }
  http1_client_init(&e->http, loop);
  e->timer.data = e;
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
  /* Enough idle connections that every host of a large config keeps one. */
  curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, 1024L);
  /* Many feeds often share one host; a bounded number of connections to it
   * keeps us polite and the server responsive. Extra transfers queue. */
  curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
  return 0;
}

static void engine_closed_one(struct fetch_engine *e) {
  if (--e->pending_closes == 0 && e->on_closed)
    e->on_closed(e);
}

static void on_engine_timer_closed(uv_handle_t *h) {
  engine_closed_one(h->data);
}

static void on_http_closed(struct http1_client *c) {
  engine_closed_one(container_of(c, struct fetch_engine, http));
}

void fetch_engine_close(struct fetch_engine *e,
                        void (*on_closed)(struct fetch_engine *e)) {
  e->on_closed = on_closed;
  e->pending_closes = 2;
  /* Cleanup may close pooled connections through the socket callback, so
   * the timer and loop must still be valid here. */
  curl_multi_cleanup(e->multi);
  e->multi = NULL;
  http1_client_close(&e->http, on_http_closed);
  uv_close((uv_handle_t *)&e->timer, on_engine_timer_closed);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp) {
  struct fetch_curl *cu = userp;
  struct fetch_job *job = cu->job;
  size_t len = size * nmemb;
  if (job->body.len + len > job->max_body) {
    cu->too_big = true;
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  strbuf_add(&job->body, data, len);
  return len;
}

static void set_header_value(char **slot, const char *v, size_t len) {
  while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
    len--;
  while (len && (*v == ' ' || *v == '\t')) {
    v++;
    len--;
  }
  free(*slot);
  *slot = len ? xstrndup(v, len) : NULL;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp) {
  struct fetch_curl *job = userp;
  size_t len = size * nmemb;
  /* A new status line (after a redirect): forget the previous headers. */
  if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
    free(job->resp_etag);
    free(job->resp_last_modified);
    job->resp_etag = job->resp_last_modified = NULL;
  } else if (len > 5 && strncasecmp(data, "ETag:", 5) == 0) {
    set_header_value(&job->resp_etag, data + 5, len - 5);
  } else if (len > 14 && strncasecmp(data, "Last-Modified:", 14) == 0) {
    set_header_value(&job->resp_last_modified, data + 14, len - 14);
  }
  return len;
}

static void finish(struct fetch_job *job, CURLcode code);
static void job_done(struct fetch_xfer *x, CURLcode code);

/* Gives job its own easy handle with every option of its feed. */
static int curl_prepare(struct fetch_job *job) {
  const struct feed *feed = job->feed;
  struct fetch_curl *cu;
  CURL *c = curl_easy_init();
  if (!c)
    return -ENOMEM;
  cu = xcalloc(1, sizeof(*cu));
  cu->job = job;
  cu->easy = c;
  cu->xfer.done = job_done;
  job->curl = cu;
  curl_easy_setopt(c, CURLOPT_PRIVATE, &cu->xfer);
  curl_easy_setopt(c, CURLOPT_URL, feed->url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)feed->timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)feed->timeout_ms);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* gzip, deflate, ... */
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)feed->max_body);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, cu);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, cu);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cu->errbuf);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "indicatord/" INDICATORD_VERSION);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, feed->tls_verify ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, feed->tls_verify ? 2L : 0L);
  if (feed->ca_file)
    curl_easy_setopt(c, CURLOPT_CAINFO, feed->ca_file);
  if (feed->cert_file) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, feed->cert_file);
    curl_easy_setopt(c, CURLOPT_SSLKEY, feed->key_file);
  }
  if (feed->basic_user) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, feed->basic_user);
    curl_easy_setopt(c, CURLOPT_PASSWORD, feed->basic_password);
  } else if (feed->bearer_token) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, feed->bearer_token);
  }
  return 0;
}

static bool env_set(const char *name) {
  const char *v = getenv(name);
  return v && *v;
}

/* Headers http1 sends itself; a feed that sets one goes through curl, which
 * knows how to replace them. */
static bool own_header(const char *name) {
  static const char *const own[] = {"host",
                                    "user-agent",
                                    "accept",
                                    "accept-encoding",
                                    "authorization",
                                    "connection",
                                    "te",
                                    "transfer-encoding",
                                    "content-length",
                                    "if-none-match",
                                    "if-modified-since"};
  for (size_t i = 0; i < ARRAY_SIZE(own); i++)
    if (strcasecmp(name, own[i]) == 0)
      return true;
  return false;
}

static bool header_safe(const char *s) {
  for (; *s; s++)
    if (*s == '\r' || *s == '\n')
      return false;
  return true;
}

/* Prepares the http1 request head when the feed can take the fast path: a
 * plain http:// URL without credentials in it, no proxy in the environment
 * (curl honours those), headers http1 can send as they are. */
static bool plain_prepare(struct fetch_job *job) {
  const struct feed *f = job->feed;
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL,
       *user = NULL, *zone = NULL;
  struct strbuf sb = {0};
  bool ok = false;
  if (!u || curl_url_set(u, CURLUPART_URL, f->url, 0) != CURLUE_OK)
    goto out;
  if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      strcmp(scheme, "http") != 0 ||
      curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER ||
      curl_url_get(u, CURLUPART_ZONEID, &zone, 0) != CURLUE_NO_ZONEID ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
    goto out;
  if (env_set("http_proxy") || env_set("all_proxy") || env_set("ALL_PROXY"))
    goto out;
  for (size_t i = 0; i < f->nheaders; i++)
    if (own_header(f->headers[i].key) || !header_safe(f->headers[i].key) ||
        !header_safe(f->headers[i].value))
      goto out;
  if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK)
    query = NULL;
  strbuf_addf(&sb, "GET %s%s%s HTTP/1.1\r\nHost: %s", path, query ? "?" : "",
              query ? query : "", host);
  if (strcmp(port, "80") != 0)
    strbuf_addf(&sb, ":%s", port);
  strbuf_addf(&sb,
              "\r\nUser-Agent: indicatord/" INDICATORD_VERSION
              "\r\nAccept: %s\r\nAccept-Encoding: gzip, deflate\r\n",
              f->format->accept ? f->format->accept : "*/*");
  if (f->basic_user) {
    char *pair = xasprintf("%s:%s", f->basic_user,
                           f->basic_password ? f->basic_password : "");
    size_t n = strlen(pair);
    char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)pair, (int)n);
    strbuf_addf(&sb, "Authorization: Basic %s\r\n", b64);
    explicit_bzero(pair, n);
    free(pair);
    free(b64);
  } else if (f->bearer_token) {
    strbuf_addf(&sb, "Authorization: Bearer %s\r\n", f->bearer_token);
  }
  for (size_t i = 0; i < f->nheaders; i++)
    strbuf_addf(&sb, "%s: %s\r\n", f->headers[i].key, f->headers[i].value);
  {
    /* The pool is keyed by the bare name: IPv6 literals without brackets. */
    size_t hl = strlen(host);
    if (hl > 2 && host[0] == '[') {
      memmove(host, host + 1, hl - 2);
      host[hl - 2] = '\0';
    }
  }
  job->host = http1_host_get(&job->eng->http, host, atoi(port));
  job->head_len = sb.len;
  job->head = strbuf_take(&sb);
  ok = true;
out:
  strbuf_free(&sb);
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_free(query);
  curl_free(user);
  curl_free(zone);
  curl_url_cleanup(u);
  return ok;
}

int fetch_job_init(struct fetch_job *job, struct fetch_engine *e,
                   const struct feed *feed) {
  int rc = 0;
  memset(job, 0, sizeof(*job));
  job->eng = e;
  job->feed = feed;
  job->max_body = feed->max_body;
  if (!plain_prepare(job))
    rc = curl_prepare(job);
  job->ready = rc == 0;
  return rc;
}

static int build_headers(struct fetch_job *job) {
  const struct feed *f = job->feed;
  struct curl_slist *list = NULL, *tmp;
  bool accept = false;
  curl_slist_free_all(job->curl->headers);
  job->curl->headers = NULL;
  for (size_t i = 0; i < f->nheaders; i++) {
    char *h = xasprintf("%s: %s", f->headers[i].key, f->headers[i].value);
    accept = accept || strcasecmp(f->headers[i].key, "Accept") == 0;
    tmp = curl_slist_append(list, h);
    free(h);
    if (!tmp)
      goto oom;
    list = tmp;
  }
  if (!accept && f->format->accept) {
    char *h = xasprintf("Accept: %s", f->format->accept);
    tmp = curl_slist_append(list, h);
    free(h);
    if (!tmp)
      goto oom;
    list = tmp;
  }
  if (job->etag) {
    char *h = xasprintf("If-None-Match: %s", job->etag);
    tmp = curl_slist_append(list, h);
    free(h);
    if (!tmp)
      goto oom;
    list = tmp;
  }
  if (job->last_modified) {
    char *h = xasprintf("If-Modified-Since: %s", job->last_modified);
    tmp = curl_slist_append(list, h);
    free(h);
    if (!tmp)
      goto oom;
    list = tmp;
  }
  job->curl->headers = list;
  curl_easy_setopt(job->curl->easy, CURLOPT_HTTPHEADER, list);
  return 0;
oom:
  curl_slist_free_all(list);
  return -ENOMEM;
}

static void plain_done(struct http1_req *req, int rc,
                       const struct response *resp, const char *error);

static int plain_start(struct fetch_job *job) {
  job->req.if_none_match = job->etag;
  job->req.if_modified_since = job->last_modified;
  return http1_start(&job->req, job->host, job->head, job->head_len, &job->body,
                     job->max_body, job->feed->timeout_ms, plain_done);
}

static int curl_start(struct fetch_job *job) {
  int rc;
  struct fetch_curl *cu = job->curl;
  cu->too_big = false;
  if (job->feed->nheaders || job->feed->format->accept || job->etag ||
      job->last_modified || cu->headers) {
    rc = build_headers(job);
    if (rc < 0)
      return rc;
  }
  cu->errbuf[0] = '\0';
  return curl_multi_add_handle(job->eng->multi, cu->easy) == CURLM_OK ? 0
                                                                      : -EIO;
}

int fetch_job_start(struct fetch_job *job, fetch_done_cb cb, void *data) {
  int rc;
  if (job->active)
    return -EBUSY;
  if (!job->eng->multi)
    return -ESHUTDOWN;
  if (!job->ready)
    return -ENOMEM;
  strbuf_reset(&job->body);
  job->cb = cb;
  job->data = data;
  job->started_ns = uv_hrtime();
  rc = job->host ? plain_start(job) : curl_start(job);
  if (rc < 0)
    return rc;
  job->active = true;
  job->eng->active++;
  return 0;
}

static void detach(struct fetch_job *job) {
  if (!job->active)
    return;
  if (job->host)
    http1_cancel(&job->req);
  else
    curl_multi_remove_handle(job->eng->multi, job->curl->easy);
  job->active = false;
  job->eng->active--;
  if (job->body.cap > FETCH_KEEP_BUFFER)
    strbuf_free(&job->body);
}

void fetch_job_cancel(struct fetch_job *job) {
  detach(job);
}

static void curl_release(struct fetch_curl *cu) {
  if (!cu)
    return;
  curl_easy_cleanup(cu->easy);
  curl_slist_free_all(cu->headers);
  free(cu->resp_etag);
  free(cu->resp_last_modified);
  free(cu);
}

void fetch_job_free(struct fetch_job *job) {
  if (!job->ready)
    return;
  job->ready = false;
  detach(job);
  curl_release(job->curl);
  job->curl = NULL;
  job->host = NULL;
  free(job->head);
  job->head = NULL;
  strbuf_free(&job->body);
  free(job->etag);
  free(job->last_modified);
  free(job->content_type);
  job->content_type = NULL;
}

static long redirects(const struct fetch_curl *cu) {
  long n = 0;
  curl_easy_getinfo(cu->easy, CURLINFO_REDIRECT_COUNT, &n);
  return n;
}

static void describe_error(struct fetch_job *job, CURLcode code,
                           struct fetch_result *r) {
  struct fetch_curl *cu = job->curl;
  if (cu->too_big || code == CURLE_FILESIZE_EXCEEDED) {
    snprintf(r->error, sizeof(r->error),
             "body larger than max_body (%zu bytes)", job->max_body);
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    snprintf(r->error, sizeof(r->error), "timed out after %.1f s",
             (double)job->feed->timeout_ms / 1000.0);
  } else if (code == CURLE_UNSUPPORTED_PROTOCOL &&
             strstr(cu->errbuf, "HTTP/0.9")) {
    /* No status line: not HTTP at all (curl calls it HTTP/0.9). */
    snprintf(r->error, sizeof(r->error),
             "not an HTTP response (no status line: HTTP/0.9 or garbage)");
  } else if (code == CURLE_UNSUPPORTED_PROTOCOL && redirects(cu) > 0) {
    snprintf(r->error, sizeof(r->error),
             "redirect to a protocol other than http or https refused");
  } else if (code == CURLE_OUT_OF_MEMORY) {
    /* Our own allocations abort on failure; what curl reports as out of
     * memory is in practice one of its limits, a response head over
     * 100 KiB. */
    snprintf(r->error, sizeof(r->error),
             "response head too large (curl accepts 100 KiB) or out of memory");
  } else if (code == CURLE_TOO_MANY_REDIRECTS) {
    snprintf(r->error, sizeof(r->error), "more than 5 redirects");
  } else {
    snprintf(r->error, sizeof(r->error), "%.60s%s%.180s",
             curl_easy_strerror(code), cu->errbuf[0] ? ": " : "", cu->errbuf);
  }
}

static void finish(struct fetch_job *job, CURLcode code);

/* Ends a fetch (already detached from its transport) with r. */
static void deliver(struct fetch_job *job, const struct fetch_result *r) {
  job->active = false;
  job->eng->active--;
  job->cb(job, r);
  if (!job->active && job->body.cap > FETCH_KEEP_BUFFER)
    strbuf_free(&job->body);
}

static void job_done(struct fetch_xfer *x, CURLcode code) {
  finish(container_of(x, struct fetch_curl, xfer)->job, code);
}

static void finish(struct fetch_job *job, CURLcode code) {
  struct fetch_curl *cu = job->curl;
  struct fetch_result r;
  long http = 0;
  memset(&r, 0, sizeof(r));
  curl_easy_getinfo(cu->easy, CURLINFO_RESPONSE_CODE, &http);
  curl_easy_getinfo(cu->easy, CURLINFO_TOTAL_TIME, &r.seconds);
  r.http_code = http;
  if (code != CURLE_OK) {
    describe_error(job, code, &r);
  } else if (http == 304) {
    r.ok = r.not_modified = true;
  } else if (http == 0 || (http >= 200 && http < 300)) {
    char *ct = NULL;
    r.ok = true;
    r.body = job->body.buf ? job->body.buf : "";
    r.len = job->body.len;
    curl_easy_getinfo(cu->easy, CURLINFO_CONTENT_TYPE, &ct);
    free(job->content_type);
    job->content_type = ct ? xstrdup(ct) : NULL;
    r.content_type = job->content_type;
    if (cu->resp_etag || cu->resp_last_modified) {
      free(job->etag);
      free(job->last_modified);
      job->etag = cu->resp_etag;
      job->last_modified = cu->resp_last_modified;
      cu->resp_etag = cu->resp_last_modified = NULL;
    }
  } else {
    snprintf(r.error, sizeof(r.error), "HTTP %ld", http);
  }
  /* The callback may start this job again, so detach first; the body stays
   * valid because detach only frees buffers after a reset. */
  curl_multi_remove_handle(job->eng->multi, cu->easy);
  deliver(job, &r);
}

static void plain_done(struct http1_req *req, int rc,
                       const struct response *resp, const char *error) {
  struct fetch_job *job = container_of(req, struct fetch_job, req);
  struct fetch_result r;
  memset(&r, 0, sizeof(r));
  if (rc == -ENOTSUP || (rc == 0 && resp->status >= 300 && resp->status < 400 &&
                         resp->status != 304 && resp->has_location)) {
    /* A redirect or a coding http1 leaves to curl: this feed goes through
     * curl from now on, starting with this fetch. */
    job->host = NULL;
    strbuf_reset(&job->body);
    rc = curl_prepare(job);
    if (rc == 0)
      rc = curl_start(job);
    if (rc == 0)
      return;
    snprintf(r.error, sizeof(r.error), "cannot hand the feed to curl: %s",
             strerror(-rc));
  } else if (rc == -EFBIG) {
    snprintf(r.error, sizeof(r.error), "body larger than max_body (%zu bytes)",
             job->max_body);
  } else if (rc == -EPROTO) {
    snprintf(r.error, sizeof(r.error), "bad HTTP response: %.200s", error);
  } else if (rc < 0) {
    snprintf(r.error, sizeof(r.error), "%.250s", error);
  } else {
    r.http_code = resp->status;
    if (resp->status == 304) {
      r.ok = r.not_modified = true;
    } else if (resp->status >= 200 && resp->status < 300) {
      r.ok = true;
      r.body = job->body.buf ? job->body.buf : "";
      r.len = job->body.len;
      r.content_type = resp->content_type;
      if (resp->etag || resp->last_modified) {
        free(job->etag);
        free(job->last_modified);
        job->etag = resp->etag ? xstrdup(resp->etag) : NULL;
        job->last_modified =
            resp->last_modified ? xstrdup(resp->last_modified) : NULL;
      }
    } else {
      snprintf(r.error, sizeof(r.error), "HTTP %d", resp->status);
    }
  }
  r.seconds = (double)(uv_hrtime() - job->started_ns) / 1e9;
  deliver(job, &r);
}

static void check_done(struct fetch_engine *e) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(e->multi, &left))) {
    struct fetch_xfer *x = NULL;
    if (msg->msg != CURLMSG_DONE)
      continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    if (x)
      x->done(x, msg->data.result);
  }
}

/* ---- POST ---- */

#define POST_MAX_RESPONSE (64 * 1024)

static size_t on_post_body(char *data, size_t size, size_t nmemb, void *userp) {
  struct fetch_post *p = userp;
  size_t len = size * nmemb;
  /* Provider verdicts are small; the rest is not needed. */
  if (p->resp.len < POST_MAX_RESPONSE)
    strbuf_add(&p->resp, data,
               len < POST_MAX_RESPONSE - p->resp.len
                   ? len
                   : POST_MAX_RESPONSE - p->resp.len);
  return len;
}

static size_t on_post_header(char *data, size_t size, size_t nmemb,
                             void *userp) {
  struct fetch_post *p = userp;
  size_t len = size * nmemb;
  if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
    char buf[32];
    size_t n = len - 12 < sizeof(buf) - 1 ? len - 12 : sizeof(buf) - 1;
    char *end;
    long v;
    memcpy(buf, data + 12, n);
    buf[n] = '\0';
    v = strtol(buf, &end, 10);
    if (end != buf && v >= 0 && v < 86400)
      p->retry_after_ms = (int64_t)v * 1000;
  }
  return len;
}

static void post_release(struct fetch_post *p) {
  if (p->active) {
    curl_multi_remove_handle(p->eng->multi, p->easy);
    p->active = false;
    p->eng->active--;
  }
  if (p->easy)
    curl_easy_cleanup(p->easy);
  p->easy = NULL;
  curl_slist_free_all(p->headers);
  p->headers = NULL;
  free(p->body);
  p->body = NULL;
  strbuf_free(&p->resp);
}

static void post_done(struct fetch_xfer *x, CURLcode code) {
  struct fetch_post *p = container_of(x, struct fetch_post, xfer);
  struct fetch_result r;
  long http = 0;
  memset(&r, 0, sizeof(r));
  curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &http);
  curl_easy_getinfo(p->easy, CURLINFO_TOTAL_TIME, &r.seconds);
  r.http_code = http;
  r.retry_after_ms = p->retry_after_ms;
  r.body = p->resp.buf ? p->resp.buf : "";
  r.len = p->resp.len;
  if (code != CURLE_OK) {
    if (code == CURLE_OPERATION_TIMEDOUT)
      snprintf(r.error, sizeof(r.error), "timed out");
    else
      snprintf(r.error, sizeof(r.error), "%.60s", curl_easy_strerror(code));
  } else if (http >= 200 && http < 300) {
    r.ok = true;
  } else {
    snprintf(r.error, sizeof(r.error), "HTTP %ld", http);
  }
  curl_multi_remove_handle(p->eng->multi, p->easy);
  p->active = false;
  p->eng->active--;
  p->cb(p, &r);
}

int fetch_post_start(struct fetch_post *p, struct fetch_engine *e,
                     const char *url, const char *const *headers,
                     const char *body, int64_t timeout_ms, fetch_post_cb cb,
                     void *data) {
  CURL *c;
  if (!e->multi)
    return -ESHUTDOWN;
  memset(p, 0, sizeof(*p));
  p->eng = e;
  p->cb = cb;
  p->data = data;
  p->xfer.done = post_done;
  c = curl_easy_init();
  if (!c)
    return -ENOMEM;
  p->easy = c;
  p->body = xstrdup(body);
  for (size_t i = 0; headers && headers[i]; i++) {
    struct curl_slist *t = curl_slist_append(p->headers, headers[i]);
    if (!t) {
      post_release(p);
      return -ENOMEM;
    }
    p->headers = t;
  }
  curl_easy_setopt(c, CURLOPT_PRIVATE, &p->xfer);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, p->body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(p->body));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_post_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_post_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, p);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, p->errbuf);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "indicatord/" INDICATORD_VERSION);
  if (curl_multi_add_handle(e->multi, c) != CURLM_OK) {
    post_release(p);
    return -EIO;
  }
  p->active = true;
  e->active++;
  return 0;
}

void fetch_post_cancel(struct fetch_post *p) {
  post_release(p);
}
