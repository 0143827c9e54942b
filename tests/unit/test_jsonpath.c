/* The JSONPath subset: every step kind, filters, and compile errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "jsonpath.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char doc[] = "{\"data\": {\"time\": \"2026-11-28\", \"cities\": ["
                          "{\"name\": \"沈阳\", \"pm25\": 41, \"rank\": 3},"
                          "{\"name\": \"大连\", \"pm25\": \"27\", \"rank\": 1},"
                          "{\"name\": \"鞍山\", \"pm25\": 38, \"rank\": 2}],"
                          "\"key with spaces\": 7, \"list\": [1, 2, 3],"
                          "\"o\": {\"a\": 1, \"b\": 2}}}";

struct sel_case {
  const char *path;
  size_t count;
  const char *first; /* JSON of the first match */
};

static const struct sel_case cases[] = {
    {"$", 1, NULL},
    {"$.data.time", 1, "\"2026-11-28\""},
    {"$['data']['time']", 1, "\"2026-11-28\""},
    {"$[\"data\"].time", 1, "\"2026-11-28\""},
    {"$.data['key with spaces']", 1, "7"},
    {"$.data.list[0]", 1, "1"},
    {"$.data.list[-1]", 1, "3"},
    {"$.data.list[3]", 0, NULL},
    {"$.data.list[-4]", 0, NULL},
    {"$.data.list[*]", 3, "1"},
    {"$.data.o.*", 2, "1"},
    {"$.data.cities[*].pm25", 3, "41"},
    {"$.data.cities[?(@.name=='沈阳')].pm25", 1, "41"},
    {"$.data.cities[?(@.name == \"大连\")].pm25", 1, "\"27\""},
    {"$.data.cities[?(@.name!='沈阳')].rank", 2, "1"},
    {"$.data.cities[?(@.rank>=2)].name", 2, "\"沈阳\""},
    {"$.data.cities[?(@.rank<2)].name", 1, "\"大连\""},
    {"$.data.cities[?(@.rank>3)].name", 0, NULL},
    {"$.data.cities[?(@.rank<=1)].name", 1, "\"大连\""},
    {"$.data.cities[?(@.rank==2.0)].name", 1, "\"鞍山\""},
    {"$.data.cities[?(@.pm25>30)].name", 2, "\"沈阳\""}, /* "27" is a string */
    {"$.nope", 0, NULL},
    {"$.data.time.deeper", 0, NULL},
    {"$.data.list.x", 0, NULL},
};

static void selects(void **state) {
  json_error_t e;
  json_t *root = json_loads(doc, 0, &e);
  (void)state;
  assert_non_null(root);
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct jsonpath *p = NULL;
    char err[128];
    size_t at;
    json_t *out[4] = {0};
    size_t n;
    if (jsonpath_compile(cases[i].path, &p, err, sizeof(err), &at) < 0) {
      fprintf(stderr, "%s: %s at %zu\n", cases[i].path, err, at);
      fail();
    }
    n = jsonpath_eval(p, root, out, 4);
    if (n != cases[i].count) {
      fprintf(stderr, "%s: %zu matches, want %zu\n", cases[i].path, n,
              cases[i].count);
      fail();
    }
    if (cases[i].first) {
      char *s = json_dumps(out[0], JSON_ENCODE_ANY);
      if (strcmp(s, cases[i].first) != 0) {
        fprintf(stderr, "%s: first %s, want %s\n", cases[i].path, s,
                cases[i].first);
        fail();
      }
      free(s);
    }
    jsonpath_free(p);
  }
  json_decref(root);
}

/* Filters: every comparison operator against strings, numbers and values
 * of the other type, each compared on the whole list of matches (in order),
 * not just their number. RFC 9535 semantics: < <= > >= compare two strings
 * (byte order) or two numbers and are false otherwise; == holds for one type
 * with one value; != is its negation, so it holds for a value of another
 * type and for a record without the member. */
static const char rows[] = "{\"rows\": ["
                           "{\"id\": \"a\", \"code\": \"b\", \"n\": 1},"
                           "{\"id\": \"b\", \"code\": \"a\", \"n\": 2.5},"
                           "{\"id\": \"c\", \"code\": \"c\", \"n\": \"3\"},"
                           "{\"id\": \"d\", \"n\": null},"
                           "{\"id\": \"e\", \"code\": 5, \"n\": -1},"
                           "{\"id\": \"f\", \"code\": \"ab\", \"n\": true},"
                           "{\"id\": \"g\"}]}";

