#include "config.h"

#include "clock.h"
#include "duration.h"
#include "feed_prom.h"
#include "jsonpath.h"
#include "strmap.h"
#include "tz.h"
#include "util.h"
#include "ydoc.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET_FILE_MAX (64 * 1024)
#define DEFAULT_MAX_BODY (4u * 1024 * 1024)
#define ID_MAX 128

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

static const char *const meta_keys[] = {"title", "unit", "kind",      "min",
                                        "max",   "at",   "retention", NULL};

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
};

static struct meta_entry *meta_find(struct loader *L, const char *id) {
  uintptr_t at = (uintptr_t)strmap_get(&L->meta_index, id);
  return at ? &L->metas[at - 1] : NULL;
}

static void err(struct loader *L, const struct ydoc_node *n, const char *fmt,
                ...) __attribute__((format(printf, 3, 4)));

static void err(struct loader *L, const struct ydoc_node *n, const char *fmt,
                ...) {
  struct strbuf sb = {0};
  va_list ap;
  va_start(ap, fmt);
  strbuf_vaddf(&sb, fmt, ap);
  va_end(ap);
  diag_add(L->d, L->file, n ? n->line : 0, n ? n->col : 0, "%s", sb.buf);
  strbuf_free(&sb);
}

static struct config_pos pos_of(struct loader *L, const struct ydoc_node *n) {
  struct config_pos p = {L->file, n ? n->line : 0, n ? n->col : 0};
  return p;
}

static const char *intern_file(struct config *cfg, const char *file) {
  for (size_t i = 0; i < cfg->nfiles; i++)
    if (strcmp(cfg->files[i], file) == 0)
      return cfg->files[i];
  cfg->files = xrealloc(cfg->files, (cfg->nfiles + 1) * sizeof(*cfg->files));
  cfg->files[cfg->nfiles] = xstrdup(file);
  return cfg->files[cfg->nfiles++];
}

/* ---- generic checks ---------------------------------------------------- */

static const char *closest(const char *word, const char *const *cands,
                           size_t n) {
  const char *best = NULL;
  int best_d = INT_MAX;
  int limit = (int)strlen(word) / 3 + 1;
  if (limit > 3)
    limit = 3;
  for (size_t i = 0; i < n && cands[i]; i++) {
    int dist = edit_distance(word, cands[i]);
    if (dist < best_d) {
      best_d = dist;
      best = cands[i];
    }
  }
  return best_d <= limit ? best : NULL;
}

static size_t count_strs(const char *const *v) {
  size_t n = 0;
  while (v[n])
    n++;
  return n;
}

/* Reports every key of map not in allowed (NULL-terminated). */
static void check_keys(struct loader *L, const struct ydoc_node *map,
                       const char *where, const char *const *allowed) {
  for (size_t i = 0; i < map->n; i++) {
    const struct ydoc_node *k = map->keys[i];
    bool ok = false;
    for (size_t j = 0; allowed[j]; j++)
      if (strcmp(k->value, allowed[j]) == 0)
        ok = true;
    if (ok)
      continue;
    {
      const char *near = closest(k->value, allowed, count_strs(allowed));
      if (near) {
        err(L, k, "unknown key '%s' in %s; did you mean '%s'?", k->value, where,
            near);
      } else {
        struct strbuf sb = {0};
        for (size_t j = 0; allowed[j]; j++)
          strbuf_addf(&sb, "%s%s", j ? ", " : "", allowed[j]);
        err(L, k, "unknown key '%s' in %s (expected one of: %s)", k->value,
            where, sb.buf);
        strbuf_free(&sb);
      }
    }
  }
}

static bool want(struct loader *L, const struct ydoc_node *n,
                 enum ydoc_kind kind, const char *what) {
  if (n->kind == kind)
    return true;
  err(L, n, "%s must be %s, not %s", what, ydoc_kind_name(kind),
      ydoc_kind_name(n->kind));
  return false;
}

/* Expands ${NAME}; "$${" stands for a literal "${". */
static bool expand_env(struct loader *L, const struct ydoc_node *n,
                       const char *in, char **out) {
  struct strbuf sb = {0};
  const char *p = in;
  bool ok = true;
  while (*p) {
    if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
      strbuf_add(&sb, "${", 2);
      p += 3;
      continue;
    }
    if (p[0] == '$' && p[1] == '{') {
      const char *end = strchr(p + 2, '}');
      size_t len;
      char name[256];
      const char *val;
      if (!end) {
        err(L, n, "unterminated ${ in text (write $${ for a literal ${)");
        ok = false;
        break;
      }
      len = (size_t)(end - (p + 2));
      if (len == 0 || len >= sizeof(name)) {
        err(L, n, "empty or overlong environment variable name in ${}");
        ok = false;
        break;
      }
      memcpy(name, p + 2, len);
      name[len] = '\0';
      for (size_t i = 0; i < len; i++)
        if (!(isalnum((unsigned char)name[i]) || name[i] == '_')) {
          err(L, n, "'%s' is not an environment variable name", name);
          ok = false;
          break;
        }
      if (!ok)
        break;
      val = getenv(name);
      if (!val) {
        err(L, n, "environment variable %s is not set", name);
        ok = false;
        break;
      }
      strbuf_adds(&sb, val);
      p = end + 1;
      continue;
    }
    strbuf_add(&sb, p, 1);
    p++;
  }
  if (!ok) {
    strbuf_free(&sb);
    return false;
  }
  *out = strbuf_take(&sb);
  return true;
}

/* Text value (env-expanded). NULL node = not given: *out untouched. */
static bool get_str(struct loader *L, const struct ydoc_node *n,
                    const char *what, char **out) {
  char *v;
  if (!n)
    return true;
  if (!want(L, n, YDOC_SCALAR, what))
    return false;
  if (!expand_env(L, n, n->value, &v))
    return false;
  free(*out);
  *out = v;
  return true;
}

static bool get_nonempty(struct loader *L, const struct ydoc_node *n,
                         const char *what, char **out) {
  if (!get_str(L, n, what, out))
    return false;
  if (n && !**out) {
    err(L, n, "%s must not be empty", what);
    return false;
  }
  return true;
}

static bool get_bool(struct loader *L, const struct ydoc_node *n,
                     const char *what, bool *out) {
  static const char *const t[] = {"true", "True", "TRUE", "yes", "on"};
  static const char *const f[] = {"false", "False", "FALSE", "no", "off"};
  if (!n)
    return true;
  if (!want(L, n, YDOC_SCALAR, what))
    return false;
  for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
    if (strcmp(n->value, t[i]) == 0) {
      *out = true;
      return true;
    }
    if (strcmp(n->value, f[i]) == 0) {
      *out = false;
      return true;
    }
  }
  err(L, n, "%s must be true or false, not '%s'", what, n->value);
  return false;
}

static bool parse_double(const char *s, double *out) {
  char *end;
  double v;
  errno = 0;
  v = strtod(s, &end);
  if (end == s || *end || errno == ERANGE || !isfinite(v))
    return false;
  *out = v;
  return true;
}

static bool get_number(struct loader *L, const struct ydoc_node *n,
                       const char *what, double *out) {
  char *s = NULL;
  bool ok;
  if (!n)
    return true;
  if (!get_str(L, n, what, &s))
    return false;
  ok = parse_double(s, out);
  if (!ok)
    err(L, n, "%s must be a finite number, not '%s'", what, s);
  free(s);
  return ok;
}

static bool get_int(struct loader *L, const struct ydoc_node *n,
                    const char *what, long min, long max, int *out) {
  double v;
  if (!n)
    return true;
  if (!get_number(L, n, what, &v))
    return false;
  if (v != floor(v) || v < (double)min || v > (double)max) {
    err(L, n, "%s must be a whole number from %ld to %ld", what, min, max);
    return false;
  }
  *out = (int)v;
  return true;
}

static bool get_duration(struct loader *L, const struct ydoc_node *n,
                         const char *what, int64_t min_ms, bool allow_off,
                         int64_t *out) {
  char *s = NULL;
  int rc;
  if (!n)
    return true;
  if (!get_str(L, n, what, &s))
    return false;
  if (allow_off && strcmp(s, "off") == 0) {
    free(s);
    *out = 0;
    return true;
  }
  rc = duration_parse(s, out);
  if (rc == -ERANGE) {
    err(L, n, "%s '%s' is longer than 100 years", what, s);
  } else if (rc < 0) {
    err(L, n, "%s must be a duration such as 30s, 5m, 1h or 1d%s, not '%s'",
        what, allow_off ? " (or off)" : "", s);
  } else if (*out < min_ms) {
    char buf[32];
    duration_format(min_ms, buf, sizeof(buf));
    err(L, n, "%s must be at least %s", what, buf);
    rc = -EINVAL;
  }
  free(s);
  return rc == 0;
}

