/* The statistical cube readers: SDMX-JSON (1.0, 2.0, flat, before 1.0) and
 * JSON-stat 2.0, on the recorded responses of conf/examples and on edge
 * cases written here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cube.h"
#include "jsonstat.h"
#include "sdmx.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *load_example(const char *rel) {
  const char *dir = getenv("EXAMPLES_DIR");
  char path[1024];
  json_error_t e;
  json_t *doc;
  snprintf(path, sizeof(path), "%s/%s", dir ? dir : "conf/examples", rel);
  doc = json_load_file(path, 0, &e);
  if (!doc)
    fprintf(stderr, "%s:%d: %s\n", path, e.line, e.text);
  assert_non_null(doc);
  return doc;
}

static json_t *parse(const char *text) {
  json_error_t e;
  json_t *doc = json_loads(text, 0, &e);
  if (!doc)
    fprintf(stderr, "test JSON, line %d: %s\n", e.line, e.text);
  assert_non_null(doc);
  return doc;
}

#define KEY(...)                                                               \
  (&(struct cube_key){(const struct cube_key_part[]){__VA_ARGS__},             \
                      sizeof((const struct cube_key_part[]){__VA_ARGS__}) /    \
                          sizeof(struct cube_key_part)})
#define NOKEY (&(struct cube_key){NULL, 0})

static int sdmx(const json_t *doc, const struct cube_key *key,
                struct cube_points *pts, char *err) {
  err[0] = '\0';
  return sdmx_read(doc, key, pts, err, 512);
}

static int jstat(const json_t *doc, const struct cube_key *key,
                 const char *time_dim, struct cube_points *pts, char *err) {
  err[0] = '\0';
  return jsonstat_read(doc, key, time_dim, pts, err, 512);
}

static void expect_error(int rc, const char *err, const char *needle) {
  if (rc != -EINVAL || !strstr(err, needle)) {
    fprintf(stderr, "rc %d, error \"%s\", wanted \"%s\"\n", rc, err, needle);
    fail();
  }
}

static void expect_point(const struct cube_points *pts, size_t i,
                         const char *period, double value, int scale,
                         int decimals) {
  assert_true(i < pts->n);
  assert_string_equal(pts->v[i].period, period);
  assert_true(pts->v[i].value == value);
  assert_int_equal(pts->v[i].scale, scale);
  assert_int_equal(pts->v[i].decimals, decimals);
}

/* ---- SDMX-JSON on the recordings ---- */

static void sdmx_v1_recording(void **state) {
  json_t *doc = load_example("sdmx/oecd-qna-v1.json");
  struct cube_points pts = {0};
  char err[512];
  (void)state;
  assert_int_equal(sdmx(doc,
                        KEY({"REF_AREA", "CHN"}, {"UNIT_MEASURE", "PC"},
                            {"TRANSFORMATION", "G1"}),
                        &pts, err),
                   0);
  assert_int_equal(pts.n, 4);
  expect_point(&pts, 0, "2025-Q1", 1.2, 0, 1);
  expect_point(&pts, 1, "2025-Q2", 1.1, 0, 1);
  expect_point(&pts, 2, "2025-Q3", 1.1, 0, 1);
  expect_point(&pts, 3, "2025-Q4", 1.2, 0, 1);
  /* 2025-Q4 is null (status M): a gap, not a zero */
  assert_int_equal(sdmx(doc,
                        KEY({"TRANSFORMATION", "G1"}, {"REF_AREA", "USA"},
                            {"UNIT_MEASURE", "PC"}),
                        &pts, err),
                   0);
  assert_int_equal(pts.n, 3);
  expect_point(&pts, 0, "2025-Q1", -0.1, 0, 1);
  expect_point(&pts, 2, "2025-Q3", 1.1, 0, 1);
  /* UNIT_MULT 6 at series level: millions */
  assert_int_equal(sdmx(doc,
                        KEY({"REF_AREA", "USA"}, {"UNIT_MEASURE", "XDC"},
                            {"TRANSFORMATION", "N"}),
                        &pts, err),
                   0);
  assert_int_equal(pts.n, 3);
  expect_point(&pts, 0, "2025-Q1", 5871234.5, 6, 1);
  assert_true(cube_point_value(&pts.v[0]) == 5871234500000.0);
  assert_true(cube_point_value(&pts.v[2]) == 5900522900000.0);
  /* a cell the server did not send is empty, not an error */
  assert_int_equal(sdmx(doc,
                        KEY({"REF_AREA", "CHN"}, {"UNIT_MEASURE", "XDC"},
                            {"TRANSFORMATION", "N"}),
                        &pts, err),
                   0);
  assert_int_equal(pts.n, 0);
  cube_points_free(&pts);
  json_decref(doc);
}

