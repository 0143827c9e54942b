/* The leader's view of the feeds it does not poll: other instances tell
 * of their fetches in ind:fetches (cluster_fetched), which the leader
 * reads so that their targets are judged as if it had fetched them. */
#include "cluster_leader.h"

#include "clock.h"
#include "cluster_lua.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The leader reads ind:fetches this often. */
#define READ_EVERY_MS 250
#define READ_COUNT "10000"

static char *key_of(const struct cluster *cl, const char *kind) {
  return xasprintf("%s%s", cl->cfg->redis.prefix, kind);
}

static size_t index_of(const struct cluster *cl, const char *id) {
  const void *v = strmap_get(&cl->ids, id);
  return v ? (size_t)(uintptr_t)v - 1 : SIZE_MAX;
}

static void on_read(void *data, redisReply *reply) {
  struct cluster *cl = data;
  cl->reading = false;
  if (cl->closing || !cl->leader || !reply ||
      reply->type != REDIS_REPLY_ARRAY || reply->elements < 1)
    return;
  /* [[stream, [[id, [field, value, ...]], ...]]] */
  for (size_t s = 0; s < reply->elements; s++) {
    redisReply *st = reply->element[s];
    if (st->type != REDIS_REPLY_ARRAY || st->elements < 2 ||
        st->element[1]->type != REDIS_REPLY_ARRAY)
      continue;
    for (size_t e = 0; e < st->element[1]->elements; e++) {
      redisReply *entry = st->element[1]->element[e];
      const char *feed = NULL, *by = "";
      bool fresh = false;
      size_t i;
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
          entry->element[0]->type != REDIS_REPLY_STRING)
        continue;
      snprintf(cl->cursor, sizeof(cl->cursor), "%s", entry->element[0]->str);
      for (size_t k = 0; entry->element[1]->type == REDIS_REPLY_ARRAY &&
                         k + 1 < entry->element[1]->elements;
           k += 2) {
        redisReply *f = entry->element[1]->element[k];
        redisReply *v = entry->element[1]->element[k + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
          continue;
        if (strcmp(f->str, "feed") == 0)
          feed = v->str;
        else if (strcmp(f->str, "new") == 0)
          fresh = strcmp(v->str, "1") == 0;
        else if (strcmp(f->str, "by") == 0)
          by = v->str;
      }
      if (!feed || strcmp(by, cl->instance) == 0)
        continue; /* our own fetches are told directly */
      i = index_of(cl, feed);
      if (i != SIZE_MAX && cl->on_fetch)
        cl->on_fetch(cl->data, i, fresh);
    }
  }
}

static void on_read_timer(uv_timer_t *t) {
  struct cluster *cl = t->data;
  char *key;
  if (!cl->leader || cl->reading || !cl->cursor[0])
    return;
  key = key_of(cl, "fetches");
  {
    const char *argv[] = {"XREAD",   "COUNT", READ_COUNT,
                          "STREAMS", key,     cl->cursor};
    if (store_read(cl->store, 6, argv, NULL, on_read, cl) == 0)
      cl->reading = true;
  }
  free(key);
}

/* A new leader: feeds fetched lately count as fetched (their targets are
 * judged at once), and ind:fetches is read from its end on. */
static void on_gain(void *data, redisReply *reply) {
  struct cluster *cl = data;
  int64_t now = clock_wall_ms();
  redisReply *fetched;
  if (cl->closing || !cl->leader)
    return;
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_ARRAY ||
      reply->element[1]->type != REDIS_REPLY_STRING) {
    /* Read from the start of what the stream keeps instead. */
    snprintf(cl->cursor, sizeof(cl->cursor), "0-0");
    return;
  }
  snprintf(cl->cursor, sizeof(cl->cursor), "%s", reply->element[1]->str);
  fetched = reply->element[0];
  for (size_t i = 0; i < fetched->elements && i < cl->nfeeds; i++) {
    const struct feed *f = &cl->cfg->feeds[i];
    int64_t recent = 2 * f->every_ms > 2 * (int64_t)cl->lease_ms
                         ? 2 * f->every_ms
                         : 2 * (int64_t)cl->lease_ms;
    int64_t at;
    if (fetched->element[i]->type != REDIS_REPLY_STRING ||
        !fetched->element[i]->str[0])
      continue;
    at = strtoll(fetched->element[i]->str, NULL, 10);
    if (at >= now - recent && cl->on_fetch)
      cl->on_fetch(cl->data, i, false);
  }
}

void cluster_leader_start(struct cluster *cl) {
  const char **argv = xcalloc(cl->nfeeds + 4, sizeof(*argv));
  argv[0] = "EVAL";
  argv[1] = cluster_gain_lua;
  argv[2] = "0";
  argv[3] = cl->cfg->redis.prefix;
  for (size_t i = 0; i < cl->nfeeds; i++)
    argv[4 + i] = cl->cfg->feeds[i].id;
  cl->cursor[0] = '\0';
  if (store_read(cl->store, (int)(cl->nfeeds + 4), argv, NULL, on_gain, cl) < 0)
    snprintf(cl->cursor, sizeof(cl->cursor), "0-0");
  free(argv);
  uv_timer_start(&cl->read_timer, on_read_timer, READ_EVERY_MS, READ_EVERY_MS);
}

void cluster_leader_stop(struct cluster *cl) {
  uv_timer_stop(&cl->read_timer);
}
