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
  if (op->argc > 7 && strcmp(op->argv[0], "EVALSHA") == 0 &&
      strcmp(op->argv[1], s->sha_many) == 0) {
    /* EVALSHA <sha> 4 <stream> <meta> <latest> <set> <series> ...:
     * {written, the earliest time rewritten or -1} */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_INTEGER &&
        r->element[1]->integer >= 0)
      s->on_history(s->history_data, op->argv[7], STORE_REWRITTEN,
                    (int64_t)r->element[1]->integer);
  } else if (op->argc == 4 && strcmp(op->argv[0], "XTRIM") == 0 &&
             r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
    /* XTRIM <prefix>s:<series> MINID <ms> */
    const char *prefix = s->cfg->redis.prefix;
    size_t pl = strlen(prefix);
    if (strncmp(op->argv[1], prefix, pl) == 0 &&
        strncmp(op->argv[1] + pl, "s:", 2) == 0)
      s->on_history(s->history_data, op->argv[1] + pl + 2, STORE_TRIMMED,
                    strtoll(op->argv[3], NULL, 10));
  }
}
