#include "feed_format.h"

#include "util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const struct feed_format *const feed_formats[] = {
    &feed_json, &feed_csv,      &feed_prom, &feed_openmetrics,
    &feed_sdmx, &feed_jsonstat, &feed_text, NULL};

const struct feed_format *feed_format_find(const char *name) {
  for (size_t i = 0; feed_formats[i]; i++)
    if (strcmp(feed_formats[i]->name, name) == 0)
      return feed_formats[i];
  return NULL;
}

void feed_check_error(struct feed_check *chk, const struct config_pos *at,
                      long offset, const char *fmt, ...) {
  struct config_pos pos = *at;
  struct strbuf sb = {0};
  va_list ap;
  if (offset >= 0 && at->text_col)
    pos.col = at->text_col + (int)offset;
  va_start(ap, fmt);
  strbuf_vaddf(&sb, fmt, ap);
  va_end(ap);
  chk->report(chk, &pos, sb.buf);
  strbuf_free(&sb);
}

struct config_pos feed_check_pos(const struct feed_check *chk,
                                 const struct ydoc_node *n) {
  struct config_pos pos = {chk->file, n->line, n->col, 0};
  return pos;
}

const struct ydoc_node *feed_option(const struct ydoc_node *options,
                                    const char *key) {
  return ydoc_get(options, key);
}