static void sdmx_v1_key_errors(void **state) {
  json_t *doc = load_example("sdmx/oecd-qna-v1.json");
  struct cube_points pts = {0};
  char err[512];
  int rc;
  (void)state;
  rc = sdmx(doc, KEY({"REF_AREA", "CHN"}), &pts, err);
  expect_error(rc, err,
               "key: name one code for each dimension with several: "
               "UNIT_MEASURE (PC, XDC); TRANSFORMATION (G1, N)");
  rc = sdmx(doc, NOKEY, &pts, err);
  expect_error(rc, err, "REF_AREA (CHN, USA); UNIT_MEASURE (PC, XDC)");
  rc = sdmx(
      doc,
      KEY({"REF_AREA", "CN"}, {"UNIT_MEASURE", "PC"}, {"TRANSFORMATION", "G1"}),
      &pts, err);
  expect_error(rc, err,
               "key: dimension REF_AREA has no code CN (codes: CHN, "
               "USA)");
  rc = sdmx(doc, KEY({"COUNTRY", "CHN"}), &pts, err);
  expect_error(rc, err,
               "key: no dimension COUNTRY (dimensions: FREQ, ADJUSTMENT, "
               "REF_AREA");
  rc = sdmx(doc, KEY({"TIME_PERIOD", "2025-Q1"}), &pts, err);
  expect_error(rc, err, "TIME_PERIOD is the time dimension");
  rc = sdmx(doc, KEY({"REF_AREA", "CHN"}, {"REF_AREA", "USA"}), &pts, err);
  expect_error(rc, err, "REF_AREA is named twice");
  assert_int_equal(pts.n, 0);
  cube_points_free(&pts);
  json_decref(doc);
}

static void sdmx_v2_recording(void **state) {
  json_t *doc = load_example("sdmx/oecd-cpi-v2.json");
  struct cube_points pts = {0};
  char err[512];
  (void)state;
  assert_int_equal(sdmx(doc, KEY({"REF_AREA", "CHN"}), &pts, err), 0);
  assert_int_equal(pts.n, 4);
  expect_point(&pts, 0, "2025-11", 0.7, 0, 1);
  expect_point(&pts, 3, "2026-02", 0.9, 0, 1);
  assert_int_equal(sdmx(doc, KEY({"REF_AREA", "USA"}), &pts, err), 0);
  assert_int_equal(pts.n, 4);
  expect_point(&pts, 2, "2026-01", 2.4, 0, 1);
  expect_error(sdmx(doc, KEY({"FREQ", "M"}), &pts, err), err,
               "several: REF_AREA (CHN, USA)");
  cube_points_free(&pts);
  json_decref(doc);
}

/* ---- SDMX-JSON edge cases ---- */

/* A 2.0 message, flat (dimensionAtObservation=AllDimensions): every
 * dimension at observation level, values as strings, attributes given
 * directly and by default. */
static const char flat_v2[] =
    "{\"data\":{\"structures\":[{\"dimensions\":{"
    "\"dataSet\":[{\"id\":\"FREQ\",\"keyPosition\":0,\"values\":[{\"id\":"
    "\"A\"}]}],"
    "\"observation\":["
    "{\"id\":\"COUNTRY\",\"keyPosition\":1,\"values\":[{\"id\":\"CN\"},{"
    "\"id\":\"US\"}]},"
    "{\"id\":\"TIME\",\"keyPosition\":2,\"roles\":[\"TIME_PERIOD\"],"
    "\"values\":[{\"id\":\"2024\"},{\"id\":\"2025\"}]}]},"
    "\"measures\":{\"observation\":[{\"id\":\"OBS_VALUE\"}]},"
    "\"attributes\":{\"dataSet\":[{\"id\":\"UNIT_MULT\",\"relationship\":{"
    "\"dataflow\":{}}}],"
    "\"observation\":[{\"id\":\"DECIMALS\",\"default\":\"2\","
    "\"relationship\":{\"observation\":{}}}]}}],"
    "\"dataSets\":[{\"structure\":0,\"attributes\":[9],\"observations\":{"
    "\"0:0\":[\"54.19\"],\"0:1\":[\"NaN\"],\"1:0\":[3,\"1\"],\"1:1\":[\" "
    "2.5e1 \",null]}}]}}";

