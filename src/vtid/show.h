/*
 * show.h - what "vtictl show" and "vtictl stats" print: a readable table
 * or the JSON of SPEC.md.  Never prints key material.
 */
#ifndef VTI_SHOW_H
#define VTI_SHOW_H

#include <stdbool.h>

#include "esp/datapath.h"
#include "lib/buf.h"
#include "vtid/tunnel.h"

/* One tunnel, or all of them when only is NULL. */
struct ike_ctx;

void show_tunnels(struct buf *out, const struct tunnel *list,
		  const char *only, bool json);
void show_stats(struct buf *out, const struct dp_stats *st, struct ike_ctx *ike, bool json);

#endif
