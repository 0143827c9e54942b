/* Nothing wrong is stored silently (contract §3, issue 14's "stored wrong
 * today" list): each case once stored wrong data without an error; here it
 * is refused by the configuration or read right, through the real loader
 * and extractor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <math.h>

#define FETCH_MS INT64_C(1773626400000) /* 2026-03-16T10:00:00+08:00 */
#define FEB_START INT64_C(1769875200000)
#define MAR_START INT64_C(1772294400000)
#define MAR_LAST INT64_C(1774972799999)

/* The diagnostics of a config that must not load, one per line. */
static char *load_errors(const char *yaml) {
  struct diag d = {0};
  struct config *c =
      config_load_text("/nonexistent/t.yaml", yaml, strlen(yaml), &d);
  struct strbuf sb = {0};
  if (c) {
    config_free(c);
    diag_free(&d);
    return NULL;
  }
  for (size_t i = 0; i < d.n; i++) {
    char *m = diag_format(&d, i);
    strbuf_addf(&sb, "%s\n", m);
    free(m);
  }
  diag_free(&d);
  return strbuf_take(&sb);
}

static void expect_refused(const char *yaml, const char *needle) {
  char *errs = load_errors(yaml);
  if (!errs || !strstr(errs, needle)) {
    fprintf(stderr, "wanted \"%s\" in:\n%s", needle, errs ? errs : "(loaded)");
    free(errs);
    fail();
  }
  free(errs);
}

static char *read_example(const char *rel, size_t *len) {
  const char *dir = getenv("EXAMPLES_DIR");
  char *path = xasprintf("%s/%s", dir ? dir : "conf/examples", rel);
  FILE *f = fopen(path, "rb");
  struct strbuf sb = {0};
  char buf[4096];
  size_t n;
  assert_non_null(f);
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    strbuf_add(&sb, buf, n);
  fclose(f);
  free(path);
  *len = sb.len;
  return strbuf_take(&sb);
}

static int extract_typed(const struct config *cfg, const char *body, size_t len,
                         const char *content_type, struct extract_out *out) {
  struct extractor *ex = NULL;
  char err[300];
  int rc;
  if (extract_new(&cfg->feeds[0], &ex, err, sizeof(err)) < 0) {
    fprintf(stderr, "extract_new: %s\n", err);
    return -999;
  }
  rc = extract_run(ex, body, len, FETCH_MS, content_type, out);
  extract_free(ex);
  return rc;
}

static size_t count_series(const struct extract_out *out, const char *id) {
  size_t n = 0;
  for (size_t i = 0; i < out->n; i++)
    n += strcmp(out->obs[i].series, id) == 0;
  return n;
}

/* ---- SDMX-JSON read as plain JSON without time: ---- */

static void sdmx_records_without_time(void **state) {
  (void)state;
  /* Every observation would have stood at the fetch time, one over the
   * other. */
  expect_refused(
      "timezone: Asia/Shanghai\n"
      "feeds:\n"
      "  - id: oecd\n"
      "    url: http://127.0.0.1/x\n"
      "    records: \"$.data.dataSets[0].series['0:0:0:0:0:0:0:0:0:0:0:0:0']"
      ".observations.*\"\n"
      "    series: {gdp: \"@[0]\"}\n",
      ":5:14: records needs time: on the feed");
}

static void sdmx_read_natively(void **state) {
  size_t len;
  char *body = read_example("sdmx/oecd-qna-v1.json", &len);
  struct config *c = test_config(
      "timezone: Asia/Shanghai\n"
      "feeds:\n"
      "  - id: oecd\n"
      "    url: http://127.0.0.1/x\n"
      "    format: sdmx-json\n"
      "    series:\n"
      "      cn: {key: {REF_AREA: CHN, UNIT_MEASURE: PC, TRANSFORMATION: G1}}\n"
      "      us: {key: {REF_AREA: USA, UNIT_MEASURE: PC, TRANSFORMATION: G1}}\n"
      "      vague: {key: {REF_AREA: USA}}\n");
  struct extract_out out = {0};
  (void)state;
  assert_non_null(c);
  assert_int_equal(extract_typed(c, body, len, NULL, &out), 0);
  /* Each quarter at its own time, each country in its own series. */
  assert_int_equal(count_series(&out, "cn"), 4);
  assert_int_equal(count_series(&out, "us"), 3);
  assert_int_equal(out.obs[0].time_ms, INT64_C(1735660800000)); /* 2025-Q1 */
  assert_true(out.obs[0].value == 1.2);
  assert_int_equal(count_series(&out, "vague"), 0);
  assert_true(test_has_error(&out, "series 'vague' (key {REF_AREA: USA}): "
                                   "key: name one code for each dimension "
                                   "with several: UNIT_MEASURE"));
  assert_true(test_has_error(&out, "TRANSFORMATION"));
  extract_out_free(&out);
  config_free(c);
  free(body);
}

