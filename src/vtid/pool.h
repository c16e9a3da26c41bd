/*
 * pool.h - inner addresses for peers that ask for one (RFC 7296 §3.15
 * configuration payloads; `pool =` in the configuration).
 *
 * A peer identity gets one address of each family of the pool, and the
 * same ones each time it comes back while the daemon runs, so that the
 * routes and BGP sessions that name them stay right.  Addresses are given
 * in order; once every one has been given, the identity released longest
 * ago loses its addresses to the newcomer.  Lookups are by a hash of the
 * identity: no cost grows with the number of leases.
 */
#ifndef VTI_POOL_H
#define VTI_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/htab.h"
#include "lib/prefix.h"

#define POOL_MAX_OWN 8

struct pool_lease;

struct pool {
	struct prefix net[2];		/* one a family */
	unsigned n;
	struct prefix own[POOL_MAX_OWN];	/* never given: our own addresses */
	unsigned n_own;
	uint64_t size;			/* addresses 1..size of each prefix may be given */
	uint64_t next;			/* the lowest never given */
	struct htab by_id;
	struct pool_lease *idle_head, *idle_tail;	/* released, oldest first */
	size_t leases;
};

/* own: the addresses of the interface (configured), kept out of it. */
int pool_init(struct pool *p, const struct prefix *net, unsigned n, const struct prefix *own,
	      unsigned n_own) __attribute__((warn_unused_result));
void pool_free(struct pool *p);
/*
 * This identity's addresses of the wanted families (its old lease, or a
 * new one) into out[], with the pool's prefix length; returns how many,
 * 0 when the pool has none left (or none of those families).
 */
unsigned pool_lease(struct pool *p, const uint8_t *id, size_t idlen, bool want4, bool want6,
		    struct prefix *out);
/* The identity no longer uses them: another may get them, last of all. */
void pool_release(struct pool *p, const uint8_t *id, size_t idlen);

#endif
