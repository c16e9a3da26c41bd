/*
 * x509.c - X.509 certificates through OpenSSL 3 (see x509.h).  Chains are
 * checked by X509_STORE_CTX, never by hand (RFC 5280 §6); this file only
 * decides which checks apply and names the one that failed.
 */
#include "crypto/x509.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/prf.h"

#define ID_DER_ASN1_DN 9	/* RFC 7296 §3.5 */
#define ID_IPV4_ADDR 1
#define ID_FQDN 2
#define ID_RFC822_ADDR 3
#define ID_IPV6_ADDR 5

struct x509_certs {
	STACK_OF(X509) *sk;
	X509_STORE *store;	/* made the first time the list serves as a `ca` */
};

struct x509_crls {
	STACK_OF(X509_CRL) *sk;
};

struct x509_cert {
	X509 *x;
};

int x509_certs_pem(const char *pem, size_t len, struct x509_certs **out)
{
	struct x509_certs *c = calloc(1, sizeof(*c));
	BIO *b = len <= INT32_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
	X509 *x;
	int r = -ENOMEM;

	*out = NULL;
	if (!c || !b || !(c->sk = sk_X509_new_null()))
		goto out;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		if (!sk_X509_push(c->sk, x)) {
			X509_free(x);
			goto out;
		}
	r = -EINVAL;
	if (sk_X509_num(c->sk) == 0)
		goto out;
	*out = c;
	c = NULL;
	r = 0;
out:
	BIO_free(b);
	x509_certs_free(c);
	return r;
}

void x509_certs_free(struct x509_certs *c)
{
	if (!c)
		return;
	sk_X509_pop_free(c->sk, X509_free);
	X509_STORE_free(c->store);
	free(c);
}

unsigned x509_certs_count(const struct x509_certs *c)
{
	return c ? (unsigned)sk_X509_num(c->sk) : 0;
}

static int der_of(X509 *x, uint8_t *out, size_t max)
{
	int n = i2d_X509(x, NULL);
	unsigned char *p = out;

	if (n <= 0 || (size_t)n > max)
		return -EMSGSIZE;
	return i2d_X509(x, &p);
}

int x509_certs_der(const struct x509_certs *c, unsigned i, uint8_t *out, size_t max)
{
	if (!c || i >= x509_certs_count(c))
		return -ENOENT;
	return der_of(sk_X509_value(c->sk, (int)i), out, max);
}

int x509_certs_subject(const struct x509_certs *c, uint8_t *out, size_t max)
{
	const X509_NAME *n;
	unsigned char *p = out;
	int len;

	if (!x509_certs_count(c))
		return -ENOENT;
	n = X509_get_subject_name(sk_X509_value(c->sk, 0));
	len = i2d_X509_NAME(n, NULL);
	if (len <= 0 || (size_t)len > max)
		return -EMSGSIZE;
	return i2d_X509_NAME(n, &p);
}

static enum x509_key key_type(const EVP_PKEY *k)
{
	char group[32];

	if (!k)
		return X509_KEY_NONE;
	if (EVP_PKEY_is_a(k, "RSA"))
		return X509_KEY_RSA;
	if (EVP_PKEY_is_a(k, "ED25519"))
		return X509_KEY_ED25519;
	if (EVP_PKEY_is_a(k, "EC") &&
	    EVP_PKEY_get_group_name(k, group, sizeof(group), NULL)) {
		if (!strcmp(group, "prime256v1") || !strcmp(group, "P-256"))
			return X509_KEY_P256;
		if (!strcmp(group, "secp384r1") || !strcmp(group, "P-384"))
			return X509_KEY_P384;
		if (!strcmp(group, "secp521r1") || !strcmp(group, "P-521"))
			return X509_KEY_P521;
	}
	return X509_KEY_NONE;
}

enum x509_key x509_certs_key(const struct x509_certs *c)
{
	if (!x509_certs_count(c))
		return X509_KEY_NONE;
	return key_type(X509_get0_pubkey(sk_X509_value(c->sk, 0)));
}

