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
/* Reads go through a window of this size: a damaged stretch of tens of
 * MiB costs tens of reads, not one per byte. */
#define WINDOW_BLOCK (1u << 20)
#define NO_OFFSET UINT64_MAX

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

/* ---- reading in blocks ---- */

/* Points *out at bytes [off, off + n) of the file (which ends at limit for
 * the caller), reading a block when the window does not hold them. */
static int window_get(int fd, struct spool_window *w, uint64_t off, size_t n,
                      uint64_t limit, const unsigned char **out) {
  if (off > limit || limit - off < n)
    return -ENODATA;
  if (off < w->off || off + n > w->off + w->len) {
    size_t want = n > WINDOW_BLOCK ? n : WINDOW_BLOCK;
    int rc;
    if (limit - off < want)
      want = (size_t)(limit - off);
    if (w->cap < want) {
      free(w->buf);
      w->buf = xmalloc(want);
      w->cap = want;
    }
    w->len = 0;
    rc = read_at(fd, w->buf, want, off);
    if (rc < 0)
      return rc;
    w->off = off;
    w->len = want;
  }
  *out = (const unsigned char *)w->buf + (off - w->off);
  return 0;
}

static void window_forget(struct spool_window *w) {
  free(w->buf);
  memset(w, 0, sizeof(*w));
}

/* The record at off: its total length (payload in *payload, valid until
 * the next read), 0 when the bytes there are not a whole valid record, or
 * a negative errno code when they cannot be read. */
static int64_t record_at(int fd, struct spool_window *w, uint64_t off,
                         uint64_t limit, const unsigned char **payload,
                         uint32_t *len) {
  const unsigned char *h;
  uint32_t n, crc;
  int rc;
  if (limit - off < HEADER)
    return 0;
  rc = window_get(fd, w, off, HEADER, limit, &h);
  if (rc < 0)
    return rc;
  if (get32(h) != MAGIC)
    return 0;
  n = get32(h + 4);
  crc = get32(h + 8);
  if (n > SPOOL_MAX_RECORD || limit - off - HEADER < n)
    return 0;
  rc = window_get(fd, w, off, HEADER + (size_t)n, limit, &h);
  if (rc < 0)
    return rc;
  if (spool_crc32(h + HEADER, n) != crc)
    return 0;
  *payload = h + HEADER;
  *len = n;
  return HEADER + (int64_t)n;
}

/* The offset of the next magic at or after from (limit when none, or when
 * the rest cannot be read). */
static uint64_t next_magic(int fd, struct spool_window *w, uint64_t from,
                           uint64_t limit) {
  static const unsigned char magic[4] = {'I', 'D', 'S', '1'};
  while (from < limit && limit - from >= 4) {
    const unsigned char *p, *hit;
    size_t n =
        limit - from < WINDOW_BLOCK ? (size_t)(limit - from) : WINDOW_BLOCK;
    if (window_get(fd, w, from, n, limit, &p) < 0)
      return limit;
    hit = memmem(p, n, magic, sizeof(magic));
    if (hit)
      return from + (uint64_t)(hit - p);
    /* A magic may straddle the end of the block. */
    from += n - 3;
  }
  return limit;
}

/* ---- the scan ---- */

static void add_extent(struct spool_scan *sc, uint64_t off, uint64_t len) {
  xgrow((void **)&sc->damaged, &sc->cap, sc->ndamaged + 1,
        sizeof(*sc->damaged));
  sc->damaged[sc->ndamaged].off = off;
  sc->damaged[sc->ndamaged].len = len;
  sc->ndamaged++;
}

void spool_scan_file(int fd, struct spool_scan *sc) {
  struct spool_window w = {0};
  uint64_t off = 0, bad_from = NO_OFFSET;
  sc->records = sc->last_good = 0;
  sc->ndamaged = 0;
  sc->error = 0;
  while (off < sc->end) {
    const unsigned char *payload;
    uint32_t len;
    int64_t n = record_at(fd, &w, off, sc->end, &payload, &len);
    if (n < 0) {
      /* Unreadable: nothing after this can be trusted to replay. */
      sc->error = (int)n;
      if (bad_from == NO_OFFSET)
        bad_from = off;
      break;
    }
    if (n > 0) {
      if (bad_from != NO_OFFSET)
        add_extent(sc, bad_from, off - bad_from);
      bad_from = NO_OFFSET;
      off += (uint64_t)n;
      sc->last_good = off;
      sc->records++;
      continue;
    }
    if (bad_from == NO_OFFSET)
      bad_from = off;
    off = next_magic(fd, &w, off + 1, sc->end);
  }
  if (bad_from != NO_OFFSET)
    add_extent(sc, bad_from, sc->end - bad_from);
  window_forget(&w);
}

void spool_scan_free(struct spool_scan *sc) {
  free(sc->damaged);
  sc->damaged = NULL;
  sc->ndamaged = sc->cap = 0;
}

/* Installs what the scan found; a torn tail is cut off when nothing was
 * appended behind it meanwhile (else it is skipped like other damage).
 * Returns the warning (caller frees) or NULL. */
