/* Incident logic: class sequences give exactly the expected notifications
 * (open, update, reminder, resolve; none for a flap that confirm
 * suppresses; a resolve only after a notified open), and routing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alerts_private.h"
#include "testutil.h"

struct fixture {
  uv_loop_t loop;
  struct config *cfg;
  struct store store;
  struct targets tg;
  struct alerts al;
};

static const char yaml[] =
    "timezone: Asia/Shanghai\n"
    "redis: {url: 'redis://127.0.0.1:1/0'}\n"
    "feeds:\n"
    "  - {id: f, url: 'http://127.0.0.1/x', series: {s: {path: $.v, kind: "
    "cumulative}}}\n"
    "targets:\n"
    "  - {id: a, series: s, rule: 'total >= 10', period: 2026, notify: [r1]}\n"
    "  - {id: b, series: s, rule: 'total >= 10', period: 2026}\n"
    "receivers:\n"
    "  - {id: r1, type: slack, url: 'https://h/1'}\n"
    "  - {id: r2, type: slack, url: 'https://h/2'}\n"
    "alerts: {repeat: 1h, digest: 'off'}\n";

static int setup_with(void **state, const char *text) {
  struct fixture *fx = xcalloc(1, sizeof(*fx));
  char err[200];
  uv_loop_init(&fx->loop);
  fx->cfg = test_config(text);
  if (!fx->cfg)
    return -1;
  /* Redis is unreachable: writes just queue in memory (no spool). */
  assert_int_equal(
      store_init(&fx->store, &fx->loop, fx->cfg, false, err, sizeof(err)), 0);
  targets_init(&fx->tg, &fx->loop, &fx->store, fx->cfg, false);
  assert_int_equal(
      alerts_init(&fx->al, &fx->loop, &fx->store, &fx->tg, fx->cfg, false), 0);
  *state = fx;
  return 0;
}

static int setup(void **state) {
  return setup_with(state, yaml);
}

static int setup_digest(void **state) {
  const char *at = strstr(yaml, "digest: 'off'");
  char *text = xasprintf("%.*sdigest: '09:00'%s", (int)(at - yaml), yaml,
                         at + strlen("digest: 'off'"));
  {
    int rc = setup_with(state, text);
    free(text);
    return rc;
  }
}

static int teardown(void **state) {
  struct fixture *fx = *state;
  alerts_close(&fx->al, NULL);
  targets_close(&fx->tg, NULL);
  store_close(&fx->store, NULL);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  config_free(fx->cfg);
  free(fx);
  return 0;
}

/* Feeds one evaluated class through hysteresis and the alert engine, as
 * targets_evaluate does; returns the kinds queued, space separated. */
static char *step(struct fixture *fx, size_t ti, enum eval_class raw,
                  int64_t ref, int64_t now) {
  const struct target *t = &fx->cfg->targets[ti];
  struct target_state *ts = &fx->tg.states[ti];
  enum eval_class before = ts->st.cls;
  bool first = !ts->st.known, changed;
  size_t n0 = fx->al.n;
  struct strbuf sb = {0};
  ts->res.raw = raw;
  ts->res.ref_ms = ref;
  ts->res.actual = (double)ref;
  changed = eval_next_class(t, &ts->res, now, &ts->st);
  snprintf(ts->message, sizeof(ts->message), "message");
  ts->have_result = true;
  alerts_on_eval(&fx->al, t, ts, before, first, changed, now);
  for (size_t i = n0; i < fx->al.n; i++)
    strbuf_addf(
        &sb, "%s%s@%s", sb.len ? " " : "",
        json_string_value(json_object_get(fx->al.items[i]->msg, "kind")),
        fx->al.items[i]->receiver_id);
  return strbuf_take(&sb);
}

#define STEP(fx, ti, cls, ref, now, want)                                      \
  do {                                                                         \
    char *got_ = step(fx, ti, cls, ref, now);                                  \
    if (strcmp(got_, want) != 0) {                                             \
      fprintf(stderr, "step %s at %lld: got '%s', want '%s'\n", #cls,          \
              (long long)(now), got_, want);                                   \
      free(got_);                                                              \
      fail();                                                                  \
    }                                                                          \
    free(got_);                                                                \
  } while (0)

