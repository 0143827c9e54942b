/* The JSONPath subset that feeds use, over jansson values:
 *   $ or @            the root (or, with records:, the current record)
 *   .key ['key'] ["key"]   a member
 *   [n] [-1]          an array element (negative counts from the end)
 *   [*] .*            every element or member
 *   [?(expr)]         elements for which expr holds: comparisons
 *                     @.k OP v (OP is == != < <= > >=; either side a path
 *                     below @ or a string, number, true, false or null
 *                     literal), existence (@.k), !, ( ), && and ||
 * Comparisons follow RFC 9535: values of different types are never equal
 * or ordered, a path that selects nothing equals only another such path.
 * Compiled once (at config load), evaluated per body. */
#ifndef INDICATORD_JSONPATH_H
#define INDICATORD_JSONPATH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct jsonpath;

/* Compiles text. Returns 0, or -EINVAL with a reason in err and the 0-based
 * offset of the offending character in *at. */
int jsonpath_compile(const char *text, struct jsonpath **out, char *err,
                     size_t errlen, size_t *at);
void jsonpath_free(struct jsonpath *p);
/* Whether the path starts with '@' (relative to a record). */
bool jsonpath_is_relative(const struct jsonpath *p);

/* Appends every value the path selects from root to *out (borrowed
 * references, valid while root lives). Returns the number selected, capped
 * at max (further matches are counted but not stored). */
size_t jsonpath_eval(const struct jsonpath *p, json_t *root, json_t **out,
                     size_t max);
/* The same, also storing in parents[i] the array or object that holds
 * out[i] (NULL for root itself). */
size_t jsonpath_eval_parents(const struct jsonpath *p, json_t *root,
                             json_t **out, json_t **parents, size_t max);

#endif
