/* Value parsers shared by the config and the collectors: durations,
 * periods, rules, observation times, calendar and text helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "duration.h"
#include "period.h"
#include "rule.h"
#include "timefmt.h"
#include "tz.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static void durations(void **state) {
  static const struct {
    const char *in;
    int64_t ms;
    int rc;
  } cases[] = {
      {"30s", 30000, 0},
      {"5m", 300000, 0},
      {"1h", 3600000, 0},
      {"1d", 86400000, 0},
      {"2w", 14 * INT64_C(86400000), 0},
      {"5y", 5 * 365 * INT64_C(86400000), 0},
      {"1h30m", 5400000, 0},
      {"250ms", 250, 0},
      {"", 0, -EINVAL},
      {"10", 0, -EINVAL},
      {"1x", 0, -EINVAL},
      {"-1s", 0, -EINVAL},
      {"1.5h", 0, -EINVAL},
      {"h", 0, -EINVAL},
      {"101y", 0, -ERANGE},
      {"99999999999999999999s", 0, -ERANGE},
  };
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    int64_t ms = -1;
    int rc = duration_parse(cases[i].in, &ms);
    if (rc != cases[i].rc || (rc == 0 && ms != cases[i].ms)) {
      fprintf(stderr, "duration '%s': rc %d ms %lld\n", cases[i].in, rc,
              (long long)ms);
      fail();
    }
  }
  {
    char buf[32];
    duration_format(5400000, buf, sizeof(buf));
    assert_string_equal(buf, "1h30m");
    duration_format(86400000 + 1000, buf, sizeof(buf));
    assert_string_equal(buf, "1d1s");
  }
}

static void periods(void **state) {
  struct period p;
  (void)state;
  assert_int_equal(period_parse("2026", &p), 0);
  assert_int_equal(period_days(&p), 365);
  assert_int_equal(period_parse("2028", &p), 0);
  assert_int_equal(period_days(&p), 366);
  assert_int_equal(period_parse("2026-Q2", &p), 0);
  assert_int_equal(p.from_month, 4);
  assert_int_equal(p.to_month, 6);
  assert_int_equal(p.to_day, 30);
  assert_int_equal(period_days(&p), 91);
  assert_int_equal(period_parse("2028-02", &p), 0);
  assert_int_equal(p.to_day, 29);
  assert_int_equal(period_parse("2026-H2", &p), 0);
  assert_int_equal(period_days(&p), 184);
  assert_int_equal(period_parse("2026-Q0", &p), -EINVAL);
  assert_int_equal(period_parse("2026-13", &p), -EINVAL);
  assert_int_equal(period_parse("26", &p), -EINVAL);
  assert_int_equal(period_parse("2026-1", &p), -EINVAL);
  {
    int y, m, d;
    assert_int_equal(period_parse_date("2028-02-29", &y, &m, &d), 0);
    assert_int_equal(period_parse_date("2026-02-29", &y, &m, &d), -EINVAL);
    assert_int_equal(period_parse_date("2026-2-1", &y, &m, &d), -EINVAL);
  }
  /* Local bounds in Asia/Shanghai (UTC+8). */
  assert_int_equal(tz_set("Asia/Shanghai"), 0);
  assert_int_equal(period_parse("2026", &p), 0);
  assert_int_equal(period_start_ms(&p),
                   INT64_C(1767196800000)); /* 2025-12-31T16:00Z */
  assert_int_equal(period_end_ms(&p), INT64_C(1798732800000));
}

