/* libFuzzer target: spool files as a crash may leave them (torn, damaged,
 * garbage): open, the scan, replay and a rewind must never misbehave. */
#include "spool.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char dir[64];
  char path[128];
  struct spool sp;
  struct strbuf rec = {0};
  char *warn = NULL;
  FILE *f;
  if (!dir[0]) {
    snprintf(dir, sizeof(dir), "/tmp/indicatord-fuzz-spool-%d", (int)getpid());
  }
  snprintf(path, sizeof(path), "%s/spool.bin", dir);
  if (spool_open(&sp, dir, 1 << 20) == 0)
    spool_close(&sp);
  f = fopen(path, "wb");
  if (!f)
    return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  if (spool_open(&sp, dir, 1 << 20) == 0) {
    int n = 0;
    spool_scan_now(&sp, &warn);
    while (spool_next(&sp, &rec) == 1 && n++ < 100000)
      ;
    spool_rewind(&sp, 0);
    while (spool_next(&sp, &rec) == 1 && n++ < 200000)
      ;
    spool_append(&sp, "x", 1);
    spool_close(&sp);
  }
  free(warn);
  strbuf_free(&rec);
  unlink(path);
  return 0;
}
