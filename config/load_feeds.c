#include "load.h"

#include "clock.h"
#include "feed_format.h"
#include "file.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void load_headers(struct loader *L, struct feed *f,
                         const struct ydoc_node *n) {
  if (!load_want(L, n, YDOC_MAP, "headers"))
    return;
  f->headers = xcalloc(n->n, sizeof(*f->headers));
  for (size_t i = 0; i < n->n; i++) {
    struct config_kv *kv = &f->headers[f->nheaders];
    const char *name = n->keys[i]->value;
    bool ok = *name != '\0';
    for (const char *p = name; *p; p++)
      if (!(isalnum((unsigned char)*p) || strchr("!#$%&'*+-.^_`|~", *p)))
        ok = false;
    if (!ok) {
      load_error(L, n->keys[i], "'%s' is not a valid HTTP header name", name);
      continue;
    }
    kv->key = xstrdup(name);
    kv->value = NULL;
    if (!load_str(L, n->items[i], "header value", &kv->value)) {
      free(kv->key);
      continue;
    }
    if (strpbrk(kv->value, "\r\n")) {
      load_error(L, n->items[i], "header %s: value contains a line break",
                 name);
      free(kv->key);
      free(kv->value);
      continue;
    }
    f->nheaders++;
  }
}

static void load_auth(struct loader *L, struct feed *f,
                      const struct ydoc_node *n) {
  static const char *const keys[] = {"basic", "bearer", "bearer_file", NULL};
  static const char *const bkeys[] = {"user", "password", "password_file",
                                      NULL};
  const struct ydoc_node *b;
  bool bearer = false;
  if (!load_want(L, n, YDOC_MAP, "auth"))
    return;
  load_keys(L, n, "auth", keys);
  load_secret(L, n, "bearer", &f->bearer_token, &bearer);
  b = ydoc_get(n, "basic");
  if (b && bearer)
    load_error(L, ydoc_key(n, "basic"), "give basic or bearer auth, not both");
  if (b && load_want(L, b, YDOC_MAP, "basic")) {
    bool pw = false;
    load_keys(L, b, "basic auth", bkeys);
    if (!ydoc_get(b, "user"))
      load_error(L, b, "basic auth needs a user");
    load_str(L, ydoc_get(b, "user"), "user", &f->basic_user);
    load_secret(L, b, "password", &f->basic_password, &pw);
    if (!pw)
      load_error(L, b, "basic auth needs password or password_file");
  }
  for (size_t i = 0; i < f->nheaders; i++)
    if (strcasecmp(f->headers[i].key, "Authorization") == 0 && (b || bearer))
      load_error(L, n, "auth and an Authorization header are both given");
}

static void load_file_opt(struct loader *L, const struct ydoc_node *n,
                          const char *what, char **out) {
  char *name = NULL;
  if (!n || !load_nonempty(L, n, what, &name)) {
    free(name);
    return;
  }
  const char *kind = NULL;
  int rc;
  free(*out);
  *out = load_path(L, name, true);
  /* curl opens it on the loop: a FIFO there would block every feed. */
  rc = file_check(*out, &kind);
  if (rc == 0 && access(*out, R_OK) != 0)
    rc = -errno;
  if (rc == -ENOTSUP)
    load_error(L, n, "%s: '%s' is %s, not a regular file", what, name, kind);
  else if (rc < 0)
    load_error(L, n, "%s: cannot read '%s': %s", what, name, strerror(-rc));
  free(name);
}

static void load_tls(struct loader *L, struct feed *f,
                     const struct ydoc_node *n) {
  static const char *const keys[] = {"verify", "ca_file", "cert_file",
                                     "key_file", NULL};
  if (!load_want(L, n, YDOC_MAP, "tls"))
    return;
  load_keys(L, n, "tls", keys);
  load_bool(L, ydoc_get(n, "verify"), "verify", &f->tls_verify);
  load_file_opt(L, ydoc_get(n, "ca_file"), "ca_file", &f->ca_file);
  load_file_opt(L, ydoc_get(n, "cert_file"), "cert_file", &f->cert_file);
  load_file_opt(L, ydoc_get(n, "key_file"), "key_file", &f->key_file);
  if (!f->tls_verify && f->ca_file)
    load_error(L, ydoc_get(n, "ca_file"),
               "ca_file has no effect with verify: false; drop one of them");
  if ((f->cert_file != NULL) != (f->key_file != NULL))
    load_error(L, n, "a client certificate needs both cert_file and key_file");
}

