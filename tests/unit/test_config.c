/* Config loader: a full valid config, one case per error class with the
 * exact file:line:col, drop-ins, env expansion, *_file and credentials, and
 * secrets kept out of messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "config_load.h"
#include "feed_format.h"
#include "receiver.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char data_dir[1024];
static char tmp_dir[256];

static void set_env(void) {
  setenv("TEST_AIR_TOKEN", "air-token-123", 1);
  setenv("TEST_JOBS_PASSWORD", "jobs-pw", 1);
  setenv("TEST_FEISHU_HOOK", "hookid", 1);
  setenv("TEST_FEISHU_SECRET", "feishu-secret-xyz", 1);
  unsetenv("CREDENTIALS_DIRECTORY");
  unsetenv("STATE_DIRECTORY");
}

static int setup(void **state) {
  (void)state;
  set_env();
  return 0;
}

static char *data_path(const char *name) {
  return xasprintf("%s/%s", data_dir, name);
}

/* Writes text to a fresh file in tmp_dir and returns its path. */
static char *write_tmp(const char *name, const char *text) {
  char *path = xasprintf("%s/%s", tmp_dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

static const struct target *find_target(const struct config *c,
                                        const char *id) {
  for (size_t i = 0; i < c->ntargets; i++)
    if (strcmp(c->targets[i].id, id) == 0)
      return &c->targets[i];
  return NULL;
}

static void full_config(void **state) {
  struct diag d = {0};
  char *path = data_path("full.yaml");
  struct config *c = config_load(path, &d);
  const struct feed *f;
  const struct feed_series *s;
  const struct target *t;
  (void)state;
  if (!c)
    diag_print(&d, stderr);
  assert_non_null(c);
  assert_int_equal(d.n, 0);

  assert_string_equal(c->timezone, "Asia/Shanghai");
  assert_string_equal(c->redis.host, "127.0.0.1");
  assert_int_equal(c->redis.port, 6390);
  assert_int_equal(c->redis.db, 2);
  assert_string_equal(c->redis.user, "indicatord");
  assert_string_equal(c->redis.password, "redis-secret-pw");
  assert_string_equal(c->redis.prefix, "t:");
  assert_string_equal(c->state_dir, "/tmp/indicatord-test");
  assert_false(c->listen_off);
  assert_string_equal(c->listen_host, "127.0.0.1");
  assert_int_equal(c->listen_port, 9464);
  assert_int_equal(c->log_level, LOG_LEVEL_DEBUG);
  assert_int_equal(c->evaluate_every_ms, 30 * 60000);
  assert_int_equal(c->alerts.repeat_ms, 12 * 3600000);
  assert_int_equal(c->alerts.digest_minute, 8 * 60 + 30);
  assert_string_equal(c->alerts.keyword, "【测试】");
  assert_string_equal(c->alerts.dashboard_url,
                      "http://grafana.local/d/indicatord");

  /* 5 feeds in the main file + 1 from the drop-in. */
  assert_int_equal(c->nfeeds, 6);
  f = config_feed(c, "air-liaoning");
  assert_non_null(f);
  assert_int_equal(f->every_ms, 3600000);
  assert_int_equal(f->timeout_ms, 20000);
  assert_int_equal(f->max_body, 1024 * 1024);
  assert_ptr_equal(f->format, &feed_json);
  assert_string_equal(f->time, "$.data.time");
  assert_int_equal(f->nheaders, 2);
  assert_string_equal(f->headers[0].key, "Authorization");
  assert_string_equal(f->headers[0].value, "Bearer air-token-123");
  assert_true(f->tls_verify);
  s = config_series(c, "pm25_shenyang", NULL);
  assert_non_null(s);
  assert_string_equal(s->path, "$.data.cities[?(@.name=='沈阳')].pm25");
  /* merged from the top-level series: section */
  assert_string_equal(s->meta.title, "PM2.5 沈阳");
  assert_string_equal(s->meta.unit, "µg/m³");
  assert_int_equal(s->meta.retention_ms, INT64_C(5) * 365 * 86400000);
  s = config_series(c, "pm25_dalian", NULL);
  assert_true(s->meta.has_min && s->meta.has_max);
  assert_true(s->meta.max == 1000);

  f = config_feed(c, "jobs");
  assert_ptr_equal(f->format, &feed_csv);
  assert_int_equal(f->every_ms, 86400000);
  assert_int_equal(f->timeout_ms, 30000); /* min(every, 30s) */
  assert_int_equal(f->time_format, TIMEFMT_STRPTIME);
  assert_string_equal(f->time_pattern, "%Y-%m");
  assert_string_equal(f->basic_user, "stats");
  assert_string_equal(f->basic_password, "jobs-pw");
  s = config_series(c, "jobs_hard", NULL);
  assert_string_equal(s->path, "3"); /* a column index */
  {
    const struct ydoc_node *w = feed_option(s->options, "where");
    assert_non_null(w);
    assert_int_equal(w->n, 1);
    assert_string_equal(w->keys[0]->value, "region");
    assert_string_equal(w->items[0]->value, "辽宁");
  }
  assert_int_equal(s->meta.kind, KIND_CUMULATIVE);

  f = config_feed(c, "chargers");
  assert_ptr_equal(f->format, &feed_prom);
  assert_string_equal(f->bearer_token, "chargers-bearer-token");
  f = config_feed(c, "tapwater");
  assert_ptr_equal(f->format, &feed_text);
  assert_null(f->series[0].path);
  f = config_feed(c, "history");
  assert_string_equal(feed_option(f->options, "records")->value, "$.data[*]");
  assert_int_equal(f->series[0].meta.at, AT_END);
  assert_int_equal(f->series[0].meta.kind, KIND_INCREMENT);

  assert_int_equal(c->ntargets, 6);
  t = find_target(c, "jobs-2026");
  assert_int_equal(t->rule.measure, MEASURE_TOTAL);
  assert_int_equal(t->rule.op, OP_GE);
  assert_true(t->rule.value == 450000);
  assert_int_equal(t->pace.kind, PACE_PROFILE);
  assert_true(t->pace.v[5] == 0.55);
  assert_int_equal(t->period.from_year, 2026);
  assert_int_equal(t->period.to_month, 12);
  assert_int_equal(t->period.to_day, 31);
  assert_int_equal(t->confirm, 3);
  assert_true(t->on_track == 0.97 && t->off_track == 0.85);
  assert_int_equal(t->nnotify, 1);
  assert_string_equal(t->notify[0], "ops-dingtalk");
  assert_null(t->group);
  assert_null(t->source);
  t = find_target(c, "pm25-2026");
  assert_int_equal(t->pace.kind, PACE_SEASONAL);
  assert_string_equal(t->group, "生态环境");
  assert_string_equal(t->source, "PM<sub>2.5</sub>年均浓度不高于33微克/立方米");
  assert_int_equal(t->validity, VALIDITY_GB3095);
  assert_int_equal(t->stale_after_ms, 3 * 86400000);
  assert_string_equal(t->unit, "µg/m³");
  assert_int_equal(t->confirm, 2);
  t = find_target(c, "chargers-2026");
  assert_int_equal(t->pace.kind, PACE_SEASON);
  assert_int_equal(t->pace.from_month, 4);
  assert_int_equal(t->pace.to_day, 15);
  assert_int_equal(t->period.from_month, 3);
  t = find_target(c, "tap-2026");
  assert_true(t->rule.percent);
  assert_true(t->has_baseline && t->baseline == 91.5);
  assert_int_equal(t->period.from_month, 7);
  t = find_target(c, "ecom-2026");
  assert_int_equal(t->rule.measure, MEASURE_GROWTH);
  assert_int_equal(t->period.from_month, 10);
  t = find_target(c, "roads-2026");
  assert_non_null(t);
  assert_string_equal(t->notify[0], "ops-feishu");

  assert_int_equal(c->nreceivers, 4);
  assert_string_equal(config_receiver(c, "ops-dingtalk")->secret,
                      "SECfromdatadir");
  assert_string_equal(
      config_receiver(c, "ops-dingtalk")->url,
      "https://oapi.dingtalk.com/robot/send?access_token=DTSECRETTOKEN");
  assert_string_equal(config_receiver(c, "ops-feishu")->url,
                      "https://open.feishu.cn/open-apis/bot/v2/hook/hookid");
  assert_string_equal(config_receiver(c, "tg")->chat_id, "-100123");
  assert_int_equal(config_receiver(c, "tg")->timeout_ms, 5000);
  assert_ptr_equal(config_receiver(c, "am")->type, &alertmanager_ops);

  config_free(c);
  diag_free(&d);
  free(path);
}

static void credentials_directory_first(void **state) {
  struct diag d = {0};
  char *path = data_path("full.yaml");
  char *creds = data_path("creds");
  struct config *c;
  (void)state;
  setenv("CREDENTIALS_DIRECTORY", creds, 1);
  c = config_load(path, &d);
  assert_non_null(c);
  assert_string_equal(config_receiver(c, "ops-dingtalk")->secret,
                      "SECfromcreds");
  /* Not in the credentials directory: found beside the config. */
  assert_string_equal(c->redis.password, "redis-secret-pw");
  unsetenv("CREDENTIALS_DIRECTORY");
  config_free(c);
  diag_free(&d);
  free(path);
  free(creds);
}

static void defaults(void **state) {
  struct diag d = {0};
  char *path = write_tmp("minimal.yaml", "feeds: []\n");
  struct config *c;
  (void)state;
  setenv("STATE_DIRECTORY", "/var/lib/indicatord:/var/lib/other", 1);
  c = config_load(path, &d);
  assert_non_null(c);
  assert_string_equal(c->timezone, "UTC");
  assert_string_equal(c->redis.host, "127.0.0.1");
  assert_int_equal(c->redis.port, 6379);
  assert_string_equal(c->redis.prefix, "ind:");
  assert_string_equal(c->state_dir, "/var/lib/indicatord");
  assert_int_equal(c->listen_port, 9464);
  assert_int_equal(c->evaluate_every_ms, 3600000);
  assert_int_equal(c->alerts.repeat_ms, 86400000);
  assert_int_equal(c->alerts.digest_minute, 540);
  assert_string_equal(c->alerts.keyword, "【指标告警】");
  unsetenv("STATE_DIRECTORY");
  config_free(c);
  diag_free(&d);
  free(path);
}

struct error_case {
  const char *yaml;
  const char *expect; /* the first diagnostic, without the "file:" part */
};

/* A feed and target that make the rest of each case valid. */
#define FEED                                                                   \
  "feeds:\n"                                                                   \
  "  - id: f\n"                                                                \
  "    url: http://127.0.0.1/x\n"                                              \
  "    series:\n"                                                              \
  "      s: {path: $.v, kind: cumulative}\n"

static const struct error_case error_cases[] = {
    /* syntax */
    {"feeds: [\n", "2:1: YAML syntax: did not find expected node content "
                   "while parsing a flow node"},
    {"log_level: info\nlog_level: debug\n",
     "2:1: duplicate key 'log_level' (first at line 1)"},
    /* past the scanned keys a map checks duplicates through a hash */
    {FEED "    headers: {h1: x, h2: x, h3: x, h4: x, h5: x, h6: x, h7: x, "
          "h8: x, h9: x, h3: x}\n",
     "6:78: duplicate key 'h3' (first at line 6)"},
    {"- 1\n", "1:1: the configuration must be a mapping, not a list"},
    /* unknown keys, did you mean */
    {"timezon: UTC\n", "1:1: unknown key 'timezon' in the configuration; did "
                       "you mean 'timezone'?"},
    {"redis: {zzz: 1}\n",
     "1:9: unknown key 'zzz' in redis (expected one of: url, user, password, "
     "password_file, prefix, max_queue, max_spool, spool_sync, sentinel, "
     "min_replicas)"},
    {FEED "    evry: 1h\n",
     "6:5: unknown key 'evry' in a feed; did you mean 'every'?"},
    /* types and ranges */
    {"listen: [1]\n", "1:9: listen must be a scalar, not a list"},
    {"log_level: loud\n",
     "1:12: log_level must be error, warn, info or debug, not 'loud'"},
    {FEED "targets:\n  - {id: t, series: s, rule: total >= 1, period: 2026, "
          "confirm: 0}\n",
     "7:65: confirm must be a whole number from 1 to 100"},
    {FEED "    max_body: huge\n",
     "6:15: max_body must be a size from 1 byte to 1GiB such as 4MiB, not "
     "'huge'"},
    {"listen: localhost\n",
     "1:9: listen must be HOST:PORT (e.g. 127.0.0.1:9464) or off"},
    /* durations */
    {FEED "    every: 10\n",
     "6:12: every must be a duration such as 30s, 5m, 1h or 1d, not '10'"},
    {FEED "    every: 500ms\n", "6:12: every must be at least 1s"},
    {FEED "    every: 1m\n    timeout: 2m\n",
     "7:14: timeout must not be longer than every"},
    /* periods */
    {FEED "targets:\n  - {id: t, series: s, rule: total >= 1, period: "
          "2026-Q5}\n",
     "7:50: period must be a year (2026), half (2026-H1), quarter (2026-Q2), "
     "month (2026-03) or {from: DATE, to: DATE}, not '2026-Q5'"},
    {FEED "targets:\n  - id: t\n    series: s\n    rule: total >= 1\n"
          "    period: {from: 2026-02-29, to: 2026-12-31}\n",
     "10:20: period from must be a date YYYY-MM-DD, not '2026-02-29'"},
    {FEED "targets:\n  - id: t\n    series: s\n    rule: total >= 1\n"
          "    period: {from: 2026-05-01, to: 2026-04-30}\n",
     "10:36: period ends before it starts"},
    /* timezones */
    {"timezone: Asia/Shanghia\n",
     "1:11: timezone 'Asia/Shanghia' is not an IANA time zone name (such as "
     "Asia/Shanghai)"},
    {"timezone: ../../etc/passwd\n",
     "1:11: timezone '../../etc/passwd' is not an IANA time zone name (such "
     "as Asia/Shanghai)"},
    /* URLs */
    {"feeds:\n  - id: f\n    url: gopher://x/y\n    series: {s: $.v}\n",
     "3:10: url: scheme 'gopher' is not supported (use http, https or file)"},
    {"feeds:\n  - id: f\n    url: file://relative\n    series: {s: $.v}\n",
     "3:10: url: a file:// URL needs an absolute path (file:///...)"},
    {"redis: {url: 'http://127.0.0.1'}\n",
     "1:14: redis url must start with redis:// or unix://"},
    /* several instances: sentinel and cluster */
    {"redis:\n  sentinel: {addresses: ['127.0.0.1:26379']}\n",
     "2:3: sentinel needs master: the name the sentinels monitor it by (their "
     "'sentinel monitor NAME ...' line)"},
    {"redis:\n  sentinel: {master: m}\n",
     "2:3: sentinel needs addresses: the sentinels to ask, e.g. "
     "[\"10.0.0.1:26379\", \"10.0.0.2:26379\"]"},
    {"redis:\n  url: redis://127.0.0.1:6379\n  sentinel: {addresses: "
     "['127.0.0.1:26379'], master: m}\n",
     "3:3: redis: give url or sentinel, not both (with sentinel the master's "
     "address comes from the sentinels)"},
    {"redis:\n  sentinel: {addresses: ['127.0.0.1:26379', 'nowhere'], "
     "master: m}\n",
     "2:45: sentinel address 'nowhere' must be HOST:PORT (e.g. "
     "\"10.0.0.1:26379\" or \"[::1]:26379\")"},
    {"redis:\n  sentinel: {addresses: [], master: m}\n",
     "2:25: sentinel addresses must list at least one HOST:PORT (each "
     "sentinel's address, e.g. \"10.0.0.1:26379\")"},
    {"redis:\n  sentinel: {addresses: ['h:1'], master: m, mastr: x}\n",
     "2:45: unknown key 'mastr' in sentinel; did you mean 'master'?"},
    {"redis: {min_replicas: 17}\n",
     "1:23: min_replicas must be a whole number from 0 to 16"},
    {"cluster: {lease: 500ms}\n", "1:18: lease must be at least 1s"},
    {"cluster: {lease: 1h}\n",
     "1:18: lease must be at most 10m: an instance that dies keeps its feeds "
     "and the leadership that long"},
    {"cluster: {instance: 'a b'}\n",
     "1:21: instance must be at most 200 characters without spaces or "
     "control characters"},
    {"cluster: {instnce: a}\n",
     "1:11: unknown key 'instnce' in cluster; did you mean 'instance'?"},
    {"cluster: [a]\n", "1:10: cluster must be a mapping, not a list"},
    {"receivers:\n  - {id: r, type: slack, url: file:///x}\n",
     "2:31: url: scheme 'file' is not supported (use http, https)"},
    /* rule grammar */
    {FEED "targets:\n  - id: t\n    series: s\n    rule: \"sum >= 3\"\n"
          "    period: 2026\n",
     "9:12: rule must start with a measure: total, mean, latest, growth, "
     "min or max (as in \"total >= 450000\")"},
    {FEED "targets:\n  - id: t\n    series: s\n    rule: growth in [4%, 3%]\n"
          "    period: 2026\n",
     "9:21: a band needs 0 < low < high"},
    {FEED "targets:\n  - id: t\n    series: s\n    rule: latest in [1, 2\n"
          "    period: 2026\n",
     "9:26: a band ends with ']'"},
    {"feeds:\n  - id: f\n    url: http://127.0.0.1/x\n    series:\n"
     "      s: {path: $.v}\ntargets:\n  - id: t\n    series: s\n"
     "    rule: min <= 3\n    period: 2026\n",
     "9:11: target 't': 'min' holds a floor all period: use >= or > (as in "
     "\"min >= 90\")"},
    {FEED "targets:\n  - id: t\n    series: s\n    rule: total => 3\n"
          "    period: 2026\n",
     "9:17: rule needs a comparison: >=, <=, >, <, == or in [low, high]"},
    {FEED "targets:\n  - id: t\n    series: s\n    rule: total >= 3 km\n"
          "    period: 2026\n",
     "9:22: unexpected text after the rule value"},
    /* cross references */
    {FEED "targets:\n  - id: t\n    series: ss\n    rule: total >= 1\n"
          "    period: 2026\n",
     "8:13: target 't': no feed produces series 'ss'; did you mean 's'?"},
    {FEED "  - id: g\n    url: http://127.0.0.1/y\n    series: {s: $.w}\n",
     "8:14: series 's' is already produced by feed 'f' at %s:5; a series "
     "comes from exactly one feed"},
    {FEED "  - id: f\n    url: http://127.0.0.1/y\n    series: {t: $.w}\n",
     "6:5: feed id 'f' is already used at %s:2"},
    {FEED "targets:\n  - id: t\n    series: s\n    rule: total >= 1\n"
          "    period: 2026\n    notify: [opps]\n"
          "receivers:\n  - {id: ops, type: slack, url: 'https://h/x'}\n",
     "11:14: target 't': notify names unknown receiver 'opps'; did you mean "
     "'ops'?"},
    {FEED "targets:\n  - id: t\n    series: s\n    rule: mean <= 1\n"
          "    period: 2026\n",
     "9:11: target 't': rule 'mean' needs an instant series, but 's' is "
     "cumulative"},
    {"series:\n  nope: {unit: km}\n",
     "2:3: series 'nope' is not produced by any feed"},
    {FEED "series:\n  s: {kind: instant}\n",
     "5:22: 'kind' of series 's' is also given in series: at %s:7"},
    /* secrets */
    {"redis: {password: a, password_file: b}\n",
     "1:22: give password or password_file, not both"},
    {"redis: {password_file: does-not-exist}\n",
     "1:24: password_file: cannot read 'does-not-exist': No such file or "
     "directory"},
    {"redis: {password: '${INDICATORD_TEST_UNSET}'}\n",
     "1:19: environment variable INDICATORD_TEST_UNSET is not set"},
    /* receivers */
    {"receivers:\n  - {id: r, type: slak, url: 'https://h/x'}\n",
     "2:19: type must be slack, discord, teams, feishu, dingtalk, wecom, "
     "telegram, webhook or alertmanager, not 'slak'; did you mean 'slack'?"},
    {"receivers:\n  - {id: r, type: telegram, url: 'https://h/x'}\n",
     "2:5: telegram receiver 'r' needs a chat_id"},
    {"receivers:\n  - {id: r, type: slack, url: 'https://h/x', secret: s}\n",
     "2:46: only dingtalk and feishu receivers sign messages with a secret"},
    /* group and source */
    {FEED "targets:\n  - id: t\n    series: s\n    rule: total >= 1\n"
          "    period: 2026\n    source: ''\n",
     "11:13: source must not be empty"},
    {FEED "targets:\n  - id: t\n    series: s\n    rule: total >= 1\n"
          "    period: 2026\n    group: [民生实事]\n",
     "11:12: group must be a scalar, not a list"},
    {FEED "targets:\n  - id: t\n    series: s\n    rule: total >= 1\n"
          "    period: 2026\n    soruce: x\n",
     "11:5: unknown key 'soruce' in a target; did you mean 'source'?"},
    /* pace */
    {FEED "targets:\n  - id: t\n    series: s\n    rule: total >= 1\n"
          "    period: 2026\n    pace: {profile: [0.1,0.2,0.3,0.4,0.5,0.6,"
          "0.7,0.8,0.9,0.95,0.99,0.98]}\n",
     "11:68: profile shares are cumulative: from 0 to 1 and never "
     "decreasing"},
    {FEED "targets:\n  - id: t\n    series: s\n    rule: total >= 1\n"
          "    period: 2026\n    pace: {season: {from: '13-01', to: "
          "'11-15'}}\n",
     "11:27: season from must be a day \"MM-DD\" such as \"04-01\""},
    /* alerts */
    {"alerts: {digest: '25:00'}\n",
     "1:18: digest must be a local time HH:MM (e.g. \"09:00\") or off"},
};

static void error_classes(void **state) {
  int failures = 0;
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++) {
    struct diag d = {0};
    char name[32];
    char *path, *expect, *got;
    struct config *c;
    snprintf(name, sizeof(name), "case%zu.yaml", i);
    path = write_tmp(name, error_cases[i].yaml);
    c = config_load(path, &d);
    if (c || d.n == 0) {
      fprintf(stderr, "case %zu: expected an error\n", i);
      config_free(c);
      failures++;
      continue;
    }
    {
      char *fmt = xasprintf("%%s:%s", error_cases[i].expect);
      struct strbuf sb = {0};
      /* Messages that cite another position in the same file. */
      strbuf_addf(&sb, fmt, path, path);
      expect = strbuf_take(&sb);
      free(fmt);
    }
    got = diag_format(&d, 0);
    if (strcmp(got, expect) != 0) {
      fprintf(stderr, "case %zu:\n  want %s\n  got  %s\n", i, expect, got);
      failures++;
    }
    free(got);
    free(expect);
    diag_free(&d);
    unlink(path);
    free(path);
  }
  assert_int_equal(failures, 0);
}

static void all_errors_reported(void **state) {
  static const char yaml[] = "timezone: Nowhere/City\n"
                             "log_level: loud\n"
                             "listen: nope\n"
                             "feeds:\n"
                             "  - id: a\n"
                             "    url: ftp://x\n"
                             "    format: xml\n"
                             "    series: {s: nope}\n"
                             "alerts: {repeat: never}\n";
  struct diag d = {0};
  char *path = write_tmp("many.yaml", yaml);
  struct config *c = config_load(path, &d);
  int lines[] = {1, 2, 3, 6, 7, 8, 9};
  (void)state;
  assert_null(c);
  if (d.n != ARRAY_SIZE(lines))
    diag_print(&d, stderr);
  assert_int_equal(d.n, ARRAY_SIZE(lines));
  for (size_t i = 0; i < d.n; i++)
    assert_int_equal(d.v[i].line, lines[i]);
  diag_free(&d);
  unlink(path);
  free(path);
}

static void dropin_rules(void **state) {
  struct diag d = {0};
  char *dir = xasprintf("%s/conf.d", tmp_dir);
  char *main_path, *drop, *got;
  struct config *c;
  (void)state;
  mkdir(dir, 0755);
  main_path = write_tmp("main.yaml", FEED);
  drop = write_tmp("conf.d/10-more.yaml",
                   "log_level: debug\n"
                   "targets:\n  - {id: t, series: s, rule: total >= 1, "
                   "period: 2026}\n");
  c = config_load(main_path, &d);
  assert_null(c);
  assert_int_equal(d.n, 1);
  got = diag_format(&d, 0);
  {
    char *want = xasprintf("%s:1:1: unknown key 'log_level' in a drop-in "
                           "(main-file keys belong in the main file) "
                           "(expected one of: feeds, series, targets, "
                           "receivers)",
                           drop);
    assert_string_equal(got, want);
    free(want);
  }
  free(got);
  diag_free(&d);
  /* Without the stray key, the default conf.d glob merges it. */
  unlink(drop);
  free(drop);
  drop = write_tmp("conf.d/10-more.yaml",
                   "targets:\n  - {id: t, series: s, rule: total >= 1, "
                   "period: 2026}\n");
  c = config_load(main_path, &d);
  assert_non_null(c);
  assert_int_equal(c->ntargets, 1);
  assert_string_equal(c->targets[0].pos.file, drop);
  config_free(c);
  diag_free(&d);
  unlink(drop);
  unlink(main_path);
  rmdir(dir);
  free(dir);
  free(drop);
  free(main_path);
}

static void secrets_never_in_messages(void **state) {
  static const char yaml[] =
      "redis:\n"
      "  url: redis://user:HUNTER2REDIS@127.0.0.1:99999\n"
      "feeds:\n"
      "  - id: f\n"
      "    url: ftp://x/?token=FEEDTOKEN99\n"
      "    headers: {Authorization: 'Bearer ${SECRET_HDR}\n  x'}\n"
      "    series: {s: 'nope'}\n"
      "receivers:\n"
      "  - {id: r, type: slack, url: 'ftp://hooks/SLACKSECRET77'}\n"
      "  - {id: q, type: wecom, url: 'https://q/?key=WECOMKEY55', secret: "
      "'SIGNSECRET66'}\n";
  static const char *const secrets[] = {"HUNTER2REDIS", "FEEDTOKEN99",
                                        "HDRVALUE44",   "SLACKSECRET77",
                                        "WECOMKEY55",   "SIGNSECRET66"};
  struct diag d = {0};
  char *path = write_tmp("secrets.yaml", yaml);
  struct config *c;
  (void)state;
  setenv("SECRET_HDR", "HDRVALUE44", 1);
  c = config_load(path, &d);
  assert_null(c);
  assert_true(d.n >= 5);
  for (size_t i = 0; i < d.n; i++) {
    char *m = diag_format(&d, i);
    for (size_t j = 0; j < ARRAY_SIZE(secrets); j++)
      if (strstr(m, secrets[j])) {
        fprintf(stderr, "secret %s leaked: %s\n", secrets[j], m);
        fail();
      }
    free(m);
  }
  diag_free(&d);
  unlink(path);
  free(path);
}

static void redaction(void **state) {
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"https://oapi.dingtalk.com/robot/send?access_token=abc",
       "https://oapi.dingtalk.com/robot/send?REDACTED"},
      {"https://hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXXXXXX",
       "https://hooks.slack.com/services/T0001/B0002/REDACTED"},
      {"https://api.telegram.org/bot123456:ABCdefGhIJ/sendMessage",
       "https://api.telegram.org/REDACTED/sendMessage"},
      {"redis://user:pw@10.0.0.1:6379/0", "redis://10.0.0.1:6379/0"},
      {"http://127.0.0.1:9093", "http://127.0.0.1:9093"},
  };
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char *r = config_redact_url(cases[i].in);
    assert_string_equal(r, cases[i].out);
    free(r);
  }
}

int main(void) {
  const char *dd = getenv("TEST_DATA");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(full_config, setup),
      cmocka_unit_test_setup(credentials_directory_first, setup),
      cmocka_unit_test_setup(defaults, setup),
      cmocka_unit_test_setup(error_classes, setup),
      cmocka_unit_test_setup(all_errors_reported, setup),
      cmocka_unit_test_setup(dropin_rules, setup),
      cmocka_unit_test_setup(secrets_never_in_messages, setup),
      cmocka_unit_test(redaction),
  };
  int rc;
  snprintf(data_dir, sizeof(data_dir), "%s", dd ? dd : "tests/data");
  snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/indicatord-test-config-XXXXXX");
  if (!mkdtemp(tmp_dir))
    return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  rmdir(tmp_dir);
  return rc;
}