/* Sizes: plain bytes or with B, KiB, MiB, GiB, kB, MB, GB. */
static bool get_size(struct loader *L, const struct ydoc_node *n,
                     const char *what, size_t *out) {
  static const struct {
    const char *s;
    double mult;
  } sfx[] = {{"", 1},
             {"B", 1},
             {"KiB", 1024.0},
             {"MiB", 1048576.0},
             {"GiB", 1073741824.0},
             {"kB", 1e3},
             {"KB", 1e3},
             {"MB", 1e6},
             {"GB", 1e9}};
  char *s = NULL, *end;
  double v;
  bool ok = false;
  if (!n)
    return true;
  if (!get_str(L, n, what, &s))
    return false;
  errno = 0;
  v = strtod(s, &end);
  if (end != s && errno == 0 && isfinite(v) && v > 0) {
    while (*end == ' ')
      end++;
    for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
      if (strcmp(end, sfx[i].s) == 0) {
        v *= sfx[i].mult;
        ok = v >= 1 && v <= 1073741824.0;
        break;
      }
    }
  }
  if (ok)
    *out = (size_t)v;
  else
    err(L, n, "%s must be a size from 1 byte to 1GiB such as 4MiB, not '%s'",
        what, s);
  free(s);
  return ok;
}

static bool valid_id(const char *s) {
  size_t len = strlen(s);
  if (len == 0 || len > ID_MAX)
    return false;
  for (const char *p = s; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.'))
      return false;
  return true;
}

static bool get_id(struct loader *L, const struct ydoc_node *n,
                   const char *what, char **out) {
  if (!get_str(L, n, what, out))
    return false;
  if (!valid_id(*out)) {
    err(L, n,
        "%s '%s' may use only letters, digits, '_', '-' and '.' (at most %d)",
        what, *out, ID_MAX);
    return false;
  }
  return true;
}

/* Resolves a relative file name: $CREDENTIALS_DIRECTORY first when asked,
 * then beside the main config file. Caller frees. */
static char *resolve_path(struct loader *L, const char *name, bool creds) {
  const char *cd = getenv("CREDENTIALS_DIRECTORY");
  if (name[0] == '/')
    return xstrdup(name);
  if (creds && cd && *cd) {
    char *p = xasprintf("%s/%s", cd, name);
    if (access(p, F_OK) == 0)
      return p;
    free(p);
  }
  return xasprintf("%s/%s", L->dir, name);
}

static bool read_secret_file(struct loader *L, const struct ydoc_node *n,
                             const char *key, const char *name, char **out) {
  char *path = resolve_path(L, name, true);
  FILE *f = fopen(path, "rb");
  struct strbuf sb = {0};
  char buf[4096];
  size_t got;
  bool ok = true;

  if (!f) {
    err(L, n, "%s: cannot read '%s': %s", key, name, strerror(errno));
    free(path);
    return false;
  }
  while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
    strbuf_add(&sb, buf, got);
    if (sb.len > SECRET_FILE_MAX) {
      err(L, n, "%s: '%s' is larger than %d KiB", key, name,
          SECRET_FILE_MAX / 1024);
      ok = false;
      break;
    }
  }
  fclose(f);
  free(path);
  /* One trailing newline is how editors and `echo` leave files. */
  while (ok && sb.len &&
         (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == '\r'))
    sb.buf[--sb.len] = '\0';
  if (ok && sb.len == 0) {
    err(L, n, "%s: '%s' is empty", key, name);
    ok = false;
  }
  if (ok && strlen(sb.buf) != sb.len) {
    err(L, n, "%s: '%s' contains a NUL byte", key, name);
    ok = false;
  }
  if (!ok) {
    strbuf_free(&sb);
    return false;
  }
  free(*out);
  *out = strbuf_take(&sb);
  return true;
}

/* key or key_file (never both). *given tells whether either was present. */
static bool get_secret(struct loader *L, const struct ydoc_node *map,
                       const char *key, char **out, bool *given) {
  char file_key[64];
  const struct ydoc_node *v = ydoc_get(map, key);
  const struct ydoc_node *f;
  snprintf(file_key, sizeof(file_key), "%s_file", key);
  f = ydoc_get(map, file_key);
  if (given)
    *given = v || f;
  if (v && f) {
    err(L, ydoc_key(map, file_key), "give %s or %s, not both", key, file_key);
    return false;
  }
  if (v) {
    if (!get_str(L, v, key, out))
      return false;
    if (!**out) {
      err(L, v, "%s must not be empty", key);
      return false;
    }
    return true;
  }
  if (f) {
    char *name = NULL;
    bool ok = get_nonempty(L, f, file_key, &name) &&
              read_secret_file(L, f, file_key, name, out);
    free(name);
    return ok;
  }
  return true;
}

/* Checks an http(s)/file URL. Secret URLs are never echoed. */
static bool check_url(struct loader *L, const struct ydoc_node *n,
                      const char *what, const char *url, bool allow_file) {
  const char *rest;
  if (strncmp(url, "http://", 7) == 0)
    rest = url + 7;
  else if (strncmp(url, "https://", 8) == 0)
    rest = url + 8;
  else if (allow_file && strncmp(url, "file://", 7) == 0) {
    if (url[7] != '/') {
      err(L, n, "%s: a file:// URL needs an absolute path (file:///...)", what);
      return false;
    }
    return true;
  } else {
    const char *colon = strstr(url, "://");
    if (colon && colon - url < 16)
      err(L, n, "%s: scheme '%.*s' is not supported (use http, https%s)", what,
          (int)(colon - url), url, allow_file ? " or file" : "");
    else
      err(L, n, "%s must be an absolute URL (http://, https://%s)", what,
          allow_file ? " or file://" : "");
    return false;
  }
  if (!*rest || *rest == '/' || *rest == ':' || *rest == '?') {
    err(L, n, "%s has no host", what);
    return false;
  }
  for (const char *p = url; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f) {
      err(L, n, "%s contains a space or control character", what);
      return false;
    }
  return true;
}

/* ---- top level --------------------------------------------------------- */

static bool parse_hostport(const char *s, char **host, int *port) {
  const char *colon;
  char *end;
  long p;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (!close || close[1] != ':')
      return false;
    *host = xstrndup(s + 1, (size_t)(close - s - 1));
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon)
      return false;
    *host = xstrndup(s, (size_t)(colon - s));
  }
  errno = 0;
  p = strtol(colon + 1, &end, 10);
  if (!colon[1] || *end || errno || p < 1 || p > 65535) {
    free(*host);
    *host = NULL;
    return false;
  }
  *port = (int)p;
  return true;
}

static void load_listen(struct loader *L, const struct ydoc_node *n) {
  struct config *cfg = L->cfg;
  char *s = NULL;
  if (!n || !get_str(L, n, "listen", &s))
    return;
  if (strcmp(s, "off") == 0) {
    cfg->listen_off = true;
  } else {
    char *host = NULL;
    int port;
    if (!parse_hostport(s, &host, &port)) {
      err(L, n, "listen must be HOST:PORT (e.g. 127.0.0.1:9464) or off");
    } else {
      free(cfg->listen_host);
      cfg->listen_host = host[0] ? host : xstrdup("0.0.0.0");
      if (!host[0])
        free(host);
      cfg->listen_port = port;
      cfg->listen_off = false;
    }
  }
  free(s);
}