/* 2.0: UNIT_MULT and DECIMALS presented per dimension group, keyed by the
 * positions of every dimension in structure order, the unrelated ones
 * empty (as in the sdmx-twg samples agri.json and
 * constructed-sample-full.json). */
static const char sdmx_groups[] =
    "{\"data\":{\"structures\":[{\"dimensions\":{\"dataSet\":[{\"id\":"
    "\"FREQ\",\"values\":[{\"id\":\"A\"}]}],\"series\":[{\"id\":\"REF_"
    "AREA\",\"values\":[{\"id\":\"X\"},{\"id\":\"Y\"}]}],\"observation\":"
    "[{\"id\":\"TIME_PERIOD\",\"roles\":[\"TIME_PERIOD\"],\"values\":[{"
    "\"id\":\"2024\"},{\"id\":\"2025\"}]}]},\"attributes\":{"
    "\"dimensionGroup\":[{\"id\":\"UNIT_MULT\",\"relationship\":{"
    "\"dimensions\":[\"REF_AREA\"]},\"values\":[{\"id\":\"3\"},{\"id\":"
    "\"6\"}]},{\"id\":\"DECIMALS\",\"relationship\":{\"dimensions\":["
    "\"FREQ\",\"TIME_PERIOD\"]}}]}}],\"dataSets\":[{\"structure\":0,"
    "\"dimensionGroupAttributes\":{\":0:\":[0],\":1:\":[1],\"0::0\":[null,"
    "2],\"0::1\":[null,1]},\"series\":{\"0\":{\"observations\":{\"0\":["
    "1.234],\"1\":[2.5]}},\"1\":{\"observations\":{\"0\":[7]}}}}]}}";

static void sdmx_dimension_groups(void **state) {
  json_t *doc = parse(sdmx_groups);
  struct cube_points pts = {0};
  char err[512];
  (void)state;
  assert_int_equal(sdmx(doc, KEY({"REF_AREA", "X"}), &pts, err), 0);
  assert_int_equal(pts.n, 2);
  expect_point(&pts, 0, "2024", 1.234, 3, 2);
  expect_point(&pts, 1, "2025", 2.5, 3, 1);
  assert_true(cube_point_value(&pts.v[0]) == 1230.0);
  assert_int_equal(sdmx(doc, KEY({"REF_AREA", "Y"}), &pts, err), 0);
  assert_int_equal(pts.n, 1);
  expect_point(&pts, 0, "2024", 7, 6, 2);
  cube_points_free(&pts);
  json_decref(doc);
}

/* The dataSets of a message in order (Replace, then Merge): the later
 * value of a period wins; a flat dataSet under a structure with a series
 * level keys its observations series-level first (the 2.0 sample
 * constructed-sample-full.json). */
static const char sdmx_in_order[] =
    "{\"data\":{\"structures\":[{\"dimensions\":{\"series\":[{\"id\":"
    "\"CURRENCY\",\"values\":[{\"id\":\"NZD\"},{\"id\":\"RUB\"}]}],"
    "\"observation\":[{\"id\":\"TIME_PERIOD\",\"values\":[{\"id\":"
    "\"2024\"},{\"id\":\"2025\"},{\"id\":\"2026\"}]}]}}],\"dataSets\":["
    "{\"action\":\"Replace\",\"series\":{\"0\":{\"observations\":{\"0\":"
    "[1],\"1\":[2]}},\"1\":{\"observations\":{\"0\":[10]}}}},"
    "{\"action\":\"Delete\",\"series\":{\"0\":{\"observations\":{\"0\":"
    "[]}}}},"
    "{\"action\":\"Merge\",\"observations\":{\"0:1\":[2.5],\"0:2\":[3],"
    "\"1:2\":[30]}}]}}";

static void sdmx_datasets_in_order(void **state) {
  json_t *doc = parse(sdmx_in_order);
  struct cube_points pts = {0};
  char err[512];
  (void)state;
  assert_int_equal(sdmx(doc, KEY({"CURRENCY", "NZD"}), &pts, err), 0);
  assert_int_equal(pts.n, 3);
  expect_point(&pts, 0, "2024", 1, 0, -1);
  expect_point(&pts, 1, "2025", 2.5, 0, -1); /* revised by the Merge */
  expect_point(&pts, 2, "2026", 3, 0, -1);
  assert_int_equal(sdmx(doc, KEY({"CURRENCY", "RUB"}), &pts, err), 0);
  assert_int_equal(pts.n, 2);
  expect_point(&pts, 0, "2024", 10, 0, -1);
  expect_point(&pts, 1, "2026", 30, 0, -1);
  cube_points_free(&pts);
  json_decref(doc);
}

