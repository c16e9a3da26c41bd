/*
 * sk.c - IKEv2 Encrypted payload protection (see sk.h).
 */
#include "ike/sk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"
#include "ike/proposal.h"

struct ike_sk {
	bool aead;
	size_t iv_len, icv_len;
	struct aead *a_out, *a_in;
	struct cbc *c_out, *c_in;
	struct hmac *h_out, *h_in;
	uint8_t salt_out[4], salt_in[4];
};

static enum hash_alg hash_of(uint16_t integ)
{
	return integ == AUTH_HMAC_SHA2_384_192 ? HASH_SHA384 :
	       integ == AUTH_HMAC_SHA2_512_256 ? HASH_SHA512 : HASH_SHA256;
}

struct ike_sk *ike_sk_new(const struct ike_keys *k, bool initiator)
{
	const uint8_t *ke_out = initiator ? k->sk_ei : k->sk_er;
	const uint8_t *ke_in = initiator ? k->sk_er : k->sk_ei;
	const uint8_t *ka_out = initiator ? k->sk_ai : k->sk_ar;
	const uint8_t *ka_in = initiator ? k->sk_ar : k->sk_ai;
	size_t klen = ike_encr_keylen(&k->encr);
	struct ike_sk *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->aead = ike_encr_aead(k->encr.id);
	if (s->aead) {
		enum aead_alg alg = k->encr.id == ENCR_CHACHA20_POLY1305 ? AEAD_CHACHA20_POLY1305
									  : AEAD_AES_GCM;

		s->iv_len = 8;
		s->icv_len = AEAD_TAG_LEN;
		s->a_out = aead_new(alg, ke_out, klen, true);
		s->a_in = aead_new(alg, ke_in, klen, false);
		memcpy(s->salt_out, ke_out + klen, 4);
		memcpy(s->salt_in, ke_in + klen, 4);
		if (!s->a_out || !s->a_in)
			goto fail;
	} else {
		s->iv_len = CBC_BLOCK;
		s->icv_len = k->integ_len / 2;	/* RFC 4868 truncation */
		s->c_out = cbc_new(ke_out, klen, true);
		s->c_in = cbc_new(ke_in, klen, false);
		s->h_out = hmac_new(hash_of(k->integ), ka_out, k->integ_len);
		s->h_in = hmac_new(hash_of(k->integ), ka_in, k->integ_len);
		if (!s->c_out || !s->c_in || !s->h_out || !s->h_in)
			goto fail;
	}
	return s;
fail:
	ike_sk_free(s);
	return NULL;
}

void ike_sk_free(struct ike_sk *s)
{
	if (!s)
		return;
	aead_free(s->a_out);
	aead_free(s->a_in);
	cbc_free(s->c_out);
	cbc_free(s->c_in);
	hmac_free(s->h_out);
	hmac_free(s->h_in);
	wipe(s, sizeof(*s));
	free(s);
}

int ike_sk_seal(struct ike_sk *s, struct ike_wr *w, uint8_t first, const uint8_t *inner,
		size_t len)
{
	struct buf *b = w->b;
	size_t sk_start, iv_off, pt_off, pad, ptlen, i;
	uint8_t iv[CBC_BLOCK], nonce[AEAD_NONCE_LEN], mac[HMAC_MAX];

	if (!s)
		return -EINVAL;
	ikew_begin(w, PL_SK);
	sk_start = w->cur;
	if (rand_bytes(iv, s->iv_len))
		return -EIO;
	iv_off = b->len;
	buf_add(b, iv, s->iv_len);
	pt_off = b->len;
	buf_add(b, inner, len);
	/* Pad Length last; CBC needs whole blocks, AEADs need nothing. */
	pad = s->aead ? 0 : (CBC_BLOCK - (len + 1) % CBC_BLOCK) % CBC_BLOCK;
	for (i = 0; i < pad; i++)
		buf_add_u8(b, 0);
	buf_add_u8(b, (uint8_t)pad);
	ptlen = b->len - pt_off;
	buf_hole(b, s->icv_len);
	ikew_end(w);
	ikew_finish(w);
	if (b->bad)
		return -ENOMEM;
	b->data[sk_start] = first;	/* the SK header names the first inner payload */
	if (s->aead) {
		memcpy(nonce, s->salt_out, 4);
		memcpy(nonce + 4, b->data + iv_off, 8);
		return aead_seal(s->a_out, nonce, b->data, sk_start + 4, NULL, 0, b->data + pt_off,
				 ptlen, b->data + pt_off + ptlen);
	}
	if (cbc_crypt(s->c_out, b->data + iv_off, b->data + pt_off, ptlen) ||
	    hmac_start(s->h_out) || hmac_update(s->h_out, b->data, pt_off + ptlen) ||
	    hmac_finish(s->h_out, mac))
		return -EIO;
	memcpy(b->data + pt_off + ptlen, mac, s->icv_len);
	return 0;
}

int ike_sk_open(struct ike_sk *s, uint8_t *raw, struct ike_msg *m)
{
	const struct ike_pl *sk = m->sk;
	size_t body_off, pt_off, ptlen, padlen;
	uint8_t nonce[AEAD_NONCE_LEN], mac[HMAC_MAX], *pt;

	if (!s || !sk || sk->len < s->iv_len + s->icv_len + 1)
		return -N_INVALID_SYNTAX;
	body_off = (size_t)(sk->body - m->raw);
	pt_off = body_off + s->iv_len;
	ptlen = sk->len - s->iv_len - s->icv_len;
	pt = raw + pt_off;
	if (s->aead) {
		memcpy(nonce, s->salt_in, 4);
		memcpy(nonce + 4, raw + body_off, 8);
		if (aead_open(s->a_in, nonce, raw, body_off, NULL, 0, pt, ptlen, pt + ptlen))
			return -N_INVALID_SYNTAX;
	} else {
		if (ptlen % CBC_BLOCK || hmac_start(s->h_in) ||
		    hmac_update(s->h_in, raw, pt_off + ptlen) || hmac_finish(s->h_in, mac) ||
		    !ct_equal(mac, pt + ptlen, s->icv_len) ||
		    cbc_crypt(s->c_in, raw + body_off, pt, ptlen))
			return -N_INVALID_SYNTAX;
	}
	padlen = pt[ptlen - 1];
	if (padlen + 1 > ptlen)
		return -N_INVALID_SYNTAX;
	return ike_chain_parse(m, m->sk_first, pt, ptlen - padlen - 1);
}
