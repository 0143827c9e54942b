/* CSV bodies (RFC 4180 through libcsv), UTF-8 with or without BOM or, with
 * encoding:, GBK or GB18030 (iconv). skip_rows: lines of preamble before
 * the header row. Long layout (the default): a series is a column (by
 * header name or 1-based index), rows picked by where:, one observation per
 * matching row at the row's time: (or, without time:, at the period its
 * header names, else the fetch time). layout: wide: the header row holds
 * the times, a series is the row where: picks, one observation per time
 * column. Cells listed in missing: are gaps; thousands: separators are
 * dropped before a number is read. Rows are read as they are parsed: the
 * table is never held in memory. */
#include "csv_options.h"
#include "feed_format.h"
#include "util.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct field {
  char *text;
  size_t len, cap;
};

struct row {
  struct field *f;
  size_t n, cap;
};

/* Per series, once the header is known. */
struct series_plan {
  long col;         /* long layout: the value column; -1: none */
  long *where_col;  /* per where: pair */
  bool usable;      /* its columns are all in the header */
  size_t matched;   /* rows where: picked */
  size_t found;     /* values read (numbers or not) */
  bool header_time; /* long layout: the column's header names a period */
  struct timefmt_value when;
};

struct csv_ctx {
  const struct feed *f;
  const struct csv_options *st;
  struct extract_out *out;
  int64_t fetch_ms;
  struct row cur;
  struct row header;    /* owned copy of the header row */
  size_t rows;          /* CSV rows seen, the header included */
  bool failed;          /* the body is unusable (reported) */
  size_t time_failures; /* rows skipped: their time did not parse */
  long time_col;
  struct series_plan *plan;
  /* layout: wide: which header columns are times, and which. */
  bool *is_time;
  struct timefmt_value *col_time;
};

static void row_clear(struct row *r) {
  r->n = 0;
}

static void row_free(struct row *r) {
  for (size_t i = 0; i < r->cap; i++)
    free(r->f[i].text);
  free(r->f);
  memset(r, 0, sizeof(*r));
}

/* Trims spaces around a cell (portals pad them). */
static const char *trimmed(const struct field *fl, size_t *len) {
  const char *p = fl->text;
  size_t n = fl->len;
  while (n && (*p == ' ' || *p == '\t')) {
    p++;
    n--;
  }
  while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
    n--;
  *len = n;
  return p;
}

static bool cell_is(const struct field *fl, const char *text) {
  size_t n;
  const char *p = trimmed(fl, &n);
  return strlen(text) == n && memcmp(p, text, n) == 0;
}

/* Column by 1-based index (when the name is all digits) or header name;
 * -1 when absent. */
static long column_of(const struct row *header, const char *name) {
  char *end;
  long idx = strtol(name, &end, 10);
  if (!*end && end != name && idx > 0 && idx <= 10000)
    return (size_t)idx <= header->n ? idx - 1 : -1;
  for (size_t i = 0; i < header->n; i++)
    if (cell_is(&header->f[i], name))
      return (long)i;
  return -1;
}

/* A cell's number: 1 (in *v), 0 for a gap (a missing: mark), -1 when it
 * is neither. */
static int cell_number(const struct csv_options *st, const struct field *fl,
                       double *v) {
  size_t n;
  const char *p = trimmed(fl, &n);
  for (size_t i = 0; i < st->nmissing; i++)
    if (strlen(st->missing[i]) == n && memcmp(p, st->missing[i], n) == 0)
      return 0;
  if (st->thousands && n < 128) {
    char buf[128];
    size_t k = 0, tl = strlen(st->thousands);
    for (size_t i = 0; i < n;) {
      if (i + tl <= n && memcmp(p + i, st->thousands, tl) == 0) {
        i += tl;
        continue;
      }
      buf[k++] = p[i++];
    }
    return extract_number(buf, k, v) ? 1 : -1;
  }
  return extract_number(p, n, v) ? 1 : -1;
}

/* The text of a cell for a message, cut short. */
static const char *shown(const struct field *fl) {
  return fl->len <= 40 ? fl->text : "(a long cell)";
}

/* Whether a header cell is meant as a time: it starts with the year. */
static bool looks_like_time(const struct field *fl) {
  size_t n;
  const char *p = trimmed(fl, &n);
  return n >= 4 && isdigit((unsigned char)p[0]) &&
         isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
         isdigit((unsigned char)p[3]);
}

static size_t file_row(const struct csv_ctx *c) {
  return c->rows + c->st->skip_rows;
}

