#include "load.h"

#include "clock.h"
#include "tz.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool get_twelve(struct loader *L, const struct ydoc_node *n,
                       const char *what, double *out) {
  if (!load_want(L, n, YDOC_SEQ, what))
    return false;
  if (n->n != 12) {
    load_error(L, n, "%s needs 12 monthly values, not %zu", what, n->n);
    return false;
  }
  for (size_t i = 0; i < 12; i++)
    if (!load_number(L, n->items[i], what, &out[i]))
      return false;
  return true;
}

static bool parse_month_day(const char *s, int *m, int *d) {
  char extra;
  if (strlen(s) != 5 || s[2] != '-' ||
      sscanf(s, "%2d-%2d%c", m, d, &extra) != 2)
    return false;
  /* 2000 is a leap year, so 02-29 is accepted. */
  return tz_date_valid(2000, *m, *d);
}

static void load_pace(struct loader *L, struct target *t,
                      const struct ydoc_node *n) {
  static const char *const keys[] = {"linear", "profile", "season", "seasonal",
                                     NULL};
  if (n->kind == YDOC_SCALAR) {
    if (strcmp(n->value, "linear") != 0)
      load_error(
          L, n,
          "pace must be linear, {profile: [...]}, {season: {from, to}} or "
          "{seasonal: [...]}");
    return;
  }
  if (!load_want(L, n, YDOC_MAP, "pace"))
    return;
  load_keys(L, n, "pace", keys);
  if (n->n != 1) {
    load_error(L, n, "pace takes exactly one of profile, season or seasonal");
    return;
  }
  if (ydoc_get(n, "profile")) {
    const struct ydoc_node *v = ydoc_get(n, "profile");
    t->pace.kind = PACE_PROFILE;
    if (get_twelve(L, v, "profile", t->pace.v)) {
      for (int i = 0; i < 12; i++) {
        if (t->pace.v[i] < 0 || t->pace.v[i] > 1 ||
            (i && t->pace.v[i] < t->pace.v[i - 1])) {
          load_error(L, v->items[i],
                     "profile shares are cumulative: from 0 to 1 and never "
                     "decreasing");
          return;
        }
      }
      if (fabs(t->pace.v[11] - 1.0) > 1e-9)
        load_error(L, v->items[11],
                   "the December share of a profile must be 1");
    }
  } else if (ydoc_get(n, "seasonal")) {
    const struct ydoc_node *v = ydoc_get(n, "seasonal");
    t->pace.kind = PACE_SEASONAL;
    if (get_twelve(L, v, "seasonal", t->pace.v))
      for (int i = 0; i < 12; i++)
        if (t->pace.v[i] <= 0) {
          load_error(L, v->items[i], "seasonal factors must be above 0");
          return;
        }
  } else if (ydoc_get(n, "season")) {
    static const char *const skeys[] = {"from", "to", NULL};
    const struct ydoc_node *v = ydoc_get(n, "season");
    t->pace.kind = PACE_SEASON;
    if (!load_want(L, v, YDOC_MAP, "season"))
      return;
    load_keys(L, v, "season", skeys);
    for (int i = 0; i < 2; i++) {
      const struct ydoc_node *x = ydoc_get(v, skeys[i]);
      char *s = NULL;
      int m = 0, d = 0;
      if (!x) {
        load_error(L, v, "season needs from and to (\"MM-DD\")");
        return;
      }
      if (!load_str(L, x, skeys[i], &s)) {
        return;
      } else if (!parse_month_day(s, &m, &d)) {
        load_error(L, x, "season %s must be a day \"MM-DD\" such as \"04-01\"",
                   skeys[i]);
        free(s);
        return;
      }
      free(s);
      if (i == 0) {
        t->pace.from_month = m;
        t->pace.from_day = d;
      } else {
        t->pace.to_month = m;
        t->pace.to_day = d;
      }
    }
    if (t->pace.from_month && t->pace.to_month &&
        t->pace.from_month * 100 + t->pace.from_day >
            t->pace.to_month * 100 + t->pace.to_day)
      load_error(L, v, "season from must not be after to");
  }
}

static void load_period(struct loader *L, struct target *t,
                        const struct ydoc_node *n) {
  if (n->kind == YDOC_SCALAR) {
    char *s = NULL;
    if (load_str(L, n, "period", &s) && period_parse(s, &t->period) < 0)
      load_error(
          L, n,
          "period must be a year (2026), half (2026-H1), quarter (2026-Q2), "
          "month (2026-03) or {from: DATE, to: DATE}, not '%s'",
          s);
    free(s);
    return;
  }
  if (!load_want(L, n, YDOC_MAP, "period"))
    return;
  {
    static const char *const keys[] = {"from", "to", NULL};
    int ymd[2][3] = {{0}};
    bool ok = true;
    load_keys(L, n, "period", keys);
    for (int i = 0; i < 2; i++) {
      const struct ydoc_node *x = ydoc_get(n, keys[i]);
      char *s = NULL;
      if (!x) {
        load_error(L, n, "period needs from and to");
        return;
      }
      if (!load_str(L, x, keys[i], &s) ||
          period_parse_date(s, &ymd[i][0], &ymd[i][1], &ymd[i][2]) < 0) {
        if (s)
          load_error(L, x, "period %s must be a date YYYY-MM-DD, not '%s'",
                     keys[i], s);
        ok = false;
      }
      free(s);
    }
    if (!ok)
      return;
    t->period.from_year = ymd[0][0];
    t->period.from_month = ymd[0][1];
    t->period.from_day = ymd[0][2];
    t->period.to_year = ymd[1][0];
    t->period.to_month = ymd[1][1];
    t->period.to_day = ymd[1][2];
    if (period_days(&t->period) < 1)
      load_error(L, ydoc_get(n, "to"), "period ends before it starts");
    else if (period_days(&t->period) > 3660)
      load_error(L, ydoc_get(n, "to"), "period is longer than ten years");
  }
}

