/*
 * test_sig.c - IKEv2 signatures and certificates (crypto/sig.c, x509.c):
 * the AlgorithmIdentifiers we send, byte for byte (ECDSA and PKCS#1 from
 * RFC 7427 Appendix A / RFC 5758 §3.2, Ed25519 from RFC 8420 §2, and
 * every one we sign with against OpenSSL's own encoder), a round trip for
 * every key type and hash, the older AUTH methods (1, 9-11), and the
 * certificate checks (identity by type, expiry, wrong CA) on fixed material.
 *
 * The keys of the round trips are made here with OpenSSL directly: this
 * test is the independent side.
 */
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "crypto/prf.h"
#include "crypto/sig.h"
#include "crypto/x509.h"
#include "test.h"

#include "certs.h"

struct algid_kat {
	const char *src;
	enum x509_key key;
	int hash;
	const char *der;
};

static const struct algid_kat algid_kats[] = {
	{ "RFC 5758 3.2 ecdsa-with-SHA256", X509_KEY_P256, SIG_HASH_SHA256,
	  "300a06082a8648ce3d040302" },
	{ "RFC 5758 3.2 ecdsa-with-SHA384", X509_KEY_P384, SIG_HASH_SHA384,
	  "300a06082a8648ce3d040303" },
	{ "RFC 5758 3.2 ecdsa-with-SHA512", X509_KEY_P521, SIG_HASH_SHA512,
	  "300a06082a8648ce3d040304" },
	{ "RFC 8420 2 Ed25519", X509_KEY_ED25519, SIG_HASH_IDENTITY, "300506032b6570" },
	{ "RFC 4055 5 RSASSA-PSS SHA-256, MGF1 SHA-256, salt 32", X509_KEY_RSA, SIG_HASH_SHA256,
	  "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a0609"
	  "2a864886f70d010108300d06096086480165030402010500a203020120" },
};

static void algids(void)
{
	uint8_t want[128];
	const uint8_t *got;
	size_t i, n, len;

	for (i = 0; i < sizeof(algid_kats) / sizeof(algid_kats[0]); i++) {
		n = unhex(algid_kats[i].der, want, sizeof(want));
		got = sig_algid(algid_kats[i].key, algid_kats[i].hash, &len);
		CHECK(got && len == n && !memcmp(got, want, n), "%s", algid_kats[i].src);
	}
}

static EVP_PKEY *keygen(enum x509_key t)
{
	switch (t) {
	case X509_KEY_RSA:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case X509_KEY_P256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case X509_KEY_P384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case X509_KEY_P521:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	case X509_KEY_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case X509_KEY_NONE:
		break;
	}
	return NULL;
}

static const char *md_name(int hash)
{
	return hash == SIG_HASH_SHA1 ? "SHA1" : hash == SIG_HASH_SHA256 ? "SHA256" :
	       hash == SIG_HASH_SHA384 ? "SHA384" : hash == SIG_HASH_SHA512 ? "SHA512" : NULL;
}

/* OpenSSL's AlgorithmIdentifier for the signature we make with (k, hash). */
static size_t openssl_algid(EVP_PKEY *k, enum x509_key t, int hash, uint8_t *out, size_t max)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	OSSL_PARAM p[2] = { OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, out, max),
			    OSSL_PARAM_END };
	size_t n = 0;

	if (EVP_DigestSignInit_ex(c, &pc, md_name(hash), NULL, NULL, k, NULL) == 1 &&
	    (t != X509_KEY_RSA ||
	     (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
	      EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, md_name(hash), NULL) == 1 &&
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) == 1)) &&
	    EVP_PKEY_CTX_get_params(pc, p) == 1)
		n = p[0].return_size;
	EVP_MD_CTX_free(c);
	return n;
}

static struct sig_key *our_key(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	struct sig_key *sk = NULL;
	char *pem;
	long n;

	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &pem);
	if (sig_key_pem(pem, (size_t)n, &sk))
		sk = NULL;
	BIO_free(b);
	return sk;
}

struct rt {
	enum x509_key key;
	int hash;
};

