#include "response.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A head larger than this is not a feed server's answer. */
#define RESPONSE_MAX_HEAD (64 * 1024)
#define RESPONSE_MAX_CHUNK_LINE 256

enum {
  ST_STATUS,     /* the status line */
  ST_HEADER,     /* header lines up to the empty one */
  ST_BODY_LEN,   /* Content-Length bytes */
  ST_BODY_CLOSE, /* everything until the peer closes */
  ST_CHUNK_SIZE, /* hex size line */
  ST_CHUNK_DATA,
  ST_CHUNK_END, /* the CRLF after a chunk's data */
  ST_TRAILER,   /* trailer lines up to the empty one */
  ST_DONE,
};

enum {
  HF_CHUNKED = 1,
  HF_COMPRESSED = 2,
  HF_CLOSE = 4,
  HF_KEEP_ALIVE = 8,
  HF_HTTP10 = 16,
};

void response_init(struct response *r, struct strbuf *body, size_t max_body) {
  memset(r, 0, sizeof(*r));
  r->body = body;
  r->max_body = max_body;
  r->content_length = -1;
}

void response_free(struct response *r) {
  free(r->etag);
  free(r->last_modified);
  free(r->content_type);
  r->etag = r->last_modified = r->content_type = NULL;
  strbuf_free(&r->line);
  if (r->z_active)
    inflateEnd(&r->z);
  r->z_active = false;
}

bool response_started(const struct response *r) {
  return r->offset > 0;
}

static int fail(struct response *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct response *r, int code, const char *fmt, ...) {
  va_list ap;
  int n = snprintf(r->error, sizeof(r->error),
                   "byte %llu: ", (unsigned long long)r->offset);
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof(r->error))
    vsnprintf(r->error + n, sizeof(r->error) - (size_t)n, fmt, ap);
  va_end(ap);
  return code;
}

static int body_limit(struct response *r) {
  return fail(r, -EFBIG, "body larger than max_body (%zu bytes)", r->max_body);
}

static int add_body(struct response *r, const char *data, size_t len) {
  if (!r->z_active) {
    if (r->body->len + len > r->max_body)
      return body_limit(r);
    strbuf_add(r->body, data, len);
    return 0;
  }
  if (r->z_ended)
    return 0; /* bytes after the end of the compressed stream */
  r->z.next_in = (Bytef *)(uintptr_t)data;
  r->z.avail_in = (uInt)len;
  while (r->z.avail_in > 0) {
    char out[16384];
    size_t n;
    int zr;
    r->z.next_out = (Bytef *)out;
    r->z.avail_out = sizeof(out);
    zr = inflate(&r->z, Z_NO_FLUSH);
    n = sizeof(out) - r->z.avail_out;
    /* What was decoded before an error counts first: the verdict must not
     * depend on how the network cut the body. */
    if (r->body->len + n > r->max_body)
      return body_limit(r);
    strbuf_add(r->body, out, n);
    if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
      return fail(r, -EPROTO, "bad compressed body: %s",
                  r->z.msg ? r->z.msg : "inflate failed");
    if (zr == Z_STREAM_END) {
      r->z_ended = true;
      break;
    }
    if (zr == Z_BUF_ERROR && n == 0)
      break;
  }
  return 0;
}

static bool token_is(const char *v, size_t len, const char *word) {
  size_t wl = strlen(word);
  return len == wl && strncasecmp(v, word, wl) == 0;
}

/* Whether the comma-separated list v contains token word. */
static bool list_has(const char *v, size_t len, const char *word) {
  size_t i = 0;
  while (i < len) {
    size_t start, end;
    while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
      i++;
    start = i;
    while (i < len && v[i] != ',')
      i++;
    end = i;
    while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
      end--;
    if (end > start && token_is(v + start, end - start, word))
      return true;
  }
  return false;
}

static int parse_status(struct response *r, const char *s, size_t len) {
  if (len < 12 || memcmp(s, "HTTP/1.", 7) != 0 ||
      (s[7] != '0' && s[7] != '1') || s[8] != ' ' || s[9] < '1' || s[9] > '5' ||
      s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9' ||
      (len > 12 && s[12] != ' '))
    return fail(r, -EPROTO, "not an HTTP/1.x status line");
  r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
  r->head_flags = s[7] == '0' ? HF_HTTP10 : 0;
  return 0;
}

static int parse_length(struct response *r, const char *v, size_t len) {
  uint64_t n = 0;
  if (len == 0)
    return fail(r, -EPROTO, "empty Content-Length");
  for (size_t i = 0; i < len; i++) {
    if (v[i] < '0' || v[i] > '9' || n > (UINT64_MAX - 9) / 10)
      return fail(r, -EPROTO, "bad Content-Length");
    n = n * 10 + (uint64_t)(v[i] - '0');
  }
  if (n > INT64_MAX)
    return fail(r, -EPROTO, "bad Content-Length");
  if (r->content_length >= 0 && (uint64_t)r->content_length != n)
    return fail(r, -EPROTO, "conflicting Content-Length headers");
  r->content_length = (int64_t)n;
  return 0;
}