/* ---- JSON-stat read as plain JSON ---- */

static void jsonstat_records_mixing_series(void **state) {
  size_t len;
  char *body = read_example("jsonstat/eurostat-hicp.json", &len);
  struct config *c;
  struct extract_out out = {0};
  (void)state;
  expect_refused("feeds:\n"
                 "  - id: hicp\n"
                 "    url: http://127.0.0.1/x\n"
                 "    records: $.value.*\n"
                 "    series: {hicp: \"@\"}\n",
                 ":4:14: records needs time: on the feed");
  /* A time that does not vary by record cannot tell them apart either:
   * nothing is stored, and the error names the records. */
  c = test_config("timezone: Europe/Oslo\n"
                  "feeds:\n"
                  "  - id: hicp\n"
                  "    url: http://127.0.0.1/x\n"
                  "    records: $.value.*\n"
                  "    time: $.updated\n"
                  "    series: {hicp: \"@\"}\n");
  assert_non_null(c);
  assert_int_equal(extract_typed(c, body, len, NULL, &out), 0);
  assert_int_equal(out.n, 0);
  assert_true(test_has_error(&out, "series 'hicp': records 1 and 2 (and 5 "
                                   "more) both give a value at"));
  extract_out_free(&out);
  config_free(c);
  /* format: json-stat keeps the countries apart, each month at its time. */
  c = test_config("timezone: Europe/Oslo\n"
                  "feeds:\n"
                  "  - id: hicp\n"
                  "    url: http://127.0.0.1/x\n"
                  "    format: json-stat\n"
                  "    series:\n"
                  "      de: {key: {geo: DE}}\n"
                  "      fr: {key: {geo: FR}}\n");
  assert_non_null(c);
  assert_int_equal(extract_typed(c, body, len, NULL, &out), 0);
  assert_int_equal(out.nerrs, 0);
  assert_int_equal(count_series(&out, "de"), 4);
  assert_int_equal(count_series(&out, "fr"), 3);
  extract_out_free(&out);
  config_free(c);
  free(body);
}

/* ---- OpenMetrics timestamps are seconds ---- */

static void openmetrics_seconds(void **state) {
  static const char om[] = "# TYPE x gauge\nx 5 1774972800.5\n# EOF\n";
  static const char prom[] = "x 5 1774972800500\n";
  struct config *o = test_config("feeds:\n"
                                 "  - id: f\n"
                                 "    url: http://127.0.0.1/x\n"
                                 "    format: openmetrics\n"
                                 "    series: {x: x}\n");
  struct config *p = test_config("feeds:\n"
                                 "  - id: f\n"
                                 "    url: http://127.0.0.1/x\n"
                                 "    format: prometheus\n"
                                 "    series: {x: x}\n");
  struct extract_out out = {0};
  (void)state;
  assert_int_equal(extract_typed(o, om, strlen(om), NULL, &out), 0);
  assert_int_equal(out.n, 1);
  assert_int_equal(out.obs[0].time_ms, INT64_C(1774972800500));
  extract_out_free(&out);
  /* A prometheus feed whose server answers in OpenMetrics is read as
   * OpenMetrics. */
  assert_int_equal(extract_typed(p, om, strlen(om),
                                 "application/openmetrics-text; version=1.0.0; "
                                 "charset=utf-8",
                                 &out),
                   0);
  assert_int_equal(out.n, 1);
  assert_int_equal(out.obs[0].time_ms, INT64_C(1774972800500));
  extract_out_free(&out);
  /* And an openmetrics feed answered in Prometheus text as that. */
  assert_int_equal(extract_typed(o, prom, strlen(prom),
                                 "text/plain; version=0.0.4; charset=utf-8",
                                 &out),
                   0);
  assert_int_equal(out.n, 1);
  assert_int_equal(out.obs[0].time_ms, INT64_C(1774972800500));
  extract_out_free(&out);
  /* Seconds read as milliseconds would land in 1970-01-21: the body is in
   * the other dialect. */
  assert_int_equal(extract_typed(p, "x 5 1774972800\n", 15, NULL, &out),
                   -EINVAL);
  assert_int_equal(out.n, 0);
  assert_true(test_has_error(&out, "line 1: timestamp 1774972800 is in "
                                   "seconds; Prometheus text writes "
                                   "milliseconds"));
  extract_out_free(&out);
  config_free(o);
  config_free(p);
}