static const struct {
  const char *filter;
  const char *ids; /* JSON array of the matching rows' ids, in order */
} filter_cases[] = {
    {"@.code=='b'", "[\"a\"]"},
    {"@.code!='b'", "[\"b\", \"c\", \"d\", \"e\", \"f\", \"g\"]"},
    {"@.code<'b'", "[\"b\", \"f\"]"},
    {"@.code<='b'", "[\"a\", \"b\", \"f\"]"},
    {"@.code>'b'", "[\"c\"]"},
    {"@.code>='b'", "[\"a\", \"c\"]"},
    {"@.code<'ab'", "[\"b\"]"},
    {"@.code>'a'", "[\"a\", \"c\", \"f\"]"},
    {"@.code=='5'", "[]"},
    {"@.code==5", "[\"e\"]"},
    {"@.code!=5", "[\"a\", \"b\", \"c\", \"d\", \"f\", \"g\"]"},
    {"@.n==2.5", "[\"b\"]"},
    {"@.n!=1", "[\"b\", \"c\", \"d\", \"e\", \"f\", \"g\"]"},
    {"@.n<2", "[\"a\", \"e\"]"},
    {"@.n<=2.5", "[\"a\", \"b\", \"e\"]"},
    {"@.n>1", "[\"b\"]"},
    {"@.n>=1", "[\"a\", \"b\"]"},
    {"@.n==3", "[]"},
    {"@.n>-1", "[\"a\", \"b\"]"},
    {"@.n>=-1", "[\"a\", \"b\", \"e\"]"},
    {"@.id=='g'", "[\"g\"]"},
};

static void filters_every_match(void **state) {
  json_error_t e;
  json_t *root = json_loads(rows, 0, &e);
  (void)state;
  assert_non_null(root);
  for (size_t i = 0; i < ARRAY_SIZE(filter_cases); i++) {
    char *path = xasprintf("$.rows[?(%s)].id", filter_cases[i].filter);
    struct jsonpath *p = NULL;
    char err[128];
    size_t at, n;
    json_t *out[8] = {0};
    json_t *got = json_array(), *want = json_loads(filter_cases[i].ids, 0, &e);
    if (jsonpath_compile(path, &p, err, sizeof(err), &at) < 0) {
      fprintf(stderr, "%s: %s at %zu\n", path, err, at);
      fail();
    }
    n = jsonpath_eval(p, root, out, 8);
    assert_true(n <= 8);
    for (size_t k = 0; k < n; k++)
      json_array_append(got, out[k]);
    if (!want || !json_equal(got, want)) {
      char *s = json_dumps(got, 0);
      fprintf(stderr, "%s: %s, want %s\n", path, s, filter_cases[i].ids);
      free(s);
      fail();
    }
    json_decref(got);
    json_decref(want);
    jsonpath_free(p);
    free(path);
  }
  json_decref(root);
}

static void relative(void **state) {
  struct jsonpath *p = NULL;
  char err[128];
  size_t at;
  json_t *rec = json_pack("{s:s, s:f}", "month", "2026-10", "value", 1.5);
  json_t *out = NULL;
  (void)state;
  assert_int_equal(jsonpath_compile("@.value", &p, err, sizeof(err), &at), 0);
  assert_true(jsonpath_is_relative(p));
  assert_int_equal(jsonpath_eval(p, rec, &out, 1), 1);
  assert_true(json_real_value(out) == 1.5);
  jsonpath_free(p);
  json_decref(rec);
}

static void compile_errors(void **state) {
  static const struct {
    const char *path;
    size_t at;
    const char *why;
  } bad[] = {
      {"data.x", 0, "starts with $"},
      {"$.", 2, "member name"},
      {"$..x", 2, "recursive descent"},
      {"$.a[", 4, "inside [ ]"},
      {"$.a[1", 5, "expected ]"},
      {"$.a['x", 6, "unterminated string"},
      {"$.a[?(@.k=='v']", 14, "expected )]"},
      {"$.a[?(@.k ~ 1)]", 10, "comparison"},
      {"$.a[?(.k==1)]", 6, "starts with @"},
      {"$.a[?(@.k==)]", 11, "literal"},
      {"$x", 1, "expected '.' or '['"},
      {"$.a[99999999999]", 4, "array index"},
      {"$.a[?(@.k==1 &&)]", 15, "starts with @"},
      {"$.a[?(1)]", 7, "comparison"},
      {"$.a[?(@.k==tru)]", 11, "literal"},
      {"$.a[?((@.k==1)]", 14, "expected )]"},
      {"$.a[?((@.k==1]", 13, "expected ) to close"},
      {"$.a[?(@.k==1 | @.j)]", 13, "expected )]"},
  };
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    struct jsonpath *p = NULL;
    char err[128] = "";
    size_t at = 999;
    int rc = jsonpath_compile(bad[i].path, &p, err, sizeof(err), &at);
    if (rc != -EINVAL || at != bad[i].at || !strstr(err, bad[i].why)) {
      fprintf(stderr, "%s: rc %d at %zu err '%s'\n", bad[i].path, rc, at, err);
      fail();
    }
  }
}

/* Filters with true, false and null, &&, ||, !, parentheses and
 * existence, over an NBS-like document. */
