#include "daemon.h"

#include "config_load.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "table.h"
#include "tz.h"
#include "utf8.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Without a systemd watchdog, STATUS= is still refreshed this often. */
#define STATUS_EVERY_MS 10000

int daemon_apply_globals(const struct config *cfg) {
  log_set_level(cfg->log_level);
  return tz_set(cfg->timezone);
}

static void on_close_noop(uv_handle_t *handle) {
  (void)handle;
}

/* ---- the pipeline ---- */

static void on_fetch(void *data, const struct feed *feed, int64_t fetch_ms,
                     const char *error, const char *const *series_errors,
                     const struct observation *obs, size_t n) {
  struct daemon *dm = data;
  store_feed_status(&dm->store, feed, fetch_ms, error, series_errors);
  if (n)
    store_observations(&dm->store, feed, obs, n);
  targets_fetched(&dm->tg, feed, n > 0);
}

static void on_feed_done(void *data, size_t i, bool new_data) {
  struct daemon *dm = data;
  if (dm->cl_open)
    cluster_fetched(&dm->cl, i, new_data);
}

/* ---- several instances ---- */

static void on_leader(void *data, bool leader) {
  struct daemon *dm = data;
  targets_set_leader(&dm->tg, leader);
  alerts_set_leader(&dm->al, leader);
}

static void on_remote_fetch(void *data, size_t i, bool new_data) {
  struct daemon *dm = data;
  if (i < dm->cfg->nfeeds)
    targets_fetched(&dm->tg, &dm->cfg->feeds[i], new_data);
}

static void begin_shutdown(struct daemon *dm, const char *why);

static void on_cluster_fatal(void *data, const char *why) {
  struct daemon *dm = data;
  log_error("cluster: %s; stopping", why);
  dm->exit_code = 1;
  begin_shutdown(dm, "the instance cannot join the cluster");
}

static void start_cluster(struct daemon *dm) {
  /* Nothing is polled until its lease is ours (collector_take). */
  dm->col.leased = true;
  for (size_t i = 0; i < dm->col.nfeeds; i++)
    collector_drop(&dm->col, i);
  dm->col.done = on_feed_done;
  dm->cl.on_leader = on_leader;
  dm->cl.on_fetch = on_remote_fetch;
  dm->cl.on_fatal = on_cluster_fatal;
  dm->cl.data = dm;
  /* A follower until the leader lease is ours. */
  targets_set_leader(&dm->tg, false);
  alerts_set_leader(&dm->al, false);
  cluster_start(&dm->cl, &dm->loop, &dm->store, &dm->col, dm->cfg);
  dm->cl_open = true;
}

/* One line for `systemctl status`. */
static void update_status(struct daemon *dm) {
  size_t counts[EVAL_NCLASSES], failing = 0;
  struct strbuf sb = {0};
  for (size_t i = 0; i < dm->col.nfeeds; i++)
    if (dm->col.feeds[i]->failing)
      failing++;
  targets_count(&dm->tg, counts);
  strbuf_addf(&sb, "STATUS=feeds %zu ok, %zu failing; targets",
              dm->col.nfeeds - failing, failing);
  for (int c = 0; c < EVAL_NCLASSES; c++)
    if (counts[c])
      strbuf_addf(&sb, " %zu %s", counts[c],
                  eval_class_name((enum eval_class)c));
  if (!dm->tg.n)
    strbuf_adds(&sb, " none");
  strbuf_addf(&sb, "; redis %s",
              dm->store.refusal[0]      ? "REFUSES WRITES"
              : store_is_up(&dm->store) ? "up"
                                        : "DOWN");
  if (dm->cl_open)
    strbuf_addf(&sb, "; cluster: %zu feed lease(s)%s", dm->cl.held,
                dm->cl.leader ? ", leader" : "");
  if (dm->reload_error[0])
    strbuf_addf(&sb, "; reload failed: %s", dm->reload_error);
  if (strcmp(sb.buf, dm->last_status) != 0) {
    notify_send(sb.buf);
    snprintf(dm->last_status, sizeof(dm->last_status), "%s", sb.buf);
  }
  strbuf_free(&sb);
}

