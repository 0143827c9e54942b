/* The official-statistics formats and options (contract §3) through the
 * real loader and extractor, on the recordings of conf/examples and on
 * edge cases: CSV encoding, skip_rows, missing, thousands, the wide
 * layout; scale (exact in decimal); not_after: now; json-stat's time
 * dimension; SDMX-JSON 2.0 with scale: auto. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <math.h>

#define FETCH_MS INT64_C(1776650400000) /* 2026-04-20T10:00:00+08:00 */

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

static struct config *csv_feed(const char *options, const char *series) {
  char *yaml = xasprintf("timezone: Asia/Shanghai\n"
                         "feeds:\n"
                         "  - id: f\n"
                         "    url: http://127.0.0.1/x\n"
                         "    format: csv\n"
                         "%s"
                         "    series:\n%s",
                         options, series);
  struct config *c = test_config(yaml);
  free(yaml);
  assert_non_null(c);
  return c;
}

static void run_at(const struct config *c, const char *body, size_t len,
                   int64_t fetch_ms, int want, struct extract_out *out) {
  int rc = test_extract(c, body, len, fetch_ms, out);
  if (rc != want)
    for (size_t i = 0; i < out->nerrs; i++)
      fprintf(stderr, "  error: %s\n", out->errs[i].msg);
  assert_int_equal(rc, want);
}

static void run(const struct config *c, const char *body, size_t len, int want,
                struct extract_out *out) {
  run_at(c, body, len, FETCH_MS, want, out);
}

/* ---- CSV ---- */

static void csv_portal_long(void **state) {
  size_t len;
  char *body = read_example("portal-csv/jobs.csv", &len);
  static const char series[] =
      "      jobs: {column: \"城镇新增就业(人)\", kind: cumulative}\n";
  struct config *full = csv_feed("    encoding: gbk\n"
                                 "    skip_rows: 2\n"
                                 "    missing: [\"—\", \"-\", \"…\", \"\"]\n"
                                 "    thousands: \",\"\n"
                                 "    time: 统计时间\n",
                                 series);
  struct config *no_enc =
      csv_feed("    skip_rows: 2\n    time: 统计时间\n", series);
  struct config *no_missing = csv_feed("    encoding: gbk\n"
                                       "    skip_rows: 2\n"
                                       "    thousands: \",\"\n"
                                       "    time: 统计时间\n",
                                       series);
  struct config *no_thousands = csv_feed("    encoding: gb18030\n"
                                         "    skip_rows: 2\n"
                                         "    missing: \"—\"\n"
                                         "    time: 统计时间\n",
                                         series);
  struct extract_out out = {0};
  (void)state;
  run(full, body, len, 0, &out);
  assert_int_equal(out.nerrs, 0);
  assert_int_equal(out.n, 3);
  assert_int_equal(out.obs[0].time_ms, INT64_C(1767196799999)); /* 2025 */
  assert_true(out.obs[0].value == 453218);
  assert_int_equal(out.obs[2].time_ms, INT64_C(1774972799999)); /* 1-3月 */
  assert_true(out.obs[2].value == 118540);
  extract_out_free(&out);
  /* The bytes of GBK are not UTF-8: the error says what to set. */
  run(no_enc, body, len, -EINVAL, &out);
  assert_true(test_has_error(&out, "body is not UTF-8 (byte 1); a Chinese "
                                   "portal's file may need encoding: gbk"));
  extract_out_free(&out);
  run(no_missing, body, len, 0, &out);
  assert_int_equal(out.n, 3);
  assert_true(test_has_error(&out, "series 'jobs': row 7 column "
                                   "'城镇新增就业(人)': '—' is not a number "
                                   "(list it in missing: if it marks a gap)"));
  extract_out_free(&out);
  run(no_thousands, body, len, 0, &out);
  assert_int_equal(out.n, 0);
  assert_true(test_has_error(&out, "'453,218' is not a number"));
  extract_out_free(&out);
  config_free(full);
  config_free(no_enc);
  config_free(no_missing);
  config_free(no_thousands);
  free(body);
}

