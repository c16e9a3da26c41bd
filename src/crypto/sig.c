/*
 * sig.c - IKEv2 signatures through OpenSSL 3 EVP (see sig.h).
 *
 * RFC 7427 §3: method 14's AUTH data is one octet of ASN.1 length, the
 * DER AlgorithmIdentifier, and the signature.  We send and recognise the
 * encodings of RFC 7427 Appendix A (and RFC 8420 §2 for Ed25519) byte
 * for byte; a peer's AlgorithmIdentifier that is not in the table is
 * refused rather than parsed generically.
 */
#include "crypto/sig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto/prf.h"
#include "crypto/cipher.h"

struct sig_key {
	EVP_PKEY *k;
	enum x509_key type;
};

enum pad { PAD_NONE, PAD_PKCS1, PAD_PSS };

struct algid {
	enum x509_key key;	/* RSA stands for every RSA size */
	int hash;
	enum pad pad;
	uint8_t len;
	uint8_t der[72];
};

/* RFC 7427 Appendix A; RSASSA-PSS (A.4.3-style, RFC 4055 §3.1) with MGF1
 * of the same hash and a salt as long as the hash; RFC 8420 §2 Ed25519. */
#define PSS(h, salt) 67, { 0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, \
	0x01, 0x0a, 0x30, 0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, \
	0x65, 0x03, 0x04, 0x02, h, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, \
	0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, \
	0x01, 0x65, 0x03, 0x04, 0x02, h, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, salt }
#define PKCS1(o) 15, { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, \
	o, 0x05, 0x00 }
#define ECDSA(o) 12, { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, o }

static const struct algid algids[] = {
	/* the ones we sign with come first for their (key, hash) */
	{ X509_KEY_RSA, SIG_HASH_SHA256, PAD_PSS, PSS(0x01, 0x20) },
	{ X509_KEY_RSA, SIG_HASH_SHA384, PAD_PSS, PSS(0x02, 0x30) },
	{ X509_KEY_RSA, SIG_HASH_SHA512, PAD_PSS, PSS(0x03, 0x40) },
	{ X509_KEY_P256, SIG_HASH_SHA256, PAD_NONE, ECDSA(0x02) },
	{ X509_KEY_P384, SIG_HASH_SHA384, PAD_NONE, ECDSA(0x03) },
	{ X509_KEY_P521, SIG_HASH_SHA512, PAD_NONE, ECDSA(0x04) },
	{ X509_KEY_ED25519, SIG_HASH_IDENTITY, PAD_NONE, 7,
	  { 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70 } },
	/* accepted from peers: sha*WithRSAEncryption (strongSwan's default
	 * for RSA keys), ECDSA with another hash than its curve's */
	{ X509_KEY_RSA, SIG_HASH_SHA256, PAD_PKCS1, PKCS1(0x0b) },
	{ X509_KEY_RSA, SIG_HASH_SHA384, PAD_PKCS1, PKCS1(0x0c) },
	{ X509_KEY_RSA, SIG_HASH_SHA512, PAD_PKCS1, PKCS1(0x0d) },
	{ X509_KEY_P256, SIG_HASH_SHA384, PAD_NONE, ECDSA(0x03) },
	{ X509_KEY_P256, SIG_HASH_SHA512, PAD_NONE, ECDSA(0x04) },
	{ X509_KEY_P384, SIG_HASH_SHA256, PAD_NONE, ECDSA(0x02) },
	{ X509_KEY_P384, SIG_HASH_SHA512, PAD_NONE, ECDSA(0x04) },
	{ X509_KEY_P521, SIG_HASH_SHA256, PAD_NONE, ECDSA(0x02) },
	{ X509_KEY_P521, SIG_HASH_SHA384, PAD_NONE, ECDSA(0x03) },
};

#define N_ALGIDS (sizeof(algids) / sizeof(algids[0]))

static enum x509_key pkey_type(const EVP_PKEY *k)
{
	char g[32];

	if (EVP_PKEY_is_a(k, "RSA"))
		return X509_KEY_RSA;
	if (EVP_PKEY_is_a(k, "ED25519"))
		return X509_KEY_ED25519;
	if (EVP_PKEY_is_a(k, "EC") && EVP_PKEY_get_group_name(k, g, sizeof(g), NULL))
		return !strcmp(g, "prime256v1") ? X509_KEY_P256 : !strcmp(g, "secp384r1") ?
		       X509_KEY_P384 : !strcmp(g, "secp521r1") ? X509_KEY_P521 : X509_KEY_NONE;
	return X509_KEY_NONE;
}

