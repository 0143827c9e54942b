#include "config_load.h"

#include "load.h"

#include "file.h"
#include "util.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>

static const char *intern_file(struct config *cfg, const char *file) {
  for (size_t i = 0; i < cfg->nfiles; i++)
    if (strcmp(cfg->files[i], file) == 0)
      return cfg->files[i];
  cfg->files = xrealloc(cfg->files, (cfg->nfiles + 1) * sizeof(*cfg->files));
  cfg->files[cfg->nfiles] = xstrdup(file);
  return cfg->files[cfg->nfiles++];
}

static void load_list(struct loader *L, const struct ydoc_node *n,
                      const char *what,
                      void (*each)(struct loader *, const struct ydoc_node *)) {
  if (!n || ydoc_is_null(n))
    return;
  if (!load_want(L, n, YDOC_SEQ, what))
    return;
  for (size_t i = 0; i < n->n; i++) {
    each(L, n->items[i]);
    /* Converted: nothing refers to the item's nodes any more. */
    ydoc_prune(n, i);
  }
}

static const char *const top_keys[] = {
    "timezone",  "redis",    "state_dir", "listen", "feeds",
    "series",    "targets",  "receivers", "alerts", "include",
    "log_level", "evaluate", "cluster",   NULL};
static const char *const dropin_keys[] = {"feeds", "series", "targets",
                                          "receivers", NULL};

static void load_sections(struct loader *L, const struct ydoc_node *root) {
  load_list(L, ydoc_get(root, "feeds"), "feeds", load_feed);
  load_list(L, ydoc_get(root, "targets"), "targets", load_target);
  load_list(L, ydoc_get(root, "receivers"), "receivers", load_receiver);
}

static void load_includes(struct loader *L, const struct ydoc_node *root,
                          const char *mainfile) {
  const struct ydoc_node *inc = ydoc_get(root, "include");
  char **globs = NULL;
  size_t nglobs = 0;
  if (!inc) {
    globs = xcalloc(1, sizeof(*globs));
    globs[nglobs++] = xstrdup("conf.d/*.yaml");
  } else if (inc->kind == YDOC_SCALAR) {
    globs = xcalloc(1, sizeof(*globs));
    if (load_nonempty(L, inc, "include", &globs[0]))
      nglobs = 1;
    else
      free(globs[0]); /* an empty string, already reported */
  } else if (load_want(L, inc, YDOC_SEQ, "include")) {
    globs = xcalloc(inc->n ? inc->n : 1, sizeof(*globs));
    for (size_t i = 0; i < inc->n; i++) {
      char *s = NULL;
      if (load_nonempty(L, inc->items[i], "include", &s))
        globs[nglobs++] = s;
      else
        free(s);
    }
  }
  for (size_t i = 0; i < nglobs; i++) {
    char *pattern = load_path(L, globs[i], false);
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc == 0) {
      for (size_t j = 0; j < g.gl_pathc; j++) {
        const char *kind = NULL;
        struct ydoc *doc;
        if (strcmp(g.gl_pathv[j], mainfile) == 0)
          continue;
        /* A FIFO would block the load (and a reload's worker) forever:
         * refused by name here, and again on the opened file by
         * ydoc_load. */
        if (file_check(g.gl_pathv[j], &kind) == -ENOTSUP) {
          if (inc)
            diag_add(L->d, L->file, inc->line, inc->col,
                     "include '%s': '%s' is %s, not a regular file", globs[i],
                     g.gl_pathv[j], kind);
          else
            diag_add(L->d, g.gl_pathv[j], 0, 0,
                     "is %s, not a regular file (a drop-in of %s)", kind,
                     globs[i]);
          continue;
        }
        doc = ydoc_load(g.gl_pathv[j], L->d);
        if (!doc)
          continue;
        L->docs = xrealloc(L->docs, (L->ndocs + 1) * sizeof(*L->docs));
        L->docs[L->ndocs++] = doc;
      }
      globfree(&g);
    } else if (rc != GLOB_NOMATCH) {
      diag_add(L->d, L->file, inc ? inc->line : 0, inc ? inc->col : 0,
               "include '%s': cannot read the directory", globs[i]);
    }
    free(pattern);
    free(globs[i]);
  }
  free(globs);
}