static void filter_logic(void **state) {
  static const char nodes[] =
      "{\"nodes\": ["
      "{\"zb\": \"A\", \"data\": {\"hasdata\": true, \"v\": 1}, \"tag\": "
      "null},"
      "{\"zb\": \"A\", \"data\": {\"hasdata\": false, \"v\": 0}},"
      "{\"zb\": \"B\", \"data\": {\"hasdata\": true, \"v\": 2}, \"tag\": "
      "\"x\"},"
      "{\"zb\": \"B\", \"data\": {\"hasdata\": true, \"v\": 3}, \"flag\": "
      "false}]}";
  static const struct sel_case logic[] = {
      {"$.nodes[?(@.data.hasdata==true)].data.v", 3, "1"},
      {"$.nodes[?(@.data.hasdata == false)].data.v", 1, "0"},
      {"$.nodes[?(@.zb=='A' && @.data.hasdata==true)].data.v", 1, "1"},
      {"$.nodes[?(@.zb=='A'&&@.data.v>0)].data.v", 1, "1"},
      {"$.nodes[?(@.zb=='A' || @.data.v>=3)].data.v", 3, "1"},
      /* null is a value; a member left out is nothing */
      {"$.nodes[?(@.tag==null)].data.v", 1, "1"},
      {"$.nodes[?(@.tag!=null)].data.v", 3, "0"},
      {"$.nodes[?(@.tag)].data.v", 2, "1"},
      {"$.nodes[?(!@.tag)].data.v", 2, "0"},
      {"$.nodes[?(@.flag==false)].data.v", 1, "3"},
      {"$.nodes[?((@.zb=='A' || @.zb=='B') && !(@.data.v<2))].data.v", 2, "2"},
      /* types never mix: true is not 1 */
      {"$.nodes[?(@.data.hasdata==1)].data.v", 0, NULL},
      {"$.nodes[?('A'==@.zb)].data.v", 2, "1"},
      {"$.nodes[?(@.zb==@.zb)].data.v", 4, "1"},
  };
  json_error_t e;
  json_t *root = json_loads(nodes, 0, &e);
  (void)state;
  assert_non_null(root);
  for (size_t i = 0; i < ARRAY_SIZE(logic); i++) {
    struct jsonpath *p = NULL;
    json_t *out[4] = {NULL};
    char err[128];
    size_t at = 0, n;
    if (jsonpath_compile(logic[i].path, &p, err, sizeof(err), &at) < 0) {
      fprintf(stderr, "%s: %s at %zu\n", logic[i].path, err, at);
      fail();
    }
    n = jsonpath_eval(p, root, out, 4);
    if (n != logic[i].count) {
      fprintf(stderr, "%s: %zu matches, want %zu\n", logic[i].path, n,
              logic[i].count);
      fail();
    }
    if (logic[i].first) {
      char *text = json_dumps(out[0], JSON_ENCODE_ANY);
      if (strcmp(text, logic[i].first) != 0) {
        fprintf(stderr, "%s: first %s, want %s\n", logic[i].path, text,
                logic[i].first);
        fail();
      }
      free(text);
    }
    jsonpath_free(p);
  }
  json_decref(root);
  {
    /* nesting is bounded, not the stack */
    struct strbuf sb = {0};
    struct jsonpath *p = NULL;
    char err[128];
    size_t at;
    strbuf_adds(&sb, "$.a[?(");
    for (int i = 0; i < 100; i++)
      strbuf_adds(&sb, "!(");
    strbuf_adds(&sb, "@.k");
    assert_int_equal(jsonpath_compile(sb.buf, &p, err, sizeof(err), &at),
                     -EINVAL);
    assert_non_null(strstr(err, "nested too deeply"));
    strbuf_free(&sb);
  }
}

static void deep_and_wide(void **state) {
  /* 1,000 levels of nesting and a 10,000-element wildcard. */
  struct strbuf sb = {0};
  struct jsonpath *p = NULL;
  char err[128];
  size_t at;
  json_error_t e;
  json_t *root, *arr = json_array();
  (void)state;
  for (int i = 0; i < 1000; i++)
    strbuf_adds(&sb, "{\"a\":");
  strbuf_adds(&sb, "1");
  for (int i = 0; i < 1000; i++)
    strbuf_adds(&sb, "}");
  root = json_loads(sb.buf, 0, &e);
  assert_non_null(root);
  assert_int_equal(jsonpath_compile("$.a.a.a", &p, err, sizeof(err), &at), 0);
  assert_int_equal(jsonpath_eval(p, root, NULL, 0), 1);
  jsonpath_free(p);
  json_decref(root);
  strbuf_free(&sb);
  for (int i = 0; i < 10000; i++)
    json_array_append_new(arr, json_integer(i));
  assert_int_equal(jsonpath_compile("$[*]", &p, err, sizeof(err), &at), 0);
  assert_int_equal(jsonpath_eval(p, arr, NULL, 0), 10000);
  jsonpath_free(p);
  json_decref(arr);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(selects),      cmocka_unit_test(filters_every_match),
      cmocka_unit_test(relative),     cmocka_unit_test(compile_errors),
      cmocka_unit_test(filter_logic), cmocka_unit_test(deep_and_wide),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