static void sdmx_flat(void **state) {
  json_t *doc = parse(flat_v2);
  struct cube_points pts = {0};
  char err[512];
  (void)state;
  assert_int_equal(sdmx(doc, KEY({"COUNTRY", "CN"}), &pts, err), 0);
  assert_int_equal(pts.n, 1); /* 2025 is NaN: a gap */
  expect_point(&pts, 0, "2024", 54.19, 9, 2);
  assert_int_equal(sdmx(doc, KEY({"COUNTRY", "US"}, {"FREQ", "A"}), &pts, err),
                   0);
  assert_int_equal(pts.n, 2);
  expect_point(&pts, 0, "2024", 3, 9, 1);
  expect_point(&pts, 1, "2025", 25, 9, 2);
  assert_true(cube_point_value(&pts.v[1]) == 25e9);
  expect_error(sdmx(doc, KEY({"FREQ", "Q"}), &pts, err), err,
               "FREQ has no code Q (codes: A)");
  cube_points_free(&pts);
  json_decref(doc);
}

/* Before 1.0 (OECD.Stat, ABS): structure and dataSets at the top. */
static const char legacy[] =
    "{\"header\":{\"id\":\"x\"},\"structure\":{\"dimensions\":{\"series\":["
    "{\"id\":\"LOCATION\",\"values\":[{\"id\":\"CHN\"}]}],"
    "\"observation\":[{\"id\":\"TIME_PERIOD\",\"role\":\"TIME_PERIOD\","
    "\"values\":[{\"id\":\"2025-Q3\"},{\"id\":\"2025-Q4\"}]}]},"
    "\"attributes\":{\"series\":[{\"id\":\"UNIT_MULT\",\"values\":[{\"id\":"
    "\"3\"}]}]}},"
    "\"dataSets\":[{\"action\":\"Delete\",\"series\":{\"0\":{"
    "\"observations\":{\"0\":[99]}}}},"
    "{\"action\":\"Information\",\"series\":{\"0\":{\"attributes\":[0],"
    "\"observations\":{\"1\":[2.5],\"0\":[1.5]}}}}]}";

static void sdmx_legacy_and_order(void **state) {
  json_t *doc = parse(legacy);
  struct cube_points pts = {0};
  char err[512];
  (void)state;
  assert_int_equal(sdmx(doc, NOKEY, &pts, err), 0);
  /* Delete datasets are not values; observations come back in time order */
  assert_int_equal(pts.n, 2);
  expect_point(&pts, 0, "2025-Q3", 1.5, 3, -1);
  expect_point(&pts, 1, "2025-Q4", 2.5, 3, -1);
  assert_int_equal(pts.v[0].time_pos, 0);
  cube_points_free(&pts);
  json_decref(doc);
}

