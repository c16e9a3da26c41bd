/*
 * auth.c - the IKE_AUTH exchange (RFC 7296 §1.2, §2.15 pre-shared key
 * authentication, §2.9 traffic selectors, §2.17 the first Child SA).
 * The responder picks the connection (policy) by the peer's address and
 * identities and a PSK that verifies, so several tunnels between the same
 * two addresses work.
 *
 * Certificates (RFC 7427 digital signatures, RFC 7296 §3.6-3.8): we sign
 * with the policy's key (in the key-holding process) and send our chain in
 * CERT payloads; a peer's signature is verified with its leaf certificate
 * once the chain, validity, revocation and identity checks (x509.c) pass.
 * The method is the one the peer's AUTH payload names: a MAC needs our
 * psk, a signature our ca.  RFC 8784 §3: a PPK agreed in IKE_SA_INIT goes
 * into AUTH and the keys from here on (ppk.c).
 */
#include "ike/ikesa.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "crypto/cipher.h"
#include "crypto/sig.h"
#include "crypto/x509.h"
#include "ike/proposal.h"
#include "lib/cursor.h"
#include "lib/hex.h"

#define ID_MAX IKE_ID_MAX

int ike_id_from_string(const char *s, uint8_t *type, uint8_t *data, size_t *len)
{
	struct addr a;
	int n;

	if (!addr_parse(s, &a)) {
		*type = a.family == AF_INET ? ID_IPV4_ADDR : ID_IPV6_ADDR;
		*len = addr_len(a.family);
		memcpy(data, a.a, *len);
		return 0;
	}
	if (!strncmp(s, "@#", 2)) {		/* strongSwan's key-id syntax */
		n = hex_decode(s + 2, data, ID_MAX);
		if (n <= 0)
			return -EINVAL;
		*type = ID_KEY_ID;
		*len = (size_t)n;
		return 0;
	}
	if (strchr(s, '=') && s[0] != '@') {	/* a DN (RFC 7296 §3.5 ID_DER_ASN1_DN) */
		n = x509_dn_from_string(s, data, ID_MAX);
		if (n <= 0)
			return -EINVAL;
		*type = ID_DER_ASN1_DN;
		*len = (size_t)n;
		return 0;
	}
	if (s[0] == '@')
		s++;
	*len = strlen(s);
	if (*len == 0 || *len > ID_MAX)
		return -EINVAL;
	*type = strchr(s, '@') ? ID_RFC822_ADDR : ID_FQDN;
	memcpy(data, s, *len);
	return 0;
}

/* The policy's identity; without one, the address stands in (§3.5). */
static void addr_id(const struct addr *a, struct ike_ident *id)
{
	id->type = a->family == AF_INET ? ID_IPV4_ADDR : ID_IPV6_ADDR;
	id->len = addr_len(a->family);
	memcpy(id->data, a->a, id->len);
}

static void own_id(const struct ike_policy *pol, struct ike_ident *id)
{
	if (pol->local_id->type)
		*id = *pol->local_id;
	else
		addr_id(&pol->local, id);
}

bool ike_glob_match(const uint8_t *pat, size_t np, const uint8_t *s, size_t ns)
{
	size_t p = 0, i = 0, star = SIZE_MAX, mark = 0;

	while (i < ns) {
		if (p < np && pat[p] == '*') {
			star = p++;
			mark = i;
		} else if (p < np && pat[p] == s[i]) {
			p++;
			i++;
		} else if (star != SIZE_MAX) {
			p = star + 1;	/* let the last '*' take one more byte */
			i = ++mark;
		} else {
			return false;
		}
	}
	while (p < np && pat[p] == '*')
		p++;
	return p == np;
}

/* A remote-id pattern: the peer's ID as text, of the pattern's type. */
static bool peer_id_glob(const struct ike_ident *want, const struct ike_id *got)
{
	char pat[IKE_ID_MAX + 1], text[2 * IKE_ID_MAX];

	if (got->type != want->type || want->len >= sizeof(pat))
		return false;
	memcpy(pat, want->data, want->len);
	pat[want->len] = '\0';
	if (got->type == ID_DER_ASN1_DN) {
		if (x509_dn_to_string(got->data, got->len, text, sizeof(text)))
			return false;
	} else {
		if (got->len >= sizeof(text) || memchr(got->data, '\0', got->len))
			return false;
		memcpy(text, got->data, got->len);
		text[got->len] = '\0';
	}
	return ike_glob_match((const uint8_t *)pat, strlen(pat), (const uint8_t *)text,
			      strlen(text));
}

/* The same identity?  A DN by RFC 5280 §7.1 comparison, not its
 * encoding (a PrintableString and a UTF8String of the same name). */
static bool ident_equal(const struct ike_id *got, const struct ike_ident *want)
{
	if (got->type != want->type)
		return false;
	if (got->type == ID_DER_ASN1_DN)
		return x509_dn_equal(got->data, got->len, want->data, want->len);
	return got->len == want->len && !memcmp(got->data, want->data, want->len);
}

/* The one identity the policy admits for the peer: its remote-id, or
 * without one its address; false if it admits more than one. */
static bool peer_id_expected(const struct ike_policy *pol, struct ike_ident *want)
{
	if (pol->remote_id_bad || pol->remote_id_glob)
		return false;
	if (pol->remote_id->type)
		*want = *pol->remote_id;
	else if (pol->remote.family)
		addr_id(&pol->remote, want);
	else
		return false;
	return true;
}

/* Does the peer's ID match what the policy expects of it? */
static bool peer_id_ok(const struct ike_policy *pol, const struct ike_id *got)
{
	struct ike_ident want;

	if (pol->remote_id_bad)
		return false;
	if (pol->remote_id_glob)
		return peer_id_glob(pol->remote_id, got);
	if (!peer_id_expected(pol, &want))
		return true;	/* remote = any without remote-id: the PSK decides */
	/* A DN matches by RFC 5280 §7.1 comparison, not its encoding. */
	return ident_equal(got, &want);
}

/* One identity into b at *n as the key of a pair sees it: type, length,
 * and a DN as its text (whatever string types encode it); false if it
 * does not fit. */
static bool ident_put(uint8_t *b, size_t max, size_t *n, uint8_t type, const uint8_t *data,
		      size_t len)
{
	char text[2 * IKE_ID_MAX];

	if (type == ID_DER_ASN1_DN) {
		if (x509_dn_to_string(data, len, text, sizeof(text)))
			return false;
		data = (const uint8_t *)text;
		len = strlen(text);
	}
	if (len > 0xffff || *n + 3 + len > max)
		return false;
	b[(*n)++] = type;
	b[(*n)++] = (uint8_t)(len >> 8);
	b[(*n)++] = (uint8_t)len;
	memcpy(b + *n, data, len);
	*n += len;
	return true;
}

/*
 * RFC 7296 §2.4: INITIAL_CONTACT speaks for a pair of authenticated
 * identities, ours and the peer's, not for a tunnel: a branch with two
 * uplinks to one hub has two tunnels and one pair, and a peer that reads
 * the notify as written (strongSwan does) deletes every IKE SA of the
 * pair.  One 64-bit key for the pair, keyed with the table's secret seed
 * so that nobody can aim an identity at another's; 0 if it cannot be
 * made (that SA is then nobody's pair: INITIAL_CONTACT as per tunnel).
 * Two spellings of one DN that RFC 5280 calls equal (case, spaces) get
 * two keys; pair_key avoids that wherever the policy names the peer.
 */
