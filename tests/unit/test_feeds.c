/* The feed formats end to end through the real extractor: json (with and
 * without records), csv, prometheus and text, good and bad bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "feed_prom.h"
#include "testutil.h"

#include <errno.h>
#include <math.h>

#define FETCH_MS INT64_C(1795856400000) /* 2026-11-28T09:00:00Z */

static struct config *feed(const char *format, const char *extra,
                           const char *series) {
  char *yaml = xasprintf("timezone: Asia/Shanghai\n"
                         "feeds:\n"
                         "  - id: f\n"
                         "    url: http://127.0.0.1/x\n"
                         "    format: %s\n"
                         "%s"
                         "    series:\n%s",
                         format, extra, series);
  struct config *c = test_config(yaml);
  free(yaml);
  assert_non_null(c);
  return c;
}

static void run(struct config *c, const char *body, int want_rc,
                struct extract_out *out) {
  int rc = test_extract(c, body, strlen(body), FETCH_MS, out);
  if (rc != want_rc) {
    for (size_t i = 0; i < out->nerrs; i++)
      fprintf(stderr, "  error: %s\n", out->errs[i].msg);
  }
  assert_int_equal(rc, want_rc);
}

/* ---- json ---- */

static void json_basic(void **state) {
  struct config *c = feed("json", "    time: $.data.time\n",
                          "      a: $.data.cities[?(@.name=='沈阳')].pm25\n"
                          "      b: {path: $.data.b, kind: cumulative}\n"
                          "      c: $.data.s\n");
  struct extract_out out = {0};
  (void)state;
  run(c,
      "{\"data\":{\"time\":\"2026-11-27T10:00:00+08:00\",\"cities\":"
      "[{\"name\":\"沈阳\",\"pm25\":41.5},{\"name\":\"大连\",\"pm25\":30}],"
      "\"b\":1e3,\"s\":\" 12.25 \"}}",
      0, &out);
  assert_int_equal(out.nerrs, 0);
  assert_int_equal(out.n, 3);
  assert_string_equal(out.obs[0].series, "a");
  assert_true(out.obs[0].value == 41.5);
  assert_int_equal(out.obs[0].time_ms, INT64_C(1795744800000));
  assert_true(out.obs[1].value == 1000);
  assert_true(out.obs[2].value == 12.25);
  extract_out_free(&out);
  config_free(c);
}

static void json_period_placement(void **state) {
  /* "2026-10" names October: a cumulative series stands at its last ms, an
   * instant one at its first, at: overrides. */
  struct config *c = feed("json", "    time: $.m\n    time_format: \"%Y-%m\"\n",
                          "      cum: {path: $.v, kind: cumulative}\n"
                          "      inc: {path: $.v, kind: increment}\n"
                          "      inst: {path: $.v}\n"
                          "      early: {path: $.v, kind: cumulative, at: "
                          "start}\n");
  struct extract_out out = {0};
  (void)state;
  run(c, "{\"m\": \"2026-10\", \"v\": 5}", 0, &out);
  assert_int_equal(out.n, 4);
  assert_int_equal(out.obs[0].time_ms, INT64_C(1793462399999));
  assert_int_equal(out.obs[1].time_ms, INT64_C(1793462399999));
  assert_int_equal(out.obs[2].time_ms, INT64_C(1790784000000));
  assert_int_equal(out.obs[3].time_ms, INT64_C(1790784000000));
  extract_out_free(&out);
  config_free(c);
}