static const struct rt rts[] = {
	{ X509_KEY_RSA, SIG_HASH_SHA256 }, { X509_KEY_RSA, SIG_HASH_SHA384 },
	{ X509_KEY_RSA, SIG_HASH_SHA512 }, { X509_KEY_P256, SIG_HASH_SHA256 },
	{ X509_KEY_P384, SIG_HASH_SHA384 }, { X509_KEY_P521, SIG_HASH_SHA512 },
	{ X509_KEY_ED25519, SIG_HASH_IDENTITY },
};

/* Sign with ours, verify with ours; OpenSSL's encoding of the same. */
static void round_trips(void)
{
	static const uint8_t a[] = "InitiatorSignedOctets: message", b[] = "nonce", m[] = "macid";
	struct chunk oct[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { m, sizeof(m) } };
	uint8_t sig[SIG_MAX], auth[SIG_AUTH_MAX], ref[128];
	const uint8_t *ours;
	size_t i, len, rlen;
	int n, an;

	for (i = 0; i < sizeof(rts) / sizeof(rts[0]); i++) {
		EVP_PKEY *k = keygen(rts[i].key);
		struct sig_key *sk = our_key(k);

		CHECK(sk != NULL, "row %zu: key loads", i);
		n = sig_sign(sk, rts[i].hash, oct, 3, sig, sizeof(sig));
		CHECK(n > 0, "row %zu: signs (%d)", i, n);
		an = sig_auth_data(rts[i].key, rts[i].hash, sig, n > 0 ? (size_t)n : 0, auth,
				   sizeof(auth));
		CHECK(an > 0 && !sig_verify(k, SIG_M_DIGITAL, auth, (size_t)an, oct, 3,
					    SIG_HASHES_OURS), "row %zu: verifies", i);
		CHECK(an > 0 && sig_verify(k, SIG_M_DIGITAL, auth, (size_t)an, oct, 3,
					   SIG_HASHES_OURS & ~(1u << rts[i].hash)) == -EPERM,
		      "row %zu: a hash we did not announce is refused", i);
		if (an > 0)
			auth[an - 1] ^= 1;
		CHECK(an > 0 && sig_verify(k, SIG_M_DIGITAL, auth, (size_t)an, oct, 3,
					   SIG_HASHES_OURS), "row %zu: a flipped bit fails", i);
		ours = sig_algid(rts[i].key, rts[i].hash, &len);
		rlen = openssl_algid(k, rts[i].key, rts[i].hash, ref, sizeof(ref));
		CHECK(ours && rlen == len && !memcmp(ours, ref, len),
		      "row %zu: AlgorithmIdentifier as OpenSSL encodes it", i);
		sig_key_free(sk);
		EVP_PKEY_free(k);
	}
}

/* RFC 7296 §3.8 method 1 (PKCS#1 v1.5, SHA-1) and RFC 4754 methods 9-11
 * (raw r || s), made by OpenSSL, verified by ours. */
static void old_methods(void)
{
	static const uint8_t msg[] = "octets";
	struct chunk oct = { msg, sizeof(msg) };
	static const struct { enum x509_key key; uint8_t m; int hash; size_t half; } v[] = {
		{ X509_KEY_RSA, SIG_M_RSA, SIG_HASH_SHA1, 0 },
		{ X509_KEY_P256, SIG_M_ECDSA256, SIG_HASH_SHA256, 32 },
		{ X509_KEY_P384, SIG_M_ECDSA384, SIG_HASH_SHA384, 48 },
		{ X509_KEY_P521, SIG_M_ECDSA521, SIG_HASH_SHA512, 66 },
	};
	uint8_t der[600], raw[132];
	size_t i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		EVP_PKEY *k = keygen(v[i].key);
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		const unsigned char *p = der;
		ECDSA_SIG *es;

		n = sizeof(der);
		CHECK(EVP_DigestSignInit_ex(c, NULL, md_name(v[i].hash), NULL, NULL, k, NULL) == 1 &&
		      EVP_DigestSign(c, der, &n, msg, sizeof(msg)) == 1, "row %zu: OpenSSL signs", i);
		if (v[i].half) {
			es = d2i_ECDSA_SIG(NULL, &p, (long)n);
			memset(raw, 0, sizeof(raw));
			BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)v[i].half);
			BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + v[i].half, (int)v[i].half);
			ECDSA_SIG_free(es);
			CHECK(!sig_verify(k, v[i].m, raw, 2 * v[i].half, &oct, 1, 0),
			      "row %zu: method %u verifies", i, v[i].m);
			raw[3] ^= 1;
			CHECK(sig_verify(k, v[i].m, raw, 2 * v[i].half, &oct, 1, 0),
			      "row %zu: flipped", i);
		} else {
			CHECK(!sig_verify(k, v[i].m, der, n, &oct, 1, 0), "row %zu: method 1", i);
			der[5] ^= 1;
			CHECK(sig_verify(k, v[i].m, der, n, &oct, 1, 0), "row %zu: flipped", i);
		}
		EVP_MD_CTX_free(c);
		EVP_PKEY_free(k);
	}
}

