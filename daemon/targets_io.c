/* What the target engine reads from Redis (the stored judgement, the
 * series, its grain) and writes to it (the judgement, events, the
 * trajectory), all writes through the store's ordered queue. */
#include "targets_private.h"

#include "timefmt.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading ---- */

static int64_t parse_ms(const char *s) {
  struct timefmt_value v;
  char err[64];
  if (!s || !*s ||
      timefmt_parse(s, strlen(s), TIMEFMT_ISO8601, NULL, &v, err, sizeof(err)))
    return 0;
  return v.start_ms;
}

void targets_io_restore(struct target_state *ts, const redisReply *r) {
  const char *status = store_hash_field(r, "status");
  const char *pending = store_hash_field(r, "pending");
  const char *count = store_hash_field(r, "pending_count");
  const char *data_ms = store_hash_field(r, "data_ms");
  const char *message = store_hash_field(r, "message");
  const char *vd = store_hash_field(r, "valid_days");
  enum eval_class c;
  ts->restored = true;
  if (!status || eval_class_parse(status, &c) < 0)
    return;
  ts->st.known = true;
  ts->st.cls = c;
  ts->st.pending = c;
  if (pending && eval_class_parse(pending, &c) == 0)
    ts->st.pending = c;
  ts->st.pending_count = count ? atoi(count) : 0;
  ts->st.since_ms = parse_ms(store_hash_field(r, "since"));
  /* data_ms is exact; data_time (seconds) was all older versions kept. */
  ts->st.data_ms = data_ms && *data_ms
                       ? strtoll(data_ms, NULL, 10)
                       : parse_ms(store_hash_field(r, "data_time"));
  ts->st.data_actual = store_hash_number(r, "actual");
  {
    const char *id = store_hash_field(r, "incident");
    const char *notified = store_hash_field(r, "incident_notified");
    const char *icls = store_hash_field(r, "incident_class");
    snprintf(ts->inc.id, sizeof(ts->inc.id), "%s", id ? id : "");
    ts->inc.notified = notified && strcmp(notified, "1") == 0;
    ts->inc.opened_ms = parse_ms(store_hash_field(r, "incident_opened"));
    ts->inc.last_notified_ms =
        parse_ms(store_hash_field(r, "incident_notified_at"));
    if (!icls || eval_class_parse(icls, &ts->inc.cls) < 0)
      ts->inc.cls = ts->st.cls;
  }
  /* Shown (table, /status, digest) until the target is judged again. */
  if (!ts->judged) {
    struct eval_result *res = &ts->res;
    memset(res, 0, sizeof(*res));
    res->raw = ts->st.cls;
    res->actual = store_hash_number(r, "actual");
    res->expected = store_hash_number(r, "expected");
    res->projected = store_hash_number(r, "projected");
    res->goal = store_hash_number(r, "goal");
    res->goal_low = store_hash_number(r, "goal_low");
    res->goal_high = store_hash_number(r, "goal_high");
    res->score = store_hash_number(r, "score");
    res->pace = store_hash_number(r, "pace");
    res->remaining_budget = store_hash_number(r, "remaining_budget");
    res->required_rate = store_hash_number(r, "required_rate");
    res->valid_days = vd && *vd ? atoi(vd) : -1;
    res->ref_ms = ts->st.data_ms;
    snprintf(ts->message, sizeof(ts->message), "%s", message ? message : "");
    ts->have_result = true;
  }
}

size_t targets_io_points(struct eval_tally *ta, const redisReply *r) {
  if (!r || r->type != REDIS_REPLY_ARRAY)
    return 0;
  for (size_t i = 0; i < r->elements; i++) {
    const redisReply *e = r->element[i];
    unsigned long long seq = 0;
    long long ms;
    double v = NAN;
    char *end;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
      continue;
    ms = strtoll(e->element[0]->str, &end, 10);
    if (*end == '-')
      seq = strtoull(end + 1, NULL, 10);
    /* The first field's value; an entry without one only moves the read
     * on. */
    if (e->element[1]->type == REDIS_REPLY_ARRAY &&
        e->element[1]->elements >= 2 &&
        e->element[1]->element[1]->type == REDIS_REPLY_STRING)
      v = strtod(e->element[1]->element[1]->str, NULL);
    eval_tally_add(ta, ms, seq, v);
  }
  return r->elements;
}

void targets_io_grain(struct target_state *ts, const redisReply *r) {
  ts->grain = GRAIN_INSTANT;
  if (r && r->type == REDIS_REPLY_STRING &&
      timefmt_grain_parse(r->str, &ts->grain) < 0)
    ts->grain = GRAIN_INSTANT;
}

/* ---- writing ---- */

static void put_num(const char **argv, char bufs[][40], int *k, const char *f,
                    double v) {
  argv[*k] = f;
  if (isfinite(v))
    store_format_value(v, bufs[*k], 40);
  else
    bufs[*k][0] = '\0';
  argv[*k + 1] = bufs[*k];
  *k += 2;
}

