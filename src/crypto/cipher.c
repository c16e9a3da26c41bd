/*
 * cipher.c - AEAD, AES-CBC and HMAC contexts over OpenSSL 3 EVP / EVP_MAC.
 *
 * Every context keeps its key schedule so a packet costs one re-init with a
 * new nonce/IV, no allocation.  AEAD follows RFC 5116 with a 12-byte nonce
 * and a 16-byte tag (NIST SP 800-38D for GCM, RFC 8439 for ChaCha20-Poly1305).
 */
#include "crypto/cipher.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

/*
 * A cipher context (AEAD or CBC) calls the provider's cipher functions
 * directly where it can find them.  Through EVP, OpenSSL 3.0 makes every
 * EVP_CipherInit_ex() with a new nonce or IV ask the provider for the IV
 * length by a parameter lookup (a string compare per parameter the
 * provider knows) and walk EVP's checks: per packet that cost more than
 * sealing 1,400 bytes of AES-GCM itself.  The provider's own functions are
 * what EVP calls in the end; OSSL_PROVIDER_query_operation() (public API)
 * gives them, and the fetched cipher is held so that its provider stays
 * loaded.  Where they cannot be found, EVP does the work.
 */
struct cipher_fns {
	OSSL_FUNC_cipher_newctx_fn *newctx;
	OSSL_FUNC_cipher_freectx_fn *freectx;
	OSSL_FUNC_cipher_encrypt_init_fn *einit;
	OSSL_FUNC_cipher_decrypt_init_fn *dinit;
	OSSL_FUNC_cipher_update_fn *update;
	OSSL_FUNC_cipher_final_fn *final;
	OSSL_FUNC_cipher_get_ctx_params_fn *get_params;
	OSSL_FUNC_cipher_set_ctx_params_fn *set_params;
};

struct kcipher {
	EVP_CIPHER *cipher;
	void *pctx;		/* the provider's context, or NULL: */
	EVP_CIPHER_CTX *ctx;	/* then EVP's */
	struct cipher_fns f;
	bool encrypt;
};

static bool evp_only;

struct aead {
	struct kcipher k;
};

struct cbc {
	struct kcipher k;
};

struct hmac {
	EVP_MAC_CTX *ctx;
	size_t size;
};

bool ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void wipe(void *p, size_t n)
{
	if (p)
		OPENSSL_cleanse(p, n);
}

void cipher_set_evp_only(bool on)
{
	evp_only = on;
}

/* Whether "name" is one of the colon-separated names of an algorithm. */
static bool names_have(const char *names, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = names; p; p = strchr(p, ':'), p = p ? p + 1 : NULL)
		if (strncasecmp(p, name, n) == 0 && (p[n] == ':' || p[n] == '\0'))
			return true;
	return false;
}

static void fns_take(struct cipher_fns *f, const OSSL_DISPATCH *d)
{
	for (; d->function_id; d++) {
		switch (d->function_id) {
		case OSSL_FUNC_CIPHER_NEWCTX: f->newctx = OSSL_FUNC_cipher_newctx(d); break;
		case OSSL_FUNC_CIPHER_FREECTX: f->freectx = OSSL_FUNC_cipher_freectx(d); break;
		case OSSL_FUNC_CIPHER_ENCRYPT_INIT: f->einit = OSSL_FUNC_cipher_encrypt_init(d); break;
		case OSSL_FUNC_CIPHER_DECRYPT_INIT: f->dinit = OSSL_FUNC_cipher_decrypt_init(d); break;
		case OSSL_FUNC_CIPHER_UPDATE: f->update = OSSL_FUNC_cipher_update(d); break;
		case OSSL_FUNC_CIPHER_FINAL: f->final = OSSL_FUNC_cipher_final(d); break;
		case OSSL_FUNC_CIPHER_GET_CTX_PARAMS:
			f->get_params = OSSL_FUNC_cipher_get_ctx_params(d);
			break;
		case OSSL_FUNC_CIPHER_SET_CTX_PARAMS:
			f->set_params = OSSL_FUNC_cipher_set_ctx_params(d);
			break;
		}
	}
}

/* The provider's functions for the fetched cipher and a context of its own
 * with the key and params; false leaves the work to EVP. */
static bool kc_direct(struct kcipher *k, const char *name, const uint8_t *key, size_t keylen,
		      const OSSL_PARAM *params)
{
	const OSSL_PROVIDER *prov = EVP_CIPHER_get0_provider(k->cipher);
	const OSSL_ALGORITHM *algs, *alg;
	const struct cipher_fns *f = &k->f;
	int no_store = 0;

	if (evp_only || !prov)
		return false;
	algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_store);
	for (alg = algs; alg && alg->algorithm_names; alg++)
		if (names_have(alg->algorithm_names, name)) {
			fns_take(&k->f, alg->implementation);
			break;
		}
	if (algs)
		OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, algs);
	if (!f->newctx || !f->freectx || !f->einit || !f->dinit || !f->update || !f->final ||
	    !f->get_params || !f->set_params)
		return false;
	k->pctx = f->newctx(OSSL_PROVIDER_get0_provider_ctx(prov));
	if (k->pctx &&
	    (k->encrypt ? f->einit : f->dinit)(k->pctx, key, keylen, NULL, 0, params) == 1)
		return true;
	if (k->pctx)
		f->freectx(k->pctx);
	k->pctx = NULL;
	return false;
}

