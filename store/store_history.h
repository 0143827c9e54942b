/* What the store's writes did to the series' histories besides adding to
 * their ends (store_on_history in store.h), from Redis's replies. Private
 * to the store. */
#ifndef INDICATORD_STORE_HISTORY_H
#define INDICATORD_STORE_HISTORY_H

#include "store.h"
#include "store_op.h"

#include <hiredis/hiredis.h>

/* Tells the listener when op, acknowledged by r, rewrote a series from a
 * time on (the upsert script's reply) or trimmed it (XTRIM's count). */
void store_note_history(struct store *s, const struct store_op *op,
                        const redisReply *r);

#endif