static void sdmx_malformed(void **state) {
  static const struct {
    const char *json, *why;
  } cases[] = {
      {"{\"errors\":[{\"code\":404,\"title\":\"NoResultsFound\"}]}",
       "the message reports an error: NoResultsFound"},
      {"{\"data\":{\"dataSets\":[]}}", "not an SDMX-JSON data message"},
      {"[1,2]", "not an SDMX-JSON data message"},
      {"{\"structure\":{\"dimensions\":{}},\"dataSets\":{}}", "no dataSets"},
      {"{\"structure\":{\"dimensions\":{\"series\":[{\"id\":\"A\",\"values\":"
       "[{\"id\":\"x\"}]}]}},\"dataSets\":[{\"series\":{}}]}",
       "no time dimension (TIME_PERIOD)"},
      {"{\"structure\":{\"dimensions\":{\"observation\":[{\"id\":"
       "\"TIME_PERIOD\",\"values\":[{\"id\":\"2025\"},{\"id\":\"2025\"}]}]}},"
       "\"dataSets\":[{\"observations\":{}}]}",
       "dimension TIME_PERIOD lists code 2025 twice"},
      {"{\"structure\":{\"dimensions\":{\"series\":[{\"id\":\"A\",\"values\":"
       "[{\"id\":\"x\"}]}],\"observation\":[{\"id\":\"TIME_PERIOD\","
       "\"values\":[{\"id\":\"2025\"}]}]}},\"dataSets\":[{\"series\":{\"0:0\":"
       "{}}}]}",
       "series key \"0:0\" does not have 1 parts"},
      {"{\"structure\":{\"dimensions\":{\"series\":[{\"id\":\"A\",\"values\":"
       "[{\"id\":\"x\"}]}],\"observation\":[{\"id\":\"TIME_PERIOD\","
       "\"values\":[{\"id\":\"2025\"}]}]}},\"dataSets\":[{\"series\":{\"1\":"
       "{}}}]}",
       "series key \"1\" is out of range"},
      {"{\"structure\":{\"dimensions\":{\"series\":[{\"id\":\"A\",\"values\":"
       "[{\"id\":\"x\"}]}],\"observation\":[{\"id\":\"TIME_PERIOD\","
       "\"values\":[{\"id\":\"2025\"}]}]}},\"dataSets\":[{\"series\":{\"0\":"
       "{\"observations\":{\"0\":[\"12,5\"]}}}}]}",
       "period 2025: the value is not a number"},
      /* "0" and "00" name the same series: one period, two values */
      {"{\"structure\":{\"dimensions\":{\"series\":[{\"id\":\"A\",\"values\":"
       "[{\"id\":\"x\"}]}],\"observation\":[{\"id\":\"TIME_PERIOD\","
       "\"values\":[{\"id\":\"2025\"}]}]}},\"dataSets\":[{\"series\":{\"0\":"
       "{\"observations\":{\"0\":[1]}},\"00\":{\"observations\":{\"0\":[2]}}}}"
       "]}",
       "period 2025 has two values"},
      {"{\"structure\":{\"dimensions\":{\"series\":[{\"id\":\"A\",\"values\":"
       "[{\"id\":\"x\"}]}],\"observation\":[{\"id\":\"TIME_PERIOD\","
       "\"values\":[{\"id\":\"2025\"}]}]},\"attributes\":{\"series\":[{\"id\":"
       "\"UNIT_MULT\",\"values\":[{\"id\":\"six\"}]}]}},\"dataSets\":[{"
       "\"series\":{\"0\":{\"attributes\":[0],\"observations\":{\"0\":[1]}}}}"
       "]}",
       "period 2025: attribute UNIT_MULT is not a small integer"},
      {"{\"data\":{\"structures\":[{\"dimensions\":{\"observation\":[{\"id\":"
       "\"TIME_PERIOD\",\"values\":[{\"id\":\"2025\"}]}]},\"measures\":{"
       "\"observation\":[{\"id\":\"LOW\"},{\"id\":\"HIGH\"}]}}],\"dataSets\":"
       "[{\"observations\":{\"0\":[1,2]}}]}}",
       "2 measures and none is OBS_VALUE: LOW, HIGH"},
      {"{\"data\":{\"structures\":[],\"dataSets\":[{\"structure\":3}]}}",
       "dataSet 0 refers to a missing structure"},
      {"{\"structure\":{\"dimensions\":{\"series\":[{\"id\":\"A\",\"values\":"
       "[{\"id\":\"x\"}]}],\"observation\":[{\"id\":\"TIME_PERIOD\","
       "\"values\":[{\"id\":\"2025\"}]}]}},\"dataSets\":[{\"observations\":{"
       "\"0\":[1]}}]}",
       "observation key \"0\" does not have 2 parts"},
      {"{\"data\":{\"structures\":[{\"dimensions\":{\"observation\":[{"
       "\"id\":\"TIME_PERIOD\",\"values\":[{\"id\":\"2025\"}]}]}},{"
       "\"dimensions\":{\"observation\":[{\"id\":\"TIME_PERIOD\","
       "\"values\":[{\"id\":\"2025\"}]}]}}],\"dataSets\":[{\"structure\":"
       "0,\"observations\":{\"0\":[1]}},{\"structure\":1,\"observations\":"
       "{\"0\":[2]}}]}}",
       "dataSets 0 and 1 both carry this series under different structures"},
  };
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    json_t *doc = parse(cases[i].json);
    struct cube_points pts = {0};
    char err[512];
    int rc = sdmx(doc, NOKEY, &pts, err);
    if (rc != -EINVAL || !strstr(err, cases[i].why)) {
      fprintf(stderr, "case %zu: rc %d, \"%s\", wanted \"%s\"\n", i, rc, err,
              cases[i].why);
      fail();
    }
    cube_points_free(&pts);
    json_decref(doc);
  }
}

