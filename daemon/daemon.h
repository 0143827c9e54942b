/* The daemon's event loop: one libuv loop that owns every handle, the
 * signals that stop it (SIGINT, SIGTERM) and reload it (SIGHUP), and the
 * active configuration. */
#ifndef INDICATORD_DAEMON_H
#define INDICATORD_DAEMON_H

#include "collector.h"
#include "config.h"
#include "store.h"

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
  struct collector col;
  bool col_running;
  struct store store;
  bool store_open;
  struct config *old_cfg; /* kept until the collector using it has closed */
  int exit_code;
};

/* Runs the daemon until SIGINT/SIGTERM. Takes ownership of cfg. Returns the
 * process exit code; the loop is closed (uv_loop_close() == 0) on return. */
int daemon_run(const char *config_path, struct config *cfg);

/* Applies the settings that live outside any module (log level, time zone).
 * Returns 0 or a negative errno code. */
int daemon_apply_globals(const struct config *cfg);

#endif
