/*
 * keys.c - IKEv2 key derivation and PSK authentication data (see keys.h).
 */
#include "ike/keys.h"

#include <errno.h>
#include <string.h>

#include "crypto/cipher.h"
#include "ike/proposal.h"
#include "lib/cursor.h"

static size_t integ_key_len(uint16_t integ)
{
	/* RFC 4868 §2.1.1: HMAC-SHA2 keys are as long as the hash. */
	return integ == AUTH_HMAC_SHA2_256_128 ? 32 : integ == AUTH_HMAC_SHA2_384_192 ? 48 :
	       integ == AUTH_HMAC_SHA2_512_256 ? 64 : 0;
}

static int setup(struct ike_keys *k, const struct ike_prop *chosen)
{
	memset(k, 0, sizeof(*k));
	if (chosen->n[TT_PRF] != 1 || chosen->n[TT_ENCR] != 1)
		return -EINVAL;
	k->prf = chosen->t[TT_PRF][0].id;
	k->encr = chosen->t[TT_ENCR][0];
	k->integ = chosen->n[TT_INTEG] ? chosen->t[TT_INTEG][0].id : 0;
	k->prf_len = prf_len(k->prf);
	/* RFC 5282 §7.1, RFC 7634 §3: AEAD keys carry a 4-byte salt. */
	k->enc_len = ike_encr_keylen(&k->encr) + (ike_encr_aead(k->encr.id) ? 4 : 0);
	k->integ_len = integ_key_len(k->integ);
	if (!k->prf_len || k->enc_len > SK_MAX_ENC || (!ike_encr_aead(k->encr.id) && !k->integ_len))
		return -EINVAL;
	return 0;
}

/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) */
static int expand(struct ike_keys *k, const uint8_t *skeyseed, size_t sklen, const struct chunk *ni,
		  const struct chunk *nr, uint64_t spi_i, uint64_t spi_r)
{
	uint8_t spis[16], km[7 * PRF_MAX + 2 * SK_MAX_ENC], *p;
	struct chunk seed[3];
	size_t total;
	int r;

	be64_put(spis, spi_i);
	be64_put(spis + 8, spi_r);
	seed[0] = *ni;
	seed[1] = *nr;
	seed[2] = (struct chunk){ spis, 16 };
	total = 3 * k->prf_len + 2 * k->integ_len + 2 * k->enc_len;
	r = prf_plus(k->prf, skeyseed, sklen, seed, 3, km, total);
	if (!r) {
		p = km;
		memcpy(k->sk_d, p, k->prf_len); p += k->prf_len;
		memcpy(k->sk_ai, p, k->integ_len); p += k->integ_len;
		memcpy(k->sk_ar, p, k->integ_len); p += k->integ_len;
		memcpy(k->sk_ei, p, k->enc_len); p += k->enc_len;
		memcpy(k->sk_er, p, k->enc_len); p += k->enc_len;
		memcpy(k->sk_pi, p, k->prf_len); p += k->prf_len;
		memcpy(k->sk_pr, p, k->prf_len);
	}
	wipe(km, sizeof(km));
	return r;
}

int ike_keys_derive(struct ike_keys *k, const struct ike_prop *chosen,
		    const struct chunk *ni, const struct chunk *nr, const struct chunk *gir,
		    uint64_t spi_i, uint64_t spi_r)
{
	uint8_t skeyseed[PRF_MAX], nonces[512];
	int r = setup(k, chosen);

	if (r)
		return r;
	if (ni->n + nr->n > sizeof(nonces))
		return -EINVAL;
	/* SKEYSEED = prf(Ni | Nr, g^ir) (§2.14) */
	memcpy(nonces, ni->p, ni->n);
	memcpy(nonces + ni->n, nr->p, nr->n);
	r = prf(k->prf, nonces, ni->n + nr->n, gir, 1, skeyseed);
	if (!r)
		r = expand(k, skeyseed, k->prf_len, ni, nr, spi_i, spi_r);
	wipe(skeyseed, sizeof(skeyseed));
	return r;
}