static void on_watchdog(uv_timer_t *t) {
  struct daemon *dm = t->data;
  /* Sent from the loop: a stuck loop stops feeding it and gets restarted. */
  if (notify_watchdog_ms())
    notify_send("WATCHDOG=1");
  update_status(dm);
  /* A follower's table follows the leader's judgements. */
  if (dm->cl_open && !dm->cl.leader && dm->tg_open)
    targets_evaluate(&dm->tg, NULL);
}

/* ---- the HTTP endpoint ---- */

static void ep_metrics(void *data, struct strbuf *out) {
  struct daemon *dm = data;
  metrics_render(out, dm->col_open ? &dm->col : NULL, &dm->store,
                 dm->tg_open ? &dm->tg : NULL, dm->al_open ? &dm->al : NULL,
                 dm->cl_open ? &dm->cl : NULL);
  metrics_render_endpoint(out, &dm->ep);
}

static bool ep_health(void *data, struct strbuf *reason) {
  struct daemon *dm = data;
  return store_healthy(&dm->store, reason);
}

static void ep_status(void *data, struct strbuf *out) {
  struct daemon *dm = data;
  struct table_row *rows = xcalloc(dm->tg.n + 1, sizeof(*rows));
  char *buf = NULL;
  size_t len = 0;
  FILE *mem;
  for (size_t i = 0; i < dm->tg.n; i++)
    targets_row(&dm->tg, i, &rows[i]);
  mem = open_memstream(&buf, &len);
  if (mem) {
    table_print_json(mem, rows, dm->tg.n, targets_now(&dm->tg));
    fclose(mem);
    if (dm->cl_open)
      metrics_cluster_json(buf, len, &dm->cl, out);
    else
      strbuf_add(out, buf, len);
    free(buf);
  }
  free(rows);
}

static void answer_page(void *arg, const char *html, size_t len) {
  endpoint_answer(arg, 200, "text/html; charset=utf-8", html, len);
}

static void ep_page(void *data, struct endpoint_request *req) {
  struct daemon *dm = data;
  statuspage_get(&dm->sp, answer_page, req);
}

static const struct endpoint_ops endpoint_ops = {ep_metrics, ep_health,
                                                 ep_status, ep_page};

/* ---- shutdown ---- */

static void maybe_close_store(struct daemon *dm);

static void on_store_closed(struct store *s) {
  struct daemon *dm = container_of(s, struct daemon, store);
  dm->store_open = false;
  uv_close((uv_handle_t *)&dm->stop_deadline, on_close_noop);
}

static void maybe_close_store(struct daemon *dm) {
  /* The store goes last: everything else may still queue writes. */
  if (dm->col_open || dm->tg_open || dm->al_open || dm->cl_open ||
      !dm->store_open)
    return;
  store_close(&dm->store, on_store_closed);
}

static void on_collector_closed(struct collector *c) {
  struct daemon *dm = container_of(c, struct daemon, col);
  dm->col_open = false;
  maybe_close_store(dm);
}

static void on_targets_closed(struct targets *tg) {
  struct daemon *dm = container_of(tg, struct daemon, tg);
  dm->tg_open = false;
  maybe_close_store(dm);
}

static void on_alerts_closed(struct alerts *al) {
  struct daemon *dm = container_of(al, struct daemon, al);
  dm->al_open = false;
  maybe_close_store(dm);
}

static void on_cluster_closed(struct cluster *cl) {
  struct daemon *dm = container_of(cl, struct daemon, cl);
  dm->cl_open = false;
  maybe_close_store(dm);
}

static void on_endpoint_closed(struct endpoint *ep) {
  struct daemon *dm = container_of(ep, struct daemon, ep);
  dm->ep_closing = false;
}

static void on_stop_deadline(uv_timer_t *t) {
  struct daemon *dm = t->data;
  log_warn("daemon: shutdown is taking long; still open:%s%s%s%s%s",
           dm->col_open ? " collectors" : "", dm->tg_open ? " targets" : "",
           dm->cl_open ? " cluster" : "", dm->ep_closing ? " endpoint" : "",
           dm->store_open ? " store" : "");
}