static uint64_t ids_key(const struct ike_ctx *ctx, const struct ike_policy *pol, uint8_t type,
			const uint8_t *data, size_t len)
{
	uint8_t b[2 * (3 + 2 * IKE_ID_MAX)];
	struct ike_ident me;
	size_t n = 0;

	own_id(pol, &me);
	if (!ident_put(b, sizeof(b), &n, me.type, me.data, me.len) ||
	    !ident_put(b, sizeof(b), &n, type, data, len))
		return 0;
	return htab_key(&ctx->by_ids, b, n) | 1;
}

/* The key of the pair that sa joins with the peer's identity id: as the
 * policy names it where it names one (peer_id_ok found them equal,
 * whatever the spelling: a DN's case), else as the peer sent it. */
static uint64_t pair_key(const struct ike_sa *sa, const struct ike_policy *pol,
			 const struct ike_id *id)
{
	struct ike_ident want;

	if (peer_id_expected(pol, &want))
		return ids_key(sa->ctx, pol, want.type, want.data, want.len);
	return id ? ids_key(sa->ctx, pol, id->type, id->data, id->len) : 0;
}

static void id_body(const struct ike_ident *id, uint8_t *out, size_t *len)
{
	out[0] = id->type;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, id->data, id->len);
	*len = 4 + id->len;
}

/* §2.15: each side signs its own IKE_SA_INIT message and the other's nonce. */
static void signed_parts(const struct ike_sa *sa, bool as_initiator, const struct buf *init_req,
			 struct chunk *msg, struct chunk *nonce)
{
	if (as_initiator) {
		*msg = (struct chunk){ init_req->data, init_req->len };
		*nonce = (struct chunk){ sa->nr, sa->nr_len };
	} else {
		*msg = (struct chunk){ sa->init_resp.data, sa->init_resp.len };
		*nonce = (struct chunk){ sa->ni, sa->ni_len };
	}
}

/* AUTH data of method 2 (§2.15 shared key MIC); out holds PRF_MAX. */
static int psk_data(struct ike_sa *sa, const struct ike_conn *c, bool as_initiator,
		    const struct buf *init_req, const uint8_t *body, size_t bodylen, uint8_t *out)
{
	struct chunk msg, nonce, idb = { body, bodylen };

	signed_parts(sa, as_initiator, init_req, &msg, &nonce);
	return ike_psk_auth(&sa->keys, as_initiator, c->ops->psk_sign, c->arg, c->pol, &msg,
			    &nonce, &idb, out);
}

/* AUTH data of method 14 (RFC 7427 §3) with a hash the peer announced
 * (§4); to a peer that announced none, the method of RFC 7296 §3.8 /
 * RFC 4754 for the key, which it can verify (Ed25519 has none: 14).  Its
 * length or -errno, and the method.  The key-holding process signs. */
static int sig_data(struct ike_sa *sa, const struct ike_conn *c, const uint8_t *body,
		    size_t bodylen, uint8_t *out, size_t max, uint8_t *method)
{
	enum x509_key key = (enum x509_key)c->pol->key_type;
	struct chunk msg, nonce, idb = { body, bodylen }, oct[3];
	uint8_t macid[PRF_MAX], sig[SIG_MAX];
	int hash, r;

	*method = AUTH_DIGITAL_SIG;
	if (sa->peer_hashes || sig_legacy(key, method, &hash))
		hash = sig_hash_for(key, sa->peer_hashes);
	if (!hash || !c->ops->sign)
		return -ENOTSUP;
	signed_parts(sa, sa->initiator, &sa->init_req, &msg, &nonce);
	r = ike_signed_octets(&sa->keys, sa->initiator, &msg, &nonce, &idb, macid, oct);
	if (!r)
		r = c->ops->sign(c->arg, c->pol, hash, oct, 3, sig, sizeof(sig));
	if (r > 0 && *method == AUTH_DIGITAL_SIG)
		r = sig_auth_data(key, hash, sig, (size_t)r, out, max);
	else if (r > 0)
		r = sig_legacy_data(key, sig, (size_t)r, out, max);
	wipe(macid, sizeof(macid));
	return r;
}

static bool psk_ok(struct ike_sa *sa, const struct ike_conn *c, bool peer_is_initiator,
		   const uint8_t *data, size_t len, const struct ike_id *id)
{
	uint8_t want[PRF_MAX];
	bool ok;

	if (!c->pol->psk || len != sa->keys.prf_len)
		return false;
	ok = !psk_data(sa, c, peer_is_initiator, &sa->init_req, id->body, id->bodylen, want) &&
	     ct_equal(want, data, len);
	/* §2.6: an initiator whose cookie retry crossed our answer signs the
	 * request it sent last, the one with the cookie. */
	if (!ok && peer_is_initiator && sa->init_req_alt.len)
		ok = !psk_data(sa, c, true, &sa->init_req_alt, id->body, id->bodylen, want) &&
		     ct_equal(want, data, len);
	wipe(want, sizeof(want));
	return ok;
}

static bool sig_ok_over(struct ike_sa *sa, bool peer_is_initiator, const struct buf *init_req,
			void *pkey, uint8_t method, const uint8_t *data, size_t len,
			const struct ike_id *id)
{
	struct chunk msg, nonce, idb = { id->body, id->bodylen }, oct[3];
	uint8_t macid[PRF_MAX];
	bool ok;

	signed_parts(sa, peer_is_initiator, init_req, &msg, &nonce);
	ok = !ike_signed_octets(&sa->keys, peer_is_initiator, &msg, &nonce, &idb, macid, oct) &&
	     !sig_verify(pkey, method, data, len, oct, 3, SIG_HASHES_OURS);
	wipe(macid, sizeof(macid));
	return ok;
}

/* The peer's CERT payloads (§3.6), leaf first; how many, or -1. */
static int peer_certs(const struct ike_msg *m, struct chunk *der)
{
	const struct ike_pl *pl;
	const uint8_t *data;
	unsigned i, n = 0;
	uint8_t enc;
	size_t len;

	for (i = 0; (pl = ike_find(m, PL_CERT, i)); i++) {
		if (ike_cert_parse(pl, &enc, &data, &len) || n == X509_MAX_CHAIN ||
		    len > X509_MAX_DER)
			return -1;
		if (enc == CERT_X509_SIG)
			der[n++] = (struct chunk){ data, len };
	}
	return (int)n;
}

/* The peer's name in log lines: its ID as text. */
static void id_str(const struct ike_id *id, char *out, size_t max)
{
	struct addr a;

	if (id->type == ID_DER_ASN1_DN && !x509_dn_to_string(id->data, id->len, out, max))
		return;
	if ((id->type == ID_IPV4_ADDR && id->len == 4) || (id->type == ID_IPV6_ADDR && id->len == 16)) {
		memset(&a, 0, sizeof(a));
		a.family = id->type == ID_IPV4_ADDR ? AF_INET : AF_INET6;
		memcpy(a.a, id->data, id->len);
		addr_str(&a, out, max);
		return;
	}
	snprintf(out, max, "%.*s", (int)(id->len < 120 ? id->len : 120), (const char *)id->data);
	for (; *out; out++)
		if ((unsigned char)*out < 0x20 || (unsigned char)*out > 0x7e)
			*out = '?';
}