void load_feed(struct loader *L, const struct ydoc_node *n) {
  struct config *cfg = L->cfg;
  struct feed *f;
  const struct ydoc_node *v;
  bool url_given = false;

  if (!load_want(L, n, YDOC_MAP, "a feed"))
    return;
  load_keys(L, n, "a feed", load_feed_keys(L));
  xgrow((void **)&cfg->feeds, &L->capfeeds, cfg->nfeeds + 1,
        sizeof(*cfg->feeds));
  f = &cfg->feeds[cfg->nfeeds++];
  memset(f, 0, sizeof(*f));
  f->pos = load_pos(L, n);
  load_feed_defaults(f);

  if (!ydoc_get(n, "id"))
    load_error(L, n, "a feed needs an id");
  else
    load_id(L, ydoc_get(n, "id"), "feed id", &f->id);

  load_secret(L, n, "url", &f->url, &url_given);
  if (!url_given)
    load_error(L, n, "feed '%s' needs a url (or url_file)",
               f->id ? f->id : "?");
  else if (f->url) {
    v = ydoc_get(n, "url") ? ydoc_get(n, "url") : ydoc_get(n, "url_file");
    load_url(L, v, "url", f->url, true);
  }

  load_duration(L, ydoc_get(n, "every"), "every", MS_PER_SECOND, false,
                &f->every_ms);
  f->timeout_ms = load_feed_timeout(f->every_ms);
  v = ydoc_get(n, "timeout");
  if (v && load_duration(L, v, "timeout", 100, false, &f->timeout_ms) &&
      f->timeout_ms > f->every_ms)
    load_error(L, v, "timeout must not be longer than every");
  load_size(L, ydoc_get(n, "max_body"), "max_body", &f->max_body);

  v = ydoc_get(n, "format");
  if (v) {
    char *s = NULL;
    if (load_str(L, v, "format", &s) && !(f->format = feed_format_find(s))) {
      const char *names[16];
      size_t count = 0;
      const char *near;
      char *list;
      while (feed_formats[count] && count < ARRAY_SIZE(names)) {
        names[count] = feed_formats[count]->name;
        count++;
      }
      near = load_closest(s, names, count);
      list = load_join(names, count, " or ");
      load_error(L, v, "format must be %s, not '%s'%s%s%s", list, s,
                 near ? "; did you mean '" : "", near ? near : "",
                 near ? "'?" : "");
      free(list);
    }
    free(s);
    /* An unknown format was reported: the rest is checked as the
     * default's. */
    if (!f->format)
      f->format = feed_formats[0];
  }

  v = ydoc_get(n, "headers");
  if (v)
    load_headers(L, f, v);
  v = ydoc_get(n, "auth");
  if (v)
    load_auth(L, f, v);
  v = ydoc_get(n, "tls");
  if (v)
    load_tls(L, f, v);

  load_feed_options(L, f, n);

  v = ydoc_get(n, "time");
  if (v && load_nonempty(L, v, "time", &f->time)) {
    f->time_pos = load_text_pos(L, v, f->time);
    if (!f->format->takes_time)
      load_error(L, ydoc_key(n, "time"),
                 "%s feeds carry no time field (prometheus and openmetrics "
                 "use the sample timestamp, sdmx-json its TIME_PERIOD; "
                 "otherwise the fetch time is used)",
                 f->format->name);
  }
  v = ydoc_get(n, "time_format");
  if (v) {
    char *s = NULL;
    if (load_nonempty(L, v, "time_format", &s)) {
      if (strcmp(s, "iso8601") == 0)
        f->time_format = TIMEFMT_ISO8601;
      else if (strcmp(s, "epoch") == 0)
        f->time_format = TIMEFMT_EPOCH;
      else if (strcmp(s, "epoch_ms") == 0)
        f->time_format = TIMEFMT_EPOCH_MS;
      else if (strchr(s, '%')) {
        char why[256];
        if (timefmt_pattern_check(s, why, sizeof(why)) < 0)
          load_error(L, v, "time_format \"%s\": %s", s, why);
        f->time_format = TIMEFMT_STRPTIME;
        f->time_pattern = s;
        s = NULL;
      } else
        load_error(L, v,
                   "time_format must be iso8601, epoch, epoch_ms or a strptime "
                   "pattern such as \"%%Y-%%m\", not '%s'",
                   s);
      if (!f->time)
        load_error(L, ydoc_key(n, "time_format"),
                   "time_format without time: say where the time is");
    }
    free(s);
  }

  v = ydoc_get(n, "not_after");
  if (v) {
    char *s = NULL;
    if (load_nonempty(L, v, "not_after", &s)) {
      if (strcmp(s, "now") == 0)
        f->not_after_now = true;
      else
        load_error(L, v,
                   "not_after must be now (observations dated after the "
                   "fetch are dropped), not '%s'",
                   s);
    }
    free(s);
  }

  v = ydoc_get(n, "series");
  if (!v)
    load_error(L, n, "feed '%s' needs series: (what to extract)",
               f->id ? f->id : "?");
  else
    load_feed_series(L, f, v);
  load_format_check(L, f);
}
