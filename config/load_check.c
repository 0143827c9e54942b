#include "load.h"

#include "strmap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void load_cross_check(struct loader *L) {
  struct config *cfg = L->cfg;
  struct diag *d = L->d;
  struct strmap feeds, series;
  size_t total = 0;

  for (size_t i = 0; i < cfg->nfeeds; i++)
    total += cfg->feeds[i].nseries;
  strmap_init(&feeds, cfg->nfeeds);
  strmap_init(&series, total);
  for (size_t i = 0; i < cfg->nfeeds; i++) {
    struct feed *f = &cfg->feeds[i];
    const struct feed *g;
    if (f->id && (g = strmap_put(&feeds, f->id, f)))
      diag_add(d, f->pos.file, f->pos.line, f->pos.col,
               "feed id '%s' is already used at %s:%d", f->id, g->pos.file,
               g->pos.line);
    for (size_t k = 0; k < f->nseries; k++) {
      struct feed_series *s = &f->series[k];
      /* The value is the feed; the earlier series is found in it. */
      const struct feed *owner = strmap_put(&series, s->id, f);
      if (!owner)
        continue;
      for (size_t m = 0; m < owner->nseries; m++) {
        if (strcmp(owner->series[m].id, s->id) != 0)
          continue;
        diag_add(d, s->pos.file, s->pos.line, s->pos.col,
                 "series '%s' is already produced by feed '%s' at %s:%d;"
                 " a series comes from exactly one feed",
                 s->id, owner->id ? owner->id : "?", owner->series[m].pos.file,
                 owner->series[m].pos.line);
        break;
      }
    }
  }
  strmap_free(&feeds);
  strmap_free(&series);
  for (size_t j = 0; j < L->nmetas; j++)
    if (!L->metas[j].used)
      diag_add(d, L->metas[j].pos.file, L->metas[j].pos.line,
               L->metas[j].pos.col, "series '%s' is not produced by any feed",
               L->metas[j].id);

  for (size_t i = 0; i < cfg->nreceivers; i++) {
    struct receiver *r = &cfg->receivers[i];
    for (size_t j = 0; j < i && r->id; j++)
      if (cfg->receivers[j].id && strcmp(cfg->receivers[j].id, r->id) == 0)
        diag_add(d, r->pos.file, r->pos.line, r->pos.col,
                 "receiver id '%s' is already used at %s:%d", r->id,
                 cfg->receivers[j].pos.file, cfg->receivers[j].pos.line);
  }

  for (size_t i = 0; i < cfg->ntargets; i++) {
    struct target *t = &cfg->targets[i];
    const struct feed_series *s = NULL;
    const struct feed *f = NULL;
    const char *tid = t->id ? t->id : "?";
    for (size_t j = 0; j < i && t->id; j++)
      if (cfg->targets[j].id && strcmp(cfg->targets[j].id, t->id) == 0)
        diag_add(d, t->pos.file, t->pos.line, t->pos.col,
                 "target id '%s' is already used at %s:%d", t->id,
                 cfg->targets[j].pos.file, cfg->targets[j].pos.line);
    if (!t->title)
      t->title = xstrdup(tid);
    if (t->series && !(s = config_series(cfg, t->series, &f))) {
      /* Suggest the nearest series id. */
      const char **ids = NULL;
      size_t nids = 0;
      const char *near;
      for (size_t a = 0; a < cfg->nfeeds; a++)
        for (size_t b = 0; b < cfg->feeds[a].nseries; b++) {
          ids = xrealloc(ids, (nids + 2) * sizeof(*ids));
          ids[nids++] = cfg->feeds[a].series[b].id;
          ids[nids] = NULL;
        }
      near = ids ? load_closest(t->series, ids, nids) : NULL;
      diag_add(d, t->series_pos.file, t->series_pos.line, t->series_pos.col,
               "target '%s': no feed produces series '%s'%s%s%s", tid,
               t->series, near ? "; did you mean '" : "", near ? near : "",
               near ? "'?" : "");
      free(ids);
    } else if (t->series && t->rule_ok) {
      enum series_kind k = s->meta.kind;
      enum rule_measure m = t->rule.measure;
      if ((m == MEASURE_TOTAL || m == MEASURE_GROWTH) && k == KIND_INSTANT)
        diag_add(d, t->rule_pos.file, t->rule_pos.line, t->rule_pos.col,
                 "target '%s': rule '%s' needs a cumulative or increment "
                 "series, but '%s' is instant (set kind: on the series)",
                 tid, rule_measure_name(m), t->series);
      if ((m == MEASURE_MEAN || m == MEASURE_MIN || m == MEASURE_MAX) &&
          k != KIND_INSTANT)
        diag_add(d, t->rule_pos.file, t->rule_pos.line, t->rule_pos.col,
                 "target '%s': rule '%s' needs an instant series, but '%s' "
                 "is %s",
                 tid, rule_measure_name(m), t->series, config_kind_name(k));
      if (!t->unit && s->meta.unit)
        t->unit = xstrdup(s->meta.unit);
    }
    if (!t->rule_ok)
      goto notify;
    if (t->pace.kind == PACE_SEASONAL && t->rule.measure != MEASURE_MEAN)
      diag_add(d, t->pace_pos.file, t->pace_pos.line, t->pace_pos.col,
               "target '%s': seasonal factors apply to mean rules; use "
               "profile for totals",
               tid);
    if ((t->pace.kind == PACE_PROFILE || t->pace.kind == PACE_SEASON) &&
        t->rule.measure == MEASURE_MEAN)
      diag_add(d, t->pace_pos.file, t->pace_pos.line, t->pace_pos.col,
               "target '%s': a mean rule takes seasonal factors, not a %s", tid,
               t->pace.kind == PACE_PROFILE ? "profile" : "season");
    if (t->validity == VALIDITY_GB3095 && t->rule.measure != MEASURE_MEAN)
      diag_add(d, t->validity_pos.file, t->validity_pos.line,
               t->validity_pos.col,
               "target '%s': validity gb3095 applies to mean rules only", tid);
    if (t->rule.measure == MEASURE_MIN &&
        !(t->rule.op == OP_GE || t->rule.op == OP_GT))
      diag_add(d, t->rule_pos.file, t->rule_pos.line, t->rule_pos.col,
               "target '%s': 'min' holds a floor all period: use >= or > (as "
               "in \"min >= 90\")",
               tid);
    if (t->rule.measure == MEASURE_MAX &&
        !(t->rule.op == OP_LE || t->rule.op == OP_LT))
      diag_add(d, t->rule_pos.file, t->rule_pos.line, t->rule_pos.col,
               "target '%s': 'max' holds a ceiling all period: use <= or < "
               "(as in \"max <= 5.5\")",
               tid);
    if (t->rule.op == OP_EQ && t->rule.value != 0)
      diag_add(d, t->rule_pos.file, t->rule_pos.line, t->rule_pos.col,
               "target '%s': '==' is supported for 0 only (as in "
               "\"latest == 0\"); use >= or <= otherwise",
               tid);
  notify:
    for (size_t j = 0; j < t->nnotify; j++) {
      if (!config_receiver(cfg, t->notify[j])) {
        const char **ids = xcalloc(cfg->nreceivers + 1, sizeof(*ids));
        const char *near;
        for (size_t a = 0; a < cfg->nreceivers; a++)
          ids[a] = cfg->receivers[a].id ? cfg->receivers[a].id : "";
        near = load_closest(t->notify[j], ids, cfg->nreceivers);
        diag_add(d, t->notify_pos[j].file, t->notify_pos[j].line,
                 t->notify_pos[j].col,
                 "target '%s': notify names unknown receiver '%s'%s%s%s", tid,
                 t->notify[j], near ? "; did you mean '" : "", near ? near : "",
                 near ? "'?" : "");
        free(ids);
      }
    }
  }
}
