/* One Redis connection that stays up. An attempt goes through named steps:
 *   begin_attempt -> [discover: ask Redis Sentinel where the master is] ->
 *   resolve_address (uv_getaddrinfo, never blocking the loop) ->
 *   open_context -> handshake (AUTH with an ACL user, SELECT, ROLE when
 *   the address came from Sentinel, PING) -> up
 * with a deadline over the whole attempt, PINGs while up, and retries with
 * exponential backoff and jitter. The backoff starts again from its
 * minimum only once the connection has done real work (rlink_confirm, or
 * some quiet PINGs): a server that accepts connections but refuses the
 * first write (OOM, LOADING, READONLY) is retried ever more slowly, not
 * ten times a second. A step that finds the address elsewhere (Sentinel)
 * belongs before resolve_address.
 *
 * The owner is told when the link comes up and goes down; commands are
 * accepted only while it is up. hiredis 0.14.1 rules apply: contexts are
 * never freed from inside hiredis' connect or disconnect callbacks. */
#ifndef INDICATORD_RLINK_H
#define INDICATORD_RLINK_H

#include <hiredis/async.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

enum rlink_state {
  RLINK_IDLE,        /* waiting to retry */
  RLINK_DISCOVERING, /* asking the sentinels for the master */
  RLINK_RESOLVING,   /* uv_getaddrinfo in flight */
  RLINK_CONNECTING,  /* TCP/unix connect in flight */
  RLINK_HANDSHAKE,   /* AUTH / SELECT / PING in flight */
  RLINK_UP,
  RLINK_CLOSING,
};

struct rlink_addr {
  const char *host;
  int port;
};

struct rlink_options {
  const char *host; /* host name, IP, or socket path; unused with sentinels */
  int port;         /* 0 for a unix socket */
  const char *user; /* NULL: default user */
  const char *password;
  int db;
  uint64_t connect_timeout_ms; /* 0: 5000 */
  uint64_t ping_interval_ms;   /* 0: 5000 */
  /* Redis Sentinel: before each attempt the master's address is asked
   * from these, and the server must say it is a master (ROLE). */
  const struct rlink_addr *sentinels;
  size_t nsentinels;
  const char *master;            /* the name the sentinels know it by */
  const char *sentinel_password; /* NULL: none */
  bool no_ping;                  /* subscribed connections cannot PING */
  const char *what;              /* for logs; NULL: "redis" */
  bool quiet;                    /* failures logged at debug only */
};

struct sentinel; /* sentinel.h */

struct rlink;
typedef void (*rlink_up_cb)(struct rlink *link);
typedef void (*rlink_down_cb)(struct rlink *link, const char *reason);

struct rlink {
  uv_loop_t *loop;
  struct rlink_options opt;  /* strings owned */
  char *host;                /* where the attempt goes: opt.host, or the */
  int port;                  /* master the sentinels named */
  char where[300];           /* "host:port" or "unix:path", for logs */
  struct sentinel *sentinel; /* NULL without sentinels */
  uv_timer_t check_timer;    /* asks the sentinels again while up */
  redisAsyncContext *ac;
  enum rlink_state state;
  uv_timer_t timer;      /* attempt deadline and retry */
  uv_timer_t ping_timer; /* liveness while up */
  uv_timer_t kill_timer; /* defers a forced disconnect out of callbacks */
  uv_getaddrinfo_t gai;
  bool gai_active;
  bool ping_outstanding;
  int quiet_pings;       /* answered since the link came up */
  bool confirmed;        /* the connection did real work */
  bool retarget;         /* new options: the next attempt starts at once */
  bool hurry;            /* the master moved: the next attempt starts at once */
  int sentinels_closing; /* replaced sentinel objects, until closed */
  bool trouble_said;     /* a failure was logged and its end not yet */
  uint64_t backoff_ms;
  uint32_t rng; /* retry jitter */
  char *kill_reason;
  char last_error[256];
  uint64_t connects, failures;
  int replicas; /* the master's replicas connected (ROLE), -1 unknown */
  rlink_up_cb on_up;
  rlink_down_cb on_down;
  void *data;
  int pending_closes; /* handles and the resolve, until closed */
  void (*on_closed)(struct rlink *link);
};

/* Starts connecting; failures to connect are retried (and reported
 * through on_down), so starting cannot fail. */
void rlink_start(struct rlink *link, uv_loop_t *loop,
                 const struct rlink_options *opt, rlink_up_cb on_up,
                 rlink_down_cb on_down, void *data);
/* Points the link at another server or credentials: the connection (or
 * the attempt) in progress is dropped and a new one starts at once. */
void rlink_set_options(struct rlink *link, const struct rlink_options *opt);
/* Whether opt differs from the link's (a reload checks before applying). */
bool rlink_options_differ(const struct rlink *link,
                          const struct rlink_options *opt);
bool rlink_is_up(const struct rlink *link);
/* The owner saw the connection work (a write acknowledged): the next loss
 * is retried quickly again, and a logged failure is declared over. */
void rlink_confirm(struct rlink *link);
/* Sends a command while up. Returns 0, or -ENOTCONN (cb is then not called).
 * cb gets a NULL reply when the connection is lost first. */
int rlink_command(struct rlink *link, redisCallbackFn *cb, void *privdata,
                  int argc, const char **argv, const size_t *argvlen);
/* Drops the connection (from anywhere, callbacks included) and reconnects
 * after the backoff; reason is logged. */
void rlink_reset(struct rlink *link, const char *reason);
/* The master may have moved (+switch-master, -READONLY): with sentinels,
 * asks them again at once, and drops the connection unless it goes to
 * host:port already (host NULL: in any case); without, as rlink_reset. */
void rlink_rediscover(struct rlink *link, const char *host, int port,
                      const char *reason);
/* Whether the link finds its server through Sentinel. */
bool rlink_uses_sentinel(const struct rlink *link);
/* Closes for good; on_closed runs once every handle is closed. */
void rlink_close(struct rlink *link, void (*on_closed)(struct rlink *link));

#endif
