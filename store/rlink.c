#include "rlink.h"

#include "log.h"
#include "redis_uv.h"
#include "resp.h"
#include "rng.h"
#include "sentinel.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
/* PINGs answered in a row that confirm a connection nobody writes to. */
#define CONFIRMING_PINGS 2
/* While up, the sentinels are asked this often whether the master is
 * still where the link is (a +switch-master missed while no sentinel was
 * listened to). */
#define SENTINEL_CHECK_MS 10000

static void begin_attempt(struct rlink *link);
static void on_check_timer(uv_timer_t *t);

static bool is_numeric(const char *host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host, buf) == 1 ||
         inet_pton(AF_INET6, host, buf) == 1;
}

static const char *what(const struct rlink *link) {
  return link->opt.what ? link->opt.what : "redis";
}

static void describe_address(struct rlink *link) {
  if (!link->host)
    snprintf(link->where, sizeof(link->where), "sentinel master '%s'",
             link->opt.master ? link->opt.master : "");
  else if (!link->port)
    snprintf(link->where, sizeof(link->where), "unix:%s", link->host);
  else if (strchr(link->host, ':'))
    snprintf(link->where, sizeof(link->where), "[%s]:%d", link->host,
             link->port);
  else
    snprintf(link->where, sizeof(link->where), "%s:%d", link->host, link->port);
}

/* ---- failing and retrying ---- */

static void on_retry(uv_timer_t *t) {
  begin_attempt(t->data);
}

static uint64_t schedule_retry(struct rlink *link) {
  uint64_t d = link->backoff_ms ? link->backoff_ms : BACKOFF_MIN_MS;
  uint64_t jitter = d / 5 ? rng_next(&link->rng) % (d / 5) : 0;
  uint64_t wait = d - d / 10 + jitter;
  if (link->retarget || link->hurry)
    wait = 0;
  link->retarget = false;
  link->state = RLINK_IDLE;
  uv_timer_start(&link->timer, on_retry, wait, 0);
  link->backoff_ms = d * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d * 2;
  return wait;
}

/* The connection (or the attempt) is gone: tell the owner, log once per
 * reason, and retry later. */
static void lost(struct rlink *link, const char *reason) {
  bool was_up = link->state == RLINK_UP;
  bool retarget = link->retarget, hurry = link->hurry;
  uint64_t wait;
  if (link->state == RLINK_CLOSING)
    return;
  uv_timer_stop(&link->ping_timer);
  uv_timer_stop(&link->timer);
  uv_timer_stop(&link->check_timer);
  if (link->sentinel)
    sentinel_cancel(link->sentinel);
  link->ping_outstanding = false;
  link->failures++;
  wait = schedule_retry(link);
  link->hurry = false;
  if (retarget) {
    log_info("%s: connecting to %s (the configuration changed)", what(link),
             link->where);
  } else if (hurry) {
    log_info("%s: %s; asking the sentinels for the master again", what(link),
             reason);
  } else if (strcmp(reason, link->last_error) != 0 && !link->opt.quiet) {
    log_warn("%s: %s %s: %s; retrying in %.1f s", what(link),
             was_up && link->confirmed ? "lost" : "cannot use", link->where,
             reason, (double)wait / 1000.0);
    link->trouble_said = true;
  } else {
    log_debug("%s: still cannot use %s: %s; retrying in %.1f s", what(link),
              link->where, reason, (double)wait / 1000.0);
  }
  snprintf(link->last_error, sizeof(link->last_error), "%s", reason);
  link->confirmed = false;
  if (link->on_down)
    link->on_down(link, reason);
}

void rlink_confirm(struct rlink *link) {
  if (link->confirmed || link->state != RLINK_UP)
    return;
  link->confirmed = true;
  link->backoff_ms = 0;
  if (link->trouble_said)
    log_info("%s: connected to %s again", what(link), link->where);
  link->trouble_said = false;
  link->last_error[0] = '\0';
}