int x509_certs_spki_sha1(const struct x509_certs *c, uint8_t *out, size_t max)
{
	unsigned i, n = x509_certs_count(c);
	size_t len = 0;

	for (i = 0; i < n; i++) {
		X509_PUBKEY *pk = X509_get_X509_PUBKEY(sk_X509_value(c->sk, (int)i));
		unsigned char *der = NULL;
		int dlen = i2d_X509_PUBKEY(pk, &der);
		bool ok;

		if (dlen <= 0 || max - len < 20) {
			OPENSSL_free(der);
			return dlen <= 0 ? -EINVAL : -EMSGSIZE;
		}
		ok = EVP_Digest(der, (size_t)dlen, out + len, NULL, EVP_sha1(), NULL) == 1;
		OPENSSL_free(der);
		if (!ok)
			return -EINVAL;
		len += 20;
	}
	return (int)len;
}

int x509_key_matches(const struct x509_certs *c, const char *pem, size_t len, char *why,
		     size_t whylen)
{
	BIO *b = len <= INT32_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	int r = 0;

	if (!k) {
		snprintf(why, whylen, "not a PEM private key (or encrypted)");
		r = -EINVAL;
	} else if (key_type(k) == X509_KEY_NONE) {
		snprintf(why, whylen, "key type not supported (RSA, ECDSA P-256/P-384/P-521, Ed25519)");
		r = -ENOTSUP;
	} else if (x509_certs_count(c) &&
		   EVP_PKEY_eq(k, X509_get0_pubkey(sk_X509_value(c->sk, 0))) != 1) {
		snprintf(why, whylen, "does not match the certificate's public key");
		r = -EINVAL;
	}
	EVP_PKEY_free(k);
	BIO_free(b);
	return r;
}

int x509_crls_pem(const char *pem, size_t len, struct x509_crls **out)
{
	struct x509_crls *c = calloc(1, sizeof(*c));
	BIO *b = len <= INT32_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
	X509_CRL *x;
	int r = -ENOMEM;

	*out = NULL;
	if (!c || !b || !(c->sk = sk_X509_CRL_new_null()))
		goto out;
	while ((x = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)))
		if (!sk_X509_CRL_push(c->sk, x)) {
			X509_CRL_free(x);
			goto out;
		}
	r = -EINVAL;
	if (sk_X509_CRL_num(c->sk) == 0)
		goto out;
	*out = c;
	c = NULL;
	r = 0;
out:
	BIO_free(b);
	x509_crls_free(c);
	return r;
}

void x509_crls_free(struct x509_crls *c)
{
	if (!c)
		return;
	sk_X509_CRL_pop_free(c->sk, X509_CRL_free);
	free(c);
}

static X509_STORE *ca_store(const struct x509_certs *ca)
{
	struct x509_certs *m = (struct x509_certs *)ca;	/* the cache only */
	int i;

	if (m->store)
		return m->store;
	m->store = X509_STORE_new();
	if (!m->store)
		return NULL;
	for (i = 0; i < sk_X509_num(ca->sk); i++)
		if (!X509_STORE_add_cert(m->store, sk_X509_value(ca->sk, i))) {
			X509_STORE_free(m->store);
			m->store = NULL;
			return NULL;
		}
	return m->store;
}

static void asn1_time_str(const ASN1_TIME *t, char *out, size_t max)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm) || !strftime(out, max, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, max, "?");
}

/* The check for each ID type of RFC 7296 §3.5 (RFC 4945 §3.1: the ID must
 * be in the certificate; a DN as its subject, the others as subjectAltName). */
static bool id_in_cert(X509 *x, uint8_t type, const uint8_t *id, size_t len)
{
	const unsigned char *p = id;
	X509_NAME *n;
	bool ok;

	switch (type) {
	case ID_DER_ASN1_DN:
		n = d2i_X509_NAME(NULL, &p, (long)len);
		ok = n && p == id + len && !X509_NAME_cmp(n, X509_get_subject_name(x));
		X509_NAME_free(n);
		return ok;
	case ID_FQDN:
		return X509_check_host(x, (const char *)id, len,
				       X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
				       X509_CHECK_FLAG_NO_WILDCARDS, NULL) == 1;
	case ID_RFC822_ADDR:
		return X509_check_email(x, (const char *)id, len,
					X509_CHECK_FLAG_NEVER_CHECK_SUBJECT) == 1;
	case ID_IPV4_ADDR:
	case ID_IPV6_ADDR:
		return X509_check_ip(x, id, len, 0) == 1;
	}
	return false;
}

