/* JSON-stat datasets (Eurostat, Statistics Norway, the Nordic and many
 * other statistics offices; 2.0, and the 1.x bundles older services still
 * answer): the cell a key picks and its value for every category of the
 * time dimension. Pure: reads a parsed jansson document, no config, no
 * I/O. */
#ifndef INDICATORD_JSONSTAT_H
#define INDICATORD_JSONSTAT_H

#include "cube.h"

#include <jansson.h>

/* Reads the cell that key picks from the dataset doc: a 2.0 dataset (id,
 * size, dimension[*].category.index as array or object, value as array or
 * sparse object, status as string, array or object), a 1.x dataset (id,
 * size and role inside dimension), or the dataset a 2.0 collection embeds
 * (link.item) or a 1.x bundle holds; among several, the only one that has
 * every dimension the key names. Sizes may be strings of digits. The time
 * dimension is time_dim when not NULL, else role.time, else a dimension
 * named "time" or "TIME_PERIOD". Decimals and scale come from
 * unit.decimals and unit.multiplier of the selected metric category
 * (role.metric). Null values are gaps. Fills out (its points are replaced)
 * in time order and returns 0, or -EINVAL with the reason in err: not a
 * JSON-stat dataset (or its error), a collection or bundle where the key
 * picks no single dataset (naming them), sizes that do not match the
 * categories or the values, a key that does not pick one cell
 * (cube_resolve), a value that is not a number (naming the period).
 * Strings in the points are borrowed from doc. */
int jsonstat_read(const json_t *doc, const struct cube_key *key,
                  const char *time_dim, struct cube_points *out, char *err,
                  size_t errlen);
/* Whether doc holds a JSON-stat dataset at all: 0, or -EINVAL with the
 * reason (an error response, a collection that only links its datasets,
 * another class, no id and size). */
int jsonstat_check(const json_t *doc, char *err, size_t errlen);

#endif