/* RSASSA-PSS with parameters other than ours (salt 20 and 0, SHA-384,
 * as OpenSSL encodes them): decoded and verified; MGF1 with another hash
 * than the message's is refused. */
static void pss_other_params(void)
{
	static const uint8_t msg[] = "octets";
	static const struct { const char *md, *mgf; int salt; bool ok; } v[] = {
		{ "SHA256", "SHA256", 20, true }, { "SHA384", "SHA384", 0, true },
		{ "SHA512", "SHA512", 100, true }, { "SHA256", "SHA384", 32, false },
	};
	struct chunk oct = { msg, sizeof(msg) };
	EVP_PKEY *k = keygen(X509_KEY_RSA);
	uint8_t auth[SIG_AUTH_MAX];
	size_t i, alen, slen;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pc = NULL;
		OSSL_PARAM p[2] = { OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID,
							    auth + 1, 120), OSSL_PARAM_END };
		bool made;

		made = EVP_DigestSignInit_ex(c, &pc, v[i].md, NULL, NULL, k, NULL) == 1 &&
		       EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
		       EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, v[i].mgf, NULL) == 1 &&
		       EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, v[i].salt) == 1 &&
		       EVP_PKEY_CTX_get_params(pc, p) == 1;
		alen = p[0].return_size;
		slen = sizeof(auth) - 1 - alen;
		made = made && EVP_DigestSign(c, auth + 1 + alen, &slen, msg, sizeof(msg)) == 1;
		auth[0] = (uint8_t)alen;
		CHECK(made, "row %zu: OpenSSL signs", i);
		CHECK((sig_verify(k, SIG_M_DIGITAL, auth, 1 + alen + slen, &oct, 1, SIG_HASHES_OURS) ==
		       0) == v[i].ok, "row %zu: %s, MGF1 %s, salt %d", i, v[i].md, v[i].mgf,
		      v[i].salt);
		EVP_MD_CTX_free(c);
	}
	EVP_PKEY_free(k);
}

/* To a peer without SIGNATURE_HASH_ALGORITHMS: methods 1 and 9-11 made
 * by ours, verified by ours; Ed25519 has no such method. */
static void legacy_round_trips(void)
{
	static const uint8_t msg[] = "octets";
	static const enum x509_key keys[] = { X509_KEY_RSA, X509_KEY_P256, X509_KEY_P384,
					      X509_KEY_P521 };
	static const uint8_t methods[] = { SIG_M_RSA, SIG_M_ECDSA256, SIG_M_ECDSA384,
					   SIG_M_ECDSA521 };
	struct chunk oct = { msg, sizeof(msg) };
	uint8_t sig[SIG_MAX], data[SIG_MAX], m;
	size_t i;
	int hash, n, dn;

	for (i = 0; i < 4; i++) {
		EVP_PKEY *k = keygen(keys[i]);
		struct sig_key *sk = our_key(k);

		CHECK(!sig_legacy(keys[i], &m, &hash) && m == methods[i], "row %zu: method %u", i, m);
		n = sig_sign(sk, hash, &oct, 1, sig, sizeof(sig));
		dn = n > 0 ? sig_legacy_data(keys[i], sig, (size_t)n, data, sizeof(data)) : -1;
		CHECK(dn > 0 && !sig_verify(k, m, data, (size_t)dn, &oct, 1, 0),
		      "row %zu: method %u verifies (%d, %d)", i, m, n, dn);
		sig_key_free(sk);
		EVP_PKEY_free(k);
	}
	CHECK(sig_legacy(X509_KEY_ED25519, &m, &hash) == -ENOTSUP, "Ed25519: none");
}

