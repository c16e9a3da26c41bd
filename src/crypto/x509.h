/*
 * x509.h - X.509 certificates for IKEv2 certificate authentication
 * (RFC 7296 §3.6, §3.7; RFC 5280 through OpenSSL's X509_STORE): PEM
 * bundles loaded once and shared by every tunnel naming the same file,
 * the peer's chain checked against a `ca` and its CRLs, the identity the
 * peer claims checked against its certificate, distinguished names.
 */
#ifndef VTI_X509_H
#define VTI_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct chunk;

/* A list of certificates: a chain (leaf first) or a set of trust anchors. */
struct x509_certs;
/* A set of CRLs. */
struct x509_crls;
/* One certificate (the peer's, verified). */
struct x509_cert;

#define X509_MAX_DER 8192	/* one certificate on the wire */
#define X509_MAX_CHAIN 8	/* certificates per message, ours or the peer's */

/* Public key types vti signs with (and accepts). */
enum x509_key { X509_KEY_NONE, X509_KEY_RSA, X509_KEY_P256, X509_KEY_P384, X509_KEY_P521,
		X509_KEY_ED25519 };

/* Every certificate in PEM text; -EINVAL if none or one is bad. */
int x509_certs_pem(const char *pem, size_t len, struct x509_certs **out);
void x509_certs_free(struct x509_certs *c);
unsigned x509_certs_count(const struct x509_certs *c);
/* DER of certificate i into out (X509_MAX_DER); its length or -errno. */
int x509_certs_der(const struct x509_certs *c, unsigned i, uint8_t *out, size_t max);
/* The first certificate's subject as DER (ID_DER_ASN1_DN); length or -errno. */
int x509_certs_subject(const struct x509_certs *c, uint8_t *out, size_t max);
enum x509_key x509_certs_key(const struct x509_certs *c);
/* RFC 7296 §3.7: SHA-1 of each certificate's SubjectPublicKeyInfo,
 * concatenated (the CERTREQ's certification authorities); length or -errno. */
int x509_certs_spki_sha1(const struct x509_certs *c, uint8_t *out, size_t max);
/* Does PEM private key text hold the key of the first certificate? 0, or
 * -errno and why. */
int x509_key_matches(const struct x509_certs *c, const char *pem, size_t len, char *why,
		     size_t whylen);

int x509_crls_pem(const char *pem, size_t len, struct x509_crls **out);
void x509_crls_free(struct x509_crls *c);

/*
 * The peer's certificates as received (leaf first, DER), checked: chained
 * to ca through the others, valid at now, not revoked by crls (may be
 * NULL), usable for signatures, and carrying the identity of type id_type.
 * 0 and the leaf in *leaf, or -errno and in why the one check that failed.
 */
int x509_verify(const struct x509_certs *ca, const struct x509_crls *crls,
		const struct chunk *der, unsigned n, time_t now, uint8_t id_type,
		const uint8_t *id, size_t idlen, struct x509_cert **leaf, char *why, size_t whylen);
void x509_cert_free(struct x509_cert *c);
/* The EVP_PKEY of a verified certificate (for sig.c). */
void *x509_cert_pkey(const struct x509_cert *c);
/* For show: subject and issuer as one line, expiry as ISO 8601 UTC. */
void x509_cert_info(const struct x509_cert *c, char *subject, size_t slen, char *issuer,
		    size_t ilen, char *not_after, size_t nlen);

/* A DN as configured ("C=CH, O=Example, CN=gw") into DER; length or -errno. */
int x509_dn_from_string(const char *s, uint8_t *out, size_t max);
/* DER DN as one line, in the same form; -errno if it does not parse. */
int x509_dn_to_string(const uint8_t *der, size_t len, char *out, size_t max);
/* Same name (RFC 5280 §7.1 comparison, as OpenSSL canonicalises it)? */
bool x509_dn_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* A hash of the DN that names x509_dn_equal finds equal share (of its
 * RFC 5280 §7.1 canonical form); -EINVAL if it does not parse. */
int x509_dn_hash(const uint8_t *der, size_t len, uint64_t *out);

#endif