static void begin_shutdown(struct daemon *dm, const char *why) {
  if (dm->stopping)
    return;
  dm->stopping = true;
  notify_send("STOPPING=1");
  log_info("daemon: %s, shutting down", why);
  uv_close((uv_handle_t *)&dm->sigint, on_close_noop);
  uv_close((uv_handle_t *)&dm->sigterm, on_close_noop);
  uv_close((uv_handle_t *)&dm->sighup, on_close_noop);
  uv_close((uv_handle_t *)&dm->watchdog, on_close_noop);
  uv_timer_start(&dm->stop_deadline, on_stop_deadline, 4000, 0);
  /* A reload still queued is dropped; one already running finishes and its
   * result is discarded in reload_done. */
  if (dm->reloading)
    uv_cancel((uv_req_t *)&dm->reload_work);
  /* In-flight fetches are cancelled; what is queued for Redis is written
   * or spooled by store_close. */
  /* Whoever waits for the status page gets it before the endpoint goes. */
  statuspage_close(&dm->sp);
  if (dm->ep_open) {
    dm->ep_open = false;
    dm->ep_closing = true;
    endpoint_close(&dm->ep, on_endpoint_closed);
  }
  /* The cluster hands its feeds over while the collector can still say
   * where each stands. */
  if (dm->cl_open)
    cluster_close(&dm->cl, on_cluster_closed);
  if (dm->col_open)
    collector_close(&dm->col, on_collector_closed);
  if (dm->tg_open)
    targets_close(&dm->tg, on_targets_closed);
  if (dm->al_open)
    alerts_close(&dm->al, on_alerts_closed);
  maybe_close_store(dm);
  if (!dm->store_open)
    uv_close((uv_handle_t *)&dm->stop_deadline, on_close_noop);
}

/* ---- reload ---- */

static void reload_work(uv_work_t *req) {
  struct daemon *dm = req->data;
  /* Runs on a worker thread: reading files must not block the loop. */
  dm->reload_cfg = config_load(dm->config_path, &dm->reload_diag);
}

static void start_reload(struct daemon *dm);

static void warn_if_exposed(const char *host, int port) {
  if (!endpoint_is_loopback(host))
    log_warn("daemon: listen %s:%d is reachable from other machines "
             "(/metrics and /status are not authenticated)",
             host, port);
}

static bool listen_changed(const struct config *a, const struct config *b) {
  return a->listen_off != b->listen_off ||
         (!b->listen_off && (a->listen_port != b->listen_port ||
                             strcmp(a->listen_host, b->listen_host) != 0));
}

/* Moves the endpoint to what cfg says (rebind, start or stop). Returns 0,
 * or a negative code with the reason in err: the old address stays. */
static int apply_listen(struct daemon *dm, const struct config *cfg, char *err,
                        size_t errlen) {
  int rc;
  if (cfg->listen_off) {
    if (dm->ep_open) {
      dm->ep_open = false;
      dm->ep_closing = true;
      endpoint_close(&dm->ep, on_endpoint_closed);
    }
    return 0;
  }
  if (dm->ep_open) {
    rc = endpoint_rebind(&dm->ep, cfg->listen_host, cfg->listen_port, err,
                         errlen);
  } else if (dm->ep_closing) {
    snprintf(err, errlen, "listen: the endpoint is still closing; try again");
    rc = -EBUSY;
  } else {
    rc = endpoint_start(&dm->ep, &dm->loop, cfg->listen_host, cfg->listen_port,
                        &endpoint_ops, dm, err, errlen);
  }
  if (rc == 0) {
    dm->ep_open = true;
    warn_if_exposed(cfg->listen_host, cfg->listen_port);
  }
  return rc;
}

/* A reload that cannot be applied: said in the log and in STATUS=. */
static void reload_failed(struct daemon *dm, const char *why) {
  log_error("daemon: reload of %s failed: %s; keeping the running "
            "configuration",
            dm->config_path, why);
  snprintf(dm->reload_error, sizeof(dm->reload_error), "%s", why);
  utf8_trim_partial(dm->reload_error);
}

