/* A YAML file loaded into a small tree whose every node knows its line and
 * column, so that semantic checks can cite the offending value. libyaml does
 * the parsing; this module builds the tree from its events (aliases
 * expanded, bounded) and reports syntax errors as diagnostics. */
#ifndef INDICATORD_YDOC_H
#define INDICATORD_YDOC_H

#include "diag.h"

#include <stdbool.h>
#include <stddef.h>

enum ydoc_kind { YDOC_SCALAR, YDOC_SEQ, YDOC_MAP };

struct ydoc_node {
  enum ydoc_kind kind;
  int line; /* 1-based */
  int col;  /* 1-based */
  /* Scalars: the text (NUL-terminated) and whether it was quoted, so that
   * "off" and off, or "" and null, can be told apart. */
  char *value;
  bool quoted;
  /* Sequences: items[0..n). Maps: keys[i] -> items[i]. */
  struct ydoc_node **items;
  struct ydoc_node **keys;
  size_t n;
};

struct ydoc {
  char *file;             /* owned; the name used in diagnostics */
  struct ydoc_node *root; /* NULL for an empty file */
};

/* Loads path. Returns NULL after adding diagnostics to d when the file cannot
 * be read or is not well-formed YAML (duplicate keys included). */
struct ydoc *ydoc_load(const char *path, struct diag *d);
/* Parses text held in memory; name is used in diagnostics. */
struct ydoc *ydoc_parse(const char *name, const char *text, size_t len,
                        struct diag *d);
void ydoc_free(struct ydoc *doc);
/* Frees item i of a sequence once the caller has read it, so that a large
 * file's tree shrinks while it is converted; the slot becomes NULL. */
void ydoc_prune(const struct ydoc_node *seq, size_t i);

/* Turns a scalar's text into what is kept (as ${ENV} expansion does);
 * returns false, having reported why, to give up. */
typedef bool (*ydoc_text_fn)(void *ctx, const struct ydoc_node *scalar,
                             char **out);
/* A detached copy of n and everything under it, positions kept; every
 * scalar text (map keys included) goes through text (NULL: as it is).
 * NULL when text gave up on any of them (all are tried). */
struct ydoc_node *ydoc_copy(const struct ydoc_node *n, ydoc_text_fn text,
                            void *ctx);
/* An empty map node at line:col; ydoc_map_add appends key (copied) ->
 * value (taken over). */
struct ydoc_node *ydoc_map_new(int line, int col);
void ydoc_map_add(struct ydoc_node *map, const struct ydoc_node *key,
                  struct ydoc_node *value);
/* Frees a detached node (a copy) and everything under it. */
void ydoc_node_free(struct ydoc_node *n);
/* The same kinds, texts and shape (positions and quoting aside). */
bool ydoc_node_equal(const struct ydoc_node *a, const struct ydoc_node *b);

/* The value for key in a map node, or NULL. */
const struct ydoc_node *ydoc_get(const struct ydoc_node *map, const char *key);
/* The key node for key in a map node, or NULL. */
const struct ydoc_node *ydoc_key(const struct ydoc_node *map, const char *key);
/* A plain (unquoted) null: "~", "null", "Null", "NULL" or empty. */
bool ydoc_is_null(const struct ydoc_node *node);
const char *ydoc_kind_name(enum ydoc_kind kind);

#endif