static void json_records(void **state) {
  struct config *c = feed("json",
                          "    records: $.data[*]\n    time: \"@.month\"\n"
                          "    time_format: \"%Y-%m\"\n",
                          "      jobs: {path: \"@.cum\", kind: cumulative}\n"
                          "      rate: \"@.rate\"\n");
  struct extract_out out = {0};
  (void)state;
  run(c,
      "{\"data\":[{\"month\":\"2026-01\",\"cum\":30000,\"rate\":5.1},"
      "{\"month\":\"2026-02\",\"cum\":61000},"
      "{\"month\":\"2026-03\",\"cum\":null,\"rate\":5.0}]}",
      0, &out);
  assert_int_equal(out.nerrs, 0);
  assert_int_equal(out.n, 4); /* gaps (missing, null) are skipped */
  assert_string_equal(out.obs[0].series, "jobs");
  assert_int_equal(out.obs[0].time_ms, INT64_C(1769875199999));
  assert_string_equal(out.obs[2].series, "jobs");
  assert_true(out.obs[2].value == 61000);
  assert_string_equal(out.obs[3].series, "rate");
  assert_int_equal(out.obs[3].time_ms, INT64_C(1772294400000)); /* Mar 1 */
  extract_out_free(&out);
  /* a record whose time is bad is reported and skipped */
  run(c,
      "{\"data\":[{\"month\":\"2026-13\",\"cum\":1},"
      "{\"month\":\"2026-02\",\"cum\":2}]}",
      0, &out);
  assert_int_equal(out.n, 1);
  assert_true(test_has_error(&out, "record 1: time @.month"));
  extract_out_free(&out);
  config_free(c);
}

static void json_errors(void **state) {
  struct config *c = feed("json", "", "      a: $.a\n      b: $.b[*]\n");
  struct config *ct = feed("json", "    time: $.t\n", "      a: $.a\n");
  struct config *mm =
      feed("json", "", "      a: {path: $.a, min: 0, max: 100}\n");
  struct extract_out out = {0};
  char deep[5000];
  (void)state;
  /* truncated */
  run(c, "{\"a\": 1, \"b\": [1, 2", -EINVAL, &out);
  assert_true(test_has_error(&out, "invalid JSON at line 1"));
  extract_out_free(&out);
  /* wrong types, none and several */
  run(c, "{\"a\": {\"x\": 1}, \"b\": [1, 2]}", 0, &out);
  assert_int_equal(out.n, 0);
  assert_true(test_has_error(&out, "series 'a' ($.a): selected an object"));
  assert_true(test_has_error(&out, "series 'b' ($.b[*]): selected 2 values"));
  extract_out_free(&out);
  run(c, "{\"b\": [true]}", 0, &out);
  assert_true(test_has_error(&out, "series 'a' ($.a): selected nothing"));
  assert_true(test_has_error(&out, "selected a boolean, not a number"));
  extract_out_free(&out);
  run(c, "{\"a\": \"12 apples\", \"b\": [null]}", 0, &out);
  assert_true(
      test_has_error(&out, "selected the string \"12 apples\", not a number"));
  assert_true(test_has_error(&out, "series 'b' ($.b[*]): no value (null)"));
  extract_out_free(&out);
  /* huge numbers: 1e400 is not JSON jansson accepts; 20 digits is fine */
  run(c, "{\"a\": 1e400, \"b\": [1]}", -EINVAL, &out);
  assert_true(test_has_error(&out, "invalid JSON"));
  extract_out_free(&out);
  run(c, "{\"a\": 123456789012345678901, \"b\": [1]}", 0, &out);
  assert_int_equal(out.n, 2);
  assert_true(out.obs[0].value > 1.2e20);
  extract_out_free(&out);
  run(c, "{\"a\": \"NaN\", \"b\": [\"inf\"]}", 0, &out);
  assert_int_equal(out.n, 0);
  extract_out_free(&out);
  /* deep nesting beyond jansson's limit is a clear error, not a crash */
  memset(deep, '[', sizeof(deep) - 1);
  deep[sizeof(deep) - 1] = '\0';
  run(c, deep, -EINVAL, &out);
  assert_true(test_has_error(&out, "invalid JSON"));
  extract_out_free(&out);
  /* bad UTF-8 */
  run(c, "{\"a\": \"\xff\"}", -EINVAL, &out);
  extract_out_free(&out);
  /* time problems fail the body */
  run(ct, "{\"a\": 1}", -EINVAL, &out);
  assert_true(test_has_error(&out, "time $.t selected nothing"));
  extract_out_free(&out);
  run(ct, "{\"a\": 1, \"t\": \"yesterday\"}", -EINVAL, &out);
  assert_true(test_has_error(&out, "time $.t: expected a 4-digit year"));
  extract_out_free(&out);
  /* min/max name the value */
  run(mm, "{\"a\": -3}", 0, &out);
  assert_true(test_has_error(&out, "series 'a': value -3 is below min 0"));
  extract_out_free(&out);
  run(mm, "{\"a\": 250}", 0, &out);
  assert_true(test_has_error(&out, "value 250 is above max 100"));
  extract_out_free(&out);
  config_free(c);
  config_free(ct);
  config_free(mm);
}

