/*
 * keys.h - IKEv2 key material: SKEYSEED and the seven SK_* keys
 * (RFC 7296 §2.14), Child SA KEYMAT (§2.17), and the octets a pre-shared
 * key AUTH payload signs (§2.15); RFC 8784 §3 mixes a post-quantum
 * preshared key (PPK) into SK_d, SK_pi and SK_pr.
 */
#ifndef VTI_IKE_KEYS_H
#define VTI_IKE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/prf.h"
#include "ike/msg.h"

#define SK_MAX_ENC (32 + 4)		/* AES-256 / ChaCha20 key + AEAD salt */

struct ike_keys {
	uint16_t prf;
	struct ike_alg encr;
	uint16_t integ;
	size_t prf_len, enc_len, integ_len;	/* enc_len includes the salt */
	uint8_t sk_d[PRF_MAX], sk_pi[PRF_MAX], sk_pr[PRF_MAX];
	uint8_t sk_ai[PRF_MAX], sk_ar[PRF_MAX];
	uint8_t sk_ei[SK_MAX_ENC], sk_er[SK_MAX_ENC];
	/* RFC 8784 §3, initiator: SK_d, SK_pi and SK_pr without the PPK,
	 * kept until the IKE_AUTH response says which the responder used. */
	uint8_t no_ppk[3][PRF_MAX];
};

/* SKEYSEED = prf(Ni | Nr, g^ir); SK_* = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr). */
int ike_keys_derive(struct ike_keys *k, const struct ike_prop *chosen,
		    const struct chunk *ni, const struct chunk *nr, const struct chunk *gir,
		    uint64_t spi_i, uint64_t spi_r) __attribute__((warn_unused_result));
/* IKE SA rekey (§2.18): SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr). */
int ike_keys_derive_rekey(struct ike_keys *k, const struct ike_prop *chosen,
			  const struct ike_keys *old, const struct chunk *ni, const struct chunk *nr,
			  const struct chunk *gir, uint64_t spi_i, uint64_t spi_r)
	__attribute__((warn_unused_result));
/* KEYMAT = prf+(SK_d, [g^ir (new)] | Ni | Nr); gir may be empty. */
int ike_child_keymat(const struct ike_keys *k, const struct chunk *gir, const struct chunk *ni,
		     const struct chunk *nr, uint8_t *out, size_t len)
	__attribute__((warn_unused_result));
/*
 * AUTH = prf(prf(PSK, "Key Pad for IKEv2"), msg | nonce | prf(SK_p, IDbody)),
 * where msg is the sender's IKE_SA_INIT message and nonce the peer's.
 * ike_psk_auth computes the last part with the session key and hands the
 * octets to sign, which applies the PSK: in the process that holds it
 * (the daemon asks the key-holding process), or ike_psk_sign directly in a test.
 */
struct ike_policy;
typedef int (*ike_psk_signer)(void *arg, const struct ike_policy *pol, uint16_t prf_id,
			      const struct chunk *octets, size_t n, uint8_t *out);
int ike_psk_auth(const struct ike_keys *k, bool initiator, ike_psk_signer sign, void *arg,
		 const struct ike_policy *pol, const struct chunk *init_msg,
		 const struct chunk *peer_nonce, const struct chunk *id_body, uint8_t *out)
	__attribute__((warn_unused_result));
/*
 * RFC 7296 §2.15 / RFC 7427 §3: a signature covers the same octets,
 * msg | nonce | prf(SK_p, IDbody); macid (PRF_MAX) holds the last part
 * and out[3] the three pieces.  The signer gets the hash (enum sig_hash)
 * and returns the signature's length or -errno.
 */
int ike_signed_octets(const struct ike_keys *k, bool initiator, const struct chunk *init_msg,
		      const struct chunk *peer_nonce, const struct chunk *id_body, uint8_t *macid,
		      struct chunk out[3]) __attribute__((warn_unused_result));
typedef int (*ike_signer)(void *arg, const struct ike_policy *pol, int hash,
			  const struct chunk *octets, size_t n, uint8_t *out, size_t max);
/* prf(prf(psk, "Key Pad for IKEv2"), octets[0..n)) */
int ike_psk_sign(uint16_t prf_id, const uint8_t *psk, size_t psklen, const struct chunk *octets,
		 size_t n, uint8_t *out) __attribute__((warn_unused_result));
/*
 * RFC 8784 §3: SK_d' = prf+(PPK, SK_d), SK_pi' = prf+(PPK, SK_pi),
 * SK_pr' = prf+(PPK, SK_pr), each as long as the key it replaces (the
 * prf's output, len).  sk[0..2] holds SK_d, SK_pi, SK_pr and gets the
 * mixed keys.  An ike_ppk_mixer applies the PPK of the policy: in the
 * process that holds it (the daemon asks the key-holding process), or
 * ike_ppk_mix directly in a test.
 */
typedef int (*ike_ppk_mixer)(void *arg, const struct ike_policy *pol, uint16_t prf_id,
			     size_t len, uint8_t sk[3][PRF_MAX]);
int ike_ppk_mix(uint16_t prf_id, const uint8_t *ppk, size_t ppklen, size_t len,
		uint8_t sk[3][PRF_MAX]) __attribute__((warn_unused_result));
void ike_keys_wipe(struct ike_keys *k);

#endif
