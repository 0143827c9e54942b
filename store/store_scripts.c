/* The store's Lua scripts: loaded on every connection and called by SHA,
 * and remembered beside the spool (state_dir/scripts/<sha>.lua). A
 * spooled write names its script by the SHA of the version that spooled
 * it; after an upgrade that changed a script's text, Redis knows that SHA
 * only if the text is loaded again, and only the remembered copy has it.
 * So the scripts of earlier versions found there are kept, and loaded with
 * ours, while the spool still holds writes; once it is replayed they are
 * deleted. */
#include "store_private.h"

#include "file.h"
#include "log.h"
#include "upsert.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Far above any script of ours: what is larger is not one. */
#define MAX_SCRIPT_BYTES (1024 * 1024)
#define NCURRENT 5

void store_script_sha(const char *text, size_t len, char out[41]) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1((const unsigned char *)text, len, digest);
  for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
    snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* This version's scripts, in the order they are loaded. */
static void current(const struct store *s, const char *text[NCURRENT],
                    const char *sha[NCURRENT]) {
  text[0] = upsert_lua;
  sha[0] = s->sha;
  text[1] = upsert_many_lua;
  sha[1] = s->sha_many;
  text[2] = replace_tail_lua;
  sha[2] = s->sha_tail;
  text[3] = s->fence_lua;
  sha[3] = s->sha_fence;
  text[4] = trim_lua;
  sha[4] = s->sha_trim;
}

static bool is_current(const struct store *s, const char *sha) {
  const char *text[NCURRENT], *shas[NCURRENT];
  current(s, text, shas);
  for (int i = 0; i < NCURRENT; i++)
    if (strcmp(sha, shas[i]) == 0)
      return true;
  return false;
}

static struct store_script *find_old(const struct store *s, const char *sha) {
  for (size_t i = 0; i < s->nold_scripts; i++)
    if (strcmp(s->old_scripts[i].sha, sha) == 0)
      return &s->old_scripts[i];
  return NULL;
}

bool store_script_old(const struct store *s, const char *sha) {
  return find_old(s, sha) != NULL;
}

bool store_script_known(const struct store *s, const char *sha) {
  const struct store_script *old;
  if (is_current(s, sha))
    return true;
  /* One Redis would not load: NOSCRIPT for it is for good. */
  old = find_old(s, sha);
  return old && old->text && !old->refused;
}

/* "<40 hex digits>.lua", and the SHA in sha. */
static bool script_name(const char *name, char sha[41]) {
  size_t n = strlen(name);
  if (n != 44 || strcmp(name + 40, ".lua") != 0)
    return false;
  for (int i = 0; i < 40; i++)
    if (!((name[i] >= '0' && name[i] <= '9') ||
          (name[i] >= 'a' && name[i] <= 'f')))
      return false;
  memcpy(sha, name, 40);
  sha[40] = '\0';
  return true;
}

/* Keeps the first problem for the caller to log. */
static void note(int *rc, char *err, size_t errlen, int code, const char *fmt,
                 const char *what) {
  if (*rc < 0)
    return;
  *rc = code;
  snprintf(err, errlen, fmt, what, strerror(-code));
}

static int write_all(int fd, const char *buf, size_t len) {
  while (len) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* path holds text afterwards, whole or not at all (tmp + rename). */
static int write_script(const char *path, const char *text, bool durable) {
  char *tmp = xasprintf("%s.tmp", path);
  int fd, rc = 0;
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = -errno;
    free(tmp);
    return rc;
  }
  rc = write_all(fd, text, strlen(text));
  if (rc == 0 && durable && fsync(fd) != 0)
    rc = -errno;
  if (close(fd) != 0 && rc == 0)
    rc = -errno;
  if (rc == 0 && rename(tmp, path) != 0)
    rc = -errno;
  if (rc < 0)
    unlink(tmp);
  free(tmp);
  return rc;
}

/* Whether path holds exactly text already. */
static bool holds(const char *path, const char *text) {
  struct strbuf have = {0};
  const char *kind = NULL;
  size_t len = strlen(text);
  bool same = file_read(path, len + 1, &have, &kind) == 0 && have.len == len &&
              memcmp(have.buf, text, len) == 0;
  strbuf_free(&have);
  return same;
}

/* An earlier version's script found in dir: kept with its text when the
 * text is the one its name says (else only to be deleted later). */
static void keep_old(struct store *s, const char *dir, const char *sha, int *rc,
                     char *err, size_t errlen) {
  char *path = xasprintf("%s/%s.lua", dir, sha);
  struct strbuf text = {0};
  const char *kind = NULL;
  struct store_script *old;
  char got[41] = "";
  int r = file_read(path, MAX_SCRIPT_BYTES, &text, &kind);
  if (r == 0 && !memchr(text.buf ? text.buf : "", '\0', text.len))
    store_script_sha(text.buf ? text.buf : "", text.len, got);
  s->old_scripts =
      xrealloc(s->old_scripts, (s->nold_scripts + 1) * sizeof(*s->old_scripts));
  old = &s->old_scripts[s->nold_scripts++];
  memset(old, 0, sizeof(*old));
  snprintf(old->sha, sizeof(old->sha), "%s", sha);
  if (strcmp(got, sha) == 0) {
    old->text = strbuf_take(&text);
  } else if (r < 0) {
    note(rc, err, errlen, r, "cannot read %s: %s", path);
  } else if (*rc == 0) {
    *rc = -EINVAL;
    snprintf(err, errlen,
             "%s does not hold the script its name says; the spooled writes "
             "that call it will be refused",
             path);
  }
  strbuf_free(&text);
  free(path);
}