static void on_kill(uv_timer_t *t) {
  struct rlink *link = t->data;
  redisAsyncContext *ac = link->ac;
  if (!ac) {
    free(link->kill_reason);
    link->kill_reason = NULL;
    return;
  }
  if (link->state == RLINK_CONNECTING) {
    /* Not connected yet: redisAsyncFree fires no callback, so report the
     * loss here. */
    char reason[256];
    snprintf(reason, sizeof(reason), "%s",
             link->kill_reason ? link->kill_reason : "reset");
    free(link->kill_reason);
    link->kill_reason = NULL;
    link->ac = NULL;
    redisAsyncFree(ac);
    lost(link, reason);
  } else {
    /* on_disconnect runs inside and takes kill_reason. */
    redisAsyncFree(ac);
  }
}

void rlink_reset(struct rlink *link, const char *reason) {
  if (!link->ac || link->state == RLINK_CLOSING)
    return;
  if (!link->kill_reason)
    link->kill_reason = xstrdup(reason);
  uv_timer_start(&link->kill_timer, on_kill, 0, 0);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
  struct rlink *link = ac->data;
  char reason[256];
  link->ac = NULL; /* hiredis frees the context when we return */
  if (link->kill_reason)
    snprintf(reason, sizeof(reason), "%s", link->kill_reason);
  else if (status == REDIS_OK)
    snprintf(reason, sizeof(reason), "disconnected");
  else
    snprintf(reason, sizeof(reason), "%s",
             ac->errstr ? ac->errstr : "connection error");
  free(link->kill_reason);
  link->kill_reason = NULL;
  uv_timer_stop(&link->kill_timer);
  if (link->state == RLINK_CLOSING) {
    return;
  }
  lost(link, reason);
}

/* ---- up: liveness ---- */

static void on_ping_reply(redisAsyncContext *ac, void *r, void *privdata) {
  struct rlink *link = ac->data;
  (void)privdata;
  link->ping_outstanding = false;
  /* Quiet PINGs confirm a connection that has nothing to write. */
  if (r && ++link->quiet_pings >= CONFIRMING_PINGS)
    rlink_confirm(link);
}

static void on_ping_timer(uv_timer_t *t) {
  struct rlink *link = t->data;
  if (link->state != RLINK_UP || !link->ac)
    return;
  if (link->ping_outstanding) {
    /* A whole interval without an answer: half-open TCP or a stalled
     * server. */
    rlink_reset(link, "no answer to PING");
    return;
  }
  link->ping_outstanding = true;
  redisAsyncCommand(link->ac, on_ping_reply, NULL, "PING");
}

/* ---- the attempt: resolve, connect, handshake ---- */

static void handshake_done(struct rlink *link) {
  uv_timer_stop(&link->timer);
  link->state = RLINK_UP;
  link->quiet_pings = 0;
  link->connects++;
  /* The backoff is not reset here: only work done proves the server
   * usable (rlink_confirm). */
  if (link->connects == 1 && !link->opt.quiet)
    log_info("%s: connected to %s", what(link), link->where);
  else
    log_debug("%s: connected to %s", what(link), link->where);
  if (!link->opt.no_ping)
    uv_timer_start(&link->ping_timer, on_ping_timer, link->opt.ping_interval_ms,
                   link->opt.ping_interval_ms);
  if (link->sentinel)
    uv_timer_start(&link->check_timer, on_check_timer, SENTINEL_CHECK_MS,
                   SENTINEL_CHECK_MS);
  if (link->on_up)
    link->on_up(link);
}