static void rules(void **state) {
  struct rule r;
  char err[128];
  size_t at;
  (void)state;
  assert_int_equal(rule_parse("total >= 450000", &r, err, sizeof(err), &at), 0);
  assert_int_equal(r.measure, MEASURE_TOTAL);
  assert_int_equal(r.op, OP_GE);
  assert_true(r.value == 450000);
  assert_false(r.percent);
  assert_int_equal(rule_parse("mean<=33", &r, err, sizeof(err), &at), 0);
  assert_int_equal(r.op, OP_LE);
  assert_int_equal(rule_parse(" growth >= 15% ", &r, err, sizeof(err), &at), 0);
  assert_true(r.percent && r.value == 15);
  assert_int_equal(rule_parse("latest == 0", &r, err, sizeof(err), &at), 0);
  assert_int_equal(r.op, OP_EQ);
  assert_int_equal(rule_parse("latest < -2.5", &r, err, sizeof(err), &at), 0);
  assert_true(r.value == -2.5);
  assert_int_equal(rule_parse("count >= 1", &r, err, sizeof(err), &at),
                   -EINVAL);
  assert_int_equal(at, 0);
  assert_int_equal(rule_parse("total = 1", &r, err, sizeof(err), &at), -EINVAL);
  assert_int_equal(at, 6);
  assert_int_equal(rule_parse("total >= ", &r, err, sizeof(err), &at), -EINVAL);
  assert_int_equal(rule_parse("total >= 1e999", &r, err, sizeof(err), &at),
                   -EINVAL);
  assert_int_equal(rule_parse("total >= nan", &r, err, sizeof(err), &at),
                   -EINVAL);
  assert_int_equal(rule_parse("total >= 5 5", &r, err, sizeof(err), &at),
                   -EINVAL);
  assert_int_equal(at, 11);
}

struct time_case {
  const char *tz;
  const char *text;
  enum timefmt_kind kind;
  const char *pattern;
  int rc;
  enum timefmt_grain grain;
  int64_t start, last;
};

#define MS(x) INT64_C(x)
#define SH "Asia/Shanghai"
#define ISO TIMEFMT_ISO8601
#define YEAR_2026 MS(1767196800000), MS(1798732799999)
#define Q1_2026 MS(1767196800000), MS(1774972799999)
#define H1_2026 MS(1767196800000), MS(1782835199999)
#define MAR_2026 MS(1772294400000), MS(1774972799999)

