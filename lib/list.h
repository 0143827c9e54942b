/* An intrusive, circular, doubly linked list: a struct list_node inside each
 * element, a struct list_node as the head. Every operation is O(1) and
 * never allocates; an element knows whether it is in a list. */
#ifndef INDICATORD_LIST_H
#define INDICATORD_LIST_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>

struct list_node {
  struct list_node *prev, *next;
};

/* An empty list, or an element in none. */
static inline void list_init(struct list_node *n) {
  n->prev = n->next = n;
}

static inline bool list_empty(const struct list_node *head) {
  return head->next == head;
}

/* Whether element n is in a list (it was list_init'ed). */
static inline bool list_linked(const struct list_node *n) {
  return n->next != n;
}

static inline void list_insert_between(struct list_node *n,
                                       struct list_node *prev,
                                       struct list_node *next) {
  n->prev = prev;
  n->next = next;
  prev->next = n;
  next->prev = n;
}

/* Adds n first (a stack, or the front of a queue). */
static inline void list_push_front(struct list_node *head,
                                   struct list_node *n) {
  list_insert_between(n, head, head->next);
}

/* Adds n last (a queue). */
static inline void list_push_back(struct list_node *head, struct list_node *n) {
  list_insert_between(n, head->prev, head);
}

/* Takes n out of its list (a no-op when it is in none). */
static inline void list_remove(struct list_node *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  list_init(n);
}

/* The element holding the first node of head, or NULL when empty. */
#define list_first(head, type, member)                                         \
  (list_empty(head) ? NULL : container_of((head)->next, type, member))

/* Visits every node of head in order; the body must not take out any node
 * but by leaving the loop. */
#define list_for_each(node, head)                                              \
  for ((node) = (head)->next; (node) != (head); (node) = (node)->next)

#endif
