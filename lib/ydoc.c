#include "ydoc.h"

#include "file.h"
#include "strmap.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Bounds that keep alias expansion ("billion laughs") and deep nesting from
 * exhausting memory or stack. */
#define YDOC_MAX_ALIAS_NODES 100000
#define YDOC_MAX_DEPTH 64
#define YDOC_MAX_FILE (16 * 1024 * 1024)

static void node_free(struct ydoc_node *n) {
  if (!n)
    return;
  for (size_t i = 0; i < n->n; i++) {
    node_free(n->items[i]);
    if (n->keys)
      node_free(n->keys[i]);
  }
  free(n->items);
  free(n->keys);
  free(n->value);
  free(n);
}

struct frame {
  struct ydoc_node *node;
  size_t cap;
  struct ydoc_node *key; /* maps: a key waiting for its value */
  char *anchor;          /* the container's anchor, recorded at its end */
  struct strmap seen;    /* maps with many keys: key -> first key node */
};

/* Up to this many keys a map is checked for duplicates by scanning. */
#define YDOC_SCAN_KEYS 8

struct anchor {
  char *name;
  const struct ydoc_node *node;
};

/* Builds the tree straight from libyaml's events: no intermediate
 * yaml_document_t, whose node stacks were most of the peak memory of a
 * large configuration. */
struct builder {
  const char *file;
  struct diag *d;
  struct frame stack[YDOC_MAX_DEPTH + 1];
  int depth;
  struct ydoc_node *root;
  struct anchor *anchors;
  size_t nanchors, anchors_cap;
  size_t copied; /* nodes made by alias expansion */
  bool failed;
};

static void error_at(struct builder *b, yaml_mark_t m, const char *fmt,
                     const char *arg) {
  if (!b->failed)
    diag_add(b->d, b->file, (int)m.line + 1, (int)m.column + 1, fmt, arg);
  b->failed = true;
}

static struct ydoc_node *copy_node(struct builder *b,
                                   const struct ydoc_node *src) {
  struct ydoc_node *n;
  if (++b->copied > YDOC_MAX_ALIAS_NODES)
    return NULL;
  n = xcalloc(1, sizeof(*n));
  *n = *src;
  n->value = src->value ? xstrdup(src->value) : NULL;
  n->items = n->keys = NULL;
  n->n = 0;
  if (src->n) {
    n->items = xcalloc(src->n, sizeof(*n->items));
    if (src->keys)
      n->keys = xcalloc(src->n, sizeof(*n->keys));
  }
  for (size_t i = 0; i < src->n; i++) {
    n->items[i] = copy_node(b, src->items[i]);
    if (src->keys)
      n->keys[i] = copy_node(b, src->keys[i]);
    n->n = i + 1;
    if (!n->items[i] || (src->keys && !n->keys[i])) {
      node_free(n);
      return NULL;
    }
  }
  return n;
}

static void remember(struct builder *b, const unsigned char *anchor,
                     const struct ydoc_node *node) {
  if (!anchor)
    return;
  xgrow((void **)&b->anchors, &b->anchors_cap, b->nanchors + 1,
        sizeof(*b->anchors));
  /* A later anchor of the same name wins, as in YAML. */
  b->anchors[b->nanchors].name = xstrdup((const char *)anchor);
  b->anchors[b->nanchors].node = node;
  b->nanchors++;
}

