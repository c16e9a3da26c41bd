/*
 * policy.h - what IKE needs to know about one peer (or, with templates,
 * about a class of peers): who we are and who it must be, what we offer
 * and accept, what the Child SA carries, how long things live and how
 * liveness is checked.  IKE owns the type; the daemon fills it from its
 * configuration once, when the configuration is loaded, so that nothing
 * in IKE parses configuration text again.
 *
 * Secrets are not in it: the policy names the authentication method and
 * the name under which the key-holding process finds the secret, and
 * IKE asks the daemon to apply it (ike_conn_ops.psk_sign).
 *
 * The IKE proposals and the selectors, its two large parts, are not
 * copied: they point into the configuration that filled the policy
 * (parsed there once), which must outlive it.  Every [tunnel] keeps its
 * configuration anyway, and a template's one policy serves many peers.
 */
#ifndef VTI_IKE_POLICY_H
#define VTI_IKE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/suite.h"
#include "ike/msg.h"
#include "lib/prefix.h"

#define IKE_POL_MAX_PROPS 8	/* IKE proposals, and ESP suites */
#define IKE_POL_MAX_TS 16
#define IKE_ID_MAX 256
#define IKE_PPK_ID_MAX 255	/* RFC 8784 PPK_ID, after its type octet */

/* RFC 7296 §2.15 and what comes next (RFC 7427 certificates). */
enum ike_authby {
	IKE_AUTHBY_PSK = 1,
	IKE_AUTHBY_CERT = 2,	/* RFC 7427 digital signature with local-cert's key */
};

struct x509_certs;
struct x509_crls;

/* RFC 3948 UDP encapsulation of ESP: when a NAT is found, always, never. */
enum ike_encap { IKE_ENCAP_AUTO, IKE_ENCAP_FORCE, IKE_ENCAP_NO };

/* An identity as it goes on the wire (RFC 7296 §3.5): ID type and data. */
struct ike_ident {
	uint8_t type;		/* 0: none configured (the address stands in) */
	uint8_t data[IKE_ID_MAX];
	size_t len;
};

/* What a policy's identities and PPK_ID point to (tunnel_conf_policy):
 * kept apart so that a template's instances share their template's. */
struct ike_policy_ids {
	struct ike_ident local_id, remote_id;
	uint8_t ppk_id[IKE_PPK_ID_MAX];
};

struct ike_policy {
	char name[16];			/* logs; the key-holder's name for the secret */
	struct addr local, remote;	/* remote.family 0: any peer */
	uint16_t remote_port;		/* the peer's IKE port, when we initiate */
	/* Never NULL (type 0: none configured); see struct ike_policy_ids. */
	const struct ike_ident *local_id, *remote_id;
	bool remote_id_bad;		/* configured but unreadable: admits nobody */
	bool remote_id_glob;		/* remote_id holds '*': any run of characters */
	bool is_template;		/* admits many peers, each its own instance
					 * (ike_conn_ops.instantiate) */
	enum ike_authby authby;
	/* How the peer may: a MAC with our PSK (psk), a signature by a
	 * certificate that chains to ca (RFC 7427 §3; checked against crl).
	 * cert is ours, leaf first.  All shared, never copied per tunnel: one
	 * CA serves every tunnel (or template peer) that names it. */
	bool psk;
	const struct x509_certs *cert, *ca;
	const struct x509_crls *crl;
	uint8_t key_type;		/* enum x509_key of cert */
	const struct ike_prop *ike;	/* offered/accepted for the IKE SA */
	unsigned n_ike;
	struct esp_suite esp[IKE_POL_MAX_PROPS];	/* for Child SAs */
	unsigned n_esp;
	const struct prefix *local_ts, *remote_ts;	/* traffic selectors */
	unsigned n_local_ts, n_remote_ts;
	unsigned ike_lifetime, esp_lifetime;	/* seconds */
	unsigned dpd, dpd_timeout;		/* seconds; dpd 0: no liveness checks */
	enum ike_encap encap;
	uint32_t replay_window;
	bool initiate;			/* keep it up: initiate, and again after a loss */
	bool want_address;		/* ask the peer for inner addresses (§3.15) */
	bool ipv6;			/* the interface carries IPv6 (an IPv6 address is
					 * asked for only then) */
	bool gives_address;		/* answer such a request (ike_conn_ops.address_assign) */
	bool fragmentation;		/* RFC 7383: offer and accept IKE fragmentation */
	/* RFC 8784: the post-quantum preshared key's identity (its value
	 * stays with the key holder, ike_conn_ops.ppk_mix); ppk_id_len 0: no
	 * PPK.  ppk_required: refuse a peer that does not use it. */
	const uint8_t *ppk_id;
	size_t ppk_id_len;
	bool ppk_required;
};

#endif