static int parse_header(struct response *r, const char *s, size_t len) {
  const char *colon = memchr(s, ':', len);
  const char *v;
  size_t nlen, vlen;
  if (s[0] == ' ' || s[0] == '\t')
    return fail(r, -EPROTO, "folded header line");
  if (!colon || colon == s)
    return fail(r, -EPROTO, "header line without a name");
  nlen = (size_t)(colon - s);
  for (size_t i = 0; i < nlen; i++)
    if (s[i] == ' ' || s[i] == '\t')
      return fail(r, -EPROTO, "space in a header name");
  v = colon + 1;
  vlen = len - nlen - 1;
  while (vlen && (*v == ' ' || *v == '\t')) {
    v++;
    vlen--;
  }
  while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
    vlen--;
  if (token_is(s, nlen, "content-length"))
    return parse_length(r, v, vlen);
  if (token_is(s, nlen, "transfer-encoding")) {
    /* chunked must be the last coding; any other coding is curl's job. */
    if (!list_has(v, vlen, "chunked") ||
        !(vlen >= 7 && strncasecmp(v + vlen - 7, "chunked", 7) == 0))
      return fail(r, -ENOTSUP, "transfer coding other than chunked");
    for (size_t i = 0; i + 7 < vlen; i++)
      if (v[i] != ' ' && v[i] != ',' && v[i] != '\t')
        return fail(r, -ENOTSUP, "transfer coding other than chunked");
    r->head_flags |= HF_CHUNKED;
    return 0;
  }
  if (token_is(s, nlen, "content-encoding")) {
    if (list_has(v, vlen, "gzip") || list_has(v, vlen, "x-gzip") ||
        list_has(v, vlen, "deflate")) {
      if (r->head_flags & HF_COMPRESSED)
        return fail(r, -ENOTSUP, "more than one content coding");
      r->head_flags |= HF_COMPRESSED;
    } else if (vlen && !token_is(v, vlen, "identity")) {
      return fail(r, -ENOTSUP, "content coding other than gzip or deflate");
    }
    return 0;
  }
  if (token_is(s, nlen, "connection")) {
    if (list_has(v, vlen, "close"))
      r->head_flags |= HF_CLOSE;
    if (list_has(v, vlen, "keep-alive"))
      r->head_flags |= HF_KEEP_ALIVE;
    return 0;
  }
  if (token_is(s, nlen, "etag")) {
    free(r->etag);
    r->etag = vlen ? xstrndup(v, vlen) : NULL;
  } else if (token_is(s, nlen, "last-modified")) {
    free(r->last_modified);
    r->last_modified = vlen ? xstrndup(v, vlen) : NULL;
  } else if (token_is(s, nlen, "content-type")) {
    free(r->content_type);
    r->content_type = vlen ? xstrndup(v, vlen) : NULL;
  } else if (token_is(s, nlen, "location")) {
    r->has_location = vlen > 0;
  }
  return 0;
}

/* The head ended: choose how the body is framed. Returns 1 when the
 * response is already complete. */
static int end_of_head(struct response *r) {
  int f = r->head_flags;
  if (r->status < 200) {
    /* An interim answer (100 Continue): the real one follows. */
    free(r->etag);
    free(r->last_modified);
    free(r->content_type);
    r->etag = r->last_modified = r->content_type = NULL;
    r->content_length = -1;
    r->head_flags = 0;
    r->state = ST_STATUS;
    return 0;
  }
  r->keep_alive = (f & HF_HTTP10) ? (f & HF_KEEP_ALIVE) && !(f & HF_CLOSE)
                                  : !(f & HF_CLOSE);
  if ((f & HF_COMPRESSED) && r->status != 204 && r->status != 304) {
    memset(&r->z, 0, sizeof(r->z));
    /* 15 + 32: zlib or gzip wrapper, detected from the first bytes. */
    if (inflateInit2(&r->z, 15 + 32) != Z_OK)
      return fail(r, -ENOMEM, "cannot start decompression");
    r->z_active = true;
  }
  if (r->status == 204 || r->status == 304) {
    r->state = ST_DONE;
  } else if (f & HF_CHUNKED) {
    r->state = ST_CHUNK_SIZE;
  } else if (r->content_length >= 0) {
    /* Refused before reading it, as curl does with CURLOPT_MAXFILESIZE. */
    if (!(f & HF_COMPRESSED) && (uint64_t)r->content_length > r->max_body)
      return body_limit(r);
    r->remaining = (uint64_t)r->content_length;
    r->state = r->remaining ? ST_BODY_LEN : ST_DONE;
  } else {
    r->keep_alive = false;
    r->state = ST_BODY_CLOSE;
  }
  return r->state == ST_DONE;
}

static int finish_body(struct response *r) {
  if (r->z_active && !r->z_ended)
    return fail(r, -EPROTO, "compressed body ends early");
  r->state = ST_DONE;
  return 1;
}

