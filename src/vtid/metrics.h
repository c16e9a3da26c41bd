/*
 * metrics.h - the daemon's counters in the Prometheus text exposition
 * format (version 0.0.4), for `vtictl metrics` and GET /metrics: names
 * start with vti_, counters end in _total, per-interface series carry a
 * "tunnel" label (SPEC "Metrics and events").
 */
#ifndef VTI_METRICS_H
#define VTI_METRICS_H

#include "esp/datapath.h"
#include "lib/buf.h"
#include "vtid/tunnel.h"

struct ike_ctx;

void metrics_render(struct buf *out, struct ike_ctx *ike, const struct dp_stats *dp,
		    const struct tunnel *list);

#endif