static void apply_reload(struct daemon *dm, struct config *next) {
  struct config *prev = dm->cfg;
  size_t counts[3] = {0};
  char err[300];
  bool moved = listen_changed(prev, next);
  /* Checked first: nothing is changed when it refuses. */
  if (next->cluster.on != prev->cluster.on ||
      (next->cluster.on &&
       strcmp(next->cluster.instance, prev->cluster.instance) != 0)) {
    reload_failed(dm, "cluster: turning it on or off, or renaming the "
                      "instance, needs a restart");
    config_free(next);
    return;
  }
  /* A new address first: the one step that can fail for reasons outside
   * the file (in use, not ours), and the only one undone if a later step
   * refuses. Turning it off waits until nothing else can refuse. */
  if (moved && !next->listen_off &&
      apply_listen(dm, next, err, sizeof(err)) < 0) {
    reload_failed(dm, err);
    config_free(next);
    return;
  }
  if (collector_apply(&dm->col, next, counts, err, sizeof(err)) < 0) {
    char back[300];
    if (moved && !next->listen_off &&
        apply_listen(dm, prev, back, sizeof(back)) < 0)
      log_error("daemon: cannot go back to the previous listen: %s", back);
    reload_failed(dm, err);
    config_free(next);
    return;
  }
  if (moved && next->listen_off)
    (void)apply_listen(dm, next, err, sizeof(err)); /* closing cannot fail */
  dm->cfg = next;
  /* The store reconnects when the Redis settings changed. */
  store_set_config(&dm->store, next);
  targets_set_config(&dm->tg, next);
  alerts_set_config(&dm->al, next);
  if (dm->cl_open)
    cluster_set_config(&dm->cl, next);
  if (daemon_apply_globals(next) < 0)
    log_warn("daemon: cannot install time zone %s", next->timezone);
  dm->reload_error[0] = '\0';
  log_info("daemon: configuration reloaded from %s: %zu feeds kept, %zu "
           "started, %zu stopped; %zu targets, %zu receivers%s%s",
           dm->config_path, counts[0], counts[1], counts[2], next->ntargets,
           next->nreceivers, moved ? "; listening on " : "",
           moved ? (next->listen_off ? "nothing" : dm->ep.where) : "");
  config_free(prev);
  targets_evaluate(&dm->tg, NULL);
}

static void reload_done(uv_work_t *req, int status) {
  struct daemon *dm = req->data;
  dm->reloading = false;
  if (status == UV_ECANCELED || dm->stopping) {
    config_free(dm->reload_cfg);
  } else if (!dm->reload_cfg) {
    log_error("daemon: reload of %s failed with %zu error(s); keeping the "
              "running configuration",
              dm->config_path, dm->reload_diag.n);
    for (size_t i = 0; i < dm->reload_diag.n; i++) {
      char *s = diag_format(&dm->reload_diag, i);
      log_error("config: %s", s);
      if (i == 0) {
        snprintf(dm->reload_error, sizeof(dm->reload_error), "%s", s);
        utf8_trim_partial(dm->reload_error);
      }
      free(s);
    }
  } else {
    apply_reload(dm, dm->reload_cfg);
  }
  dm->reload_cfg = NULL;
  diag_free(&dm->reload_diag);
  if (!dm->stopping) {
    notify_send("READY=1");
    update_status(dm);
  }
  if (dm->reload_again && !dm->stopping) {
    dm->reload_again = false;
    start_reload(dm);
  }
}

static void start_reload(struct daemon *dm) {
  int rc;
  if (dm->reloading) {
    dm->reload_again = true;
    return;
  }
  dm->reload_work.data = dm;
  rc = uv_queue_work(&dm->loop, &dm->reload_work, reload_work, reload_done);
  if (rc < 0) {
    log_error("daemon: cannot start reload: %s", uv_strerror(rc));
    return;
  }
  dm->reloading = true;
  notify_send("RELOADING=1");
  log_info("daemon: SIGHUP, reloading %s", dm->config_path);
}