static void csv_portal_wide(void **state) {
  size_t len;
  char *body = read_example("portal-csv/indicators.csv", &len);
  static const char options[] = "    encoding: gbk\n"
                                "    skip_rows: 2\n"
                                "    missing: [\"—\", \"…\"]\n"
                                "    thousands: \",\"\n"
                                "    layout: wide\n";
  struct config *c = csv_feed(
      options, "      retail: {where: {指标: \"社会消费品零售总额(亿元)\"}, "
               "kind: cumulative, scale: 100000000}\n"
               "      fai: {where: {指标: \"固定资产投资增速(%)\"}, at: end}\n"
               "      none: {where: {指标: 不存在}}\n");
  struct extract_out out = {0};
  (void)state;
  run(c, body, len, 0, &out);
  assert_int_equal(out.n, 4);
  assert_string_equal(out.obs[0].series, "retail");
  assert_int_equal(out.obs[0].time_ms, INT64_C(1772294399999)); /* 1-2月 */
  /* exact in decimal: 1689.5 x 1e8 */
  assert_true(out.obs[0].value == 168950000000.0);
  assert_true(out.obs[1].value == 250370000000.0);
  assert_string_equal(out.obs[2].series, "fai");
  assert_true(out.obs[3].value == 4.1);
  assert_int_equal(out.nerrs, 1);
  assert_true(test_has_error(&out, "series 'none': no row matches where:"));
  extract_out_free(&out);
  config_free(c);
  free(body);
}

static void csv_wide_errors(void **state) {
  struct config *c =
      csv_feed("    layout: wide\n", "      a: {where: {name: a}}\n");
  struct extract_out out = {0};
  static const char no_times[] = "name,x,y\na,1,2\n";
  static const char twice[] = "name,2026-01,2026-02\na,1,2\na,3,4\nb,5,6\n";
  static const char bad_head[] = "name,2026-01,2026年13月\na,1,2\n";
  (void)state;
  run(c, no_times, strlen(no_times), -EINVAL, &out);
  assert_true(test_has_error(&out, "layout: wide, but no column of the "
                                   "header row is a time"));
  extract_out_free(&out);
  /* where: picking two rows gives two values per time: none is stored. */
  run(c, twice, strlen(twice), 0, &out);
  assert_int_equal(out.n, 0);
  assert_true(test_has_error(&out, "series 'a': rows 2 and 3 both give a "
                                   "value at 2026-01-01T00:00:00+08:00"));
  extract_out_free(&out);
  run(c, bad_head, strlen(bad_head), 0, &out);
  assert_int_equal(out.n, 1);
  assert_true(test_has_error(&out, "header column 3 '2026年13月' is not a "
                                   "time"));
  extract_out_free(&out);
  config_free(c);
}

static void csv_times_fail(void **state) {
  struct config *c = csv_feed("    time: t\n", "      a: v\n");
  struct extract_out out = {0};
  static const char body[] = "t,v\nJan,1\nFeb,2\n";
  (void)state;
  /* The rows had values; what failed was their time: say that. */
  run(c, body, strlen(body), 0, &out);
  assert_int_equal(out.n, 0);
  assert_true(test_has_error(&out, "row 2: time 'Jan': expected a 4-digit "
                                   "year"));
  assert_true(test_has_error(&out, "series 'a': no value in column 'v' in a "
                                   "row whose time parsed (2 rows' times did "
                                   "not)"));
  extract_out_free(&out);
  config_free(c);
}

/* ---- scale ---- */

static void scale_is_decimal(void **state) {
  (void)state;
  assert_true(extract_scale(2503.7, 1e8) == 250370000000.0);
  assert_true(2503.7 * 1e8 != 250370000000.0); /* why it matters */
  assert_true(extract_scale(0.1, 3) == 0.3);
  assert_true(extract_scale(-1.5, 10000) == -15000);
  assert_true(extract_scale(1e-5, 1e5) == 1);
  assert_true(extract_scale(123456789.123, 1000) == 123456789123.0);
  assert_true(extract_scale(4.1, 0.01) == 0.041);
  assert_true(extract_scale(0, 1e8) == 0);
  assert_true(extract_scale(7, 1) == 7);
}

