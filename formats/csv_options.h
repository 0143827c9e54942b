/* The options of a csv feed (feed_csv), compiled and checked: encoding,
 * skip_rows, missing, thousands and layout on the feed, where: on each
 * series. */
#ifndef INDICATORD_CSV_OPTIONS_H
#define INDICATORD_CSV_OPTIONS_H

#include "feed_format.h"

#include <stdbool.h>
#include <stddef.h>

/* A series' where: as (column, value) pairs. */
struct csv_where {
  const char **col, **value; /* borrowed from the feed's options */
  size_t n;
};

/* What the feed's options say. */
struct csv_options {
  const char *encoding; /* iconv's name; NULL: UTF-8 */
  size_t skip_rows;
  const char **missing; /* cells that are gaps (borrowed) */
  size_t nmissing;
  const char *thousands; /* NULL: none */
  bool wide;
  struct csv_where *where; /* per series */
  size_t n;
};

/* Compiles f's options. Returns 0, or -EINVAL with the reason in err. */
int csv_options_compile(const struct feed *f, struct csv_options **out,
                        char *err, size_t errlen);
void csv_options_free(struct csv_options *o);
/* Reports every problem of f's options while the configuration loads. */
void csv_options_check(const struct feed *f, struct feed_check *chk);

#endif
