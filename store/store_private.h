/* The store's internals, shared by its files (store.h lists them): the
 * queue (store.c) and the outage path through the spool (store_spool.c).
 * Not for other modules. */
#ifndef INDICATORD_STORE_PRIVATE_H
#define INDICATORD_STORE_PRIVATE_H

#include "store.h"
#include "store_op.h"

/* ---- the queue (store.c) ---- */

struct store_op *store_q_at(const struct store *s, size_t i);
void store_q_push(struct store *s, struct store_op *op);
struct store_op *store_q_pop(struct store *s);
void store_q_clear(struct store *s);
/* Sends what the queue holds, as far as Redis takes it. */
void store_pump(struct store *s);
/* Queues op (taken), or spools it while Redis does not take writes. */
void store_enqueue(struct store *s, struct store_op *op);

/* ---- fenced groups (store_group.c) ---- */

/* The script that runs a group: its fence, then its commands (our own
 * scripts among them as local functions). Caller frees. */
char *store_group_script(void);
/* Adds a command to the open group. */
void store_group_add(struct store *s, int argc, const char **argv,
                     const size_t *argvlen);
/* Drops an unfinished group (closing). */
void store_group_discard(struct store *s);

/* ---- writes a failover may have lost (store_replay.c) ---- */

/* A confirmed op (taken): kept a while with sentinels, else freed. */
void store_replay_keep(struct store *s, struct store_op *op);
/* Scripts loaded on a new connection: on another master than the kept
 * writes were confirmed on, they are sent again, before the queue. */
void store_replay_on_up(struct store *s);
void store_replay_free(struct store *s);

/* ---- errors (store.c) ---- */

/* Redis refuses for lack of permission (an ACL): an operator fixes it. */
bool store_permission_error(const char *e);
/* Redis cannot take it now (LOADING, BUSY, OOM, ...): sent again later. */
bool store_transient_error(const char *e);

/* ---- the scripts (store_scripts.c) ---- */

struct store_script {
  char sha[41];
  char *text;   /* NULL: the file did not hold it (deleted later only) */
  bool refused; /* Redis would not load it */
};

void store_script_sha(const char *text, size_t len, char out[41]);
/* Whether sha names a script Redis has once the store is up: ours, or an
 * earlier version's that spooled writes call. */
bool store_script_known(const struct store *s, const char *sha);
/* Whether sha names an earlier version's script (its replies unknown). */
bool store_script_old(const struct store *s, const char *sha);
/* Writes this version's scripts to state_dir/scripts/<sha>.lua (tmp and
 * rename; durable: fsynced), and reads the earlier versions' found there:
 * kept while the spool holds writes (they may call them), else deleted.
 * Returns 0, or a negative code with the first problem in err; the store
 * works on either way. */
int store_scripts_remember(struct store *s, const char *state_dir,
                           bool spool_holds_writes, bool durable, char *err,
                           size_t errlen);
/* The spool is replayed: the earlier versions' scripts are deleted from
 * spool_dir/scripts. Returns 0 or a negative code with why in err. */
int store_scripts_forget_old(struct store *s, char *err, size_t errlen);
void store_scripts_free(struct store *s);
/* Sends SCRIPT LOAD for every script on a new connection; the store is up
 * once all are answered. Returns 0 or -ENOTCONN. */
int store_scripts_load(struct store *s);

/* ---- the spool side (store_spool.c) ---- */

/* Once everything in the spool is in Redis, the file starts over. */
void store_spool_maybe_reset(struct store *s);
/* Redis does not take writes any more: what memory holds goes to the
 * spool, in front of what is there. */
void store_park(struct store *s);
/* op (taken) goes to the spool, or is counted lost when it is full. */
void store_spill(struct store *s, struct store_op *op);
/* Moves spooled writes back into memory until it holds want. */
void store_refill(struct store *s, size_t want);
/* Moves the spool to a reloaded state_dir once nothing waits in it. */
void store_spool_maybe_move(struct store *s);
/* spool_scan_start's callback. */
void store_spool_scanned(struct spool *sp, const char *warning);
/* Leaves the spool holding exactly what is not in Redis yet. */
void store_save_for_next_start(struct store *s);

#endif
