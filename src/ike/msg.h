/*
 * msg.h - the IKEv2 message codec (RFC 7296 §3): header, payload chain
 * and every payload vti uses, decoded through bounds-checked cursors and
 * written through one back-patching writer.
 *
 * Decoders return 0 or the negated Notify type to answer with
 * (-N_INVALID_SYNTAX, -N_UNSUPPORTED_CRITICAL_PAYLOAD, ...), so an error
 * maps directly to what the peer is told.
 */
#ifndef VTI_IKE_MSG_H
#define VTI_IKE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/proto.h"
#include "lib/buf.h"
#include "lib/prefix.h"

struct ike_hdr {
	uint64_t spi_i, spi_r;
	uint8_t next;
	uint8_t version;
	uint8_t exchange;
	uint8_t flags;
	uint32_t msgid;
	uint32_t length;
};

struct ike_pl {
	uint8_t type;
	bool critical;
	const uint8_t *start;	/* generic payload header */
	const uint8_t *body;
	size_t len;		/* body length */
};

#define IKE_MAX_PAYLOADS 48

struct ike_msg {
	struct ike_hdr h;
	const uint8_t *raw;
	size_t rawlen;
	struct ike_pl pl[IKE_MAX_PAYLOADS];
	unsigned npl;
	const struct ike_pl *sk;	/* the SK payload, if any (always last) */
	const struct ike_pl *skf;	/* or the SKF payload (RFC 7383 §2.5) */
	uint8_t sk_first;		/* first payload inside SK (or SKF) */
	uint8_t unsupported;		/* type of an unknown critical payload */
};

/* Transforms and proposals (RFC 7296 §3.3). */
#define PROP_MAX_TRANSFORMS 8

struct ike_alg {
	uint16_t id;
	uint16_t keylen;	/* bits; 0 when the algorithm has no attribute */
};

struct ike_prop {
	uint8_t num;
	uint8_t proto;		/* PROTO_IKE or PROTO_ESP */
	uint8_t spi_size;
	uint8_t spi[8];
	struct ike_alg t[6][PROP_MAX_TRANSFORMS];	/* index: transform type (1-5) */
	uint8_t n[6];
};

#define IKE_MAX_PROPS 16

struct ike_notify {
	uint8_t proto;
	uint8_t spi_size;
	uint16_t type;
	const uint8_t *spi;
	const uint8_t *data;
	size_t len;
};

struct ike_id {
	uint8_t type;
	const uint8_t *data;
	size_t len;
	const uint8_t *body;	/* type, reserved and data: what AUTH MACs */
	size_t bodylen;
};

struct ike_ts {
	uint8_t type;
	uint8_t proto;
	uint16_t sport, eport;
	uint8_t start[16], end[16];
};

#define IKE_MAX_TS 16

int ike_hdr_parse(const uint8_t *p, size_t len, struct ike_hdr *h);
/* Header and outer payload chain; the SK payload's content stays opaque. */
int ike_msg_parse(const uint8_t *raw, size_t len, struct ike_msg *m);
/* Append the payloads of a decrypted chain to m. */
int ike_chain_parse(struct ike_msg *m, uint8_t first, const uint8_t *p, size_t len);
const struct ike_pl *ike_find(const struct ike_msg *m, uint8_t type, unsigned nth);

int ike_sa_parse(const struct ike_pl *pl, struct ike_prop *props, unsigned max, unsigned *n);
int ike_ke_parse(const struct ike_pl *pl, uint16_t *group, const uint8_t **data, size_t *len);
int ike_notify_parse(const struct ike_pl *pl, struct ike_notify *n);
int ike_id_parse(const struct ike_pl *pl, struct ike_id *id);
int ike_auth_parse(const struct ike_pl *pl, uint8_t *method, const uint8_t **data, size_t *len);
int ike_cert_parse(const struct ike_pl *pl, uint8_t *enc, const uint8_t **data, size_t *len);
int ike_certreq_parse(const struct ike_pl *pl, uint8_t *enc, unsigned *n_cas);
int ike_sig_hashes_parse(const struct ike_notify *n, unsigned *mask);
int ike_ts_parse(const struct ike_pl *pl, struct ike_ts *ts, unsigned max, unsigned *n);
int ike_delete_parse(const struct ike_pl *pl, uint8_t *proto, uint8_t *spi_size,
		     const uint8_t **spis, unsigned *count);