/*
 * A signature (method 1, 9-11 or 14): the certificate first (chain to
 * the policy's ca, validity, crl, key usage, identity), then the
 * signature with its key.  why: the one check that failed.
 */
static bool sig_ok(struct ike_sa *sa, const struct ike_conn *c, bool peer_is_initiator,
		   const struct ike_msg *m, uint8_t method, const uint8_t *data, size_t len,
		   const struct ike_id *id, char *why, size_t whylen)
{
	struct chunk der[X509_MAX_CHAIN];
	struct x509_cert *leaf = NULL;
	char who[160], reason[200], subj[256], iss[256], exp[40];
	int n = peer_certs(m, der);
	bool ok = false;
	size_t a, b, e;

	id_str(id, who, sizeof(who));
	if (!c->pol->ca) {
		snprintf(why, whylen, "peer %s signs, but the tunnel has no ca to check it", who);
		return false;
	}
	if (n < 0) {
		snprintf(why, whylen, "certificate of peer %s: malformed CERT payload", who);
		return false;
	}
	if (x509_verify(c->pol->ca, c->pol->crl, der, (unsigned)n, time(NULL), id->type, id->data,
			id->len, &leaf, reason, sizeof(reason))) {
		snprintf(why, whylen, "certificate of peer %s: %s", who, reason);
		return false;
	}
	ok = sig_ok_over(sa, peer_is_initiator, &sa->init_req, x509_cert_pkey(leaf), method, data,
			 len, id);
	if (!ok && peer_is_initiator && sa->init_req_alt.len)
		ok = sig_ok_over(sa, true, &sa->init_req_alt, x509_cert_pkey(leaf), method, data,
				 len, id);
	if (!ok)
		snprintf(why, whylen, "peer %s: AUTH signature (method %u) does not verify", who,
			 method);
	if (ok) {
		x509_cert_info(leaf, subj, sizeof(subj), iss, sizeof(iss), exp, sizeof(exp));
		a = strlen(subj) + 1;
		b = strlen(iss) + 1;
		e = strlen(exp) + 1;
		free(sa->peer_cert);
		sa->peer_cert = malloc(a + b + e);
		if (sa->peer_cert) {
			memcpy(sa->peer_cert, subj, a);
			memcpy(sa->peer_cert + a, iss, b);
			memcpy(sa->peer_cert + a + b, exp, e);
		}
	}
	x509_cert_free(leaf);
	return ok;
}

static bool auth_ok(struct ike_sa *sa, const struct ike_conn *c, bool peer_is_initiator,
		    const struct ike_msg *m, const struct ike_pl *auth, const struct ike_id *id,
		    char *why, size_t whylen)
{
	uint8_t method;
	const uint8_t *data;
	size_t len;

	if (ike_auth_parse(auth, &method, &data, &len)) {
		snprintf(why, whylen, "malformed AUTH payload");
		return false;
	}
	switch (method) {
	case AUTH_SHARED_KEY_MIC:
		if (psk_ok(sa, c, peer_is_initiator, data, len, id))
			return true;
		snprintf(why, whylen, "%s", c->pol->psk ? "wrong psk or identity" :
			 "peer uses a psk, the tunnel has none");
		return false;
	case AUTH_RSA_SIG:
	case AUTH_ECDSA_256:
	case AUTH_ECDSA_384:
	case AUTH_ECDSA_521:
	case AUTH_DIGITAL_SIG:
		return sig_ok(sa, c, peer_is_initiator, m, method, data, len, id, why, whylen);
	}
	snprintf(why, whylen, "AUTH method %u not supported", method);
	return false;
}

static void ts_of_prefix(const struct prefix *p, struct ike_ts *ts)
{
	size_t alen = addr_len(p->addr.family), i;

	memset(ts, 0, sizeof(*ts));
	ts->type = p->addr.family == AF_INET ? TS_IPV4_ADDR_RANGE : TS_IPV6_ADDR_RANGE;
	ts->eport = 0xffff;
	for (i = 0; i < alen * 8; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));

		if (i < p->len) {
			ts->start[i / 8] |= p->addr.a[i / 8] & bit;
			ts->end[i / 8] |= p->addr.a[i / 8] & bit;
		} else {
			ts->end[i / 8] |= bit;
		}
	}
}

unsigned ike_ts_of_prefixes(const struct prefix *p, unsigned n, struct ike_ts *ts)
{
	unsigned i;

	for (i = 0; i < n && i < IKE_MAX_TS; i++)
		ts_of_prefix(&p[i], &ts[i]);
	return i;
}

/*
 * §2.9: the responder narrows to the intersection of both sides' selectors.
 * A route-based tunnel passes whole address ranges: a selector limited to
 * one protocol or to some ports is left out (the interface could not keep
 * the Child SA to it), so a peer that offers only such gets
 * TS_UNACCEPTABLE, and a responder that narrows us to one loses the SA.
 */
unsigned ike_ts_narrow(const struct ike_ts *peer, unsigned np, const struct prefix *ours,
		       unsigned no, struct ike_ts *out)
{
	unsigned i, j, n = 0;

	for (i = 0; i < np; i++) {
		if (peer[i].proto != 0 || peer[i].sport != 0 || peer[i].eport != 0xffff)
			continue;
		for (j = 0; j < no && n < IKE_MAX_TS; j++) {
			struct ike_ts o, x;
			size_t alen;

			ts_of_prefix(&ours[j], &o);
			if (o.type != peer[i].type)
				continue;
			alen = o.type == TS_IPV4_ADDR_RANGE ? 4 : 16;
			x = peer[i];
			if (memcmp(o.start, x.start, alen) > 0)
				memcpy(x.start, o.start, alen);
			if (memcmp(o.end, x.end, alen) < 0)
				memcpy(x.end, o.end, alen);
			if (memcmp(x.start, x.end, alen) > 0)
				continue;
			out[n++] = x;
		}
	}
	return n;
}

typedef unsigned __int128 u128;

static u128 ts_addr(const uint8_t *a, size_t alen)
{
	u128 v = 0;
	size_t i;

	for (i = 0; i < alen; i++)
		v = v << 8 | a[i];
	return v;
}

unsigned ike_ts_to_prefixes(const struct ike_ts *ts, unsigned n, struct prefix *out,
			    unsigned max)
{
	unsigned i, k = 0;

	for (i = 0; i < n; i++) {
		size_t alen = ts[i].type == TS_IPV4_ADDR_RANGE ? 4 : 16, b;
		unsigned bits = (unsigned)alen * 8;
		u128 lo = ts_addr(ts[i].start, alen), hi = ts_addr(ts[i].end, alen);

		if (ts[i].type != TS_IPV4_ADDR_RANGE && ts[i].type != TS_IPV6_ADDR_RANGE)
			continue;
		while (lo <= hi) {
			unsigned host = 0;	/* host bits of the largest block at lo */
			u128 last;

			if (k == max)
				return 0;	/* cut short, it would pass less than agreed */

			while (host < bits && !((lo >> host) & 1) &&
			       lo + (((u128)2 << host) - 1) <= hi && host + 1 < 128)
				host++;
			if (host == 127 && lo == 0 && hi == ~(u128)0)
				host = 128;	/* all of IPv6 */
			memset(&out[k], 0, sizeof(out[k]));
			out[k].addr.family = alen == 4 ? AF_INET : AF_INET6;
			for (b = 0; b < alen; b++)
				out[k].addr.a[b] = (uint8_t)(lo >> (8 * (alen - 1 - b)));
			out[k++].len = (uint8_t)(bits - host);
			last = host == 128 ? ~(u128)0 : lo + (((u128)1 << host) - 1);
			if (last == (alen == 4 ? (u128)0xffffffffu : ~(u128)0))
				break;
			lo = last + 1;
		}
	}
	return k;
}

