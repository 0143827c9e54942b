#include "store_history.h"

#include "store_private.h"

#include <stdlib.h>
#include <string.h>

void store_on_history(struct store *s, store_history_cb cb, void *data) {
  s->on_history = cb;
  s->history_data = data;
}

/* A write by an earlier version's script (a spooled write replayed after
 * an upgrade): what it did is not in a reply of known shape, so every
 * series among its keys is taken as changed anywhere. */
static void note_old(struct store *s, const struct store_op *op) {
  char *series_key = store_key(s, "s", "");
  size_t pl = strlen(series_key);
  long nkeys = strtol(op->argv[2], NULL, 10);
  for (long k = 0; k < nkeys && 3 + (size_t)k < op->argc; k++) {
    const char *key = op->argv[3 + k];
    if (strncmp(key, series_key, pl) == 0 && key[pl])
      s->on_history(s->history_data, key + pl, STORE_REWRITTEN,
                    STORE_HISTORY_ALL);
  }
  free(series_key);
}

void store_note_history(struct store *s, const struct store_op *op,
                        const redisReply *r) {
  if (!s->on_history)
    return;
  if (op->argc < 4 || strcmp(op->argv[0], "EVALSHA") != 0)
    return;
  if (store_script_old(s, op->argv[1])) {
    note_old(s, op);
  } else if (op->argc > 9 && strcmp(op->argv[1], s->sha_many) == 0) {
    /* EVALSHA <sha> 5 <stream> <meta> <latest> <set> <log> <series>
     * <writer> ...: {written, the earliest time rewritten or -1} */
    bool known = r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                 r->element[1]->type == REDIS_REPLY_INTEGER;
    if (!known)
      /* Not what the script returns: taken as the worst. */
      s->on_history(s->history_data, op->argv[8], STORE_REWRITTEN,
                    STORE_HISTORY_ALL);
    else if (r->element[1]->integer >= 0)
      s->on_history(s->history_data, op->argv[8], STORE_REWRITTEN,
                    (int64_t)r->element[1]->integer);
  } else if (op->argc >= 8 && strcmp(op->argv[1], s->sha_trim) == 0 &&
             r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
    /* EVALSHA <sha> 2 <stream> <log> <ms> <series> <writer>: removed */
    s->on_history(s->history_data, op->argv[6], STORE_TRIMMED,
                  strtoll(op->argv[5], NULL, 10));
  }
}
