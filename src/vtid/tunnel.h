/*
 * tunnel.h - the control plane's view of one configured tunnel: its
 * configuration, its interface (vif), and how its SAs are obtained.  With
 * mode = manual the SAs come straight from the configured keys; IKEv2
 * will install them through the same two calls (tunnel_install_sas,
 * tunnel_remove_sas) into the SA table.
 */
#ifndef VTI_TUNNEL_H
#define VTI_TUNNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "esp/datapath.h"
#include "esp/vif.h"

enum tunnel_state { TS_DOWN, TS_CONNECTING, TS_UP };

struct ike_ctx;

/* An inbound/outbound SA pair; several exist while one is being replaced. */
struct child {
	struct sa *in, *out;
};

struct tunnel {
	struct tunnel_conf conf;
	struct vif vif;
	struct datapath *dp;
	struct ike_ctx *ike;
	enum tunnel_state state;
	unsigned mtu;			/* of the interface */
	bool admin_down;		/* "vtictl down": do not re-initiate */
	uint64_t up_since_ms;
	uint64_t rekeys_child, rekeys_ike;	/* SAs replaced (vti_tunnel_rekeys_total) */
	char down_reason[96];		/* why the next "down" event happens */
	uint64_t reinit_at, reinit_ms;	/* next initiation, current back-off */
	struct child child[VIF_MAX_IN];
	/* Inbound SAs of deleted children, kept a moment for stragglers. */
	struct sa *draining[VIF_MAX_IN];
	uint64_t drain_until[VIF_MAX_IN];
	/*
	 * Manual SAs taken down by "vtictl down" are kept here, so that "up"
	 * resumes their sequence numbers and replay windows: a fresh SA with
	 * the same keys would restart at 1 and the peer would drop it all.
	 */
	struct sa *parked_in, *parked_out;
	uint64_t seq_retry_at;		/* manual: next try to reserve sequence numbers */
	struct tunnel *next;
};

/* Create the interface and, with start = yes, install the SAs.
 * On failure *err says why (for "exit 3" at start-up). */
struct tunnel *tunnel_create(struct datapath *dp, struct ike_ctx *ike,
			     const struct tunnel_conf *c, char *err, size_t errlen);
/*
 * Apply a changed configuration to a running tunnel, keeping its
 * interface (and so its routes): close the SAs, take the new settings,
 * negotiate or install again.  -EAGAIN when the interface itself changed
 * (addresses, MTU) and the tunnel must be re-created.
 */
int tunnel_reconfigure(struct tunnel *t, const struct tunnel_conf *c, char *err, size_t errlen);
/* Whether a and b configure the interface alike (else it is re-created);
 * the privileged parent decides by the same rule which devices it keeps. */
bool tunnel_same_interface(const struct tunnel_conf *a, const struct tunnel_conf *b);
/* Remove SAs and interface. */
void tunnel_destroy(struct tunnel *t);
int tunnel_up(struct tunnel *t, char *err, size_t errlen);
void tunnel_down(struct tunnel *t);
const char *tunnel_state_name(enum tunnel_state s);

/*
 * The SA-table side of a negotiated (or manual) Child SA: install the
 * pair (the new outbound SA takes over sending at once; the inbound one
 * is added beside any older one), remove it by its inbound SPI, or follow
 * a peer whose NAT mapping moved.  Carrier follows.
 */
int tunnel_child_install(struct tunnel *t, struct sa *in, struct sa *out, bool activate)
	__attribute__((warn_unused_result));
void tunnel_child_remove(struct tunnel *t, uint32_t spi_in);
void tunnel_child_peer(struct tunnel *t, const struct sockaddr_storage *peer);
/* The traffic selectors IKE negotiated (RFC 7296 §2.9), narrower than or
 * equal to the configured ones: from now on only they pass, both ways. */
void tunnel_child_ts(struct tunnel *t, const struct prefix *local, unsigned nl,
		     const struct prefix *remote, unsigned nr);
/* IKE is closing the tunnel's SAs for this reason (the "down" event's);
 * dead: because the peer stopped answering (a "dead" event first).  A
 * NULL reason forgets the last one once the SAs are gone. */
void tunnel_closing(struct tunnel *t, const char *why, bool dead);
/* The tunnel's IKE SA was replaced by a rekey. */
void tunnel_ike_rekeyed(struct tunnel *t);
/* Timers: forget drained inbound SAs; ask for manual SAs' next sequence
 * numbers half way through a block. */
void tunnel_tick(struct tunnel *t);
/* The parent's answer to that (ps_seq_answer): err, or up to limit. */
void tunnel_seq_answer(struct tunnel *t, uint32_t spi, uint64_t from, uint64_t next,
		       uint64_t limit, int err);

#endif
