/* The configuration loader's internals (private to config/): the state of
 * one load, the value readers every section uses (each reports its own
 * problems as file:line:col and never exits), and the sections. */
#ifndef INDICATORD_LOAD_H
#define INDICATORD_LOAD_H

#include "config.h"
#include "strmap.h"
#include "ydoc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Top-level series: metadata, remembered with the keys it set so that a
 * feed's series object giving the same key can be reported. */
struct meta_entry {
  char *id;
  struct series_meta meta;
  unsigned set; /* bit per META_* key */
  struct config_pos pos;
  bool used;
};

enum {
  META_TITLE = 1u << 0,
  META_UNIT = 1u << 1,
  META_KIND = 1u << 2,
  META_MIN = 1u << 3,
  META_MAX = 1u << 4,
  META_AT = 1u << 5,
  META_RETENTION = 1u << 6,
};

struct loader {
  struct config *cfg;
  struct diag *d;
  const char *file; /* interned in cfg->files */
  char *dir;        /* directory of the main file */
  struct meta_entry *metas;
  size_t nmetas, capmetas;
  struct strmap meta_index; /* series id -> 1 + position in metas */
  size_t capfeeds, captargets, capreceivers;
  struct ydoc **docs;
  size_t ndocs;
  const char **feed_keys, **series_keys; /* made from the format table */
};

/* ---- reading values (load_values.c) ---- */

/* Reports a problem at n (the whole file when n is NULL). */
void load_error(struct loader *L, const struct ydoc_node *n, const char *fmt,
                ...) __attribute__((format(printf, 3, 4)));
struct config_pos load_pos(struct loader *L, const struct ydoc_node *n);
/* The node as written, moved to the offending character when the value is
 * one line and was not changed by ${} expansion. */
struct ydoc_node load_at_offset(const struct ydoc_node *n, const char *text,
                                size_t at);
/* The candidate nearest to word, or NULL when none is near ("did you
 * mean"). */
const char *load_closest(const char *word, const char *const *cands, size_t n);
/* names as people list them: "a, b or c" with last " or ". Caller
 * frees. */
char *load_join(const char *const *names, size_t n, const char *last);
/* Reports every key of map not in allowed (NULL-terminated). */
void load_keys(struct loader *L, const struct ydoc_node *map, const char *where,
               const char *const *allowed);
/* Whether n is of kind; reports it when not. */
bool load_want(struct loader *L, const struct ydoc_node *n, enum ydoc_kind kind,
               const char *what);

/* Each reader takes the value node (NULL: not given, *out untouched) and
 * returns false after reporting a problem. Text is ${ENV}-expanded. */
bool load_str(struct loader *L, const struct ydoc_node *n, const char *what,
              char **out);
bool load_nonempty(struct loader *L, const struct ydoc_node *n,
                   const char *what, char **out);
bool load_bool(struct loader *L, const struct ydoc_node *n, const char *what,
               bool *out);
bool load_number(struct loader *L, const struct ydoc_node *n, const char *what,
                 double *out);
bool load_int(struct loader *L, const struct ydoc_node *n, const char *what,
              long min, long max, int *out);
bool load_duration(struct loader *L, const struct ydoc_node *n,
                   const char *what, int64_t min_ms, bool allow_off,
                   int64_t *out);
/* Sizes: plain bytes or with B, KiB, MiB, GiB, kB, MB, GB. */
bool load_size(struct loader *L, const struct ydoc_node *n, const char *what,
               size_t *out);
bool load_id(struct loader *L, const struct ydoc_node *n, const char *what,
             char **out);
/* key or key_file (never both) in map. *given tells whether either was
 * present. */
bool load_secret(struct loader *L, const struct ydoc_node *map, const char *key,
                 char **out, bool *given);
/* Checks an http(s) (or file) URL. Secret URLs are never echoed. */
bool load_url(struct loader *L, const struct ydoc_node *n, const char *what,
              const char *url, bool allow_file);
/* Where text (read from scalar n) was written: with text_col when offsets
 * into text are columns. */
struct config_pos load_text_pos(struct loader *L, const struct ydoc_node *n,
                                const char *text);
/* A detached copy of n with every scalar ${ENV}-expanded; NULL after
 * reporting a problem. */
struct ydoc_node *load_copy(struct loader *L, const struct ydoc_node *n);
/* A relative file name: $CREDENTIALS_DIRECTORY first when creds, then
 * beside the main config file. Caller frees. */
char *load_path(struct loader *L, const char *name, bool creds);

/* ---- sections ---- */

/* Defaults (load_defaults.c): set before the file is read. */
void load_defaults(struct config *cfg);
void load_feed_defaults(struct feed *f);
void load_series_defaults(struct feed_series *s);
/* A feed's timeout unless given: every, at most 30 s. */
int64_t load_feed_timeout(int64_t every_ms);
void load_target_defaults(struct target *t);
void load_receiver_defaults(struct receiver *r);

void load_top(struct loader *L, const struct ydoc_node *root); /* load_top.c */
/* HOST:PORT or [V6]:PORT; false when it is not one (host may be empty). */
bool load_hostport(const char *s, char **host, int *port);
/* redis.sentinel and the cluster section (load_cluster.c). */
void load_sentinel(struct loader *L, const struct ydoc_node *redis);
void load_cluster(struct loader *L, const struct ydoc_node *root);
/* Series descriptions and a feed's series (load_series.c). */
void load_series_section(struct loader *L, const struct ydoc_node *n);
/* The keys a feed may have: its own and every format's. */
const char *const *load_feed_keys(struct loader *L);
/* The format keys of a feed (map) into f->options; f->format is set. */
void load_feed_options(struct loader *L, struct feed *f,
                       const struct ydoc_node *map);
void load_feed_series(struct loader *L, struct feed *f,
                      const struct ydoc_node *n);
/* Lets f's format check its settings. */
void load_format_check(struct loader *L, const struct feed *f);
void load_feed(struct loader *L, const struct ydoc_node *n); /* load_feeds.c */
struct meta_entry *load_meta_find(struct loader *L, const char *id);
void load_meta_free(struct series_meta *m);
void load_target(struct loader *L,
                 const struct ydoc_node *n); /* load_targets.c */
void load_receiver(struct loader *L,
                   const struct ydoc_node *n); /* load_receivers.c */
/* Ids, references and rules that span sections (load_check.c). */
void load_cross_check(struct loader *L);

#endif
