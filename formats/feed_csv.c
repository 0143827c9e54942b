/* CSV bodies (RFC 4180 through libcsv): UTF-8 with or without BOM, a
 * header row, series by column name or 1-based index, rows picked by
 * where:, one observation per matching row. */
#include "feed_format.h"
#include "util.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_MAX_ROWS 500000

struct field {
  char *text;
  size_t len;
};

struct row {
  struct field *f;
  size_t n;
};

struct table {
  struct row *rows;
  size_t n, cap;
  struct row cur;
  size_t curcap;
  bool too_many;
};

static void on_field(void *s, size_t len, void *data) {
  struct table *t = data;
  xgrow((void **)&t->cur.f, &t->curcap, t->cur.n + 1, sizeof(*t->cur.f));
  t->cur.f[t->cur.n].text = xstrndup(s ? s : "", s ? len : 0);
  t->cur.f[t->cur.n].len = s ? len : 0;
  t->cur.n++;
}

static void on_row(int c, void *data) {
  struct table *t = data;
  (void)c;
  if (t->n >= CSV_MAX_ROWS) {
    t->too_many = true;
    for (size_t i = 0; i < t->cur.n; i++)
      free(t->cur.f[i].text);
    free(t->cur.f);
  } else {
    xgrow((void **)&t->rows, &t->cap, t->n + 1, sizeof(*t->rows));
    t->rows[t->n++] = t->cur;
  }
  memset(&t->cur, 0, sizeof(t->cur));
  t->curcap = 0;
}

static void table_free(struct table *t) {
  for (size_t r = 0; r < t->n; r++) {
    for (size_t i = 0; i < t->rows[r].n; i++)
      free(t->rows[r].f[i].text);
    free(t->rows[r].f);
  }
  for (size_t i = 0; i < t->cur.n; i++)
    free(t->cur.f[i].text);
  free(t->cur.f);
  free(t->rows);
}

/* Column by 1-based index (when the name is all digits) or header name;
 * -1 when absent. */
static long find_column(const struct row *header, const char *name, int index) {
  if (index > 0)
    return (size_t)index <= header->n ? index - 1 : -1;
  for (size_t i = 0; i < header->n; i++)
    if (strcmp(header->f[i].text, name) == 0)
      return (long)i;
  return -1;
}

static long column_of(const struct row *header, const char *name) {
  char *end;
  long idx = strtol(name, &end, 10);
  if (!*end && end != name && idx > 0 && idx <= 10000)
    return find_column(header, name, (int)idx);
  return find_column(header, name, 0);
}

/* A series' where: as (column, value) pairs. */
struct csv_where {
  const char **col, **value; /* borrowed from the feed's options */
  size_t n;
};

/* What compile prepares: the where: pairs of each series. */
struct csv_state {
  struct csv_where *where;
  size_t n;
};

struct series_plan {
  long col;
  long *where_col;
  size_t found;
};

static int extract(const struct feed *feed, const void *state, const char *body,
                   size_t len, int64_t fetch_ms, struct extract_out *out) {
  const struct csv_state *st = state;
  struct csv_parser p;
  struct table t = {0};
  struct series_plan *plan = NULL;
  long time_col = -1;
  long bad;
  int rc = -EINVAL;

  if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) {
    body += 3;
    len -= 3;
  }
  bad = extract_utf8_invalid_at(body, len);
  if (bad >= 0) {
    extract_error(out, NULL, "body is not UTF-8 (byte %ld)", bad + 1);
    return -EINVAL;
  }
  if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    extract_error(out, NULL, "cannot initialise the CSV parser");
    return -EINVAL;
  }
  if (csv_parse(&p, body, len, on_field, on_row, &t) != len ||
      csv_fini(&p, on_field, on_row, &t) != 0) {
    extract_error(out, NULL, "invalid CSV near row %zu: %s", t.n + 1,
                  csv_strerror(csv_error(&p)));
    goto out;
  }
  if (t.too_many) {
    extract_error(out, NULL, "more than %d rows", CSV_MAX_ROWS);
    goto out;
  }
  if (t.n == 0) {
    extract_error(out, NULL, "empty CSV: no header row");
    goto out;
  }
  for (size_t r = 1; r < t.n; r++) {
    if (t.rows[r].n != t.rows[0].n) {
      extract_error(out, NULL, "row %zu has %zu fields; the header has %zu",
                    r + 1, t.rows[r].n, t.rows[0].n);
      goto out;
    }
  }
  if (feed->time) {
    time_col = column_of(&t.rows[0], feed->time);
    if (time_col < 0) {
      extract_error(out, NULL, "time column '%s' is not in the header",
                    feed->time);
      goto out;
    }
  }
  rc = 0;
  plan = xcalloc(feed->nseries, sizeof(*plan));
  for (size_t i = 0; i < feed->nseries; i++) {
    const struct feed_series *s = &feed->series[i];
    const struct csv_where *wh = &st->where[i];
    plan[i].col = column_of(&t.rows[0], s->path);
    if (plan[i].col < 0)
      extract_error(out, s->id, "series '%s': column '%s' is not in the header",
                    s->id, s->path);
    plan[i].where_col = xcalloc(wh->n ? wh->n : 1, sizeof(long));
    for (size_t w = 0; w < wh->n; w++) {
      plan[i].where_col[w] = column_of(&t.rows[0], wh->col[w]);
      if (plan[i].where_col[w] < 0) {
        extract_error(out, s->id,
                      "series '%s': where column '%s' is not in the header",
                      s->id, wh->col[w]);
        plan[i].col = -1;
      }
    }
  }
  for (size_t r = 1; r < t.n; r++) {
    const struct row *row = &t.rows[r];
    struct timefmt_value when;
    bool have_time = false;
    char why[128];
    extract_time_now(fetch_ms, &when);
    for (size_t i = 0; i < feed->nseries; i++) {
      const struct feed_series *s = &feed->series[i];
      const struct csv_where *wh = &st->where[i];
      const struct field *cell;
      double v;
      bool match = true;
      if (plan[i].col < 0)
        continue;
      for (size_t w = 0; w < wh->n && match; w++)
        match = strcmp(row->f[plan[i].where_col[w]].text, wh->value[w]) == 0;
      if (!match)
        continue;
      cell = &row->f[plan[i].col];
      if (cell->len == 0)
        continue; /* an empty cell is a gap */
      if (time_col >= 0 && !have_time) {
        const struct field *tc = &row->f[time_col];
        if (extract_time(feed, tc->text, tc->len, &when, why, sizeof(why)) <
            0) {
          extract_error(out, NULL, "row %zu: time '%s': %s", r + 1,
                        tc->len < 40 ? tc->text : "(long)", why);
          break;
        }
        have_time = true;
      }
      plan[i].found++;
      if (!extract_number(cell->text, cell->len, &v)) {
        extract_error(out, s->id,
                      "series '%s': row %zu column '%s' is not "
                      "a number",
                      s->id, r + 1, s->path);
        continue;
      }
      extract_add(out, s, extract_place(&when, &s->meta), v);
    }
  }
  for (size_t i = 0; i < feed->nseries; i++)
    if (plan[i].col >= 0 && plan[i].found == 0)
      extract_error(out, feed->series[i].id,
                    "series '%s': no row with a value in column '%s'%s",
                    feed->series[i].id, feed->series[i].path,
                    st->where[i].n ? " matching where:" : "");
