#include "sentinel.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A watch that failed waits this long before the next sentinel. */
#define REWATCH_MS 1000

struct sn_conn {
  struct rlink link;
  struct sentinel *sn;
  size_t idx;
  bool watch;
  bool finished; /* its outcome was taken; closing */
};

struct sentinel {
  uv_loop_t *loop;
  struct rlink_addr *addrs; /* owned strings */
  size_t n;
  char *master;
  char *password;
  uint64_t timeout_ms;
  sentinel_switch_cb on_switch;
  void *data;
  /* The ask in progress. */
  struct sn_conn *ask;
  bool asking;
  size_t good;  /* the sentinel that answered last */
  size_t tried; /* in this ask */
  struct strbuf why;
  sentinel_found_cb found;
  void *found_data;
  /* The watch. */
  struct sn_conn *watcher;
  size_t watch_idx;
  bool subscribed;
  uv_timer_t step;    /* the next sentinel of an ask, out of callbacks */
  uv_timer_t rewatch; /* the next sentinel to watch */
  size_t conns;       /* connections not yet closed */
  int timers_closed;
  bool closing;
  void (*on_closed)(void *data);
};

static void maybe_closed(struct sentinel *sn) {
  if (!sn->closing || sn->conns || sn->timers_closed < 2)
    return;
  if (sn->on_closed)
    sn->on_closed(sn->data);
  for (size_t i = 0; i < sn->n; i++)
    free((char *)sn->addrs[i].host);
  free(sn->addrs);
  free(sn->master);
  free(sn->password);
  strbuf_free(&sn->why);
  free(sn);
}

static void on_conn_closed(struct rlink *link) {
  struct sn_conn *c = container_of(link, struct sn_conn, link);
  struct sentinel *sn = c->sn;
  free(c);
  sn->conns--;
  maybe_closed(sn);
}

/* Done with c: closed (from callbacks too: rlink defers what must be). */
static void finish(struct sn_conn *c) {
  struct sentinel *sn = c->sn;
  if (c->finished)
    return;
  c->finished = true;
  if (sn->ask == c)
    sn->ask = NULL;
  if (sn->watcher == c) {
    sn->watcher = NULL;
    sn->subscribed = false;
  }
  rlink_close(&c->link, on_conn_closed);
}

static struct sn_conn *open_conn(struct sentinel *sn, size_t idx, bool watch,
                                 rlink_up_cb up, rlink_down_cb down) {
  struct sn_conn *c = xcalloc(1, sizeof(*c));
  struct rlink_options o;
  memset(&o, 0, sizeof(o));
  o.host = sn->addrs[idx].host;
  o.port = sn->addrs[idx].port;
  o.password = sn->password;
  o.connect_timeout_ms = sn->timeout_ms;
  o.no_ping = watch;
  o.what = "sentinel";
  o.quiet = true;
  c->sn = sn;
  c->idx = idx;
  c->watch = watch;
  sn->conns++;
  rlink_start(&c->link, sn->loop, &o, up, down, c);
  return c;
}

/* ---- asking ---- */

static void try_next(struct sentinel *sn);

static void on_step(uv_timer_t *t) {
  try_next(t->data);
}

static void ask_failed(struct sn_conn *c, const char *reason) {
  struct sentinel *sn = c->sn;
  bool mine = sn->asking && sn->ask == c;
  if (mine)
    strbuf_addf(&sn->why, "%s%s: %s", sn->why.len ? "; " : "", c->link.where,
                reason);
  finish(c);
  if (mine)
    uv_timer_start(&sn->step, on_step, 0, 0);
}

static void on_addr(redisAsyncContext *ac, void *r, void *privdata) {
  struct sn_conn *c = privdata;
  struct sentinel *sn = c->sn;
  redisReply *reply = r;
  char host[256];
  long port;
  (void)ac;
  if (!reply || c->finished)
    return; /* a lost connection is reported through ask_down */
  if (reply->type == REDIS_REPLY_ERROR) {
    char why[300];
    snprintf(why, sizeof(why), "%.280s", reply->str);
    ask_failed(c, why);
    return;
  }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_STRING ||
      reply->element[1]->type != REDIS_REPLY_STRING) {
    char why[300];
    snprintf(why, sizeof(why), "does not know a master named '%.200s'",
             sn->master);
    ask_failed(c, why);
    return;
  }
  port = strtol(reply->element[1]->str, NULL, 10);
  snprintf(host, sizeof(host), "%s", reply->element[0]->str);
  if (port < 1 || port > 65535 || !host[0]) {
    ask_failed(c, "answered an address that is not one");
    return;
  }
  sn->good = c->idx;
  finish(c);
  if (sn->asking) {
    sentinel_found_cb cb = sn->found;
    sn->asking = false;
    sn->found = NULL;
    cb(sn->found_data, 0, host, (int)port, NULL);
  }
}

static void ask_up(struct rlink *link) {
  struct sn_conn *c = container_of(link, struct sn_conn, link);
  const char *argv[] = {"SENTINEL", "get-master-addr-by-name", c->sn->master};
  if (rlink_command(link, on_addr, c, 3, argv, NULL) < 0)
    ask_failed(c, "cannot send SENTINEL get-master-addr-by-name");
}

static void ask_down(struct rlink *link, const char *reason) {
  struct sn_conn *c = container_of(link, struct sn_conn, link);
  if (!c->finished)
    ask_failed(c, reason);
}