static bool kc_evp(struct kcipher *k, const uint8_t *key, const OSSL_PARAM *params)
{
	k->ctx = EVP_CIPHER_CTX_new();
	return k->ctx &&
	       EVP_CipherInit_ex2(k->ctx, k->cipher, NULL, NULL, k->encrypt, params) == 1 &&
	       EVP_CipherInit_ex2(k->ctx, NULL, key, NULL, k->encrypt, NULL) == 1;
}

static void kc_free(struct kcipher *k)
{
	if (k->pctx)
		k->f.freectx(k->pctx);	/* cleanses the key schedule */
	EVP_CIPHER_CTX_free(k->ctx);	/* so does this */
	EVP_CIPHER_free(k->cipher);
}

static int kc_init(struct kcipher *k, const char *name, const uint8_t *key, size_t keylen,
		   bool encrypt, const OSSL_PARAM *params)
{
	k->encrypt = encrypt;
	k->cipher = EVP_CIPHER_fetch(NULL, name, NULL);
	if (!k->cipher || (!kc_direct(k, name, key, keylen, params) && !kc_evp(k, key, params)))
		return -1;
	return 0;
}

/* A new nonce or IV for the next message. */
static int kc_start(struct kcipher *k, const uint8_t *iv, size_t ivlen)
{
	if (k->pctx)
		return (k->encrypt ? k->f.einit : k->f.dinit)(k->pctx, NULL, 0, iv, ivlen,
							      NULL) == 1 ? 0 : -EIO;
	return EVP_CipherInit_ex(k->ctx, NULL, NULL, NULL, iv, k->encrypt) == 1 ? 0 : -EIO;
}

/* len bytes through the cipher in place, or with out NULL, of AAD. */
static int kc_update(struct kcipher *k, uint8_t *out, const uint8_t *in, size_t len)
{
	size_t outl;
	int n;

	if (!len)
		return 0;
	if (len > INT32_MAX)
		return -EIO;
	if (k->pctx)
		return k->f.update(k->pctx, out, &outl, len, in, len) == 1 && (!out || outl == len) ?
		       0 : -EIO;
	return EVP_CipherUpdate(k->ctx, out, &n, in, (int)len) == 1 && (!out || (size_t)n == len) ?
	       0 : -EIO;
}

/* Nothing is held back (stream modes; CBC without padding, whole blocks),
 * so the end writes nothing; for an AEAD it checks the tag. */
static int kc_final(struct kcipher *k, uint8_t *out)
{
	size_t outl = 0;
	int n = 0;

	if (k->pctx)
		return k->f.final(k->pctx, out, &outl, 0) == 1 && outl == 0 ? 0 : -EBADMSG;
	return EVP_CipherFinal_ex(k->ctx, out, &n) == 1 && n == 0 ? 0 : -EBADMSG;
}

static int kc_params(struct kcipher *k, OSSL_PARAM *p, bool set)
{
	if (k->pctx)
		return (set ? k->f.set_params(k->pctx, p) : k->f.get_params(k->pctx, p)) == 1 ?
		       0 : -EIO;
	if (set)
		return EVP_CIPHER_CTX_set_params(k->ctx, p) == 1 ? 0 : -EIO;
	return EVP_CIPHER_CTX_get_params(k->ctx, p) == 1 ? 0 : -EIO;
}

static const char *aead_name(enum aead_alg alg, size_t keylen)
{
	if (alg == AEAD_CHACHA20_POLY1305)
		return keylen == 32 ? "ChaCha20-Poly1305" : NULL;
	return keylen == 16 ? "AES-128-GCM" : keylen == 32 ? "AES-256-GCM" : NULL;
}

struct aead *aead_new(enum aead_alg alg, const uint8_t *key, size_t keylen, bool encrypt)
{
	const char *name = aead_name(alg, keylen);
	size_t ivlen = AEAD_NONCE_LEN;
	OSSL_PARAM p[2] = {
		OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivlen),
		OSSL_PARAM_construct_end(),
	};
	struct aead *a;

	if (!name)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a && kc_init(&a->k, name, key, keylen, encrypt, p)) {
		aead_free(a);
		return NULL;
	}
	return a;
}

bool aead_is_direct(const struct aead *a)
{
	return a->k.pctx != NULL;
}

void aead_free(struct aead *a)
{
	if (!a)
		return;
	kc_free(&a->k);
	free(a);
}

/* The tag through the parameters: the EVP_CIPHER_CTX_ctrl() route
 * translates to the same call but costs about a tenth of a 1400-byte
 * packet's instructions on the way. */
