/* Redis Sentinel for rlink: asks the sentinels where the master is (the
 * first that answers, starting from the one that answered last), and
 * watches one of them for +switch-master. Each sentinel connection is an
 * rlink of its own (resolved off the loop, AUTH with the sentinels'
 * password), so nothing here blocks the loop. */
#ifndef INDICATORD_SENTINEL_H
#define INDICATORD_SENTINEL_H

#include "rlink.h"

#include <uv.h>

struct sentinel;
/* rc 0: host and port name the master; otherwise why says what each
 * sentinel answered. */
typedef void (*sentinel_found_cb)(void *data, int rc, const char *host,
                                  int port, const char *why);
/* A sentinel announced that the master moved to host:port. */
typedef void (*sentinel_switch_cb)(void *data, const char *host, int port);

/* opt: the sentinels, the master's name, the sentinels' password and the
 * connect timeout (copied). Starts watching at once. */
struct sentinel *sentinel_new(uv_loop_t *loop, const struct rlink_options *opt,
                              sentinel_switch_cb on_switch, void *data);
/* Asks where the master is; cb runs once, later (never from within this
 * call). An ask in progress is replaced: its cb does not run. */
void sentinel_ask(struct sentinel *sn, sentinel_found_cb cb, void *data);
/* The ask in progress (if any) is dropped: its cb does not run. */
void sentinel_cancel(struct sentinel *sn);
/* Closes every connection; on_closed(data) runs once all are closed, and
 * sn is freed then. */
void sentinel_close(struct sentinel *sn, void (*on_closed)(void *data));
/* Whether a sentinel's +switch-master channel is being listened to. */
bool sentinel_watching(const struct sentinel *sn);

#endif
