/* Feed formats: one table of them (feed_formats), one file per format
 * exporting its struct feed_format. The configuration reads from the table
 * which formats exist and which keys each takes, and lets the format check
 * its own settings while the file is loaded; the extractor (extract.c)
 * compiles and runs a feed through its format. Adding a format: its file,
 * its entry in feed_formats (feed_format.c), its extern below, its source
 * in CMakeLists.txt, and its keys in docs/configuration.md (a unit test
 * compares the documentation with this table).
 *
 * Settings every format shares are fields of struct feed (time,
 * time_format) and struct feed_series (path: what the series' path key
 * said); keys of one format's own are listed in feed_keys / series_keys,
 * copied by the loader as written (with ${ENV} expanded) into
 * feed->options and series->options, and read by the format's check and
 * compile. */
#ifndef INDICATORD_FEED_FORMAT_H
#define INDICATORD_FEED_FORMAT_H

#include "config.h"
#include "extract.h"
#include "ydoc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The loader, as a format's check sees it: where the feed was written and
 * where problems go. */
struct feed_check {
  const char *file; /* the file of the feed, for option nodes' positions */
  void (*report)(struct feed_check *chk, const struct config_pos *at,
                 const char *msg);
};

struct feed_format {
  const char *name; /* the value of format: */
  /* The series key that says what to read (a JSONPath, a column, a
   * selector, a cube key): NULL when the body is the value itself, with
   * no_path saying so ("the body is one number"). */
  const char *path_key;
  const char *no_path;
  /* The path key takes a mapping ({DIM: code, ...}): the loader copies it
   * into series->options under path_key and leaves series->path NULL. */
  bool path_is_map;
  /* A series may leave the path key out; the format's check says when it
   * is needed (csv's wide layout picks rows by where: instead). */
  bool path_optional;
  bool takes_time; /* time: names something in the body */
  /* What requests ask for in Accept (a feed's own Accept header wins);
   * NULL: anything. Servers of these formats choose by it. */
  const char *accept;
  /* The body carries unit multipliers and decimals: scale: auto applies
   * them. */
  bool scale_auto;
  /* The format's own keys on a feed and on a series (NULL-terminated;
   * NULL for none). */
  const char *const *feed_keys;
  const char *const *series_keys;
  /* While the configuration loads (no I/O): reports every problem of the
   * feed's format settings (paths, options) through feed_check_error.
   * NULL: nothing to check. */
  void (*check)(const struct feed *f, struct feed_check *chk);
  /* Prepares what extract needs for f (compiled paths, options); *state
   * is passed back to extract and free. Returns 0, or -EINVAL with the
   * reason in err. NULL: no state. */
  int (*compile)(const struct feed *f, void **state, char *err, size_t errlen);
  void (*free)(void *state);
  /* Reads the body into out: 0 when the body could be read (series-level
   * problems in out->errs), -EINVAL when it could not (the reason in
   * out->errs[0], with series NULL). */
  int (*extract)(const struct feed *f, const void *state,
                 const struct extract_body *body, struct extract_out *out);
};

extern const struct feed_format feed_json, feed_csv, feed_prom,
    feed_openmetrics, feed_sdmx, feed_jsonstat, feed_text;

/* Every format, in the order the documentation lists them; the first is
 * the default. NULL-terminated. */
extern const struct feed_format *const feed_formats[];
/* The format named name, or NULL. */
const struct feed_format *feed_format_find(const char *name);

/* Reports a problem at a value: at offset (a character of the value's
 * text) when offset >= 0 and at->text_col says offsets are columns, else
 * at the value. */
void feed_check_error(struct feed_check *chk, const struct config_pos *at,
                      long offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The position of an option node (in feed->options or series->options). */
struct config_pos feed_check_pos(const struct feed_check *chk,
                                 const struct ydoc_node *n);
/* The option key of a feed or series (options may be NULL), or NULL. */
const struct ydoc_node *feed_option(const struct ydoc_node *options,
                                    const char *key);

#endif
