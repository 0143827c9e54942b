/* The store's Lua scripts (private to the store): exact upserts of stream
 * entries at ID <ms>-0, loaded per connection and called by SHA. */
#ifndef INDICATORD_UPSERT_H
#define INDICATORD_UPSERT_H

/* One entry (ind:p:<target>, and observations in the same form). */
extern const char upsert_lua[];
/* A series' observations, in order, in one call. */
extern const char upsert_many_lua[];
/* A stream's entries from one time on, replaced (trajectories). */
extern const char replace_tail_lua[];
/* A series trimmed to its retention. */
extern const char trim_lua[];

#endif