/* Hangs a finished node on the open container (or makes it the root). */
static void attach(struct builder *b, struct ydoc_node *n) {
  struct frame *f;
  if (b->depth == 0) {
    if (b->root)
      node_free(b->root);
    b->root = n;
    return;
  }
  f = &b->stack[b->depth - 1];
  if (f->node->kind == YDOC_SEQ) {
    xgrow((void **)&f->node->items, &f->cap, f->node->n + 1,
          sizeof(*f->node->items));
    f->node->items[f->node->n++] = n;
    return;
  }
  if (!f->key) {
    if (n->kind != YDOC_SCALAR) {
      diag_add(b->d, b->file, n->line, n->col, "a key must be plain text");
      b->failed = true;
      node_free(n);
      return;
    }
    const struct ydoc_node *first = NULL;
    if (f->node->n < YDOC_SCAN_KEYS && !f->seen.cap) {
      for (size_t j = 0; j < f->node->n && !first; j++)
        if (strcmp(f->node->keys[j]->value, n->value) == 0)
          first = f->node->keys[j];
    } else {
      /* A map as large as a 10,000-series section: scanning would be
       * quadratic. */
      if (!f->seen.cap)
        for (size_t j = 0; j < f->node->n; j++)
          strmap_put(&f->seen, f->node->keys[j]->value, f->node->keys[j]);
      first = strmap_put(&f->seen, n->value, n);
    }
    if (first)
      diag_add(b->d, b->file, n->line, n->col,
               "duplicate key '%s' (first at line %d)", n->value, first->line);
    f->key = n;
    return;
  }
  if (f->node->n + 1 > f->cap) {
    size_t cap = f->cap;
    xgrow((void **)&f->node->items, &cap, f->node->n + 1,
          sizeof(*f->node->items));
    xgrow((void **)&f->node->keys, &f->cap, f->node->n + 1,
          sizeof(*f->node->keys));
  }
  f->node->keys[f->node->n] = f->key;
  f->node->items[f->node->n] = n;
  f->node->n++;
  f->key = NULL;
}

static struct ydoc_node *new_node(enum ydoc_kind kind, yaml_mark_t m) {
  struct ydoc_node *n = xcalloc(1, sizeof(*n));
  n->kind = kind;
  n->line = (int)m.line + 1;
  n->col = (int)m.column + 1;
  return n;
}

/* Handles one event of the first document. Returns false to stop. */
static bool on_event(struct builder *b, yaml_event_t *e) {
  struct ydoc_node *n;
  switch (e->type) {
  case YAML_SCALAR_EVENT:
    n = new_node(YDOC_SCALAR, e->start_mark);
    n->value =
        xstrndup((const char *)e->data.scalar.value, e->data.scalar.length);
    n->quoted = e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    if (strlen(n->value) != e->data.scalar.length) {
      diag_add(b->d, b->file, n->line, n->col, "text contains a NUL character");
      b->failed = true;
    }
    remember(b, e->data.scalar.anchor, n);
    attach(b, n);
    return !b->failed;
  case YAML_SEQUENCE_START_EVENT:
  case YAML_MAPPING_START_EVENT: {
    const unsigned char *anchor = e->type == YAML_SEQUENCE_START_EVENT
                                      ? e->data.sequence_start.anchor
                                      : e->data.mapping_start.anchor;
    if (b->depth >= YDOC_MAX_DEPTH) {
      char lim[16];
      snprintf(lim, sizeof(lim), "%d", YDOC_MAX_DEPTH);
      error_at(b, e->start_mark, "nesting deeper than %s levels", lim);
      return false;
    }
    n = new_node(e->type == YAML_SEQUENCE_START_EVENT ? YDOC_SEQ : YDOC_MAP,
                 e->start_mark);
    memset(&b->stack[b->depth], 0, sizeof(b->stack[0]));
    b->stack[b->depth].node = n;
    b->stack[b->depth].anchor = anchor ? xstrdup((const char *)anchor) : NULL;
    b->depth++;
    return true;
  }
  case YAML_SEQUENCE_END_EVENT:
  case YAML_MAPPING_END_EVENT: {
    struct frame *f = &b->stack[--b->depth];
    n = f->node;
    if (f->key)
      node_free(f->key); /* cannot happen: libyaml pairs keys and values */
    strmap_free(&f->seen);
    remember(b, (const unsigned char *)f->anchor, n);
    free(f->anchor);
    attach(b, n);
    return !b->failed;
  }
  case YAML_ALIAS_EVENT: {
    const struct ydoc_node *src = NULL;
    for (size_t i = b->nanchors; i-- > 0 && !src;)
      if (strcmp(b->anchors[i].name, (const char *)e->data.alias.anchor) == 0)
        src = b->anchors[i].node;
    if (!src) {
      /* Either unknown or an alias to a container still open. */
      error_at(b, e->start_mark, "alias '%s' refers to no finished anchor",
               (const char *)e->data.alias.anchor);
      return false;
    }
    n = copy_node(b, src);
    if (!n) {
      char lim[16];
      snprintf(lim, sizeof(lim), "%d", YDOC_MAX_ALIAS_NODES);
      error_at(b, e->start_mark, "aliases expand to more than %s nodes", lim);
      return false;
    }
    n->line = (int)e->start_mark.line + 1;
    n->col = (int)e->start_mark.column + 1;
    attach(b, n);
    return !b->failed;
  }
  default:
    return true;
  }
}

