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

#define SADB_BUCKETS 1024

struct sadb {
	struct sa *bucket[SADB_BUCKETS];
	unsigned count;
};

void sadb_init(struct sadb *db);
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
