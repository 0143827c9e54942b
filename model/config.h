/* The configuration as data (contract §3): the read-only structure every
 * layer reads, its lookups, and how it is freed. config/config_load.h
 * builds it from the YAML files; nothing else writes it. */
#ifndef INDICATORD_CONFIG_H
#define INDICATORD_CONFIG_H

#include "diag.h"
#include "log.h"
#include "period.h"
#include "rule.h"
#include "timefmt.h"
#include "ydoc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct feed_format;  /* formats/feed_format.h */
struct receiver_ops; /* receivers/receiver.h */

/* Where a value was written; file points into config->files. text_col is
 * the column of the value's first character when offsets into its text
 * are columns (one line, as written: no ${} expansion changed it), else
 * 0. */
struct config_pos {
  const char *file;
  int line, col;
  int text_col;
};

struct config_kv {
  char *key;
  char *value;
};

struct config_hostport {
  char *host; /* a name or an IP address */
  int port;
};

enum series_kind { KIND_INSTANT, KIND_CUMULATIVE, KIND_INCREMENT };
enum series_at { AT_DEFAULT, AT_START, AT_END };

struct series_meta {
  char *title;
  char *unit;
  enum series_kind kind;
  enum series_at at;
  bool has_min, has_max;
  double min, max;
  int64_t retention_ms; /* 0: keep everything */
};

/* One series a feed produces. */
struct feed_series {
  char *id;
  /* What the format's path key said: a JSONPath (json), a column name or
   * 1-based index (csv), a selector (prometheus); NULL for text feeds. */
  char *path;
  struct config_pos path_pos;
  /* The format's own series keys (feed_format.series_keys) as written,
   * ${}-expanded: a map node, or NULL when none is given. */
  struct ydoc_node *options;
  struct series_meta meta; /* merged with the top-level series: section */
  /* scale: every value is multiplied by it (1 when not given), exactly in
   * decimal; scale_auto: the publication's own unit multiplier and
   * decimals apply instead (formats that publish them). */
  double scale;
  bool scale_auto;
  struct config_pos pos;
};

struct feed {
  char *id;
  char *url; /* secret-bearing: log feed_redacted_url() only */
  int64_t every_ms;
  int64_t timeout_ms;
  size_t max_body;
  const struct feed_format *format;
  struct config_kv *headers; /* values are secret-bearing */
  size_t nheaders;
  char *basic_user, *basic_password; /* auth: {basic: {user, password}} */
  char *bearer_token;                /* auth: {bearer: TOKEN} */
  bool tls_verify;
  char *ca_file, *cert_file, *key_file;
  char *time; /* JSONPath / column / NULL (fetch time) */
  struct config_pos time_pos;
  enum timefmt_kind time_format;
  char *time_pattern; /* strptime pattern */
  /* The format's own feed keys (feed_format.feed_keys) as written,
   * ${}-expanded: a map node, or NULL when none is given. */
  struct ydoc_node *options;
  /* not_after: now: observations dated after the fetch (forecasts) are
   * dropped. */
  bool not_after_now;
  struct feed_series *series;
  size_t nseries;
  struct config_pos pos;
};

enum pace_kind { PACE_LINEAR, PACE_PROFILE, PACE_SEASON, PACE_SEASONAL };

struct pace {
  enum pace_kind kind;
  double v[12]; /* profile: cumulative shares; seasonal: monthly factors */
  int from_month, from_day, to_month, to_day; /* season */
};

enum validity { VALIDITY_NONE, VALIDITY_GB3095 };

struct target {
  char *id;
  char *title;
  char *series;
  char *unit;   /* from the series when not given */
  char *group;  /* the table's section heading; NULL: none */
  char *source; /* the sentence of the source document; NULL: none */
  struct rule rule;
  struct period period;
  struct pace pace;
  enum validity validity;
  double on_track, off_track; /* score thresholds */
  int confirm;
  bool has_baseline;
  double baseline;
  int64_t stale_after_ms; /* 0: derived from the feed and the data */
  char **notify;          /* receiver ids */
  size_t nnotify;
  struct config_pos pos;
  /* Where the cross-checked values were written, for diagnostics. */
  struct config_pos series_pos, rule_pos, pace_pos, validity_pos;
  struct config_pos *notify_pos;
  bool rule_ok;
};

struct receiver {
  char *id;
  const struct receiver_ops *type; /* receivers/receiver.h */
  char *url;                       /* secret */
  char *secret;  /* signing secret (dingtalk, feishu); NULL when unsigned */
  char *chat_id; /* telegram */
  int64_t timeout_ms;
  struct config_pos pos;
};

struct config {
  char **files; /* every file read, for config_pos.file */
  size_t nfiles;
  char *path; /* the main file */
  char *timezone;
  struct {
    char *url;  /* without password */
    char *user; /* NULL: default user */
    char *password;
    char *prefix;
    size_t max_queue;      /* writes held in memory while Redis is down */
    size_t max_spool;      /* bytes the spool may grow to */
    int64_t spool_sync_ms; /* the spool is fsynced at least this often */
    bool is_unix;
    char *host; /* or socket path */
    int port;
    int db;
    /* sentinel: instead of url, the master is asked from these (then
     * host/port above are unused). */
    struct config_hostport *sentinels;
    size_t nsentinels;
    char *sentinel_master;   /* NULL: no sentinel */
    char *sentinel_password; /* the sentinels' own; NULL: none */
    /* A write counts as done once this many replicas have it (WAIT). */
    int min_replicas;
  } redis;
  /* cluster: several instances share this configuration (contract §8). */
  struct {
    bool on;
    char *instance; /* unique among the live instances */
    int64_t lease_ms;
  } cluster;
  char *state_dir;
  bool listen_off;
  char *listen_host;
  int listen_port;
  enum log_level log_level;
  int64_t evaluate_every_ms;
  struct {
    int64_t repeat_ms; /* 0: no reminders */
    int digest_minute; /* minutes after local midnight; -1: off */
    char *keyword;
    char *dashboard_url;
  } alerts;
  struct feed *feeds;
  size_t nfeeds;
  struct target *targets;
  size_t ntargets;
  struct receiver *receivers;
  size_t nreceivers;
};

void config_free(struct config *cfg);

const struct feed *config_feed(const struct config *cfg, const char *id);
/* Whether two feeds would be fetched and parsed the same way. */
bool config_feed_equal(const struct feed *a, const struct feed *b);
/* The feed series with this id, and (optionally) its feed. */
const struct feed_series *config_series(const struct config *cfg,
                                        const char *id,
                                        const struct feed **feed);
const struct receiver *config_receiver(const struct config *cfg,
                                       const char *id);

const char *config_kind_name(enum series_kind k);

/* A URL safe to log: userinfo dropped, query and path tokens replaced by
 * "REDACTED". Caller frees. */
char *config_redact_url(const char *url);

#endif