static void add_value(struct csv_ctx *c, const struct feed_series *s,
                      struct series_plan *pl, const struct field *cell,
                      const struct timefmt_value *when, const char *column) {
  double v;
  int k = cell_number(c->st, cell, &v);
  if (k == 0)
    return; /* a gap */
  pl->found++;
  if (k < 0) {
    extract_error(c->out, s->id,
                  "series '%s': row %zu column '%s': '%s' is not a number "
                  "(list it in missing: if it marks a gap)",
                  s->id, file_row(c), column, shown(cell));
    return;
  }
  extract_add(c->out, s, when, v);
}

static bool where_matches(const struct csv_ctx *c, size_t i,
                          const struct row *row) {
  const struct csv_where *wh = &c->st->where[i];
  for (size_t w = 0; w < wh->n; w++)
    if (!cell_is(&row->f[c->plan[i].where_col[w]], wh->value[w]))
      return false;
  return true;
}

/* ---- the header row ---- */

static void plan_wide(struct csv_ctx *c) {
  const struct row *h = &c->header;
  size_t times = 0;
  c->is_time = xcalloc(h->n + 1, sizeof(*c->is_time));
  c->col_time = xcalloc(h->n + 1, sizeof(*c->col_time));
  for (size_t k = 0; k < h->n; k++) {
    bool label = false;
    char why[128];
    for (size_t i = 0; i < c->f->nseries && !label; i++)
      for (size_t w = 0; w < c->st->where[i].n && !label; w++)
        label = c->plan[i].where_col[w] == (long)k;
    if (label || !looks_like_time(&h->f[k]))
      continue;
    if (extract_time(c->f, h->f[k].text, h->f[k].len, &c->col_time[k], why,
                     sizeof(why)) < 0) {
      extract_error(c->out, NULL,
                    "header column %zu '%s' is not a time (%s): its values "
                    "are not read",
                    k + 1, shown(&h->f[k]), why);
      continue;
    }
    c->is_time[k] = true;
    times++;
  }
  if (times == 0) {
    extract_error(c->out, NULL,
                  "layout: wide, but no column of the header row is a time "
                  "(such as 2026-03 or 2026年1-3月)");
    c->failed = true;
  }
}

static void plan_series(struct csv_ctx *c) {
  const struct feed *f = c->f;
  c->plan = xcalloc(f->nseries + 1, sizeof(*c->plan));
  for (size_t i = 0; i < f->nseries; i++) {
    const struct feed_series *s = &f->series[i];
    const struct csv_where *wh = &c->st->where[i];
    struct series_plan *pl = &c->plan[i];
    pl->usable = true;
    pl->col = -1;
    if (!c->st->wide && s->path) {
      pl->col = column_of(&c->header, s->path);
      if (pl->col < 0) {
        extract_error(c->out, s->id,
                      "series '%s': column '%s' is not in the header", s->id,
                      s->path);
        pl->usable = false;
      } else if (!f->time && looks_like_time(&c->header.f[pl->col])) {
        /* A column headed by a period (2026年3月) holds that period's
         * value, not one at the fetch time. */
        char why[128];
        const struct field *h = &c->header.f[pl->col];
        pl->header_time =
            extract_time(f, h->text, h->len, &pl->when, why, sizeof(why)) == 0;
      }
    }
    pl->where_col = xcalloc(wh->n + 1, sizeof(long));
    for (size_t w = 0; w < wh->n; w++) {
      pl->where_col[w] = column_of(&c->header, wh->col[w]);
      if (pl->where_col[w] < 0) {
        extract_error(c->out, s->id,
                      "series '%s': where column '%s' is not in the header",
                      s->id, wh->col[w]);
        pl->usable = false;
      }
    }
  }
}

static void on_header(struct csv_ctx *c) {
  struct row *h = &c->header;
  /* Keep the header: the row buffer is reused for the data rows. */
  h->f = xcalloc(c->cur.n + 1, sizeof(*h->f));
  h->n = h->cap = c->cur.n;
  for (size_t k = 0; k < c->cur.n; k++) {
    h->f[k].text = xstrndup(c->cur.f[k].text, c->cur.f[k].len);
    h->f[k].len = h->f[k].cap = c->cur.f[k].len;
  }
  if (c->f->time && !c->st->wide) {
    c->time_col = column_of(h, c->f->time);
    if (c->time_col < 0) {
      extract_error(c->out, NULL, "time column '%s' is not in the header",
                    c->f->time);
      c->failed = true;
      return;
    }
  }
  plan_series(c);
  if (c->st->wide)
    plan_wide(c);
}

/* ---- data rows ---- */