static void on_signal(uv_signal_t *handle, int signum) {
  struct daemon *dm = handle->data;
  if (signum == SIGHUP)
    start_reload(dm);
  else
    begin_shutdown(dm, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static int start_signal(struct daemon *dm, uv_signal_t *h, int signum) {
  h->data = dm;
  return uv_signal_start(h, on_signal, signum);
}

/* ---- start ---- */

static int start_pipeline(struct daemon *dm) {
  char err[300];
  int rc = store_init(&dm->store, &dm->loop, dm->cfg, true, err, sizeof(err));
  if (rc < 0) {
    log_error("daemon: %s", err);
    return rc;
  }
  dm->store_open = true;
  rc = collector_init(&dm->col, &dm->loop, dm->cfg, on_fetch, dm, err,
                      sizeof(err));
  if (rc < 0) {
    log_error("daemon: %s", err);
    return rc;
  }
  dm->col_open = true;
  targets_init(&dm->tg, &dm->loop, &dm->store, dm->cfg, true);
  dm->tg_open = true;
  rc = alerts_init(&dm->al, &dm->loop, &dm->store, &dm->tg, dm->cfg, true);
  if (rc < 0) {
    log_error("daemon: cannot start the alert engine: %s", strerror(-rc));
    return rc;
  }
  dm->al_open = true;
  dm->tg.on_eval = alerts_on_eval;
  dm->tg.data = &dm->al;
  statuspage_init(&dm->sp, &dm->loop, &dm->store, &dm->tg, &dm->col);
  if (dm->cfg->cluster.on)
    start_cluster(dm);
  if (!dm->cfg->listen_off) {
    rc = endpoint_start(&dm->ep, &dm->loop, dm->cfg->listen_host,
                        dm->cfg->listen_port, &endpoint_ops, dm, err,
                        sizeof(err));
    if (rc < 0) {
      log_error("daemon: %s", err);
      return rc;
    }
    dm->ep_open = true;
    warn_if_exposed(dm->cfg->listen_host, dm->cfg->listen_port);
  }
  collector_start(&dm->col);
  return 0;
}

/* Every descriptor goes through epoll, so the soft limit (1024 under
 * systemd) only caps how many peers the endpoint and the feeds may have at
 * once: raised to the hard limit. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      log_debug("daemon: cannot raise the descriptor limit: %s",
                strerror(errno));
  }
}

int daemon_run(const char *config_path, struct config *cfg) {
  struct daemon dm;
  uint64_t wd;
  int rc;

  memset(&dm, 0, sizeof(dm));
  dm.cfg = cfg;
  dm.config_path = xstrdup(config_path);
  /* Writes to a closed peer socket must fail with EPIPE, not kill us. */
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  rc = uv_loop_init(&dm.loop);
  if (rc < 0) {
    log_error("daemon: cannot create the event loop: %s", uv_strerror(rc));
    config_free(cfg);
    free(dm.config_path);
    return 1;
  }
  /* These inits cannot fail: timers only record the loop, and signal
   * handles share the signal pipe uv_loop_init opened. All are made up
   * front so that the shutdown path is the same whatever failed. */
  uv_signal_init(&dm.loop, &dm.sigint);
  uv_signal_init(&dm.loop, &dm.sigterm);
  uv_signal_init(&dm.loop, &dm.sighup);
  uv_timer_init(&dm.loop, &dm.watchdog);
  uv_timer_init(&dm.loop, &dm.stop_deadline);
  dm.watchdog.data = dm.stop_deadline.data = &dm;
  if ((rc = start_signal(&dm, &dm.sigint, SIGINT)) < 0 ||
      (rc = start_signal(&dm, &dm.sigterm, SIGTERM)) < 0 ||
      (rc = start_signal(&dm, &dm.sighup, SIGHUP)) < 0) {
    log_error("daemon: cannot watch signals: %s", uv_strerror(rc));
    dm.exit_code = 1;
    begin_shutdown(&dm, "startup failed");
  } else if (start_pipeline(&dm) < 0) {
    dm.exit_code = 1;
    begin_shutdown(&dm, "startup failed");
  } else {
    wd = notify_watchdog_ms();
    uv_timer_start(&dm.watchdog, on_watchdog, wd ? wd / 2 : STATUS_EVERY_MS,
                   wd ? wd / 2 : STATUS_EVERY_MS);
    char where[300] = "";
    if (!cfg->listen_off)
      snprintf(where, sizeof(where), "; http://%s:%d/metrics", cfg->listen_host,
               cfg->listen_port);
    log_info("daemon: indicatord running with %s (%zu feeds, %zu targets, "
             "%zu receivers%s)",
             config_path, cfg->nfeeds, cfg->ntargets, cfg->nreceivers, where);
    notify_send("READY=1");
    update_status(&dm);
    /* Show what Redis holds as soon as it answers, without waiting for
     * new data. */
    targets_evaluate(&dm.tg, NULL);
  }

  uv_run(&dm.loop, UV_RUN_DEFAULT);

  rc = uv_loop_close(&dm.loop);
  if (rc != 0) {
    log_error("daemon: event loop closed with handles open: %s",
              uv_strerror(rc));
    dm.exit_code = 1;
  }
  config_free(dm.cfg);
  diag_free(&dm.reload_diag);
  free(dm.config_path);
  log_info("daemon: stopped");
  return dm.exit_code;
}