static char *apply_scan(struct spool *sp) {
  struct spool_scan *sc = &sp->scan;
  char *warning = NULL;
  sp->records = sc->records;
  if (sc->ndamaged &&
      sc->damaged[sc->ndamaged - 1].off + sc->damaged[sc->ndamaged - 1].len ==
          sc->end) {
    const struct spool_extent *tail = &sc->damaged[sc->ndamaged - 1];
    bool cut = sp->size == sc->end && !sc->error &&
               ftruncate(sp->fd, (off_t)tail->off) == 0;
    if (sc->error)
      warning = xasprintf("cannot read past offset %llu (%s): the rest is "
                          "skipped",
                          (unsigned long long)tail->off, strerror(-sc->error));
    else
      warning =
          xasprintf("%llu byte(s) after the last whole record at "
                    "offset %llu were a torn write and are %s",
                    (unsigned long long)tail->len,
                    (unsigned long long)tail->off, cut ? "dropped" : "skipped");
    if (cut) {
      sp->size = tail->off;
      sc->ndamaged--;
    }
  }
  free(sp->damaged);
  sp->damaged = sc->damaged;
  sp->ndamaged = sc->ndamaged;
  sp->next_damaged = 0;
  sc->damaged = NULL;
  sc->ndamaged = sc->cap = 0;
  sp->scanned = true;
  return warning;
}

static void scan_work(uv_work_t *req) {
  struct spool *sp = req->data;
  spool_scan_file(sp->fd, &sp->scan);
}

static void notify_idle(struct spool *sp) {
  if (sp->on_idle && !spool_busy(sp))
    sp->on_idle(sp);
}

static void scan_done(uv_work_t *req, int status) {
  struct spool *sp = req->data;
  char *warning = NULL;
  sp->scanning = false;
  if (status == 0)
    warning = apply_scan(sp);
  else
    spool_scan_free(&sp->scan); /* cancelled: closing */
  if (status == 0 && sp->on_scanned)
    sp->on_scanned(sp, warning);
  free(warning);
  notify_idle(sp);
}

int spool_scan_start(struct spool *sp, uv_loop_t *loop, spool_scanned_cb cb) {
  int rc;
  if (sp->scanned || sp->scanning)
    return -EALREADY;
  sp->scan_work.data = sp;
  sp->on_scanned = cb;
  rc = uv_queue_work(loop, &sp->scan_work, scan_work, scan_done);
  if (rc == 0)
    sp->scanning = true;
  return rc;
}

void spool_scan_now(struct spool *sp, char **warning) {
  *warning = NULL;
  if (sp->scanned || sp->scanning)
    return;
  spool_scan_file(sp->fd, &sp->scan);
  *warning = apply_scan(sp);
}

/* ---- opening and closing ---- */

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

