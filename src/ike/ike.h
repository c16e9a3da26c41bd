/*
 * ike.h - the IKEv2 component (RFC 7296): owns the IKE sockets and IKE
 * SAs, negotiates Child SAs for connections (policy.h) and hands them to
 * its user through struct ike_conn_ops.
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
struct ike_ctx;
struct ike_id;
struct ike_policy;
struct json;
struct prefix;
struct sa;

struct ike_ctx *ike_new(struct ev *ev, struct datapath *dp);
/* Open UDP port (500) for IPv4 and IPv6; 4500 arrives via the datapath. */
int ike_open(struct ike_ctx *ctx, uint16_t port, char *err, size_t errlen);
/* Demand cookies once this many IKE SAs are half-open (0: always). */
void ike_set_cookie_threshold(struct ike_ctx *ctx, unsigned n);
/* Initiations a second that the tick starts by itself (first ones and
 * re-initiations; not ike_conn_up), a tenth of that at once (at least 1). */
void ike_set_initiate_rate(struct ike_ctx *ctx, unsigned per_second);
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
	/* RFC 7383 fragmentation */
	uint64_t frag_tx;		/* messages sent as fragments */
	uint64_t frag_rx;		/* fragments authenticated and kept */
	uint64_t frag_reassembled;	/* messages made whole */
	uint64_t frag_invalid;		/* dropped: integrity check failed, malformed */
	uint64_t frag_duplicate;	/* dropped: that fragment was there already */
	uint64_t frag_limit;		/* dropped: over IKE_FRAG_MAX or the size limit */
	uint64_t frag_expired;		/* dropped: incomplete sets timed out or replaced */
	/* Datagrams the kernel refused, by enum sock_err_kind (platform.h):
	 * at send, or reported by ICMP through the error queue. */
	uint64_t tx_refused[4];
	uint64_t rx_sock_dropped;	/* dropped at the IKE sockets (SO_RXQ_OVFL) */
};
const struct ike_stats *ike_get_stats(const struct ike_ctx *ctx);
/* Tests: hand every outgoing IKE message to fn instead of a socket. */
typedef void (*ike_send_hook)(void *arg, const uint8_t *msg, size_t len,
			      const struct sockaddr_storage *to, bool natt);
void ike_set_send_hook(struct ike_ctx *ctx, ike_send_hook fn, void *arg);
/* Tests: cut RFC 7383 fragments for this path MTU instead of the route's. */
void ike_set_frag_mtu(struct ike_ctx *ctx, unsigned mtu);
/* Send DELETE for every IKE SA and free everything. */
void ike_free(struct ike_ctx *ctx);
/* Timers: retransmission, liveness, re-initiation.  Call often. */
void ike_tick(struct ike_ctx *ctx);

/*
 * The seam between IKE and whoever uses it (the daemon's tunnels, or a
 * test): IKE negotiates for a connection (one policy) and reports through
 * these calls; it never looks at the caller's objects.  arg is the
 * caller's, given to ike_conn_add.
 */
enum ike_conn_state { IKE_CONN_DOWN, IKE_CONN_CONNECTING, IKE_CONN_UP };

