/*
 * sadb.c - SA table: inbound SAs hashed by SPI, the outbound SA on its
 * interface (see sadb.h).
 */
#include "esp/sadb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static unsigned slot(const struct sadb *db, uint32_t spi)
{
	/* SPIs from IKE are random; manual ones are often small and
	 * sequential, which a multiplicative hash spreads as well. */
	return (spi * 2654435761u) >> (32 - db->bits);
}

int sadb_init(struct sadb *db)
{
	memset(db, 0, sizeof(*db));
	db->bits = SADB_MIN_BITS;
	db->bucket = calloc(1u << db->bits, sizeof(*db->bucket));
	return db->bucket ? 0 : -ENOMEM;
}

void sadb_free(struct sadb *db)
{
	free(db->bucket);
	memset(db, 0, sizeof(*db));
}

/* Twice the buckets; without memory the chains just grow longer. */
static void grow(struct sadb *db)
{
	unsigned bits = db->bits + 1, i, n = 1u << db->bits;
	struct sa **b, *sa, *next;
	struct sadb nd = { .bits = bits };

	if (bits > 24 || !(b = calloc(1u << bits, sizeof(*b))))
		return;
	nd.bucket = b;
	for (i = 0; i < n; i++)
		for (sa = db->bucket[i]; sa; sa = next) {
			next = sa->hnext;
			sa->hnext = b[slot(&nd, sa->spi)];
			b[slot(&nd, sa->spi)] = sa;
		}
	free(db->bucket);
	db->bucket = b;
	db->bits = bits;
	db->sweep = 0;
}

struct sa *sadb_lookup(const struct sadb *db, uint32_t spi)
{
	struct sa *sa;

	for (sa = db->bucket[slot(db, spi)]; sa; sa = sa->hnext)
		if (sa->spi == spi)
			return sa;
	return NULL;
}

int sadb_add_in(struct sadb *db, struct vif *v, struct sa *sa)
{
	unsigned i, s;

	if (sadb_lookup(db, sa->spi))
		return -EEXIST;
	for (i = 0; i < VIF_MAX_IN && v->in[i]; i++)
		;
	if (i == VIF_MAX_IN)
		return -ENOSPC;
	if (db->count >= 1u << db->bits)
		grow(db);
	s = slot(db, sa->spi);
	v->in[i] = sa;
	sa->vif = v;
	sa->hnext = db->bucket[s];
	db->bucket[s] = sa;
	db->count++;
	vif_carrier_sync(v);
	return 0;
}

void sadb_del_in(struct sadb *db, struct sa *sa)
{
	struct sa **pp;
	struct vif *v = sa->vif;
	unsigned i;

	for (pp = &db->bucket[slot(db, sa->spi)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == sa) {
			*pp = sa->hnext;
			db->count--;
			if (db->on_del)
				db->on_del(db->on_del_arg, sa);
			break;
		}
	}
	sa->hnext = NULL;
	if (!v)
		return;
	for (i = 0; i < VIF_MAX_IN; i++)
		if (v->in[i] == sa)
			v->in[i] = NULL;
	vif_carrier_sync(v);
}

struct sa *sadb_set_out(struct vif *v, struct sa *sa)
{
	struct sa *old = v->out;

	if (sa)
		sa->vif = v;
	v->out = sa;
	vif_carrier_sync(v);
	return old;
}

void sadb_flush_vif(struct sadb *db, struct vif *v)
{
	unsigned i;

	for (i = 0; i < VIF_MAX_IN; i++) {
		struct sa *sa = v->in[i];

		if (sa) {
			sadb_del_in(db, sa);
			sa_free(sa);
		}
	}
	sa_free(sadb_set_out(v, NULL));
}

/* Idle since the last look: its contexts go (both halves, each by its
 * own count; an outbound half is reached through its inbound one). */
static void cool_idle(struct sa *sa)
{
	if (sa->packets == sa->swept)
		sa_cool(sa);
	sa->swept = sa->packets;
}

void sadb_sweep(struct sadb *db)
{
	unsigned n = 1u << db->bits, k = n / SADB_SWEEP_TICKS + 1;
	struct sa *sa;

	for (; k && db->sweep < n; k--, db->sweep++)
		for (sa = db->bucket[db->sweep]; sa; sa = sa->hnext) {
			cool_idle(sa);
			if (sa->pair)
				cool_idle(sa->pair);
		}
	if (db->sweep >= n)
		db->sweep = 0;
}