static void scale_applies_before_max(void **state) {
  struct config *c = test_config("feeds:\n"
                                 "  - id: f\n"
                                 "    url: http://127.0.0.1/x\n"
                                 "    series:\n"
                                 "      a: {path: $.a, scale: 10000, max: "
                                 "50000}\n"
                                 "      b: {path: $.b, scale: -1}\n");
  struct extract_out out = {0};
  static const char body[] = "{\"a\": 6.1, \"b\": \"2.5\"}";
  (void)state;
  assert_non_null(c);
  run(c, body, strlen(body), 0, &out);
  assert_int_equal(out.n, 1);
  assert_true(out.obs[0].value == -2.5);
  assert_true(test_has_error(&out, "value 61000 is above max 50000"));
  extract_out_free(&out);
  config_free(c);
}

/* ---- not_after ---- */

static void not_after_drops_forecasts(void **state) {
  size_t len;
  char *body = read_example("waqi/feed.json", &len);
  static const char feed[] = "timezone: Asia/Shanghai\n"
                             "feeds:\n"
                             "  - id: f\n"
                             "    url: http://127.0.0.1/x\n"
                             "    records: $.data.forecast.daily.pm25[*]\n"
                             "    time: \"@.day\"\n"
                             "%s"
                             "    series: {aqi: \"@.avg\"}\n";
  char *yaml = xasprintf(feed, "    not_after: now\n");
  struct config *c = test_config(yaml);
  char *plain_yaml = xasprintf(feed, "");
  struct config *plain = test_config(plain_yaml);
  struct extract_out out = {0};
  int64_t fetch = INT64_C(1772348700000); /* 2026-03-01T15:05:00+08:00 */
  (void)state;
  run_at(c, body, len, fetch, 0, &out);
  assert_int_equal(out.nerrs, 0);
  assert_int_equal(out.n, 3); /* Feb 27, Feb 28, Mar 1 (today, at 00:00) */
  for (size_t i = 0; i < out.n; i++)
    assert_true(out.obs[i].time_ms <= fetch);
  extract_out_free(&out);
  run_at(plain, body, len, fetch, 0, &out);
  assert_int_equal(out.n, 7);
  extract_out_free(&out);
  config_free(c);
  config_free(plain);
  free(yaml);
  free(plain_yaml);
  free(body);
}

/* ---- JSON times written as numbers ---- */

static void json_numeric_periods(void **state) {
  struct config *c = test_config("timezone: Asia/Shanghai\n"
                                 "feeds:\n"
                                 "  - id: f\n"
                                 "    url: http://127.0.0.1/x\n"
                                 "    records: $[*]\n"
                                 "    time: \"@.t\"\n"
                                 "    series: {v: \"@.v\"}\n");
  struct extract_out out = {0};
  static const char body[] =
      "[{\"t\": 2025, \"v\": 1}, {\"t\": 202603, \"v\": 2},"
      " {\"t\": 1772373600, \"v\": 3}, {\"t\": 2026.5, \"v\": 4}]";
  (void)state;
  run(c, body, strlen(body), 0, &out);
  assert_int_equal(out.n, 2);
  assert_int_equal(out.obs[0].time_ms, INT64_C(1735660800000)); /* 2025 */
  assert_int_equal(out.obs[1].time_ms, INT64_C(1772294400000)); /* 2026-03 */
  /* an epoch number is not a period: an error, never a misread time */
  assert_true(test_has_error(&out, "record 3: time @.t:"));
  assert_true(test_has_error(&out, "record 4: time @.t: time is a number, "
                                   "not a string or a whole number"));
  extract_out_free(&out);
  config_free(c);
}

/* ---- cubes ---- */

static void jsonstat_time_dimension(void **state) {
  size_t len;
  char *body = read_example("jsonstat/ssb-cpi.json", &len);
  static const char feed[] = "timezone: Europe/Oslo\n"
                             "feeds:\n"
                             "  - id: f\n"
                             "    url: http://127.0.0.1/x\n"
                             "    format: json-stat\n"
                             "    time: %s\n"
                             "    series:\n"
                             "      cpi: {key: {ContentsCode: KpiIndMnd}, "
                             "scale: auto}\n";
  char *good_yaml = xasprintf(feed, "Tid");
  char *bad_yaml = xasprintf(feed, "Month");
  struct config *good = test_config(good_yaml);
  struct config *bad = test_config(bad_yaml);
  struct extract_out out = {0};
  (void)state;
  run(good, body, len, 0, &out);
  assert_int_equal(out.nerrs, 0);
  assert_int_equal(out.n, 3);
  assert_true(out.obs[2].value == 137.8);
  extract_out_free(&out);
  run(bad, body, len, 0, &out);
  assert_int_equal(out.n, 0);
  assert_true(test_has_error(&out, "series 'cpi' (key {ContentsCode: "
                                   "KpiIndMnd}): no dimension Month for the "
                                   "time"));
  extract_out_free(&out);
  config_free(good);
  config_free(bad);
  free(good_yaml);
  free(bad_yaml);
  free(body);
}