void ike_esp_props(const struct ike_policy *pol, uint32_t spi, bool with_dh, struct ike_prop *p,
		   unsigned *n)
{
	unsigned i;

	for (i = 0; i < pol->n_esp; i++) {
		struct esp_suite s = pol->esp[i];

		/* §1.2: IKE_AUTH has no KE payload, so no DH transform either. */
		if (!with_dh)
			s.dh = 0;
		esp_prop_from_suite(&s, &p[i]);
		p[i].num = (uint8_t)(i + 1);
		be32_put(p[i].spi, spi);
	}
	*n = pol->n_esp;
}

/* Our AUTH payload's content: method, data (SIG_AUTH_MAX) and length. */
struct own_auth {
	uint8_t method;
	uint8_t data[SIG_AUTH_MAX];
	size_t len;
};

/* Our side of IKE_AUTH: the inbound SPI of the first Child SA, our ID and
 * our AUTH value; false (and the IKE SA killed) if any cannot be had. */
/* Our AUTH value over our ID payload's body, by the policy's method. */
static int auth_value(struct ike_sa *sa, const struct ike_conn *c, bool as_initiator,
		      const uint8_t *body, size_t bodylen, struct own_auth *auth)
{
	int r;

	if (c->pol->authby == IKE_AUTHBY_CERT) {
		r = sig_data(sa, c, body, bodylen, auth->data, sizeof(auth->data), &auth->method);
		auth->len = r > 0 ? (size_t)r : 0;
		return r > 0 ? 0 : -EINVAL;
	}
	if (c->pol->authby == IKE_AUTHBY_PSK) {
		auth->method = AUTH_SHARED_KEY_MIC;
		auth->len = sa->keys.prf_len;
		return psk_data(sa, c, as_initiator, &sa->init_req, body, bodylen, auth->data);
	}
	return -EINVAL;
}

static bool own_auth(struct ike_sa *sa, const struct ike_conn *c, bool as_initiator,
		     struct ike_ident *me, struct own_auth *auth)
{
	uint8_t body[4 + ID_MAX];
	size_t bodylen;
	int r = -EINVAL;

	sa->auth_in = ikesa_alloc_spi(sa);
	own_id(c->pol, me);
	id_body(me, body, &bodylen);
	if (sa->auth_in)
		r = auth_value(sa, c, as_initiator, body, bodylen, auth);
	if (r) {
		ikesa_kill(sa, c->pol->authby == IKE_AUTHBY_CERT ? "cannot sign AUTH (no hash "
			   "both sides support, or the key-holding process refused)" :
			   "cannot compute AUTH");
		return false;
	}
	return true;
}

/* §3.6: our chain, leaf first, when we sign with a certificate. */
static void own_certs(struct ike_wr *w, const struct ike_policy *pol)
{
	uint8_t der[X509_MAX_DER];
	unsigned i;
	int n;

	if (pol->authby != IKE_AUTHBY_CERT)
		return;
	for (i = 0; i < x509_certs_count(pol->cert) && i < X509_MAX_CHAIN; i++) {
		n = x509_certs_der(pol->cert, i, der, sizeof(der));
		if (n > 0)
			ikew_cert(w, PL_CERT, CERT_X509_SIG, der, (size_t)n);
	}
}

/* §3.7: the CAs we trust (SHA-1 of their public keys), so that the peer
 * sends its certificate (strongSwan sends it only when asked). */
void ike_certreq(struct ike_wr *w, const struct ike_policy *pol)
{
	uint8_t h[20 * 64];
	int n;

	if (!pol->ca)
		return;
	n = x509_certs_spki_sha1(pol->ca, h, sizeof(h));
	if (n > 0)
		ikew_cert(w, PL_CERTREQ, CERT_X509_SIG, h, (size_t)n);
}

/* RFC 8784 §3, initiator: with the PPK optional, first the AUTH that a
 * responder without it checks (NO_PPK_AUTH, from the keys as they are);
 * then SK_d, SK_pi and SK_pr take the PPK, for our AUTH and all after. */
static bool ppk_initiator_keys(struct ike_sa *sa, struct own_auth *no_ppk_auth, bool *have)
{
	const struct ike_conn *c = sa->conn;
	uint8_t body[4 + ID_MAX];
	struct ike_ident me;
	size_t bodylen;

	*have = false;
	if (!c->pol->ppk_required) {
		own_id(c->pol, &me);
		id_body(&me, body, &bodylen);
		if (auth_value(sa, c, true, body, bodylen, no_ppk_auth))
			goto fail;
		*have = true;
	}
	if (!ike_ppk_apply(sa, c))
		return true;
fail:
	ikesa_kill(sa, "cannot apply the PPK");
	return false;
}

/* RFC 8784 §3: a responder that used the PPK says so with PPK_IDENTITY;
 * one that did not checked NO_PPK_AUTH, and the keys are those without
 * it (false: we require the PPK; the keys are put back all the same, to
 * read the response and delete what the peer made). */
static bool ppk_response_keys(struct ike_sa *sa, const struct ike_msg *m)
{
	struct ike_notify n;

	if (!sa->ppk_offered)
		return true;
	if (!ike_find_notify(m, N_PPK_IDENTITY, &n)) {
		sa->ppk_used = true;
		ike_ppk_forget(sa);
		log_info(ikesa_name(sa), "PPK used (RFC 8784)");
		return true;
	}
	ike_ppk_revert(sa);
	if (sa->conn->pol->ppk_required)
		return false;
	log_info(ikesa_name(sa), "responder does not have our PPK; authenticated without it "
		 "(ppk-required = no)");
	return true;
}

/*
 * RFC 8784 §3, responder: does AUTH verify for connection c?  An
 * initiator that sent PPK_IDENTITY computed AUTH with the PPK: if c has
 * that PPK, AUTH is checked with it (and a different PPK fails, with no
 * falling back); if not, NO_PPK_AUTH is checked instead, unless c
 * requires the PPK.  A connection that requires it admits no one who did
 * not use it.
 */
