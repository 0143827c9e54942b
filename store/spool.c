#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC 0x31534449u /* "IDS1" little endian */
#define HEADER 12

uint32_t spool_crc32(const void *data, size_t len) {
  static uint32_t table[256];
  static bool ready;
  const unsigned char *p = data;
  uint32_t crc = 0xFFFFFFFFu;
  if (!ready) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++)
        c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    ready = true;
  }
  for (size_t i = 0; i < len; i++)
    crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      return -ENODATA;
    got += (size_t)n;
  }
  return 0;
}

static int write_all(int fd, const void *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, (const char *)buf + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    done += (size_t)n;
  }
  return 0;
}

/* Checks the record at off. Returns its total length, 0 when the bytes
 * there are not a whole valid record. */
static uint64_t valid_record(int fd, uint64_t off, uint64_t size,
                             struct strbuf *payload) {
  unsigned char h[HEADER];
  uint32_t len;
  if (size - off < HEADER || read_at(fd, h, HEADER, off) < 0 ||
      get32(h) != MAGIC)
    return 0;
  len = get32(h + 4);
  if (len > SPOOL_MAX_RECORD || size - off - HEADER < len)
    return 0;
  strbuf_reset(payload);
  if (len) {
    xgrow((void **)&payload->buf, &payload->cap, len + 1, 1);
    if (read_at(fd, payload->buf, len, off + HEADER) < 0)
      return 0;
  }
  payload->len = len;
  if (payload->buf)
    payload->buf[len] = '\0';
  if (spool_crc32(payload->buf ? payload->buf : "", len) != get32(h + 8))
    return 0;
  return HEADER + (uint64_t)len;
}

/* mkdir -p: systemd creates StateDirectory=, a hand-run daemon may not. */
static int make_dirs(const char *dir) {
  char *path = xstrdup(dir);
  int rc = 0;
  for (char *p = path + 1; *p && rc == 0; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
      rc = -errno;
    *p = '/';
  }
  if (rc == 0 && mkdir(path, 0700) != 0 && errno != EEXIST)
    rc = -errno;
  free(path);
  return rc;
}