static void try_next(struct sentinel *sn) {
  size_t idx;
  if (!sn->asking || sn->closing)
    return;
  if (sn->tried == sn->n) {
    sentinel_found_cb cb = sn->found;
    char *why = strbuf_take(&sn->why);
    sn->asking = false;
    sn->found = NULL;
    cb(sn->found_data, -EHOSTUNREACH, NULL, 0, why ? why : "no sentinel");
    free(why);
    return;
  }
  idx = (sn->good + sn->tried++) % sn->n;
  sn->ask = open_conn(sn, idx, false, ask_up, ask_down);
}

void sentinel_cancel(struct sentinel *sn) {
  sn->asking = false;
  sn->found = NULL;
  uv_timer_stop(&sn->step);
  if (sn->ask)
    finish(sn->ask);
}

void sentinel_ask(struct sentinel *sn, sentinel_found_cb cb, void *data) {
  sentinel_cancel(sn);
  if (sn->closing)
    return;
  sn->asking = true;
  sn->found = cb;
  sn->found_data = data;
  sn->tried = 0;
  strbuf_free(&sn->why);
  uv_timer_start(&sn->step, on_step, 0, 0);
}

/* ---- watching ---- */

static void start_watch(struct sentinel *sn);

static void on_rewatch(uv_timer_t *t) {
  start_watch(t->data);
}

static void watch_failed(struct sn_conn *c, const char *reason) {
  struct sentinel *sn = c->sn;
  bool was = sn->subscribed;
  if (c->finished)
    return;
  finish(c);
  if (sn->closing)
    return;
  if (was)
    log_info("sentinel: stopped listening to %s: %s; trying the next "
             "sentinel",
             c->link.where, reason);
  sn->watch_idx = (c->idx + 1) % sn->n;
  uv_timer_start(&sn->rewatch, on_rewatch, REWATCH_MS, 0);
}

/* "+switch-master <name> <old ip> <old port> <new ip> <new port>" */
static void on_message(redisAsyncContext *ac, void *r, void *privdata) {
  struct sn_conn *c = privdata;
  struct sentinel *sn = c->sn;
  redisReply *reply = r;
  char name[256], oldip[64], newip[64];
  int oldport, newport;
  (void)ac;
  if (!reply || c->finished)
    return;
  if (reply->type == REDIS_REPLY_ERROR) {
    char why[300];
    snprintf(why, sizeof(why), "SUBSCRIBE failed: %.250s", reply->str);
    watch_failed(c, why);
    return;
  }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
      reply->element[0]->type != REDIS_REPLY_STRING)
    return;
  if (strcmp(reply->element[0]->str, "subscribe") == 0) {
    sn->subscribed = true;
    rlink_confirm(&c->link);
    log_debug("sentinel: listening for +switch-master on %s", c->link.where);
    return;
  }
  if (strcmp(reply->element[0]->str, "message") != 0 ||
      reply->element[2]->type != REDIS_REPLY_STRING)
    return;
  if (sscanf(reply->element[2]->str, "%255s %63s %d %63s %d", name, oldip,
             &oldport, newip, &newport) != 5 ||
      strcmp(name, sn->master) != 0)
    return;
  log_info("sentinel: %s says master '%s' moved from %s:%d to %s:%d",
           c->link.where, sn->master, oldip, oldport, newip, newport);
  sn->on_switch(sn->data, newip, newport);
}

static void watch_up(struct rlink *link) {
  struct sn_conn *c = container_of(link, struct sn_conn, link);
  const char *argv[] = {"SUBSCRIBE", "+switch-master"};
  if (rlink_command(link, on_message, c, 2, argv, NULL) < 0)
    watch_failed(c, "cannot send SUBSCRIBE");
}

static void watch_down(struct rlink *link, const char *reason) {
  watch_failed(container_of(link, struct sn_conn, link), reason);
}

static void start_watch(struct sentinel *sn) {
  if (sn->closing || sn->watcher)
    return;
  sn->watcher = open_conn(sn, sn->watch_idx, true, watch_up, watch_down);
}

bool sentinel_watching(const struct sentinel *sn) {
  return sn->subscribed;
}

/* ---- life ---- */

struct sentinel *sentinel_new(uv_loop_t *loop, const struct rlink_options *opt,
                              sentinel_switch_cb on_switch, void *data) {
  struct sentinel *sn = xcalloc(1, sizeof(*sn));
  sn->loop = loop;
  sn->n = opt->nsentinels;
  sn->addrs = xcalloc(sn->n + 1, sizeof(*sn->addrs));
  for (size_t i = 0; i < sn->n; i++) {
    sn->addrs[i].host = xstrdup(opt->sentinels[i].host);
    sn->addrs[i].port = opt->sentinels[i].port;
  }
  sn->master = xstrdup(opt->master ? opt->master : "");
  sn->password =
      opt->sentinel_password ? xstrdup(opt->sentinel_password) : NULL;
  sn->timeout_ms = opt->connect_timeout_ms;
  sn->on_switch = on_switch;
  sn->data = data;
  /* Cannot fail: timer inits only record the loop. */
  uv_timer_init(loop, &sn->step);
  uv_timer_init(loop, &sn->rewatch);
  sn->step.data = sn->rewatch.data = sn;
  start_watch(sn);
  return sn;
}

static void on_timer_closed(uv_handle_t *h) {
  struct sentinel *sn = h->data;
  sn->timers_closed++;
  maybe_closed(sn);
}

void sentinel_close(struct sentinel *sn, void (*on_closed)(void *data)) {
  sentinel_cancel(sn);
  sn->closing = true;
  sn->on_closed = on_closed;
  if (sn->watcher)
    finish(sn->watcher);
  uv_close((uv_handle_t *)&sn->step, on_timer_closed);
  uv_close((uv_handle_t *)&sn->rewatch, on_timer_closed);
}