static void on_handshake_reply(redisAsyncContext *ac, void *r, void *privdata) {
  struct rlink *link = ac->data;
  redisReply *reply = r;
  const char *step = privdata;
  if (!reply)
    return; /* the disconnect callback reports it */
  /* After a failed step, later replies (a PING answered for the default
   * user, say) must not declare the link up. */
  if (link->state != RLINK_HANDSHAKE || link->kill_reason)
    return;
  if (reply->type == REDIS_REPLY_ERROR) {
    char why[256];
    /* Never echo the password: only the server's error text. */
    snprintf(why, sizeof(why), "%s failed: %s", step, reply->str);
    rlink_reset(link, why);
    return;
  }
  if (strcmp(step, "ROLE") == 0 &&
      (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
       reply->element[0]->type != REDIS_REPLY_STRING ||
       strcmp(reply->element[0]->str, "master") != 0)) {
    char why[256];
    /* A sentinel that has not caught up with a failover yet. */
    snprintf(why, sizeof(why), "not the master (ROLE: %.60s)",
             reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
                     reply->element[0]->type == REDIS_REPLY_STRING
                 ? reply->element[0]->str
                 : "unexpected answer");
    rlink_reset(link, why);
    return;
  }
  if (strcmp(step, "ROLE") == 0)
    link->replicas =
        reply->elements >= 3 && reply->element[2]->type == REDIS_REPLY_ARRAY
            ? (int)reply->element[2]->elements
            : -1;
  if (strcmp(step, "PING") == 0)
    handshake_done(link);
}

static void handshake(struct rlink *link, redisAsyncContext *ac) {
  link->state = RLINK_HANDSHAKE;
  if (link->opt.password) {
    if (link->opt.user) {
      const char *argv[] = {"AUTH", link->opt.user, link->opt.password};
      redisAsyncCommandArgv(ac, on_handshake_reply, "AUTH", 3, argv, NULL);
    } else {
      const char *argv[] = {"AUTH", link->opt.password};
      redisAsyncCommandArgv(ac, on_handshake_reply, "AUTH", 2, argv, NULL);
    }
  }
  if (link->opt.db) {
    char db[16];
    const char *argv[] = {"SELECT", db};
    snprintf(db, sizeof(db), "%d", link->opt.db);
    redisAsyncCommandArgv(ac, on_handshake_reply, "SELECT", 2, argv, NULL);
  }
  link->replicas = -1;
  if (link->sentinel)
    redisAsyncCommand(ac, on_handshake_reply, "ROLE", "ROLE");
  redisAsyncCommand(ac, on_handshake_reply, "PING", "PING");
}

static void on_connect(const redisAsyncContext *cac, int status) {
  struct rlink *link = cac->data;
  if (status != REDIS_OK) {
    char reason[256];
    snprintf(reason, sizeof(reason), "%s",
             cac->errstr ? cac->errstr : "connect failed");
    /* hiredis frees the context after this returns, without calling the
     * disconnect callback. */
    link->ac = NULL;
    lost(link, reason);
    return;
  }
  handshake(link, (redisAsyncContext *)cac);
}

static void on_attempt_deadline(uv_timer_t *t) {
  struct rlink *link = t->data;
  if (link->state == RLINK_CONNECTING || link->state == RLINK_HANDSHAKE)
    rlink_reset(link, "connect timed out");
  else if (link->state == RLINK_RESOLVING)
    uv_cancel((uv_req_t *)&link->gai);
}