static const struct time_case time_cases[] = {
    /* ISO 8601 with offsets */
    {"UTC", "2026-11-28T09:00:00Z", TIMEFMT_ISO8601, NULL, 0, GRAIN_INSTANT,
     MS(1795856400000), MS(1795856400000)},
    {"UTC", "2026-11-28T09:00:00+08:00", TIMEFMT_ISO8601, NULL, 0,
     GRAIN_INSTANT, MS(1795827600000), MS(1795827600000)},
    {"UTC", "2026-11-28T09:00:00.250-0130", TIMEFMT_ISO8601, NULL, 0,
     GRAIN_INSTANT, MS(1795861800250), MS(1795861800250)},
    {"UTC", "2026-11-28 09:00", TIMEFMT_ISO8601, NULL, 0, GRAIN_INSTANT,
     MS(1795856400000), MS(1795856400000)},
    /* local time in the configured zone */
    {"Asia/Shanghai", "2026-11-28T09:00:00", TIMEFMT_ISO8601, NULL, 0,
     GRAIN_INSTANT, MS(1795827600000), MS(1795827600000)},
    /* period labels: "Jan-Oct total" ends on the last ms of October */
    {"Asia/Shanghai", "2026-10", TIMEFMT_ISO8601, NULL, 0, GRAIN_MONTH,
     MS(1790784000000), MS(1793462399999)},
    {"Asia/Shanghai", "2026-Q3", TIMEFMT_ISO8601, NULL, 0, GRAIN_QUARTER,
     MS(1782835200000), MS(1790783999999)},
    {"Asia/Shanghai", "2026-10-15", TIMEFMT_ISO8601, NULL, 0, GRAIN_DAY,
     MS(1791993600000), MS(1792079999999)},
    {"Asia/Shanghai", "2026", TIMEFMT_ISO8601, NULL, 0, GRAIN_YEAR,
     MS(1767196800000), MS(1798732799999)},
    {"Europe/Berlin", "2026-07-01T12:00:00", TIMEFMT_ISO8601, NULL, 0,
     GRAIN_INSTANT, MS(1782900000000), MS(1782900000000)},
    /* leap day */
    {"UTC", "2028-02-29", TIMEFMT_ISO8601, NULL, 0, GRAIN_DAY,
     MS(1835395200000), MS(1835481599999)},
    {"UTC", "2026-02-29", TIMEFMT_ISO8601, NULL, -EINVAL, 0, 0, 0},
    {"UTC", "2026-11-28T25:00:00Z", TIMEFMT_ISO8601, NULL, -EINVAL, 0, 0, 0},
    {"UTC", "2026-11-28T09:00:00+08:00junk", TIMEFMT_ISO8601, NULL, -EINVAL, 0,
     0, 0},
    {"UTC", "11/28/2026", TIMEFMT_ISO8601, NULL, -EINVAL, 0, 0, 0},
    {"UTC", "", TIMEFMT_ISO8601, NULL, -EINVAL, 0, 0, 0},
    /* epoch */
    {"UTC", "1795856400", TIMEFMT_EPOCH, NULL, 0, GRAIN_INSTANT,
     MS(1795856400000), MS(1795856400000)},
    {"UTC", "1795856400.5", TIMEFMT_EPOCH, NULL, 0, GRAIN_INSTANT,
     MS(1795856400500), MS(1795856400500)},
    {"UTC", "1795856400123", TIMEFMT_EPOCH_MS, NULL, 0, GRAIN_INSTANT,
     MS(1795856400123), MS(1795856400123)},
    {"UTC", "1e300", TIMEFMT_EPOCH, NULL, -EINVAL, 0, 0, 0},
    {"UTC", "nan", TIMEFMT_EPOCH, NULL, -EINVAL, 0, 0, 0},
    {"UTC", "12abc", TIMEFMT_EPOCH_MS, NULL, -EINVAL, 0, 0, 0},
    /* strptime patterns */
    {"Asia/Shanghai", "2026-10", TIMEFMT_STRPTIME, "%Y-%m", 0, GRAIN_MONTH,
     MS(1790784000000), MS(1793462399999)},
    {"Asia/Shanghai", "2026年10月", TIMEFMT_STRPTIME, "%Y年%m月", 0,
     GRAIN_MONTH, MS(1790784000000), MS(1793462399999)},
    {"UTC", "28/11/2026 09:00", TIMEFMT_STRPTIME, "%d/%m/%Y %H:%M", 0,
     GRAIN_INSTANT, MS(1795856400000), MS(1795856400000)},
    {"UTC", "28/11/2026", TIMEFMT_STRPTIME, "%d/%m/%Y", 0, GRAIN_DAY,
     MS(1795824000000), MS(1795910399999)},
    {"UTC", "2026/11", TIMEFMT_STRPTIME, "%Y-%m", -EINVAL, 0, 0, 0},
    /* period codes of statistics offices, Asia/Shanghai (UTC+8) */
    {SH, "2026Q1", ISO, NULL, 0, GRAIN_QUARTER, Q1_2026},
    {SH, "2026q1", ISO, NULL, 0, GRAIN_QUARTER, Q1_2026},
    {SH, "2026-Q1", ISO, NULL, 0, GRAIN_QUARTER, Q1_2026},
    {SH, "2025Q4", ISO, NULL, 0, GRAIN_QUARTER, MS(1759248000000),
     MS(1767196799999)},
    {SH, "2026-S1", ISO, NULL, 0, GRAIN_HALF, H1_2026},
    {SH, "2026S2", ISO, NULL, 0, GRAIN_HALF, MS(1782835200000),
     MS(1798732799999)},
    {SH, "2026-H1", ISO, NULL, 0, GRAIN_HALF, H1_2026},
    {SH, "2026M03", ISO, NULL, 0, GRAIN_MONTH, MAR_2026},
    {SH, "2026-M03", ISO, NULL, 0, GRAIN_MONTH, MAR_2026},
    {SH, "202603", ISO, NULL, 0, GRAIN_MONTH, MAR_2026},
    {SH, "202812", ISO, NULL, 0, GRAIN_MONTH, MS(1859212800000),
     MS(1861891199999)},
    {SH, "2026年3月", ISO, NULL, 0, GRAIN_MONTH, MAR_2026},
    {SH, "2026年03月", ISO, NULL, 0, GRAIN_MONTH, MAR_2026},
    {SH, " 2026年3月 ", ISO, NULL, 0, GRAIN_MONTH, MAR_2026},
    {SH, "2026年1-3月", ISO, NULL, 0, GRAIN_QUARTER, Q1_2026},
    {SH, "2026年1—3月", ISO, NULL, 0, GRAIN_QUARTER, Q1_2026},
    {SH, "2026年1～3月", ISO, NULL, 0, GRAIN_QUARTER, Q1_2026},
    {SH, "2026年1-5月", ISO, NULL, 0, GRAIN_MONTHS, MS(1767196800000),
     MS(1780243199999)},
    {SH, "2026年4-6月", ISO, NULL, 0, GRAIN_QUARTER, MS(1774972800000),
     MS(1782835199999)},
    {SH, "2026年1-12月", ISO, NULL, 0, GRAIN_YEAR, YEAR_2026},
    {SH, "2026年3-3月", ISO, NULL, 0, GRAIN_MONTH, MAR_2026},
    {SH, "2026年一季度", ISO, NULL, 0, GRAIN_QUARTER, Q1_2026},
    {SH, "2026年第一季度", ISO, NULL, 0, GRAIN_QUARTER, Q1_2026},
    {SH, "2026年1季度", ISO, NULL, 0, GRAIN_QUARTER, Q1_2026},
    {SH, "2025年四季度", ISO, NULL, 0, GRAIN_QUARTER, MS(1759248000000),
     MS(1767196799999)},
    {SH, "2025年前三季度", ISO, NULL, 0, GRAIN_MONTHS, MS(1735660800000),
     MS(1759247999999)},
    {SH, "2025年一至三季度", ISO, NULL, 0, GRAIN_MONTHS, MS(1735660800000),
     MS(1759247999999)},
    {SH, "2026年上半年", ISO, NULL, 0, GRAIN_HALF, H1_2026},
    {SH, "2026年下半年", ISO, NULL, 0, GRAIN_HALF, MS(1782835200000),
     MS(1798732799999)},
    {SH, "2026年", ISO, NULL, 0, GRAIN_YEAR, YEAR_2026},
    {SH, "2026年全年", ISO, NULL, 0, GRAIN_YEAR, YEAR_2026},
    {SH, "2026年3月15日", ISO, NULL, 0, GRAIN_DAY, MS(1773504000000),
     MS(1773590399999)},
    /* Nordic quarters, SDMX years, trimesters, ISO weeks, days of the year */
    {SH, "2026K1", ISO, NULL, 0, GRAIN_QUARTER, Q1_2026},
    {SH, "2026A", ISO, NULL, 0, GRAIN_QUARTER, Q1_2026},
    {SH, "2025D", ISO, NULL, 0, GRAIN_QUARTER, MS(1759248000000),
     MS(1767196799999)},
    {SH, "2026E", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026-A1", ISO, NULL, 0, GRAIN_YEAR, YEAR_2026},
    {SH, "2026-T1", ISO, NULL, 0, GRAIN_MONTHS, MS(1767196800000),
     MS(1777564799999)},
    {SH, "2026-W01", ISO, NULL, 0, GRAIN_WEEK, MS(1766937600000),
     MS(1767542399999)},
    {SH, "2026-W10", ISO, NULL, 0, GRAIN_WEEK, MS(1772380800000),
     MS(1772985599999)},
    /* PxWeb weeks (SSB, Statistics Denmark "U", Statistics Sweden "V") */
    {SH, "2026U01", ISO, NULL, 0, GRAIN_WEEK, MS(1766937600000),
     MS(1767542399999)},
    {SH, "2026V10", ISO, NULL, 0, GRAIN_WEEK, MS(1772380800000),
     MS(1772985599999)},
    {SH, "2026-W53", ISO, NULL, 0, GRAIN_WEEK, MS(1798387200000),
     MS(1798991999999)},
    {SH, "2026-D032", ISO, NULL, 0, GRAIN_DAY, MS(1769875200000),
     MS(1769961599999)},
    {SH, "2025-W53", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026-W00", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026-A2", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026-T4", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026-D366", ISO, NULL, -EINVAL, 0, 0, 0},
    /* a zone with summer time: March 2026 ends at 23:59:59.999+02:00 */
    {"Europe/Berlin", "2026M03", ISO, NULL, 0, GRAIN_MONTH, MS(1772319600000),
     MS(1774994399999)},
    /* not a period */
    {SH, "2026Q0", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026Q5", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026-Q12", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026S3", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026M13", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026M3", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "202613", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "202600", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026031", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "20260315", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026年13月", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026年0月", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026年3-1月", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026年1-3", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026年五季度", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026年第1月", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026年三至一季度", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026年2月30日", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026年上半年x", ISO, NULL, -EINVAL, 0, 0, 0},
    {SH, "2026年3月份", ISO, NULL, -EINVAL, 0, 0, 0},
    {"UTC", "2026-11 extra", TIMEFMT_STRPTIME, "%Y-%m", -EINVAL, 0, 0, 0},
};

static void times(void **state) {
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(time_cases); i++) {
    const struct time_case *c = &time_cases[i];
    struct timefmt_value v = {0};
    char err[128] = "";
    int rc;
    assert_int_equal(tz_set(c->tz), 0);
    rc = timefmt_parse(c->text, strlen(c->text), c->kind, c->pattern, &v, err,
                       sizeof(err));
    if (rc != c->rc ||
        (rc == 0 && (v.grain != c->grain || v.start_ms != c->start ||
                     v.last_ms != c->last))) {
      fprintf(stderr,
              "time case %zu '%s' (%s): rc %d grain %d start %lld last %lld "
              "(%s)\n",
              i, c->text, c->tz, rc, v.grain, (long long)v.start_ms,
              (long long)v.last_ms, err);
      fail();
    }
    if (rc < 0)
      assert_true(err[0] != '\0');
  }
}

static void time_patterns(void **state) {
  static const struct {
    const char *pattern;
    const char *why; /* NULL: accepted */
  } cases[] = {
      {"%Y-%m", NULL},
      {"%Y年%m月", NULL},
      {"%d/%m/%Y %H:%M", NULL},
      {"%Y-%m-%dT%H:%M:%S%z", NULL},
      {"%Y-%j", NULL},
      {"%b %Y", NULL},
      {"%F %T", NULL},
      {"%y%m", NULL},
      {"100%% %Y", NULL},
      {"%YQ%m", "quarter"},
      {"%Y-Q%m", "quarter"},
      {"%Yq%m", "quarter"},
      {"%YH%m", "quarter"},
      {"%Y年第%m季度", "quarter"},
      {"%Y年%m半年", "quarter"},
      {"%m月", "no year"},
      {"%H:%M", "no year"},
      {"%Y-%d", "needs a month"},
      {"%Y-%m %H:%M", "needs a day"},
      {"%s", "epoch"},
      {"%Y-W%W", "not applied"},
      {"%G-%V", "not applied"},
      {"%Y %Z", "zone names"},
      {"%Y%Q", "unknown strptime directive %Q"},
      {"%Y%", "lone %"},
      {"%Y%E", "lone %"},
  };
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char err[256] = "";
    int rc = timefmt_pattern_check(cases[i].pattern, err, sizeof(err));
    if (cases[i].why ? rc != -EINVAL || !strstr(err, cases[i].why) : rc != 0) {
      fprintf(stderr, "pattern '%s': rc %d (%s)\n", cases[i].pattern, rc, err);
      fail();
    }
  }
}

