/* The outage spool: an append-only file in state_dir holding writes that
 * could not reach Redis, replayed in order later. Each record is
 *   u32 magic "IDS1" | u32 length | u32 CRC-32 of the payload | payload
 * (little endian), so a torn last record after a crash is detected and
 * skipped, and a damaged record in the middle costs only itself.
 *
 * What an earlier run left is scanned once, in blocks and on the thread
 * pool (spool_scan_start), before any of it is replayed: a file of tens of
 * MiB of garbage neither delays the start nor stalls the loop, and the
 * damaged stretches the scan found are jumped over at replay. Appends go
 * on meanwhile, behind what is being scanned. fsync is the caller's to
 * batch (spool_fsync_async). */
#ifndef INDICATORD_SPOOL_H
#define INDICATORD_SPOOL_H

#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define SPOOL_MAX_RECORD (64u * 1024 * 1024)

/* Damaged bytes: [off, off + len). */
struct spool_extent {
  uint64_t off, len;
};

/* What a scan found in [0, end). */
struct spool_scan {
  uint64_t end;
  uint64_t records;   /* whole records */
  uint64_t last_good; /* the end of the last whole record */
  struct spool_extent *damaged;
  size_t ndamaged, cap;
  int error; /* 0 or the negative errno of a read */
};

/* A window onto the file, so that records are read in blocks rather than
 * a pread per field. */
struct spool_window {
  char *buf;
  size_t cap, len;
  uint64_t off; /* file offset of buf[0] */
};

struct spool;
typedef void (*spool_scanned_cb)(struct spool *sp, const char *warning);

struct spool {
  int fd;
  char *path;
  uint64_t size;     /* bytes in the file */
  uint64_t read_off; /* next record to replay */
  uint64_t last_off; /* where the record spool_next returned last began */
  uint64_t max_bytes;
  bool dirty; /* written since the last fsync */
  bool syncing;
  uv_fs_t sync_req;
  uint64_t skipped_bytes;       /* damaged bytes skipped while replaying */
  uint64_t records;             /* whole records found by the scan */
  bool scanned;                 /* nothing is replayed before */
  bool scanning;                /* the scan runs on the thread pool */
  struct spool_extent *damaged; /* known damage, in file order */
  size_t ndamaged, next_damaged;
  struct spool_window win;
  struct spool_scan scan;
  uv_work_t scan_work;
  spool_scanned_cb on_scanned;
  /* Called when the thread pool is done with the file (spool_busy turned
   * false), if set: the owner waits for it to close. */
  void (*on_idle)(struct spool *sp);
  void *data;
};

/* Opens (creating) dir/spool.bin and locks it; reads nothing. An empty
 * file needs no scan. Returns 0, -EWOULDBLOCK when another process holds
 * the spool, or a negative errno code. */
MUST_CHECK int spool_open(struct spool *sp, const char *dir,
                          uint64_t max_bytes);
/* Scans what the file held at open on the loop's thread pool; cb runs on
 * the loop when done (warning: what was damaged or cut, or NULL). Returns
 * 0 or a negative code (cb is then not called). */
MUST_CHECK int spool_scan_start(struct spool *sp, uv_loop_t *loop,
                                spool_scanned_cb cb);
/* The same, blocking (tools and tests). *warning as above; caller frees. */
void spool_scan_now(struct spool *sp, char **warning);
/* The scan itself, blocking, over [0, scan->end) of fd (thread-safe: only
 * reads). Exposed for tests. */
void spool_scan_file(int fd, struct spool_scan *scan);
void spool_scan_free(struct spool_scan *scan);
/* Closes; a scan still running must have finished (spool_busy). */
void spool_close(struct spool *sp);
/* Whether the thread pool still uses the file (a scan or an fsync). */
bool spool_busy(const struct spool *sp);
bool spool_pending(const struct spool *sp);
/* Appends one record. -ENOSPC when max_bytes would be exceeded. */
int spool_append(struct spool *sp, const void *data, size_t len);
/* Whether n more bytes of records (as framed) fit. */
bool spool_room(const struct spool *sp, uint64_t n);
/* Reads the next record into out. Returns 1, 0 at the end (or before the
 * scan is done), or a negative errno code. Damaged records are skipped
 * (skipped_bytes grows). */
int spool_next(struct spool *sp, struct strbuf *out);
/* Replays again from off (a record spool_next returned before, still in
 * the file). */
void spool_rewind(struct spool *sp, uint64_t off);
/* Empties the file. */
int spool_reset(struct spool *sp);
/* Rewrites the file as front (records, as serialised by spool_frame) then
 * the records not yet replayed; atomic by rename, and locked throughout.
 * -EBUSY while a scan runs. */
int spool_rewrite_with_front(struct spool *sp, const struct strbuf *front);
/* Adds one framed record to buf (for spool_rewrite_with_front). */
void spool_frame(struct strbuf *buf, const void *data, size_t len);
/* The bytes a record of len takes in the file. */
uint64_t spool_framed_size(size_t len);
/* Starts an fsync on the thread pool if anything was written since the
 * last one. */
void spool_fsync_async(struct spool *sp, uv_loop_t *loop);
/* CRC-32 (IEEE), exposed for tests. */
uint32_t spool_crc32(const void *data, size_t len);

#endif
