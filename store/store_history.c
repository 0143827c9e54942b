#include "store_history.h"

#include <stdlib.h>
#include <string.h>

void store_on_history(struct store *s, store_history_cb cb, void *data) {
  s->on_history = cb;
  s->history_data = data;
}

void store_note_history(struct store *s, const struct store_op *op,
                        const redisReply *r) {
  if (!s->on_history)
    return;
  if (op->argc < 8 || strcmp(op->argv[0], "EVALSHA") != 0)
    return;
  if (op->argc > 9 && strcmp(op->argv[1], s->sha_many) == 0) {
    /* EVALSHA <sha> 5 <stream> <meta> <latest> <set> <log> <series>
     * <writer> ...: {written, the earliest time rewritten or -1} */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_INTEGER &&
        r->element[1]->integer >= 0)
      s->on_history(s->history_data, op->argv[8], STORE_REWRITTEN,
                    (int64_t)r->element[1]->integer);
  } else if (strcmp(op->argv[1], s->sha_trim) == 0 &&
             r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
    /* EVALSHA <sha> 2 <stream> <log> <ms> <series> <writer>: removed */
    s->on_history(s->history_data, op->argv[6], STORE_TRIMMED,
                  strtoll(op->argv[5], NULL, 10));
  }
}