static void times_out_of_range(void **state) {
  /* Redis refuses stream IDs before the epoch and a 9999-12-31 placeholder
   * would stay the latest value forever: both are errors for that
   * observation, the others are kept. */
  struct config *c = feed("json", "    records: $[*]\n    time: \"@.t\"\n",
                          "      a: \"@.v\"\n");
  struct extract_out out = {0};
  (void)state;
  run(c,
      "[{\"t\": \"1969-12-31\", \"v\": 1}, {\"t\": \"1970\", \"v\": 2},"
      " {\"t\": \"2026-11-27\", \"v\": 3}, {\"t\": \"9999-12-31\", \"v\": 4},"
      " {\"t\": \"2028-01-05\", \"v\": 5}]",
      0, &out);
  assert_int_equal(out.n, 1);
  assert_true(out.obs[0].value == 3);
  assert_int_equal(out.nerrs, 4);
  assert_true(test_has_error(&out, "series 'a' (record 1): time "
                                   "1969-12-31T00:00:00+08:00 is before "
                                   "1970-01-02"));
  assert_true(test_has_error(&out, "time 1970-01-01T00:00:00+08:00 is before"));
  assert_true(test_has_error(&out, "time 9999-12-31T00:00:00+08:00 is more "
                                   "than 400 days after the fetch"));
  assert_true(test_has_error(&out, "time 2028-01-05T00:00:00+08:00 is more "
                                   "than 400 days"));
  assert_string_equal(out.errs[0].series, "a");
  extract_out_free(&out);
  config_free(c);
}

static void json_epoch_times(void **state) {
  struct config *c =
      feed("json", "    time: $.t\n    time_format: epoch\n", "      a: $.a\n");
  struct config *m = feed("json", "    time: $.t\n    time_format: epoch_ms\n",
                          "      a: $.a\n");
  struct extract_out out = {0};
  (void)state;
  run(c, "{\"t\": 1795856400, \"a\": 1}", 0, &out);
  assert_int_equal(out.obs[0].time_ms, FETCH_MS);
  extract_out_free(&out);
  run(c, "{\"t\": \"1795856400\", \"a\": 1}", 0, &out);
  assert_int_equal(out.obs[0].time_ms, FETCH_MS);
  extract_out_free(&out);
  run(m, "{\"t\": 1795856400123, \"a\": 1}", 0, &out);
  assert_int_equal(out.obs[0].time_ms, FETCH_MS + 123);
  extract_out_free(&out);
  config_free(c);
  config_free(m);
}

/* ---- csv ---- */

static void csv_basic(void **state) {
  struct config *c = feed("csv", "    time: 月份\n    time_format: \"%Y-%m\"\n",
                          "      jobs: {column: 累计, kind: cumulative}\n"
                          "      third: {column: 3, kind: increment}\n");
  struct extract_out out = {0};
  (void)state;
  /* BOM, CRLF, quoted fields with commas, quotes and newlines */
  run(c,
      "\xEF\xBB\xBF月份,累计,当月,说明\r\n"
      "2026-01,30500,30500,\"a, b\"\r\n"
      "2026-02,63500,33000,\"say \"\"hi\"\"\nsecond line\"\r\n"
      "2026-03,,,\r\n",
      0, &out);
  assert_int_equal(out.nerrs, 0);
  assert_int_equal(out.n, 4);
  assert_string_equal(out.obs[0].series, "jobs");
  assert_true(out.obs[0].value == 30500);
  assert_int_equal(out.obs[0].time_ms, INT64_C(1769875199999));
  assert_string_equal(out.obs[3].series, "third");
  assert_true(out.obs[3].value == 33000);
  extract_out_free(&out);
  config_free(c);
}