/* redis://[user[:password]@]host[:port][/db] or unix://path[?db=N] */
static void load_redis_url(struct loader *L, const struct ydoc_node *n,
                           const char *url, char **url_password) {
  struct config *cfg = L->cfg;
  const char *p;
  if (strncmp(url, "unix://", 7) == 0) {
    const char *q = strchr(url + 7, '?');
    size_t len = q ? (size_t)(q - (url + 7)) : strlen(url + 7);
    if (len == 0 || url[7] != '/') {
      err(L, n, "redis url: unix:// needs an absolute socket path");
      return;
    }
    cfg->redis.is_unix = true;
    cfg->redis.host = xstrndup(url + 7, len);
    if (q) {
      char *end;
      long db;
      if (strncmp(q, "?db=", 4) != 0 ||
          ((db = strtol(q + 4, &end, 10)),
           *end || end == q + 4 || db < 0 || db > 15)) {
        err(L, n, "redis url: only ?db=N (0..15) may follow a socket path");
        return;
      }
      cfg->redis.db = (int)db;
    }
    return;
  }
  if (strncmp(url, "redis://", 8) != 0) {
    err(L, n, "redis url must start with redis:// or unix://");
    return;
  }
  p = url + 8;
  {
    const char *at = strrchr(p, '@');
    const char *slash;
    char *hostport;
    if (at) {
      const char *colon = memchr(p, ':', (size_t)(at - p));
      if (colon) {
        if (colon > p)
          cfg->redis.user = xstrndup(p, (size_t)(colon - p));
        *url_password = xstrndup(colon + 1, (size_t)(at - colon - 1));
      } else if (at > p) {
        cfg->redis.user = xstrndup(p, (size_t)(at - p));
      }
      p = at + 1;
    }
    slash = strchr(p, '/');
    hostport = slash ? xstrndup(p, (size_t)(slash - p)) : xstrdup(p);
    if (!hostport[0]) {
      err(L, n, "redis url has no host");
    } else if (strchr(hostport, ':') &&
               !(hostport[0] == '[' && !strstr(hostport, "]:"))) {
      char *host = NULL;
      int port;
      if (!parse_hostport(hostport, &host, &port) || !host[0]) {
        err(L, n, "redis url: port must be 1..65535");
        free(host);
      } else {
        cfg->redis.host = host;
        cfg->redis.port = port;
      }
    } else {
      size_t hl = strlen(hostport);
      if (hostport[0] == '[' && hl > 2)
        cfg->redis.host = xstrndup(hostport + 1, hl - 2);
      else
        cfg->redis.host = xstrdup(hostport);
      cfg->redis.port = 6379;
    }
    free(hostport);
    if (slash && slash[1]) {
      char *end;
      long db = strtol(slash + 1, &end, 10);
      if (*end || db < 0 || db > 15)
        err(L, n, "redis url: database must be a number 0..15");
      else
        cfg->redis.db = (int)db;
    }
  }
}

static void load_redis(struct loader *L, const struct ydoc_node *n) {
  static const char *const keys[] = {"url",           "user",   "password",
                                     "password_file", "prefix", "max_queue",
                                     "max_spool",     NULL};
  struct config *cfg = L->cfg;
  char *url = NULL, *url_password = NULL;
  bool pw_given = false;
  if (!n || !want(L, n, YDOC_MAP, "redis"))
    return;
  check_keys(L, n, "redis", keys);
  if (ydoc_get(n, "url") && get_nonempty(L, ydoc_get(n, "url"), "url", &url)) {
    free(cfg->redis.host);
    cfg->redis.host = NULL;
    load_redis_url(L, ydoc_get(n, "url"), url, &url_password);
  }
  get_nonempty(L, ydoc_get(n, "user"), "user", &cfg->redis.user);
  get_secret(L, n, "password", &cfg->redis.password, &pw_given);
  if (url_password) {
    if (pw_given)
      err(L, ydoc_get(n, "url"),
          "redis url carries a password and password is also given");
    else {
      free(cfg->redis.password);
      cfg->redis.password = url_password;
      url_password = NULL;
    }
  }
  get_str(L, ydoc_get(n, "prefix"), "prefix", &cfg->redis.prefix);
  {
    int mq = (int)cfg->redis.max_queue;
    if (get_int(L, ydoc_get(n, "max_queue"), "max_queue", 1, 10000000, &mq))
      cfg->redis.max_queue = (size_t)mq;
  }
  get_size(L, ydoc_get(n, "max_spool"), "max_spool", &cfg->redis.max_spool);
  if (ydoc_get(n, "prefix")) {
    for (const char *p = cfg->redis.prefix; *p; p++)
      if ((unsigned char)*p <= ' ' || *p == '*' || *p == '?' || *p == '[') {
        err(L, ydoc_get(n, "prefix"),
            "prefix must not contain spaces or glob characters");
        break;
      }
  }
  if (url && cfg->redis.host) {
    /* Keep a copy without credentials: this one may be logged. */
    free(cfg->redis.url);
    cfg->redis.url = config_redact_url(url);
  }
  free(url);
  free(url_password);
}

static int parse_hhmm(const char *s) {
  int h, m;
  char extra;
  if (strlen(s) != 5 || s[2] != ':' ||
      sscanf(s, "%2d:%2d%c", &h, &m, &extra) != 2 || h < 0 || h > 23 || m < 0 ||
      m > 59 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[3]))
    return -1;
  return h * 60 + m;
}

static void load_alerts(struct loader *L, const struct ydoc_node *n) {
  static const char *const keys[] = {"repeat", "digest", "keyword",
                                     "dashboard_url", NULL};
  struct config *cfg = L->cfg;
  const struct ydoc_node *v;
  if (!n || !want(L, n, YDOC_MAP, "alerts"))
    return;
  check_keys(L, n, "alerts", keys);
  get_duration(L, ydoc_get(n, "repeat"), "repeat", MS_PER_MINUTE, true,
               &cfg->alerts.repeat_ms);
  v = ydoc_get(n, "digest");
  if (v) {
    char *s = NULL;
    if (get_str(L, v, "digest", &s)) {
      if (strcmp(s, "off") == 0)
        cfg->alerts.digest_minute = -1;
      else if ((cfg->alerts.digest_minute = parse_hhmm(s)) < 0)
        err(L, v, "digest must be a local time HH:MM (e.g. \"09:00\") or off");
    }
    free(s);
  }
  get_str(L, ydoc_get(n, "keyword"), "keyword", &cfg->alerts.keyword);
  v = ydoc_get(n, "dashboard_url");
  if (v && get_nonempty(L, v, "dashboard_url", &cfg->alerts.dashboard_url))
    check_url(L, v, "dashboard_url", cfg->alerts.dashboard_url, false);
}

/* ---- series metadata --------------------------------------------------- */

static bool load_meta_key(struct loader *L, const struct ydoc_node *map,
                          const char *key, struct series_meta *m,
                          unsigned *set) {
  const struct ydoc_node *v = ydoc_get(map, key);
  if (!v)
    return true;
  if (strcmp(key, "title") == 0) {
    *set |= META_TITLE;
    return get_str(L, v, "title", &m->title);
  }
  if (strcmp(key, "unit") == 0) {
    *set |= META_UNIT;
    return get_str(L, v, "unit", &m->unit);
  }
  if (strcmp(key, "kind") == 0) {
    static const char *const kinds[] = {"instant", "cumulative", "increment"};
    char *s = NULL;
    *set |= META_KIND;
    if (!get_str(L, v, "kind", &s))
      return false;
    for (int i = 0; i < 3; i++)
      if (strcmp(s, kinds[i]) == 0) {
        m->kind = (enum series_kind)i;
        free(s);
        return true;
      }
    err(L, v, "kind must be instant, cumulative or increment, not '%s'", s);
    free(s);
    return false;
  }
  if (strcmp(key, "min") == 0) {
    *set |= META_MIN;
    m->has_min = true;
    return get_number(L, v, "min", &m->min);
  }
  if (strcmp(key, "max") == 0) {
    *set |= META_MAX;
    m->has_max = true;
    return get_number(L, v, "max", &m->max);
  }
  if (strcmp(key, "at") == 0) {
    char *s = NULL;
    *set |= META_AT;
    if (!get_str(L, v, "at", &s))
      return false;
    if (strcmp(s, "start") == 0)
      m->at = AT_START;
    else if (strcmp(s, "end") == 0)
      m->at = AT_END;
    else
      err(L, v, "at must be start or end, not '%s'", s);
    free(s);
    return true;
  }
  if (strcmp(key, "retention") == 0) {
    *set |= META_RETENTION;
    return get_duration(L, v, "retention", MS_PER_MINUTE, true,
                        &m->retention_ms);
  }
  return true;
}

static void load_meta(struct loader *L, const struct ydoc_node *map,
                      struct series_meta *m, unsigned *set) {
  for (size_t i = 0; meta_keys[i]; i++)
    load_meta_key(L, map, meta_keys[i], m, set);
  if (m->has_min && m->has_max && m->min > m->max)
    err(L, ydoc_get(map, "max"), "max (%g) is below min (%g)", m->max, m->min);
}

static void meta_free(struct series_meta *m) {
  free(m->title);
  free(m->unit);
}