int sig_key_pem(const char *pem, size_t len, struct sig_key **out)
{
	BIO *b = len <= INT32_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
	struct sig_key *k = calloc(1, sizeof(*k));
	int r = -ENOMEM;

	*out = NULL;
	if (!b || !k)
		goto out;
	r = -EINVAL;
	k->k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	if (!k->k || (k->type = pkey_type(k->k)) == X509_KEY_NONE)
		goto out;
	*out = k;
	k = NULL;
	r = 0;
out:
	sig_key_free(k);
	BIO_free(b);
	return r;
}

void sig_key_free(struct sig_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->k);
	free(k);
}

int sig_hash_for(enum x509_key key, unsigned peer_hashes)
{
	static const int rsa[] = { SIG_HASH_SHA256, SIG_HASH_SHA384, SIG_HASH_SHA512 };
	unsigned ok = peer_hashes ? peer_hashes : SIG_HASHES_OURS;
	size_t i;

	switch (key) {
	case X509_KEY_RSA:
		for (i = 0; i < 3; i++)
			if (ok & (1u << rsa[i]))
				return rsa[i];
		return 0;
	case X509_KEY_P256:
		return ok & (1u << SIG_HASH_SHA256) ? SIG_HASH_SHA256 : 0;
	case X509_KEY_P384:
		return ok & (1u << SIG_HASH_SHA384) ? SIG_HASH_SHA384 : 0;
	case X509_KEY_P521:
		return ok & (1u << SIG_HASH_SHA512) ? SIG_HASH_SHA512 : 0;
	case X509_KEY_ED25519:
		return ok & (1u << SIG_HASH_IDENTITY) ? SIG_HASH_IDENTITY : 0;
	case X509_KEY_NONE:
		break;
	}
	return 0;
}

static const EVP_MD *md_of(int hash)
{
	switch (hash) {
	case SIG_HASH_SHA1:
		return EVP_sha1();
	case SIG_HASH_SHA256:
		return EVP_sha256();
	case SIG_HASH_SHA384:
		return EVP_sha384();
	case SIG_HASH_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

/* The octets in one piece: Ed25519 (pure) signs in one call. */
static uint8_t *join(const struct chunk *octets, size_t n, size_t *len)
{
	size_t i, total = 0;
	uint8_t *p;

	for (i = 0; i < n; i++)
		total += octets[i].n;
	p = malloc(total ? total : 1);
	if (!p)
		return NULL;
	for (i = 0, *len = 0; i < n; *len += octets[i++].n)
		memcpy(p + *len, octets[i].p, octets[i].n);
	return p;
}

/* A digest context set up for (key, hash, padding), signing or verifying;
 * RSASSA-PSS with MGF1 of the same hash and salt bytes (-1: as long as
 * the hash). */
static EVP_MD_CTX *md_ctx_salt(EVP_PKEY *k, int hash, enum pad pad, bool sign, int salt)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = hash == SIG_HASH_IDENTITY ? NULL : md_of(hash);
	EVP_PKEY_CTX *pc = NULL;
	int ok;

	if (!ctx || (hash != SIG_HASH_IDENTITY && !md))
		goto fail;
	ok = sign ? EVP_DigestSignInit(ctx, &pc, md, NULL, k) :
		    EVP_DigestVerifyInit(ctx, &pc, md, NULL, k);
	if (ok != 1)
		goto fail;
	if (pad == PAD_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, salt < 0 ? RSA_PSS_SALTLEN_DIGEST : salt) != 1))
		goto fail;
	if (pad == PAD_PKCS1 && EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) != 1)
		goto fail;
	return ctx;
fail:
	EVP_MD_CTX_free(ctx);
	return NULL;
}

static EVP_MD_CTX *md_ctx(EVP_PKEY *k, int hash, enum pad pad, bool sign)
{
	return md_ctx_salt(k, hash, pad, sign, -1);
}

int sig_sign(const struct sig_key *k, int hash, const struct chunk *octets, size_t n,
	     uint8_t *out, size_t max)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t *msg;
	size_t len = 0, siglen = max;
	int r = -EINVAL;
	enum pad pad = k && k->type == X509_KEY_RSA ? PAD_PSS : PAD_NONE;

	uint8_t m;
	int want;

	if (!k)
		return -EINVAL;
	if (hash & SIG_LEGACY) {
		if (sig_legacy(k->type, &m, &want) || want != hash)
			return -EINVAL;
		hash &= ~SIG_LEGACY;
		pad = k->type == X509_KEY_RSA ? PAD_PKCS1 : PAD_NONE;
	} else if (!sig_algid(k->type, hash, &len)) {
		return -EINVAL;
	}
	msg = join(octets, n, &len);
	if (!msg)
		return -ENOMEM;
	ctx = md_ctx(k->k, hash, pad, true);
	if (ctx && EVP_DigestSign(ctx, out, &siglen, msg, len) == 1)
		r = (int)siglen;
	EVP_MD_CTX_free(ctx);
	free(msg);
	return r;
}

