/* indicatord: command line (contract §2). */
#include "alerts.h"
#include "config.h"
#include "config_load.h"
#include "daemon.h"
#include "diag.h"
#include "log.h"
#include "once.h"
#include "timefmt.h"
#include "tz.h"
#include "util.h"
#include "version.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum exit_code {
  EXIT_OK = 0,
  EXIT_RUNTIME = 1,
  EXIT_USAGE = 2,
  EXIT_FAILED = 3
};

static const char usage_text[] =
    "Usage: indicatord [-c FILE] COMMAND [OPTIONS]\n"
    "\n"
    "Watches yearly targets through the data feeds that measure them.\n"
    "\n"
    "Commands:\n"
    "  run                    run the daemon in the foreground\n"
    "  check                  validate the configuration and exit\n"
    "  once [--json] [--now TIME] [--fail-on CLASS]\n"
    "                         fetch every feed once, store, evaluate, print\n"
    "                         the target table and exit\n"
    "  status [--json] [--now TIME]\n"
    "                         print the stored target table from Redis\n"
    "  notify-test RECEIVER   send one test message through a receiver\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE      configuration (default " CONFIG_DEFAULT_PATH ")\n"
    "      --json             print one JSON object instead of the table\n"
    "      --now TIME         a what-if: judge as of this ISO 8601 time, on\n"
    "                         observations up to it, from a fresh state,\n"
    "                         writing no target state, events or alerts\n"
    "      --fail-on CLASS    with once: exit 3 when any target is at or\n"
    "                         below CLASS (off_track or at_risk)\n"
    "  -h, --help             show this help\n"
    "  -V, --version          show the version\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure (Redis unreachable, a feed\n"
    "once could not fetch or read), 2 usage or configuration error, 3 a\n"
    "target at or below --fail-on.\n";

struct cli {
  const char *config;
  const char *command;
  const char *receiver;
  const char *now;
  const char *fail_on;
  bool json;
};

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "indicatord: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry 'indicatord --help'.\n");
  return EXIT_USAGE;
}

/* Returns -1 to continue, or an exit code. */
static int parse_args(int argc, char **argv, struct cli *cli) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"json", no_argument, NULL, 'j'},
      {"now", required_argument, NULL, 'n'},
      {"fail-on", required_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  static const char *const commands[] = {"run",    "check",       "once",
                                         "status", "notify-test", NULL};
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":c:hV", opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      cli->config = optarg;
      break;
    case 'j':
      cli->json = true;
      break;
    case 'n':
      cli->now = optarg;
      break;
    case 'f':
      cli->fail_on = optarg;
      break;
    case 'h':
      fputs(usage_text, stdout);
      return EXIT_OK;
    case 'V':
      printf("indicatord %s\n", INDICATORD_VERSION);
      return EXIT_OK;
    case ':':
      return usage_error("option '%s' needs an argument", argv[optind - 1]);
    default:
      return usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc)
    return usage_error("%s", "no command given");
  cli->command = argv[optind++];
  {
    bool known = false;
    for (int i = 0; commands[i]; i++)
      if (strcmp(cli->command, commands[i]) == 0)
        known = true;
    if (!known)
      return usage_error("unknown command '%s'", cli->command);
  }
  if (strcmp(cli->command, "notify-test") == 0) {
    if (optind >= argc)
      return usage_error("%s", "notify-test needs a RECEIVER id");
    cli->receiver = argv[optind++];
  }
  if (optind < argc)
    return usage_error("unexpected argument '%s'", argv[optind]);
  {
    bool table = strcmp(cli->command, "once") == 0 ||
                 strcmp(cli->command, "status") == 0;
    if (cli->json && !table)
      return usage_error("--json applies to once and status, not %s",
                         cli->command);
    if (cli->now && !table)
      return usage_error("--now applies to once and status, not %s",
                         cli->command);
    if (cli->fail_on && strcmp(cli->command, "once") != 0)
      return usage_error("--fail-on applies to once, not %s", cli->command);
    if (cli->fail_on && strcmp(cli->fail_on, "off_track") != 0 &&
        strcmp(cli->fail_on, "at_risk") != 0)
      return usage_error("--fail-on takes off_track or at_risk, not '%s'",
                         cli->fail_on);
  }
  return -1;
}

static struct config *load_or_report(const char *path) {
  struct diag d = {0};
  struct config *cfg = config_load(path, &d);
  if (!cfg) {
    diag_print(&d, stderr);
    fprintf(stderr, "indicatord: %zu error%s in the configuration\n", d.n,
            d.n == 1 ? "" : "s");
  }
  diag_free(&d);
  return cfg;
}

int main(int argc, char **argv) {
  struct cli cli = {.config = CONFIG_DEFAULT_PATH};
  struct once_options oopt = {0};
  struct config *cfg;
  int rc = parse_args(argc, argv, &cli);
  if (rc >= 0)
    return rc;

  log_init(LOG_LEVEL_INFO);
  cfg = load_or_report(cli.config);
  if (!cfg)
    return EXIT_USAGE;
  if (strcmp(cli.command, "check") == 0) {
    printf("configuration OK\n");
    config_free(cfg);
    return EXIT_OK;
  }
  if (daemon_apply_globals(cfg) < 0) {
    fprintf(stderr, "indicatord: cannot install time zone %s\n", cfg->timezone);
    config_free(cfg);
    return EXIT_RUNTIME;
  }
  if (cli.now) {
    struct timefmt_value when;
    char why[128];
    if (timefmt_parse(cli.now, strlen(cli.now), TIMEFMT_ISO8601, NULL, &when,
                      why, sizeof(why)) < 0) {
      config_free(cfg);
      return usage_error("--now: %s", why);
    }
    oopt.now_ms = when.start_ms;
  }
  oopt.json = cli.json;
  if (cli.fail_on) {
    oopt.fail = true;
    eval_class_parse(cli.fail_on, &oopt.fail_on);
  }
  if (strcmp(cli.command, "status") == 0) {
    rc = once_status(cfg, &oopt);
    config_free(cfg);
    return rc;
  }
  if (strcmp(cli.command, "run") == 0 || strcmp(cli.command, "once") == 0) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
      fprintf(stderr, "indicatord: cannot initialise libcurl\n");
      config_free(cfg);
      return EXIT_RUNTIME;
    }
    if (strcmp(cli.command, "run") == 0) {
      rc = daemon_run(cli.config, cfg);
    } else {
      rc = once_run(cfg, &oopt);
      config_free(cfg);
    }
    curl_global_cleanup();
    return rc;
  }
  {
    /* notify-test */
    const struct receiver *r = config_receiver(cfg, cli.receiver);
    if (!r) {
      fprintf(stderr, "indicatord: no receiver '%s' in %s\n", cli.receiver,
              cli.config);
      config_free(cfg);
      return EXIT_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = alerts_notify_test(cfg, r);
    curl_global_cleanup();
    config_free(cfg);
    return rc;
  }
}