static void sdmx_v2_scale_auto(void **state) {
  size_t len;
  char *body = read_example("sdmx/oecd-cpi-v2.json", &len);
  struct config *c = test_config("timezone: Asia/Shanghai\n"
                                 "feeds:\n"
                                 "  - id: f\n"
                                 "    url: http://127.0.0.1/x\n"
                                 "    format: sdmx-json\n"
                                 "    series:\n"
                                 "      cn: {key: {REF_AREA: CHN}, scale: "
                                 "auto}\n"
                                 "      xx: {key: {REF_AREA: XXX}}\n");
  struct extract_out out = {0};
  static const char not_sdmx[] = "{\"errors\": [{\"code\": 404, \"title\": "
                                 "\"NoResultsFound\"}]}";
  (void)state;
  run(c, body, len, 0, &out);
  assert_int_equal(out.n, 4);
  assert_int_equal(out.obs[0].time_ms, INT64_C(1761926400000)); /* 2025-11 */
  assert_true(out.obs[3].value == 0.9);
  assert_true(test_has_error(&out, "series 'xx' (key {REF_AREA: XXX}): key: "
                                   "dimension REF_AREA has no code XXX"));
  extract_out_free(&out);
  /* A message that is not data fails the body, not each series. */
  run(c, not_sdmx, strlen(not_sdmx), -EINVAL, &out);
  assert_true(test_has_error(&out, "the message reports an error: "
                                   "NoResultsFound"));
  extract_out_free(&out);
  config_free(c);
  free(body);
}

/* ---- published samples (tests/data/published, see its README) ---- */

static char *read_published(const char *name, size_t *len) {
  const char *dir = getenv("TEST_DATA");
  char *rel = xasprintf("%s/published/%s", dir ? dir : "tests/data", name);
  FILE *f = fopen(rel, "rb");
  struct strbuf sb = {0};
  char buf[4096];
  size_t n;
  if (!f)
    fprintf(stderr, "%s: cannot open\n", rel);
  assert_non_null(f);
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    strbuf_add(&sb, buf, n);
  fclose(f);
  free(rel);
  *len = sb.len;
  return strbuf_take(&sb);
}

/* One feed of format over a published file, in UTC; series as YAML. */
static struct config *cube_feed(const char *format, const char *series) {
  char *yaml = xasprintf("timezone: UTC\n"
                         "feeds:\n"
                         "  - id: f\n"
                         "    url: http://127.0.0.1/x\n"
                         "    format: %s\n"
                         "    series:\n%s",
                         format, series);
  struct config *c = test_config(yaml);
  free(yaml);
  assert_non_null(c);
  return c;
}

struct want_obs {
  const char *series;
  int64_t time_ms;
  double value;
};

static void expect_obs(const struct extract_out *out, const struct want_obs *w,
                       size_t n) {
  if (out->n != n)
    fprintf(stderr, "%zu observations, wanted %zu\n", out->n, n);
  assert_int_equal(out->n, n);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(out->obs[i].series, w[i].series) != 0 ||
        out->obs[i].time_ms != w[i].time_ms || out->obs[i].value != w[i].value)
      fprintf(stderr, "observation %zu: %s %lld %.17g, wanted %s %lld %.17g\n",
              i, out->obs[i].series, (long long)out->obs[i].time_ms,
              out->obs[i].value, w[i].series, (long long)w[i].time_ms,
              w[i].value);
    assert_string_equal(out->obs[i].series, w[i].series);
    assert_int_equal(out->obs[i].time_ms, w[i].time_ms);
    assert_true(out->obs[i].value == w[i].value);
  }
}

