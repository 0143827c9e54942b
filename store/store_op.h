/* One queued Redis command of the store, and its form in the spool:
 *   u32 argc | (u32 length | bytes) per argument   (little endian)
 * An op read back from the spool remembers where its record is, so that
 * an interrupted replay can start again from it. */
#ifndef INDICATORD_STORE_OP_H
#define INDICATORD_STORE_OP_H

#include "util.h"

#include <stdint.h>

#define STORE_OP_NOT_SPOOLED UINT64_MAX

struct store_op {
  uint32_t argc;
  size_t *len;
  char **argv;
  uint64_t spool_off; /* its record in the spool; STORE_OP_NOT_SPOOLED */
};

/* argv copied (argvlen NULL: NUL-terminated strings); one allocation. */
struct store_op *store_op_new(int argc, const char **argv,
                              const size_t *argvlen);
void store_op_serialise(const struct store_op *op, struct strbuf *out);
/* NULL when the bytes do not hold a well-formed command. */
struct store_op *store_op_deserialise(const char *buf, size_t len);

#endif
