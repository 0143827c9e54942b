/* The leader's reading of ind:fetches (cluster_leader.c), private to
 * cluster.c. */
#ifndef INDICATORD_CLUSTER_LEADER_H
#define INDICATORD_CLUSTER_LEADER_H

#include "cluster.h"

/* This instance leads now: feeds fetched lately count as fetched (their
 * targets are judged at once), and ind:fetches is read from its end on,
 * every READ_EVERY_MS, telling on_fetch of others' fetches. */
void cluster_leader_start(struct cluster *cl);
/* It does not lead any more: the reading stops. */
void cluster_leader_stop(struct cluster *cl);

#endif