#define D2013_01_18 INT64_C(1358467200000)
#define D2013_01_21 INT64_C(1358726400000)
#define Y2012 INT64_C(1325376000000)
#define Y2013 INT64_C(1356998400000)
#define Y2014 INT64_C(1388534400000)
#define Y2015 INT64_C(1420070400000)
#define Y2016 INT64_C(1451606400000)
#define Y2017 INT64_C(1483228800000)

/* The SDMX-JSON 1.0 samples: a cross-section (time at series level) that
 * repeats "keyPosition" in one object, and the flat AllDimensions shape. */
static void published_sdmx_v1(void **state) {
  size_t len;
  char *xs = read_published("sdmx-v1-exr-cross-section.json", &len);
  struct config *c =
      cube_feed("sdmx-json", "      nzd: {key: {CURRENCY: NZD}, kind: "
                             "instant}\n"
                             "      rub: {key: {CURRENCY: RUB}, kind: "
                             "instant}\n");
  struct extract_out out = {0};
  static const struct want_obs exr[] = {
      {"nzd", D2013_01_18, 1.5931},
      {"nzd", D2013_01_21, 1.5925},
      {"rub", D2013_01_18, 40.3426},
      {"rub", D2013_01_21, 40.3},
  };
  char *agri;
  struct config *flat;
  static const struct want_obs agri_obs[] = {
      {"a2", Y2014, 442.996},
      {"a2", Y2015, 426.588},
      {"a2", Y2016, 479.686},
      {"a2", Y2017, 522.296},
  };
  (void)state;
  run(c, xs, len, 0, &out);
  assert_int_equal(out.nerrs, 0);
  expect_obs(&out, exr, ARRAY_SIZE(exr));
  extract_out_free(&out);
  /* A repeated cell key is two values for one cell: refused, named. */
  {
    char *dup = xasprintf("%.*s", (int)len, xs);
    char *at = strstr(dup, "\"1\": [\n");
    assert_non_null(at);
    at[1] = '0'; /* observation "1" of a series becomes a second "0" */
    run(c, dup, len, -EINVAL, &out);
    assert_true(test_has_error(&out, "duplicate object key near '\"0\"' (a "
                                     "cell given twice"));
    extract_out_free(&out);
    free(dup);
  }
  /* A time range has no calendar period: an error for that period only. */
  {
    char *range = xasprintf("%.*s", (int)len, xs);
    char *at = strstr(range, "\"id\": \"2013-01-18\"");
    char *body;
    assert_non_null(at);
    *strchr(at + 7, '"') = '\0';
    body = xasprintf("%s/P1D\"%s", range, at + strlen(at) + 1);
    run(c, body, strlen(body), 0, &out);
    assert_int_equal(out.n, 2); /* 2013-01-21 of each currency */
    assert_int_equal(out.obs[0].time_ms, D2013_01_21);
    assert_true(test_has_error(&out, "period '2013-01-18/P1D' is a time "
                                     "range (start/duration), which is not "
                                     "supported"));
    extract_out_free(&out);
    free(body);
    free(range);
  }
  /* "2020/21" is a fiscal year, not a range: the time parser's own error */
  {
    static const char fiscal[] =
        "{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"time\"],"
        "\"size\":[1],\"dimension\":{\"time\":{\"category\":{\"index\":"
        "[\"2020/21\"]}}},\"value\":[1]}";
    struct config *js = cube_feed("json-stat", "      x: {kind: instant}\n");
    run(js, fiscal, strlen(fiscal), 0, &out);
    assert_int_equal(out.n, 0);
    assert_true(test_has_error(&out, "period '2020/21': "));
    assert_false(test_has_error(&out, "time range"));
    extract_out_free(&out);
    config_free(js);
  }

  agri = read_published("sdmx-v1-agri.json", &len);
  flat = cube_feed("sdmx-json", "      a2: {key: {REF_AREA: ASIKHM002}, "
                                "kind: instant}\n"
                                "      a3: {key: {REF_AREA: ASIKHM}, kind: "
                                "instant}\n");
  run(flat, agri, len, 0, &out);
  expect_obs(&out, agri_obs, ARRAY_SIZE(agri_obs));
  /* the sample has no observation for the third area */
  assert_true(test_has_error(&out, "series 'a3' (key {REF_AREA: ASIKHM}): "
                                   "the SDMX-JSON body has no value"));
  extract_out_free(&out);
  config_free(flat);
  config_free(c);
  free(agri);
  free(xs);
}