static void sig_hash_choice(void)
{
	unsigned only384 = 1u << SIG_HASH_SHA384;

	CHECK(sig_hash_for(X509_KEY_RSA, 0) == SIG_HASH_SHA256, "no notify: SHA-256");
	CHECK(sig_hash_for(X509_KEY_RSA, only384) == SIG_HASH_SHA384, "RSA follows the peer");
	CHECK(sig_hash_for(X509_KEY_P256, only384) == 0, "P-256 needs SHA-256");
	CHECK(sig_hash_for(X509_KEY_ED25519, SIG_HASHES_OURS) == SIG_HASH_IDENTITY, "Ed25519");
	CHECK(sig_hash_for(X509_KEY_ED25519, only384) == 0, "Ed25519 needs Identity");
}

struct id_case {
	const char *what;
	uint8_t type;
	const char *id;		/* text, or for a DN the configured string */
	time_t now;
	bool ok;
	const char *why;	/* start of the reason when refused */
};

#define NOW ((time_t)1800000000)	/* 2027 */

static const struct id_case id_cases[] = {
	{ "subject DN", 9, "C=CH, O=vti test, CN=unit", NOW, true, NULL },
	{ "other DN", 9, "C=CH, O=vti test, CN=someone", NOW, false, "identity not in" },
	{ "SAN dNSName", 2, "unit.example", NOW, true, NULL },
	{ "FQDN not in SAN", 2, "other.example", NOW, false, "identity not in" },
	{ "CN is not a dNSName", 2, "unit", NOW, false, "identity not in" },
	{ "SAN rfc822Name", 3, "u@unit.example", NOW, true, NULL },
	{ "other email", 3, "v@unit.example", NOW, false, "identity not in" },
	{ "SAN iPAddress", 1, "\xc0\x00\x02\x07", NOW, true, NULL },
	{ "other address", 1, "\xc0\x00\x02\x08", NOW, false, "identity not in" },
	{ "expired", 2, "unit.example", (time_t)8000000000, false, "expired at " },
	{ "not yet valid", 2, "unit.example", (time_t)1000000000, false, "not valid before " },
};

static void identities(void)
{
	struct x509_certs *ca = NULL;
	struct x509_cert *leaf;
	uint8_t der[2048], id[256];
	struct chunk ch;
	char why[200];
	size_t i, idlen;
	int n;

	CHECK(!x509_certs_pem(UNIT_CERT, sizeof(UNIT_CERT) - 1, &ca), "certificate loads");
	n = x509_certs_der(ca, 0, der, sizeof(der));
	CHECK(n > 0, "DER");
	ch = (struct chunk){ der, n > 0 ? (size_t)n : 0 };
	for (i = 0; i < sizeof(id_cases) / sizeof(id_cases[0]); i++) {
		const struct id_case *c = &id_cases[i];

		if (c->type == 9) {
			n = x509_dn_from_string(c->id, id, sizeof(id));
			idlen = n > 0 ? (size_t)n : 0;
		} else {
			idlen = c->type == 1 ? 4 : strlen(c->id);
			memcpy(id, c->id, idlen);
		}
		why[0] = '\0';
		n = x509_verify(ca, NULL, &ch, 1, c->now, c->type, id, idlen, &leaf, why, sizeof(why));
		CHECK(c->ok ? n == 0 && leaf : n < 0 && !strncmp(why, c->why, strlen(c->why)),
		      "%s: %d '%s'", c->what, n, why);
		x509_cert_free(leaf);
	}
	CHECK(x509_verify(NULL, NULL, &ch, 1, NOW, 2, (const uint8_t *)"unit.example", 12, &leaf,
			  why, sizeof(why)) < 0, "no ca: refused");
	CHECK(x509_verify(ca, NULL, &ch, 0, NOW, 2, (const uint8_t *)"unit.example", 12, &leaf,
			  why, sizeof(why)) < 0 && !strcmp(why, "no certificate sent"), "none sent");
	der[10] ^= 0xff;
	CHECK(x509_verify(ca, NULL, &ch, 1, NOW, 2, (const uint8_t *)"unit.example", 12, &leaf,
			  why, sizeof(why)) < 0, "a damaged certificate: refused (%s)", why);
	x509_certs_free(ca);
}