static int aead_tag(struct aead *a, uint8_t tag[AEAD_TAG_LEN], bool set)
{
	OSSL_PARAM p[2] = {
		OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, AEAD_TAG_LEN),
		OSSL_PARAM_construct_end(),
	};

	return kc_params(&a->k, p, set);
}

int aead_seal(struct aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *aad, size_t aadlen, const uint8_t *aad2, size_t aad2len,
	      uint8_t *data, size_t len, uint8_t tag[AEAD_TAG_LEN])
{
	struct kcipher *k = &a->k;

	if (!k->encrypt || len > INT32_MAX)
		return -EINVAL;
	if (kc_start(k, nonce, AEAD_NONCE_LEN) || kc_update(k, NULL, aad, aadlen) ||
	    kc_update(k, NULL, aad2, aad2len) || kc_update(k, data, data, len) ||
	    kc_final(k, data + len) || aead_tag(a, tag, false))
		return -EIO;
	return 0;
}

int aead_open(struct aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *aad, size_t aadlen, const uint8_t *aad2, size_t aad2len,
	      uint8_t *data, size_t len, const uint8_t tag[AEAD_TAG_LEN])
{
	struct kcipher *k = &a->k;
	uint8_t t[AEAD_TAG_LEN];

	if (k->encrypt || len > INT32_MAX)
		return -EINVAL;
	memcpy(t, tag, sizeof(t));	/* the parameter takes a non-const pointer */
	if (kc_start(k, nonce, AEAD_NONCE_LEN) || kc_update(k, NULL, aad, aadlen) ||
	    kc_update(k, NULL, aad2, aad2len) || kc_update(k, data, data, len) ||
	    aead_tag(a, t, true))
		return -EIO;
	/* The provider compares the tag in constant time (CRYPTO_memcmp). */
	return kc_final(k, data + len);
}

struct cbc *cbc_new(const uint8_t *key, size_t keylen, bool encrypt)
{
	const char *name = keylen == 16 ? "AES-128-CBC" : keylen == 32 ? "AES-256-CBC" : NULL;
	unsigned int pad = 0;	/* ESP pads itself (RFC 4303 §2.4) */
	OSSL_PARAM p[2] = {
		OSSL_PARAM_construct_uint(OSSL_CIPHER_PARAM_PADDING, &pad),
		OSSL_PARAM_construct_end(),
	};
	struct cbc *c;

	if (!name)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c && kc_init(&c->k, name, key, keylen, encrypt, p)) {
		cbc_free(c);
		return NULL;
	}
	return c;
}

bool cbc_is_direct(const struct cbc *c)
{
	return c->k.pctx != NULL;
}

void cbc_free(struct cbc *c)
{
	if (!c)
		return;
	kc_free(&c->k);
	free(c);
}

int cbc_crypt(struct cbc *c, const uint8_t iv[CBC_BLOCK], uint8_t *data, size_t len)
{
	if (len % CBC_BLOCK || len > INT32_MAX)
		return -EINVAL;
	if (kc_start(&c->k, iv, CBC_BLOCK) || kc_update(&c->k, data, data, len) ||
	    kc_final(&c->k, data + len))
		return -EIO;
	return 0;
}

struct hmac *hmac_new(enum hash_alg h, const uint8_t *key, size_t keylen)
{
	const char *md = h == HASH_SHA256 ? "SHA256" : h == HASH_SHA384 ? "SHA384" : "SHA512";
	OSSL_PARAM params[2];
	EVP_MAC *mac;
	struct hmac *m;

	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac)
		m->ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);	/* the context holds its own reference */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!m->ctx || EVP_MAC_init(m->ctx, key, keylen, params) != 1) {
		hmac_free(m);
		return NULL;
	}
	m->size = EVP_MAC_CTX_get_mac_size(m->ctx);
	return m;
}

void hmac_free(struct hmac *m)
{
	if (!m)
		return;
	EVP_MAC_CTX_free(m->ctx);
	free(m);
}

size_t hmac_size(const struct hmac *m)
{
	return m->size;
}

int hmac_start(struct hmac *m)
{
	/* A NULL key re-initialises with the key already set (OpenSSL 3). */
	return EVP_MAC_init(m->ctx, NULL, 0, NULL) == 1 ? 0 : -EIO;
}

int hmac_update(struct hmac *m, const uint8_t *p, size_t n)
{
	return EVP_MAC_update(m->ctx, p, n) == 1 ? 0 : -EIO;
}

int hmac_finish(struct hmac *m, uint8_t *out)
{
	size_t outl;

	return EVP_MAC_final(m->ctx, out, &outl, m->size) == 1 && outl == m->size ? 0 : -EIO;
}

int sha1(const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t out[20])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int outl = 0;
	size_t i;
	int ok;

	ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1;
	for (i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, parts[i], lens[i]) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, out, &outl) == 1 && outl == 20;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}
