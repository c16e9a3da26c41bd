/*
 * dh.c - IKEv2 key exchange over OpenSSL 3 EVP_PKEY (see dh.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/evp.h>

#include "crypto/cipher.h"
#include "crypto/dh.h"

struct dh {
	uint16_t group;
	EVP_PKEY *key;
};

struct group_info {
	uint16_t id;
	const char *type;	/* EVP key type */
	const char *name;	/* group name, NULL for X25519 */
	size_t pub_len;
};

static const struct group_info groups[] = {
	{ DH_MODP2048, "DH", "modp_2048", 256 },
	{ DH_MODP3072, "DH", "modp_3072", 384 },
	{ DH_ECP256, "EC", "P-256", 64 },
	{ DH_ECP384, "EC", "P-384", 96 },
	{ DH_X25519, "X25519", NULL, 32 },
};

static const struct group_info *info(uint16_t id)
{
	size_t i;

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (groups[i].id == id)
			return &groups[i];
	return NULL;
}

bool dh_supported(uint16_t group)
{
	return info(group) != NULL;
}

size_t dh_pub_len(uint16_t group)
{
	const struct group_info *g = info(group);

	return g ? g->pub_len : 0;
}

uint16_t dh_group(const struct dh *dh)
{
	return dh->group;
}

struct dh *dh_new(uint16_t group)
{
	const struct group_info *g = info(group);
	EVP_PKEY_CTX *ctx;
	OSSL_PARAM params[2];
	struct dh *dh;

	if (!g)
		return NULL;
	dh = calloc(1, sizeof(*dh));
	if (!dh)
		return NULL;
	dh->group = group;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, g->type, NULL);
	if (!ctx || EVP_PKEY_keygen_init(ctx) != 1)
		goto fail;
	if (g->name) {
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
							     (char *)g->name, 0);
		params[1] = OSSL_PARAM_construct_end();
		if (EVP_PKEY_CTX_set_params(ctx, params) != 1)
			goto fail;
	}
	if (EVP_PKEY_generate(ctx, &dh->key) != 1)
		goto fail;
	EVP_PKEY_CTX_free(ctx);
	return dh;
fail:
	EVP_PKEY_CTX_free(ctx);
	dh_free(dh);
	return NULL;
}

void dh_free(struct dh *dh)
{
	if (!dh)
		return;
	EVP_PKEY_free(dh->key);
	free(dh);
}

int dh_public(const struct dh *dh, uint8_t *out, size_t len)
{
	const struct group_info *g = info(dh->group);
	uint8_t enc[1 + DH_MAX_PUB];
	size_t n = 0;

	if (len != g->pub_len)
		return -EINVAL;
	if (EVP_PKEY_get_octet_string_param(dh->key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, enc,
					    sizeof(enc), &n) != 1)
		return -EIO;
	if (!strcmp(g->type, "EC")) {
		/* RFC 5903 §7: x || y without the 0x04 point-format byte. */
		if (n != len + 1 || enc[0] != 0x04)
			return -EIO;
		memcpy(out, enc + 1, len);
	} else if (n <= len) {
		/* MODP values are left-padded to the prime's size (RFC 7296 §3.4). */
		memset(out, 0, len - n);
		memcpy(out + len - n, enc, n);
	} else {
		return -EIO;
	}
	return 0;
}

static EVP_PKEY *peer_key(const struct dh *dh, const struct group_info *g,
			  const uint8_t *pub, size_t len)
{
	uint8_t enc[1 + DH_MAX_PUB];
	EVP_PKEY *peer;

	if (len != g->pub_len)
		return NULL;
	if (dh->group == DH_X25519)
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, len);
	peer = EVP_PKEY_new();
	if (!peer || EVP_PKEY_copy_parameters(peer, dh->key) != 1)
		goto fail;
	if (!strcmp(g->type, "EC")) {
		enc[0] = 0x04;
		memcpy(enc + 1, pub, len);
		if (EVP_PKEY_set1_encoded_public_key(peer, enc, len + 1) != 1)
			goto fail;	/* not a point on the curve */
	} else if (EVP_PKEY_set1_encoded_public_key(peer, pub, len) != 1) {
		goto fail;
	}
	return peer;
fail:
	EVP_PKEY_free(peer);
	return NULL;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int dh_shared(struct dh *dh, const uint8_t *pub, size_t len, uint8_t *out, size_t *outlen)
{
	const struct group_info *g = info(dh->group);
	EVP_PKEY *peer = peer_key(dh, g, pub, len);
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	size_t n = DH_MAX_SHARED;
	int r = -EINVAL;

	if (!peer)
		return -EINVAL;
	/* RFC 6989 §2.1 (1 < y < p-1) and §2.3 (point on the curve). */
	if (dh->group != DH_X25519) {
		chk = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
		if (!chk || EVP_PKEY_public_check_quick(chk) != 1)
			goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, dh->key, NULL);
	if (!ctx || EVP_PKEY_derive_init(ctx) != 1 ||
	    (!strcmp(g->type, "DH") && EVP_PKEY_CTX_set_dh_pad(ctx, 1) != 1) ||
	    EVP_PKEY_derive_set_peer(ctx, peer) != 1 || EVP_PKEY_derive(ctx, out, &n) != 1)
		goto out;
	/* RFC 8031 §2.3: an all-zero X25519 result means a low-order point. */
	if (all_zero(out, n)) {
		wipe(out, n);
		goto out;
	}
	*outlen = n;
	r = 0;
out:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return r;
}