static void load_series_section(struct loader *L, const struct ydoc_node *n) {
  if (!n || !want(L, n, YDOC_MAP, "series"))
    return;
  for (size_t i = 0; i < n->n; i++) {
    const struct ydoc_node *k = n->keys[i], *v = n->items[i];
    struct meta_entry *e;
    char *id = NULL;
    if (!get_id(L, k, "series id", &id)) {
      free(id);
      continue;
    }
    {
      const struct meta_entry *seen = meta_find(L, id);
      if (seen) {
        err(L, k, "series '%s' already described at %s:%d", id, seen->pos.file,
            seen->pos.line);
        free(id);
        continue;
      }
    }
    if (!want(L, v, YDOC_MAP, "a series description")) {
      free(id);
      continue;
    }
    check_keys(L, v, "a series description", meta_keys);
    xgrow((void **)&L->metas, &L->capmetas, L->nmetas + 1, sizeof(*L->metas));
    e = &L->metas[L->nmetas++];
    memset(e, 0, sizeof(*e));
    e->id = id;
    strmap_put(&L->meta_index, e->id, (const void *)(uintptr_t)L->nmetas);
    e->pos = pos_of(L, k);
    load_meta(L, v, &e->meta, &e->set);
  }
}

/* ---- feeds ------------------------------------------------------------- */

static const char *const format_names[] = {"json", "csv", "prometheus", "text"};
static const char *const path_key[] = {"path", "column", "metric", NULL};

static void load_where(struct loader *L, const struct ydoc_node *n,
                       struct feed_series *s) {
  if (!want(L, n, YDOC_MAP, "where"))
    return;
  s->where = xcalloc(n->n, sizeof(*s->where));
  for (size_t i = 0; i < n->n; i++) {
    struct config_kv *kv = &s->where[s->nwhere];
    kv->key = NULL;
    kv->value = NULL;
    if (!get_nonempty(L, n->keys[i], "where column", &kv->key) ||
        !get_str(L, n->items[i], "where value", &kv->value)) {
      free(kv->key);
      free(kv->value);
      continue;
    }
    s->nwhere++;
  }
}

/* The node as written, moved to the offending character when the value is
 * one line and was not changed by ${} expansion. */
static struct ydoc_node at_offset(const struct ydoc_node *n, const char *text,
                                  size_t at) {
  struct ydoc_node pos = *n;
  if (n->kind == YDOC_SCALAR && !strchr(n->value, '\n') &&
      strcmp(n->value, text) == 0)
    pos.col += (int)at + (n->quoted ? 1 : 0);
  return pos;
}

/* Compiles a JSONPath or Prometheus selector as the collector will. */
static void check_path_syntax(struct loader *L, const struct ydoc_node *n,
                              const struct feed *f, const char *path) {
  char why[128];
  size_t at = 0;
  if (f->format == FEED_JSON) {
    struct jsonpath *jp = NULL;
    if (jsonpath_compile(path, &jp, why, sizeof(why), &at) < 0) {
      struct ydoc_node pos = at_offset(n, path, at);
      err(L, &pos, "JSONPath: %s", why);
      return;
    }
    if (jsonpath_is_relative(jp) && !f->records)
      err(L, n,
          "JSONPath '@' is relative to a record; the feed needs "
          "records: (or start the path with $)");
    jsonpath_free(jp);
  } else if (f->format == FEED_PROMETHEUS) {
    struct prom_selector *sel = NULL;
    if (feed_prom_selector_parse(path, &sel, why, sizeof(why), &at) < 0) {
      struct ydoc_node pos = at_offset(n, path, at);
      err(L, &pos, "Prometheus selector: %s (as in name{label=\"v\"})", why);
      return;
    }
    feed_prom_selector_free(sel);
  }
}

static void load_feed_series(struct loader *L, struct feed *f,
                             const struct ydoc_node *n) {
  const char *want_key = path_key[f->format < FEED_TEXT ? f->format : 0];
  if (!want(L, n, YDOC_MAP, "series"))
    return;
  if (n->n == 0) {
    err(L, n, "feed '%s' extracts no series", f->id ? f->id : "?");
    return;
  }
  f->series = xcalloc(n->n, sizeof(*f->series));
  for (size_t i = 0; i < n->n; i++) {
    const struct ydoc_node *k = n->keys[i], *v = n->items[i];
    struct feed_series *s = &f->series[f->nseries];
    const struct ydoc_node *pathnode = NULL;
    unsigned set = 0;
    memset(s, 0, sizeof(*s));
    if (!get_id(L, k, "series id", &s->id)) {
      free(s->id);
      continue;
    }
    s->pos = pos_of(L, k);
    f->nseries++;
    if (ydoc_is_null(v)) {
      if (f->format != FEED_TEXT)
        err(L, v, "series '%s' needs a %s", s->id, want_key);
      continue;
    }
    if (v->kind == YDOC_SCALAR) {
      pathnode = v;
    } else if (want(L, v, YDOC_MAP, "a series")) {
      static const char *const keys[] = {
          "path", "column", "metric", "where", "title",     "unit",
          "kind", "min",    "max",    "at",    "retention", NULL};
      check_keys(L, v, "a feed series", keys);
      for (int j = 0; path_key[j]; j++) {
        const struct ydoc_node *pk = ydoc_key(v, path_key[j]);
        if (!pk)
          continue;
        if (f->format == FEED_TEXT)
          err(L, pk, "text feeds take no '%s': the body is one number",
              path_key[j]);
        else if (strcmp(path_key[j], want_key) != 0)
          err(L, pk, "%s feeds take '%s', not '%s'", format_names[f->format],
              want_key, path_key[j]);
        else
          pathnode = ydoc_get(v, path_key[j]);
      }
      if (ydoc_get(v, "where")) {
        if (f->format != FEED_CSV)
          err(L, ydoc_key(v, "where"), "where applies to csv feeds only");
        else
          load_where(L, ydoc_get(v, "where"), s);
      }
      load_meta(L, v, &s->meta, &set);
      /* One key in both places would leave the reader guessing which wins. */
      {
        struct meta_entry *e = meta_find(L, s->id);
        for (int b = 0; e && meta_keys[b]; b++)
          if (set & e->set & (1u << b))
            err(L, ydoc_key(v, meta_keys[b]),
                "'%s' of series '%s' is also given in series: at %s:%d",
                meta_keys[b], s->id, e->pos.file, e->pos.line);
      }
      if (!pathnode && f->format != FEED_TEXT)
        err(L, v, "series '%s' needs a %s", s->id, want_key);
    }
    if (pathnode) {
      if (f->format == FEED_TEXT) {
        if (v->kind == YDOC_SCALAR && pathnode->value[0])
          err(L, pathnode, "text feeds take no path: the body is one number");
      } else if (get_nonempty(L, pathnode, want_key, &s->path)) {
        if (f->format == FEED_CSV) {
          char *end;
          long idx = strtol(s->path, &end, 10);
          if (!*end && end != s->path) {
            if (idx < 1 || idx > 10000)
              err(L, pathnode, "column index must be from 1 to 10000");
            else
              s->column_index = (int)idx;
          }
        } else {
          check_path_syntax(L, pathnode, f, s->path);
        }
      }
    }
    (void)set;
    /* Merge the top-level description (keys not given here). */
    {
      struct meta_entry *e = meta_find(L, s->id);
      if (!e)
        continue;
      e->used = true;
      /* A title or unit that failed to load is set but empty (its error
       * is already reported). */
      if ((e->set & META_TITLE) && e->meta.title && !s->meta.title)
        s->meta.title = xstrdup(e->meta.title);
      if ((e->set & META_UNIT) && e->meta.unit && !s->meta.unit)
        s->meta.unit = xstrdup(e->meta.unit);
      if (e->set & META_KIND)
        s->meta.kind = e->meta.kind;
      if (e->set & META_MIN) {
        s->meta.has_min = true;
        s->meta.min = e->meta.min;
      }
      if (e->set & META_MAX) {
        s->meta.has_max = true;
        s->meta.max = e->meta.max;
      }
      if (e->set & META_AT)
        s->meta.at = e->meta.at;
      if (e->set & META_RETENTION)
        s->meta.retention_ms = e->meta.retention_ms;
    }
  }
}

static void load_headers(struct loader *L, struct feed *f,
                         const struct ydoc_node *n) {
  if (!want(L, n, YDOC_MAP, "headers"))
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
      err(L, n->keys[i], "'%s' is not a valid HTTP header name", name);
      continue;
    }
    kv->key = xstrdup(name);
    kv->value = NULL;
    if (!get_str(L, n->items[i], "header value", &kv->value)) {
      free(kv->key);
      continue;
    }
    if (strpbrk(kv->value, "\r\n")) {
      err(L, n->items[i], "header %s: value contains a line break", name);
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
  if (!want(L, n, YDOC_MAP, "auth"))
    return;
  check_keys(L, n, "auth", keys);
  get_secret(L, n, "bearer", &f->bearer_token, &bearer);
  b = ydoc_get(n, "basic");
  if (b && bearer)
    err(L, ydoc_key(n, "basic"), "give basic or bearer auth, not both");
  if (b && want(L, b, YDOC_MAP, "basic")) {
    bool pw = false;
    check_keys(L, b, "basic auth", bkeys);
    if (!ydoc_get(b, "user"))
      err(L, b, "basic auth needs a user");
    get_str(L, ydoc_get(b, "user"), "user", &f->basic_user);
    get_secret(L, b, "password", &f->basic_password, &pw);
    if (!pw)
      err(L, b, "basic auth needs password or password_file");
  }
  for (size_t i = 0; i < f->nheaders; i++)
    if (strcasecmp(f->headers[i].key, "Authorization") == 0 && (b || bearer))
      err(L, n, "auth and an Authorization header are both given");
}

