/* Our hiredis 0.14.1 adapter for libuv. Unlike the one Debian ships, it
 * forwards poll errors to hiredis (so a dead connection is noticed), checks
 * uv_poll_init_socket, and frees its state only in the close callback. */
#ifndef INDICATORD_REDIS_UV_H
#define INDICATORD_REDIS_UV_H

#include "util.h"

#include <hiredis/async.h>
#include <uv.h>

/* Attaches ac to loop. Returns 0, or a negative libuv error code (ac is then
 * untouched and still owned by the caller). */
MUST_CHECK int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif
