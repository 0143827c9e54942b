#include "diag.h"

#include "util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diag_add(struct diag *d, const char *file, int line, int col,
              const char *fmt, ...) {
  struct strbuf sb = {0};
  va_list ap;
  va_start(ap, fmt);
  strbuf_vaddf(&sb, fmt, ap);
  va_end(ap);
  xgrow((void **)&d->v, &d->cap, d->n + 1, sizeof(*d->v));
  d->v[d->n].file = xstrdup(file ? file : "(config)");
  d->v[d->n].line = line;
  d->v[d->n].col = col;
  d->v[d->n].msg = strbuf_take(&sb);
  d->n++;
}

static int entry_cmp(const struct diag_entry *a, const struct diag_entry *b) {
  int c = strcmp(a->file, b->file);
  if (c)
    return c;
  if (a->line != b->line)
    return a->line < b->line ? -1 : 1;
  if (a->col != b->col)
    return a->col < b->col ? -1 : 1;
  return 0;
}

void diag_sort(struct diag *d) {
  /* Insertion sort: stable, and the lists are short. */
  for (size_t i = 1; i < d->n; i++) {
    struct diag_entry e = d->v[i];
    size_t j = i;
    while (j > 0 && entry_cmp(&d->v[j - 1], &e) > 0) {
      d->v[j] = d->v[j - 1];
      j--;
    }
    d->v[j] = e;
  }
}

char *diag_format(const struct diag *d, size_t i) {
  const struct diag_entry *e = &d->v[i];
  if (e->line <= 0)
    return xasprintf("%s: %s", e->file, e->msg);
  return xasprintf("%s:%d:%d: %s", e->file, e->line, e->col, e->msg);
}

void diag_print(const struct diag *d, FILE *out) {
  for (size_t i = 0; i < d->n; i++) {
    char *s = diag_format(d, i);
    fprintf(out, "%s\n", s);
    free(s);
  }
}

void diag_free(struct diag *d) {
  for (size_t i = 0; i < d->n; i++) {
    free(d->v[i].file);
    free(d->v[i].msg);
  }
  free(d->v);
  d->v = NULL;
  d->n = d->cap = 0;
}
