/* Writes a failover may have lost. Redis replicates asynchronously, and
 * even a write that WAIT saw on a replica is lost when the sentinels
 * promote another one (they choose by offsets up to a second old) or when
 * the demoted master resyncs from the new one. So, with sentinels, the
 * observations' upserts confirmed lately are kept, and sent again first
 * when the link comes up on another master than before. Upserts are
 * idempotent: an observation already there is left as it is. */
#include "store_private.h"

#include "clock.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* Confirmed this long ago at most: a failover's length (the sentinels'
 * down-after, their election, the promotion) with room to spare. */
#define REPLAY_MS (30 * MS_PER_SECOND)

struct kept {
  struct store_op *op;
  uint64_t at; /* loop time it was confirmed */
};

struct store_replay {
  struct kept *ring;
  size_t cap, head, len;
  char master[300]; /* where the kept writes were confirmed */
  size_t pending;   /* replays sent, not yet answered */
  uint64_t gen;     /* of the connection they went on */
};

static bool replayable(const struct store *s, const struct store_op *op) {
  return op->argc > 1 && strcmp(op->argv[0], "EVALSHA") == 0 &&
         (strcmp(op->argv[1], s->sha_many) == 0 ||
          strcmp(op->argv[1], s->sha) == 0);
}

static void drop_front(struct store_replay *r) {
  free(r->ring[r->head].op);
  r->head = (r->head + 1) % r->cap;
  r->len--;
}

static void age(struct store *s, uint64_t now) {
  struct store_replay *r = s->replay;
  while (r->len && (now - r->ring[r->head].at > (uint64_t)REPLAY_MS ||
                    r->len >= s->max_queue))
    drop_front(r);
}

void store_replay_keep(struct store *s, struct store_op *op) {
  struct store_replay *r = s->replay;
  uint64_t now = uv_now(s->loop);
  if (!rlink_uses_sentinel(&s->link) || !replayable(s, op) ||
      s->max_queue == 0) {
    free(op);
    return;
  }
  if (!r)
    r = s->replay = xcalloc(1, sizeof(*r));
  if (!r->master[0])
    snprintf(r->master, sizeof(r->master), "%s", s->link.where);
  age(s, now);
  if (r->len == r->cap) {
    size_t ncap = r->cap ? 2 * r->cap : 256;
    struct kept *n = xcalloc(ncap, sizeof(*n));
    for (size_t i = 0; i < r->len; i++)
      n[i] = r->ring[(r->head + i) % r->cap];
    free(r->ring);
    r->ring = n;
    r->cap = ncap;
    r->head = 0;
  }
  r->ring[(r->head + r->len) % r->cap] = (struct kept){op, now};
  r->len++;
}

struct replay_req {
  struct store *s;
  uint64_t gen;
};

static void on_replayed(redisAsyncContext *ac, void *reply, void *privdata) {
  struct replay_req *q = privdata;
  struct store *s = q->s;
  struct store_replay *r = s->replay;
  redisReply *rep = reply;
  (void)ac;
  if (r && q->gen == r->gen && r->pending) {
    if (rep && rep->type == REDIS_REPLY_ERROR)
      log_debug("store: a write sent again after the failover was refused: "
                "%s",
                rep->str);
    /* All answered on this master: they count as its writes from now. */
    if (--r->pending == 0 && rep)
      snprintf(r->master, sizeof(r->master), "%s", s->link.where);
  }
  free(q);
}

void store_replay_on_up(struct store *s) {
  struct store_replay *r = s->replay;
  size_t sent = 0;
  if (!r)
    return;
  r->gen++;
  r->pending = 0;
  age(s, uv_now(s->loop));
  if (strcmp(r->master, s->link.where) == 0 || !r->len) {
    snprintf(r->master, sizeof(r->master), "%s", s->link.where);
    return;
  }
  for (size_t i = 0; i < r->len; i++) {
    struct store_op *op = r->ring[(r->head + i) % r->cap].op;
    struct replay_req *q = xmalloc(sizeof(*q));
    q->s = s;
    q->gen = r->gen;
    if (rlink_command(&s->link, on_replayed, q, (int)op->argc,
                      (const char **)op->argv, op->len) < 0) {
      free(q);
      break;
    }
    sent++;
  }
  r->pending = sent;
  log_info("store: the master moved from %s to %s: the %zu observation "
           "write(s) of the last %d s sent again, in case the failover lost "
           "them",
           r->master, s->link.where, sent, (int)(REPLAY_MS / MS_PER_SECOND));
}

void store_replay_free(struct store *s) {
  struct store_replay *r = s->replay;
  if (!r)
    return;
  while (r->len)
    drop_front(r);
  free(r->ring);
  free(r);
  s->replay = NULL;
}