void targets_io_write(struct targets *tg, const struct target *t,
                      const struct target_state *ts, int64_t now) {
  const struct eval_result *r = &ts->res;
  char *key = store_key(tg->store, "t", t->id);
  char since[40], evaluated[40], deadline[40], data_time[40], data_ms[24];
  char vd[16], cnt[16], opened[40], notified_at[40];
  char bufs[72][40];
  const char *argv[72];
  int k = 0;
  timefmt_iso(ts->st.since_ms, since, sizeof(since));
  timefmt_iso(now, evaluated, sizeof(evaluated));
  timefmt_iso(r->period_end_ms - 1, deadline, sizeof(deadline));
  timefmt_iso(ts->st.data_ms, data_time, sizeof(data_time));
  snprintf(data_ms, sizeof(data_ms), "%lld", (long long)ts->st.data_ms);
  snprintf(vd, sizeof(vd), "%d", r->valid_days);
  snprintf(cnt, sizeof(cnt), "%d", ts->st.pending_count);
  argv[k++] = "HSET";
  argv[k++] = key;
  argv[k++] = "title";
  argv[k++] = t->title;
  argv[k++] = "status";
  argv[k++] = eval_class_name(ts->st.cls);
  argv[k++] = "since";
  argv[k++] = since;
  put_num(argv, bufs, &k, "actual", r->actual);
  put_num(argv, bufs, &k, "expected", r->expected);
  put_num(argv, bufs, &k, "projected", r->projected);
  put_num(argv, bufs, &k, "goal", r->goal);
  if (t->rule.op == OP_IN) {
    put_num(argv, bufs, &k, "goal_low", r->goal_low);
    put_num(argv, bufs, &k, "goal_high", r->goal_high);
  }
  put_num(argv, bufs, &k, "score", r->score);
  put_num(argv, bufs, &k, "pace", r->pace);
  put_num(argv, bufs, &k, "remaining_budget", r->remaining_budget);
  put_num(argv, bufs, &k, "required_rate", r->required_rate);
  argv[k++] = "required_rate_per";
  argv[k++] = isfinite(r->required_rate) ? EVAL_RATE_PER : "";
  argv[k++] = "deadline";
  argv[k++] = deadline;
  argv[k++] = "valid_days";
  argv[k++] = r->valid_days >= 0 ? vd : "";
  argv[k++] = "message";
  argv[k++] = ts->message;
  argv[k++] = "evaluated_at";
  argv[k++] = evaluated;
  /* Hysteresis state, so that a restart continues where it stood; data_ms
   * exactly, so that a pass over the same data is not new data. */
  argv[k++] = "pending";
  argv[k++] = eval_class_name(ts->st.pending);
  argv[k++] = "pending_count";
  argv[k++] = cnt;
  argv[k++] = "data_time";
  argv[k++] = ts->st.data_ms ? data_time : "";
  argv[k++] = "data_ms";
  argv[k++] = ts->st.data_ms ? data_ms : "";
  /* The alert incident, so a restart neither re-sends nor forgets. */
  timefmt_iso(ts->inc.opened_ms, opened, sizeof(opened));
  timefmt_iso(ts->inc.last_notified_ms, notified_at, sizeof(notified_at));
  argv[k++] = "incident";
  argv[k++] = ts->inc.id;
  argv[k++] = "incident_notified";
  argv[k++] = ts->inc.notified ? "1" : "0";
  argv[k++] = "incident_class";
  argv[k++] = eval_class_name(ts->inc.cls);
  argv[k++] = "incident_opened";
  argv[k++] = ts->inc.opened_ms ? opened : "";
  argv[k++] = "incident_notified_at";
  argv[k++] = ts->inc.last_notified_ms ? notified_at : "";
  store_command(tg->store, k, argv, NULL);
  free(key);

  key = store_key(tg->store, "status", NULL);
  {
    const char *a[] = {"HSET", key, t->id, eval_class_name(ts->st.cls)};
    store_command(tg->store, 4, a, NULL);
  }
  free(key);
  key = store_key(tg->store, "targets", NULL);
  {
    const char *a[] = {"SADD", key, t->id};
    store_command(tg->store, 3, a, NULL);
  }
  free(key);
}

void targets_io_event(struct targets *tg, const struct target *t,
                      enum eval_class from, bool first,
                      const struct target_state *ts) {
  char *key = store_key(tg->store, "events", NULL);
  const char *argv[] = {"XADD",
                        key,
                        "*",
                        "target",
                        t->id,
                        "from",
                        first ? "" : eval_class_name(from),
                        "to",
                        eval_class_name(ts->st.cls),
                        "message",
                        ts->message};
  store_command(tg->store, 11, argv, NULL);
  free(key);
}

void targets_io_trajectory(struct targets *tg, const struct target *t,
                           int64_t from_ms, const struct eval_traj *traj) {
  static const char *const fields[] = {"actual", "expected", "projected"};
  size_t n = traj->n;
  int64_t *times = xcalloc(n + 1, sizeof(*times));
  double *vals = xcalloc(3 * n + 1, sizeof(*vals));
  char *key = store_key(tg->store, "p", t->id);
  for (size_t i = 0; i < n; i++) {
    const struct eval_traj_point *p = &traj->p[i];
    times[i] = p->t;
    vals[3 * i] = p->actual;
    vals[3 * i + 1] = p->expected;
    vals[3 * i + 2] = p->projected;
  }
  store_replace_tail(tg->store, key, from_ms, fields, 3, times, vals, n);
  free(key);
  free(times);
  free(vals);
}
