/* The cluster's Lua scripts (private to cluster.c), sent with EVAL. */
#ifndef INDICATORD_CLUSTER_LUA_H
#define INDICATORD_CLUSTER_LUA_H

/* One step of an instance: registration, renewals, the leader lease and
 * free feeds up to the share.
 * ARGV: prefix, instance, token, lease ms, number of feeds, 1 to take the
 * leadership when free (else 0), the number H of held feeds, the H held
 * feeds, then the feeds wanted, most wanted first.
 * Returns {'duplicate', ms until the name is free} when another process
 * holds the instance's name, else {'ok', live instances, leader ('' none),
 * {feeds lost}, {{feed, {its ind:feed hash}} taken}, ms until the next
 * lease or registration of another instance runs out (-1 none), share}. */
extern const char cluster_step_lua[];
/* A new leader's start: the last fetch time of each feed and where the
 * ind:fetches stream ends.
 * ARGV: prefix, then the feed ids. Returns {{fetched ms or ''...}, last
 * stream ID or '0-0'}. */
extern const char cluster_gain_lua[];

#endif
