/*
 * sk.c - IKEv2 Encrypted payload protection (see sk.h), and the Encrypted
 * Fragment payload of RFC 7383 §2.5, protected the same way.
 */
#include "ike/sk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"
#include "lib/cursor.h"
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

size_t ike_sk_body_len(const struct ike_sk *s, size_t len)
{
	/* Pad Length last; CBC needs whole blocks, AEADs need nothing. */
	size_t ct = s->aead ? len + 1 : (len + 1 + CBC_BLOCK - 1) / CBC_BLOCK * CBC_BLOCK;

	return s->iv_len + ct + s->icv_len;
}

size_t ike_sk_room(const struct ike_sk *s, size_t body)
{
	size_t ct;

	if (body <= s->iv_len + s->icv_len + 1)
		return 0;
	ct = body - s->iv_len - s->icv_len;
	if (!s->aead)
		ct -= ct % CBC_BLOCK;
	return ct ? ct - 1 : 0;
}

/*
 * Append an SK or SKF payload.  extra is what follows the generic header
 * before the IV (SKF: Fragment Number and Total Fragments): RFC 7383 §2.5
 * puts it inside what the AEAD's associated data and the ICV cover.
 */
static int seal(struct ike_sk *s, struct ike_wr *w, uint8_t type, uint8_t first,
		const uint8_t *extra, size_t extra_len, const uint8_t *inner, size_t len)
{
	struct buf *b = w->b;
	size_t sk_start, hdr_end, iv_off, pt_off, pad, ptlen, i;
	uint8_t iv[CBC_BLOCK], nonce[AEAD_NONCE_LEN], mac[HMAC_MAX];

	if (!s)
		return -EINVAL;
	ikew_begin(w, type);
	sk_start = w->cur;
	buf_add(b, extra, extra_len);
	hdr_end = b->len;
	if (rand_bytes(iv, s->iv_len))
		return -EIO;
	iv_off = b->len;
	buf_add(b, iv, s->iv_len);
	pt_off = b->len;
	buf_add(b, inner, len);
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
	b->data[sk_start] = first;	/* the header names the first inner payload */
	if (s->aead) {
		memcpy(nonce, s->salt_out, 4);
		memcpy(nonce + 4, b->data + iv_off, 8);
		return aead_seal(s->a_out, nonce, b->data, hdr_end, NULL, 0, b->data + pt_off,
				 ptlen, b->data + pt_off + ptlen);
	}
	if (cbc_crypt(s->c_out, b->data + iv_off, b->data + pt_off, ptlen) ||
	    hmac_start(s->h_out) || hmac_update(s->h_out, b->data, pt_off + ptlen) ||
	    hmac_finish(s->h_out, mac))
		return -EIO;
	memcpy(b->data + pt_off + ptlen, mac, s->icv_len);
	return 0;
}

int ike_sk_seal(struct ike_sk *s, struct ike_wr *w, uint8_t first, const uint8_t *inner,
		size_t len)
{
	return seal(s, w, PL_SK, first, NULL, 0, inner, len);
}

int ike_sk_seal_frag(struct ike_sk *s, struct ike_wr *w, uint8_t first, uint16_t num,
		     uint16_t total, const uint8_t *inner, size_t len)
{
	uint8_t x[4];

	be16_put(x, num);
	be16_put(x + 2, total);
	/* §2.5: only the first fragment names the first inner payload. */
	return seal(s, w, PL_SKF, num == 1 ? first : PL_NONE, x, sizeof(x), inner, len);
}

/*
 * Verify and decrypt, in place, the protected body at raw[off..off+len):
 * IV, ciphertext, ICV.  Everything before it in the message is what the
 * AEAD authenticates as associated data (RFC 5282 §5.1, RFC 7383 §2.5);
 * the HMAC covers the message up to the ICV.  The ICV is checked before
 * anything is decrypted.
 */
static int open_body(struct ike_sk *s, uint8_t *raw, size_t off, size_t len, uint8_t **out,
		     size_t *outlen)
{
	size_t pt_off, ptlen, padlen;
	uint8_t nonce[AEAD_NONCE_LEN], mac[HMAC_MAX], *pt;

	if (!s || len < s->iv_len + s->icv_len + 1)
		return -N_INVALID_SYNTAX;
	pt_off = off + s->iv_len;
	ptlen = len - s->iv_len - s->icv_len;
	pt = raw + pt_off;
	if (s->aead) {
		memcpy(nonce, s->salt_in, 4);
		memcpy(nonce + 4, raw + off, 8);
		if (aead_open(s->a_in, nonce, raw, off, NULL, 0, pt, ptlen, pt + ptlen))
			return -N_INVALID_SYNTAX;
	} else {
		if (ptlen % CBC_BLOCK || hmac_start(s->h_in) ||
		    hmac_update(s->h_in, raw, pt_off + ptlen) || hmac_finish(s->h_in, mac) ||
		    !ct_equal(mac, pt + ptlen, s->icv_len) ||
		    cbc_crypt(s->c_in, raw + off, pt, ptlen))
			return -N_INVALID_SYNTAX;
	}
	padlen = pt[ptlen - 1];
	if (padlen + 1 > ptlen)
		return -N_INVALID_SYNTAX;
	*out = pt;
	*outlen = ptlen - padlen - 1;
	return 0;
}

int ike_sk_open(struct ike_sk *s, uint8_t *raw, struct ike_msg *m)
{
	const struct ike_pl *sk = m->sk;
	uint8_t *pt;
	size_t len;
	int r;

	if (!sk)
		return -N_INVALID_SYNTAX;
	r = open_body(s, raw, (size_t)(sk->body - m->raw), sk->len, &pt, &len);
	return r ? r : ike_chain_parse(m, m->sk_first, pt, len);
}

int ike_sk_frag_hdr(const struct ike_msg *m, uint16_t *num, uint16_t *total)
{
	const struct ike_pl *f = m->skf;

	if (!f || f->len < 4)
		return -N_INVALID_SYNTAX;
	*num = be16_get(f->body);
	*total = be16_get(f->body + 2);
	/* §2.5: neither is zero, and the number is at most the total. */
	return *num && *total && *num <= *total ? 0 : -N_INVALID_SYNTAX;
}

int ike_sk_open_frag(struct ike_sk *s, uint8_t *raw, const struct ike_msg *m, uint8_t **pt,
		     size_t *len)
{
	const struct ike_pl *f = m->skf;

	if (!f || f->len < 4)
		return -N_INVALID_SYNTAX;
	return open_body(s, raw, (size_t)(f->body - m->raw) + 4, f->len - 4, pt, len);
}
