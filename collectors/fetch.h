/* Asynchronous HTTP(S)/file fetches. Plain http:// feeds go through http1
 * (keep-alive connections on libuv streams); everything else, and any feed
 * whose server answers with something http1 leaves alone (a redirect, an
 * unknown coding), through libcurl's multi interface driven by the libuv
 * loop (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION, one uv_poll_t per socket, one
 * uv_timer_t). Connections are reused across fetches; DNS runs off the loop
 * thread in both, so nothing blocks the loop.
 *
 * A fetch_job belongs to one feed and is reused for each of its fetches; it
 * remembers ETag and Last-Modified and sends them back. */
#ifndef INDICATORD_FETCH_H
#define INDICATORD_FETCH_H

#include "config.h"
#include "http1.h"
#include "util.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <uv.h>

struct fetch_engine {
  uv_loop_t *loop;
  uv_timer_t timer;
  CURLM *multi;
  struct http1_client http;
  size_t active;
  int pending_closes; /* the timer and the http1 client, until closed */
  void (*on_closed)(struct fetch_engine *e);
};

struct fetch_result {
  bool ok;                /* 2xx, 304, or a file read */
  int64_t retry_after_ms; /* a Retry-After header (seconds form); 0: none */
  bool not_modified;      /* 304: nothing new */
  long http_code;         /* 0 for file:// */
  const char *body;       /* borrowed; valid until the callback returns */
  size_t len;
  const char *content_type; /* the response's Content-Type, or NULL;
                             * borrowed like body */
  double seconds;           /* total transfer time */
  char error[256];          /* the reason when !ok; no secrets */
};

/* What CURLOPT_PRIVATE points at: the first member of every transfer. */
struct fetch_xfer {
  void (*done)(struct fetch_xfer *x, CURLcode code);
};

struct fetch_job;
typedef void (*fetch_done_cb)(struct fetch_job *job,
                              const struct fetch_result *res);

struct fetch_curl; /* a job's curl side, made when the feed needs curl */

struct fetch_job {
  struct fetch_engine *eng;
  const struct feed *feed; /* borrowed */
  struct fetch_curl *curl; /* NULL while the feed goes through http1 */
  struct http1_host *host; /* NULL when the feed goes through curl */
  struct http1_req req;
  char *head; /* http1: the request without conditionals */
  size_t head_len;
  struct strbuf body;
  size_t max_body;
  uint64_t started_ns;
  bool ready; /* prepared: fetch_job_init succeeded */
  bool active;
  char *etag, *last_modified; /* remembered from the last 200 */
  char *content_type;         /* of the response being delivered */
  fetch_done_cb cb;
  void *data;
};

/* Returns 0 or a negative errno-style code. */
MUST_CHECK int fetch_engine_init(struct fetch_engine *e, uv_loop_t *loop);
/* Cancels nothing: every job must be cancelled or finished first. Calls
 * on_closed once the engine's handles are closed. */
void fetch_engine_close(struct fetch_engine *e,
                        void (*on_closed)(struct fetch_engine *e));

/* Sets up job for feed (options that do not change between fetches) and
 * chooses http1 or curl. Returns 0 or -ENOMEM. */
MUST_CHECK int fetch_job_init(struct fetch_job *job, struct fetch_engine *e,
                              const struct feed *feed);
/* Starts a fetch; cb runs once when it ends. Returns -EBUSY when the job is
 * already running (a feed is never fetched twice at once); on any error cb
 * is not called. */
MUST_CHECK int fetch_job_start(struct fetch_job *job, fetch_done_cb cb,
                               void *data);
/* Stops a running fetch without calling its callback. */
void fetch_job_cancel(struct fetch_job *job);
/* Cancels and releases the job's resources. */
void fetch_job_free(struct fetch_job *job);

/* One POST (webhooks): its own easy handle, a bounded response body. */
struct fetch_post;
typedef void (*fetch_post_cb)(struct fetch_post *p,
                              const struct fetch_result *res);

struct fetch_post {
  struct fetch_xfer xfer;
  struct fetch_engine *eng;
  CURL *easy;
  struct curl_slist *headers;
  struct strbuf resp;
  char *body;
  int64_t retry_after_ms;
  bool active;
  char errbuf[CURL_ERROR_SIZE];
  fetch_post_cb cb;
  void *data;
};

/* POSTs body (copied) to url with the given extra headers (NULL-terminated,
 * "Name: value"). cb runs once at the end; on error it never runs. url is a
 * secret: it never appears in results. Returns 0 or a negative code. */
MUST_CHECK int fetch_post_start(struct fetch_post *p, struct fetch_engine *e,
                                const char *url, const char *const *headers,
                                const char *body, int64_t timeout_ms,
                                fetch_post_cb cb, void *data);
/* Stops a running POST without calling its callback; frees its resources. */
void fetch_post_cancel(struct fetch_post *p);

#endif
