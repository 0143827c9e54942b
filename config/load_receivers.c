#include "load.h"

#include "receiver.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The names of the receiver types with (or, for NULL, regardless of) one
 * of their flags, in registry order; *n of them. Caller frees. */
static const char **type_names(bool (*has)(const struct receiver_ops *),
                               size_t *n) {
  size_t cap = 0;
  const char **names;
  while (receiver_types[cap])
    cap++;
  names = xcalloc(cap + 1, sizeof(*names));
  *n = 0;
  for (size_t i = 0; receiver_types[i]; i++)
    if (!has || has(receiver_types[i]))
      names[(*n)++] = receiver_types[i]->name;
  return names;
}

static bool takes_secret(const struct receiver_ops *t) {
  return t->takes_secret;
}

static bool needs_chat_id(const struct receiver_ops *t) {
  return t->needs_chat_id;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Reports a key that only some types take; they are named in alphabetical
 * order. */
static void only_for(struct loader *L, const struct ydoc_node *key,
                     bool (*has)(const struct receiver_ops *),
                     const char *fmt) {
  size_t n;
  const char **names = type_names(has, &n);
  char *list;
  qsort(names, n, sizeof(*names), by_name);
  list = load_join(names, n, " and ");
  load_error(L, key, fmt, list);
  free(list);
  free(names);
}

void load_receiver(struct loader *L, const struct ydoc_node *n) {
  static const char *const keys[] = {"id",       "type",    "url",
                                     "url_file", "secret",  "secret_file",
                                     "chat_id",  "timeout", NULL};
  struct config *cfg = L->cfg;
  struct receiver *r;
  const struct ydoc_node *v;
  bool url_given = false, secret_given = false;

  if (!load_want(L, n, YDOC_MAP, "a receiver"))
    return;
  load_keys(L, n, "a receiver", keys);
  xgrow((void **)&cfg->receivers, &L->capreceivers, cfg->nreceivers + 1,
        sizeof(*cfg->receivers));
  r = &cfg->receivers[cfg->nreceivers++];
  memset(r, 0, sizeof(*r));
  r->pos = load_pos(L, n);
  load_receiver_defaults(r);

  if (!ydoc_get(n, "id"))
    load_error(L, n, "a receiver needs an id");
  else
    load_id(L, ydoc_get(n, "id"), "receiver id", &r->id);

  v = ydoc_get(n, "type");
  if (!v) {
    load_error(L, n, "receiver '%s' needs a type", r->id ? r->id : "?");
  } else {
    char *s = NULL;
    if (load_str(L, v, "type", &s) && !(r->type = receiver_find(s))) {
      size_t count;
      const char **names = type_names(NULL, &count);
      const char *near = load_closest(s, names, count);
      char *list = load_join(names, count, " or ");
      load_error(L, v, "type must be %s, not '%s'%s%s%s", list, s,
                 near ? "; did you mean '" : "", near ? near : "",
                 near ? "'?" : "");
      free(list);
      free(names);
    }
    free(s);
  }

  load_secret(L, n, "url", &r->url, &url_given);
  if (!url_given)
    load_error(L, n, "receiver '%s' needs a url (or url_file)",
               r->id ? r->id : "?");
  else if (r->url)
    load_url(L,
             ydoc_get(n, "url") ? ydoc_get(n, "url") : ydoc_get(n, "url_file"),
             "url", r->url, false);

  load_secret(L, n, "secret", &r->secret, &secret_given);
  if (secret_given && r->type && !r->type->takes_secret)
    only_for(L,
             ydoc_key(n, "secret") ? ydoc_key(n, "secret")
                                   : ydoc_key(n, "secret_file"),
             takes_secret, "only %s receivers sign messages with a secret");

  load_nonempty(L, ydoc_get(n, "chat_id"), "chat_id", &r->chat_id);
  if (r->type && r->type->needs_chat_id && !r->chat_id &&
      !ydoc_get(n, "chat_id"))
    load_error(L, n, "%s receiver '%s' needs a chat_id", r->type->name,
               r->id ? r->id : "?");
  if (r->type && !r->type->needs_chat_id && ydoc_get(n, "chat_id"))
    only_for(L, ydoc_key(n, "chat_id"), needs_chat_id,
             "chat_id applies to %s only");
  load_duration(L, ydoc_get(n, "timeout"), "timeout", 100, false,
                &r->timeout_ms);
}