static void csv_where(void **state) {
  struct config *c = feed("csv", "    time: date\n",
                          "      ln: {column: value, where: {region: 辽宁, "
                          "kind: pm25}}\n");
  struct extract_out out = {0};
  (void)state;
  run(c,
      "date,region,kind,value\n"
      "2026-11-01,辽宁,pm25,31\n"
      "2026-11-01,吉林,pm25,29\n"
      "2026-11-01,辽宁,pm10,60\n"
      "2026-11-02,辽宁,pm25,35\n",
      0, &out);
  assert_int_equal(out.n, 2);
  assert_true(out.obs[0].value == 31 && out.obs[1].value == 35);
  /* a date names a day; an instant series stands at its start */
  assert_int_equal(out.obs[1].time_ms, INT64_C(1793548800000));
  extract_out_free(&out);
  config_free(c);
}

static void csv_errors(void **state) {
  struct config *c = feed("csv", "    time: t\n", "      a: v\n");
  struct config *nc = feed("csv", "", "      a: nope\n");
  struct extract_out out = {0};
  (void)state;
  /* a ragged row (a footnote) is an error for that row; the others are
   * read */
  run(c, "t,v\n2026-01-01,1\n2026-01-02\n", 0, &out);
  assert_true(test_has_error(&out, "row 3 has 1 fields; the header has 2"));
  assert_int_equal(out.n, 1);
  extract_out_free(&out);
  run(c, "t,v\n2026-01-01,1,9\n", 0, &out);
  assert_true(test_has_error(&out, "row 2 has 3 fields"));
  assert_int_equal(out.n, 0);
  extract_out_free(&out);
  run(c, "t,v\n2026-01-01,\"unterminated\n", -EINVAL, &out);
  assert_true(test_has_error(&out, "invalid CSV"));
  extract_out_free(&out);
  run(c, "t,v\n2026-01-01,a\"b\n", -EINVAL, &out);
  assert_true(test_has_error(&out, "invalid CSV"));
  extract_out_free(&out);
  run(c, "t,v\n2026-01-01,\xc3\x28\n", -EINVAL, &out);
  assert_true(test_has_error(&out, "not UTF-8 (byte 16)"));
  extract_out_free(&out);
  run(c, "", -EINVAL, &out);
  assert_true(test_has_error(&out, "no header row"));
  extract_out_free(&out);
  run(c, "x,v\n1,2\n", -EINVAL, &out);
  assert_true(test_has_error(&out, "time column 't' is not in the header"));
  extract_out_free(&out);
  run(c, "t,v\n2026-01-01,1 200\n2026-13-01,5\n", 0, &out);
  assert_true(
      test_has_error(&out, "row 2 column 'v': '1 200' is not a number"));
  assert_true(test_has_error(&out, "row 3: time '2026-13-01'"));
  extract_out_free(&out);
  run(nc, "a,b\n1,2\n", 0, &out);
  assert_true(test_has_error(&out, "column 'nope' is not in the header"));
  extract_out_free(&out);
  config_free(c);
  config_free(nc);
}

/* ---- prometheus ---- */

struct scan {
  struct prom_selector *sels[8];
  struct prom_found found[8];
  size_t n;
  char err[256];
};

static int scan(struct scan *sc, const char *body, size_t len,
                enum prom_dialect d, const char *const *selectors) {
  char why[128];
  size_t at;
  for (size_t i = 0; i < sc->n; i++)
    feed_prom_selector_free(sc->sels[i]);
  sc->n = 0;
  for (; selectors[sc->n]; sc->n++)
    assert_int_equal(feed_prom_selector_parse(selectors[sc->n],
                                              &sc->sels[sc->n], why,
                                              sizeof(why), &at),
                     0);
  sc->err[0] = '\0';
  return feed_prom_scan(body, len, d, sc->sels, sc->n, sc->found, sc->err,
                        sizeof(sc->err));
}