out:
  if (plan)
    for (size_t i = 0; i < feed->nseries; i++)
      free(plan[i].where_col);
  free(plan);
  csv_free(&p);
  table_free(&t);
  return rc;
}

/* ---- where:, compiled and checked ---- */

static void release(void *state) {
  struct csv_state *st = state;
  if (!st)
    return;
  for (size_t i = 0; i < st->n; i++) {
    free(st->where[i].col);
    free(st->where[i].value);
  }
  free(st->where);
  free(st);
}

static int compile(const struct feed *f, void **state, char *err,
                   size_t errlen) {
  struct csv_state *st = xcalloc(1, sizeof(*st));
  st->where = xcalloc(f->nseries + 1, sizeof(*st->where));
  st->n = f->nseries;
  for (size_t i = 0; i < f->nseries; i++) {
    const struct ydoc_node *w = feed_option(f->series[i].options, "where");
    struct csv_where *cw = &st->where[i];
    if (!w)
      continue;
    if (w->kind != YDOC_MAP) {
      snprintf(err, errlen, "series '%s': where must be a mapping",
               f->series[i].id);
      release(st);
      return -EINVAL;
    }
    cw->col = xcalloc(w->n + 1, sizeof(*cw->col));
    cw->value = xcalloc(w->n + 1, sizeof(*cw->value));
    for (size_t k = 0; k < w->n; k++) {
      if (w->items[k]->kind != YDOC_SCALAR)
        continue;
      cw->col[cw->n] = w->keys[k]->value;
      cw->value[cw->n++] = w->items[k]->value;
    }
  }
  *state = st;
  return 0;
}

static void check(const struct feed *f, struct feed_check *chk) {
  for (size_t i = 0; i < f->nseries; i++) {
    const struct feed_series *s = &f->series[i];
    const struct ydoc_node *w = feed_option(s->options, "where");
    if (s->path) {
      char *end;
      long idx = strtol(s->path, &end, 10);
      if (!*end && end != s->path && (idx < 1 || idx > 10000))
        feed_check_error(chk, &s->path_pos, -1,
                         "column index must be from 1 to 10000");
    }
    if (!w)
      continue;
    if (w->kind != YDOC_MAP) {
      struct config_pos at = feed_check_pos(chk, w);
      feed_check_error(chk, &at, -1, "where must be %s, not %s",
                       ydoc_kind_name(YDOC_MAP), ydoc_kind_name(w->kind));
      continue;
    }
    for (size_t k = 0; k < w->n; k++) {
      if (!w->keys[k]->value[0]) {
        struct config_pos at = feed_check_pos(chk, w->keys[k]);
        feed_check_error(chk, &at, -1, "where column must not be empty");
      } else if (w->items[k]->kind != YDOC_SCALAR) {
        struct config_pos at = feed_check_pos(chk, w->items[k]);
        feed_check_error(chk, &at, -1, "where value must be %s, not %s",
                         ydoc_kind_name(YDOC_SCALAR),
                         ydoc_kind_name(w->items[k]->kind));
      }
    }
  }
}

static const char *const series_keys[] = {"where", NULL};

const struct feed_format feed_csv = {
    .name = "csv",
    .path_key = "column",
    .takes_time = true,
    .series_keys = series_keys,
    .check = check,
    .compile = compile,
    .free = release,
    .extract = extract,
};
