/* Helpers shared by the unit tests: configs from inline YAML, extraction of
 * a body through the real extractor. Header-only, test code only. */
#ifndef INDICATORD_TESTUTIL_H
#define INDICATORD_TESTUTIL_H

#include "config.h"
#include "config_load.h"
#include "extract.h"
#include "tz.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Loads a config from text; aborts the test (returns NULL) on errors after
 * printing them. */
static inline struct config *test_config(const char *yaml) {
  char path[] = "/tmp/indicatord-unit-XXXXXX.yaml";
  int fd = mkstemps(path, 5);
  struct diag d = {0};
  struct config *c;
  FILE *f;
  if (fd < 0)
    return NULL;
  f = fdopen(fd, "w");
  fputs(yaml, f);
  fclose(f);
  c = config_load(path, &d);
  if (!c)
    diag_print(&d, stderr);
  diag_free(&d);
  unlink(path);
  if (c)
    tz_set(c->timezone);
  return c;
}

/* Runs feed 0 of cfg over body; returns extract_run's code. */
static inline int test_extract(const struct config *cfg, const char *body,
                               size_t len, int64_t fetch_ms,
                               struct extract_out *out) {
  struct extractor *ex = NULL;
  char err[300];
  int rc;
  if (extract_new(&cfg->feeds[0], &ex, err, sizeof(err)) < 0) {
    fprintf(stderr, "extract_new: %s\n", err);
    return -999;
  }
  rc = extract_run(ex, body, len, fetch_ms, NULL, out);
  extract_free(ex);
  return rc;
}

static inline bool test_has_error(const struct extract_out *out,
                                  const char *needle) {
  for (size_t i = 0; i < out->nerrs; i++)
    if (strstr(out->errs[i].msg, needle))
      return true;
  for (size_t i = 0; i < out->nerrs; i++)
    fprintf(stderr, "  error: %s\n", out->errs[i].msg);
  return false;
}

#endif