static void scan_free(struct scan *sc) {
  for (size_t i = 0; i < sc->n; i++)
    feed_prom_selector_free(sc->sels[i]);
}

static char *read_example(const char *rel, size_t *len) {
  const char *dir = getenv("EXAMPLES_DIR");
  char *path = xasprintf("%s/%s", dir ? dir : "conf/examples", rel);
  FILE *f = fopen(path, "rb");
  char *buf = xmalloc(1 << 16);
  assert_non_null(f);
  *len = fread(buf, 1, (1 << 16) - 1, f);
  buf[*len] = '\0';
  fclose(f);
  free(path);
  return buf;
}

static void openmetrics_recording(void **state) {
  static const char *const sels[] = {
      "ev_chargers_installed{province=\"liaoning\"}",
      "grid_load_megawatts{region=\"shenyang\"}",
      "feed_requests_total{code=\"200\"}",
      "ev_chargers_installed_created{province=\"jilin\"}",
      "ev_chargers_installed",
      "scrape_duration_seconds_bucket{le=\"1.0\"}",
      "grid_load",
      NULL};
  struct scan sc = {0};
  size_t len;
  char *body = read_example("openmetrics/metrics.txt", &len);
  (void)state;
  assert_int_equal(scan(&sc, body, len, PROM_OPENMETRICS, sels), 0);
  /* a counter family's name picks its _total sample, not _created */
  assert_int_equal(sc.found[0].count, 1);
  assert_true(sc.found[0].value == 41236);
  assert_true(sc.found[0].has_ts);
  assert_int_equal(sc.found[0].ts_ms, INT64_C(1774972800000));
  /* seconds with a fraction */
  assert_int_equal(sc.found[1].count, 1);
  assert_true(sc.found[1].value == 8123.5);
  assert_int_equal(sc.found[1].ts_ms, INT64_C(1775012345250));
  /* the exemplar after " # " is neither the value nor the time */
  assert_int_equal(sc.found[2].count, 1);
  assert_true(sc.found[2].value == 10234);
  assert_false(sc.found[2].has_ts);
  assert_true(sc.found[3].value == 1767196800.0);
  assert_int_equal(sc.found[4].count, 2);
  assert_true(sc.found[5].value == 120);
  assert_int_equal(sc.found[6].count, 0);
  /* read as Prometheus text, the same body has no valid timestamp */
  assert_int_equal(scan(&sc, body, len, PROM_TEXT, sels), -EINVAL);
  assert_non_null(strstr(sc.err, "line 3: bad timestamp"));
  scan_free(&sc);
  free(body);
}

