/*
 * htab.h - an intrusive hash table of 64-bit keys: the node lives inside
 * the object, a key may be shared by several nodes (the caller compares
 * what the key only summarises), and the table grows to keep chains
 * short.  Keys that a peer chooses go through htab_key(), which mixes
 * them with a per-table random seed, so that nobody outside can aim many
 * entries at one chain.
 */
#ifndef VTI_HTAB_H
#define VTI_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct hnode {
	struct hnode *next;
	uint64_t key;
};

struct htab {
	struct hnode **b;
	size_t mask;		/* buckets - 1 */
	size_t n;
	uint64_t seed;
};

int htab_init(struct htab *t) __attribute__((warn_unused_result));
void htab_free(struct htab *t);
/* Link n under key.  -ENOMEM only if the table could not be made at all;
 * a failed grow keeps the table working with longer chains. */
int htab_add(struct htab *t, struct hnode *n, uint64_t key) __attribute__((warn_unused_result));
/* Unlink n if it is linked (a node that was never added: next == NULL
 * and not found, which is fine). */
void htab_del(struct htab *t, struct hnode *n);
/* The first node under key, then the next one under the same key. */
struct hnode *htab_first(const struct htab *t, uint64_t key);
struct hnode *htab_next(const struct hnode *n);
/* A key for bytes that someone else chose (addresses, peer SPIs). */
uint64_t htab_key(const struct htab *t, const void *p, size_t len);

#define htab_entry(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