void load_target(struct loader *L, const struct ydoc_node *n) {
  static const char *const keys[] = {
      "id",     "title",    "series",     "rule",    "period",   "pace",
      "notify", "validity", "thresholds", "confirm", "baseline", "stale_after",
      "unit",   "group",    "source",     NULL};
  struct config *cfg = L->cfg;
  struct target *t;
  const struct ydoc_node *v;

  if (!load_want(L, n, YDOC_MAP, "a target"))
    return;
  load_keys(L, n, "a target", keys);
  xgrow((void **)&cfg->targets, &L->captargets, cfg->ntargets + 1,
        sizeof(*cfg->targets));
  t = &cfg->targets[cfg->ntargets++];
  memset(t, 0, sizeof(*t));
  t->pos = load_pos(L, n);
  load_target_defaults(t);

  if (!ydoc_get(n, "id"))
    load_error(L, n, "a target needs an id");
  else
    load_id(L, ydoc_get(n, "id"), "target id", &t->id);
  load_nonempty(L, ydoc_get(n, "title"), "title", &t->title);
  load_str(L, ydoc_get(n, "unit"), "unit", &t->unit);
  load_nonempty(L, ydoc_get(n, "group"), "group", &t->group);
  load_nonempty(L, ydoc_get(n, "source"), "source", &t->source);

  v = ydoc_get(n, "series");
  if (!v)
    load_error(L, n, "target '%s' needs a series", t->id ? t->id : "?");
  else if (load_id(L, v, "series", &t->series))
    t->series_pos = load_pos(L, v);

  v = ydoc_get(n, "rule");
  if (!v) {
    load_error(L, n, "target '%s' needs a rule (as in \"total >= 450000\")",
               t->id ? t->id : "?");
  } else {
    char *s = NULL;
    if (load_str(L, v, "rule", &s)) {
      char why[160];
      size_t at = 0;
      t->rule_pos = load_pos(L, v);
      t->rule_ok = rule_parse(s, &t->rule, why, sizeof(why), &at) == 0;
      if (!t->rule_ok) {
        /* Point at the offending character when the rule sits on one line
         * as written (plain or quoted). */
        struct ydoc_node pos = load_at_offset(v, s, at);
        load_error(L, &pos, "%s", why);
      }
    }
    free(s);
  }

  v = ydoc_get(n, "period");
  if (!v)
    load_error(L, n, "target '%s' needs a period (as in 2026)",
               t->id ? t->id : "?");
  else
    load_period(L, t, v);

  v = ydoc_get(n, "pace");
  if (v) {
    t->pace_pos = load_pos(L, v);
    load_pace(L, t, v);
  }

  v = ydoc_get(n, "notify");
  if (v) {
    bool one = v->kind == YDOC_SCALAR;
    if (one || load_want(L, v, YDOC_SEQ, "notify")) {
      size_t cnt = one ? 1 : v->n;
      t->notify = xcalloc(cnt, sizeof(*t->notify));
      t->notify_pos = xcalloc(cnt, sizeof(*t->notify_pos));
      for (size_t i = 0; i < cnt; i++) {
        const struct ydoc_node *item = one ? v : v->items[i];
        char *id = NULL;
        if (load_id(L, item, "receiver", &id)) {
          t->notify_pos[t->nnotify] = load_pos(L, item);
          t->notify[t->nnotify++] = id;
        } else {
          free(id);
        }
      }
    }
  }

  v = ydoc_get(n, "validity");
  if (v) {
    t->validity_pos = load_pos(L, v);
    char *s = NULL;
    if (load_str(L, v, "validity", &s)) {
      if (strcmp(s, "gb3095") == 0)
        t->validity = VALIDITY_GB3095;
      else if (strcmp(s, "none") != 0)
        load_error(L, v, "validity must be gb3095 or none, not '%s'", s);
    }
    free(s);
  }

  v = ydoc_get(n, "thresholds");
  if (v && load_want(L, v, YDOC_MAP, "thresholds")) {
    static const char *const tk[] = {"on_track", "off_track", NULL};
    load_keys(L, v, "thresholds", tk);
    load_number(L, ydoc_get(v, "on_track"), "on_track", &t->on_track);
    load_number(L, ydoc_get(v, "off_track"), "off_track", &t->off_track);
    if (t->on_track <= 0 || t->on_track > 2 || t->off_track <= 0 ||
        t->off_track > 2)
      load_error(L, v, "thresholds are scores between 0 and 2 (1.0 = on pace)");
    else if (t->off_track > t->on_track)
      load_error(L, v, "off_track (%g) must not be above on_track (%g)",
                 t->off_track, t->on_track);
  }
  load_int(L, ydoc_get(n, "confirm"), "confirm", 1, 100, &t->confirm);
  v = ydoc_get(n, "baseline");
  if (v && load_number(L, v, "baseline", &t->baseline))
    t->has_baseline = true;
  load_duration(L, ydoc_get(n, "stale_after"), "stale_after", MS_PER_MINUTE,
                false, &t->stale_after_ms);
}
