/*
 * heap.h - an intrusive binary min-heap of 64-bit due times: the node
 * lives inside the object (an IKE SA, a connection), knows its own slot,
 * and can be moved or taken out in O(log n) without a search.  Timers
 * that are due are found at the top; nothing else is looked at.
 */
#ifndef VTI_HEAP_H
#define VTI_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct heap_node {
	uint64_t due;
	size_t slot;		/* index + 1 in the heap; 0: not in it */
};

struct heap {
	struct heap_node **v;
	size_t n, cap;
};

/* Room for at least n nodes, so that heap_set of a new node cannot fail
 * later (where a failure would lose a timer). */
int heap_reserve(struct heap *h, size_t n) __attribute__((warn_unused_result));
/* Put x in at due, or move it there if it is in already.  -ENOMEM only
 * for a new node beyond the room reserved: a caller that reserved room
 * (or moves a node that is in) may ignore the result. */
int heap_set(struct heap *h, struct heap_node *x, uint64_t due);
/* Take x out if it is in. */
void heap_del(struct heap *h, struct heap_node *x);
/* The node due first, or NULL. */
struct heap_node *heap_top(const struct heap *h);
void heap_free(struct heap *h);

static inline int heap_queued(const struct heap_node *x)
{
	return x->slot != 0;
}

#define heap_entry(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
