/* A target's judgement kept up to date from what its series gained
 * (contract §5: "its cost follows the new data, not the history"). A tally
 * holds what a judgement needs instead of the observations: one aggregate
 * per local day (eval_day) from where the target's days begin, the latest
 * distinct observation times (staleness), where the next read of the
 * stream starts, and a copy of the sweep's sums before the last day, so a
 * judgement adds only the days that changed and draws only their
 * trajectory points.
 *
 * The reader's protocol (targets.c; the property test in test_eval drives
 * it the same way against a simulated stream):
 *   - read the stream from eval_tally_read_from() on, in ascending order,
 *     handing every entry to eval_tally_add (a chunk at a time, COUNT);
 *   - the store says it rewrote the series from a time on (a revision, a
 *     late insert, a spool replay): eval_tally_rewind, which drops the days
 *     from that time's local day on and moves the next read back to that
 *     day's start; entries read before, still in flight, are stale
 *     (eval_tally_generation changed);
 *   - the store trimmed the series (retention): eval_tally_trimmed;
 *     anything else that may have changed the stream: eval_tally_reset;
 *   - eval_tally_judge: the judgement, and the trajectory from the first
 *     day that changed since the last judgement (to replace ind:p's tail).
 * A rewind assumes what the store's upserts guarantee: the entries from
 * that time on are replaced by the same times or more (an upsert never
 * removes an entry). Pure computation, no I/O. */
#ifndef INDICATORD_EVAL_TALLY_H
#define INDICATORD_EVAL_TALLY_H

#include "config.h"
#include "eval.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVAL_TALLY_RECENT (EVAL_RECENT_GAPS + 1)

struct eval_sweep;

struct eval_tally {
  uint64_t print; /* what the tally was built for (eval_tally_fits) */
  /* Entries are read from lo on; days are kept for [days_from, end)
   * without [skip_from, skip_to) (the quarters between a growth target's
   * prior period and its own). */
  int64_t lo, days_from, end, skip_from, skip_to;
  /* The next read: entries after (next_ms, next_seq), or from next_ms on
   * when from_start. */
  int64_t next_ms;
  uint64_t next_seq;
  bool from_start;
  uint64_t generation; /* bumped when reads in flight become stale */
  struct eval_day *days;
  size_t ndays, cap;
  int64_t cur_start, cur_end; /* the bounds of the last day added */
  int64_t first_ms;           /* the earliest observation held */
  size_t points;              /* observations held (days and other) */
  /* The latest distinct observation times, ascending. */
  int64_t recent[EVAL_TALLY_RECENT];
  size_t nrecent;
  /* The first local day whose trajectory point may have changed since the
   * last judgement: INT64_MAX none, INT64_MIN all (ind:p unknown). */
  int64_t dirty_day;
  bool cleared; /* ind:p was emptied (a period not begun) */
  /* The sweep's sums after days[0, ck_days), first the period's first. */
  struct eval_sweep *ck;
  size_t ck_days, ck_first;
  bool ck_valid;
};

/* A fresh tally for target t over a series of kind, in time zone zone
 * (the config's: local days depend on it). */
void eval_tally_init(struct eval_tally *ta, const struct target *t,
                     enum series_kind kind, const char *zone);
void eval_tally_free(struct eval_tally *ta);
/* Whether ta still serves t (a reload that changed nothing it depends on:
 * series, rule, period, pace, validity, baseline, kind, zone). */
bool eval_tally_fits(const struct eval_tally *ta, const struct target *t,
                     enum series_kind kind, const char *zone);
/* Forgets everything read: the next read starts from lo, the trajectory
 * is written whole. */
void eval_tally_reset(struct eval_tally *ta);

/* The start of the next read as an XRANGE bound ("(ms-seq" or "ms"). */
void eval_tally_read_from(const struct eval_tally *ta, char *buf, size_t len);
/* The next entry of the stream, after every one added before: its ID and
 * value (a value that is not finite only moves the read on). */
void eval_tally_add(struct eval_tally *ta, int64_t ms, uint64_t seq, double v);
/* The stream's entries from from_ms on were rewritten. Returns whether
 * everything is read again (a rewrite from before what a target reads). */
bool eval_tally_rewind(struct eval_tally *ta, int64_t from_ms);
/* The stream's entries before before_ms were removed: the whole days
 * before it are dropped. Returns whether everything is read again (a cut
 * inside a local day). */
bool eval_tally_trimmed(struct eval_tally *ta, int64_t before_ms);

/* Judges from what was added (in->pts and in->until_ms are not used: the
 * reader stops at until). Appends to traj (when set) the trajectory points
 * from *traj_from on, the time from which ind:p's entries are to be
 * replaced by them, and returns whether they are (false: ind:p holds the
 * trajectory already). */
bool eval_tally_judge(struct eval_tally *ta, const struct eval_input *in,
                      struct eval_result *out, struct eval_traj *traj,
                      int64_t *traj_from);

#endif
