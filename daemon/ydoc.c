#include "ydoc.h"

#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Bounds that keep alias expansion ("billion laughs") and deep nesting from
 * exhausting memory or stack. */
#define YDOC_MAX_NODES 200000
#define YDOC_MAX_DEPTH 64
#define YDOC_MAX_FILE (16 * 1024 * 1024)

struct conv {
  yaml_document_t *doc;
  const char *file;
  struct diag *d;
  size_t made;
  bool failed;
};

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

static struct ydoc_node *convert(struct conv *c, yaml_node_t *yn, int depth) {
  struct ydoc_node *n;
  if (!yn)
    return NULL;
  if (depth > YDOC_MAX_DEPTH || ++c->made > YDOC_MAX_NODES) {
    if (!c->failed)
      diag_add(c->d, c->file, (int)yn->start_mark.line + 1,
               (int)yn->start_mark.column + 1,
               depth > YDOC_MAX_DEPTH ? "nesting deeper than %d levels"
                                      : "more than %d nodes (alias expansion?)",
               depth > YDOC_MAX_DEPTH ? YDOC_MAX_DEPTH : YDOC_MAX_NODES);
    c->failed = true;
    return NULL;
  }
  n = xcalloc(1, sizeof(*n));
  n->line = (int)yn->start_mark.line + 1;
  n->col = (int)yn->start_mark.column + 1;
  switch (yn->type) {
  case YAML_SCALAR_NODE:
    n->kind = YDOC_SCALAR;
    n->value =
        xstrndup((const char *)yn->data.scalar.value, yn->data.scalar.length);
    n->quoted = yn->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    if (strlen(n->value) != yn->data.scalar.length) {
      diag_add(c->d, c->file, n->line, n->col, "text contains a NUL character");
      c->failed = true;
    }
    break;
  case YAML_SEQUENCE_NODE: {
    size_t cnt =
        (size_t)(yn->data.sequence.items.top - yn->data.sequence.items.start);
    n->kind = YDOC_SEQ;
    n->items = xcalloc(cnt, sizeof(*n->items));
    for (size_t i = 0; i < cnt && !c->failed; i++) {
      yaml_node_t *child =
          yaml_document_get_node(c->doc, yn->data.sequence.items.start[i]);
      n->items[n->n++] = convert(c, child, depth + 1);
    }
    break;
  }
  case YAML_MAPPING_NODE: {
    size_t cnt =
        (size_t)(yn->data.mapping.pairs.top - yn->data.mapping.pairs.start);
    n->kind = YDOC_MAP;
    n->items = xcalloc(cnt, sizeof(*n->items));
    n->keys = xcalloc(cnt, sizeof(*n->keys));
    for (size_t i = 0; i < cnt && !c->failed; i++) {
      yaml_node_pair_t *p = &yn->data.mapping.pairs.start[i];
      struct ydoc_node *k =
          convert(c, yaml_document_get_node(c->doc, p->key), depth + 1);
      struct ydoc_node *v =
          convert(c, yaml_document_get_node(c->doc, p->value), depth + 1);
      n->keys[n->n] = k;
      n->items[n->n] = v;
      n->n++;
      if (!k || !v)
        break;
      if (k->kind != YDOC_SCALAR) {
        diag_add(c->d, c->file, k->line, k->col, "a key must be plain text");
        c->failed = true;
        break;
      }
      for (size_t j = 0; j + 1 < n->n; j++) {
        if (strcmp(n->keys[j]->value, k->value) == 0) {
          diag_add(c->d, c->file, k->line, k->col,
                   "duplicate key '%s' (first at line %d)", k->value,
                   n->keys[j]->line);
          break;
        }
      }
    }
    break;
  }
  default:
    n->kind = YDOC_SCALAR;
    n->value = xstrdup("");
    break;
  }
  return n;
}

struct ydoc *ydoc_parse(const char *name, const char *text, size_t len,
                        struct diag *d) {
  yaml_parser_t parser;
  yaml_document_t doc;
  struct ydoc *out = NULL;
  bool have_doc = false;
  bool fatal = false;

  if (!yaml_parser_initialize(&parser)) {
    diag_add(d, name, 0, 0, "cannot initialise the YAML parser");
    return NULL;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load(&parser, &doc)) {
    diag_add(d, name, (int)parser.problem_mark.line + 1,
             (int)parser.problem_mark.column + 1, "YAML syntax: %s%s%s",
             parser.problem ? parser.problem : "malformed input",
             parser.context ? " " : "", parser.context ? parser.context : "");
    goto out;
  }
  have_doc = true;
  out = xcalloc(1, sizeof(*out));
  out->file = xstrdup(name);
  {
    struct conv c = {.doc = &doc, .file = name, .d = d};
    out->root = convert(&c, yaml_document_get_root_node(&doc), 0);
    fatal = c.failed;
  }
  /* A second document in the same file is almost certainly a mistake.
   * Duplicate keys and extra documents are reported but the first document
   * is still checked, so that one run shows every error. */
  {
    yaml_document_t next;
    if (!yaml_parser_load(&parser, &next)) {
      fatal = true;
      diag_add(d, name, (int)parser.problem_mark.line + 1,
               (int)parser.problem_mark.column + 1, "YAML syntax: %s%s%s",
               parser.problem ? parser.problem : "malformed input",
               parser.context ? " " : "", parser.context ? parser.context : "");
    } else {
      yaml_node_t *r = yaml_document_get_root_node(&next);
      if (r)
        diag_add(d, name, (int)r->start_mark.line + 1,
                 (int)r->start_mark.column + 1,
                 "only one YAML document per file is allowed");
      yaml_document_delete(&next);
    }
  }
out:
  if (have_doc)
    yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  if (out && fatal) {
    ydoc_free(out);
    out = NULL;
  }
  return out;
}

struct ydoc *ydoc_load(const char *path, struct diag *d) {
  FILE *f = fopen(path, "rb");
  struct strbuf sb = {0};
  struct ydoc *doc;
  char chunk[8192];
  size_t got;

  if (!f) {
    diag_add(d, path, 0, 0, "cannot open: %s", strerror(errno));
    return NULL;
  }
  while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    strbuf_add(&sb, chunk, got);
    if (sb.len > YDOC_MAX_FILE) {
      diag_add(d, path, 0, 0, "larger than %d MiB", YDOC_MAX_FILE >> 20);
      fclose(f);
      strbuf_free(&sb);
      return NULL;
    }
  }
  if (ferror(f)) {
    diag_add(d, path, 0, 0, "cannot read: %s", strerror(errno));
    fclose(f);
    strbuf_free(&sb);
    return NULL;
  }
  fclose(f);
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