static void builder_free(struct builder *b) {
  while (b->depth > 0) {
    struct frame *f = &b->stack[--b->depth];
    node_free(f->key);
    node_free(f->node);
    free(f->anchor);
    strmap_free(&f->seen);
  }
  for (size_t i = 0; i < b->nanchors; i++)
    free(b->anchors[i].name);
  free(b->anchors);
}

static void syntax_error(yaml_parser_t *p, const char *name, struct diag *d) {
  diag_add(d, name, (int)p->problem_mark.line + 1,
           (int)p->problem_mark.column + 1, "YAML syntax: %s%s%s",
           p->problem ? p->problem : "malformed input", p->context ? " " : "",
           p->context ? p->context : "");
}

struct ydoc *ydoc_parse(const char *name, const char *text, size_t len,
                        struct diag *d) {
  yaml_parser_t parser;
  struct builder b;
  struct ydoc *out = NULL;
  int documents = 0;
  bool done = false, fatal = false;

  if (!yaml_parser_initialize(&parser)) {
    diag_add(d, name, 0, 0, "cannot initialise the YAML parser");
    return NULL;
  }
  memset(&b, 0, sizeof(b));
  b.file = name;
  b.d = d;
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  while (!done) {
    yaml_event_t e;
    if (!yaml_parser_parse(&parser, &e)) {
      syntax_error(&parser, name, d);
      fatal = true;
      break;
    }
    if (e.type == YAML_STREAM_END_EVENT) {
      done = true;
    } else if (e.type == YAML_DOCUMENT_START_EVENT) {
      documents++;
    } else if (documents > 1) {
      /* A second document in the same file is almost certainly a
       * mistake; the first is still checked, so one run shows every
       * error. */
      if (e.type != YAML_DOCUMENT_END_EVENT) {
        diag_add(d, name, (int)e.start_mark.line + 1,
                 (int)e.start_mark.column + 1,
                 "only one YAML document per file is allowed");
        done = true;
      }
    } else if (!on_event(&b, &e)) {
      fatal = true;
      done = true;
    }
    yaml_event_delete(&e);
  }
  yaml_parser_delete(&parser);
  fatal = fatal || b.failed;
  if (!fatal) {
    out = xcalloc(1, sizeof(*out));
    out->file = xstrdup(name);
    out->root = b.root;
    b.root = NULL;
  }
  node_free(b.root);
  builder_free(&b);
  return out;
}

struct ydoc *ydoc_load(const char *path, struct diag *d) {
  struct strbuf sb = {0};
  struct ydoc *doc;
  const char *kind = NULL;
  int rc = file_read(path, YDOC_MAX_FILE, &sb, &kind);

  if (rc == -ENOTSUP)
    diag_add(d, path, 0, 0, "is %s, not a regular file", kind);
  else if (rc == -EFBIG)
    diag_add(d, path, 0, 0, "larger than %d MiB", YDOC_MAX_FILE >> 20);
  else if (rc < 0)
    diag_add(d, path, 0, 0, "cannot open: %s", strerror(-rc));
  if (rc < 0) {
    strbuf_free(&sb);
    return NULL;
  }
  doc = ydoc_parse(path, sb.buf ? sb.buf : "", sb.len, d);
  strbuf_free(&sb);
  return doc;
}

void ydoc_free(struct ydoc *doc) {
  if (!doc)
    return;
  node_free(doc->root);
  free(doc->file);
  free(doc);
}

void ydoc_prune(const struct ydoc_node *seq, size_t i) {
  struct ydoc_node *n = (struct ydoc_node *)(uintptr_t)seq;
  if (!n || n->kind != YDOC_SEQ || i >= n->n)
    return;
  node_free(n->items[i]);
  n->items[i] = NULL;
}

