#include "resp.h"

#include <string.h>

static size_t digits(size_t v) {
  size_t n = 1;
  while (v >= 10) {
    v /= 10;
    n++;
  }
  return n;
}

static char *put_count(char *p, char type, size_t v) {
  size_t n = digits(v);
  *p++ = type;
  for (size_t i = n; i > 0; i--) {
    p[i - 1] = (char)('0' + v % 10);
    v /= 10;
  }
  p += n;
  *p++ = '\r';
  *p++ = '\n';
  return p;
}

static size_t arg_len(const char **argv, const size_t *argvlen, int i) {
  return argvlen ? argvlen[i] : strlen(argv[i]);
}

size_t resp_command_len(int argc, const char **argv, const size_t *argvlen) {
  size_t total = 1 + digits((size_t)argc) + 2;
  for (int i = 0; i < argc; i++) {
    size_t l = arg_len(argv, argvlen, i);
    total += 1 + digits(l) + 2 + l + 2;
  }
  return total;
}

size_t resp_command_write(char *buf, int argc, const char **argv,
                          const size_t *argvlen) {
  char *p = put_count(buf, '*', (size_t)argc);
  for (int i = 0; i < argc; i++) {
    size_t l = arg_len(argv, argvlen, i);
    p = put_count(p, '$', l);
    memcpy(p, argv[i], l);
    p += l;
    *p++ = '\r';
    *p++ = '\n';
  }
  *p = '\0';
  return (size_t)(p - buf);
}
