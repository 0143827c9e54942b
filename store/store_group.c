/* Fenced groups: the writes queued between store_group_begin and
 * store_group_end go to Redis as one script call that runs them only while
 * a lease key holds the writer's name. An instance that lost its lease
 * (the leader's, a feed's) cannot overwrite what its successor wrote, even
 * with writes it queued, or spooled, while it still held it; and the
 * group's writes (a target's judgement and the notifications it queued)
 * land together or not at all. */
#include "store_private.h"

#include "log.h"
#include "upsert.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Our own scripts run inside the group as local functions, by these
 * names in place of EVALSHA and their SHA. */
#define NAME_ONE "!one"
#define NAME_MANY "!many"
#define NAME_TAIL "!tail"
#define NAME_TRIM "!trim"

struct store_group {
  char *key, *holder;
  char **argv; /* the commands: count, then its arguments */
  size_t *len;
  size_t argc, cap;
  size_t ncommands;
};

char *store_group_script(void) {
  return xasprintf(
      "local scripts = {}\n"
      "scripts['" NAME_ONE "'] = function(KEYS, ARGV)\n%s\nend\n"
      "scripts['" NAME_MANY "'] = function(KEYS, ARGV)\n%s\nend\n"
      "scripts['" NAME_TAIL "'] = function(KEYS, ARGV)\n%s\nend\n"
      "scripts['" NAME_TRIM "'] = function(KEYS, ARGV)\n%s\nend\n"
      "local cur = redis.call('GET', KEYS[1])\n"
      "if cur ~= ARGV[1] then\n"
      "  return redis.error_reply('FENCED ' .. KEYS[1] .. ' is held by ' .. "
      "(cur or 'nobody'))\n"
      "end\n"
      "local i = 2\n"
      "while i <= #ARGV do\n"
      "  local n = tonumber(ARGV[i])\n"
      "  local fn = scripts[ARGV[i + 1]]\n"
      "  if fn then\n"
      "    local nk = tonumber(ARGV[i + 2])\n"
      "    local keys, args = {}, {}\n"
      "    for j = 1, nk do keys[j] = ARGV[i + 2 + j] end\n"
      "    for j = i + 3 + nk, i + n do args[#args + 1] = ARGV[j] end\n"
      "    fn(keys, args)\n"
      "  else\n"
      "    redis.call(unpack(ARGV, i + 1, i + n))\n"
      "  end\n"
      "  i = i + n + 1\n"
      "end\n"
      "return 1\n",
      upsert_lua, upsert_many_lua, replace_tail_lua, trim_lua);
}

static void push_arg(struct store_group *g, const char *a, size_t len) {
  if (g->argc == g->cap) {
    g->cap = g->cap ? 2 * g->cap : 64;
    g->argv = xrealloc(g->argv, g->cap * sizeof(*g->argv));
    g->len = xrealloc(g->len, g->cap * sizeof(*g->len));
  }
  g->argv[g->argc] = xmalloc(len + 1);
  memcpy(g->argv[g->argc], a, len);
  g->argv[g->argc][len] = '\0';
  g->len[g->argc++] = len;
}

static const char *script_name(const struct store *s, const char *sha) {
  if (strcmp(sha, s->sha) == 0)
    return NAME_ONE;
  if (strcmp(sha, s->sha_many) == 0)
    return NAME_MANY;
  if (strcmp(sha, s->sha_tail) == 0)
    return NAME_TAIL;
  if (strcmp(sha, s->sha_trim) == 0)
    return NAME_TRIM;
  return NULL;
}

void store_group_add(struct store *s, int argc, const char **argv,
                     const size_t *argvlen) {
  struct store_group *g = s->group;
  const char *name = argc > 2 && strcmp(argv[0], "EVALSHA") == 0
                         ? script_name(s, argv[1])
                         : NULL;
  int from = name ? 2 : 0;
  char count[24];
  snprintf(count, sizeof(count), "%d", argc - from + (name ? 1 : 0));
  push_arg(g, count, strlen(count));
  if (name)
    push_arg(g, name, strlen(name));
  for (int i = from; i < argc; i++)
    push_arg(g, argv[i], argvlen ? argvlen[i] : strlen(argv[i]));
  g->ncommands++;
}

void store_set_fence(struct store *s, const char *key, const char *holder) {
  free(s->fence_key);
  free(s->fence_holder);
  s->fence_key = key && holder ? xstrdup(key) : NULL;
  s->fence_holder = key && holder ? xstrdup(holder) : NULL;
}

void store_group_begin(struct store *s, const char *key, const char *holder) {
  if (s->group_depth++ > 0)
    return;
  if (!key) {
    key = s->fence_key;
    holder = s->fence_holder;
  }
  if (!key || !holder || s->closing)
    return; /* no fence: the writes go as they come */
  s->group = xcalloc(1, sizeof(*s->group));
  s->group->key = xstrdup(key);
  s->group->holder = xstrdup(holder);
}

static void group_free(struct store_group *g) {
  for (size_t i = 0; i < g->argc; i++)
    free(g->argv[i]);
  free(g->argv);
  free(g->len);
  free(g->key);
  free(g->holder);
  free(g);
}

void store_group_end(struct store *s) {
  struct store_group *g = s->group;
  const char **argv;
  size_t *len, n;
  if (s->group_depth == 0 || --s->group_depth > 0 || !g)
    return;
  s->group = NULL;
  if (!g->ncommands) {
    group_free(g);
    return;
  }
  n = 5 + g->argc;
  argv = xcalloc(n, sizeof(*argv));
  len = xcalloc(n, sizeof(*len));
  argv[0] = "EVALSHA";
  argv[1] = s->sha_fence;
  argv[2] = "1";
  argv[3] = g->key;
  argv[4] = g->holder;
  for (size_t i = 0; i < 5; i++)
    len[i] = strlen(argv[i]);
  for (size_t i = 0; i < g->argc; i++) {
    argv[5 + i] = g->argv[i];
    len[5 + i] = g->len[i];
  }
  store_enqueue(s, store_op_new((int)n, argv, len));
  free(argv);
  free(len);
  group_free(g);
}

void store_group_discard(struct store *s) {
  if (s->group)
    group_free(s->group);
  s->group = NULL;
  s->group_depth = 0;
}