int sig_legacy(enum x509_key key, uint8_t *method, int *hash)
{
	switch (key) {
	case X509_KEY_RSA:
		*method = SIG_M_RSA;
		*hash = SIG_HASH_SHA1 | SIG_LEGACY;
		return 0;
	case X509_KEY_P256:
		*method = SIG_M_ECDSA256;
		*hash = SIG_HASH_SHA256 | SIG_LEGACY;
		return 0;
	case X509_KEY_P384:
		*method = SIG_M_ECDSA384;
		*hash = SIG_HASH_SHA384 | SIG_LEGACY;
		return 0;
	case X509_KEY_P521:
		*method = SIG_M_ECDSA521;
		*hash = SIG_HASH_SHA512 | SIG_LEGACY;
		return 0;
	case X509_KEY_ED25519:
	case X509_KEY_NONE:
		break;
	}
	return -ENOTSUP;
}

int sig_legacy_data(enum x509_key key, const uint8_t *sig, size_t siglen, uint8_t *out,
		    size_t max)
{
	size_t half = key == X509_KEY_P256 ? 32 : key == X509_KEY_P384 ? 48 :
		      key == X509_KEY_P521 ? 66 : 0;
	const unsigned char *p = sig;
	ECDSA_SIG *s;
	int r = -EINVAL;

	if (key == X509_KEY_RSA) {
		if (siglen > max)
			return -EMSGSIZE;
		memcpy(out, sig, siglen);
		return (int)siglen;
	}
	if (!half || 2 * half > max)
		return -EINVAL;
	s = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
	if (s && p == sig + siglen &&
	    BN_bn2binpad(ECDSA_SIG_get0_r(s), out, (int)half) == (int)half &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(s), out + half, (int)half) == (int)half)
		r = (int)(2 * half);
	ECDSA_SIG_free(s);
	return r;
}

const uint8_t *sig_algid(enum x509_key key, int hash, size_t *len)
{
	size_t i;

	for (i = 0; i < N_ALGIDS; i++)
		if (algids[i].key == key && algids[i].hash == hash) {
			*len = algids[i].len;
			return algids[i].der;
		}
	return NULL;
}

int sig_auth_data(enum x509_key key, int hash, const uint8_t *sig, size_t siglen, uint8_t *out,
		  size_t max)
{
	size_t alen;
	const uint8_t *a = sig_algid(key, hash, &alen);

	if (!a || 1 + alen + siglen > max)
		return -EINVAL;
	out[0] = (uint8_t)alen;
	memcpy(out + 1, a, alen);
	memcpy(out + 1 + alen, sig, siglen);
	return (int)(1 + alen + siglen);
}

/* RFC 4754 §7: r || s, each as long as the curve's order, into DER. */
static int ecdsa_raw_to_der(const uint8_t *raw, size_t len, uint8_t *out, size_t max)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL), *ss = BN_bin2bn(raw + len / 2,
									   (int)(len / 2), NULL);
	unsigned char *p = out;
	int n = -EINVAL;

	if (!s || !r || !ss || len % 2 || !ECDSA_SIG_set0(s, r, ss)) {
		BN_free(r);
		BN_free(ss);
		goto out;
	}
	n = i2d_ECDSA_SIG(s, NULL);
	if (n <= 0 || (size_t)n > max)
		n = -EMSGSIZE;
	else
		n = i2d_ECDSA_SIG(s, &p);
out:
	ECDSA_SIG_free(s);
	return n;
}

static int verify_salt(EVP_PKEY *k, int hash, enum pad pad, int salt, const uint8_t *sig,
		       size_t siglen, const struct chunk *octets, size_t n)
{
	EVP_MD_CTX *ctx = md_ctx_salt(k, hash, pad, false, salt);
	size_t len = 0;
	uint8_t *msg = join(octets, n, &len);
	int r = -EBADMSG;

	if (ctx && msg && EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1)
		r = 0;
	EVP_MD_CTX_free(ctx);
	free(msg);
	return r;
}

static int verify_raw(EVP_PKEY *k, int hash, enum pad pad, const uint8_t *sig, size_t siglen,
		      const struct chunk *octets, size_t n)
{
	return verify_salt(k, hash, pad, -1, sig, siglen, octets, n);
}

static int hash_of_nid(int nid)
{
	return nid == NID_sha256 ? SIG_HASH_SHA256 : nid == NID_sha384 ? SIG_HASH_SHA384 :
	       nid == NID_sha512 ? SIG_HASH_SHA512 : 0;
}

/*
 * An RSASSA-PSS AlgorithmIdentifier encoded otherwise than ours (another
 * salt length, an explicit trailerField): RFC 7427 §3 lets the signer
 * choose the parameters, so they are decoded (RFC 4055 §3.1, through
 * OpenSSL's ASN.1 decoder) rather than matched.  SHA-2 only, MGF1 with the
 * same hash, trailer 1 (RFC 4055's only one); *salt its length.
 */