static int chunk_size_line(struct response *r, const char *s, size_t len) {
  uint64_t n = 0;
  size_t i = 0;
  for (; i < len && s[i] != ';' && s[i] != ' ' && s[i] != '\t'; i++) {
    int d;
    char c = s[i];
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return fail(r, -EPROTO, "bad chunk size");
    if (n >> 59)
      return fail(r, -EPROTO, "chunk size too large");
    n = n * 16 + (uint64_t)d;
  }
  if (i == 0)
    return fail(r, -EPROTO, "bad chunk size");
  r->remaining = n;
  r->state = n ? ST_CHUNK_DATA : ST_TRAILER;
  return 0;
}

/* Handles one complete line (without its line end) of the head, a chunk
 * size or the trailer. Returns 1 when the response is complete. */
static int on_line(struct response *r, const char *s, size_t len) {
  switch (r->state) {
  case ST_STATUS:
    if (len == 0)
      return 0; /* tolerated: an empty line before the status line */
    r->state = ST_HEADER;
    return parse_status(r, s, len);
  case ST_HEADER:
    return len == 0 ? end_of_head(r) : parse_header(r, s, len);
  case ST_CHUNK_SIZE:
    return chunk_size_line(r, s, len);
  case ST_TRAILER:
    return len == 0 ? finish_body(r) : 0;
  default:
    return fail(r, -EPROTO, "parser state");
  }
}

/* Collects a line that may arrive in pieces; returns bytes taken from data
 * and sets *complete with the line in r->line. */
static size_t take_line(struct response *r, const char *data, size_t len,
                        bool *complete) {
  const char *nl = memchr(data, '\n', len);
  size_t n = nl ? (size_t)(nl - data) + 1 : len;
  strbuf_add(&r->line, data, n);
  *complete = nl != NULL;
  return n;
}

int response_feed(struct response *r, const char *data, size_t len,
                  size_t *used) {
  size_t pos = 0;
  int rc = 0;
  while (pos < len && r->state != ST_DONE) {
    const char *p = data + pos;
    size_t avail = len - pos, n;
    bool complete;
    switch (r->state) {
    case ST_BODY_LEN:
    case ST_CHUNK_DATA:
      n = avail < r->remaining ? avail : (size_t)r->remaining;
      rc = add_body(r, p, n);
      if (rc < 0)
        goto out;
      pos += n;
      r->offset += n;
      r->remaining -= n;
      if (r->remaining == 0) {
        if (r->state == ST_CHUNK_DATA) {
          r->state = ST_CHUNK_END;
        } else {
          rc = finish_body(r);
          goto out;
        }
      }
      break;
    case ST_BODY_CLOSE:
      rc = add_body(r, p, avail);
      if (rc < 0)
        goto out;
      pos += avail;
      r->offset += avail;
      break;
    case ST_CHUNK_END:
      /* Exactly CRLF (or a bare LF) after a chunk's data. */
      n = take_line(r, p, avail, &complete);
      if (complete &&
          !(r->line.len == 1 || (r->line.len == 2 && r->line.buf[0] == '\r'))) {
        rc = fail(r, -EPROTO, "chunk data longer than its size");
        goto out;
      }
      if (!complete && r->line.len > 2) {
        rc = fail(r, -EPROTO, "chunk data longer than its size");
        goto out;
      }
      pos += n;
      r->offset += n;
      if (complete) {
        strbuf_reset(&r->line);
        r->state = ST_CHUNK_SIZE;
      }
      break;
    default: /* line-oriented states */
      n = take_line(r, p, avail, &complete);
      r->head_bytes += n;
      if (r->head_bytes > RESPONSE_MAX_HEAD ||
          (r->state == ST_CHUNK_SIZE &&
           r->line.len > RESPONSE_MAX_CHUNK_LINE)) {
        rc = fail(r, -EPROTO, "header or chunk line too long");
        goto out;
      }
      if (complete) {
        size_t ll = r->line.len - 1;
        if (ll && r->line.buf[ll - 1] == '\r')
          ll--;
        if (memchr(r->line.buf, '\0', ll)) {
          rc = fail(r, -EPROTO, "NUL byte in the head");
          goto out;
        }
        rc = on_line(r, r->line.buf, ll);
        strbuf_reset(&r->line);
        if (rc < 0)
          goto out;
        if (r->state == ST_CHUNK_DATA || r->state == ST_TRAILER ||
            r->state == ST_BODY_LEN)
          r->head_bytes = 0; /* the limit is per head, not per response */
      }
      pos += n;
      r->offset += n;
      if (rc == 1)
        goto out;
      break;
    }
  }
  rc = r->state == ST_DONE ? 1 : 0;
out:
  *used = pos;
  return rc;
}

int response_eof(struct response *r) {
  if (r->state == ST_DONE)
    return 1;
  if (r->state == ST_BODY_CLOSE)
    return finish_body(r);
  if (r->offset == 0)
    return fail(r, -EPROTO, "connection closed without a response");
  return fail(r, -EPROTO, "connection closed before the end of the %s",
              r->state <= ST_HEADER ? "head" : "body");
}