static void time_range(void **state) {
  char err[128] = "";
  int64_t now = MS(1795856400000); /* 2026-11-28T09:00:00Z */
  (void)state;
  assert_int_equal(tz_set("Asia/Shanghai"), 0);
  assert_int_equal(timefmt_check_range(MS(86400000), now, err, 128), 0);
  assert_int_equal(timefmt_check_range(MS(86399999), now, err, 128), -ERANGE);
  assert_non_null(
      strstr(err, "1970-01-02T07:59:59+08:00 is before 1970-01-02"));
  assert_int_equal(timefmt_check_range(MS(-2208988800000), now, err, 128),
                   -ERANGE);
  assert_int_equal(
      timefmt_check_range(now + TIMEFMT_MAX_AHEAD_MS, now, err, 128), 0);
  assert_int_equal(
      timefmt_check_range(now + TIMEFMT_MAX_AHEAD_MS + 1, now, err, 128),
      -ERANGE);
  assert_non_null(strstr(err, "more than 400 days after the fetch"));
  /* 9999-12-31 is the kind of placeholder that must never become latest */
  assert_int_equal(timefmt_check_range(MS(253402214400000), now, err, 128),
                   -ERANGE);
}

static void iso_format(void **state) {
  char buf[64];
  (void)state;
  assert_int_equal(tz_set("Asia/Shanghai"), 0);
  timefmt_iso(MS(1795827600000), buf, sizeof(buf));
  assert_string_equal(buf, "2026-11-28T09:00:00+08:00");
  assert_int_equal(tz_set("UTC"), 0);
  timefmt_iso(MS(1795827600000), buf, sizeof(buf));
  assert_string_equal(buf, "2026-11-28T01:00:00Z");
}

