/*
 * sadb.h - the SA table: the one interface between control plane and
 * datapath.  The control plane installs and removes SAs here; the datapath
 * looks inbound SAs up by SPI and sends on its interface's outbound SA.
 * Installing or removing an SA updates the interface's carrier.
 *
 * Ownership: an installed SA belongs to the table until removed; removal
 * hands it back to the caller, who frees it.
 */
#ifndef VTI_SADB_H
#define VTI_SADB_H

#include <stdint.h>

#include "esp/sa.h"
#include "esp/vif.h"

#define SADB_MIN_BITS 10

/* Inbound SAs by SPI; the table doubles when it holds more SAs than
 * buckets (a hub: two or three for each of 10,000 tunnels). */
struct sadb {
	struct sa **bucket;
	unsigned bits;
	unsigned count;
	unsigned sweep;		/* sadb_sweep's next bucket */
	/* Told of each inbound SA that leaves (the datapath's XDP steering). */
	void (*on_del)(void *arg, struct sa *sa);
	void *on_del_arg;
};

int sadb_init(struct sadb *db) __attribute__((warn_unused_result));
void sadb_free(struct sadb *db);	/* the table; not its SAs */
/*
 * Let the SAs that passed no packet since the last visit give up their
 * cipher contexts (sa_cool: 1.2 KB each for AES-GCM; made again by the
 * next packet): a slice of the table a call, so that calls every tick
 * visit every SA about once in SADB_SWEEP_TICKS ticks.
 */
#define SADB_SWEEP_TICKS 100
void sadb_sweep(struct sadb *db);
/* -EEXIST: SPI already in use; -ENOSPC: the interface has VIF_MAX_IN. */
int sadb_add_in(struct sadb *db, struct vif *v, struct sa *sa)
	__attribute__((warn_unused_result));
void sadb_del_in(struct sadb *db, struct sa *sa);
struct sa *sadb_lookup(const struct sadb *db, uint32_t spi);
/* Make sa the interface's outbound SA; returns the one it replaces. */
struct sa *sadb_set_out(struct vif *v, struct sa *sa);
/* Remove every SA of an interface and free them. */
void sadb_flush_vif(struct sadb *db, struct vif *v);

#endif