static void load_file_opt(struct loader *L, const struct ydoc_node *n,
                          const char *what, char **out) {
  char *name = NULL;
  if (!n || !get_nonempty(L, n, what, &name)) {
    free(name);
    return;
  }
  free(*out);
  *out = resolve_path(L, name, true);
  if (access(*out, R_OK) != 0)
    err(L, n, "%s: cannot read '%s': %s", what, name, strerror(errno));
  free(name);
}

static void load_tls(struct loader *L, struct feed *f,
                     const struct ydoc_node *n) {
  static const char *const keys[] = {"verify", "ca_file", "cert_file",
                                     "key_file", NULL};
  if (!want(L, n, YDOC_MAP, "tls"))
    return;
  check_keys(L, n, "tls", keys);
  get_bool(L, ydoc_get(n, "verify"), "verify", &f->tls_verify);
  load_file_opt(L, ydoc_get(n, "ca_file"), "ca_file", &f->ca_file);
  load_file_opt(L, ydoc_get(n, "cert_file"), "cert_file", &f->cert_file);
  load_file_opt(L, ydoc_get(n, "key_file"), "key_file", &f->key_file);
  if (!f->tls_verify && f->ca_file)
    err(L, ydoc_get(n, "ca_file"),
        "ca_file has no effect with verify: false; drop one of them");
  if ((f->cert_file != NULL) != (f->key_file != NULL))
    err(L, n, "a client certificate needs both cert_file and key_file");
}