/* ---- JSON-stat on the recordings ---- */

static void jsonstat_eurostat_sparse(void **state) {
  json_t *doc = load_example("jsonstat/eurostat-hicp.json");
  struct cube_points pts = {0};
  char err[512];
  (void)state;
  /* no role: the dimension named "time" is the time */
  assert_int_equal(jstat(doc, KEY({"geo", "DE"}), NULL, &pts, err), 0);
  assert_int_equal(pts.n, 4);
  expect_point(&pts, 0, "2025-10", 2.3, 0, -1);
  expect_point(&pts, 3, "2026-01", 2.1, 0, -1);
  assert_null(pts.v[0].status);
  assert_string_equal(pts.v[3].status, "p");
  /* FR 2026-01 is not in the sparse value: a gap */
  assert_int_equal(jstat(doc, KEY({"geo", "FR"}), NULL, &pts, err), 0);
  assert_int_equal(pts.n, 3);
  expect_point(&pts, 2, "2025-12", 0.7, 0, -1);
  expect_error(jstat(doc, NOKEY, NULL, &pts, err), err,
               "key: name one code for each dimension with several: geo (DE, "
               "FR)");
  expect_error(jstat(doc, KEY({"geo", "IT"}), NULL, &pts, err), err,
               "key: dimension geo has no code IT (codes: DE, FR)");
  expect_error(
      jstat(doc, KEY({"geo", "DE"}, {"time", "2025-10"}), NULL, &pts, err), err,
      "time is the time dimension");
  cube_points_free(&pts);
  json_decref(doc);
}

static void jsonstat_ssb_array(void **state) {
  json_t *doc = load_example("jsonstat/ssb-cpi.json");
  struct cube_points pts = {0};
  char err[512];
  (void)state;
  assert_int_equal(
      jstat(doc, KEY({"ContentsCode", "Tolvmanedersendring"}), NULL, &pts, err),
      0);
  assert_int_equal(pts.n, 3);
  expect_point(&pts, 0, "2025M12", 3.1, 0, 1);
  expect_point(&pts, 1, "2026M01", 3.2, 0, 1);
  expect_point(&pts, 2, "2026M02", 3.0, 0, 1);
  assert_int_equal(
      jstat(doc, KEY({"ContentsCode", "KpiIndMnd"}), NULL, &pts, err), 0);
  expect_point(&pts, 2, "2026M02", 137.8, 0, 1);
  expect_error(jstat(doc, NOKEY, NULL, &pts, err), err,
               "ContentsCode (KpiIndMnd, Tolvmanedersendring)");
  /* naming the time dimension explicitly reads the same */
  assert_int_equal(
      jstat(doc, KEY({"ContentsCode", "KpiIndMnd"}), "Tid", &pts, err), 0);
  assert_int_equal(pts.n, 3);
  cube_points_free(&pts);
  json_decref(doc);
}

/* ---- JSON-stat edge cases ---- */

/* index as an array, a single category by label only, value an array,
 * status an array, a string value, decimals on a unit without role. */
static const char js_array[] =
    "{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"area\",\"year\","
    "\"sex\"],\"size\":[1,3,2],\"dimension\":{"
    "\"area\":{\"category\":{\"label\":{\"LN\":\"Liaoning\"},"
    "\"unit\":{\"LN\":{\"decimals\":2}}}},"
    "\"year\":{\"category\":{\"index\":[\"2023\",\"2024\",\"2025\"]}},"
    "\"sex\":{\"category\":{\"index\":[\"F\",\"M\"]}}},"
    "\"value\":[1,2,3,4,null,\"6.5\"],\"status\":[\"a\",null,\"b\",\"c\","
    "\"d\",\"e\"]}";

static void jsonstat_edges(void **state) {
  json_t *doc = parse(js_array);
  struct cube_points pts = {0};
  char err[512];
  (void)state;
  expect_error(jstat(doc, KEY({"sex", "M"}), NULL, &pts, err), err,
               "no time dimension: no role.time and no dimension named time");
  assert_int_equal(jstat(doc, KEY({"sex", "M"}), "year", &pts, err), 0);
  /* row-major: year 2024 (position 1) is cell 1*2 + 1 = 3 */
  assert_int_equal(pts.n, 3);
  expect_point(&pts, 0, "2023", 2, 0, 2);
  expect_point(&pts, 1, "2024", 4, 0, 2);
  expect_point(&pts, 2, "2025", 6.5, 0, 2);
  assert_string_equal(pts.v[1].status, "c");
  assert_string_equal(pts.v[2].status, "e");
  assert_int_equal(
      jstat(doc, KEY({"sex", "F"}, {"area", "LN"}), "year", &pts, err), 0);
  assert_int_equal(pts.n, 2); /* 2025 is null */
  expect_point(&pts, 0, "2023", 1, 0, 2);
  expect_point(&pts, 1, "2024", 3, 0, 2);
  expect_error(jstat(doc, KEY({"sex", "F"}), "sex", &pts, err), err,
               "sex is the time dimension");
  expect_error(jstat(doc, KEY({"sex", "F"}), "month", &pts, err), err,
               "no dimension month for the time");
  cube_points_free(&pts);
  json_decref(doc);
}