int spool_open(struct spool *sp, const char *dir, uint64_t max_bytes,
               char **warning) {
  struct stat st;
  struct strbuf rec = {0};
  uint64_t off = 0, last_good = 0;
  memset(sp, 0, sizeof(*sp));
  *warning = NULL;
  sp->path = xasprintf("%s/spool.bin", dir);
  sp->max_bytes = max_bytes;
  sp->fd = -1;
  {
    int rc = make_dirs(dir);
    if (rc < 0) {
      free(sp->path);
      sp->path = NULL;
      return rc;
    }
  }
  sp->fd = open(sp->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (sp->fd < 0) {
    int rc = -errno;
    free(sp->path);
    sp->path = NULL;
    return rc;
  }
  /* One process per spool: a second indicatord (once, say) next to the
   * daemon must not replay or truncate the daemon's writes. */
  if (flock(sp->fd, LOCK_EX | LOCK_NB) != 0) {
    int rc = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
    close(sp->fd);
    sp->fd = -1;
    free(sp->path);
    sp->path = NULL;
    return rc;
  }
  if (fstat(sp->fd, &st) != 0) {
    int rc = -errno;
    spool_close(sp);
    return rc;
  }
  sp->size = (uint64_t)st.st_size;
  /* Find the end of the last whole record; anything after it is a torn
   * write. Damaged records in between are left for spool_next to skip. */
  while (off < sp->size) {
    uint64_t n = valid_record(sp->fd, off, sp->size, &rec);
    if (n) {
      off += n;
      last_good = off;
      sp->records++;
    } else {
      off++;
    }
  }
  if (last_good < sp->size) {
    *warning = xasprintf("%llu byte(s) after the last whole record at offset "
                         "%llu were a torn write and are dropped",
                         (unsigned long long)(sp->size - last_good),
                         (unsigned long long)last_good);
    if (ftruncate(sp->fd, (off_t)last_good) != 0) {
      int rc = -errno;
      strbuf_free(&rec);
      spool_close(sp);
      return rc;
    }
    sp->size = last_good;
  }
  strbuf_free(&rec);
  return 0;
}

void spool_close(struct spool *sp) {
  if (sp->fd >= 0 && sp->path) {
    if (sp->dirty)
      fsync(sp->fd);
    close(sp->fd);
  }
  sp->fd = -1;
  free(sp->path);
  sp->path = NULL;
}

bool spool_pending(const struct spool *sp) {
  return sp->path && sp->read_off < sp->size;
}

void spool_frame(struct strbuf *buf, const void *data, size_t len) {
  unsigned char h[HEADER];
  put32(h, MAGIC);
  put32(h + 4, (uint32_t)len);
  put32(h + 8, spool_crc32(data, len));
  strbuf_add(buf, (const char *)h, HEADER);
  strbuf_add(buf, data, len);
}

int spool_append(struct spool *sp, const void *data, size_t len) {
  struct strbuf frame = {0};
  int rc;
  if (len > SPOOL_MAX_RECORD)
    return -EMSGSIZE;
  if (sp->size + HEADER + len > sp->max_bytes)
    return -ENOSPC;
  spool_frame(&frame, data, len);
  rc = write_all(sp->fd, frame.buf, frame.len);
  if (rc == 0) {
    sp->size += frame.len;
    sp->dirty = true;
  } else {
    /* Cut a partial write so the file stays a sequence of records. */
    if (ftruncate(sp->fd, (off_t)sp->size) != 0)
      rc = -errno;
  }
  strbuf_free(&frame);
  return rc;
}

int spool_next(struct spool *sp, struct strbuf *out) {
  while (sp->read_off < sp->size) {
    uint64_t n = valid_record(sp->fd, sp->read_off, sp->size, out);
    if (n) {
      sp->read_off += n;
      return 1;
    }
    sp->read_off++;
    sp->skipped_bytes++;
  }
  return 0;
}

int spool_reset(struct spool *sp) {
  if (ftruncate(sp->fd, 0) != 0)
    return -errno;
  sp->size = sp->read_off = 0;
  sp->dirty = true;
  return 0;
}

int spool_rewrite_with_front(struct spool *sp, const struct strbuf *front) {
  char *tmp = xasprintf("%s.new", sp->path);
  struct strbuf rest = {0};
  int fd, rc = 0;
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = -errno;
    goto out;
  }
  if (front->len)
    rc = write_all(fd, front->buf, front->len);
  if (rc == 0 && sp->read_off < sp->size) {
    size_t len = (size_t)(sp->size - sp->read_off);
    xgrow((void **)&rest.buf, &rest.cap, len + 1, 1);
    rc = read_at(sp->fd, rest.buf, len, sp->read_off);
    if (rc == 0)
      rc = write_all(fd, rest.buf, len);
  }
  if (rc == 0 && fsync(fd) != 0)
    rc = -errno;
  if (close(fd) != 0 && rc == 0)
    rc = -errno;
  if (rc == 0 && rename(tmp, sp->path) != 0)
    rc = -errno;
  if (rc == 0) {
    int nfd = open(sp->path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (nfd < 0) {
      rc = -errno;
    } else {
      close(sp->fd);
      sp->fd = nfd;
      sp->size = front->len + (sp->size - sp->read_off);
      sp->read_off = 0;
      sp->dirty = false;
    }
  }
  if (rc != 0)
    unlink(tmp);
out:
  strbuf_free(&rest);
  free(tmp);
  return rc;
}

static void on_synced(uv_fs_t *req) {
  struct spool *sp = req->data;
  uv_fs_req_cleanup(req);
  sp->syncing = false;
}

void spool_fsync_async(struct spool *sp, uv_loop_t *loop) {
  if (!sp->path || !sp->dirty || sp->syncing)
    return;
  sp->sync_req.data = sp;
  if (uv_fs_fsync(loop, &sp->sync_req, sp->fd, on_synced) == 0) {
    sp->syncing = true;
    sp->dirty = false;
  }
}
