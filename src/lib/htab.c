/*
 * htab.c - intrusive hash table (see htab.h).
 */
#include "lib/htab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"

#define HTAB_MIN 64

/* A 64-bit finaliser (the one of SplitMix64): every input bit moves
 * every output bit, so the low bits that pick a bucket depend on all. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static size_t slot(const struct htab *t, uint64_t key)
{
	return (size_t)(mix(key ^ t->seed) & t->mask);
}

int htab_init(struct htab *t)
{
	memset(t, 0, sizeof(*t));
	if (rand_bytes((uint8_t *)&t->seed, sizeof(t->seed)))
		return -EIO;
	t->b = calloc(HTAB_MIN, sizeof(*t->b));
	if (!t->b)
		return -ENOMEM;
	t->mask = HTAB_MIN - 1;
	return 0;
}

void htab_free(struct htab *t)
{
	free(t->b);
	memset(t, 0, sizeof(*t));
}

static void grow(struct htab *t)
{
	size_t nb = (t->mask + 1) * 2, i;
	struct hnode **b = calloc(nb, sizeof(*b)), *n, *next;
	struct htab g = { .b = b, .mask = nb - 1, .seed = t->seed };

	if (!b)
		return;
	for (i = 0; i <= t->mask; i++)
		for (n = t->b[i]; n; n = next) {
			size_t s = slot(&g, n->key);

			next = n->next;
			n->next = b[s];
			b[s] = n;
		}
	free(t->b);
	t->b = b;
	t->mask = nb - 1;
}

int htab_add(struct htab *t, struct hnode *n, uint64_t key)
{
	size_t s;

	if (!t->b)
		return -ENOMEM;
	if (t->n > t->mask)
		grow(t);
	s = slot(t, key);
	n->key = key;
	n->next = t->b[s];
	t->b[s] = n;
	t->n++;
	return 0;
}

void htab_del(struct htab *t, struct hnode *n)
{
	struct hnode **pp;

	if (!t->b)
		return;
	for (pp = &t->b[slot(t, n->key)]; *pp; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			t->n--;
			return;
		}
}

struct hnode *htab_first(const struct htab *t, uint64_t key)
{
	struct hnode *n;

	if (!t->b)
		return NULL;
	for (n = t->b[slot(t, key)]; n && n->key != key; n = n->next)
		;
	return n;
}

struct hnode *htab_next(const struct hnode *n)
{
	uint64_t key = n->key;

	for (n = n->next; n && n->key != key; n = n->next)
		;
	return (struct hnode *)n;
}

uint64_t htab_key(const struct htab *t, const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = t->seed, w;
	size_t i;

	for (i = 0; i < len; i += 8) {
		w = 0;
		memcpy(&w, b + i, len - i < 8 ? len - i : 8);
		h = mix(h ^ w) + i;
	}
	return mix(h ^ len);
}
