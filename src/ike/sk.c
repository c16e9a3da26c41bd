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

/*
 * The keys of one direction, in the IKE SA's struct ike_keys.  The
 * OpenSSL contexts are made for each message and freed after it: an
 * AES-GCM context is 1.2 KB, and an idle IKE SA at a hub with 10,000
 * branches sends a message every dpd seconds (issue target: 8 KiB a
 * tunnel); setting one up costs about a microsecond.
 */
struct sk_dir {
	const uint8_t *ke;	/* encryption key (+ salt for an AEAD) */
	const uint8_t *ka;	/* integrity key (not for an AEAD) */
};

struct ike_sk {
	bool aead;
	enum aead_alg alg;
	enum hash_alg hash;
	size_t klen, ka_len;
	size_t iv_len, icv_len;
	struct sk_dir out, in;
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
	struct ike_sk *s;

	if (k->enc_len > SK_MAX_ENC || k->integ_len > HMAC_MAX)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->klen = ike_encr_keylen(&k->encr);
	s->aead = ike_encr_aead(k->encr.id);
	s->alg = k->encr.id == ENCR_CHACHA20_POLY1305 ? AEAD_CHACHA20_POLY1305 : AEAD_AES_GCM;
	s->hash = hash_of(k->integ);
	s->out = (struct sk_dir){ ke_out, ka_out };
	s->in = (struct sk_dir){ ke_in, ka_in };
	if (s->aead) {
		s->iv_len = 8;
		s->icv_len = AEAD_TAG_LEN;
	} else {
		s->iv_len = CBC_BLOCK;
		s->icv_len = k->integ_len / 2;	/* RFC 4868 truncation */
		s->ka_len = k->integ_len;
	}
	return s;
}

void ike_sk_free(struct ike_sk *s)
{
	if (!s)
		return;
	wipe(s, sizeof(*s));
	free(s);
}

/* RFC 5282 §5.1 (AES-GCM) and RFC 7634 §2 (ChaCha20-Poly1305): the
 * nonce is the 4-octet salt after the key, then the 8-octet IV. */
static int aead_body(const struct ike_sk *s, const struct sk_dir *d, bool seal,
		     const uint8_t *iv, const uint8_t *aad, size_t aadlen, uint8_t *pt,
		     size_t ptlen, uint8_t *tag)
{
	uint8_t nonce[AEAD_NONCE_LEN];
	struct aead *a = aead_new(s->alg, d->ke, s->klen, seal);
	int r;

	if (!a)
		return -ENOMEM;
	memcpy(nonce, d->ke + s->klen, 4);
	memcpy(nonce + 4, iv, 8);
	r = seal ? aead_seal(a, nonce, aad, aadlen, NULL, 0, pt, ptlen, tag)
		 : aead_open(a, nonce, aad, aadlen, NULL, 0, pt, ptlen, tag);
	aead_free(a);
	return r;
}

/* The HMAC of m[0..len) with the direction's integrity key. */
static int mac_of(const struct ike_sk *s, const struct sk_dir *d, const uint8_t *m, size_t len,
		  uint8_t out[HMAC_MAX])
{
	struct hmac *h = hmac_new(s->hash, d->ka, s->ka_len);
	int r;

	if (!h)
		return -ENOMEM;
	r = hmac_start(h) || hmac_update(h, m, len) || hmac_finish(h, out) ? -EIO : 0;
	hmac_free(h);
	return r;
}

/* CBC over data[len] in place, with the direction's key. */
static int cbc_body(const struct ike_sk *s, const struct sk_dir *d, bool encrypt,
		    const uint8_t *iv, uint8_t *data, size_t len)
{
	struct cbc *c = cbc_new(d->ke, s->klen, encrypt);
	int r;

	if (!c)
		return -ENOMEM;
	r = cbc_crypt(c, iv, data, len) ? -EIO : 0;
	cbc_free(c);
	return r;
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
	uint8_t iv[CBC_BLOCK], mac[HMAC_MAX];

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
	if (s->aead)
		return aead_body(s, &s->out, true, b->data + iv_off, b->data, hdr_end,
				 b->data + pt_off, ptlen, b->data + pt_off + ptlen);
	if (cbc_body(s, &s->out, true, b->data + iv_off, b->data + pt_off, ptlen) ||
	    mac_of(s, &s->out, b->data, pt_off + ptlen, mac))
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
	uint8_t mac[HMAC_MAX], *pt;

	if (!s || len < s->iv_len + s->icv_len + 1)
		return -N_INVALID_SYNTAX;
	pt_off = off + s->iv_len;
	ptlen = len - s->iv_len - s->icv_len;
	pt = raw + pt_off;
	if (s->aead) {
		if (aead_body(s, &s->in, false, raw + off, raw, off, pt, ptlen, pt + ptlen))
			return -N_INVALID_SYNTAX;
	} else {
		if (ptlen % CBC_BLOCK || mac_of(s, &s->in, raw, pt_off + ptlen, mac) ||
		    !ct_equal(mac, pt + ptlen, s->icv_len) ||
		    cbc_body(s, &s->in, false, raw + off, pt, ptlen))
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
