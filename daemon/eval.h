/* Judging one target (contract §5): from the observations of its series
 * (and, for growth, of the prior period) to actual, expected-to-date,
 * projection, score, class and a one-line message. Pure computation: no
 * I/O, deterministic for a given `now` and data; hysteresis and `confirm`
 * are applied by eval_next_class from the previous state. */
#ifndef INDICATORD_EVAL_H
#define INDICATORD_EVAL_H

#include "config.h"

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

struct eval_point {
  int64_t t; /* ms */
  double v;
};

struct eval_input {
  const struct target *target;
  enum series_kind kind;
  int64_t every_ms;             /* the feed's interval, for staleness */
  const struct eval_point *pts; /* ascending; may include other periods */
  size_t n;
  int64_t now_ms;
};

struct eval_result {
  enum eval_class raw; /* before hysteresis */
  double actual, expected, projected, goal, score, pace;
  double remaining_budget, required_rate; /* NAN when not applicable */
  int valid_days;                         /* -1 when not applicable */
  int64_t ref_ms; /* the observation time progress is judged at; 0 none */
  int64_t period_start_ms, period_end_ms;
  size_t points;    /* observations in the period */
  char reason[200]; /* why no_data / pending, else empty */
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

void eval_target(const struct eval_input *in, struct eval_result *out);
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

#endif