static void jsonstat_malformed(void **state) {
  static const struct {
    const char *json, *why;
  } cases[] = {
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"time\"],"
       "\"size\":[2],\"dimension\":{\"time\":{\"category\":{\"index\":["
       "\"2025\",\"2026\"]}}},\"value\":[1,2,3]}",
       "value has 3 entries; the dimensions make 2"},
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"time\"],"
       "\"size\":[2],\"dimension\":{\"time\":{\"category\":{\"index\":["
       "\"2025\",\"2026\"]}}},\"value\":{\"01\":1}}",
       "value key \"01\" is not a cell index"},
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"time\"],"
       "\"size\":[2],\"dimension\":{\"time\":{\"category\":{\"index\":["
       "\"2025\",\"2026\"]}}},\"value\":{\"2\":1}}",
       "value key \"2\" is beyond the 2 cells"},
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"time\"],"
       "\"size\":[3],\"dimension\":{\"time\":{\"category\":{\"index\":["
       "\"2025\",\"2026\"]}}},\"value\":[]}",
       "dimension time: size says 3 categories, index has 2"},
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"time\"],"
       "\"size\":[2],\"dimension\":{\"time\":{\"category\":{\"index\":{"
       "\"2025\":0,\"2026\":0}}}},\"value\":[1,2]}",
       "dimension time: code 2026 has no position of its own"},
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"time\"],"
       "\"size\":[2],\"dimension\":{\"time\":{\"category\":{\"index\":["
       "\"2025\",\"2025\"]}}},\"value\":[1,2]}",
       "dimension time lists code 2025 twice"},
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"time\"],"
       "\"size\":[1],\"dimension\":{\"time\":{\"category\":{\"index\":["
       "\"2025\"]}}},\"value\":[\"n/a\"]}",
       "period 2025: the value is not a number"},
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"a\",\"b\"],"
       "\"size\":[1,1],\"role\":{\"time\":[\"a\",\"b\"]},\"dimension\":{},"
       "\"value\":[1]}",
       "dimension a has no category"},
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"a\",\"b\"],"
       "\"size\":[1,1],\"role\":{\"time\":[\"a\",\"b\"]},\"dimension\":{\"a\":"
       "{\"category\":{\"index\":[\"x\"]}},\"b\":{\"category\":{\"index\":["
       "\"y\"]}}},\"value\":[1]}",
       "role.time names 2 dimensions"},
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"a\"],"
       "\"size\":[1,1],\"dimension\":{},\"value\":[1]}",
       "id has 1 dimensions, size 2"},
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"a\"],"
       "\"size\":[0],\"dimension\":{\"a\":{}},\"value\":[]}",
       "dimension a: size is not a count of categories"},
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"a\",\"b\",\"c\"],"
       "\"size\":[4000000,4000000,4000000],\"dimension\":{\"a\":{}},"
       "\"value\":[]}",
       "makes the cube too large"},
      {"{\"dataset\":{\"dimension\":{\"id\":[\"time\"],\"size\":[1]},"
       "\"value\":[1]}}",
       "dimension time has no category"},
      {"{\"a\":{\"dimension\":{\"id\":[\"time\"],\"size\":[1]},"
       "\"value\":[1]},\"b\":{\"dimension\":{\"id\":[\"time\"],"
       "\"size\":[1]},\"value\":[1]}}",
       "the JSON-stat bundle holds 2 datasets (\"a\", \"b\")"},
      {"{\"version\":\"2.0\",\"class\":\"collection\",\"link\":{}}",
       "a JSON-stat collection that embeds no dataset"},
      {"{\"version\":\"2.0\",\"class\":\"bundle?\"}",
       "JSON-stat class bundle?, not a dataset"},
      {"{\"version\":\"2.0\",\"class\":\"error\",\"error\":[{\"status\":"
       "\"400\","
       "\"label\":\"Invalid dimension geo\"}]}",
       "the response is an error: Invalid dimension geo"},
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"time\",\"m\"],"
       "\"size\":[1,1],\"role\":{\"metric\":[\"m\"]},\"dimension\":{\"time\":"
       "{\"category\":{\"index\":[\"2025\"]}},\"m\":{\"category\":{\"index\":["
       "\"x\"],\"unit\":{\"x\":{\"decimals\":1.5}}}}},\"value\":[1]}",
       "unit of x: decimals is not a small integer"},
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"time\",\"m\"],"
       "\"size\":[1,1],\"dimension\":{\"time\":{\"category\":{\"index\":["
       "\"2025\"]}},\"m\":{\"category\":{\"index\":[\"x\"],\"unit\":{\"x\":"
       "{\"multiplier\":31}}}}},\"value\":[1]}",
       "unit of x: multiplier is not a small integer"},
      {"{\"version\":\"2.0\",\"class\":\"dataset\",\"id\":[\"time\"],"
       "\"size\":[\"2x\"],\"dimension\":{\"time\":{}},\"value\":[]}",
       "dimension time: size is not a count of categories"},
  };
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    json_t *doc = parse(cases[i].json);
    struct cube_points pts = {0};
    char err[512];
    int rc = jstat(doc, NOKEY, NULL, &pts, err);
    if (rc != -EINVAL || !strstr(err, cases[i].why)) {
      fprintf(stderr, "case %zu: rc %d, \"%s\", wanted \"%s\"\n", i, rc, err,
              cases[i].why);
      fail();
    }
    cube_points_free(&pts);
    json_decref(doc);
  }
}