const struct ydoc_node *ydoc_key(const struct ydoc_node *map, const char *key) {
  if (!map || map->kind != YDOC_MAP)
    return NULL;
  for (size_t i = 0; i < map->n; i++)
    if (map->keys[i] && strcmp(map->keys[i]->value, key) == 0)
      return map->keys[i];
  return NULL;
}

const struct ydoc_node *ydoc_get(const struct ydoc_node *map, const char *key) {
  if (!map || map->kind != YDOC_MAP)
    return NULL;
  for (size_t i = 0; i < map->n; i++)
    if (map->keys[i] && strcmp(map->keys[i]->value, key) == 0)
      return map->items[i];
  return NULL;
}

bool ydoc_is_null(const struct ydoc_node *node) {
  if (!node || node->kind != YDOC_SCALAR || node->quoted)
    return false;
  return !node->value[0] || strcmp(node->value, "~") == 0 ||
         strcmp(node->value, "null") == 0 || strcmp(node->value, "Null") == 0 ||
         strcmp(node->value, "NULL") == 0;
}

const char *ydoc_kind_name(enum ydoc_kind kind) {
  switch (kind) {
  case YDOC_SCALAR:
    return "a scalar";
  case YDOC_SEQ:
    return "a list";
  case YDOC_MAP:
    return "a mapping";
  }
  return "?";
}

void ydoc_node_free(struct ydoc_node *n) {
  node_free(n);
}

struct ydoc_node *ydoc_copy(const struct ydoc_node *n, ydoc_text_fn text,
                            void *ctx) {
  struct ydoc_node *c = xcalloc(1, sizeof(*c));
  bool ok = true;
  c->kind = n->kind;
  c->line = n->line;
  c->col = n->col;
  c->quoted = n->quoted;
  if (n->kind == YDOC_SCALAR) {
    if (!text)
      c->value = xstrdup(n->value);
    else if (!text(ctx, n, &c->value))
      ok = false;
  } else if (n->n) {
    c->items = xcalloc(n->n, sizeof(*c->items));
    if (n->kind == YDOC_MAP)
      c->keys = xcalloc(n->n, sizeof(*c->keys));
  }
  /* Every item is copied, so that every problem is reported; an item whose
   * key failed is not looked at. */
  for (size_t i = 0; i < n->n; i++) {
    struct ydoc_node *k = NULL, *v = NULL;
    if (n->keys && !(k = ydoc_copy(n->keys[i], text, ctx))) {
      ok = false;
      continue;
    }
    if (!(v = ydoc_copy(n->items[i], text, ctx))) {
      node_free(k);
      ok = false;
      continue;
    }
    if (c->keys)
      c->keys[c->n] = k;
    c->items[c->n++] = v;
  }
  if (!ok) {
    node_free(c);
    return NULL;
  }
  return c;
}

struct ydoc_node *ydoc_map_new(int line, int col) {
  struct ydoc_node *m = xcalloc(1, sizeof(*m));
  m->kind = YDOC_MAP;
  m->line = line;
  m->col = col;
  return m;
}

void ydoc_map_add(struct ydoc_node *map, const struct ydoc_node *key,
                  struct ydoc_node *value) {
  map->keys = xrealloc(map->keys, (map->n + 1) * sizeof(*map->keys));
  map->items = xrealloc(map->items, (map->n + 1) * sizeof(*map->items));
  map->keys[map->n] = ydoc_copy(key, NULL, NULL);
  map->items[map->n] = value;
  map->n++;
}

bool ydoc_node_equal(const struct ydoc_node *a, const struct ydoc_node *b) {
  if (!a || !b)
    return a == b;
  if (a->kind != b->kind || a->n != b->n)
    return false;
  if (a->kind == YDOC_SCALAR)
    return strcmp(a->value, b->value) == 0;
  for (size_t i = 0; i < a->n; i++)
    if ((a->keys && !ydoc_node_equal(a->keys[i], b->keys[i])) ||
        !ydoc_node_equal(a->items[i], b->items[i]))
      return false;
  return true;
}
