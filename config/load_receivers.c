#include "load.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char *const receiver_types[] = {
    "slack", "discord",  "teams",   "feishu",       "dingtalk",
    "wecom", "telegram", "webhook", "alertmanager", NULL};

void load_receiver(struct loader *L, const struct ydoc_node *n) {
  static const char *const keys[] = {"id",       "type",    "url",
                                     "url_file", "secret",  "secret_file",
                                     "chat_id",  "timeout", NULL};
  struct config *cfg = L->cfg;
  struct receiver *r;
  const struct ydoc_node *v;
  bool url_given = false, secret_given = false, type_ok = false;

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
    if (load_str(L, v, "type", &s)) {
      for (int i = 0; receiver_types[i]; i++)
        if (strcmp(s, receiver_types[i]) == 0) {
          r->type = (enum receiver_type)i;
          type_ok = true;
        }
      if (!type_ok) {
        const char *near = load_closest(s, receiver_types, 9);
        load_error(
            L, v,
            "type must be slack, discord, teams, feishu, dingtalk, wecom, "
            "telegram, webhook or alertmanager, not '%s'%s%s%s",
            s, near ? "; did you mean '" : "", near ? near : "",
            near ? "'?" : "");
      }
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
  if (secret_given && type_ok && r->type != RECV_DINGTALK &&
      r->type != RECV_FEISHU)
    load_error(
        L,
        ydoc_key(n, "secret") ? ydoc_key(n, "secret")
                              : ydoc_key(n, "secret_file"),
        "only dingtalk and feishu receivers sign messages with a secret");

  load_nonempty(L, ydoc_get(n, "chat_id"), "chat_id", &r->chat_id);
  if (type_ok && r->type == RECV_TELEGRAM && !r->chat_id &&
      !ydoc_get(n, "chat_id"))
    load_error(L, n, "telegram receiver '%s' needs a chat_id",
               r->id ? r->id : "?");
  if (type_ok && r->type != RECV_TELEGRAM && ydoc_get(n, "chat_id"))
    load_error(L, ydoc_key(n, "chat_id"), "chat_id applies to telegram only");
  load_duration(L, ydoc_get(n, "timeout"), "timeout", 100, false,
                &r->timeout_ms);
}