/* Statistics Ireland wrote size as strings ("size": ["2", "3", "4"]); the
 * published file is tests/data/published/jsonstat-size-as-string.json. */
static void jsonstat_size_strings(void **state) {
  const char *dir = getenv("TEST_DATA");
  char path[1024];
  json_error_t e;
  json_t *doc;
  struct cube_points pts = {0};
  char err[512];
  (void)state;
  snprintf(path, sizeof(path), "%s/published/jsonstat-size-as-string.json",
           dir ? dir : "tests/data");
  doc = json_load_file(path, 0, &e);
  assert_non_null(doc);
  assert_int_equal(
      jstat(doc, KEY({"one", "one_1"}, {"two", "two_2"}), "three", &pts, err),
      0);
  /* cells 4..7 of 2 x 3 x 4, row-major */
  assert_int_equal(pts.n, 4);
  expect_point(&pts, 0, "three_1", 120, 0, -1);
  expect_point(&pts, 3, "three_4", 124, 0, -1);
  cube_points_free(&pts);
  json_decref(doc);
}

static void point_values(void **state) {
  struct cube_point p = {.value = 1234.5, .scale = 6, .decimals = 1};
  (void)state;
  assert_true(cube_point_value(&p) == 1234500000.0);
  p = (struct cube_point){.value = 2503.7, .scale = 8, .decimals = -1};
  /* 2503.7 * 1e8 in binary is 250369999999.99997 */
  assert_true(cube_point_value(&p) == 250370000000.0);
  p = (struct cube_point){.value = 100.71505336, .scale = 0, .decimals = 1};
  assert_true(cube_point_value(&p) == 100.7);
  p = (struct cube_point){.value = -0.25, .scale = -2, .decimals = -1};
  assert_true(cube_point_value(&p) == -0.0025);
  p = (struct cube_point){.value = 8.2, .scale = 0, .decimals = -1};
  assert_true(cube_point_value(&p) == 8.2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sdmx_v1_recording),
      cmocka_unit_test(sdmx_v1_key_errors),
      cmocka_unit_test(sdmx_v2_recording),
      cmocka_unit_test(sdmx_dimension_groups),
      cmocka_unit_test(sdmx_datasets_in_order),
      cmocka_unit_test(sdmx_flat),
      cmocka_unit_test(sdmx_legacy_and_order),
      cmocka_unit_test(sdmx_malformed),
      cmocka_unit_test(jsonstat_eurostat_sparse),
      cmocka_unit_test(jsonstat_ssb_array),
      cmocka_unit_test(jsonstat_edges),
      cmocka_unit_test(jsonstat_malformed),
      cmocka_unit_test(jsonstat_size_strings),
      cmocka_unit_test(point_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