/* Loads the configuration whose main file has already been parsed (or not:
 * main_doc NULL after a read or syntax error). Takes main_doc. */
static struct config *load_from(const char *path, struct ydoc *main_doc,
                                struct diag *d, size_t errors_before) {
  struct loader L = {0};
  struct config *cfg = xcalloc(1, sizeof(*cfg));

  L.cfg = cfg;
  L.d = d;
  cfg->path = xstrdup(path);
  load_defaults(cfg);
  {
    const char *slash = strrchr(path, '/');
    L.dir = slash ? xstrndup(path, (size_t)(slash - path + (slash == path)))
                  : xstrdup(".");
  }
  if (!main_doc)
    goto out;
  L.file = intern_file(cfg, path);
  if (main_doc->root && !ydoc_is_null(main_doc->root) &&
      !load_want(&L, main_doc->root, YDOC_MAP, "the configuration"))
    goto out;
  L.docs = xcalloc(1, sizeof(*L.docs));
  L.docs[L.ndocs++] = main_doc;
  main_doc = NULL;
  if (L.docs[0]->root && L.docs[0]->root->kind == YDOC_MAP) {
    load_keys(&L, L.docs[0]->root, "the configuration", top_keys);
    load_top(&L, L.docs[0]->root);
    load_includes(&L, L.docs[0]->root, path);
  } else {
    load_includes(&L, NULL, path);
  }
  /* Series descriptions first: feed series merge them. */
  for (size_t i = 0; i < L.ndocs; i++) {
    const struct ydoc_node *root = L.docs[i]->root;
    if (!root || ydoc_is_null(root))
      continue;
    L.file = intern_file(cfg, L.docs[i]->file);
    if (!load_want(&L, root, YDOC_MAP, "a drop-in"))
      continue;
    if (i > 0)
      load_keys(&L, root, "a drop-in (main-file keys belong in the main file)",
                dropin_keys);
    load_series_section(&L, ydoc_get(root, "series"));
  }
  for (size_t i = 0; i < L.ndocs; i++) {
    const struct ydoc_node *root = L.docs[i]->root;
    if (!root || root->kind != YDOC_MAP)
      continue;
    L.file = intern_file(cfg, L.docs[i]->file);
    load_sections(&L, root);
  }
  /* Nothing points into the feed array yet: give back the growth slack. */
  if (cfg->nfeeds && L.capfeeds > cfg->nfeeds) {
    cfg->feeds = xrealloc(cfg->feeds, cfg->nfeeds * sizeof(*cfg->feeds));
    L.capfeeds = cfg->nfeeds;
  }
  load_cross_check(&L);

out:
  ydoc_free(main_doc);
  for (size_t i = 0; i < L.ndocs; i++)
    ydoc_free(L.docs[i]);
  free(L.docs);
  for (size_t i = 0; i < L.nmetas; i++) {
    free(L.metas[i].id);
    load_meta_free(&L.metas[i].meta);
  }
  free(L.metas);
  strmap_free(&L.meta_index);
  free(L.feed_keys);
  free(L.series_keys);
  free(L.dir);
  if (d->n > errors_before) {
    diag_sort(d);
    config_free(cfg);
    return NULL;
  }
  return cfg;
}

struct config *config_load(const char *path, struct diag *d) {
  size_t before = d->n;
  return load_from(path, ydoc_load(path, d), d, before);
}

struct config *config_load_text(const char *name, const char *text, size_t len,
                                struct diag *d) {
  size_t before = d->n;
  return load_from(name, ydoc_parse(name, text, len, d), d, before);
}
