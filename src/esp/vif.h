/*
 * vif.h - a tunnel interface as the datapath sees it: its TUN device, the
 * SAs that carry it, its traffic selectors and counters.  Carrier follows
 * the SAs: on exactly while an inbound and an outbound SA are installed.
 */
#ifndef VTI_VIF_H
#define VTI_VIF_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/log.h"
#include "lib/prefix.h"
#include "platform/platform.h"

struct sa;
struct datapath;

#define VIF_MAX_IN 8		/* current, rekeyed and draining inbound SAs */
#define VIF_MAX_TS 16

struct vif_stats {
	uint64_t tx_packets, tx_bytes, tx_dropped;
	uint64_t rx_packets, rx_bytes;
	uint64_t rx_dropped;	/* all inbound drops; the reasons follow */
	uint64_t rx_auth_fail, rx_replay, rx_malformed, rx_selector;
	uint64_t tx_tso;	/* TCP and UDP super-packets from TUN cut up */
	uint64_t tx_packet_path;	/* ESP sent by the packet socket (l2path) */
	uint64_t tx_xdp;	/* ESP sent by AF_XDP (esp-path = xdp) */
	uint64_t rx_xdp;	/* ESP received by AF_XDP */
	uint64_t rx_gro;	/* packets written to TUN coalesced from several */
};

struct vif {
	char name[16];
	int tun_fd;
	int ifindex;
	uint8_t offload;	/* TUN_OFFLOAD_* (platform.h) */
	bool carrier;

	struct sa *out;
	struct sa *in[VIF_MAX_IN];

	/* One block (vif_set_ts): most tunnels have one selector a side,
	 * and a hub thousands of tunnels. */
	struct prefix *local_ts, *remote_ts;
	unsigned n_local_ts, n_remote_ts;

	struct datapath *dp;
	unsigned mss_mtu;	/* clamp TCP MSS to fit this inner MTU; 0: off */
	struct vif_stats st;
	struct ratelimit rl;
	/* Raw ESP's way out past the kernel's IP output (datapath.c
	 * send_packet_path): looked up for this peer at most once a second. */
	struct l2path path;
	struct addr path_dst;	/* whom path leads to */
	struct addr path_from;	/* from which of our addresses (or none) */
	uint64_t path_at;	/* when it was looked up, ms; 0: never */
	/* esp-path = xdp: whether the last burst left by AF_XDP, and if not
	 * why not (a phrase; NULL when it did). */
	bool xdp_sent;
	const char *xdp_why;
};

/* Recompute carrier from the installed SAs and tell the kernel. */
void vif_carrier_sync(struct vif *v);
unsigned vif_in_count(const struct vif *v);
/*
 * Is an inner IP packet inside the selectors?  Outbound: src in local-ts,
 * dst in remote-ts; inbound the other way round.  Also rejects packets
 * whose IP header is not there or not consistent with len.
 */
bool vif_ts_allows(const struct vif *v, const uint8_t *pkt, size_t len, bool inbound);
/* Replace the selectors (at most VIF_MAX_TS a side).  Out of memory, the
 * interface passes nothing rather than keep wider ones: -ENOMEM. */
int vif_set_ts(struct vif *v, const struct prefix *local, unsigned nl,
	       const struct prefix *remote, unsigned nr);
void vif_free_ts(struct vif *v);

#endif