static bool ppk_auth_ok(struct ike_sa *sa, const struct ike_conn *c, const struct ike_msg *m,
			const struct ike_pl *auth, const struct ike_id *idi, char *why, size_t whylen)
{
	const struct ike_policy *pol = c->pol;
	uint8_t body[4 + SIG_AUTH_MAX];
	struct ike_notify id, alt;
	struct ike_pl no_ppk;
	bool ok;

	if (!sa->ppk_offered || ike_find_notify(m, N_PPK_IDENTITY, &id))
		return !pol->ppk_required && auth_ok(sa, c, true, m, auth, idi, why, whylen);
	if (ike_ppk_id_match(pol, &id)) {
		if (ike_ppk_apply(sa, c))
			return false;
		ok = auth_ok(sa, c, true, m, auth, idi, why, whylen);
		sa->ppk_used = ok;
		if (ok)
			ike_ppk_forget(sa);
		else
			ike_ppk_revert(sa);
		return ok;
	}
	if (pol->ppk_required || ike_find_notify(m, N_NO_PPK_AUTH, &alt) || !auth->len ||
	    alt.len > SIG_AUTH_MAX) {
		snprintf(why, whylen, "%s", pol->ppk_required ? "the tunnel requires its PPK" :
			 "no PPK in common and no NO_PPK_AUTH");
		return false;
	}
	/* NO_PPK_AUTH holds the Authentication Data only; the method is AUTH's. */
	memset(body, 0, sizeof(body));
	body[0] = auth->body[0];
	memcpy(body + 4, alt.data, alt.len);
	no_ppk = (struct ike_pl){ .type = PL_AUTH, .body = body, .len = 4 + alt.len };
	return auth_ok(sa, c, true, m, &no_ppk, idi, why, whylen);
}

/* Is another tunnel's IKE_AUTH with INITIAL_CONTACT for the same two
 * identities out?  Ours waits for its answer (AUTH_WAIT_MS at most): sent
 * now, it could be handled first (charon answers on several threads), and
 * the other's INITIAL_CONTACT would then delete ours at the peer, which
 * charon does without a DELETE. */
static bool contact_pending(const struct ike_sa *sa)
{
	uint64_t k = sa->ids_key;
	struct ike_sa *o;

	for (o = ikesa_of_ids(sa->ctx, k, NULL); o; o = ikesa_of_ids(sa->ctx, k, o))
		if (o != sa && o->contact && o->state != IKE_S_DEAD)
			return true;
	return false;
}

/* Would INITIAL_CONTACT be false (§2.4: "the only IKE SA currently
 * active between the authenticated identities")?  It is while another
 * IKE SA of the tunnel is established, or another of the same pair of
 * identities is, or is being made with the notify. */
static bool other_holds(const struct ike_sa *sa)
{
	uint64_t k = sa->ids_key;
	struct ike_sa *o;

	for (o = ikesa_of_conn(sa->conn, NULL); o; o = ikesa_of_conn(sa->conn, o))
		if (o != sa && o->state == IKE_S_ESTABLISHED)
			return true;
	for (o = ikesa_of_ids(sa->ctx, k, NULL); o; o = ikesa_of_ids(sa->ctx, k, o))
		if (o != sa && o->state == IKE_S_ESTABLISHED)
			return true;
	return contact_pending(sa);
}

void ike_auth_start(struct ike_sa *sa)
{
	const struct ike_policy *pol = sa->conn->pol;
	struct ike_prop props[IKE_POL_MAX_PROPS];
	struct ike_ts tsi[IKE_MAX_TS], tsr[IKE_MAX_TS];
	struct own_auth auth, no_ppk_auth;
	unsigned n, ni, nr;
	struct ike_ident me;
	struct buf in;
	struct ike_wr w;
	bool with_no_ppk = false;
	int r;

	ikesa_set_ids(sa, pair_key(sa, pol, NULL));
	if (contact_pending(sa) && (!sa->auth_wait_until || now_ms() < sa->auth_wait_until)) {
		if (!sa->auth_wait)
			log_info(ikesa_name(sa), "IKE_AUTH waits for another tunnel's, with "
				 "the same identities, to be answered");
		if (!sa->auth_wait_until)
			sa->auth_wait_until = now_ms() + AUTH_WAIT_MS;
		sa->auth_wait = true;
		sa->state = IKE_S_AUTH_SENT;	/* as far as timers and show go */
		ikesa_touch(sa);
		return;
	}
	sa->auth_wait = false;
	sa->auth_wait_until = 0;
	if (sa->ppk_offered && !ppk_initiator_keys(sa, &no_ppk_auth, &with_no_ppk))
		return;
	if (!own_auth(sa, sa->conn, true, &me, &auth))
		return;
	ike_esp_props(pol, sa->auth_in, false, props, &n);
	ni = ike_ts_of_prefixes(pol->local_ts, pol->n_local_ts, tsi);
	nr = ike_ts_of_prefixes(pol->remote_ts, pol->n_remote_ts, tsr);
	buf_init(&in);
	ikew_init(&w, &in);
	ikew_id(&w, PL_IDI, me.type, me.data, me.len);
	own_certs(&w, pol);
	ike_certreq(&w, pol);
	if (pol->remote_id->type && !pol->remote_id_glob)
		ikew_id(&w, PL_IDR, pol->remote_id->type, pol->remote_id->data, pol->remote_id->len);
	ikew_auth(&w, auth.method, auth.data, auth.len);
	if (sa->ppk_offered)
		ike_ppk_identity(&w, pol);
	/* RFC 8784 §3: the Authentication Data alone; the method is AUTH's. */
	if (with_no_ppk)
		ikew_notify(&w, 0, N_NO_PPK_AUTH, NULL, 0, no_ppk_auth.data, no_ppk_auth.len);
	wipe(&no_ppk_auth, sizeof(no_ppk_auth));
	/* §2.4: we hold no other state with this peer; let it drop stale SAs.
	 * Not if, meanwhile, the peer's own start made us its responder: the
	 * assertion would be false, the peer would drop the IKE SA we both
	 * hold while we drop this one as its duplicate, and neither would be
	 * left (resolve_duplicates keeps one when both are complete).  Nor if
	 * another tunnel holds an IKE SA of the same identities. */
	sa->contact = !other_holds(sa);
	if (sa->contact)
		ikew_notify(&w, 0, N_INITIAL_CONTACT, NULL, 0, NULL, 0);
	if (pol->want_address) {
		struct ike_cp cp = { .type = CFG_REQUEST, .want4 = true, .want6 = pol->ipv6 };

		ikew_cp(&w, &cp);
	}
	ikew_sa(&w, props, n);
	ikew_ts(&w, PL_TSI, tsi, ni);
	ikew_ts(&w, PL_TSR, tsr, nr);
	wipe(&auth, sizeof(auth));
	sa->op = OP_INIT;
	r = ikesa_send_sk(sa, IKE_AUTH, false, sa->next_req, &w, &in);
	buf_free(&in);
	if (r) {
		ikesa_kill(sa, "cannot send IKE_AUTH");
		return;
	}
	sa->state = IKE_S_AUTH_SENT;
}

/* Keep one IKE SA per tunnel when both ends initiated at once: both
 * sides drop the one whose smaller nonce is the smallest (the rule of
 * RFC 7296 §2.8.1) and both send a DELETE for it.  §2.8.1 is written for
 * rekey collisions and leaves the DELETE to the loser's initiator, but a
 * peer that does not apply it to a simultaneous start (strongSwan keeps
 * both) would go on sending on the loser's Child SA, which we no longer
 * read, until its liveness check gave up.  The loser's Child SAs go at
 * once; the IKE SA itself waits for the DELETE's answer, because a peer
 * still finishing the exchange that made it may ignore the first copy
 * (charon drops an INFORMATIONAL that overtakes its IKE_AUTH response)
 * and only act on a retransmission.  Two vtids both deleting it answer
 * each other's DELETE (§1.4.1). */
