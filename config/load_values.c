#include "load.h"

#include "duration.h"
#include "file.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET_FILE_MAX (64 * 1024)
#define ID_MAX 128

void load_error(struct loader *L, const struct ydoc_node *n, const char *fmt,
                ...) {
  struct strbuf sb = {0};
  va_list ap;
  va_start(ap, fmt);
  strbuf_vaddf(&sb, fmt, ap);
  va_end(ap);
  diag_add(L->d, L->file, n ? n->line : 0, n ? n->col : 0, "%s", sb.buf);
  strbuf_free(&sb);
}

struct config_pos load_pos(struct loader *L, const struct ydoc_node *n) {
  struct config_pos p = {L->file, n ? n->line : 0, n ? n->col : 0, 0};
  return p;
}

const char *load_closest(const char *word, const char *const *cands, size_t n) {
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
void load_keys(struct loader *L, const struct ydoc_node *map, const char *where,
               const char *const *allowed) {
  for (size_t i = 0; i < map->n; i++) {
    const struct ydoc_node *k = map->keys[i];
    bool ok = false;
    for (size_t j = 0; allowed[j]; j++)
      if (strcmp(k->value, allowed[j]) == 0)
        ok = true;
    if (ok)
      continue;
    {
      const char *near = load_closest(k->value, allowed, count_strs(allowed));
      if (near) {
        load_error(L, k, "unknown key '%s' in %s; did you mean '%s'?", k->value,
                   where, near);
      } else {
        struct strbuf sb = {0};
        for (size_t j = 0; allowed[j]; j++)
          strbuf_addf(&sb, "%s%s", j ? ", " : "", allowed[j]);
        load_error(L, k, "unknown key '%s' in %s (expected one of: %s)",
                   k->value, where, sb.buf);
        strbuf_free(&sb);
      }
    }
  }
}

bool load_want(struct loader *L, const struct ydoc_node *n, enum ydoc_kind kind,
               const char *what) {
  if (n->kind == kind)
    return true;
  load_error(L, n, "%s must be %s, not %s", what, ydoc_kind_name(kind),
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
        load_error(L, n,
                   "unterminated ${ in text (write $${ for a literal ${)");
        ok = false;
        break;
      }
      len = (size_t)(end - (p + 2));
      if (len == 0 || len >= sizeof(name)) {
        load_error(L, n, "empty or overlong environment variable name in ${}");
        ok = false;
        break;
      }
      memcpy(name, p + 2, len);
      name[len] = '\0';
      for (size_t i = 0; i < len; i++)
        if (!(isalnum((unsigned char)name[i]) || name[i] == '_')) {
          load_error(L, n, "'%s' is not an environment variable name", name);
          ok = false;
          break;
        }
      if (!ok)
        break;
      val = getenv(name);
      if (!val) {
        load_error(L, n, "environment variable %s is not set", name);
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

static bool expand_scalar(void *ctx, const struct ydoc_node *n, char **out) {
  return expand_env(ctx, n, n->value, out);
}

struct ydoc_node *load_copy(struct loader *L, const struct ydoc_node *n) {
  return ydoc_copy(n, expand_scalar, L);
}

/* Text value (env-expanded). NULL node = not given: *out untouched. */
bool load_str(struct loader *L, const struct ydoc_node *n, const char *what,
              char **out) {
  char *v;
  if (!n)
    return true;
  if (!load_want(L, n, YDOC_SCALAR, what))
    return false;
  if (!expand_env(L, n, n->value, &v))
    return false;
  free(*out);
  *out = v;
  return true;
}

bool load_nonempty(struct loader *L, const struct ydoc_node *n,
                   const char *what, char **out) {
  if (!load_str(L, n, what, out))
    return false;
  if (n && !**out) {
    load_error(L, n, "%s must not be empty", what);
    return false;
  }
  return true;
}

bool load_bool(struct loader *L, const struct ydoc_node *n, const char *what,
               bool *out) {
  static const char *const t[] = {"true", "True", "TRUE", "yes", "on"};
  static const char *const f[] = {"false", "False", "FALSE", "no", "off"};
  if (!n)
    return true;
  if (!load_want(L, n, YDOC_SCALAR, what))
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
  load_error(L, n, "%s must be true or false, not '%s'", what, n->value);
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

bool load_number(struct loader *L, const struct ydoc_node *n, const char *what,
                 double *out) {
  char *s = NULL;
  bool ok;
  if (!n)
    return true;
  if (!load_str(L, n, what, &s))
    return false;
  ok = parse_double(s, out);
  if (!ok)
    load_error(L, n, "%s must be a finite number, not '%s'", what, s);
  free(s);
  return ok;
}

bool load_int(struct loader *L, const struct ydoc_node *n, const char *what,
              long min, long max, int *out) {
  double v;
  if (!n)
    return true;
  if (!load_number(L, n, what, &v))
    return false;
  if (v != floor(v) || v < (double)min || v > (double)max) {
    load_error(L, n, "%s must be a whole number from %ld to %ld", what, min,
               max);
    return false;
  }
  *out = (int)v;
  return true;
}

bool load_duration(struct loader *L, const struct ydoc_node *n,
                   const char *what, int64_t min_ms, bool allow_off,
                   int64_t *out) {
  char *s = NULL;
  int rc;
  if (!n)
    return true;
  if (!load_str(L, n, what, &s))
    return false;
  if (allow_off && strcmp(s, "off") == 0) {
    free(s);
    *out = 0;
    return true;
  }
  rc = duration_parse(s, out);
  if (rc == -ERANGE) {
    load_error(L, n, "%s '%s' is longer than 100 years", what, s);
  } else if (rc < 0) {
    load_error(L, n,
               "%s must be a duration such as 30s, 5m, 1h or 1d%s, not '%s'",
               what, allow_off ? " (or off)" : "", s);
  } else if (*out < min_ms) {
    char buf[32];
    duration_format(min_ms, buf, sizeof(buf));
    load_error(L, n, "%s must be at least %s", what, buf);
    rc = -EINVAL;
  }
  free(s);
  return rc == 0;
}

/* Sizes: plain bytes or with B, KiB, MiB, GiB, kB, MB, GB. */
bool load_size(struct loader *L, const struct ydoc_node *n, const char *what,
               size_t *out) {
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
  if (!load_str(L, n, what, &s))
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
    load_error(L, n,
               "%s must be a size from 1 byte to 1GiB such as 4MiB, not '%s'",
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

bool load_id(struct loader *L, const struct ydoc_node *n, const char *what,
             char **out) {
  if (!load_str(L, n, what, out))
    return false;
  if (!valid_id(*out)) {
    load_error(
        L, n,
        "%s '%s' may use only letters, digits, '_', '-' and '.' (at most %d)",
        what, *out, ID_MAX);
    return false;
  }
  return true;
}

/* Resolves a relative file name: $CREDENTIALS_DIRECTORY first when asked,
 * then beside the main config file. Caller frees. */
char *load_path(struct loader *L, const char *name, bool creds) {
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
  char *path = load_path(L, name, true);
  struct strbuf sb = {0};
  const char *kind = NULL;
  int rc = file_read(path, SECRET_FILE_MAX, &sb, &kind);
  bool ok = rc == 0;

  free(path);
  if (rc == -ENOTSUP)
    load_error(L, n, "%s: '%s' is %s, not a regular file", key, name, kind);
  else if (rc == -EFBIG)
    load_error(L, n, "%s: '%s' is larger than %d KiB", key, name,
               SECRET_FILE_MAX / 1024);
  else if (rc < 0)
    load_error(L, n, "%s: cannot read '%s': %s", key, name, strerror(-rc));
  /* One trailing newline is how editors and `echo` leave files. */
  while (ok && sb.len &&
         (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == '\r'))
    sb.buf[--sb.len] = '\0';
  if (ok && sb.len == 0) {
    load_error(L, n, "%s: '%s' is empty", key, name);
    ok = false;
  }
  if (ok && strlen(sb.buf) != sb.len) {
    load_error(L, n, "%s: '%s' contains a NUL byte", key, name);
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
bool load_secret(struct loader *L, const struct ydoc_node *map, const char *key,
                 char **out, bool *given) {
  char file_key[64];
  const struct ydoc_node *v = ydoc_get(map, key);
  const struct ydoc_node *f;
  snprintf(file_key, sizeof(file_key), "%s_file", key);
  f = ydoc_get(map, file_key);
  if (given)
    *given = v || f;
  if (v && f) {
    load_error(L, ydoc_key(map, file_key), "give %s or %s, not both", key,
               file_key);
    return false;
  }
  if (v) {
    if (!load_str(L, v, key, out))
      return false;
    if (!**out) {
      load_error(L, v, "%s must not be empty", key);
      return false;
    }
    return true;
  }
  if (f) {
    char *name = NULL;
    bool ok = load_nonempty(L, f, file_key, &name) &&
              read_secret_file(L, f, file_key, name, out);
    free(name);
    return ok;
  }
  return true;
}

/* Checks an http(s)/file URL. Secret URLs are never echoed. */
bool load_url(struct loader *L, const struct ydoc_node *n, const char *what,
              const char *url, bool allow_file) {
  const char *rest;
  if (strncmp(url, "http://", 7) == 0)
    rest = url + 7;
  else if (strncmp(url, "https://", 8) == 0)
    rest = url + 8;
  else if (allow_file && strncmp(url, "file://", 7) == 0) {
    if (url[7] != '/') {
      load_error(L, n, "%s: a file:// URL needs an absolute path (file:///...)",
                 what);
      return false;
    }
    /* A missing file may appear later; a FIFO would block the loop. */
    {
      const char *kind = NULL;
      if (file_check(url + 7, &kind) == -ENOTSUP) {
        load_error(L, n, "%s: '%s' is %s, not a regular file", what, url + 7,
                   kind);
        return false;
      }
    }
    return true;
  } else {
    const char *colon = strstr(url, "://");
    if (colon && colon - url < 16)
      load_error(L, n, "%s: scheme '%.*s' is not supported (use http, https%s)",
                 what, (int)(colon - url), url, allow_file ? " or file" : "");
    else
      load_error(L, n, "%s must be an absolute URL (http://, https://%s)", what,
                 allow_file ? " or file://" : "");
    return false;
  }
  if (!*rest || *rest == '/' || *rest == ':' || *rest == '?') {
    load_error(L, n, "%s has no host", what);
    return false;
  }
  for (const char *p = url; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f) {
      load_error(L, n, "%s contains a space or control character", what);
      return false;
    }
  return true;
}

/* The node as written, moved to the offending character when the value is
 * one line and was not changed by ${} expansion. */
struct ydoc_node load_at_offset(const struct ydoc_node *n, const char *text,
                                size_t at) {
  struct ydoc_node pos = *n;
  if (n->kind == YDOC_SCALAR && !strchr(n->value, '\n') &&
      strcmp(n->value, text) == 0)
    pos.col += (int)at + (n->quoted ? 1 : 0);
  return pos;
}

struct config_pos load_text_pos(struct loader *L, const struct ydoc_node *n,
                                const char *text) {
  struct config_pos p = load_pos(L, n);
  if (n->kind == YDOC_SCALAR && !strchr(n->value, '\n') &&
      strcmp(n->value, text) == 0)
    p.text_col = n->col + (n->quoted ? 1 : 0);
  return p;
}

char *load_join(const char *const *names, size_t n, const char *last) {
  struct strbuf sb = {0};
  for (size_t i = 0; i < n; i++)
    strbuf_addf(&sb, "%s%s", i == 0 ? "" : i + 1 == n ? last : ", ", names[i]);
  return strbuf_take(&sb);
}