static void long_row(struct csv_ctx *c, const struct row *row) {
  struct timefmt_value when;
  bool have_time = false;
  char why[128];
  extract_time_now(c->fetch_ms, &when);
  for (size_t i = 0; i < c->f->nseries; i++) {
    const struct feed_series *s = &c->f->series[i];
    struct series_plan *pl = &c->plan[i];
    const struct field *cell;
    size_t n;
    if (!pl->usable || pl->col < 0 || !where_matches(c, i, row))
      continue;
    pl->matched++;
    cell = &row->f[pl->col];
    trimmed(cell, &n);
    if (n == 0)
      continue; /* an empty cell is a gap */
    if (c->time_col >= 0 && !have_time) {
      const struct field *tc = &row->f[c->time_col];
      if (extract_time(c->f, tc->text, tc->len, &when, why, sizeof(why)) < 0) {
        extract_error(c->out, NULL, "row %zu: time '%s': %s", file_row(c),
                      shown(tc), why);
        c->time_failures++;
        return;
      }
      have_time = true;
    }
    add_value(c, s, pl, cell, pl->header_time ? &pl->when : &when, s->path);
  }
}

static void wide_row(struct csv_ctx *c, const struct row *row) {
  for (size_t i = 0; i < c->f->nseries; i++) {
    const struct feed_series *s = &c->f->series[i];
    struct series_plan *pl = &c->plan[i];
    if (!pl->usable || !where_matches(c, i, row))
      continue;
    pl->matched++;
    for (size_t k = 0; k < row->n; k++)
      if (c->is_time[k])
        add_value(c, s, pl, &row->f[k], &c->col_time[k], c->header.f[k].text);
  }
}

static void on_field(void *s, size_t len, void *data) {
  struct csv_ctx *c = data;
  struct field *fl;
  if (c->failed)
    return;
  if (c->cur.n == c->cur.cap) {
    size_t old = c->cur.cap;
    xgrow((void **)&c->cur.f, &c->cur.cap, c->cur.n + 1, sizeof(*c->cur.f));
    memset(c->cur.f + old, 0, (c->cur.cap - old) * sizeof(*c->cur.f));
  }
  fl = &c->cur.f[c->cur.n++];
  /* Buffers are kept from row to row: no allocation per cell. */
  if (fl->cap < len + 1) {
    fl->text = xrealloc(fl->text, len + 1);
    fl->cap = len + 1;
  }
  if (len)
    memcpy(fl->text, s, len);
  fl->text[len] = '\0';
  fl->len = len;
}

static void on_row(int term, void *data) {
  struct csv_ctx *c = data;
  (void)term;
  if (c->failed)
    goto done;
  c->rows++;
  c->out->record = file_row(c);
  if (c->rows == 1) {
    on_header(c);
    goto done;
  }
  if (c->cur.n != c->header.n) {
    extract_error(c->out, NULL,
                  "row %zu has %zu fields; the header has %zu: the row is "
                  "not read",
                  file_row(c), c->cur.n, c->header.n);
    goto done;
  }
  if (c->st->wide)
    wide_row(c, &c->cur);
  else
    long_row(c, &c->cur);
done:
  c->out->record = 0;
  row_clear(&c->cur);
}

static void report_unfound(const struct csv_ctx *c) {
  for (size_t i = 0; i < c->f->nseries; i++) {
    const struct feed_series *s = &c->f->series[i];
    const struct series_plan *pl = &c->plan[i];
    if (!pl->usable || pl->found)
      continue;
    if (c->st->where[i].n && !pl->matched)
      extract_error(c->out, s->id, "series '%s': no row matches where:", s->id);
    else if (c->st->wide)
      extract_error(c->out, s->id,
                    "series '%s': its row has no value in any time column",
                    s->id);
    else if (c->time_failures)
      /* The rows were there; their times were not. */
      extract_error(c->out, s->id,
                    "series '%s': no value in column '%s' in a row whose time "
                    "parsed (%zu rows' times did not)",
                    s->id, s->path, c->time_failures);
    else
      extract_error(c->out, s->id,
                    "series '%s': no row with a value in column '%s'%s", s->id,
                    s->path, c->st->where[i].n ? " matching where:" : "");
  }
}

/* ---- decoding ---- */

/* Converts body to UTF-8 from enc. Returns 0 with the text in *out (caller
 * frees), -EILSEQ with the offset of the first undecodable byte in *bad,
 * or another negative code. */