/* The SDMX-JSON 2.0 samples: coded UNIT_MULT (3) and DECIMALS (1) at
 * dataSet level, and a Replace dataSet followed by a Delete one. */
static void published_sdmx_v2(void **state) {
  size_t len;
  char *agri = read_published("sdmx-v2-agri.json", &len);
  struct config *c =
      cube_feed("sdmx-json", "      auto: {key: {REF_AREA: ASIKHM002}, "
                             "scale: auto, kind: instant}\n"
                             "      raw: {key: {REF_AREA: ASIKHM}, kind: "
                             "instant}\n");
  static const struct want_obs agri_obs[] = {
      /* 442.996 to 1 decimal, times 10^3 */
      {"auto", Y2014, 443000},  {"auto", Y2015, 426600},
      {"auto", Y2016, 479700},  {"auto", Y2017, 522300},
      {"raw", Y2014, 5228.33},  {"raw", Y2015, 5191.833},
      {"raw", Y2016, 5197.887}, {"raw", Y2017, 5541.424},
  };
  char *del;
  struct config *cd;
  static const struct want_obs del_obs[] = {
      {"rub", D2013_01_18, 40.3426},
      {"rub", D2013_01_21, 40.3},
  };
  struct extract_out out = {0};
  (void)state;
  run(c, agri, len, 0, &out);
  assert_int_equal(out.nerrs, 0);
  expect_obs(&out, agri_obs, ARRAY_SIZE(agri_obs));
  extract_out_free(&out);

  del = read_published("sdmx-v2-exr-action-delete.json", &len);
  cd = cube_feed("sdmx-json", "      nzd: {key: {CURRENCY: NZD}, kind: "
                              "instant}\n"
                              "      rub: {key: {CURRENCY: RUB}, kind: "
                              "instant}\n");
  run(cd, del, len, 0, &out);
  expect_obs(&out, del_obs, ARRAY_SIZE(del_obs));
  /* the Replace dataSet has no NZD; the Delete one is not data */
  assert_true(test_has_error(&out, "series 'nzd' (key {CURRENCY: NZD}): the "
                                   "SDMX-JSON body has no value"));
  extract_out_free(&out);
  config_free(cd);
  config_free(c);
  free(del);
  free(agri);
}

/* json-stat.org's 2.0 samples: unit.multiplier applied by scale: auto,
 * with the unit's decimals; a collection that embeds two datasets, the
 * key's dimensions picking one. */
static void published_jsonstat_v2(void **state) {
  size_t len;
  char *canada = read_published("jsonstat-canada.json", &len);
  struct config *c = cube_feed(
      "json-stat", "      pop: {key: {age: T, concept: POP, sex: T}, scale: "
                   "auto, kind: instant}\n"
                   "      pop_raw: {key: {age: T, concept: POP, sex: T}, "
                   "kind: instant}\n"
                   "      share: {key: {age: '4', concept: PERCENT, sex: F}, "
                   "scale: auto, kind: instant}\n");
  static const struct want_obs canada_obs[] = {
      {"pop", Y2012, 34880500}, /* 34880.5 thousands of persons */
      {"pop_raw", Y2012, 34880.5},
      {"share", Y2012, 5.3},
  };
  char *gsp, *col;
  struct config *cg, *cc;
  static const struct want_obs gsp_obs[] = {
      {"gsp", Y2013, 2080600000000}, /* 2080600 million dollars */
      {"pop", Y2013, 37300000},      /* 37.3 million */
  };
  static const struct want_obs col_obs[] = {
      {"de", Y2013, 5.524081118},
      {"de", Y2014, 5.565600014},
      {"ca", Y2012, 34880500},
  };
  struct extract_out out = {0};
  (void)state;
  run(c, canada, len, 0, &out);
  assert_int_equal(out.nerrs, 0);
  expect_obs(&out, canada_obs, ARRAY_SIZE(canada_obs));
  extract_out_free(&out);

  gsp = read_published("jsonstat-us-gsp.json", &len);
  cg = cube_feed("json-stat",
                 "      gsp: {key: {state: '06', concept: gsp}, scale: auto, "
                 "kind: instant}\n"
                 "      pop: {key: {state: '06', concept: pop}, scale: auto, "
                 "kind: instant}\n");
  run(cg, gsp, len, 0, &out);
  assert_int_equal(out.nerrs, 0);
  expect_obs(&out, gsp_obs, ARRAY_SIZE(gsp_obs));
  extract_out_free(&out);

  col = read_published("jsonstat-oecd-canada-col.json", &len);
  cc = cube_feed("json-stat",
                 "      de: {key: {area: DE}, kind: instant}\n"
                 "      ca: {key: {age: T, concept: POP, sex: T}, scale: "
                 "auto, kind: instant}\n"
                 "      any: {kind: instant}\n");
  run(cc, col, len, 0, &out);
  /* de: 2003 to 2014, of which the last two are checked here */
  assert_int_equal(out.n, 13);
  assert_true(out.obs[0].time_ms == INT64_C(1041379200000) &&
              out.obs[0].value == 9.134738857);
  expect_obs(&(struct extract_out){.obs = out.obs + 10, .n = 3}, col_obs, 3);
  assert_true(test_has_error(&out, "series 'any' (key {}): the JSON-stat "
                                   "collection holds 2 datasets"));
  extract_out_free(&out);
  config_free(cc);
  config_free(cg);
  config_free(c);
  free(col);
  free(gsp);
  free(canada);
}