static int pss_params(const uint8_t *der, size_t len, int *hash, int *salt)
{
	const unsigned char *p = der;
	X509_ALGOR *alg = d2i_X509_ALGOR(NULL, &p, (long)len);
	RSA_PSS_PARAMS *pss = NULL;
	X509_ALGOR *mgf_md = NULL;
	const ASN1_OBJECT *oid;
	const void *param;
	int ptype, r = -ENOTSUP;
	long s;

	if (!alg || p != der + len)
		goto out;
	X509_ALGOR_get0(&oid, &ptype, &param, alg);
	if (OBJ_obj2nid(oid) != NID_rsassaPss || ptype != V_ASN1_SEQUENCE)
		goto out;
	pss = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), alg->parameter);
	if (!pss || !pss->hashAlgorithm || !pss->maskGenAlgorithm ||
	    OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) != NID_mgf1)
		goto out;	/* the defaults are SHA-1 */
	mgf_md = pss->maskGenAlgorithm->parameter ?
		 ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
					   pss->maskGenAlgorithm->parameter) : NULL;
	*hash = hash_of_nid(OBJ_obj2nid(pss->hashAlgorithm->algorithm));
	s = pss->saltLength ? ASN1_INTEGER_get(pss->saltLength) : 20;
	if (!*hash || !mgf_md || OBJ_obj2nid(mgf_md->algorithm) !=
	    OBJ_obj2nid(pss->hashAlgorithm->algorithm) || s < 0 || s > 512 ||
	    (pss->trailerField && ASN1_INTEGER_get(pss->trailerField) != 1))
		goto out;
	*salt = (int)s;
	r = 0;
out:
	X509_ALGOR_free(mgf_md);
	RSA_PSS_PARAMS_free(pss);
	X509_ALGOR_free(alg);
	return r;
}

static int verify_14(EVP_PKEY *k, enum x509_key type, const uint8_t *data, size_t len,
		     const struct chunk *octets, size_t n, unsigned allowed)
{
	size_t i, alen;
	int hash, salt;

	if (len < 1 || (alen = data[0]) + 1 > len)
		return -EBADMSG;
	for (i = 0; i < N_ALGIDS; i++) {
		const struct algid *a = &algids[i];

		if (a->key != type || a->len != alen || memcmp(a->der, data + 1, alen))
			continue;
		if (!(allowed & (1u << a->hash)))
			return -EPERM;
		return verify_raw(k, a->hash, a->pad, data + 1 + alen, len - 1 - alen, octets, n);
	}
	if (type == X509_KEY_RSA && !pss_params(data + 1, alen, &hash, &salt)) {
		if (!(allowed & (1u << hash)))
			return -EPERM;
		return verify_salt(k, hash, PAD_PSS, salt, data + 1 + alen, len - 1 - alen, octets, n);
	}
	return -ENOTSUP;
}

int sig_verify(void *pkey, uint8_t m, const uint8_t *data, size_t len,
	       const struct chunk *octets, size_t n, unsigned allowed)
{
	EVP_PKEY *k = pkey;
	enum x509_key type = k ? pkey_type(k) : X509_KEY_NONE;
	uint8_t der[160];
	int dlen;

	switch (m) {
	case SIG_M_DIGITAL:
		return verify_14(k, type, data, len, octets, n, allowed);
	case SIG_M_RSA:
		/* RFC 7296 §3.8: PKCS#1 v1.5 with SHA-1.  SHA-1 here is a
		 * signature over fresh nonces, not a certificate: a collision
		 * made in advance does not help, so peers that only know
		 * method 1 are accepted. */
		if (type != X509_KEY_RSA)
			return -EBADMSG;
		return verify_raw(k, SIG_HASH_SHA1, PAD_PKCS1, data, len, octets, n);
	case SIG_M_ECDSA256:
	case SIG_M_ECDSA384:
	case SIG_M_ECDSA521:
		if (type != (m == SIG_M_ECDSA256 ? X509_KEY_P256 : m == SIG_M_ECDSA384 ?
			     X509_KEY_P384 : X509_KEY_P521) ||
		    len != (m == SIG_M_ECDSA256 ? 64u : m == SIG_M_ECDSA384 ? 96u : 132u))
			return -EBADMSG;
		dlen = ecdsa_raw_to_der(data, len, der, sizeof(der));
		if (dlen < 0)
			return -EBADMSG;
		return verify_raw(k, m == SIG_M_ECDSA256 ? SIG_HASH_SHA256 : m == SIG_M_ECDSA384 ?
				  SIG_HASH_SHA384 : SIG_HASH_SHA512, PAD_NONE, der, (size_t)dlen,
				  octets, n);
	}
	return -ENOTSUP;
}
