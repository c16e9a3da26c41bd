/*
 * sadb.c - SA table: inbound SAs hashed by SPI, the outbound SA on its
 * interface (see sadb.h).
 */
#include "esp/sadb.h"

#include <errno.h>
#include <string.h>

static unsigned slot(uint32_t spi)
{
	/* SPIs from IKE are random; manual ones are often small and
	 * sequential, which a multiplicative hash spreads as well. */
	return (spi * 2654435761u) >> 22;
}

void sadb_init(struct sadb *db)
{
	memset(db, 0, sizeof(*db));
}

struct sa *sadb_lookup(const struct sadb *db, uint32_t spi)
{
	struct sa *sa;

	for (sa = db->bucket[slot(spi)]; sa; sa = sa->hnext)
		if (sa->spi == spi)
			return sa;
	return NULL;
}

int sadb_add_in(struct sadb *db, struct vif *v, struct sa *sa)
{
	unsigned i, s = slot(sa->spi);

	if (sadb_lookup(db, sa->spi))
		return -EEXIST;
	for (i = 0; i < VIF_MAX_IN && v->in[i]; i++)
		;
	if (i == VIF_MAX_IN)
		return -ENOSPC;
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

	for (pp = &db->bucket[slot(sa->spi)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == sa) {
			*pp = sa->hnext;
			db->count--;
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
