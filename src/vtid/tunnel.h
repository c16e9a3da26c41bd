/*
 * tunnel.h - the control plane's view of one configured tunnel: its
 * configuration, its interface (vif), and how its SAs are obtained.  With
 * mode = manual the SAs come straight from the configured keys; with
 * mode = ike the tunnel registers an IKE policy (filled from its
 * configuration) and implements IKE's callbacks (ike.h ike_conn_ops),
 * which install and remove SAs through the same calls.
 */
#ifndef VTI_TUNNEL_H
#define VTI_TUNNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "crypto/prf.h"
#include "esp/datapath.h"
#include "esp/vif.h"
#include "ike/policy.h"
#include "lib/htab.h"

enum tunnel_state { TS_DOWN, TS_CONNECTING, TS_UP };

/* The widest prefix a peer's address may come with (address = auto) and
 * still go on the interface as given (the privileged parent's rule): a
 * wider one (a hub's whole /10 pool) goes on as the host address alone. */
#define TUNNEL_GIVEN_MIN4 16
#define TUNNEL_GIVEN_MIN6 48

struct ike_ctx;
struct ike_conn;
struct tunnel_pool;

struct tunnel {
	/*
	 * Its section: a [tunnel]'s own copy (own), or a template's instance's
	 * template's, shared by all its instances (a 4.5 KB copy each would be
	 * most of what an idle instance costs).  The interface's name is
	 * vif.name, which for an instance is not the section's.
	 */
	const struct tunnel_conf *conf;
	struct tunnel_conf *own;
	struct vif vif;
	struct datapath *dp;
	struct ike_ctx *ike;
	struct ike_policy pol;		/* mode = ike: what IKE negotiates, from conf */
	struct ike_policy_ids *ids;	/* what pol's identities point to (own ones) */
	struct ike_conn *conn;		/* mode = ike: the policy registered with IKE */
	enum tunnel_state state;
	unsigned mtu;			/* of the interface */
	uint64_t up_since_ms;
	uint64_t rekeys_child, rekeys_ike;	/* SAs replaced (vti_tunnel_rekeys_total) */
	char down_reason[96];		/* why the next "down" event happens */
	/*
	 * Its Child SAs are in the interface (vif.in[], each with its
	 * outbound half in sa->pair; vif.out the one in use); several while
	 * one is being replaced.  Inbound SAs of deleted children, kept a
	 * moment for stragglers, are there too, without a pair, and here:
	 */
	struct sa *draining[VIF_MAX_IN];
	uint64_t drain_until[VIF_MAX_IN];
	/*
	 * Manual SAs taken down by "vtictl down" are kept here, so that "up"
	 * resumes their sequence numbers and replay windows: a fresh SA with
	 * the same keys would restart at 1 and the peer would drop it all.
	 */
	struct sa *parked_in, *parked_out;
	uint64_t seq_retry_at;		/* manual: next try to reserve sequence numbers */
	/* RFC 7296 §3.15: pool = (the addresses its peer was given, and
	 * routed to it), or address = auto (what the peer gave us). */
	struct tunnel_pool *pool;
	struct prefix given[2];
	unsigned n_given;
	/*
	 * A template's instance (template.c): the identity it was made for
	 * (its policy admits that one peer; the template's record of it
	 * outlives the instance); whom to tell when its last SA is gone (IKE
	 * callbacks must not free it: the template's tick does).
	 */
	const struct ike_ident *inst_id;
	void (*on_idle)(struct tunnel *t);
	void *owner;
	/* On the daemon's struct tunnel_list: */
	struct tunnel_list *list;
	struct tunnel *next, **pprev;
	struct hnode hname;
	struct tunnel *busy_next, **busy_pprev;	/* NULL pprev: not on the busy list */
};

/*
 * The daemon's tunnels: [tunnel]s in configuration order, then templates'
 * instances as they come (show lists them so), found by interface name,
 * and the few that tunnel_tick has work for (a draining SA, manual keys'
 * sequence numbers): a hub's timer does not visit 10,000 idle tunnels.
 */
struct tunnel_list {
	struct tunnel *head, **tail;
	struct htab by_name;
	struct tunnel *busy;
};