/* ---- NBS easyquery ---- */

static void nbs_without_filter(void **state) {
  size_t len;
  char *body = read_example("nbs/querydata.json", &len);
  struct config *all =
      test_config("timezone: Asia/Shanghai\n"
                  "feeds:\n"
                  "  - id: nbs\n"
                  "    url: http://127.0.0.1/x\n"
                  "    records: $.returndata.datanodes[*]\n"
                  "    time: \"@.wds[1].valuecode\"\n"
                  "    series: {m2: {path: \"@.data.data\", at: end}}\n");
  struct config *one =
      test_config("timezone: Asia/Shanghai\n"
                  "feeds:\n"
                  "  - id: nbs\n"
                  "    url: http://127.0.0.1/x\n"
                  "    records: \"$.returndata.datanodes[?(@.wds[0].valuecode=="
                  "'A0D0101')]\"\n"
                  "    time: \"@.wds[1].valuecode\"\n"
                  "    series: {m2: {path: \"@.data.data\", at: end}}\n");
  struct extract_out out = {0};
  (void)state;
  assert_non_null(all);
  assert_non_null(one);
  /* Two indicators in one series: every month twice, none stored, the
   * records named. */
  assert_int_equal(extract_typed(all, body, len, NULL, &out), 0);
  assert_int_equal(out.n, 0);
  assert_true(test_has_error(&out, "series 'm2': records 2 and 8 both give a "
                                   "value at 2026-02-28T23:59:59.999+08:00; "
                                   "none is stored"));
  extract_out_free(&out);
  /* One indicator: March 2026 is "hasdata": false with "data": 0, a gap,
   * not a zero that would drop a cumulative total. */
  assert_int_equal(extract_typed(one, body, len, NULL, &out), 0);
  assert_int_equal(out.nerrs, 0);
  assert_int_equal(out.n, 5);
  for (size_t i = 0; i < out.n; i++)
    assert_true(out.obs[i].value > 3000000);
  assert_int_equal(out.obs[0].time_ms, MAR_START - 1); /* 202602, at its end */
  extract_out_free(&out);
  config_free(all);
  config_free(one);
  free(body);
}

/* ---- a CSV column headed by a period ---- */

static void csv_period_column(void **state) {
  static const char body[] = "指标,2026年2月,2026年3月\n"
                             "就业,100,250\n";
  struct config *c = test_config(
      "timezone: Asia/Shanghai\n"
      "feeds:\n"
      "  - id: f\n"
      "    url: http://127.0.0.1/x\n"
      "    format: csv\n"
      "    series:\n"
      "      mar: {column: 2026年3月, where: {指标: 就业}, kind: cumulative}\n"
      "      feb: {column: 2026年2月, where: {指标: 就业}}\n");
  struct extract_out out = {0};
  (void)state;
  assert_int_equal(extract_typed(c, body, strlen(body), NULL, &out), 0);
  assert_int_equal(out.n, 2);
  /* The period the header names, not the fetch time. */
  assert_int_equal(out.obs[0].time_ms, MAR_LAST);
  assert_true(out.obs[0].value == 250);
  assert_int_equal(out.obs[1].time_ms, FEB_START);
  extract_out_free(&out);
  config_free(c);
}

/* ---- check compiles what extraction will ---- */