int store_scripts_remember(struct store *s, const char *state_dir,
                           bool spool_holds_writes, bool durable, char *err,
                           size_t errlen) {
  const char *text[NCURRENT], *sha[NCURRENT];
  char *dir = xasprintf("%s/scripts", state_dir);
  bool wrote = false;
  DIR *d;
  int rc = 0;
  current(s, text, sha);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    note(&rc, err, errlen, -errno, "cannot create %s: %s", dir);
  d = rc == 0 ? opendir(dir) : NULL;
  if (rc == 0 && !d)
    note(&rc, err, errlen, -errno, "cannot read %s: %s", dir);
  for (struct dirent *e; d && (e = readdir(d));) {
    char name[41], base[45];
    if (strlen(e->d_name) == 48 && strcmp(e->d_name + 44, ".tmp") == 0) {
      memcpy(base, e->d_name, 44);
      base[44] = '\0';
      if (script_name(base, name)) {
        /* A write a crash cut short. */
        char *path = xasprintf("%s/%s", dir, e->d_name);
        unlink(path);
        free(path);
        continue;
      }
    }
    if (!script_name(e->d_name, name) || is_current(s, name) ||
        find_old(s, name))
      continue;
    if (spool_holds_writes) {
      keep_old(s, dir, name, &rc, err, errlen);
    } else {
      char *path = xasprintf("%s/%s", dir, e->d_name);
      if (unlink(path) != 0 && errno != ENOENT)
        note(&rc, err, errlen, -errno, "cannot delete %s: %s", path);
      free(path);
    }
  }
  if (d)
    closedir(d);
  for (int i = 0; i < NCURRENT && d; i++) {
    char *path = xasprintf("%s/%s.lua", dir, sha[i]);
    if (!holds(path, text[i])) {
      int r = write_script(path, text[i], durable);
      if (r < 0)
        note(&rc, err, errlen, r, "cannot write %s: %s", path);
      wrote = wrote || r == 0;
    }
    free(path);
  }
  /* The names too must outlive a crash of the machine. */
  if (wrote && durable) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
      note(&rc, err, errlen, -errno, "cannot sync %s: %s", dir);
    if (fd >= 0)
      close(fd);
  }
  free(dir);
  return rc;
}

int store_scripts_forget_old(struct store *s, char *err, size_t errlen) {
  int rc = 0;
  for (size_t i = 0; i < s->nold_scripts; i++) {
    char *path =
        xasprintf("%s/scripts/%s.lua", s->spool_dir, s->old_scripts[i].sha);
    if (unlink(path) != 0 && errno != ENOENT)
      note(&rc, err, errlen, -errno, "cannot delete %s: %s", path);
    free(path);
  }
  store_scripts_free(s);
  return rc;
}

void store_scripts_free(struct store *s) {
  for (size_t i = 0; i < s->nold_scripts; i++)
    free(s->old_scripts[i].text);
  free(s->old_scripts);
  s->old_scripts = NULL;
  s->nold_scripts = 0;
}

/* ---- loading them on a connection ---- */

struct script_load {
  struct store *s;
  char sha[41];
};

static void on_script_loaded(redisAsyncContext *ac, void *r, void *privdata) {
  struct script_load *load = privdata;
  struct store *s = load->s;
  redisReply *reply = r;
  struct store_script *old = find_old(s, load->sha);
  (void)ac;
  if (!reply) {
    free(load);
    return;
  }
  if (old && reply->type == REDIS_REPLY_ERROR &&
      !store_permission_error(reply->str) &&
      !store_transient_error(reply->str)) {
    /* An earlier version's script this Redis does not take: its writes
     * are refused when they come, the rest goes on. */
    old->refused = true;
    log_warn("store: Redis does not load the script %s of an earlier "
             "version, which spooled writes call: %s; they will be refused",
             old->sha, reply->str);
  } else if (reply->type != REDIS_REPLY_STRING ||
             strcmp(reply->str, load->sha) != 0) {
    char why[256];
    snprintf(why, sizeof(why), "SCRIPT LOAD failed: %.200s",
             reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected SHA");
    /* rlink logs it (once) and retries with a growing backoff; /healthz
     * says why in the meantime. */
    if (reply->type == REDIS_REPLY_ERROR && store_permission_error(reply->str))
      snprintf(s->refusal, sizeof(s->refusal), "%s", why);
    free(load);
    rlink_reset(&s->link, why);
    return;
  }
  free(load);
  if (++s->scripts_loaded < s->scripts_to_load)
    return;
  s->script_loaded = true;
  store_replay_on_up(s);
  store_pump(s);
}

static int load(struct store *s, const char *text, const char *sha) {
  struct script_load *l = xmalloc(sizeof(*l));
  const char *argv[] = {"SCRIPT", "LOAD", text};
  int rc;
  l->s = s;
  snprintf(l->sha, sizeof(l->sha), "%s", sha);
  rc = rlink_command(&s->link, on_script_loaded, l, 3, argv, NULL);
  if (rc < 0)
    free(l);
  else
    s->scripts_to_load++;
  return rc;
}

int store_scripts_load(struct store *s) {
  const char *text[NCURRENT], *sha[NCURRENT];
  int rc = 0;
  current(s, text, sha);
  s->scripts_loaded = s->scripts_to_load = 0;
  for (int i = 0; i < NCURRENT && rc == 0; i++)
    rc = load(s, text[i], sha[i]);
  for (size_t i = 0; i < s->nold_scripts && rc == 0; i++)
    if (s->old_scripts[i].text && !s->old_scripts[i].refused)
      rc = load(s, s->old_scripts[i].text, s->old_scripts[i].sha);
  return rc;
}