int tunnel_list_init(struct tunnel_list *l) __attribute__((warn_unused_result));
void tunnel_list_free(struct tunnel_list *l);	/* the index; not the tunnels */
void tunnel_list_add(struct tunnel_list *l, struct tunnel *t);
void tunnel_list_remove(struct tunnel *t);	/* from its list; not freed */
struct tunnel *tunnel_list_find(const struct tunnel_list *l, const char *name);
/* tunnel_tick for those that have work. */
void tunnel_list_tick(struct tunnel_list *l);

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
/*
 * An instance of a template for one authenticated peer, named name: tmpl
 * is the template's section and tmpl_pol its policy (both must outlive
 * the instance: its identities and proposals point into them), pool the
 * template's shared pool (or NULL), peer the identity admitted (likewise).
 */
struct pool;
struct chunk;
struct tunnel *tunnel_create_instance(struct datapath *dp, struct ike_ctx *ike, const char *name,
				      const struct tunnel_conf *tmpl,
				      const struct ike_policy *tmpl_pol, struct pool *pool,
				      const struct ike_ident *peer, char *err, size_t errlen);
/* Apply the section's PSK (through the key-holding process). */
int tunnel_psk_sign(const struct tunnel_conf *tc, uint16_t prf_id, const struct chunk *octets,
		    size_t n, uint8_t *out);
/* Mix the section's PPK into SK_d, SK_pi, SK_pr (RFC 8784), the same way. */
int tunnel_ppk_mix(const struct tunnel_conf *tc, uint16_t prf_id, size_t len,
		   uint8_t sk[3][PRF_MAX]);
/* Remove SAs and interface. */
void tunnel_destroy(struct tunnel *t);
int tunnel_up(struct tunnel *t, char *err, size_t errlen);
void tunnel_down(struct tunnel *t);
const char *tunnel_state_name(enum tunnel_state s);

/*
 * mode = ike: fill the policy IKE negotiates by from the configuration
 * (tunnel_conf_policy: parsed once, when it was loaded) and register it
 * with IKE, whose callbacks (tunnel.c) put Child SAs into the SA table.
 * tunnel_create does this; tests that build a tunnel by hand call it.
 */
int tunnel_attach_ike(struct tunnel *t);
struct chunk;
/* Who applies a tunnel's PSK to AUTH octets: the key-holding process
 * (ps_psk_sign), unless a test without one says otherwise. */
typedef int (*tunnel_psk_signer)(void *arg, const struct tunnel_conf *tc, uint16_t prf_id,
				 const struct chunk *octets, size_t n, uint8_t *out);
void tunnel_set_psk_signer(tunnel_psk_signer fn);
/* The same for the PPK (RFC 8784): ps_ppk_mix unless a test says otherwise. */
typedef int (*tunnel_ppk_mixer)(void *arg, const struct tunnel_conf *tc, uint16_t prf_id,
				size_t len, uint8_t sk[3][PRF_MAX]);
void tunnel_set_ppk_mixer(tunnel_ppk_mixer fn);
/* And who signs with its local-key (ps_sign). */
typedef int (*tunnel_signer)(void *arg, const struct tunnel_conf *tc, int hash,
			     const struct chunk *octets, size_t n, uint8_t *out, size_t max);
void tunnel_set_signer(tunnel_signer fn);
/*
 * The SA-table side of a Child SA: install the pair (the new outbound SA
 * takes over sending at once unless activate is false; the inbound one
 * is added beside any older one).  Carrier follows.
 */
int tunnel_child_install(struct tunnel *t, struct sa *in, struct sa *out, bool activate)
	__attribute__((warn_unused_result));
/* The addresses the tunnel's pool gave its peer (show); returns how many. */
unsigned tunnel_peer_addrs(const struct tunnel *t, const struct prefix **a);
/* Timers: forget drained inbound SAs; ask for manual SAs' next sequence
 * numbers half way through a block. */
void tunnel_tick(struct tunnel *t);
/* The parent's answer to that (ps_seq_answer): err, or up to limit. */
void tunnel_seq_answer(struct tunnel *t, uint32_t spi, uint64_t from, uint64_t next,
		       uint64_t limit, int err);

#endif
