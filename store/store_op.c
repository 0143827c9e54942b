#include "store_op.h"

#include <stdlib.h>
#include <string.h>

struct store_op *store_op_new(int argc, const char **argv,
                              const size_t *argvlen) {
  size_t total = 0;
  struct store_op *op;
  char *p;
  for (int i = 0; i < argc; i++)
    total += (argvlen ? argvlen[i] : strlen(argv[i])) + 1;
  op = xmalloc(sizeof(*op) + (size_t)argc * (sizeof(size_t) + sizeof(char *)) +
               total);
  op->argc = (uint32_t)argc;
  op->spool_off = STORE_OP_NOT_SPOOLED;
  op->len = (size_t *)(op + 1);
  op->argv = (char **)(op->len + argc);
  p = (char *)(op->argv + argc);
  for (int i = 0; i < argc; i++) {
    size_t l = argvlen ? argvlen[i] : strlen(argv[i]);
    memcpy(p, argv[i], l);
    p[l] = '\0';
    op->argv[i] = p;
    op->len[i] = l;
    p += l + 1;
  }
  return op;
}

static void put32(struct strbuf *out, uint32_t v) {
  unsigned char n[4] = {(unsigned char)v, (unsigned char)(v >> 8),
                        (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
  strbuf_add(out, (const char *)n, 4);
}

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

void store_op_serialise(const struct store_op *op, struct strbuf *out) {
  strbuf_reset(out);
  put32(out, op->argc);
  for (uint32_t i = 0; i < op->argc; i++) {
    put32(out, (uint32_t)op->len[i]);
    strbuf_add(out, op->argv[i], op->len[i]);
  }
}

struct store_op *store_op_deserialise(const char *buf, size_t len) {
  const unsigned char *p = (const unsigned char *)buf;
  uint32_t argc;
  const char **argv;
  size_t *lens, off = 4;
  struct store_op *op = NULL;
  if (len < 4)
    return NULL;
  argc = get32(p);
  if (argc == 0 || argc > len / 4)
    return NULL;
  argv = xcalloc(argc, sizeof(*argv));
  lens = xcalloc(argc, sizeof(*lens));
  for (uint32_t i = 0; i < argc; i++) {
    uint32_t l;
    if (len - off < 4)
      goto out;
    l = get32(p + off);
    off += 4;
    if (len - off < l)
      goto out;
    argv[i] = buf + off;
    lens[i] = l;
    off += l;
  }
  if (off == len)
    op = store_op_new((int)argc, argv, lens);
out:
  free(argv);
  free(lens);
  return op;
}
