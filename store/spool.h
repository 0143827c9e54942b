/* The outage spool: an append-only file in state_dir holding writes that
 * could not reach Redis, replayed in order later. Each record is
 *   u32 magic "IDS1" | u32 length | u32 CRC-32 of the payload | payload
 * (little endian), so a torn last record after a crash is detected and
 * skipped, and a damaged record in the middle costs only itself. fsync is
 * the caller's to batch (spool_fsync_async). */
#ifndef INDICATORD_SPOOL_H
#define INDICATORD_SPOOL_H

#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define SPOOL_MAX_RECORD (64u * 1024 * 1024)

struct spool {
  int fd;
  char *path;
  uint64_t size;     /* bytes in the file */
  uint64_t read_off; /* next record to replay */
  uint64_t max_bytes;
  bool dirty; /* written since the last fsync */
  bool syncing;
  uv_fs_t sync_req;
  uint64_t skipped_bytes; /* damaged bytes skipped while replaying */
  uint64_t records;       /* whole records found by spool_open */
};

/* Opens (creating) dir/spool.bin and locks it. A torn tail is cut off;
 * *warning then says what was dropped (caller frees; NULL when nothing
 * was). Returns 0, -EWOULDBLOCK when another process holds the spool, or a
 * negative errno code. */
MUST_CHECK int spool_open(struct spool *sp, const char *dir, uint64_t max_bytes,
                          char **warning);
void spool_close(struct spool *sp);
bool spool_pending(const struct spool *sp);
/* Appends one record. -ENOSPC when max_bytes would be exceeded. */
int spool_append(struct spool *sp, const void *data, size_t len);
/* Reads the next record into out. Returns 1, 0 at the end, or a negative
 * errno code. Damaged records are skipped (skipped_bytes grows). */
int spool_next(struct spool *sp, struct strbuf *out);
/* Empties the file once everything has been replayed. */
int spool_reset(struct spool *sp);
/* Rewrites the file as front (records, as serialised by spool_frame) then
 * the records not yet replayed; atomic by rename. */
int spool_rewrite_with_front(struct spool *sp, const struct strbuf *front);
/* Adds one framed record to buf (for spool_rewrite_with_front). */
void spool_frame(struct strbuf *buf, const void *data, size_t len);
/* Starts an fsync on the thread pool if anything was written since the
 * last one. */
void spool_fsync_async(struct spool *sp, uv_loop_t *loop);
/* CRC-32 (IEEE), exposed for tests. */
uint32_t spool_crc32(const void *data, size_t len);

#endif