static int decode(const char *enc, const char *body, size_t len, char **out,
                  size_t *outlen, size_t *bad) {
  iconv_t cd = iconv_open("UTF-8", enc);
  size_t cap = len * 2 + 16, used = 0;
  char *buf, *in = (char *)body;
  size_t inleft = len;
  int rc = 0;
  if (cd == (iconv_t)-1)
    return -errno;
  buf = xmalloc(cap);
  while (inleft) {
    char *o = buf + used;
    size_t oleft = cap - used;
    if (iconv(cd, &in, &inleft, &o, &oleft) == (size_t)-1) {
      used = (size_t)(o - buf);
      if (errno == E2BIG) {
        cap *= 2;
        buf = xrealloc(buf, cap);
        continue;
      }
      *bad = (size_t)(in - body);
      rc = -EILSEQ;
      break;
    }
    used = (size_t)(o - buf);
  }
  iconv_close(cd);
  if (rc < 0) {
    free(buf);
    return rc;
  }
  *out = buf;
  *outlen = used;
  return 0;
}

/* Skips n lines; false when the body has fewer. */
static bool skip_lines(const char **body, size_t *len, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *nl = memchr(*body, '\n', *len);
    if (!nl)
      return false;
    *len -= (size_t)(nl + 1 - *body);
    *body = nl + 1;
  }
  return true;
}

static int extract(const struct feed *feed, const void *state,
                   const struct extract_body *b, struct extract_out *out) {
  const struct csv_options *st = state;
  struct csv_ctx c = {
      .f = feed, .st = st, .out = out, .fetch_ms = b->fetch_ms, .time_col = -1};
  struct csv_parser p;
  const char *body = b->data;
  size_t len = b->len;
  char *decoded = NULL;
  long bad;
  int rc = -EINVAL;

  if (st->encoding) {
    size_t at = 0;
    int d = decode(st->encoding, body, len, &decoded, &len, &at);
    if (d == -EILSEQ) {
      extract_error(out, NULL, "body is not %s (byte %zu)", st->encoding,
                    at + 1);
      return -EINVAL;
    }
    if (d < 0) {
      extract_error(out, NULL, "cannot decode %s: %s", st->encoding,
                    strerror(-d));
      return -EINVAL;
    }
    body = decoded;
  }
  if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) {
    body += 3;
    len -= 3;
  }
  bad = extract_utf8_invalid_at(body, len);
  if (bad >= 0) {
    extract_error(out, NULL, "body is not UTF-8 (byte %ld)%s", bad + 1,
                  st->encoding ? ""
                               : "; a Chinese portal's file may need "
                                 "encoding: gbk or gb18030");
    free(decoded);
    return -EINVAL;
  }
  if (!skip_lines(&body, &len, st->skip_rows)) {
    extract_error(out, NULL, "skip_rows: %zu, but the body has fewer lines",
                  st->skip_rows);
    free(decoded);
    return -EINVAL;
  }
  if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    extract_error(out, NULL, "cannot initialise the CSV parser");
    free(decoded);
    return -EINVAL;
  }
  out->record_noun = "row";
  if (csv_parse(&p, body, len, on_field, on_row, &c) != len ||
      csv_fini(&p, on_field, on_row, &c) != 0) {
    extract_error(out, NULL, "invalid CSV near row %zu: %s", file_row(&c) + 1,
                  csv_strerror(csv_error(&p)));
    goto done;
  }
  if (c.failed)
    goto done;
  if (c.rows == 0) {
    extract_error(out, NULL, "empty CSV: no header row");
    goto done;
  }
  report_unfound(&c);
  rc = 0;
done:
  out->record = 0;
  if (c.plan)
    for (size_t i = 0; i < feed->nseries; i++)
      free(c.plan[i].where_col);
  free(c.plan);
  free(c.is_time);
  free(c.col_time);
  row_free(&c.cur);
  row_free(&c.header);
  csv_free(&p);
  free(decoded);
  return rc;
}

static int compile(const struct feed *f, void **state, char *err,
                   size_t errlen) {
  struct csv_options *o = NULL;
  int rc = csv_options_compile(f, &o, err, errlen);
  if (rc == 0)
    *state = o;
  return rc;
}

static void release(void *state) {
  csv_options_free(state);
}

static const char *const feed_keys[] = {"encoding",  "skip_rows", "missing",
                                        "thousands", "layout",    NULL};
static const char *const series_keys[] = {"where", NULL};

const struct feed_format feed_csv = {
    .name = "csv",
    .path_key = "column",
    .path_optional = true,
    .takes_time = true,
    .feed_keys = feed_keys,
    .series_keys = series_keys,
    .check = csv_options_check,
    .compile = compile,
    .free = release,
    .extract = extract,
};
