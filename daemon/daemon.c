#include "daemon.h"

#include "log.h"
#include "tz.h"
#include "util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

int daemon_apply_globals(const struct config *cfg) {
  log_set_level(cfg->log_level);
  return tz_set(cfg->timezone);
}

static void on_close_noop(uv_handle_t *handle) {
  (void)handle;
}

static void on_fetch(void *data, const struct feed *feed, int64_t fetch_ms,
                     const char *error, const struct observation *obs,
                     size_t n) {
  struct daemon *dm = data;
  store_feed_status(&dm->store, feed, fetch_ms, error);
  if (n)
    store_observations(&dm->store, feed, obs, n);
}

static void on_store_closed(struct store *s) {
  struct daemon *dm = container_of(s, struct daemon, store);
  dm->store_open = false;
}

static void begin_shutdown(struct daemon *dm, const char *why);

static int start_collector(struct daemon *dm) {
  char err[300];
  int rc = collector_init(&dm->col, &dm->loop, dm->cfg, on_fetch, dm, err,
                          sizeof(err));
  if (rc < 0) {
    log_error("daemon: %s", err);
    return rc;
  }
  collector_start(&dm->col);
  dm->col_running = true;
  return 0;
}

static void on_collector_closed(struct collector *c) {
  struct daemon *dm = container_of(c, struct daemon, col);
  dm->col_running = false;
  config_free(dm->old_cfg);
  dm->old_cfg = NULL;
  if (dm->stopping) {
    /* Nothing writes any more: persist the queue and close the store. */
    if (dm->store_open)
      store_close(&dm->store, on_store_closed);
    return;
  }
  /* A reload swapped the config while the old collector closed. */
  if (start_collector(dm) < 0) {
    dm->exit_code = 1;
    begin_shutdown(dm, "the new configuration cannot be run");
  }
}

static void begin_shutdown(struct daemon *dm, const char *why) {
  if (dm->stopping)
    return;
  dm->stopping = true;
  log_info("daemon: %s, shutting down", why);
  uv_close((uv_handle_t *)&dm->sigint, on_close_noop);
  uv_close((uv_handle_t *)&dm->sigterm, on_close_noop);
  uv_close((uv_handle_t *)&dm->sighup, on_close_noop);
  if (dm->col_running)
    collector_close(&dm->col, on_collector_closed);
  else if (!dm->old_cfg && dm->store_open)
    store_close(&dm->store, on_store_closed);
  /* A reload still queued is dropped; one already running finishes and its
   * result is discarded in reload_done. */
  if (dm->reloading)
    uv_cancel((uv_req_t *)&dm->reload_work);
}

static void reload_work(uv_work_t *req) {
  struct daemon *dm = req->data;
  /* Runs on a worker thread: reading files must not block the loop. */
  dm->reload_cfg = config_load(dm->config_path, &dm->reload_diag);
}

static void start_reload(struct daemon *dm);

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
      free(s);
    }
  } else {
    /* The running collector borrows the old config: restart it on the new
     * one once it has closed. */
    if (dm->old_cfg) {
      /* The previous reload's close is still running; it will start the
       * collector on whatever dm->cfg is then. */
      config_free(dm->cfg);
      dm->cfg = dm->reload_cfg;
      store_set_config(&dm->store, dm->cfg);
    } else {
      dm->old_cfg = dm->cfg;
      dm->cfg = dm->reload_cfg;
      store_set_config(&dm->store, dm->cfg);
      if (dm->col_running)
        collector_close(&dm->col, on_collector_closed);
      else
        on_collector_closed(&dm->col);
    }
    if (daemon_apply_globals(dm->cfg) < 0)
      log_warn("daemon: cannot install time zone %s", dm->cfg->timezone);
    log_info("daemon: configuration reloaded from %s (%zu feeds, %zu "
             "targets, %zu receivers)",
             dm->config_path, dm->cfg->nfeeds, dm->cfg->ntargets,
             dm->cfg->nreceivers);
  }
  dm->reload_cfg = NULL;
  diag_free(&dm->reload_diag);
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

int daemon_run(const char *config_path, struct config *cfg) {
  struct daemon dm;
  char err[300];
  int rc;

  memset(&dm, 0, sizeof(dm));
  dm.cfg = cfg;
  dm.config_path = xstrdup(config_path);
  /* Writes to a closed peer socket must fail with EPIPE, not kill us. */
  signal(SIGPIPE, SIG_IGN);
  rc = uv_loop_init(&dm.loop);
  if (rc < 0) {
    log_error("daemon: cannot create the event loop: %s", uv_strerror(rc));
    config_free(cfg);
    free(dm.config_path);
    return 1;
  }
  /* uv_signal_init only records the loop; it cannot fail on Linux, and
   * having all three initialised keeps the shutdown path uniform. */
  uv_signal_init(&dm.loop, &dm.sigint);
  uv_signal_init(&dm.loop, &dm.sigterm);
  uv_signal_init(&dm.loop, &dm.sighup);
  if ((rc = start_signal(&dm, &dm.sigint, SIGINT)) < 0 ||
      (rc = start_signal(&dm, &dm.sigterm, SIGTERM)) < 0 ||
      (rc = start_signal(&dm, &dm.sighup, SIGHUP)) < 0) {
    log_error("daemon: cannot watch signals: %s", uv_strerror(rc));
    dm.exit_code = 1;
    begin_shutdown(&dm, "startup failed");
  } else if (store_init(&dm.store, &dm.loop, cfg, true, err, sizeof(err)) < 0) {
    log_error("daemon: %s", err);
    dm.exit_code = 1;
    begin_shutdown(&dm, "startup failed");
  } else {
    dm.store_open = true;
    if (start_collector(&dm) < 0) {
      dm.exit_code = 1;
      begin_shutdown(&dm, "startup failed");
    } else {
      log_info("daemon: indicatord running with %s (%zu feeds, %zu targets, "
               "%zu receivers)",
               config_path, cfg->nfeeds, cfg->ntargets, cfg->nreceivers);
    }
  }

  uv_run(&dm.loop, UV_RUN_DEFAULT);

  rc = uv_loop_close(&dm.loop);
  if (rc != 0) {
    log_error("daemon: event loop closed with handles open: %s",
              uv_strerror(rc));
    dm.exit_code = 1;
  }
  config_free(dm.cfg);
  config_free(dm.old_cfg);
  diag_free(&dm.reload_diag);
  free(dm.config_path);
  log_info("daemon: stopped");
  return dm.exit_code;
}