static void load_feed(struct loader *L, const struct ydoc_node *n) {
  static const char *const keys[] = {
      "id",      "url",         "url_file", "every",    "timeout",
      "headers", "auth",        "tls",      "max_body", "format",
      "time",    "time_format", "records",  "series",   NULL};
  struct config *cfg = L->cfg;
  struct feed *f;
  const struct ydoc_node *v;
  bool url_given = false;

  if (!want(L, n, YDOC_MAP, "a feed"))
    return;
  check_keys(L, n, "a feed", keys);
  xgrow((void **)&cfg->feeds, &L->capfeeds, cfg->nfeeds + 1,
        sizeof(*cfg->feeds));
  f = &cfg->feeds[cfg->nfeeds++];
  memset(f, 0, sizeof(*f));
  f->pos = pos_of(L, n);
  f->every_ms = 15 * MS_PER_MINUTE;
  f->max_body = DEFAULT_MAX_BODY;
  f->tls_verify = true;
  f->time_format = TIMEFMT_ISO8601;

  if (!ydoc_get(n, "id"))
    err(L, n, "a feed needs an id");
  else
    get_id(L, ydoc_get(n, "id"), "feed id", &f->id);

  get_secret(L, n, "url", &f->url, &url_given);
  if (!url_given)
    err(L, n, "feed '%s' needs a url (or url_file)", f->id ? f->id : "?");
  else if (f->url) {
    v = ydoc_get(n, "url") ? ydoc_get(n, "url") : ydoc_get(n, "url_file");
    check_url(L, v, "url", f->url, true);
  }

  get_duration(L, ydoc_get(n, "every"), "every", MS_PER_SECOND, false,
               &f->every_ms);
  f->timeout_ms =
      f->every_ms < 30 * MS_PER_SECOND ? f->every_ms : 30 * MS_PER_SECOND;
  v = ydoc_get(n, "timeout");
  if (v && get_duration(L, v, "timeout", 100, false, &f->timeout_ms) &&
      f->timeout_ms > f->every_ms)
    err(L, v, "timeout must not be longer than every");
  get_size(L, ydoc_get(n, "max_body"), "max_body", &f->max_body);

  v = ydoc_get(n, "format");
  if (v) {
    char *s = NULL;
    if (get_str(L, v, "format", &s)) {
      bool found = false;
      for (int i = 0; i < 4; i++)
        if (strcmp(s, format_names[i]) == 0) {
          f->format = (enum feed_format)i;
          found = true;
        }
      if (!found) {
        const char *near = closest(s, format_names, 4);
        err(L, v,
            "format must be json, csv, prometheus or text, not '%s'%s%s%s", s,
            near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
      }
    }
    free(s);
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

  v = ydoc_get(n, "records");
  if (v && get_nonempty(L, v, "records", &f->records)) {
    if (f->format != FEED_JSON)
      err(L, ydoc_key(n, "records"), "records applies to json feeds only");
    else if (f->records[0] != '$')
      err(L, v,
          "records must be a JSONPath starting with '$' "
          "(as in $.data[*])");
  }

  v = ydoc_get(n, "time");
  if (v && get_nonempty(L, v, "time", &f->time)) {
    if (f->format == FEED_TEXT || f->format == FEED_PROMETHEUS)
      err(L, ydoc_key(n, "time"),
          "%s feeds carry no time field (prometheus uses the sample "
          "timestamp; otherwise the fetch time is used)",
          format_names[f->format]);
    else if (f->format == FEED_JSON)
      check_path_syntax(L, v, f, f->time);
  }
  v = ydoc_get(n, "time_format");
  if (v) {
    char *s = NULL;
    if (get_nonempty(L, v, "time_format", &s)) {
      if (strcmp(s, "iso8601") == 0)
        f->time_format = TIMEFMT_ISO8601;
      else if (strcmp(s, "epoch") == 0)
        f->time_format = TIMEFMT_EPOCH;
      else if (strcmp(s, "epoch_ms") == 0)
        f->time_format = TIMEFMT_EPOCH_MS;
      else if (strchr(s, '%')) {
        char why[256];
        if (timefmt_pattern_check(s, why, sizeof(why)) < 0)
          err(L, v, "time_format \"%s\": %s", s, why);
        f->time_format = TIMEFMT_STRPTIME;
        f->time_pattern = s;
        s = NULL;
      } else
        err(L, v,
            "time_format must be iso8601, epoch, epoch_ms or a strptime "
            "pattern such as \"%%Y-%%m\", not '%s'",
            s);
      if (!f->time)
        err(L, ydoc_key(n, "time_format"),
            "time_format without time: say where the time is");
    }
    free(s);
  }

  v = ydoc_get(n, "series");
  if (!v)
    err(L, n, "feed '%s' needs series: (what to extract)", f->id ? f->id : "?");
  else
    load_feed_series(L, f, v);
}

/* ---- targets ----------------------------------------------------------- */

static bool get_twelve(struct loader *L, const struct ydoc_node *n,
                       const char *what, double *out) {
  if (!want(L, n, YDOC_SEQ, what))
    return false;
  if (n->n != 12) {
    err(L, n, "%s needs 12 monthly values, not %zu", what, n->n);
    return false;
  }
  for (size_t i = 0; i < 12; i++)
    if (!get_number(L, n->items[i], what, &out[i]))
      return false;
  return true;
}

static bool parse_month_day(const char *s, int *m, int *d) {
  char extra;
  if (strlen(s) != 5 || s[2] != '-' ||
      sscanf(s, "%2d-%2d%c", m, d, &extra) != 2)
    return false;
  /* 2000 is a leap year, so 02-29 is accepted. */
  return tz_date_valid(2000, *m, *d);
}

static void load_pace(struct loader *L, struct target *t,
                      const struct ydoc_node *n) {
  static const char *const keys[] = {"linear", "profile", "season", "seasonal",
                                     NULL};
  if (n->kind == YDOC_SCALAR) {
    if (strcmp(n->value, "linear") != 0)
      err(L, n,
          "pace must be linear, {profile: [...]}, {season: {from, to}} or "
          "{seasonal: [...]}");
    return;
  }
  if (!want(L, n, YDOC_MAP, "pace"))
    return;
  check_keys(L, n, "pace", keys);
  if (n->n != 1) {
    err(L, n, "pace takes exactly one of profile, season or seasonal");
    return;
  }
  if (ydoc_get(n, "profile")) {
    const struct ydoc_node *v = ydoc_get(n, "profile");
    t->pace.kind = PACE_PROFILE;
    if (get_twelve(L, v, "profile", t->pace.v)) {
      for (int i = 0; i < 12; i++) {
        if (t->pace.v[i] < 0 || t->pace.v[i] > 1 ||
            (i && t->pace.v[i] < t->pace.v[i - 1])) {
          err(L, v->items[i],
              "profile shares are cumulative: from 0 to 1 and never "
              "decreasing");
          return;
        }
      }
      if (fabs(t->pace.v[11] - 1.0) > 1e-9)
        err(L, v->items[11], "the December share of a profile must be 1");
    }
  } else if (ydoc_get(n, "seasonal")) {
    const struct ydoc_node *v = ydoc_get(n, "seasonal");
    t->pace.kind = PACE_SEASONAL;
    if (get_twelve(L, v, "seasonal", t->pace.v))
      for (int i = 0; i < 12; i++)
        if (t->pace.v[i] <= 0) {
          err(L, v->items[i], "seasonal factors must be above 0");
          return;
        }
  } else if (ydoc_get(n, "season")) {
    static const char *const skeys[] = {"from", "to", NULL};
    const struct ydoc_node *v = ydoc_get(n, "season");
    t->pace.kind = PACE_SEASON;
    if (!want(L, v, YDOC_MAP, "season"))
      return;
    check_keys(L, v, "season", skeys);
    for (int i = 0; i < 2; i++) {
      const struct ydoc_node *x = ydoc_get(v, skeys[i]);
      char *s = NULL;
      int m = 0, d = 0;
      if (!x) {
        err(L, v, "season needs from and to (\"MM-DD\")");
        return;
      }
      if (!get_str(L, x, skeys[i], &s)) {
        return;
      } else if (!parse_month_day(s, &m, &d)) {
        err(L, x, "season %s must be a day \"MM-DD\" such as \"04-01\"",
            skeys[i]);
        free(s);
        return;
      }
      free(s);
      if (i == 0) {
        t->pace.from_month = m;
        t->pace.from_day = d;
      } else {
        t->pace.to_month = m;
        t->pace.to_day = d;
      }
    }
    if (t->pace.from_month && t->pace.to_month &&
        t->pace.from_month * 100 + t->pace.from_day >
            t->pace.to_month * 100 + t->pace.to_day)
      err(L, v, "season from must not be after to");
  }
}

static void load_period(struct loader *L, struct target *t,
                        const struct ydoc_node *n) {
  if (n->kind == YDOC_SCALAR) {
    char *s = NULL;
    if (get_str(L, n, "period", &s) && period_parse(s, &t->period) < 0)
      err(L, n,
          "period must be a year (2026), half (2026-H1), quarter (2026-Q2), "
          "month (2026-03) or {from: DATE, to: DATE}, not '%s'",
          s);
    free(s);
    return;
  }
  if (!want(L, n, YDOC_MAP, "period"))
    return;
  {
    static const char *const keys[] = {"from", "to", NULL};
    int ymd[2][3] = {{0}};
    bool ok = true;
    check_keys(L, n, "period", keys);
    for (int i = 0; i < 2; i++) {
      const struct ydoc_node *x = ydoc_get(n, keys[i]);
      char *s = NULL;
      if (!x) {
        err(L, n, "period needs from and to");
        return;
      }
      if (!get_str(L, x, keys[i], &s) ||
          period_parse_date(s, &ymd[i][0], &ymd[i][1], &ymd[i][2]) < 0) {
        if (s)
          err(L, x, "period %s must be a date YYYY-MM-DD, not '%s'", keys[i],
              s);
        ok = false;
      }
      free(s);
    }
    if (!ok)
      return;
    t->period.from_year = ymd[0][0];
    t->period.from_month = ymd[0][1];
    t->period.from_day = ymd[0][2];
    t->period.to_year = ymd[1][0];
    t->period.to_month = ymd[1][1];
    t->period.to_day = ymd[1][2];
    if (period_days(&t->period) < 1)
      err(L, ydoc_get(n, "to"), "period ends before it starts");
    else if (period_days(&t->period) > 3660)
      err(L, ydoc_get(n, "to"), "period is longer than ten years");
  }
}

static void load_target(struct loader *L, const struct ydoc_node *n) {
  static const char *const keys[] = {
      "id",     "title",    "series",     "rule",    "period",   "pace",
      "notify", "validity", "thresholds", "confirm", "baseline", "stale_after",
      "unit",   "group",    "source",     NULL};
  struct config *cfg = L->cfg;
  struct target *t;
  const struct ydoc_node *v;

  if (!want(L, n, YDOC_MAP, "a target"))
    return;
  check_keys(L, n, "a target", keys);
  xgrow((void **)&cfg->targets, &L->captargets, cfg->ntargets + 1,
        sizeof(*cfg->targets));
  t = &cfg->targets[cfg->ntargets++];
  memset(t, 0, sizeof(*t));
  t->pos = pos_of(L, n);
  t->on_track = 0.95;
  t->off_track = 0.90;
  t->confirm = 2;

  if (!ydoc_get(n, "id"))
    err(L, n, "a target needs an id");
  else
    get_id(L, ydoc_get(n, "id"), "target id", &t->id);
  get_nonempty(L, ydoc_get(n, "title"), "title", &t->title);
  get_str(L, ydoc_get(n, "unit"), "unit", &t->unit);
  get_nonempty(L, ydoc_get(n, "group"), "group", &t->group);
  get_nonempty(L, ydoc_get(n, "source"), "source", &t->source);

  v = ydoc_get(n, "series");
  if (!v)
    err(L, n, "target '%s' needs a series", t->id ? t->id : "?");
  else if (get_id(L, v, "series", &t->series))
    t->series_pos = pos_of(L, v);

  v = ydoc_get(n, "rule");
  if (!v) {
    err(L, n, "target '%s' needs a rule (as in \"total >= 450000\")",
        t->id ? t->id : "?");
  } else {
    char *s = NULL;
    if (get_str(L, v, "rule", &s)) {
      char why[160];
      size_t at = 0;
      t->rule_pos = pos_of(L, v);
      t->rule_ok = rule_parse(s, &t->rule, why, sizeof(why), &at) == 0;
      if (!t->rule_ok) {
        /* Point at the offending character when the rule sits on one line
         * as written (plain or quoted). */
        struct ydoc_node pos = at_offset(v, s, at);
        err(L, &pos, "%s", why);
      }
    }
    free(s);
  }

  v = ydoc_get(n, "period");
  if (!v)
    err(L, n, "target '%s' needs a period (as in 2026)", t->id ? t->id : "?");
  else
    load_period(L, t, v);

  v = ydoc_get(n, "pace");
  if (v) {
    t->pace_pos = pos_of(L, v);
    load_pace(L, t, v);
  }

  v = ydoc_get(n, "notify");
  if (v) {
    bool one = v->kind == YDOC_SCALAR;
    if (one || want(L, v, YDOC_SEQ, "notify")) {
      size_t cnt = one ? 1 : v->n;
      t->notify = xcalloc(cnt, sizeof(*t->notify));
      t->notify_pos = xcalloc(cnt, sizeof(*t->notify_pos));
      for (size_t i = 0; i < cnt; i++) {
        const struct ydoc_node *item = one ? v : v->items[i];
        char *id = NULL;
        if (get_id(L, item, "receiver", &id)) {
          t->notify_pos[t->nnotify] = pos_of(L, item);
          t->notify[t->nnotify++] = id;
        } else {
          free(id);
        }
      }
    }
  }

  v = ydoc_get(n, "validity");
  if (v) {
    t->validity_pos = pos_of(L, v);
    char *s = NULL;
    if (get_str(L, v, "validity", &s)) {
      if (strcmp(s, "gb3095") == 0)
        t->validity = VALIDITY_GB3095;
      else if (strcmp(s, "none") != 0)
        err(L, v, "validity must be gb3095 or none, not '%s'", s);
    }
    free(s);
  }

  v = ydoc_get(n, "thresholds");
  if (v && want(L, v, YDOC_MAP, "thresholds")) {
    static const char *const tk[] = {"on_track", "off_track", NULL};
    check_keys(L, v, "thresholds", tk);
    get_number(L, ydoc_get(v, "on_track"), "on_track", &t->on_track);
    get_number(L, ydoc_get(v, "off_track"), "off_track", &t->off_track);
    if (t->on_track <= 0 || t->on_track > 2 || t->off_track <= 0 ||
        t->off_track > 2)
      err(L, v, "thresholds are scores between 0 and 2 (1.0 = on pace)");
    else if (t->off_track > t->on_track)
      err(L, v, "off_track (%g) must not be above on_track (%g)", t->off_track,
          t->on_track);
  }
  get_int(L, ydoc_get(n, "confirm"), "confirm", 1, 100, &t->confirm);
  v = ydoc_get(n, "baseline");
  if (v && get_number(L, v, "baseline", &t->baseline))
    t->has_baseline = true;
  get_duration(L, ydoc_get(n, "stale_after"), "stale_after", MS_PER_MINUTE,
               false, &t->stale_after_ms);
}

/* ---- receivers --------------------------------------------------------- */

static const char *const receiver_types[] = {
    "slack", "discord",  "teams",   "feishu",       "dingtalk",
    "wecom", "telegram", "webhook", "alertmanager", NULL};

static void load_receiver(struct loader *L, const struct ydoc_node *n) {
  static const char *const keys[] = {"id",       "type",    "url",
                                     "url_file", "secret",  "secret_file",
                                     "chat_id",  "timeout", NULL};
  struct config *cfg = L->cfg;
  struct receiver *r;
  const struct ydoc_node *v;
  bool url_given = false, secret_given = false, type_ok = false;

  if (!want(L, n, YDOC_MAP, "a receiver"))
    return;
  check_keys(L, n, "a receiver", keys);
  xgrow((void **)&cfg->receivers, &L->capreceivers, cfg->nreceivers + 1,
        sizeof(*cfg->receivers));
  r = &cfg->receivers[cfg->nreceivers++];
  memset(r, 0, sizeof(*r));
  r->pos = pos_of(L, n);
  r->timeout_ms = 10 * MS_PER_SECOND;

  if (!ydoc_get(n, "id"))
    err(L, n, "a receiver needs an id");
  else
    get_id(L, ydoc_get(n, "id"), "receiver id", &r->id);

  v = ydoc_get(n, "type");
  if (!v) {
    err(L, n, "receiver '%s' needs a type", r->id ? r->id : "?");
  } else {
    char *s = NULL;
    if (get_str(L, v, "type", &s)) {
      for (int i = 0; receiver_types[i]; i++)
        if (strcmp(s, receiver_types[i]) == 0) {
          r->type = (enum receiver_type)i;
          type_ok = true;
        }
      if (!type_ok) {
        const char *near = closest(s, receiver_types, 9);
        err(L, v,
            "type must be slack, discord, teams, feishu, dingtalk, wecom, "
            "telegram, webhook or alertmanager, not '%s'%s%s%s",
            s, near ? "; did you mean '" : "", near ? near : "",
            near ? "'?" : "");
      }
    }
    free(s);
  }

  get_secret(L, n, "url", &r->url, &url_given);
  if (!url_given)
    err(L, n, "receiver '%s' needs a url (or url_file)", r->id ? r->id : "?");
  else if (r->url)
    check_url(L,
              ydoc_get(n, "url") ? ydoc_get(n, "url") : ydoc_get(n, "url_file"),
              "url", r->url, false);

  get_secret(L, n, "secret", &r->secret, &secret_given);
  if (secret_given && type_ok && r->type != RECV_DINGTALK &&
      r->type != RECV_FEISHU)
    err(L,
        ydoc_key(n, "secret") ? ydoc_key(n, "secret")
                              : ydoc_key(n, "secret_file"),
        "only dingtalk and feishu receivers sign messages with a secret");

  get_nonempty(L, ydoc_get(n, "chat_id"), "chat_id", &r->chat_id);
  if (type_ok && r->type == RECV_TELEGRAM && !r->chat_id &&
      !ydoc_get(n, "chat_id"))
    err(L, n, "telegram receiver '%s' needs a chat_id", r->id ? r->id : "?");
  if (type_ok && r->type != RECV_TELEGRAM && ydoc_get(n, "chat_id"))
    err(L, ydoc_key(n, "chat_id"), "chat_id applies to telegram only");
  get_duration(L, ydoc_get(n, "timeout"), "timeout", 100, false,
               &r->timeout_ms);
}

/* ---- files, sections, cross references --------------------------------- */

static void load_list(struct loader *L, const struct ydoc_node *n,
                      const char *what,
                      void (*each)(struct loader *, const struct ydoc_node *)) {
  if (!n || ydoc_is_null(n))
    return;
  if (!want(L, n, YDOC_SEQ, what))
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
    "log_level", "evaluate", NULL};
static const char *const dropin_keys[] = {"feeds", "series", "targets",
                                          "receivers", NULL};

static void load_top(struct loader *L, const struct ydoc_node *root) {
  struct config *cfg = L->cfg;
  const struct ydoc_node *v;

  v = ydoc_get(root, "timezone");
  if (v && get_nonempty(L, v, "timezone", &cfg->timezone) &&
      !tz_valid(cfg->timezone))
    err(L, v,
        "timezone '%s' is not an IANA time zone name (such as "
        "Asia/Shanghai)",
        cfg->timezone);
  load_redis(L, ydoc_get(root, "redis"));
  v = ydoc_get(root, "state_dir");
  if (v) {
    char *s = NULL;
    if (get_nonempty(L, v, "state_dir", &s)) {
      free(cfg->state_dir);
      cfg->state_dir = resolve_path(L, s, false);
    }
    free(s);
  }
  load_listen(L, ydoc_get(root, "listen"));
  v = ydoc_get(root, "log_level");
  if (v) {
    char *s = NULL;
    if (get_str(L, v, "log_level", &s) &&
        log_level_parse(s, &cfg->log_level) < 0)
      err(L, v, "log_level must be error, warn, info or debug, not '%s'", s);
    free(s);
  }
  get_duration(L, ydoc_get(root, "evaluate"), "evaluate", MS_PER_SECOND, false,
               &cfg->evaluate_every_ms);
  load_alerts(L, ydoc_get(root, "alerts"));
}

static void load_sections(struct loader *L, const struct ydoc_node *root) {
  load_list(L, ydoc_get(root, "feeds"), "feeds", load_feed);
  load_list(L, ydoc_get(root, "targets"), "targets", load_target);
  load_list(L, ydoc_get(root, "receivers"), "receivers", load_receiver);
}

static void set_defaults(struct config *cfg) {
  const char *sd = getenv("STATE_DIRECTORY");
  cfg->timezone = xstrdup("UTC");
  cfg->redis.host = xstrdup("127.0.0.1");
  cfg->redis.port = 6379;
  cfg->redis.url = xstrdup("redis://127.0.0.1:6379/0");
  cfg->redis.prefix = xstrdup(CONFIG_DEFAULT_PREFIX);
  cfg->redis.max_queue = 100000;
  cfg->redis.max_spool = 1024u * 1024 * 1024;
  /* systemd's StateDirectory= may list several, colon-separated. */
  if (sd && *sd)
    cfg->state_dir = xstrndup(sd, strcspn(sd, ":"));
  else
    cfg->state_dir = xstrdup("/var/lib/indicatord");
  cfg->listen_host = xstrdup("127.0.0.1");
  cfg->listen_port = 9464;
  cfg->log_level = LOG_LEVEL_INFO;
  cfg->evaluate_every_ms = MS_PER_HOUR;
  cfg->alerts.repeat_ms = MS_PER_DAY;
  cfg->alerts.digest_minute = 9 * 60;
  cfg->alerts.keyword = xstrdup(CONFIG_DEFAULT_KEYWORD);
}

static void cross_check(struct loader *L) {
  struct config *cfg = L->cfg;
  struct diag *d = L->d;
  struct strmap feeds, series;
  size_t total = 0;

  for (size_t i = 0; i < cfg->nfeeds; i++)
    total += cfg->feeds[i].nseries;
  strmap_init(&feeds, cfg->nfeeds);
  strmap_init(&series, total);
  for (size_t i = 0; i < cfg->nfeeds; i++) {
    struct feed *f = &cfg->feeds[i];
    const struct feed *g;
    if (f->id && (g = strmap_put(&feeds, f->id, f)))
      diag_add(d, f->pos.file, f->pos.line, f->pos.col,
               "feed id '%s' is already used at %s:%d", f->id, g->pos.file,
               g->pos.line);
    for (size_t k = 0; k < f->nseries; k++) {
      struct feed_series *s = &f->series[k];
      /* The value is the feed; the earlier series is found in it. */
      const struct feed *owner = strmap_put(&series, s->id, f);
      if (!owner)
        continue;
      for (size_t m = 0; m < owner->nseries; m++) {
        if (strcmp(owner->series[m].id, s->id) != 0)
          continue;
        diag_add(d, s->pos.file, s->pos.line, s->pos.col,
                 "series '%s' is already produced by feed '%s' at %s:%d;"
                 " a series comes from exactly one feed",
                 s->id, owner->id ? owner->id : "?", owner->series[m].pos.file,
                 owner->series[m].pos.line);
        break;
      }
    }
  }
  strmap_free(&feeds);
  strmap_free(&series);
  for (size_t j = 0; j < L->nmetas; j++)
    if (!L->metas[j].used)
      diag_add(d, L->metas[j].pos.file, L->metas[j].pos.line,
               L->metas[j].pos.col, "series '%s' is not produced by any feed",
               L->metas[j].id);

  for (size_t i = 0; i < cfg->nreceivers; i++) {
    struct receiver *r = &cfg->receivers[i];
    for (size_t j = 0; j < i && r->id; j++)
      if (cfg->receivers[j].id && strcmp(cfg->receivers[j].id, r->id) == 0)
        diag_add(d, r->pos.file, r->pos.line, r->pos.col,
                 "receiver id '%s' is already used at %s:%d", r->id,
                 cfg->receivers[j].pos.file, cfg->receivers[j].pos.line);
  }

  for (size_t i = 0; i < cfg->ntargets; i++) {
    struct target *t = &cfg->targets[i];
    const struct feed_series *s = NULL;
    const struct feed *f = NULL;
    const char *tid = t->id ? t->id : "?";
    for (size_t j = 0; j < i && t->id; j++)
      if (cfg->targets[j].id && strcmp(cfg->targets[j].id, t->id) == 0)
        diag_add(d, t->pos.file, t->pos.line, t->pos.col,
                 "target id '%s' is already used at %s:%d", t->id,
                 cfg->targets[j].pos.file, cfg->targets[j].pos.line);
    if (!t->title)
      t->title = xstrdup(tid);
    if (t->series && !(s = config_series(cfg, t->series, &f))) {
      /* Suggest the nearest series id. */
      const char **ids = NULL;
      size_t nids = 0;
      const char *near;
      for (size_t a = 0; a < cfg->nfeeds; a++)
        for (size_t b = 0; b < cfg->feeds[a].nseries; b++) {
          ids = xrealloc(ids, (nids + 2) * sizeof(*ids));
          ids[nids++] = cfg->feeds[a].series[b].id;
          ids[nids] = NULL;
        }
      near = ids ? closest(t->series, ids, nids) : NULL;
      diag_add(d, t->series_pos.file, t->series_pos.line, t->series_pos.col,
               "target '%s': no feed produces series '%s'%s%s%s", tid,
               t->series, near ? "; did you mean '" : "", near ? near : "",
               near ? "'?" : "");
      free(ids);
    } else if (t->series && t->rule_ok) {
      enum series_kind k = s->meta.kind;
      enum rule_measure m = t->rule.measure;
      if ((m == MEASURE_TOTAL || m == MEASURE_GROWTH) && k == KIND_INSTANT)
        diag_add(d, t->rule_pos.file, t->rule_pos.line, t->rule_pos.col,
                 "target '%s': rule '%s' needs a cumulative or increment "
                 "series, but '%s' is instant (set kind: on the series)",
                 tid, rule_measure_name(m), t->series);
      if (m == MEASURE_MEAN && k != KIND_INSTANT)
        diag_add(d, t->rule_pos.file, t->rule_pos.line, t->rule_pos.col,
                 "target '%s': rule 'mean' needs an instant series, but '%s' "
                 "is %s",
                 tid, t->series, config_kind_name(k));
      if (!t->unit && s->meta.unit)
        t->unit = xstrdup(s->meta.unit);
    }
    if (!t->rule_ok)
      goto notify;
    if (t->pace.kind == PACE_SEASONAL && t->rule.measure != MEASURE_MEAN)
      diag_add(d, t->pace_pos.file, t->pace_pos.line, t->pace_pos.col,
               "target '%s': seasonal factors apply to mean rules; use "
               "profile for totals",
               tid);
    if ((t->pace.kind == PACE_PROFILE || t->pace.kind == PACE_SEASON) &&
        t->rule.measure == MEASURE_MEAN)
      diag_add(d, t->pace_pos.file, t->pace_pos.line, t->pace_pos.col,
               "target '%s': a mean rule takes seasonal factors, not a %s", tid,
               t->pace.kind == PACE_PROFILE ? "profile" : "season");
    if (t->validity == VALIDITY_GB3095 && t->rule.measure != MEASURE_MEAN)
      diag_add(d, t->validity_pos.file, t->validity_pos.line,
               t->validity_pos.col,
               "target '%s': validity gb3095 applies to mean rules only", tid);
    if (t->rule.op == OP_EQ && t->rule.value != 0)
      diag_add(d, t->rule_pos.file, t->rule_pos.line, t->rule_pos.col,
               "target '%s': '==' is supported for 0 only (as in "
               "\"latest == 0\"); use >= or <= otherwise",
               tid);
  notify:
    for (size_t j = 0; j < t->nnotify; j++) {
      if (!config_receiver(cfg, t->notify[j])) {
        const char **ids = xcalloc(cfg->nreceivers + 1, sizeof(*ids));
        const char *near;
        for (size_t a = 0; a < cfg->nreceivers; a++)
          ids[a] = cfg->receivers[a].id ? cfg->receivers[a].id : "";
        near = closest(t->notify[j], ids, cfg->nreceivers);
        diag_add(d, t->notify_pos[j].file, t->notify_pos[j].line,
                 t->notify_pos[j].col,
                 "target '%s': notify names unknown receiver '%s'%s%s%s", tid,
                 t->notify[j], near ? "; did you mean '" : "", near ? near : "",
                 near ? "'?" : "");
        free(ids);
      }
    }
  }
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
    if (get_nonempty(L, inc, "include", &globs[0]))
      nglobs = 1;
    else
      free(globs[0]); /* an empty string, already reported */
  } else if (want(L, inc, YDOC_SEQ, "include")) {
    globs = xcalloc(inc->n ? inc->n : 1, sizeof(*globs));
    for (size_t i = 0; i < inc->n; i++) {
      char *s = NULL;
      if (get_nonempty(L, inc->items[i], "include", &s))
        globs[nglobs++] = s;
      else
        free(s);
    }
  }
  for (size_t i = 0; i < nglobs; i++) {
    char *pattern = resolve_path(L, globs[i], false);
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc == 0) {
      for (size_t j = 0; j < g.gl_pathc; j++) {
        struct ydoc *doc;
        if (strcmp(g.gl_pathv[j], mainfile) == 0)
          continue;
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
  set_defaults(cfg);
  {
    const char *slash = strrchr(path, '/');
    L.dir = slash ? xstrndup(path, (size_t)(slash - path + (slash == path)))
                  : xstrdup(".");
  }
  if (!main_doc)
    goto out;
  L.file = intern_file(cfg, path);
  if (main_doc->root && !ydoc_is_null(main_doc->root) &&
      !want(&L, main_doc->root, YDOC_MAP, "the configuration"))
    goto out;
  L.docs = xcalloc(1, sizeof(*L.docs));
  L.docs[L.ndocs++] = main_doc;
  main_doc = NULL;
  if (L.docs[0]->root && L.docs[0]->root->kind == YDOC_MAP) {
    check_keys(&L, L.docs[0]->root, "the configuration", top_keys);
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
    if (!want(&L, root, YDOC_MAP, "a drop-in"))
      continue;
    if (i > 0)
      check_keys(&L, root, "a drop-in (main-file keys belong in the main file)",
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
  cross_check(&L);

out:
  ydoc_free(main_doc);
  for (size_t i = 0; i < L.ndocs; i++)
    ydoc_free(L.docs[i]);
  free(L.docs);
  for (size_t i = 0; i < L.nmetas; i++) {
    free(L.metas[i].id);
    meta_free(&L.metas[i].meta);
  }
  free(L.metas);
  strmap_free(&L.meta_index);
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
      free_kvs(f->series[j].where, f->series[j].nwhere);
      meta_free(&f->series[j].meta);
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
    free(f->records);
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
      !str_eq(a->records, b->records) || a->nseries != b->nseries)
    return false;
  for (size_t i = 0; i < a->nseries; i++) {
    const struct feed_series *x = &a->series[i], *y = &b->series[i];
    if (!str_eq(x->id, y->id) || !str_eq(x->path, y->path) ||
        x->column_index != y->column_index ||
        !kvs_eq(x->where, x->nwhere, y->where, y->nwhere) ||
        !meta_eq(&x->meta, &y->meta))
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

const char *config_format_name(enum feed_format f) {
  return format_names[f];
}

const char *config_kind_name(enum series_kind k) {
  static const char *const kinds[] = {"instant", "cumulative", "increment"};
  return kinds[k];
}

const char *config_receiver_type_name(enum receiver_type t) {
  return receiver_types[t];
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
