#include "feed_csv.h"

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

struct series_plan {
  long col;
  long *where_col;
  size_t found;
};

int feed_csv_extract(const struct extractor *ex, const char *body, size_t len,
                     int64_t fetch_ms, struct extract_out *out) {
  const struct feed *feed = ex->feed;
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
  plan = xcalloc(ex->nseries, sizeof(*plan));
  for (size_t i = 0; i < ex->nseries; i++) {
    const struct feed_series *s = ex->series[i].cfg;
    plan[i].col = column_of(&t.rows[0], s->path);
    if (plan[i].col < 0)
      extract_error(out, s->id, "series '%s': column '%s' is not in the header",
                    s->id, s->path);
    plan[i].where_col = xcalloc(s->nwhere ? s->nwhere : 1, sizeof(long));
    for (size_t w = 0; w < s->nwhere; w++) {
      plan[i].where_col[w] = column_of(&t.rows[0], s->where[w].key);
      if (plan[i].where_col[w] < 0) {
        extract_error(out, s->id,
                      "series '%s': where column '%s' is not in the header",
                      s->id, s->where[w].key);
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
    for (size_t i = 0; i < ex->nseries; i++) {
      const struct feed_series *s = ex->series[i].cfg;
      const struct field *cell;
      double v;
      bool match = true;
      if (plan[i].col < 0)
        continue;
      for (size_t w = 0; w < s->nwhere && match; w++)
        match =
            strcmp(row->f[plan[i].where_col[w]].text, s->where[w].value) == 0;
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
  for (size_t i = 0; i < ex->nseries; i++)
    if (plan[i].col >= 0 && plan[i].found == 0)
      extract_error(out, ex->series[i].cfg->id,
                    "series '%s': no row with a value in column '%s'%s",
                    ex->series[i].cfg->id, ex->series[i].cfg->path,
                    ex->series[i].cfg->nwhere ? " matching where:" : "");
out:
  if (plan)
    for (size_t i = 0; i < ex->nseries; i++)
      free(plan[i].where_col);
  free(plan);
  csv_free(&p);
  table_free(&t);
  return rc;
}
