/*
 * ike.h - the IKEv2 daemon component (RFC 7296): owns the IKE sockets
 * and IKE SAs, negotiates Child SAs for tunnels with mode = ike and
 * installs them through the tunnel's SA-table calls.
 */
#ifndef VTI_IKE_H
#define VTI_IKE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "lib/buf.h"
#include "ike/keys.h"
#include "lib/ev.h"

struct datapath;
struct tunnel;
struct ike_ctx;
struct json;

struct ike_ctx *ike_new(struct ev *ev, struct datapath *dp, struct tunnel **tunnels);
/* Open UDP port (500) for IPv4 and IPv6; 4500 arrives via the datapath. */
int ike_open(struct ike_ctx *ctx, uint16_t port, char *err, size_t errlen);
/* Demand cookies once this many IKE SAs are half-open (0: always). */
void ike_set_cookie_threshold(struct ike_ctx *ctx, unsigned n);
/* Who applies PSKs to AUTH octets; NULL: the tunnel's own conf.psk. */
void ike_set_psk_signer(struct ike_ctx *ctx, ike_psk_signer fn, void *arg);
unsigned ike_half_open(const struct ike_ctx *ctx);
/* IKE SAs held, in any state but dead. */
unsigned ike_sa_count(const struct ike_ctx *ctx);

/* Daemon-wide IKE counters (vtictl stats). */
struct ike_stats {
	uint64_t rx;			/* datagrams on the IKE ports */
	uint64_t rx_malformed;		/* failed to parse: dropped */
	uint64_t rx_unknown_sa;		/* no IKE SA with those SPIs: dropped */
	uint64_t rx_unexpected;		/* not expected by its SA in its state */
	uint64_t cookies_sent;		/* RFC 7296 §2.6 COOKIE demands */
	uint64_t half_open_refused;	/* IKE_SA_INIT over the half-open limits */
	uint64_t peer_moved;		/* NAT mappings followed (§2.23) */
};
const struct ike_stats *ike_get_stats(const struct ike_ctx *ctx);
/* Tests: hand every outgoing IKE message to fn instead of a socket. */
typedef void (*ike_send_hook)(void *arg, const uint8_t *msg, size_t len,
			      const struct sockaddr_storage *to, bool natt);
void ike_set_send_hook(struct ike_ctx *ctx, ike_send_hook fn, void *arg);
/* Send DELETE for every IKE SA and free everything. */
void ike_free(struct ike_ctx *ctx);
/* Timers: retransmission, liveness, re-initiation.  Call often. */
void ike_tick(struct ike_ctx *ctx);

/* Start (or restart) negotiation for a tunnel. */
void ike_tunnel_up(struct ike_ctx *ctx, struct tunnel *t);
/* Close the tunnel's IKE SA (DELETE to the peer) and its Child SA. */
void ike_tunnel_down(struct ike_ctx *ctx, struct tunnel *t);
/* Re-key the tunnel's Child SA (or its IKE SA) now; -EBUSY, -ENOENT. */
int ike_tunnel_rekey(struct ike_ctx *ctx, struct tunnel *t, bool ike);
/* The tunnel is going away: forget it without waiting for anything. */
void ike_tunnel_gone(struct ike_ctx *ctx, struct tunnel *t);

/* Seconds until the tunnel's IKE SA / first Child SA re-key; -1 if none. */
void ike_rekey_eta(struct ike_ctx *ctx, const struct tunnel *t, long *ike_s, long *child_s);
/* For "show": IKE state of the tunnel, or null. */
void ike_show_json(struct ike_ctx *ctx, const struct tunnel *t, struct json *j);
void ike_show_text(struct ike_ctx *ctx, const struct tunnel *t, struct buf *b);

/* One IKE message received (non-ESP marker already stripped). */
void ike_input(struct ike_ctx *ctx, const uint8_t *msg, size_t len,
	       const struct sockaddr_storage *from, bool natt);

#endif