/*
 * A Configuration payload (§3.15) as vti uses it: a request for one inner
 * address of either family, or a reply with them.  An IPv4 address
 * carries the netmask sent with it as its prefix length (32 without one),
 * an IPv6 address its own.  Other attributes are skipped; only the first
 * address of each family counts.
 */
struct ike_cp {
	uint8_t type;			/* CFG_REQUEST, CFG_REPLY, ... */
	bool want4, want6;		/* an INTERNAL_IP4/6_ADDRESS attribute was in it */
	struct prefix addr[2];		/* addresses that were in it (not 0.0.0.0 or ::) */
	unsigned n;
};
int ike_cp_parse(const struct ike_pl *pl, struct ike_cp *cp);

/* Find a notify of this type among m's payloads; 0 if found. */
int ike_find_notify(const struct ike_msg *m, uint16_t type, struct ike_notify *out);

/*
 * An identity as configured: an address (ID_IPV4_ADDR/ID_IPV6_ADDR),
 * "@#hex" (ID_KEY_ID), "user@domain" (ID_RFC822_ADDR), else "@fqdn" or
 * "fqdn" (ID_FQDN), as strongSwan reads them.  data holds 256 bytes.
 */
int ike_id_from_string(const char *s, uint8_t *type, uint8_t *data, size_t *len);
/* A configured identity pattern, where '*' matches any run of bytes (none
 * too), against an identity's data (remote-id = *@branches.example). */
bool ike_glob_match(const uint8_t *pat, size_t np, const uint8_t *s, size_t ns);

/* Writer: payloads are appended and chained by back-patching. */
struct ike_wr {
	struct buf *b;
	size_t next_off;	/* where the next payload's type goes; SIZE_MAX: first */
	uint8_t first;		/* type of the first payload written */
	size_t cur;		/* start of the open payload */
};

void ikew_init(struct ike_wr *w, struct buf *b);		/* a bare chain */
void ikew_header(struct ike_wr *w, struct buf *b, const struct ike_hdr *h);
void ikew_begin(struct ike_wr *w, uint8_t type);
void ikew_end(struct ike_wr *w);
void ikew_finish(struct ike_wr *w);		/* message length into the header */

void ikew_sa(struct ike_wr *w, const struct ike_prop *props, unsigned n);
void ikew_ke(struct ike_wr *w, uint16_t group, const uint8_t *data, size_t len);
void ikew_bytes(struct ike_wr *w, uint8_t type, const uint8_t *data, size_t len);
void ikew_notify(struct ike_wr *w, uint8_t proto, uint16_t type, const uint8_t *spi,
		 size_t spi_len, const uint8_t *data, size_t len);
void ikew_id(struct ike_wr *w, uint8_t type, uint8_t id_type, const uint8_t *data, size_t len);
void ikew_auth(struct ike_wr *w, uint8_t method, const uint8_t *data, size_t len);
/* CERT or CERTREQ (type): encoding, then data. */
void ikew_cert(struct ike_wr *w, uint8_t type, uint8_t enc, const uint8_t *data, size_t len);
void ikew_ts(struct ike_wr *w, uint8_t type, const struct ike_ts *ts, unsigned n);
/* A request asks for each wanted family (empty attributes); a reply
 * carries cp->addr[] with IPv4 netmask / IPv6 prefix length. */
void ikew_cp(struct ike_wr *w, const struct ike_cp *cp);
void ikew_delete(struct ike_wr *w, uint8_t proto, const uint8_t *spis, uint8_t spi_size,
		 unsigned count);

#endif