int spool_open(struct spool *sp, const char *dir, uint64_t max_bytes) {
  struct stat st;
  int rc;
  memset(sp, 0, sizeof(*sp));
  sp->fd = -1;
  sp->max_bytes = max_bytes;
  rc = make_dirs(dir);
  if (rc < 0)
    return rc;
  sp->path = xasprintf("%s/spool.bin", dir);
  sp->fd = open(sp->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (sp->fd < 0) {
    rc = -errno;
    free(sp->path);
    sp->path = NULL;
    return rc;
  }
  /* One process per spool: a second indicatord (once, say) next to the
   * daemon must not replay or truncate the daemon's writes. */
  if (flock(sp->fd, LOCK_EX | LOCK_NB) != 0 || fstat(sp->fd, &st) != 0) {
    rc = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
    close(sp->fd);
    sp->fd = -1;
    free(sp->path);
    sp->path = NULL;
    return rc;
  }
  sp->size = (uint64_t)st.st_size;
  /* What an earlier run left: the scan covers exactly that. */
  sp->scan.end = sp->size;
  sp->scanned = sp->size == 0;
  return 0;
}

bool spool_busy(const struct spool *sp) {
  return sp->scanning || sp->syncing;
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
  free(sp->damaged);
  sp->damaged = NULL;
  sp->ndamaged = sp->next_damaged = 0;
  spool_scan_free(&sp->scan);
  window_forget(&sp->win);
}

bool spool_pending(const struct spool *sp) {
  return sp->path && sp->read_off < sp->size;
}

/* ---- writing ---- */

uint64_t spool_framed_size(size_t len) {
  return HEADER + (uint64_t)len;
}

void spool_frame(struct strbuf *buf, const void *data, size_t len) {
  unsigned char h[HEADER];
  put32(h, MAGIC);
  put32(h + 4, (uint32_t)len);
  put32(h + 8, spool_crc32(data, len));
  strbuf_add(buf, (const char *)h, HEADER);
  strbuf_add(buf, data, len);
}

bool spool_room(const struct spool *sp, uint64_t n) {
  return sp->path && sp->size + n <= sp->max_bytes;
}

int spool_append(struct spool *sp, const void *data, size_t len) {
  struct strbuf frame = {0};
  int rc;
  if (!sp->path)
    return -EBADF;
  if (len > SPOOL_MAX_RECORD)
    return -EMSGSIZE;
  if (!spool_room(sp, spool_framed_size(len)))
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

/* ---- replaying ---- */

int spool_next(struct spool *sp, struct strbuf *out) {
  if (!sp->scanned || !sp->path)
    return 0;
  while (sp->read_off < sp->size) {
    const unsigned char *payload;
    uint32_t len;
    int64_t n;
    /* Damage the scan found: jumped over at once. */
    while (sp->next_damaged < sp->ndamaged &&
           sp->damaged[sp->next_damaged].off +
                   sp->damaged[sp->next_damaged].len <=
               sp->read_off)
      sp->next_damaged++;
    if (sp->next_damaged < sp->ndamaged &&
        sp->damaged[sp->next_damaged].off <= sp->read_off) {
      const struct spool_extent *e = &sp->damaged[sp->next_damaged++];
      uint64_t end = e->off + e->len > sp->size ? sp->size : e->off + e->len;
      sp->skipped_bytes += end - sp->read_off;
      sp->read_off = end;
      continue;
    }
    n = record_at(sp->fd, &sp->win, sp->read_off, sp->size, &payload, &len);
    if (n < 0)
      return (int)n;
    if (n > 0) {
      strbuf_reset(out);
      strbuf_add(out, (const char *)payload, len);
      sp->last_off = sp->read_off;
      sp->read_off += (uint64_t)n;
      return 1;
    }
    /* Damage the scan did not see (written after it): found in blocks. */
    {
      uint64_t next = next_magic(sp->fd, &sp->win, sp->read_off + 1, sp->size);
      sp->skipped_bytes += next - sp->read_off;
      sp->read_off = next;
    }
  }
  return 0;
}

void spool_rewind(struct spool *sp, uint64_t off) {
  sp->read_off = off;
  sp->next_damaged = 0;
  while (sp->next_damaged < sp->ndamaged &&
         sp->damaged[sp->next_damaged].off +
                 sp->damaged[sp->next_damaged].len <=
             off)
    sp->next_damaged++;
}

int spool_reset(struct spool *sp) {
  if (ftruncate(sp->fd, 0) != 0)
    return -errno;
  sp->size = sp->read_off = 0;
  sp->dirty = true;
  free(sp->damaged);
  sp->damaged = NULL;
  sp->ndamaged = sp->next_damaged = 0;
  window_forget(&sp->win);
  return 0;
}

/* Copies [from, to) of src to the end of dst, a block at a time. */
static int copy_range(int src, int dst, uint64_t from, uint64_t to) {
  size_t cap = WINDOW_BLOCK;
  char *buf = xmalloc(cap);
  int rc = 0;
  while (from < to && rc == 0) {
    size_t n = to - from < cap ? (size_t)(to - from) : cap;
    rc = read_at(src, buf, n, from);
    if (rc == 0)
      rc = write_all(dst, buf, n);
    from += n;
  }
  free(buf);
  return rc;
}

int spool_rewrite_with_front(struct spool *sp, const struct strbuf *front) {
  char *tmp;
  int fd, rc = 0;
  if (sp->scanning)
    return -EBUSY;
  tmp = xasprintf("%s.new", sp->path);
  fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = -errno;
    free(tmp);
    return rc;
  }
  /* Locked before it takes the name: spool.bin is never unlocked. */
  if (flock(fd, LOCK_EX | LOCK_NB) != 0)
    rc = -errno;
  if (rc == 0 && front->len)
    rc = write_all(fd, front->buf, front->len);
  if (rc == 0)
    rc = copy_range(sp->fd, fd, sp->read_off, sp->size);
  if (rc == 0 && fsync(fd) != 0)
    rc = -errno;
  if (rc == 0 && rename(tmp, sp->path) != 0)
    rc = -errno;
  if (rc != 0) {
    close(fd);
    unlink(tmp);
    free(tmp);
    return rc;
  }
  close(sp->fd);
  sp->fd = fd;
  /* Known damage moves with the bytes it is in. */
  {
    size_t keep = 0;
    for (size_t i = 0; i < sp->ndamaged; i++) {
      struct spool_extent e = sp->damaged[i];
      uint64_t end = e.off + e.len;
      if (end <= sp->read_off)
        continue;
      if (e.off < sp->read_off)
        e.off = sp->read_off;
      e.len = end - e.off;
      e.off = e.off - sp->read_off + front->len;
      sp->damaged[keep++] = e;
    }
    sp->ndamaged = keep;
    sp->next_damaged = 0;
  }
  sp->size = front->len + (sp->size - sp->read_off);
  sp->read_off = 0;
  sp->dirty = false;
  window_forget(&sp->win);
  free(tmp);
  return 0;
}

static void on_synced(uv_fs_t *req) {
  struct spool *sp = req->data;
  uv_fs_req_cleanup(req);
  sp->syncing = false;
  notify_idle(sp);
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