static void sequences(void **state) {
  struct fixture *fx = *state;
  const int64_t H = 3600000;
  /* a routes to r1; r2 is named by no target, so it gets everything; b
   * (no notify:) goes only to r2 */
  STEP(fx, 0, CLASS_ON_TRACK, 1, 1000, "");
  STEP(fx, 0, CLASS_AT_RISK, 2, 2000, "");  /* confirm 1 of 2 */
  STEP(fx, 0, CLASS_ON_TRACK, 3, 3000, ""); /* flap: suppressed */
  STEP(fx, 0, CLASS_AT_RISK, 4, 4000, "");
  STEP(fx, 0, CLASS_AT_RISK, 4, 4500, ""); /* same data: no count */
  STEP(fx, 0, CLASS_AT_RISK, 5, 5000, "open@r1 open@r2"); /* confirmed */
  assert_true(fx->tg.states[0].inc.id[0] != '\0');
  STEP(fx, 0, CLASS_OFF_TRACK, 6, 6000, "");
  STEP(fx, 0, CLASS_OFF_TRACK, 7, 7000,
       "update@r1 update@r2"); /* same incident */
  /* reminders every hour while unresolved */
  alerts_reminders(&fx->al, 7000 + H - 1);
  assert_int_equal(fx->al.n, 4);
  alerts_reminders(&fx->al, 7000 + H);
  assert_int_equal(fx->al.n, 6);
  assert_string_equal(
      json_string_value(json_object_get(fx->al.items[4]->msg, "kind")),
      "reminder");
  alerts_reminders(&fx->al, 7000 + H + 10);
  assert_int_equal(fx->al.n, 6);
  /* off_track leaves only for on_track (hysteresis), then resolves */
  STEP(fx, 0, CLASS_AT_RISK, 8, 8000, "");
  STEP(fx, 0, CLASS_ON_TRACK, 9, 9000, "");
  STEP(fx, 0, CLASS_ON_TRACK, 10, 10000, "resolved@r1 resolved@r2");
  assert_true(fx->tg.states[0].inc.id[0] == '\0');
  /* one identity from the opening to the resolve (contract 6): the
   * incident, not the class, names the alert */
  assert_string_equal(
      json_string_value(json_object_get(fx->al.items[6]->msg, "incident")),
      json_string_value(json_object_get(fx->al.items[0]->msg, "incident")));
  assert_string_equal(
      json_string_value(json_object_get(fx->al.items[6]->msg, "prev_cls")),
      "off_track");
  /* first evaluation already bad: opens at once; no_data is bad too */
  STEP(fx, 1, CLASS_NO_DATA, 1, 1000, "open@r2");
  STEP(fx, 1, CLASS_ON_TRACK, 2, 2000, "resolved@r2");
  /* pending neither opens nor resolves */
  STEP(fx, 1, CLASS_PENDING, 3, 3000, "");
}

static void resolve_only_when_notified(void **state) {
  struct fixture *fx = *state;
  struct target_state *ts = &fx->tg.states[1];
  STEP(fx, 1, CLASS_AT_RISK, 1, 1000, "open@r2");
  /* an incident whose opening was never said (restored that way) */
  ts->inc.notified = false;
  STEP(fx, 1, CLASS_ON_TRACK, 2, 2000, "");
  STEP(fx, 1, CLASS_ON_TRACK, 3, 3000, "");
  assert_true(ts->inc.id[0] == '\0');
}

static int64_t local_ms(int y, int mo, int d, int h, int mi) {
  struct civil c = {y, mo, d, h, mi, 0, 0};
  return tz_local_to_ms(&c);
}

static void daily_digest(void **state) {
  struct fixture *fx = *state;
  for (size_t i = 0; i < fx->tg.n; i++) {
    fx->tg.states[i].have_result = true;
    fx->tg.states[i].st.known = true;
    fx->tg.states[i].st.cls = i ? CLASS_OFF_TRACK : CLASS_ON_TRACK;
    fx->tg.states[i].res.actual = 4;
    fx->tg.states[i].res.pace = 0.5;
  }
  alerts_digest(&fx->al, local_ms(2026, 11, 28, 8, 59));
  assert_int_equal(fx->al.n, 0);
  alerts_digest(&fx->al, local_ms(2026, 11, 28, 9, 0));
  /* one message per receiver: r1 lists a, r2 (no route) lists a and b */
  assert_int_equal(fx->al.n, 2);
  for (size_t i = 0; i < 2; i++) {
    json_t *m = fx->al.items[i]->msg;
    const char *text = json_string_value(json_object_get(m, "text"));
    bool r2 = strcmp(fx->al.items[i]->receiver_id, "r2") == 0;
    assert_string_equal(json_string_value(json_object_get(m, "kind")),
                        "digest");
    assert_non_null(strstr(text, "[####......]  40% a 正常 (on_track)"));
    assert_true((strstr(text, " b 滞后 (off_track)") != NULL) == r2);
  }
  alerts_digest(&fx->al, local_ms(2026, 11, 28, 18, 0));
  assert_int_equal(fx->al.n, 2); /* once a day */
  alerts_digest(&fx->al, local_ms(2026, 11, 29, 9, 1));
  assert_int_equal(fx->al.n, 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(sequences, setup, teardown),
      cmocka_unit_test_setup_teardown(resolve_only_when_notified, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(daily_digest, setup_digest, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