static void open_context(struct rlink *link, const char *ip) {
  redisAsyncContext *ac;
  int rc;
  if (link->port)
    ac = redisAsyncConnect(ip, link->port);
  else
    ac = redisAsyncConnectUnix(link->host);
  if (!ac) {
    lost(link, "out of memory");
    return;
  }
  if (ac->err) {
    char reason[256];
    snprintf(reason, sizeof(reason), "%s", ac->errstr);
    redisAsyncFree(ac);
    lost(link, reason);
    return;
  }
  rc = redis_uv_attach(ac, link->loop);
  if (rc < 0) {
    redisAsyncFree(ac);
    lost(link, uv_strerror(rc));
    return;
  }
  ac->data = link;
  link->ac = ac;
  link->state = RLINK_CONNECTING;
  /* Attach first: setting the connect callback arms the write event. */
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

static void free_options(struct rlink_options *o) {
  for (size_t i = 0; i < o->nsentinels; i++)
    free((char *)o->sentinels[i].host);
  free((struct rlink_addr *)o->sentinels);
  free((char *)o->host);
  free((char *)o->user);
  free((char *)o->password);
  free((char *)o->master);
  free((char *)o->sentinel_password);
  free((char *)o->what);
  memset(o, 0, sizeof(*o));
}

static void closed_one(struct rlink *link) {
  if (--link->pending_closes > 0)
    return;
  free_options(&link->opt);
  free(link->host);
  free(link->kill_reason);
  link->host = NULL;
  link->kill_reason = NULL;
  if (link->on_closed)
    link->on_closed(link);
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  struct rlink *link = req->data;
  char ip[INET6_ADDRSTRLEN] = "";
  link->gai_active = false;
  if (link->state == RLINK_CLOSING) {
    uv_freeaddrinfo(res);
    closed_one(link);
    return;
  }
  if (link->retarget || link->hurry) {
    /* Resolved the old name: start over with the new one. */
    uv_freeaddrinfo(res);
    lost(link, link->retarget ? "the configuration changed"
                              : "the sentinels switched the master");
    return;
  }
  if (status < 0 || !res) {
    char reason[256];
    snprintf(reason, sizeof(reason), "cannot resolve: %s",
             status == UV_ECANCELED ? "timed out" : uv_strerror(status));
    uv_freeaddrinfo(res);
    lost(link, reason);
    return;
  }
  if (res->ai_family == AF_INET6)
    uv_ip6_name((struct sockaddr_in6 *)res->ai_addr, ip, sizeof(ip));
  else
    uv_ip4_name((struct sockaddr_in *)res->ai_addr, ip, sizeof(ip));
  uv_freeaddrinfo(res);
  open_context(link, ip);
}

static void resolve_address(struct rlink *link) {
  struct addrinfo hints;
  char port[16];
  int rc;
  uv_timer_start(&link->timer, on_attempt_deadline,
                 link->opt.connect_timeout_ms, 0);
  if (!link->port || is_numeric(link->host)) {
    open_context(link, link->host);
    return;
  }
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  snprintf(port, sizeof(port), "%d", link->port);
  link->gai.data = link;
  rc = uv_getaddrinfo(link->loop, &link->gai, on_resolved, link->host, port,
                      &hints);
  if (rc < 0) {
    lost(link, uv_strerror(rc));
    return;
  }
  link->gai_active = true;
  link->state = RLINK_RESOLVING;
}

static void on_discovered(void *data, int rc, const char *host, int port,
                          const char *why) {
  struct rlink *link = data;
  char reason[512];
  if (link->state != RLINK_DISCOVERING)
    return;
  if (rc < 0) {
    snprintf(reason, sizeof(reason), "no sentinel named the master: %s", why);
    lost(link, reason);
    return;
  }
  free(link->host);
  link->host = xstrdup(host);
  link->port = port;
  describe_address(link);
  resolve_address(link);
}

static void begin_attempt(struct rlink *link) {
  if (link->sentinel) {
    /* The sentinels answer within their own deadlines, one after the
     * other; the attempt's deadline starts with the master. */
    link->state = RLINK_DISCOVERING;
    sentinel_ask(link->sentinel, on_discovered, link);
    return;
  }
  resolve_address(link);
}

/* ---- Sentinel ---- */

static void on_checked(void *data, int rc, const char *host, int port,
                       const char *why) {
  struct rlink *link = data;
  (void)why;
  if (rc == 0 && link->state == RLINK_UP)
    rlink_rediscover(link, host, port, "the sentinels name another master");
}

static void on_check_timer(uv_timer_t *t) {
  struct rlink *link = t->data;
  if (link->state == RLINK_UP && link->sentinel)
    sentinel_ask(link->sentinel, on_checked, link);
}

static void on_switch(void *data, const char *host, int port) {
  rlink_rediscover(data, host, port, "the sentinels switched the master");
}

bool rlink_uses_sentinel(const struct rlink *link) {
  return link->sentinel != NULL;
}

void rlink_rediscover(struct rlink *link, const char *host, int port,
                      const char *reason) {
  if (!link->sentinel) {
    rlink_reset(link, reason);
    return;
  }
  if (host && link->host && port == link->port &&
      strcmp(host, link->host) == 0 && link->state != RLINK_IDLE)
    return; /* already there */
  switch (link->state) {
  case RLINK_CLOSING:
    break;
  case RLINK_IDLE:
    uv_timer_stop(&link->timer);
    log_info("%s: %s; asking the sentinels for the master", what(link), reason);
    begin_attempt(link);
    break;
  case RLINK_DISCOVERING:
    sentinel_ask(link->sentinel, on_discovered, link); /* afresh */
    break;
  case RLINK_RESOLVING:
    link->hurry = true;
    uv_cancel((uv_req_t *)&link->gai); /* on_resolved reports it */
    break;
  default:
    link->hurry = true;
    rlink_reset(link, reason);
    break;
  }
}

/* ---- the owner's calls ---- */

static char *dup_or_null(const char *s) {
  return s ? xstrdup(s) : NULL;
}

static void copy_options(struct rlink *link, const struct rlink_options *opt) {
  struct rlink_addr *sentinels = NULL;
  free_options(&link->opt);
  link->opt = *opt;
  link->opt.host = dup_or_null(opt->host);
  link->opt.user = dup_or_null(opt->user);
  link->opt.password = dup_or_null(opt->password);
  link->opt.master = dup_or_null(opt->master);
  link->opt.sentinel_password = dup_or_null(opt->sentinel_password);
  link->opt.what = dup_or_null(opt->what);
  if (opt->nsentinels) {
    sentinels = xcalloc(opt->nsentinels, sizeof(*sentinels));
    for (size_t i = 0; i < opt->nsentinels; i++) {
      sentinels[i].host = xstrdup(opt->sentinels[i].host);
      sentinels[i].port = opt->sentinels[i].port;
    }
  }
  link->opt.sentinels = sentinels;
  if (!link->opt.connect_timeout_ms)
    link->opt.connect_timeout_ms = 5000;
  if (!link->opt.ping_interval_ms)
    link->opt.ping_interval_ms = 5000;
  free(link->host);
  link->host = opt->nsentinels ? NULL : dup_or_null(opt->host);
  link->port = opt->nsentinels ? 0 : opt->port;
  describe_address(link);
}

static void on_sentinel_closed(void *data) {
  struct rlink *link = data;
  if (link->state == RLINK_CLOSING)
    closed_one(link);
  else
    link->sentinels_closing--;
}

/* A link with sentinels has its sentinel object; a new list gets a new
 * one (the old closes on its own). */
static void update_sentinel(struct rlink *link) {
  if (link->sentinel) {
    link->sentinels_closing++;
    sentinel_close(link->sentinel, on_sentinel_closed);
    link->sentinel = NULL;
  }
  if (link->opt.nsentinels)
    link->sentinel = sentinel_new(link->loop, &link->opt, on_switch, link);
}

void rlink_start(struct rlink *link, uv_loop_t *loop,
                 const struct rlink_options *opt, rlink_up_cb on_up,
                 rlink_down_cb on_down, void *data) {
  memset(link, 0, sizeof(*link));
  link->loop = loop;
  copy_options(link, opt);
  link->on_up = on_up;
  link->on_down = on_down;
  link->data = data;
  link->rng = rng_seed();
  link->replicas = -1;
  /* Cannot fail: timer inits only record the loop. */
  uv_timer_init(loop, &link->timer);
  uv_timer_init(loop, &link->ping_timer);
  uv_timer_init(loop, &link->kill_timer);
  uv_timer_init(loop, &link->check_timer);
  link->timer.data = link->ping_timer.data = link->kill_timer.data = link;
  link->check_timer.data = link;
  update_sentinel(link);
  begin_attempt(link);
}

static bool same_string(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool sentinels_differ(const struct rlink_options *a,
                             const struct rlink_options *b) {
  if (a->nsentinels != b->nsentinels || !same_string(a->master, b->master) ||
      !same_string(a->sentinel_password, b->sentinel_password))
    return true;
  for (size_t i = 0; i < a->nsentinels; i++)
    if (a->sentinels[i].port != b->sentinels[i].port ||
        !same_string(a->sentinels[i].host, b->sentinels[i].host))
      return true;
  return false;
}

bool rlink_options_differ(const struct rlink *link,
                          const struct rlink_options *opt) {
  return sentinels_differ(&link->opt, opt) ||
         (!opt->nsentinels && (!same_string(link->opt.host, opt->host) ||
                               link->opt.port != opt->port)) ||
         !same_string(link->opt.user, opt->user) ||
         !same_string(link->opt.password, opt->password) ||
         link->opt.db != opt->db;
}

void rlink_set_options(struct rlink *link, const struct rlink_options *opt) {
  bool new_sentinels;
  if (link->state == RLINK_CLOSING)
    return;
  new_sentinels = sentinels_differ(&link->opt, opt);
  copy_options(link, opt);
  if (new_sentinels)
    update_sentinel(link);
  link->retarget = true;
  link->backoff_ms = 0;
  link->last_error[0] = '\0';
  switch (link->state) {
  case RLINK_IDLE:
    uv_timer_stop(&link->timer);
    link->retarget = false;
    log_info("%s: connecting to %s (the configuration changed)", what(link),
             link->where);
    begin_attempt(link);
    break;
  case RLINK_DISCOVERING:
    link->retarget = false;
    log_info("%s: connecting to %s (the configuration changed)", what(link),
             link->where);
    if (link->sentinel)
      sentinel_ask(link->sentinel, on_discovered, link);
    else
      resolve_address(link);
    break;
  case RLINK_RESOLVING:
    uv_cancel((uv_req_t *)&link->gai); /* on_resolved starts over */
    break;
  default:
    rlink_reset(link, "the configuration changed");
    break;
  }
}

bool rlink_is_up(const struct rlink *link) {
  return link->state == RLINK_UP && link->ac;
}

int rlink_command(struct rlink *link, redisCallbackFn *cb, void *privdata,
                  int argc, const char **argv, const size_t *argvlen) {
  /* Most commands fit: formatted on the stack, then copied once into
   * hiredis's output buffer. */
  char stack[2048], *cmd;
  size_t len;
  int rc = 0;
  if (!rlink_is_up(link))
    return -ENOTCONN;
  len = resp_command_len(argc, argv, argvlen);
  cmd = len < sizeof(stack) ? stack : xmalloc(len + 1);
  resp_command_write(cmd, argc, argv, argvlen);
  if (redisAsyncFormattedCommand(link->ac, cb, privdata, cmd, len) != REDIS_OK)
    rc = -EIO;
  if (cmd != stack)
    free(cmd);
  return rc;
}

static void on_handle_closed(uv_handle_t *h) {
  closed_one(h->data);
}

void rlink_close(struct rlink *link, void (*on_closed)(struct rlink *link)) {
  redisAsyncContext *ac = link->ac;
  link->state = RLINK_CLOSING;
  link->on_closed = on_closed;
  link->pending_closes = 4 + (link->gai_active ? 1 : 0) +
                         (link->sentinel ? 1 : 0) + link->sentinels_closing;
  if (link->sentinel) {
    sentinel_close(link->sentinel, on_sentinel_closed);
    link->sentinel = NULL;
  }
  if (link->gai_active)
    uv_cancel((uv_req_t *)&link->gai);
  if (ac) {
    link->ac = NULL;
    redisAsyncFree(ac); /* pending callbacks get NULL replies */
  }
  uv_close((uv_handle_t *)&link->timer, on_handle_closed);
  uv_close((uv_handle_t *)&link->ping_timer, on_handle_closed);
  uv_close((uv_handle_t *)&link->kill_timer, on_handle_closed);
  uv_close((uv_handle_t *)&link->check_timer, on_handle_closed);
}