static void check_compiles_records(void **state) {
  (void)state;
  expect_refused("feeds:\n"
                 "  - id: nbs\n"
                 "    url: http://127.0.0.1/x\n"
                 "    records: $.returndata.datanodes[\n"
                 "    time: \"@.wds[1].valuecode\"\n"
                 "    series: {m2: \"@.data.strdata\"}\n",
                 ":4:14: records JSONPath: expected 'key', n, * or ?(...) "
                 "inside [ ] at character 24");
  expect_refused("feeds:\n"
                 "  - id: s\n"
                 "    url: http://127.0.0.1/x\n"
                 "    format: sdmx-json\n"
                 "    series: {gdp: {key: [CHN]}}\n",
                 ":5:25: key must be a mapping of dimension to code");
  expect_refused("feeds:\n"
                 "  - id: s\n"
                 "    url: http://127.0.0.1/x\n"
                 "    format: json-stat\n"
                 "    series: {gdp: {key: {geo: [DE, FR]}}}\n",
                 ":5:31: key: dimension geo needs one code");
  expect_refused("feeds:\n"
                 "  - id: s\n"
                 "    url: http://127.0.0.1/x\n"
                 "    format: csv\n"
                 "    encoding: big5\n"
                 "    layout: tall\n"
                 "    skip_rows: -1\n"
                 "    series: {x: {column: v}}\n",
                 ":5:15: encoding must be gbk, gb18030 or utf-8, not 'big5'");
  expect_refused("feeds:\n"
                 "  - id: s\n"
                 "    url: http://127.0.0.1/x\n"
                 "    format: csv\n"
                 "    layout: wide\n"
                 "    series: {x: {column: v}}\n",
                 ":6:26: layout: wide reads every time column");
  expect_refused("feeds:\n"
                 "  - id: s\n"
                 "    url: http://127.0.0.1/x\n"
                 "    series: {x: {path: $.v, scale: auto}}\n",
                 ":4:36: scale: auto applies the unit multiplier that "
                 "sdmx-json and json-stat bodies carry");
  expect_refused("feeds:\n"
                 "  - id: s\n"
                 "    url: http://127.0.0.1/x\n"
                 "    not_after: tomorrow\n"
                 "    series: {x: $.v}\n",
                 ":4:16: not_after must be now");
}

/* ---- the newest rows of a long CSV ---- */

static void csv_keeps_newest(void **state) {
  const size_t rows = EXTRACT_MAX_OBS + 10;
  struct strbuf sb = {0};
  struct config *c = test_config("timezone: UTC\n"
                                 "feeds:\n"
                                 "  - id: f\n"
                                 "    url: http://127.0.0.1/x\n"
                                 "    format: csv\n"
                                 "    time: t\n"
                                 "    time_format: epoch\n"
                                 "    series: {v: v}\n");
  struct extract_out out = {0};
  int64_t first = INT64_C(946684800); /* 2000-01-01, hourly from there */
  (void)state;
  for (int order = 0; order < 2; order++) {
    strbuf_reset(&sb);
    strbuf_adds(&sb, "t,v\n");
    for (size_t i = 0; i < rows; i++) {
      size_t k = order ? rows - 1 - i : i; /* oldest or newest first */
      strbuf_addf(&sb, "%lld,%zu\n", (long long)(first + (int64_t)k * 3600), k);
    }
    assert_int_equal(extract_typed(c, sb.buf, sb.len, NULL, &out), 0);
    assert_int_equal(out.n, EXTRACT_MAX_OBS);
    /* One message, not one per row beyond the bound. */
    assert_int_equal(extract_error_count(&out), 1);
    assert_true(test_has_error(&out, "more than 200000 observations in one "
                                     "body: the newest 200000 are kept"));
    for (size_t i = 0; i < out.n; i++)
      assert_true(out.obs[i].value >= 10);
    extract_out_free(&out);
  }
  strbuf_free(&sb);
  config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sdmx_records_without_time),
      cmocka_unit_test(sdmx_read_natively),
      cmocka_unit_test(jsonstat_records_mixing_series),
      cmocka_unit_test(openmetrics_seconds),
      cmocka_unit_test(nbs_without_filter),
      cmocka_unit_test(csv_period_column),
      cmocka_unit_test(check_compiles_records),
      cmocka_unit_test(csv_keeps_newest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