static void openmetrics_errors(void **state) {
  static const char *const sels[] = {"m", "c", NULL};
  static const struct {
    const char *body, *why; /* why NULL: accepted */
  } cases[] = {
      {"m 1 1.5\n# EOF\n", NULL},
      {"m 1\n# EOF", NULL},
      {"m 1\n# EOF\n\n", NULL},
      {"m 1\n", "no # EOF line: the body is cut short"},
      {"m 1\n# EOF\nm 2\n", "line 3: text after # EOF"},
      {"m 1 1.5e\n# EOF\n", "line 1: bad timestamp"},
      {"m 1 12 13\n# EOF\n", "line 1: bad timestamp"},
      {"m 1 1e300\n# EOF\n", "line 1: bad timestamp"},
      {"m 1 # {a=\"b\"} 2 3\n# EOF\n", NULL},
      {"m{k=\"v\"} 1\nm{k=\"v\"} 2\n# EOF\n", "line 2: duplicate sample"},
      /* c is a gauge: c_total is another metric, not its value */
      {"# TYPE c gauge\nc_total 5\n# EOF\n", NULL},
  };
  struct scan sc = {0};
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    int rc =
        scan(&sc, cases[i].body, strlen(cases[i].body), PROM_OPENMETRICS, sels);
    if (cases[i].why ? rc != -EINVAL || !strstr(sc.err, cases[i].why)
                     : rc != 0) {
      fprintf(stderr, "case %zu: rc %d (%s)\n", i, rc, sc.err);
      fail();
    }
  }
  assert_int_equal(scan(&sc, "m 1 1.5\n# EOF\n", strlen("m 1 1.5\n# EOF\n"),
                        PROM_OPENMETRICS, sels),
                   0);
  assert_int_equal(sc.found[0].ts_ms, 1500);
  assert_int_equal(scan(&sc, "# TYPE c gauge\nc_total 5\n# EOF\n",
                        strlen("# TYPE c gauge\nc_total 5\n# EOF\n"),
                        PROM_OPENMETRICS, sels),
                   0);
  assert_int_equal(sc.found[1].count, 0);
  assert_int_equal(scan(&sc, "# TYPE c counter\nc_total 5\n# EOF\n",
                        strlen("# TYPE c counter\nc_total 5\n# EOF\n"),
                        PROM_OPENMETRICS, sels),
                   0);
  assert_int_equal(sc.found[1].count, 1);
  assert_true(sc.found[1].value == 5);
  /* Prometheus text knows no families: c is only c */
  assert_int_equal(scan(&sc, "# TYPE c counter\nc_total 5\n",
                        strlen("# TYPE c counter\nc_total 5\n"), PROM_TEXT,
                        sels),
                   0);
  assert_int_equal(sc.found[1].count, 0);
  scan_free(&sc);
}

static void prom_basic(void **state) {
  struct config *c =
      feed("prometheus", "",
           "      ln: {metric: 'chargers_total{province=\"辽宁\"}', kind: "
           "cumulative}\n"
           "      up: 'up'\n"
           "      esc: 'weird{path=\"C:\\\\dir\\\\\", q=\"say \\\"x\\\"\"}'\n");
  struct extract_out out = {0};
  (void)state;
  run(c,
      "# HELP chargers_total Installed chargers.\n"
      "# TYPE chargers_total counter\n"
      "chargers_total{province=\"辽宁\",city=\"all\"} 98000 1793462399999\n"
      "chargers_total{province=\"吉林\",city=\"all\"} 50000\n"
      "up 1\n"
      "weird{q=\"say \\\"x\\\"\",path=\"C:\\\\dir\\\\\"} 7.5e0\n",
      0, &out);
  assert_int_equal(out.nerrs, 0);
  assert_int_equal(out.n, 3);
  assert_true(out.obs[0].value == 98000);
  assert_int_equal(out.obs[0].time_ms, INT64_C(1793462399999));
  assert_int_equal(out.obs[1].time_ms, FETCH_MS);
  assert_true(out.obs[2].value == 7.5);
  extract_out_free(&out);
  config_free(c);
}

static void prom_errors(void **state) {
  struct config *c = feed("prometheus", "", "      a: 'm{k=\"v\"}'\n");
  struct config *any = feed("prometheus", "", "      a: m\n");
  struct extract_out out = {0};
  (void)state;
  run(c, "m{k=\"v\"} 1\nm{k=\"v\"} 2\n", -EINVAL, &out);
  assert_true(test_has_error(&out, "line 2: duplicate sample of m"));
  extract_out_free(&out);
  run(any, "m{k=\"v\"} 1\nm{k=\"w\"} 2\n", 0, &out);
  assert_true(test_has_error(&out, "2 samples match"));
  extract_out_free(&out);
  run(c, "m{k=\"w\"} 1\n", 0, &out);
  assert_true(test_has_error(&out, "no sample matches"));
  extract_out_free(&out);
  run(c, "m{k=\"v\"} NaN\n", 0, &out);
  assert_true(test_has_error(&out, "not a finite number"));
  extract_out_free(&out);
  run(c, "m{k=\"v\" 1\n", -EINVAL, &out);
  assert_true(test_has_error(&out, "line 1: expected ',' or '}'"));
  extract_out_free(&out);
  run(c, "m{k=\"v\"} one\n", -EINVAL, &out);
  assert_true(test_has_error(&out, "line 1: expected a sample value"));
  extract_out_free(&out);
  run(c, "m{k=\"v\"} 1 tomorrow\n", -EINVAL, &out);
  assert_true(test_has_error(&out, "line 1: bad timestamp"));
  extract_out_free(&out);
  run(c, "9m 1\n", -EINVAL, &out);
  assert_true(test_has_error(&out, "line 1: expected a metric name"));
  extract_out_free(&out);
  config_free(c);
  config_free(any);
}

