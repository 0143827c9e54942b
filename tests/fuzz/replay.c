/* Runs a fuzz target over files without libFuzzer, so that every seed and
 * every crash ever found is replayed by ctest on the sanitizer build.
 * On that build each input is also checked for leaks as soon as it has run,
 * so that a leak fails the replay and names the input that caused it.
 * usage: replay DIR|FILE... */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_LEAK_CHECK 1
#endif
#endif
#ifdef REPLAY_LEAK_CHECK
#include <sanitizer/lsan_interface.h>
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int leaky;

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf;
  long len;
  if (!f)
    return -1;
  fseek(f, 0, SEEK_END);
  len = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc(len > 0 ? (size_t)len : 1);
  if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
    fclose(f);
    free(buf);
    return -1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(buf, (size_t)len);
  free(buf);
#ifdef REPLAY_LEAK_CHECK
  if (__lsan_do_recoverable_leak_check()) {
    fprintf(stderr, "replay: %s leaks (report above)\n", path);
    leaky++;
  }
#endif
  return 0;
}

int main(int argc, char **argv) {
  int files = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      DIR *d = opendir(argv[i]);
      struct dirent *e;
      while (d && (e = readdir(d))) {
        char path[4096];
        if (e->d_name[0] == '.')
          continue;
        snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
        if (run_file(path) == 0)
          files++;
      }
      if (d)
        closedir(d);
    } else if (run_file(argv[i]) == 0) {
      files++;
    }
  }
  printf("replayed %d inputs, %d leaking\n", files, leaky);
  return files > 0 && !leaky ? 0 : 1;
}
