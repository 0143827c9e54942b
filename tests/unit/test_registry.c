/* The plug-in tables and the documentation agree: docs/configuration.md's
 * Formats table has one row per entry of feed_formats, in order, naming its
 * series key, whether it takes time: and its own keys; the receivers table
 * lists every receiver type, and the secret and chat_id rows name exactly
 * the types that take them. Also: every name in a table resolves to its
 * entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "feed_format.h"
#include "receiver.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *docs;

static char *read_docs(void) {
  const char *data = getenv("TEST_DATA");
  char *path = xasprintf("%s/../../docs/configuration.md", data ? data : ".");
  FILE *f = fopen(path, "rb");
  struct strbuf sb = {0};
  char buf[4096];
  size_t n;
  if (!f) {
    fprintf(stderr, "cannot read %s\n", path);
    free(path);
    return NULL;
  }
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    strbuf_add(&sb, buf, n);
  fclose(f);
  free(path);
  return strbuf_take(&sb);
}

/* The line of the section starting at heading whose first cell is cell
 * ("| `json` |"), copied; NULL when none. */
static char *row(const char *heading, const char *cell) {
  const char *sec = strstr(docs, heading), *end, *p;
  char *want = xasprintf("\n| %s |", cell);
  char *line = NULL;
  if (sec) {
    end = strstr(sec + strlen(heading), "\n#");
    p = strstr(sec, want);
    if (p && (!end || p < end)) {
      const char *eol = strchr(p + 1, '\n');
      line = xstrndup(p + 1, eol ? (size_t)(eol - p - 1) : strlen(p + 1));
    }
  }
  free(want);
  return line;
}

/* Cell i (0-based) of a table row, trimmed; caller frees. */
static char *cell_of(const char *line, int i) {
  const char *p = line;
  for (int k = 0; k <= i; k++) {
    p = strchr(p, '|');
    if (!p)
      return xstrdup("");
    p++;
  }
  {
    const char *end = strchr(p, '|');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    while (len && *p == ' ') {
      p++;
      len--;
    }
    while (len && p[len - 1] == ' ')
      len--;
    return xstrndup(p, len);
  }
}

static bool mentions(const char *text, const char *name) {
  char *q = xasprintf("`%s`", name);
  bool found = strstr(text, q) != NULL;
  free(q);
  return found;
}

static void formats_documented(void **state) {
  const char *prev_at = NULL;
  int failures = 0;
  (void)state;
  assert_non_null(docs);
  for (size_t i = 0; feed_formats[i]; i++) {
    const struct feed_format *f = feed_formats[i];
    char *name = xasprintf("`%s`", f->name);
    char *line = row("### Formats", name);
    char *names, *time, *own;
    struct strbuf want = {0};
    assert_ptr_equal(feed_format_find(f->name), f);
    if (!line) {
      fprintf(stderr, "docs: no Formats row for %s\n", f->name);
      failures++;
      free(name);
      continue;
    }
    /* In table order. */
    {
      const char *at = strstr(docs, line);
      if (prev_at && at < prev_at) {
        fprintf(stderr, "docs: format %s out of table order\n", f->name);
        failures++;
      }
      prev_at = at;
    }
    names = cell_of(line, 1);
    time = cell_of(line, 2);
    own = cell_of(line, 3);
    if (f->path_key
            ? strncmp(names, "`", 1) != 0 ||
                  strncmp(names + 1, f->path_key, strlen(f->path_key)) != 0
            : strncmp(names, "nothing", 7) != 0) {
      fprintf(stderr, "docs: %s names '%s', the table %s\n", f->name, names,
              f->path_key ? f->path_key : "nothing");
      failures++;
    }
    if (f->takes_time == (strncmp(time, "none", 4) == 0)) {
      fprintf(stderr, "docs: %s time '%s', the table %s\n", f->name, time,
              f->takes_time ? "takes time" : "none");
      failures++;
    }
    for (size_t k = 0; f->feed_keys && f->feed_keys[k]; k++)
      strbuf_addf(&want, "%sfeed: `%s`", want.len ? ", " : "", f->feed_keys[k]);
    for (size_t k = 0; f->series_keys && f->series_keys[k]; k++)
      strbuf_addf(&want, "%sseries: `%s`", want.len ? ", " : "",
                  f->series_keys[k]);
    if (strcmp(own, want.buf ? want.buf : "") != 0) {
      fprintf(stderr, "docs: %s own keys '%s', the table '%s'\n", f->name, own,
              want.buf ? want.buf : "");
      failures++;
    }
    strbuf_free(&want);
    free(names);
    free(time);
    free(own);
    free(line);
    free(name);
  }
  /* No row for a format the table does not have. */
  {
    const char *sec = strstr(docs, "### Formats");
    const char *end = sec ? strstr(sec + 1, "\n#") : NULL;
    size_t rows = 0, formats = 0;
    for (const char *p = sec;
         p && (p = strstr(p, "\n| `")) && (!end || p < end); p++)
      rows++;
    while (feed_formats[formats])
      formats++;
    if (rows != formats) {
      fprintf(stderr, "docs: Formats has %zu rows for %zu formats\n", rows,
              formats);
      failures++;
    }
  }
  assert_int_equal(failures, 0);
}

static void receivers_documented(void **state) {
  char *types = row("## `receivers`", "`id`, `type`");
  char *secret = row("## `receivers`", "`secret` / `secret_file`");
  char *chat = row("## `receivers`", "`chat_id`");
  const char *prev = NULL;
  int failures = 0;
  (void)state;
  assert_non_null(types);
  assert_non_null(secret);
  assert_non_null(chat);
  for (size_t i = 0; receiver_types[i]; i++) {
    const struct receiver_ops *t = receiver_types[i];
    char *q = xasprintf("`%s`", t->name);
    const char *at = strstr(types, q);
    assert_ptr_equal(receiver_find(t->name), t);
    if (!at || (prev && at < prev)) {
      fprintf(stderr, "docs: receiver type %s missing or out of order\n",
              t->name);
      failures++;
    }
    prev = at;
    if ((strstr(secret, t->name) != NULL) != t->takes_secret) {
      fprintf(stderr, "docs: secret row and %s disagree\n", t->name);
      failures++;
    }
    if ((strstr(chat, t->name) != NULL) != t->needs_chat_id) {
      fprintf(stderr, "docs: chat_id row and %s disagree\n", t->name);
      failures++;
    }
    free(q);
  }
  assert_false(mentions(types, "nosuchtype"));
  assert_null(receiver_find("nosuchtype"));
  assert_null(feed_format_find("nosuchformat"));
  free(types);
  free(secret);
  free(chat);
  assert_int_equal(failures, 0);
}

static int setup(void **state) {
  (void)state;
  docs = read_docs();
  return docs ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  free(docs);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(formats_documented),
      cmocka_unit_test(receivers_documented),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
