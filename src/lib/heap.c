/*
 * heap.c - binary min-heap by due time (heap.h).
 */
#include "lib/heap.h"

#include <errno.h>
#include <stdlib.h>

static void place(struct heap *h, size_t i, struct heap_node *x)
{
	h->v[i] = x;
	x->slot = i + 1;
}

static void sift_up(struct heap *h, size_t i)
{
	struct heap_node *x = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (h->v[parent]->due <= x->due)
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, x);
}

static void sift_down(struct heap *h, size_t i)
{
	struct heap_node *x = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->due < h->v[c]->due)
			c++;
		if (x->due <= h->v[c]->due)
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, x);
}

int heap_reserve(struct heap *h, size_t n)
{
	struct heap_node **v;
	size_t cap = h->cap ? h->cap : 64;

	if (n <= h->cap)
		return 0;
	while (cap < n) {
		if (cap > SIZE_MAX / 2 / sizeof(*v))
			return -ENOMEM;
		cap *= 2;
	}
	v = realloc(h->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->v = v;
	h->cap = cap;
	return 0;
}

int heap_set(struct heap *h, struct heap_node *x, uint64_t due)
{
	uint64_t old = x->due;
	size_t i;

	if (!x->slot) {
		if (heap_reserve(h, h->n + 1))
			return -ENOMEM;
		x->due = due;
		place(h, h->n++, x);
		sift_up(h, h->n - 1);
		return 0;
	}
	i = x->slot - 1;
	x->due = due;
	if (due < old)
		sift_up(h, i);
	else if (due > old)
		sift_down(h, i);
	return 0;
}

void heap_del(struct heap *h, struct heap_node *x)
{
	size_t i;
	struct heap_node *last;

	if (!x->slot)
		return;
	i = x->slot - 1;
	x->slot = 0;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	place(h, i, last);
	if (i > 0 && last->due < h->v[(i - 1) / 2]->due)
		sift_up(h, i);
	else
		sift_down(h, i);
}

struct heap_node *heap_top(const struct heap *h)
{
	return h->n ? h->v[0] : NULL;
}

void heap_free(struct heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}