struct ike_conn_ops {
	/* A negotiated Child SA, as a pair for the SA table (src/esp): both
	 * SAs belong to the callee from here on, also when it fails.  The
	 * new outbound SA takes over sending unless activate is false (a
	 * rekey responder: the peer may not have the inbound half yet). */
	int (*child_install)(void *arg, struct sa *in, struct sa *out, bool activate);
	/* That Child SA is gone (deleted, replaced or expired): in is the
	 * inbound half given to child_install, in->pair the outbound one.
	 * The callee takes both out of the SA table and frees them. */
	void (*child_remove)(void *arg, struct sa *in);
	/* RFC 7296 §2.23: the peer's NAT mapping moved; UDP-encapsulated
	 * outbound SAs follow it. */
	void (*peer_moved)(void *arg, const struct sockaddr_storage *peer);
	/* RFC 7296 §2.9: the traffic selectors agreed, narrower than or equal
	 * to the policy's; only they pass, both ways. */
	void (*ts_narrowed)(void *arg, const struct prefix *local, unsigned nl,
			    const struct prefix *remote, unsigned nr);
	/* Negotiation started (CONNECTING) or gave up (DOWN); UP and the
	 * DOWN after the last Child SA follow child_install/child_remove. */
	void (*state)(void *arg, enum ike_conn_state s);
	/* The SAs are being closed for this reason; dead: the peer stopped
	 * answering.  A NULL reason: the SAs are gone, forget it. */
	void (*closing)(void *arg, const char *why, bool dead);
	/* The IKE SA was replaced by a rekey (RFC 7296 §2.18). */
	void (*ike_rekeyed)(void *arg);
	/* RFC 7296 §3.15, the responder of a policy that gives_address: the
	 * authenticated peer asks for inner addresses of these families;
	 * fill out[] (one a family at most) and return how many, 0 if there
	 * are none to give (the peer is told INTERNAL_ADDRESS_FAILURE). */
	unsigned (*address_assign)(void *arg, const struct ike_id *peer, bool want4, bool want6,
				   struct prefix *out);
	/* A policy that is_template admitted this authenticated peer: the
	 * connection of its own (an existing one for an identity seen
	 * before) that its IKE SA belongs to from now on; NULL to refuse. */
	struct ike_conn *(*instantiate)(void *arg, const struct ike_id *peer);
	/* The initiator of a policy that want_address: what the peer gave
	 * (n 0: nothing), before the Child SA is installed. */
	void (*address_given)(void *arg, const struct prefix *a, unsigned n);
	/* Apply the policy's PSK to AUTH octets (keys.h): the secret is held
	 * where IKE cannot see it (the key-holding process). */
	ike_psk_signer psk_sign;
	/* RFC 8784 §3: mix the policy's PPK into SK_d, SK_pi and SK_pr
	 * (keys.h); held, like the PSK, where IKE cannot see it.  Called
	 * only for a policy with a ppk_id. */
	ike_ppk_mixer ppk_mix;
	/* Sign AUTH octets with the policy's private key (RFC 7427), also
	 * held by the key-holding process only. */
	ike_signer sign;
};

/* Register a policy: IKE answers peers that match it, and initiates when
 * pol->initiate.  pol and ops stay the caller's and must outlive it. */
struct ike_conn *ike_conn_add(struct ike_ctx *ctx, const struct ike_policy *pol,
			      const struct ike_conn_ops *ops, void *arg);
/* Close its SAs (DELETE to the peer for those established) and forget it. */
void ike_conn_del(struct ike_conn *c);
/* Start (or restart) negotiation. */
void ike_conn_up(struct ike_conn *c);
/* Close the IKE SA (DELETE to the peer) and its Child SAs; no more
 * initiations or answers until ike_conn_up or ike_conn_reset. */
void ike_conn_down(struct ike_conn *c);
/* The policy changed in place: forget "down" and the back-off. */
void ike_conn_reset(struct ike_conn *c);
/* No IKE SA belongs to it (any more), in any state. */
bool ike_conn_idle(const struct ike_conn *c);
/* Re-key its Child SA (or its IKE SA) now; -EBUSY, -ENOENT. */
int ike_conn_rekey(struct ike_conn *c, bool ike);
/* Seconds until the IKE SA / first Child SA re-key; -1 if none (c may be NULL). */
void ike_rekey_eta(const struct ike_conn *c, long *ike_s, long *child_s);
/* For "show": IKE state of the connection, or null (c may be NULL). */
void ike_show_json(const struct ike_conn *c, struct json *j);
void ike_show_text(const struct ike_conn *c, struct buf *b);

/* One IKE message received (non-ESP marker already stripped). */
void ike_input(struct ike_ctx *ctx, const uint8_t *msg, size_t len,
	       const struct sockaddr_storage *from, bool natt);

#endif