/* JSON-stat 1.x bundles as Eurostat's former service and Statistics
 * Ireland answered: dimension.id/size/role, status not keyed by cell. */
static void published_jsonstat_v1(void **state) {
  size_t len;
  char *euro = read_published("jsonstat-eurostat-nama_gdp_c.json", &len);
  struct config *c =
      cube_feed("json-stat", "      it: {key: {geo: IT}, kind: instant}\n"
                             "      fr: {key: {geo: FR}, kind: instant}\n");
  char *cso;
  struct config *ci;
  struct extract_out out = {0};
  (void)state;
  run(c, euro, len, 0, &out);
  assert_int_equal(out.nerrs, 0);
  /* IT from 1990 (earlier years are null), FR from 1974, both to 2013 */
  assert_int_equal(out.n, 24 + 40);
  assert_string_equal(out.obs[0].series, "it");
  assert_int_equal(out.obs[0].time_ms, INT64_C(631152000000));
  assert_true(out.obs[0].value == 15800);
  assert_int_equal(out.obs[23].time_ms, Y2013);
  assert_true(out.obs[23].value == 25600);
  assert_string_equal(out.obs[24].series, "fr");
  assert_int_equal(out.obs[24].time_ms, INT64_C(126230400000)); /* 1974 */
  assert_true(out.obs[24].value == 4500);
  assert_true(out.obs[63].value == 31300);
  extract_out_free(&out);

  cso = read_published("jsonstat-cso-NQQ25.json", &len);
  ci = cube_feed("json-stat", "      gdp: {key: {Sector: '0', Statistic: "
                              "NQQ25S1}, kind: instant}\n");
  run(ci, cso, len, 0, &out);
  assert_int_equal(out.nerrs, 0);
  assert_int_equal(out.n, 76); /* 1997Q1 to 2015Q4 */
  assert_int_equal(out.obs[0].time_ms, INT64_C(852076800000));
  assert_true(out.obs[0].value == 20342);
  assert_int_equal(out.obs[75].time_ms, INT64_C(1443657600000));
  assert_true(out.obs[75].value == 47577);
  extract_out_free(&out);
  config_free(ci);
  config_free(c);
  free(cso);
  free(euro);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(csv_portal_long),
      cmocka_unit_test(csv_portal_wide),
      cmocka_unit_test(csv_wide_errors),
      cmocka_unit_test(csv_times_fail),
      cmocka_unit_test(scale_is_decimal),
      cmocka_unit_test(scale_applies_before_max),
      cmocka_unit_test(not_after_drops_forecasts),
      cmocka_unit_test(json_numeric_periods),
      cmocka_unit_test(jsonstat_time_dimension),
      cmocka_unit_test(sdmx_v2_scale_auto),
      cmocka_unit_test(published_sdmx_v1),
      cmocka_unit_test(published_sdmx_v2),
      cmocka_unit_test(published_jsonstat_v2),
      cmocka_unit_test(published_jsonstat_v1),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
