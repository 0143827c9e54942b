/* The daemon: one libuv loop that owns the collectors, the store, the
 * targets and the HTTP endpoint; the signals that stop it (SIGINT, SIGTERM)
 * and reload it (SIGHUP); and systemd's notify protocol (READY, RELOADING,
 * STOPPING, STATUS, and the watchdog fed from a loop timer). */
#ifndef INDICATORD_DAEMON_H
#define INDICATORD_DAEMON_H

#include "alerts.h"
#include "cluster.h"
#include "collector.h"
#include "config.h"
#include "endpoint.h"
#include "statuspage.h"
#include "store.h"
#include "targets.h"

#include <stdbool.h>
#include <uv.h>

struct daemon {
  uv_loop_t loop;
  struct config *cfg; /* owned; replaced on a successful reload */
  char *config_path;
  uv_signal_t sigint, sigterm, sighup;
  uv_work_t reload_work;
  struct config *reload_cfg; /* result of the reload worker */
  struct diag reload_diag;
  bool reloading, reload_again, stopping;
  struct store store;
  struct collector col;
  struct targets tg;
  struct endpoint ep;
  struct alerts al;
  struct statuspage sp;
  struct cluster cl; /* cluster: several instances */
  bool store_open, col_open, tg_open, ep_open, al_open, cl_open;
  bool ep_closing;          /* endpoint_close called, not yet done */
  uv_timer_t watchdog;      /* WATCHDOG=1 and STATUS= */
  uv_timer_t stop_deadline; /* bounds the shutdown */
  char last_status[640];
  char reload_error[320]; /* why the last reload failed; "" after a good one */
  int exit_code;
};

/* Runs the daemon until SIGINT/SIGTERM. Takes ownership of cfg. Returns the
 * process exit code; the loop is closed (uv_loop_close() == 0) on return. */
int daemon_run(const char *config_path, struct config *cfg);

/* Applies the settings that live outside any module (log level, time zone).
 * Returns 0 or a negative errno code. */
int daemon_apply_globals(const struct config *cfg);

#endif