/* ---- text ---- */

static void text_bodies(void **state) {
  struct config *c = feed("text", "", "      a: ~\n");
  struct extract_out out = {0};
  (void)state;
  run(c, "  93.2\n", 0, &out);
  assert_int_equal(out.n, 1);
  assert_true(out.obs[0].value == 93.2);
  assert_int_equal(out.obs[0].time_ms, FETCH_MS);
  extract_out_free(&out);
  run(c, "93.2 %", -EINVAL, &out);
  extract_out_free(&out);
  run(c, "", -EINVAL, &out);
  extract_out_free(&out);
  run(c, "0x10", -EINVAL, &out);
  extract_out_free(&out);
  run(c, "inf", -EINVAL, &out);
  extract_out_free(&out);
  config_free(c);
}

static void config_checks_paths(void **state) {
  /* The config rejects what the extractor could not compile, with the
   * column of the offending character. */
  struct diag d = {0};
  char path[] = "/tmp/indicatord-unit-pathXXXXXX.yaml";
  int fd = mkstemps(path, 5);
  FILE *f = fdopen(fd, "w");
  struct config *c;
  char *m;
  (void)state;
  fputs("feeds:\n"
        "  - id: f\n"
        "    url: http://127.0.0.1/x\n"
        "    series:\n"
        "      a: $.data[?(@.k=='x']\n"
        "      b: \"@.v\"\n"
        "  - id: g\n"
        "    url: http://127.0.0.1/y\n"
        "    format: prometheus\n"
        "    series:\n"
        "      c: 'm{k=v}'\n"
        "  - id: h\n"
        "    url: http://127.0.0.1/z\n"
        "    time: $.q\n"
        "    time_format: \"%YQ%m\"\n"
        "    series: {d: $.v}\n",
        f);
  fclose(f);
  c = config_load(path, &d);
  assert_null(c);
  assert_int_equal(d.n, 4);
  m = diag_format(&d, 0);
  assert_non_null(strstr(m, ":5:27: JSONPath: expected )] to close"));
  free(m);
  m = diag_format(&d, 1);
  assert_non_null(strstr(m, ":6:10: JSONPath '@' is relative to a record"));
  free(m);
  m = diag_format(&d, 2);
  assert_non_null(
      strstr(m, ":11:15: Prometheus selector: expected a quoted label value"));
  free(m);
  m = diag_format(&d, 3);
  assert_non_null(strstr(m, ":15:18: time_format \"%YQ%m\": strptime has no "
                            "quarter or half-year field"));
  free(m);
  diag_free(&d);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(json_basic),
      cmocka_unit_test(json_period_placement),
      cmocka_unit_test(json_records),
      cmocka_unit_test(json_errors),
      cmocka_unit_test(json_epoch_times),
      cmocka_unit_test(times_out_of_range),
      cmocka_unit_test(csv_basic),
      cmocka_unit_test(csv_where),
      cmocka_unit_test(csv_errors),
      cmocka_unit_test(prom_basic),
      cmocka_unit_test(prom_errors),
      cmocka_unit_test(openmetrics_recording),
      cmocka_unit_test(openmetrics_errors),
      cmocka_unit_test(text_bodies),
      cmocka_unit_test(config_checks_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