static void resolve_duplicates(struct ike_sa *sa)
{
	struct ike_sa *o;

	for (o = ikesa_of_conn(sa->conn, NULL); o; o = ikesa_of_conn(sa->conn, o)) {
		const uint8_t *a, *b;
		struct ike_sa *loser;

		if (o == sa || o->state != IKE_S_ESTABLISHED)
			continue;
		/* The peer started this one while the other was up, so not at
		 * the same time as we did (that is what the nonces settle): it
		 * lost the other (and need not say so with INITIAL_CONTACT: a
		 * second tunnel of the same identities does not), or it
		 * re-authenticates (§2.8.3) and deletes the old one itself.
		 * The new one stays either way. */
		if (!sa->initiator && o->established_ms < sa->created_ms) {
			ikesa_kill(o, "the peer made a new IKE SA for the tunnel");
			continue;
		}
		/* Nonces are at least 16 bytes (§2.10); compare that much. */
		a = memcmp(sa->ni, sa->nr, 16) < 0 ? sa->ni : sa->nr;
		b = memcmp(o->ni, o->nr, 16) < 0 ? o->ni : o->nr;
		loser = memcmp(a, b, 16) < 0 ? sa : o;
		log_info(ikesa_name(loser), "IKE SA %016" PRIx64 "/%016" PRIx64
			 " is a duplicate for the tunnel: deleting it", loser->spi_i, loser->spi_r);
		ikesa_children_remove(loser);
		ike_send_delete(loser);
		return;
	}
}

static void established(struct ike_sa *sa)
{
	struct chunk ni = { sa->ni, sa->ni_len }, nr = { sa->nr, sa->nr_len };
	char p[160], c[160];
	struct chunk none = { NULL, 0 };
	int r;

	r = ikesa_child_add(sa, sa->auth_in, be32_get(sa->agreed->prop.spi), &sa->agreed->prop, &none,
			    &ni, &nr, sa->initiator, true);
	if (r) {
		ikesa_kill(sa, "cannot install the Child SA");
		return;
	}
	sa->conn->ops->ts_narrowed(sa->conn->arg, sa->agreed->local, sa->agreed->n_local,
				   sa->agreed->remote, sa->agreed->n_remote);
	ikesa_half_open_end(sa);
	sa->state = IKE_S_ESTABLISHED;
	sa->op = OP_NONE;
	sa->established_ms = now_ms();
	sa->rekey_at = ikesa_jitter(sa->established_ms, sa->conn->pol->ike_lifetime);
	sa->expire_at = sa->established_ms + sa->conn->pol->ike_lifetime * 1000ULL;
	sa->conn->reinit_ms = 0;
	ike_prop_str(&sa->chosen, p, sizeof(p));
	ike_prop_str(&sa->agreed->prop, c, sizeof(c));
	log_info(ikesa_name(sa), "IKE SA established (%s, %s); Child SA %s in 0x%08x out 0x%08x%s",
		 sa->initiator ? "initiator" : "responder", p, c, sa->auth_in,
		 be32_get(sa->agreed->prop.spi),
		 sa->nat_local || sa->nat_remote || sa->force_encap ? " in UDP" : "");
	ikesa_established_trim(sa);
	resolve_duplicates(sa);
}

/* The chosen ESP proposal carries the peer's inbound SPI: our outbound. */
static int child_from_sa(struct ike_sa *sa, const struct ike_prop *chosen)
{
	if (chosen->proto != PROTO_ESP || chosen->spi_size != 4 || be32_get(chosen->spi) < 256)
		return -1;
	if (ikesa_agreed(sa))
		return -1;
	sa->agreed->prop = *chosen;
	return 0;
}

static void notify_error(const struct ike_msg *m, uint16_t *type)
{
	unsigned i;
	struct ike_notify n;

	*type = 0;
	for (i = 0; i < m->npl; i++)
		if (m->pl[i].type == PL_NOTIFY && !ike_notify_parse(&m->pl[i], &n) &&
		    n.type < 16384) {
			*type = n.type;
			return;
		}
}

/* §2.9: the responder may narrow our selectors, never widen them: keep
 * what lies within ours, and that is all the Child SA may carry. */
static bool answer_ts(struct ike_sa *sa, const struct ike_msg *m)
{
	const struct ike_pl *tsi_pl = ike_find(m, PL_TSI, 0), *tsr_pl = ike_find(m, PL_TSR, 0);
	struct ike_ts tsi[IKE_MAX_TS], tsr[IKE_MAX_TS], li[IKE_MAX_TS], rr[IKE_MAX_TS];
	const struct ike_policy *c = sa->conn->pol;
	unsigned nti, ntr, nl, nr;

	if (!tsi_pl || !tsr_pl || ike_ts_parse(tsi_pl, tsi, IKE_MAX_TS, &nti) ||
	    ike_ts_parse(tsr_pl, tsr, IKE_MAX_TS, &ntr))
		return false;
	nl = ike_ts_narrow(tsi, nti, c->local_ts, c->n_local_ts, li);
	nr = ike_ts_narrow(tsr, ntr, c->remote_ts, c->n_remote_ts, rr);
	if (ikesa_agreed(sa))
		return false;
	sa->agreed->n_local = ike_ts_to_prefixes(li, nl, sa->agreed->local, IKE_MAX_TS);
	sa->agreed->n_remote = ike_ts_to_prefixes(rr, nr, sa->agreed->remote, IKE_MAX_TS);
	return sa->agreed->n_local && sa->agreed->n_remote;
}

/* §3.15: the addresses the responder gave us, to the daemon.  Without a
 * CFG_REPLY the tunnel still comes up, unnumbered, and says so. */
static void take_address(struct ike_sa *sa, const struct ike_msg *m)
{
	const struct ike_pl *pl = ike_find(m, PL_CP, 0);
	struct ike_cp cp;

	if (!pl || ike_cp_parse(pl, &cp) || cp.type != CFG_REPLY || !cp.n) {
		log_warn(ikesa_name(sa), "asked the peer for an address (address = auto) and got none");
		cp.n = 0;
	}
	sa->conn->ops->address_given(sa->conn->arg, cp.addr, cp.n);
}

