/*
 * alg.c - the algorithm keyword table (see alg.h).  One row per word; the
 * first row for a wire transform is its canonical name.
 */
#include "crypto/alg.h"

#include <string.h>

#include "crypto/dh.h"
#include "crypto/prf.h"
#include "crypto/suite.h"

static const struct alg algs[] = {
	{ "aes128gcm16", ALG_ENCR, ENCR_AES_GCM_16, 128, true },
	{ "aes128gcm128", ALG_ENCR, ENCR_AES_GCM_16, 128, true },
	{ "aes256gcm16", ALG_ENCR, ENCR_AES_GCM_16, 256, true },
	{ "aes256gcm128", ALG_ENCR, ENCR_AES_GCM_16, 256, true },
	/* RFC 7634 §2: a 256-bit key, and no Key Length attribute. */
	{ "chacha20poly1305", ALG_ENCR, ENCR_CHACHA20_POLY1305, 256, false },
	{ "aes128", ALG_ENCR, ENCR_AES_CBC, 128, true },
	{ "aes256", ALG_ENCR, ENCR_AES_CBC, 256, true },
	{ "sha256", ALG_INTEG, AUTH_HMAC_SHA2_256_128, 0, false },
	{ "sha384", ALG_INTEG, AUTH_HMAC_SHA2_384_192, 0, false },
	{ "sha512", ALG_INTEG, AUTH_HMAC_SHA2_512_256, 0, false },
	{ "prfsha256", ALG_PRF, PRF_HMAC_SHA2_256, 0, false },
	{ "prfsha384", ALG_PRF, PRF_HMAC_SHA2_384, 0, false },
	{ "prfsha512", ALG_PRF, PRF_HMAC_SHA2_512, 0, false },
	{ "modp2048", ALG_DH, DH_MODP2048, 0, false },
	{ "modp3072", ALG_DH, DH_MODP3072, 0, false },
	{ "ecp256", ALG_DH, DH_ECP256, 0, false },
	{ "ecp384", ALG_DH, DH_ECP384, 0, false },
	{ "x25519", ALG_DH, DH_X25519, 0, false },
	{ "curve25519", ALG_DH, DH_X25519, 0, false },
	{ "esn", ALG_ESN, 1, 0, false },
	{ "noesn", ALG_ESN, 0, 0, false },
};

#define N_ALGS (sizeof(algs) / sizeof(algs[0]))

const struct alg *alg_at(unsigned i)
{
	return i < N_ALGS ? &algs[i] : NULL;
}

const struct alg *alg_find(const char *kw)
{
	size_t i;

	for (i = 0; i < N_ALGS; i++)
		if (!strcmp(algs[i].kw, kw))
			return &algs[i];
	return NULL;
}

uint16_t alg_attr_bits(const struct alg *a)
{
	return a->key_attr ? a->key_bits : 0;
}

const struct alg *alg_by_wire(uint8_t type, uint16_t id, uint16_t attr_bits)
{
	size_t i;

	for (i = 0; i < N_ALGS; i++)
		if (algs[i].type == type && algs[i].id == id && alg_attr_bits(&algs[i]) == attr_bits)
			return &algs[i];
	return NULL;
}

const struct alg *alg_encr(uint16_t id, uint16_t key_bits)
{
	size_t i;

	for (i = 0; i < N_ALGS; i++)
		if (algs[i].type == ALG_ENCR && algs[i].id == id && algs[i].key_bits == key_bits)
			return &algs[i];
	return NULL;
}

uint16_t alg_encr_key_bits(uint16_t id, uint16_t attr_bits)
{
	const struct alg *a = alg_by_wire(ALG_ENCR, id, attr_bits);

	return a ? a->key_bits : 0;
}

bool alg_encr_aead(uint16_t id)
{
	return id == ENCR_AES_GCM_16 || id == ENCR_CHACHA20_POLY1305;
}
