/*
 * An intrusive doubly linked list, the one list type of the library and of
 * the wepoll bridge.  A list is circular through its head, so that linking
 * and unlinking never test for an end; a link on no list is all NULL, which
 * is what zeroed memory holds, so a record needs no set-up to be unlinked.
 *
 * Every operation is O(1).  A record on several lists has one po__list
 * member per list; PO__LIST_ENTRY turns a member back into its record.
 */
#ifndef POLLEROS_COMMON_LIST_H
#define POLLEROS_COMMON_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct po__list {
    struct po__list *prev, *next;
} po__list;

/* The record of type `type` whose member `member` is the link `l`. */
#define PO__LIST_ENTRY(l, type, member)                                        \
    ((type *)(void *)((char *)(l)-offsetof(type, member)))

/* Visits every link of the list at `head`, front to back; the body must not
 * unlink `it` (keep the next one first if it does). */
#define PO__LIST_EACH(head, it)                                                \
    for ((it) = (head)->next; (it) != (head); (it) = (it)->next)

static inline void po__list_init(po__list *head) {
    head->prev = head->next = head;
}

static inline bool po__list_empty(const po__list *head) {
    return head->next == head;
}

/* Whether the link is on a list (a head never is asked). */
static inline bool po__list_linked(const po__list *l) {
    return l->next != NULL;
}

static inline void po__list_insert(po__list *prev, po__list *l) {
    l->prev = prev;
    l->next = prev->next;
    prev->next->prev = l;
    prev->next = l;
}

/* Links `l`, on no list, at the front of the list at `head`. */
static inline void po__list_push(po__list *head, po__list *l) {
    po__list_insert(head, l);
}

/* Links `l`, on no list, at the back of the list at `head`. */
static inline void po__list_append(po__list *head, po__list *l) {
    po__list_insert(head->prev, l);
}

static inline void po__list_unlink(po__list *l) {
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l->next = NULL;
}

/* The first link of the list at `head`, or NULL when it is empty. */
static inline po__list *po__list_first(const po__list *head) {
    return head->next == head ? NULL : head->next;
}

#endif