void ike_auth_response(struct ike_sa *sa, struct ike_msg *m)
{
	const struct ike_pl *idr = ike_find(m, PL_IDR, 0), *auth = ike_find(m, PL_AUTH, 0);
	const struct ike_pl *sap = ike_find(m, PL_SA, 0);
	struct ike_prop props[IKE_MAX_PROPS], ours[IKE_POL_MAX_PROPS];
	struct ike_id id;
	uint16_t err;
	unsigned np, no;
	char why[512], fail[400] = "missing or malformed IDr or AUTH";
	bool authentic = false, ppk_ok;

	notify_error(m, &err);
	ppk_ok = ppk_response_keys(sa, m);
	if (idr && auth && !ike_id_parse(idr, &id)) {
		if (!peer_id_ok(sa->conn->pol, &id))
			snprintf(fail, sizeof(fail), "identity is not the remote-id");
		else
			authentic = auth_ok(sa, sa->conn, false, m, auth, &id, fail, sizeof(fail));
	}
	if (err) {
		snprintf(why, sizeof(why), "peer refused IKE_AUTH: %s (notify %u)",
			 err == N_AUTHENTICATION_FAILED ? "AUTHENTICATION_FAILED - check psk and "
			 "identities" : err == N_NO_PROPOSAL_CHOSEN ? "NO_PROPOSAL_CHOSEN for ESP" :
			 err == N_TS_UNACCEPTABLE ? "TS_UNACCEPTABLE" :
			 err == N_INTERNAL_ADDRESS_FAILURE ? "INTERNAL_ADDRESS_FAILURE - no address "
			 "to give us" : "error", err);
		/* §2.21.2: with IDr and a valid AUTH the IKE SA exists at the
		 * peer, only its Child SA failed.  A VTI has no use for an IKE
		 * SA without one: delete it, or it would linger at the peer. */
		if (authentic) {
			sa->state = IKE_S_ESTABLISHED;
			ike_send_delete(sa);
		}
		ikesa_kill(sa, why);
		return;
	}
	if (!ppk_ok) {
		log_warn(ikesa_name(sa), "responder did not use the PPK and ppk-required = yes");
		if (authentic) {	/* it holds an IKE SA without the PPK: delete it */
			sa->state = IKE_S_ESTABLISHED;
			ike_send_delete(sa);
		}
		ikesa_kill(sa, "PPK not used (RFC 8784)");
		return;
	}
	if (!authentic) {
		log_warn(ikesa_name(sa), "responder failed authentication: %s", fail);
		ikesa_kill(sa, "AUTHENTICATION_FAILED");
		return;
	}
	ike_esp_props(sa->conn->pol, sa->auth_in, false, ours, &no);
	if (!sap || ike_sa_parse(sap, props, IKE_MAX_PROPS, &np) || np != 1 ||
	    !ike_prop_offered(&props[0], ours, no) || child_from_sa(sa, &props[0])) {
		ikesa_kill(sa, "responder chose an ESP proposal we did not offer");
		return;
	}
	if (!answer_ts(sa, m)) {
		sa->state = IKE_S_ESTABLISHED;
		ike_send_delete(sa);
		ikesa_kill(sa, "responder's traffic selectors are not within ours");
		return;
	}
	if (sa->conn->pol->want_address)
		take_address(sa, m);
	ikesa_contact_done(sa);
	ikesa_set_ids(sa, pair_key(sa, sa->conn->pol, &id));
	established(sa);
}

static void reply_error(struct ike_sa *sa, uint32_t msgid, uint16_t type, const char *why)
{
	struct buf in;
	struct ike_wr w;

	buf_init(&in);
	ikew_init(&w, &in);
	ikew_notify(&w, 0, type, NULL, 0, NULL, 0);
	if (ikesa_send_sk(sa, IKE_AUTH, true, msgid, &w, &in))
		log_warn(NULL, "cannot send IKE_AUTH error");
	buf_free(&in);
	ikesa_kill(sa, why);
}

/* IKE_SA_INIT chose the IKE proposal for the first connection that could
 * answer this address; the one that IKE_AUTH's identities select must
 * accept it too, or a peer could get a suite its own tunnel forbids. */
static bool ike_suite_allowed(const struct ike_policy *pol, const struct ike_prop *chosen)
{
	return ike_prop_offered(chosen, pol->ike, pol->n_ike);
}

/* Does connection c admit this peer: address, identities, IKE suite? */
static bool conn_admits(struct ike_sa *sa, const struct ike_conn *c, const struct addr *peer,
			const struct ike_id *idi, const struct ike_id *idr)
{
	const struct ike_policy *pol = c->pol;
	struct ike_ident me;

	if (c->admin_down || !peer_id_ok(pol, idi) ||
	    (pol->remote.family && !addr_equal(&pol->remote, peer)) ||
	    !addr_equal(&pol->local, &sa->local) || !ike_suite_allowed(pol, &sa->chosen))
		return false;
	if (!idr)
		return true;
	own_id(pol, &me);
	return ident_equal(idr, &me);
}

/* Who may have the peer: those the index files under its address, under
 * its identity, and those that admit anyone (ike.c conn_file). */
static size_t conn_candidates(struct ike_sa *sa, const struct addr *peer, const struct ike_id *idi,
			      const struct ike_id *idr, struct ike_conn ***out)
{
	struct ike_ctx *ctx = sa->ctx;
	struct ike_conn **v = NULL, **nv, *c;
	size_t n = 0, cap = 0;
	struct hnode *h = htab_first(&ctx->conn_by_addr, ike_conn_addr_key(ctx, peer));
	uint64_t key;
	int from;

	for (from = 0; from < 3; from++) {
		if (from == 1)
			h = ike_conn_id_key(ctx, idi->type, idi->data, idi->len, &key) ?
			    htab_first(&ctx->conn_by_id, key) : NULL;
		c = from == 2 ? ctx->conn_any : NULL;
		for (;;) {
			if (from < 2) {
				if (!h)
					break;
				c = htab_entry(h, struct ike_conn, hsel);
				h = htab_next(h);
				if (c->sel != (from == 0 ? CONN_SEL_ADDR : CONN_SEL_ID))
					continue;
			} else if (!c) {
				break;
			}
			if (conn_admits(sa, c, peer, idi, idr)) {
				if (n == cap) {
					cap = cap ? 2 * cap : 8;
					nv = realloc(v, cap * sizeof(*v));
					/* Without room, nobody: a shorter list
					 * could choose a template over the
					 * peer's own [tunnel]. */
					if (!nv) {
						free(v);
						*out = NULL;
						return 0;
					}
					v = nv;
				}
				v[n++] = c;
			}
			if (from == 2)
				c = c->any_next;
		}
	}
	*out = v;
	return n;
}

/* [tunnel]s and templates' instances first, then the templates: a peer
 * with a section (or an instance) of its own gets that; among several,
 * the one configured first. */
