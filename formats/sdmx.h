/* SDMX-JSON data messages (1.0 and 2.0; IMF, OECD, ECB, ILO, Eurostat,
 * UN SDG): the series a key picks, every observation of it with its
 * TIME_PERIOD, and the UNIT_MULT and DECIMALS attributes that apply to it.
 * Pure: reads a parsed jansson document, no config, no I/O. */
#ifndef INDICATORD_SDMX_H
#define INDICATORD_SDMX_H

#include "cube.h"

#include <jansson.h>

/* Reads the cell that key picks from doc: dimensions at dataSet, series
 * and observation level (series keyed "0:1:0" and observations keyed by
 * position, or the flat layout keyed by the series- and observation-level
 * positions), the time dimension TIME_PERIOD (by id or role), the measure
 * OBS_VALUE, UNIT_MULT and DECIMALS at any attribute level including
 * dimension groups. Gaps (null, "NaN") are skipped; datasets whose action
 * is Delete are ignored; datasets are read in order, a later value of a
 * period replacing an earlier one. Fills out (its points are replaced) in
 * time order and returns 0 (possibly with no points: the cell is empty),
 * or -EINVAL with the reason in err: not a data message, the message's own
 * errors, a key that does not pick one series (cube_resolve), a malformed
 * key or value (named), a period with two values in one dataset, the
 * series in datasets of different structures. Strings in the points are
 * borrowed from doc. */
int sdmx_read(const json_t *doc, const struct cube_key *key,
              struct cube_points *out, char *err, size_t errlen);
/* Whether doc is an SDMX-JSON data message at all: 0, or -EINVAL with the
 * reason (no structure or dataSets, or the message's own errors). */
int sdmx_check(const json_t *doc, char *err, size_t errlen);

#endif
