#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

const char *file_kind(unsigned mode) {
  switch (mode & S_IFMT) {
  case S_IFREG:
    return "a regular file";
  case S_IFDIR:
    return "a directory";
  case S_IFIFO:
    return "a FIFO";
  case S_IFSOCK:
    return "a socket";
  case S_IFCHR:
    return "a character device";
  case S_IFBLK:
    return "a block device";
  default:
    return "not a regular file";
  }
}

int file_check(const char *path, const char **kind) {
  struct stat st;
  if (stat(path, &st) != 0)
    return -errno;
  if (!S_ISREG(st.st_mode)) {
    *kind = file_kind(st.st_mode);
    return -ENOTSUP;
  }
  return 0;
}

int file_read(const char *path, size_t max, struct strbuf *out,
              const char **kind) {
  struct stat st;
  char chunk[8192];
  int fd, rc = 0;
  strbuf_reset(out);
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
   * writer. Regular files ignore the flag. */
  fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  if (fstat(fd, &st) != 0) {
    rc = -errno;
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    *kind = file_kind(st.st_mode);
    rc = -ENOTSUP;
    goto out;
  }
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = -errno;
      break;
    }
    if (n == 0)
      break;
    if (out->len + (size_t)n > max) {
      rc = -EFBIG;
      break;
    }
    strbuf_add(out, chunk, (size_t)n);
  }
out:
  close(fd);
  return rc;
}