static int conn_order(const void *a, const void *b)
{
	const struct ike_conn *x = *(struct ike_conn *const *)a, *y = *(struct ike_conn *const *)b;

	if (x->pol->is_template != y->pol->is_template)
		return x->pol->is_template ? 1 : -1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static struct ike_conn *select_conn(struct ike_sa *sa, const struct ike_msg *m,
				    const struct ike_id *idi, const struct ike_pl *idr_pl,
				    const struct ike_pl *auth, char *why, size_t whylen)
{
	struct ike_conn **v, *c = NULL;
	struct addr peer;
	uint16_t port;
	struct ike_id idr;
	size_t n, i;

	ikesa_peer_addr(sa, &peer, &port);
	if (idr_pl && ike_id_parse(idr_pl, &idr))
		return NULL;
	n = conn_candidates(sa, &peer, idi, idr_pl ? &idr : NULL, &v);
	if (n > 1)
		qsort(v, n, sizeof(*v), conn_order);
	/* AUTH is checked (a signature, perhaps) only in that order, and the
	 * first that verifies is the one: it may have mixed its PPK in. */
	for (i = 0; i < n && !c; i++)
		if (ppk_auth_ok(sa, v[i], m, auth, idi, why, whylen))
			c = v[i];
	free(v);
	return c;
}

/*
 * §3.15: a peer that asks for an address gets one from the policy's pool
 * (the daemon's), or INTERNAL_ADDRESS_FAILURE when there is none to give
 * (§2.19; the IKE SA goes too: a VTI has no use for it without a Child
 * SA).  A policy without a pool ignores the request, as §2.19 lets a
 * responder that does not assign addresses do.  Fills the CFG_REPLY;
 * nonzero when the request was answered with an error.
 */
static int give_address(struct ike_sa *sa, const struct ike_msg *m, struct ike_conn *c,
			const struct ike_id *idi, struct ike_cp *reply)
{
	const struct ike_pl *pl = ike_find(m, PL_CP, 0);
	struct ike_cp rq;

	memset(reply, 0, sizeof(*reply));
	reply->type = CFG_REPLY;
	if (!pl)
		return 0;
	if (ike_cp_parse(pl, &rq)) {
		reply_error(sa, m->h.msgid, N_INVALID_SYNTAX, "malformed configuration payload");
		return -1;
	}
	if (rq.type != CFG_REQUEST || (!rq.want4 && !rq.want6))
		return 0;
	if (!c->pol->gives_address) {
		log_info(c->pol->name, "peer asked for an inner address; this tunnel has no pool");
		return 0;
	}
	reply->n = c->ops->address_assign(c->arg, idi, rq.want4, rq.want6, reply->addr);
	if (!reply->n) {
		log_warn(c->pol->name, "peer asked for an inner address and the pool has none to "
			 "give (INTERNAL_ADDRESS_FAILURE)");
		reply_error(sa, m->h.msgid, N_INTERNAL_ADDRESS_FAILURE, "no address to assign");
		return -1;
	}
	return 0;
}

void ike_auth_request(struct ike_sa *sa, struct ike_msg *m)
{
	const struct ike_pl *idi_pl = ike_find(m, PL_IDI, 0), *auth = ike_find(m, PL_AUTH, 0);
	const struct ike_pl *sap = ike_find(m, PL_SA, 0), *tsi_pl = ike_find(m, PL_TSI, 0);
	const struct ike_pl *tsr_pl = ike_find(m, PL_TSR, 0);
	struct ike_prop props[IKE_MAX_PROPS], ours[IKE_POL_MAX_PROPS], chosen;
	struct ike_ts tsi[IKE_MAX_TS], tsr[IKE_MAX_TS], oi[IKE_MAX_TS], orr[IKE_MAX_TS];
	unsigned np, no, nti, ntr, noi, nor;
	struct own_auth ad;
	char why[512] = "no tunnel whose identities, psk and IKE proposal match";
	struct ike_notify n;
	struct ike_id idi;
	struct ike_cp cp;
	const struct ike_policy *pol;
	struct ike_conn *c;
	struct ike_sa *o, *next;
	struct ike_ident me;
	struct buf in;
	struct ike_wr w;
	char a[400];
	int r;

	if (!idi_pl || !auth || !sap || !tsi_pl || !tsr_pl || ike_id_parse(idi_pl, &idi) ||
	    ike_sa_parse(sap, props, IKE_MAX_PROPS, &np) ||
	    ike_ts_parse(tsi_pl, tsi, IKE_MAX_TS, &nti) ||
	    ike_ts_parse(tsr_pl, tsr, IKE_MAX_TS, &ntr)) {
		reply_error(sa, m->h.msgid, N_INVALID_SYNTAX, "malformed IKE_AUTH request");
		return;
	}
	c = select_conn(sa, m, &idi, ike_find(m, PL_IDR, 0), auth, why, sizeof(why));
	if (!c) {
		log_rl(&sa->ctx->rl, LOG_WARN, NULL, "IKE_AUTH from peer failed: %s "
		       "(AUTHENTICATION_FAILED)", why);
		reply_error(sa, m->h.msgid, N_AUTHENTICATION_FAILED, "authentication failed");
		return;
	}
	/* A template admitted it: from now on it is the peer's own connection. */
	if (c->pol->is_template && !(c = c->ops->instantiate(c->arg, &idi))) {
		reply_error(sa, m->h.msgid, N_TEMPORARY_FAILURE, "cannot make an instance of the "
			    "template for this peer");
		return;
	}
	if (ikesa_set_conn(sa, c)) {
		reply_error(sa, m->h.msgid, N_TEMPORARY_FAILURE, "out of memory");
		return;
	}
	pol = c->pol;
	if (sa->ppk_used)
		log_info(pol->name, "PPK used (RFC 8784)");
	ike_esp_props(pol, 0, false, ours, &no);
	if (ike_props_select(props, np, ours, no, true, &chosen) || child_from_sa(sa, &chosen)) {
		ike_props_str(props, np, a, sizeof(a));
		log_warn(pol->name, "no ESP proposal chosen: peer offered %s; we accept %s", a,
			 "the esp = list");
		reply_error(sa, m->h.msgid, N_NO_PROPOSAL_CHOSEN, "no ESP proposal chosen");
		return;
	}
	noi = ike_ts_narrow(tsi, nti, pol->remote_ts, pol->n_remote_ts, oi);
	nor = ike_ts_narrow(tsr, ntr, pol->local_ts, pol->n_local_ts, orr);
	if (ikesa_agreed(sa)) {
		reply_error(sa, m->h.msgid, N_TEMPORARY_FAILURE, "out of memory");
		return;
	}
	sa->agreed->n_remote = ike_ts_to_prefixes(oi, noi, sa->agreed->remote, IKE_MAX_TS);
	sa->agreed->n_local = ike_ts_to_prefixes(orr, nor, sa->agreed->local, IKE_MAX_TS);
	if (!sa->agreed->n_remote || !sa->agreed->n_local) {
		reply_error(sa, m->h.msgid, N_TS_UNACCEPTABLE, "traffic selectors unacceptable");
		return;
	}
	/* §2.4: the peer restarted; whatever this tunnel still holds for it
	 * is stale.  Only this tunnel's: peers that send the notify per
	 * tunnel (vtid did, before it went by identities) would otherwise
	 * take down each other tunnel they share the identities with, and a
	 * stale IKE SA elsewhere goes when its peer stops answering. */
	ikesa_set_ids(sa, pair_key(sa, pol, &idi));
	if (!ike_find_notify(m, N_INITIAL_CONTACT, &n))
		for (o = ikesa_of_conn(c, NULL); o; o = next) {
			next = ikesa_of_conn(c, o);
			if (o != sa && o->state == IKE_S_ESTABLISHED)
				ikesa_kill(o, "peer sent INITIAL_CONTACT");
		}
	if (give_address(sa, m, c, &idi, &cp))
		return;
	if (!own_auth(sa, c, false, &me, &ad))
		return;
	be32_put(chosen.spi, sa->auth_in);
	buf_init(&in);
	ikew_init(&w, &in);
	ikew_id(&w, PL_IDR, me.type, me.data, me.len);
	own_certs(&w, pol);
	ikew_auth(&w, ad.method, ad.data, ad.len);
	if (cp.n)
		ikew_cp(&w, &cp);
	if (sa->ppk_used)	/* RFC 8784 §3: tell the initiator, no data */
		ikew_notify(&w, 0, N_PPK_IDENTITY, NULL, 0, NULL, 0);
	ikew_sa(&w, &chosen, 1);
	ikew_ts(&w, PL_TSI, oi, noi);
	ikew_ts(&w, PL_TSR, orr, nor);
	wipe(&ad, sizeof(ad));
	r = ikesa_send_sk(sa, IKE_AUTH, true, m->h.msgid, &w, &in);
	buf_free(&in);
	if (r) {
		ikesa_kill(sa, "cannot answer IKE_AUTH");
		return;
	}
	established(sa);
}