static void keys_match(void)
{
	struct x509_certs *c = NULL;
	char why[160];

	CHECK(!x509_certs_pem(UNIT_CERT, sizeof(UNIT_CERT) - 1, &c), "loads");
	CHECK(!x509_key_matches(c, UNIT_KEY, sizeof(UNIT_KEY) - 1, why, sizeof(why)), "its key");
	CHECK(x509_key_matches(c, OTHER_KEY, sizeof(OTHER_KEY) - 1, why, sizeof(why)) < 0 &&
	      strstr(why, "does not match"), "another key: %s", why);
	CHECK(x509_certs_key(c) == X509_KEY_ED25519, "key type");
	x509_certs_free(c);
}

/* A DN as configured, printed back; the same name in another string type
 * is equal (RFC 5280 §7.1). */
static void dns(void)
{
	uint8_t a[256];
	char s[256];
	int n = x509_dn_from_string("C=CH,  O=vti test ,CN=unit", a, sizeof(a));

	CHECK(n > 0 && !x509_dn_to_string(a, (size_t)n, s, sizeof(s)) &&
	      !strcmp(s, "C=CH, O=vti test, CN=unit"), "'%s'", s);
	CHECK(x509_dn_from_string("no equals sign", a, sizeof(a)) < 0, "not a DN");
	CHECK(x509_dn_from_string("C=CH, XX=1", a, sizeof(a)) < 0, "unknown attribute");
}

/* DER of C=CH, O=<o>, CN=<cn> with O and CN in the given string type. */
static int dn_der(int type, const char *o, const char *cn, uint8_t *out, size_t cap)
{
	X509_NAME *x = X509_NAME_new();
	unsigned char *p = out;
	int n = -1;

	if (x && X509_NAME_add_entry_by_txt(x, "C", MBSTRING_ASC, (const unsigned char *)"CH", -1,
					    -1, 0) &&
	    X509_NAME_add_entry_by_txt(x, "O", type, (const unsigned char *)o, -1, -1, 0) &&
	    X509_NAME_add_entry_by_txt(x, "CN", type, (const unsigned char *)cn, -1, -1, 0) &&
	    i2d_X509_NAME(x, NULL) <= (int)cap)
		n = i2d_X509_NAME(x, &p);
	X509_NAME_free(x);
	return n;
}

/* RFC 5280 §7.1: names that compare equal (another string type, case,
 * spaces) hash alike, so that IKE_AUTH's index finds the connection of a
 * peer whose certificate encodes its name otherwise (x509_dn_hash). */
static void dn_hashes(void)
{
	static const struct {
		int type;
		const char *o, *cn;
		bool same;
	} rows[] = {
		{ MBSTRING_UTF8, "vti test", "branch7", true },
		{ V_ASN1_PRINTABLESTRING, "vti test", "branch7", true },
		{ MBSTRING_UTF8, "VTI  Test", "Branch7", true },
		{ MBSTRING_UTF8, "vti test", "branch8", false },
	};
	uint8_t ref[256], der[256];
	uint64_t h0, h;
	int n0 = dn_der(MBSTRING_ASC, "vti test", "branch7", ref, sizeof(ref)), n;
	size_t i;

	CHECK(n0 > 0 && !x509_dn_hash(ref, (size_t)n0, &h0), "reference DN");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = dn_der(rows[i].type, rows[i].o, rows[i].cn, der, sizeof(der));
		CHECK(n > 0 && !x509_dn_hash(der, (size_t)n, &h) &&
		      (h == h0) == rows[i].same &&
		      x509_dn_equal(der, (size_t)n, ref, (size_t)n0) == rows[i].same,
		      "row %zu: %s", i + 1, rows[i].same ? "equal, same hash" : "another name");
	}
	CHECK(x509_dn_hash((const uint8_t *)"\x30\x03junk", 5, &h) == -EINVAL, "not a DN");
}

int main(void)
{
	dn_hashes();
	algids();
	round_trips();
	old_methods();
	pss_other_params();
	legacy_round_trips();
	sig_hash_choice();
	identities();
	keys_match();
	dns();
	return test_done();
}
