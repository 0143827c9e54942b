#include "config.h"

#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void free_meta(struct series_meta *m) {
  free(m->title);
  free(m->unit);
}

static void free_kvs(struct config_kv *kv, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(kv[i].key);
    free(kv[i].value);
  }
  free(kv);
}

void config_free(struct config *cfg) {
  if (!cfg)
    return;
  for (size_t i = 0; i < cfg->nfeeds; i++) {
    struct feed *f = &cfg->feeds[i];
    for (size_t j = 0; j < f->nseries; j++) {
      free(f->series[j].id);
      free(f->series[j].path);
      ydoc_node_free(f->series[j].options);
      free_meta(&f->series[j].meta);
    }
    free(f->series);
    free(f->id);
    free(f->url);
    free_kvs(f->headers, f->nheaders);
    free(f->basic_user);
    free(f->basic_password);
    free(f->bearer_token);
    free(f->ca_file);
    free(f->cert_file);
    free(f->key_file);
    free(f->time);
    free(f->time_pattern);
    ydoc_node_free(f->options);
  }
  free(cfg->feeds);
  for (size_t i = 0; i < cfg->ntargets; i++) {
    struct target *t = &cfg->targets[i];
    free(t->id);
    free(t->title);
    free(t->series);
    free(t->unit);
    free(t->group);
    free(t->source);
    for (size_t j = 0; j < t->nnotify; j++)
      free(t->notify[j]);
    free(t->notify);
    free(t->notify_pos);
  }
  free(cfg->targets);
  for (size_t i = 0; i < cfg->nreceivers; i++) {
    struct receiver *r = &cfg->receivers[i];
    free(r->id);
    free(r->url);
    free(r->secret);
    free(r->chat_id);
  }
  free(cfg->receivers);
  for (size_t i = 0; i < cfg->nfiles; i++)
    free(cfg->files[i]);
  free(cfg->files);
  free(cfg->path);
  free(cfg->timezone);
  free(cfg->redis.url);
  free(cfg->redis.user);
  free(cfg->redis.password);
  free(cfg->redis.prefix);
  free(cfg->redis.host);
  for (size_t i = 0; i < cfg->redis.nsentinels; i++)
    free(cfg->redis.sentinels[i].host);
  free(cfg->redis.sentinels);
  free(cfg->redis.sentinel_master);
  free(cfg->redis.sentinel_password);
  free(cfg->cluster.instance);
  free(cfg->state_dir);
  free(cfg->listen_host);
  free(cfg->alerts.keyword);
  free(cfg->alerts.dashboard_url);
  free(cfg);
}

static bool str_eq(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool kvs_eq(const struct config_kv *a, size_t na,
                   const struct config_kv *b, size_t nb) {
  if (na != nb)
    return false;
  for (size_t i = 0; i < na; i++)
    if (!str_eq(a[i].key, b[i].key) || !str_eq(a[i].value, b[i].value))
      return false;
  return true;
}

static bool meta_eq(const struct series_meta *a, const struct series_meta *b) {
  return str_eq(a->title, b->title) && str_eq(a->unit, b->unit) &&
         a->kind == b->kind && a->at == b->at && a->has_min == b->has_min &&
         a->has_max == b->has_max && (!a->has_min || a->min == b->min) &&
         (!a->has_max || a->max == b->max) &&
         a->retention_ms == b->retention_ms;
}

bool config_feed_equal(const struct feed *a, const struct feed *b) {
  if (!str_eq(a->id, b->id) || !str_eq(a->url, b->url) ||
      a->every_ms != b->every_ms || a->timeout_ms != b->timeout_ms ||
      a->max_body != b->max_body || a->format != b->format ||
      !kvs_eq(a->headers, a->nheaders, b->headers, b->nheaders) ||
      !str_eq(a->basic_user, b->basic_user) ||
      !str_eq(a->basic_password, b->basic_password) ||
      !str_eq(a->bearer_token, b->bearer_token) ||
      a->tls_verify != b->tls_verify || !str_eq(a->ca_file, b->ca_file) ||
      !str_eq(a->cert_file, b->cert_file) ||
      !str_eq(a->key_file, b->key_file) || !str_eq(a->time, b->time) ||
      a->time_format != b->time_format ||
      !str_eq(a->time_pattern, b->time_pattern) ||
      !ydoc_node_equal(a->options, b->options) ||
      a->not_after_now != b->not_after_now || a->nseries != b->nseries)
    return false;
  for (size_t i = 0; i < a->nseries; i++) {
    const struct feed_series *x = &a->series[i], *y = &b->series[i];
    if (!str_eq(x->id, y->id) || !str_eq(x->path, y->path) ||
        !ydoc_node_equal(x->options, y->options) ||
        !meta_eq(&x->meta, &y->meta) || x->scale != y->scale ||
        x->scale_auto != y->scale_auto)
      return false;
  }
  return true;
}

const struct feed *config_feed(const struct config *cfg, const char *id) {
  for (size_t i = 0; i < cfg->nfeeds; i++)
    if (cfg->feeds[i].id && strcmp(cfg->feeds[i].id, id) == 0)
      return &cfg->feeds[i];
  return NULL;
}

const struct feed_series *config_series(const struct config *cfg,
                                        const char *id,
                                        const struct feed **feed) {
  for (size_t i = 0; i < cfg->nfeeds; i++)
    for (size_t j = 0; j < cfg->feeds[i].nseries; j++)
      if (strcmp(cfg->feeds[i].series[j].id, id) == 0) {
        if (feed)
          *feed = &cfg->feeds[i];
        return &cfg->feeds[i].series[j];
      }
  return NULL;
}

const struct receiver *config_receiver(const struct config *cfg,
                                       const char *id) {
  for (size_t i = 0; i < cfg->nreceivers; i++)
    if (cfg->receivers[i].id && strcmp(cfg->receivers[i].id, id) == 0)
      return &cfg->receivers[i];
  return NULL;
}

const char *config_kind_name(enum series_kind k) {
  static const char *const kinds[] = {"instant", "cumulative", "increment"};
  return kinds[k];
}

char *config_redact_url(const char *url) {
  struct strbuf sb = {0};
  const char *scheme_end = strstr(url, "://");
  const char *p, *host_end, *at;
  if (!scheme_end)
    return xstrdup("REDACTED");
  strbuf_add(&sb, url, (size_t)(scheme_end + 3 - url));
  p = scheme_end + 3;
  host_end = p + strcspn(p, "/?#");
  at = memchr(p, '@', (size_t)(host_end - p));
  if (at)
    p = at + 1; /* drop user:password@ */
  strbuf_add(&sb, p, (size_t)(host_end - p));
  p = host_end;
  /* Path segments that look like tokens (long, or mixed letters and digits
   * such as Slack's T.../B.../secret) are replaced. */
  while (*p == '/') {
    size_t len = strcspn(p + 1, "/?#");
    bool digit = false, alpha = false;
    for (size_t i = 0; i < len; i++) {
      if (isdigit((unsigned char)p[1 + i]))
        digit = true;
      else if (isalpha((unsigned char)p[1 + i]))
        alpha = true;
    }
    strbuf_adds(&sb, "/");
    if (len >= 16 || (len >= 8 && digit && alpha))
      strbuf_adds(&sb, "REDACTED");
    else
      strbuf_add(&sb, p + 1, len);
    p += 1 + len;
  }
  if (*p == '?')
    strbuf_adds(&sb, "?REDACTED");
  return strbuf_take(&sb);
}