/* With CRLs loaded, every certificate of the chain whose issuer has one
 * is checked against it (X509_V_FLAG_CRL_CHECK_ALL); one whose issuer
 * has none is not, rather than failing for the want of a CRL.  A CRL
 * that is there but expired or not yet valid still fails. */
static int crl_missing_ok(int ok, X509_STORE_CTX *ctx)
{
	return ok || X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL;
}

static void verify_why(X509_STORE_CTX *ctx, X509 *leaf, char *why, size_t whylen)
{
	int e = X509_STORE_CTX_get_error(ctx);
	X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
	char t[40];

	if (!bad)
		bad = leaf;
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		asn1_time_str(X509_get0_notAfter(bad), t, sizeof(t));
		snprintf(why, whylen, "expired at %s%s", t, bad == leaf ? "" : " (a ca in its chain)");
		return;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		asn1_time_str(X509_get0_notBefore(bad), t, sizeof(t));
		snprintf(why, whylen, "not valid before %s", t);
		return;
	case X509_V_ERR_CERT_REVOKED:
		snprintf(why, whylen, "revoked by a loaded crl%s", bad == leaf ? "" :
			 " (a ca in its chain)");
		return;
	}
	snprintf(why, whylen, "not issued by a trusted ca: %s", X509_verify_cert_error_string(e));
}

static int chain_check(const struct x509_certs *ca, const struct x509_crls *crls, X509 *leaf,
		       STACK_OF(X509) *untrusted, time_t now, char *why, size_t whylen)
{
	X509_STORE *store = ca ? ca_store(ca) : NULL;
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int r = -ENOMEM;

	if (!store || !ctx || !X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
		snprintf(why, whylen, "cannot be checked: %s", ca ? "out of memory" : "no ca");
		goto out;
	}
	X509_STORE_CTX_set_time(ctx, 0, now);
	if (crls && sk_X509_CRL_num(crls->sk) > 0) {
		X509_STORE_CTX_set0_crls(ctx, crls->sk);
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
		X509_STORE_CTX_set_verify_cb(ctx, crl_missing_ok);
	}
	r = 0;
	if (X509_verify_cert(ctx) != 1) {
		verify_why(ctx, leaf, why, whylen);
		r = -EACCES;
	}
out:
	X509_STORE_CTX_free(ctx);
	return r;
}

static int parse_chain(const struct chunk *der, unsigned n, X509 **leaf, STACK_OF(X509) **rest)
{
	unsigned i;

	*leaf = NULL;
	*rest = sk_X509_new_null();
	if (!*rest)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const unsigned char *p = der[i].p;
		X509 *x = d2i_X509(NULL, &p, (long)der[i].n);

		if (!x || p != der[i].p + der[i].n) {
			X509_free(x);
			return -EBADMSG;
		}
		if (!i)
			*leaf = x;
		else if (!sk_X509_push(*rest, x)) {
			X509_free(x);
			return -ENOMEM;
		}
	}
	return *leaf ? 0 : -ENOENT;
}

int x509_verify(const struct x509_certs *ca, const struct x509_crls *crls,
		const struct chunk *der, unsigned n, time_t now, uint8_t id_type,
		const uint8_t *id, size_t idlen, struct x509_cert **leaf, char *why, size_t whylen)
{
	STACK_OF(X509) *rest = NULL;
	X509 *x = NULL;
	uint32_t ku;
	int r;

	*leaf = NULL;
	r = parse_chain(der, n, &x, &rest);
	if (r) {
		snprintf(why, whylen, "%s", r == -ENOENT ? "no certificate sent" :
			 "certificate does not parse");
		goto out;
	}
	r = chain_check(ca, crls, x, rest, now, why, whylen);
	if (r)
		goto out;
	/* RFC 5280 §4.2.1.3: when key usage is present, the key must be
	 * allowed to sign. */
	ku = X509_get_key_usage(x);
	if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) && !(ku & KU_DIGITAL_SIGNATURE)) {
		snprintf(why, whylen, "key usage does not include digitalSignature");
		r = -EACCES;
		goto out;
	}
	if (!id_in_cert(x, id_type, id, idlen)) {
		snprintf(why, whylen, "identity not in certificate");
		r = -EACCES;
		goto out;
	}
	*leaf = calloc(1, sizeof(**leaf));
	r = -ENOMEM;
	if (*leaf) {
		(*leaf)->x = x;
		x = NULL;
		r = 0;
	}
