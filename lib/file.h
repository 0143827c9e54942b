/* Reading files named in the configuration without ever blocking on them:
 * a FIFO, a device or a socket would block open() or read() forever (a
 * FIFO with no writer), so only regular files are read, and the check is
 * made on the opened descriptor (open with O_NONBLOCK, then fstat), not on
 * the name. */
#ifndef INDICATORD_FILE_H
#define INDICATORD_FILE_H

#include "util.h"

#include <stddef.h>

/* Reads the regular file at path, at most max bytes, into out (reset
 * first). Returns 0; -EFBIG when it is larger than max; -ENOTSUP when it
 * is not a regular file (*kind then says what it is: "a directory", "a
 * FIFO", ...); or the negative errno of open or read. */
int file_read(const char *path, size_t max, struct strbuf *out,
              const char **kind);
/* Checks, without opening it, that path names a regular file (following
 * symbolic links). Same codes as file_read. */
int file_check(const char *path, const char **kind);
/* What st_mode is, for messages ("a directory", "a FIFO", ...). */
const char *file_kind(unsigned mode);

#endif
