/* Judging one target (contract §5): from the observations of its series
 * (and, for growth, of the prior period) to actual, expected-to-date,
 * projection, score, class, a one-line message and the trajectory (the
 * same numbers as of each day's last observation in the period). Pure
 * computation: no I/O, deterministic for a given `now` and data; hysteresis
 * and `confirm` are applied by eval_next_class from the previous state.
 *
 * One module in several files: eval.c (classes, the judgement, hysteresis,
 * messages), eval_pace.c (calendar and pace), eval_measures.c (the measures
 * over per-day aggregates, in one sweep that also yields the trajectory);
 * their shared internals in eval_private.h. */
#ifndef INDICATORD_EVAL_H
#define INDICATORD_EVAL_H

#include "config.h"
#include "timefmt.h"

#include <stdbool.h>
#include <stdint.h>

enum eval_class {
  CLASS_PENDING,
  CLASS_NO_DATA,
  CLASS_ACHIEVED,
  CLASS_ON_TRACK,
  CLASS_AT_RISK,
  CLASS_OFF_TRACK,
  CLASS_MISSED,
};
#define EVAL_NCLASSES 7

/* required_rate is per average month of the Gregorian year (30.436875
 * days); JSON and ind:t name the unit in required_rate_per. */
#define EVAL_RATE_PER "month"
#define EVAL_RATE_MS ((int64_t)(365.2425 * 86400000.0 / 12))

struct eval_point {
  int64_t t; /* ms */
  double v;
};

/* One point of a target's trajectory (ind:p:<target>). */
struct eval_traj_point {
  int64_t t; /* the observation time */
  double actual, expected, projected;
};

struct eval_traj {
  struct eval_traj_point *p; /* grown by eval_target; caller frees */
  size_t n, cap;
};

/* The observations of one local day: what every measure needs, so that a
 * target is judged (and its trajectory drawn) from one aggregate per day
 * instead of every observation; an incremental reader can keep these. */
struct eval_day {
  int64_t day;     /* days since 1970-01-01, local */
  int64_t last_ms; /* the day's last observation */
  double first, last, sum, min, max;
  int count;
};

#define EVAL_RECENT_GAPS 10 /* gaps the default staleness bound looks at */

/* The series' latest observation (any period) and the gaps between its
 * last EVAL_RECENT_GAPS + 1 observations, newest first: staleness. */
struct eval_recent {
  int64_t latest; /* 0: none */
  int64_t gaps[EVAL_RECENT_GAPS];
  size_t ngaps;
};

struct eval_input {
  const struct target *target;
  enum series_kind kind;
  int64_t every_ms; /* the feed's interval, for staleness */
  /* How the series' times were written (ind:m:<series> grain) and placed:
   * with the time of an observation they give the end of the period it
   * describes. GRAIN_INSTANT: points in time. */
  enum timefmt_grain grain;
  bool at_start;                /* period labels stand at their start */
  const struct eval_point *pts; /* ascending; may include other periods */
  size_t n;
  int64_t now_ms;
  int64_t until_ms; /* > 0: observations after it are ignored (--now) */
};

struct eval_result {
  enum eval_class raw; /* before hysteresis */
  double actual, expected, projected, goal, score, pace;
  double goal_low, goal_high;             /* a band's ends, else NAN */
  double remaining_budget, required_rate; /* NAN when not applicable */
  int valid_days;                         /* -1 when not applicable */
  bool breach;    /* a level held all period was broken (min, max) */
  int64_t ref_ms; /* the observation time progress is judged at; 0 none */
  int64_t period_start_ms, period_end_ms;
  int64_t data_end_ms; /* end of what the latest observation describes */
  size_t points;       /* observations in the period */
  char reason[200];    /* why no_data / pending, else empty */
};

/* Hysteresis state carried from one evaluation to the next. */
struct eval_state {
  bool known; /* false before the first evaluation */
  enum eval_class cls;
  enum eval_class pending;
  int pending_count;
  int64_t since_ms;
  int64_t data_ms;    /* ref_ms of the last evaluation */
  double data_actual; /* its actual: a revision at the same time is new */
};

/* Judges in->target into out; when traj is not NULL, also appends its
 * trajectory (one point per local day with an observation in the period,
 * at the day's last observation, every number finite). */
void eval_target(const struct eval_input *in, struct eval_result *out,
                 struct eval_traj *traj);
/* The same from per-day aggregates instead of in->pts: days ascending,
 * from eval_days_from (the prior period's for growth) up to the period's
 * end, none after in->until_ms; the latest observations in recent. */
void eval_target_days(const struct eval_input *in, const struct eval_day *days,
                      size_t ndays, const struct eval_recent *recent,
                      struct eval_result *out, struct eval_traj *traj);
/* Where the days a target needs begin: its period's start, or for growth
 * the prior period's. */
int64_t eval_days_from(const struct target *t);
/* Applies hysteresis, confirm and the dead zone to res->raw. Updates st and
 * returns true when the class changed. */
bool eval_next_class(const struct target *t, const struct eval_result *res,
                     int64_t now_ms, struct eval_state *st);
/* One line for people: the numbers behind the class. */
void eval_message(const struct target *t, const struct eval_result *res,
                  enum eval_class cls, char *buf, size_t len);

const char *eval_class_name(enum eval_class c);
/* Returns 0 and the class for a name, or -EINVAL. */
int eval_class_parse(const char *name, enum eval_class *out);
/* Severity order for --fail-on: on_track < at_risk < off_track. */
int eval_class_rank(enum eval_class c);

/* Pace P(t) in [0, 1] for the target's period (exposed for tests). */
double eval_pace(const struct target *t, int64_t t_ms);
/* The expected line over the whole period, for a chart: what the measure
 * reads at each of n >= 2 times evenly from the period's start to its end
 * when every day goes exactly to pace (a total: goal x P(t); a latest
 * level: from baseline to the goal along P(t); a mean: the running mean of
 * days at the goal's seasonal share; growth, min and max: the goal). It is
 * the trajectory's expected on each day with data, a mean's only while no
 * day is missing (its expected counts the days with data). */
void eval_expected_line(const struct target *t, double baseline,
                        struct eval_point *out, size_t n);
/* The first ms after the period that an observation placed at t_ms
 * describes (t_ms itself for a point in time). */
int64_t eval_data_end(enum timefmt_grain grain, bool at_start, int64_t t_ms);

#endif