out:
	X509_free(x);
	sk_X509_pop_free(rest, X509_free);
	return r;
}

void x509_cert_free(struct x509_cert *c)
{
	if (!c)
		return;
	X509_free(c->x);
	free(c);
}

void *x509_cert_pkey(const struct x509_cert *c)
{
	return c ? X509_get0_pubkey(c->x) : NULL;
}

static int name_str(const X509_NAME *n, char *out, size_t max)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long len;
	int r = -EINVAL;

	/* "C=CH, O=Example, CN=gw": the order of the encoding, as strongSwan
	 * prints and reads DNs. */
	if (b && X509_NAME_print_ex(b, n, 0, (XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN |
				     ASN1_STRFLGS_RFC2253) & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		len = BIO_get_mem_data(b, &p);
		if (len >= 0 && (size_t)len < max) {
			memcpy(out, p, (size_t)len);
			out[len] = '\0';
			r = 0;
		}
	}
	BIO_free(b);
	if (r && max)
		snprintf(out, max, "?");
	return r;
}

void x509_cert_info(const struct x509_cert *c, char *subject, size_t slen, char *issuer,
		    size_t ilen, char *not_after, size_t nlen)
{
	name_str(X509_get_subject_name(c->x), subject, slen);
	name_str(X509_get_issuer_name(c->x), issuer, ilen);
	asn1_time_str(X509_get0_notAfter(c->x), not_after, nlen);
}

/* One "K=V" of a configured DN. */
static int dn_add(X509_NAME *n, char *rdn)
{
	char *eq = strchr(rdn, '='), *v, *end;

	if (!eq)
		return -EINVAL;
	*eq = '\0';
	v = eq + 1;
	while (*rdn == ' ')
		rdn++;
	for (end = eq; end > rdn && end[-1] == ' '; end--)
		end[-1] = '\0';
	while (*v == ' ')
		v++;
	for (end = v + strlen(v); end > v && end[-1] == ' '; )
		*--end = '\0';
	if (!*rdn || !*v)
		return -EINVAL;
	return X509_NAME_add_entry_by_txt(n, rdn, MBSTRING_UTF8, (const unsigned char *)v, -1,
					  -1, 0) == 1 ? 0 : -EINVAL;
}

int x509_dn_from_string(const char *s, uint8_t *out, size_t max)
{
	X509_NAME *n = X509_NAME_new();
	char buf[512], *rdn, *save = NULL;
	unsigned char *p = out;
	int r = -EINVAL, len;

	if (!n || strlen(s) >= sizeof(buf) || !strchr(s, '='))
		goto out;
	snprintf(buf, sizeof(buf), "%s", s);
	for (rdn = strtok_r(buf, ",", &save); rdn; rdn = strtok_r(NULL, ",", &save))
		if (dn_add(n, rdn))
			goto out;
	len = i2d_X509_NAME(n, NULL);
	if (len <= 0 || (size_t)len > max) {
		r = -EMSGSIZE;
		goto out;
	}
	r = i2d_X509_NAME(n, &p);
out:
	X509_NAME_free(n);
	return r;
}

static X509_NAME *dn_parse(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)len);

	if (n && p != der + len) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

int x509_dn_to_string(const uint8_t *der, size_t len, char *out, size_t max)
{
	X509_NAME *n = dn_parse(der, len);
	int r = n ? name_str(n, out, max) : -EINVAL;

	X509_NAME_free(n);
	return r;
}

int x509_dn_hash(const uint8_t *der, size_t len, uint64_t *out)
{
	X509_NAME *x = dn_parse(der, len);
	int ok = 0;

	/* X509_NAME_cmp compares the canonical encodings this hashes. */
	*out = x ? X509_NAME_hash_ex(x, NULL, NULL, &ok) : 0;
	X509_NAME_free(x);
	return ok ? 0 : -EINVAL;
}

bool x509_dn_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	X509_NAME *x = dn_parse(a, alen), *y = dn_parse(b, blen);
	bool eq = x && y && !X509_NAME_cmp(x, y);

	X509_NAME_free(x);
	X509_NAME_free(y);
	return eq;
}