int ike_keys_derive_rekey(struct ike_keys *k, const struct ike_prop *chosen,
			  const struct ike_keys *old, const struct chunk *ni, const struct chunk *nr,
			  const struct chunk *gir, uint64_t spi_i, uint64_t spi_r)
{
	uint8_t skeyseed[PRF_MAX];
	struct chunk parts[3] = { *gir, *ni, *nr };
	int r = setup(k, chosen);

	if (r)
		return r;
	/* The old IKE SA's prf keyed with its SK_d. */
	r = prf(old->prf, old->sk_d, old->prf_len, parts, 3, skeyseed);
	if (!r)
		r = expand(k, skeyseed, old->prf_len, ni, nr, spi_i, spi_r);
	wipe(skeyseed, sizeof(skeyseed));
	return r;
}

int ike_child_keymat(const struct ike_keys *k, const struct chunk *gir, const struct chunk *ni,
		     const struct chunk *nr, uint8_t *out, size_t len)
{
	struct chunk seed[3] = { *gir, *ni, *nr };

	return prf_plus(k->prf, k->sk_d, k->prf_len, seed, 3, out, len);
}

int ike_psk_sign(uint16_t prf_id, const uint8_t *psk, size_t psklen, const struct chunk *octets,
		 size_t n, uint8_t *out)
{
	static const char pad[] = "Key Pad for IKEv2";	/* 17 ASCII bytes, no NUL */
	struct chunk c = { (const uint8_t *)pad, sizeof(pad) - 1 };
	uint8_t keypad[PRF_MAX];
	int r;

	if (!psklen || !prf_len(prf_id))
		return -EINVAL;
	r = prf(prf_id, psk, psklen, &c, 1, keypad);
	if (!r)
		r = prf(prf_id, keypad, prf_len(prf_id), octets, n, out);
	wipe(keypad, sizeof(keypad));
	return r;
}

int ike_signed_octets(const struct ike_keys *k, bool initiator, const struct chunk *init_msg,
		      const struct chunk *peer_nonce, const struct chunk *id_body, uint8_t *macid,
		      struct chunk out[3])
{
	int r = prf(k->prf, initiator ? k->sk_pi : k->sk_pr, k->prf_len, id_body, 1, macid);

	out[0] = *init_msg;
	out[1] = *peer_nonce;
	out[2] = (struct chunk){ macid, k->prf_len };
	return r;
}

int ike_psk_auth(const struct ike_keys *k, bool initiator, ike_psk_signer sign, void *arg,
		 const struct ike_policy *pol, const struct chunk *init_msg,
		 const struct chunk *peer_nonce, const struct chunk *id_body, uint8_t *out)
{
	uint8_t macid[PRF_MAX];
	struct chunk c[3];
	int r;

	r = prf(k->prf, initiator ? k->sk_pi : k->sk_pr, k->prf_len, id_body, 1, macid);
	if (!r) {
		c[0] = *init_msg;
		c[1] = *peer_nonce;
		c[2] = (struct chunk){ macid, k->prf_len };
		r = sign(arg, pol, k->prf, c, 3, out);
	}
	wipe(macid, sizeof(macid));
	return r;
}

int ike_ppk_mix(uint16_t prf_id, const uint8_t *ppk, size_t ppklen, size_t len,
		uint8_t sk[3][PRF_MAX])
{
	uint8_t out[PRF_MAX];
	struct chunk c;
	int i, r = 0;

	if (!ppklen || !len || len != prf_len(prf_id))
		return -EINVAL;
	/* RFC 8784 §3: each key K becomes prf+(PPK, K), cut to K's length. */
	for (i = 0; i < 3 && !r; i++) {
		c = (struct chunk){ sk[i], len };
		r = prf_plus(prf_id, ppk, ppklen, &c, 1, out, len);
		if (!r)
			memcpy(sk[i], out, len);
	}
	wipe(out, sizeof(out));
	return r;
}

void ike_keys_wipe(struct ike_keys *k)
{
	wipe(k, sizeof(*k));
}
