/* Collected diagnostics ("file:line:col: message") for the config loader:
 * every error is recorded, none aborts the parse. */
#ifndef INDICATORD_DIAG_H
#define INDICATORD_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct diag_entry {
  char *file; /* owned */
  int line;   /* 1-based; 0 when the message concerns the whole file */
  int col;    /* 1-based */
  char *msg;  /* owned */
};

struct diag {
  struct diag_entry *v;
  size_t n, cap;
};

void diag_add(struct diag *d, const char *file, int line, int col,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Sorted by file, line and column; the order of entries otherwise kept. */
void diag_sort(struct diag *d);
/* One "file:line:col: message" per line. */
void diag_print(const struct diag *d, FILE *out);
/* The i-th entry formatted; caller frees. */
char *diag_format(const struct diag *d, size_t i);
void diag_free(struct diag *d);

#endif