static void calendar(void **state) {
  int y, m, d;
  (void)state;
  assert_true(tz_is_leap(2028));
  assert_false(tz_is_leap(2100));
  assert_true(tz_is_leap(2000));
  assert_int_equal(tz_days_in_month(2026, 2), 28);
  assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
  assert_int_equal(tz_days_from_civil(2026, 11, 28), 20785);
  tz_civil_from_days(20785, &y, &m, &d);
  assert_int_equal(y, 2026);
  assert_int_equal(m, 11);
  assert_int_equal(d, 28);
  assert_true(tz_valid("Asia/Shanghai"));
  assert_true(tz_valid("UTC"));
  assert_false(tz_valid("Asia/Nowhere"));
  assert_false(tz_valid("/etc/passwd"));
  assert_false(tz_valid("../zoneinfo/UTC"));
}

static void text_helpers(void **state) {
  (void)state;
  assert_int_equal(utf8_width("abc"), 3);
  assert_int_equal(utf8_width("城镇新增就业"), 12);
  assert_int_equal(utf8_width("PM2.5 µg/m³"), 11);
  assert_int_equal(utf8_width("【指标告警】"), 12);
  assert_int_equal(edit_distance("every", "evry"), 1);
  assert_int_equal(edit_distance("", "abc"), 3);
  assert_int_equal(edit_distance("kitten", "sitting"), 3);
  {
    char b[64];
    format_number(412000, b, sizeof(b));
    assert_string_equal(b, "412,000");
    format_number(-1234567.4, b, sizeof(b));
    assert_string_equal(b, "-1,234,567");
    format_number(33.75, b, sizeof(b));
    assert_string_equal(b, "33.75");
    format_number(35.30, b, sizeof(b));
    assert_string_equal(b, "35.3");
    format_number(100.0, b, sizeof(b));
    assert_string_equal(b, "100");
    format_number(1e300, b, sizeof(b)); /* no overflow of the grouping */
    assert_string_equal(b, "1e+300");
    format_number(NAN, b, sizeof(b));
    assert_string_equal(b, "n/a");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(durations),     cmocka_unit_test(periods),
      cmocka_unit_test(rules),         cmocka_unit_test(times),
      cmocka_unit_test(time_patterns), cmocka_unit_test(time_range),
      cmocka_unit_test(iso_format),    cmocka_unit_test(calendar),
      cmocka_unit_test(text_helpers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
