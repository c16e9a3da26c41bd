/*
 * esp.c - ESP in tunnel mode (RFC 4303 §2, §3.3 outbound, §3.4 inbound)
 * with the AEAD framing of RFC 4106 §3-5 (AES-GCM) and RFC 7634 §2
 * (ChaCha20-Poly1305), and AES-CBC + HMAC-SHA2 per RFC 3602 / RFC 4868.
 * Also the SA object's constructor and destructor.
 */
#include "esp/esp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"
#include "lib/cursor.h"
#include "lib/log.h"

static enum hash_alg integ_hash(enum integ_id id)
{
	return id == AUTH_HMAC_SHA2_384_192 ? HASH_SHA384 :
	       id == AUTH_HMAC_SHA2_512_256 ? HASH_SHA512 : HASH_SHA256;
}

struct sa *sa_new(uint32_t spi, bool inbound, const struct esp_suite *suite,
		  const uint8_t *keymat, size_t keylen, uint32_t replay_window)
{
	size_t ek = esp_suite_enc_key_len(suite), sl = esp_suite_salt_len(suite);
	struct sa *sa;

	if (keylen != esp_suite_keymat_len(suite) || keylen > sizeof(sa->key))
		return NULL;
	sa = calloc(1, sizeof(*sa));
	if (!sa)
		return NULL;
	sa->spi = spi;
	sa->inbound = inbound;
	sa->suite = *suite;
	sa->is_aead = esp_suite_is_aead(suite);
	sa->iv_len = esp_suite_iv_len(suite);
	sa->icv_len = esp_suite_icv_len(suite);
	sa->align = esp_suite_align(suite);
	sa->seq_limit = sa->seq_check = sa_seq_max(sa);
	memcpy(sa->key, keymat, keylen);
	sa->keylen = keylen;
	memcpy(sa->salt, keymat + ek, sl);
	if (sa_warm(sa) < 0)
		goto fail;
	if (inbound && replay_init(&sa->replay, replay_window, suite->esn) < 0)
		goto fail;
	return sa;
fail:
	sa_free(sa);
	return NULL;
}

/* Make one thread's contexts from the key. */
static int ctx_warm(const struct sa *sa, struct sa_ctx *c)
{
	size_t ek = esp_suite_enc_key_len(&sa->suite);

	if (c->aead || c->cbc)
		return 0;
	if (sa->is_aead) {
		c->aead = aead_new(sa->suite.encr == ENCR_CHACHA20_POLY1305 ?
				   AEAD_CHACHA20_POLY1305 : AEAD_AES_GCM, sa->key, ek, !sa->inbound);
		return c->aead ? 0 : -ENOMEM;
	}
	c->cbc = cbc_new(sa->key, ek, !sa->inbound);
	c->hmac = hmac_new(integ_hash(sa->suite.integ), sa->key + ek,
			   esp_suite_integ_key_len(&sa->suite));
	return c->cbc && c->hmac ? 0 : -ENOMEM;
}

static void ctx_cool(struct sa_ctx *c)
{
	aead_free(c->aead);
	cbc_free(c->cbc);
	hmac_free(c->hmac);
	wipe(c->ivs, ESP_IV_BATCH * CBC_BLOCK);	/* NULL-safe */
	free(c->ivs);
	*c = (struct sa_ctx){ 0 };
}

int sa_warm(struct sa *sa)
{
	if (ctx_warm(sa, &sa->c) == 0)
		return 0;
	ctx_cool(&sa->c);
	return -ENOMEM;
}

int sa_warm_threads(struct sa *sa, unsigned n)
{
	unsigned t;

	if (sa_warm(sa) < 0)
		return -ENOMEM;
	if (n - 1 > sa->n_more) {
		struct sa_ctx *m = realloc(sa->more, (n - 1) * sizeof(*m));

		if (!m)
			return -ENOMEM;
		for (t = sa->n_more; t < n - 1; t++)
			m[t] = (struct sa_ctx){ 0 };
		sa->more = m;
		sa->n_more = n - 1;
	}
	for (t = 0; t < n - 1; t++)
		if (ctx_warm(sa, &sa->more[t]) < 0) {
			ctx_cool(&sa->more[t]);
			return -ENOMEM;
		}
	return 0;
}

void sa_cool(struct sa *sa)
{
	unsigned t;

	ctx_cool(&sa->c);
	for (t = 0; t < sa->n_more; t++)
		ctx_cool(&sa->more[t]);
	free(sa->more);
	sa->more = NULL;
	sa->n_more = 0;
}

void sa_free(struct sa *sa)
{
	if (!sa)
		return;
	sa_cool(sa);
	replay_free(&sa->replay);
	wipe(sa, sizeof(*sa));
	free(sa);
}

uint64_t sa_seq_max(const struct sa *sa)
{
	return sa->suite.esn ? UINT64_MAX : UINT32_MAX;
}

void sa_seq_hold(struct sa *sa)
{
	sa->seq_limit = sa->seq_check = 0;
}

void sa_seq_grant(struct sa *sa, uint64_t next, uint64_t limit)
{
	if (next) {
		sa->seq = next - 1;
		sa->seq_limit = 0;
	}
	if (limit > sa_seq_max(sa))
		limit = sa_seq_max(sa);
	if (limit <= sa->seq_limit)
		return;		/* a reservation only ever grows */
	sa->seq_limit = limit;
	/* Ask for the next block half way through this one, so that it is
	 * on disk before this one runs out. */
	sa->seq_check = sa->seq < limit ? sa->seq + (limit - sa->seq) / 2 : limit;
	sa->seq_want = false;
}

/* Off the fast path: at seq_check, or at the end of the reserved block. */
static enum esp_result seq_slow(struct sa *sa)
{
	if (sa->seq < sa->seq_limit) {
		sa->seq_want = sa->seq_limit < sa_seq_max(sa);
		sa->seq_check = sa->seq_limit;
		return ESP_OK;
	}
	/* RFC 4303 §3.3.3: the counter must never cycle; stop the SA. */
	if (sa->seq_limit >= sa_seq_max(sa)) {
		sa->exhausted = true;
		return ESP_EXHAUSTED;
	}
	/* Never a number that is not on disk: that could repeat a nonce
	 * after a restart (RFC 4106 §3.1).  Drop until the grant comes. */
	sa->seq_want = true;
	return ESP_UNRESERVED;
}

size_t esp_max_inner(const struct esp_suite *s, size_t avail)
{
	size_t fixed = ESP_HDR_LEN + esp_suite_iv_len(s) + esp_suite_icv_len(s);
	size_t align = esp_suite_align(s), room;

	/* payload + 2-byte trailer, padded to the alignment, must fit. */
	if (avail < fixed + align)
		return 0;
	room = (avail - fixed) / align * align;
	return room - 2;
}

uint32_t esp_spi(const uint8_t *pkt, size_t len)
{
	return len >= ESP_HDR_LEN ? be32_get(pkt) : 0;
}

/* RFC 4106 §5 / RFC 7634 §2.1: AAD is SPI || seq, or SPI || seq_hi || seq_lo. */
static size_t build_aad(const struct sa *sa, uint64_t seq, uint8_t aad[12])
{
	be32_put(aad, sa->spi);
	if (sa->suite.esn) {
		be64_put(aad + 4, seq);
		return 12;
	}
	be32_put(aad + 4, (uint32_t)seq);
	return 8;
}

/* RFC 4303 §2.2.1: with ESN the high 32 bits are hashed after the payload. */
static int cbc_icv(const struct sa *sa, struct hmac *h, const uint8_t *hdr, size_t covered,
		   uint64_t seq, uint8_t *mac)
{
	uint8_t hi[4];

	be32_put(hi, (uint32_t)(seq >> 32));
	if (hmac_start(h) || hmac_update(h, hdr, covered) ||
	    (sa->suite.esn && hmac_update(h, hi, 4)) || hmac_finish(h, mac))
		return -EIO;
	return 0;
}

/* RFC 4106 §3-5 / RFC 7634 §2: the AEAD nonce (salt || the packet's IV)
 * and AAD of the ESP packet at hdr numbered seq: the AAD's length. */
static size_t aead_params(const struct sa *sa, const uint8_t *hdr, uint64_t seq,
			  uint8_t nonce[AEAD_NONCE_LEN], uint8_t aad[12])
{
	memcpy(nonce, sa->salt, 4);
	memcpy(nonce + 4, hdr + ESP_HDR_LEN, 8);
	return build_aad(sa, seq, aad);
}

/* Encrypt and authenticate a framed packet with contexts c.  Reads only
 * the SA's constants, so that threads may seal one SA's packets at once. */
static int seal(const struct sa *sa, struct sa_ctx *c, const struct esp_frame *f)
{
	uint8_t *hdr = f->hdr, *data = hdr + ESP_HDR_LEN + sa->iv_len, *icv = data + f->plen;
	uint8_t nonce[AEAD_NONCE_LEN], aad[12], mac[HMAC_MAX];
	size_t aadlen;

	if (sa->is_aead) {
		aadlen = aead_params(sa, hdr, f->seq, nonce, aad);
		return aead_seal(c->aead, nonce, aad, aadlen, NULL, 0, data, f->plen, icv);
	}
	if (cbc_crypt(c->cbc, hdr + ESP_HDR_LEN, data, f->plen) ||
	    cbc_icv(sa, c->hmac, hdr, ESP_HDR_LEN + sa->iv_len + f->plen, f->seq, mac))
		return -EIO;
	memcpy(icv, mac, sa->icv_len);
	wipe(mac, sizeof(mac));
	return 0;
}

/* Check the ICV and decrypt, with contexts c; like seal, reads only the
 * SA's constants. */
static int open_verify(const struct sa *sa, struct sa_ctx *c, uint8_t *hdr, size_t plen,
		       uint64_t seq)
{
	uint8_t *data = hdr + ESP_HDR_LEN + sa->iv_len, *icv = data + plen;
	uint8_t nonce[AEAD_NONCE_LEN], aad[12], mac[HMAC_MAX];
	size_t aadlen;
	int r;

	if (sa->is_aead) {
		aadlen = aead_params(sa, hdr, seq, nonce, aad);
		return aead_open(c->aead, nonce, aad, aadlen, NULL, 0, data, plen, icv);
	}
	/* Verify before decrypting: a forged packet costs one HMAC only. */
	if (cbc_icv(sa, c->hmac, hdr, ESP_HDR_LEN + sa->iv_len + plen, seq, mac))
		return -EIO;
	r = ct_equal(mac, icv, sa->icv_len) ? 0 : -EBADMSG;
	wipe(mac, sizeof(mac));
	if (r)
		return r;
	return cbc_crypt(c->cbc, hdr + ESP_HDR_LEN, data, plen);
}

/* The IV of the packet numbered seq, into iv[sa->iv_len]. */
static int next_iv(struct sa *sa, uint64_t seq, uint8_t *iv)
{
	struct sa_ctx *c = &sa->c;

	if (sa->is_aead) {
		/* RFC 4106 §3.1: the IV must not repeat under a key; the
		 * 64-bit sequence number never does. */
		be64_put(iv, seq);
		return 0;
	}
	/* RFC 3602 §3: a CBC IV must be random and unpredictable: from the
	 * DRBG, a batch at a time (see ESP_IV_BATCH). */
	if (!c->ivs_left) {
		if (!c->ivs && !(c->ivs = malloc(ESP_IV_BATCH * CBC_BLOCK)))
			return -ENOMEM;
		if (rand_bytes(c->ivs, ESP_IV_BATCH * CBC_BLOCK) < 0)
			return -EIO;
		c->ivs_left = ESP_IV_BATCH;
	}
	c->ivs_left--;
	memcpy(iv, c->ivs + c->ivs_left * CBC_BLOCK, sa->iv_len);	/* 16: a block */
	return 0;
}

enum esp_result esp_frame(struct sa *sa, uint8_t *inner, size_t len, const uint8_t *iv,
			  struct esp_frame *f)
{
	size_t pad, i;
	uint8_t nh, *hdr = inner - sa->iv_len - ESP_HDR_LEN;

	if (len == 0)
		return ESP_MALFORMED;
	nh = (inner[0] >> 4) == 4 ? NH_IPV4 : (inner[0] >> 4) == 6 ? NH_IPV6 : 0;
	if (!nh)
		return ESP_MALFORMED;
	if (sa->seq >= sa->seq_check) {
		enum esp_result r = seq_slow(sa);

		if (r != ESP_OK)
			return r;
	}
	if (iv)
		memcpy(hdr + ESP_HDR_LEN, iv, sa->iv_len);
	else if (next_iv(sa, sa->seq + 1, hdr + ESP_HDR_LEN) < 0)
		return ESP_INTERNAL;
	f->seq = ++sa->seq;

	/* RFC 4303 §2.4: padding 1, 2, 3, ... up to the alignment. */
	pad = (sa->align - (len + 2) % sa->align) % sa->align;
	for (i = 0; i < pad; i++)
		inner[len + i] = (uint8_t)(i + 1);
	inner[len + pad] = (uint8_t)pad;
	inner[len + pad + 1] = nh;
	f->plen = len + pad + 2;

	be32_put(hdr, sa->spi);
	be32_put(hdr + 4, (uint32_t)f->seq);
	f->hdr = hdr;
	f->len = ESP_HDR_LEN + sa->iv_len + f->plen + sa->icv_len;
	sa->packets++;
	sa->bytes += len;
	return ESP_OK;
}

int esp_seal(struct sa *sa, unsigned t, const struct esp_frame *f)
{
	return seal(sa, sa_ctx(sa, t), f);
}

enum esp_result esp_encap_iv(struct sa *sa, uint8_t *inner, size_t len,
			     const uint8_t *iv, uint8_t **out, size_t *outlen)
{
	struct esp_frame f;
	enum esp_result r;

	if (sa_warm(sa) < 0)
		return ESP_INTERNAL;
	r = esp_frame(sa, inner, len, iv, &f);
	if (r != ESP_OK)
		return r;
	if (seal(sa, &sa->c, &f) < 0)
		return ESP_INTERNAL;
	*out = f.hdr;
	*outlen = f.len;
	return ESP_OK;
}

enum esp_result esp_encap(struct sa *sa, uint8_t *inner, size_t len,
			  uint8_t **out, size_t *outlen)
{
	return esp_encap_iv(sa, inner, len, NULL, out, outlen);
}

enum esp_result esp_check(struct sa *sa, uint8_t *pkt, size_t len, struct esp_frame *f)
{
	size_t overhead = ESP_HDR_LEN + sa->iv_len + sa->icv_len;
	int r;

	if (len < overhead + sa->align)
		return ESP_MALFORMED;
	f->plen = len - overhead;
	if (f->plen % sa->align)
		return ESP_MALFORMED;
	/* RFC 4303 §3.4.3: cheap replay check before the ICV... */
	r = replay_check(&sa->replay, be32_get(pkt + 4), &f->seq);
	if (r == -ERANGE)
		return ESP_MALFORMED;
	if (r < 0)
		return ESP_REPLAY;
	if (sa_warm(sa) < 0)
		return ESP_INTERNAL;
	f->hdr = pkt;
	f->len = len;
	return ESP_OK;
}

int esp_open(struct sa *sa, unsigned t, const struct esp_frame *f)
{
	/* The ICV covers the number in the packet, the window takes the one
	 * esp_check read: they must still be the same.  Defensive: nothing
	 * writes a queued packet's header in between today. */
	if (be32_get(f->hdr + 4) != (uint32_t)f->seq)
		return -EBADMSG;
	return open_verify(sa, sa_ctx(sa, t), f->hdr, f->plen, f->seq);
}

enum esp_result esp_accept(struct sa *sa, const struct esp_frame *f, int opened,
			   uint8_t **inner, size_t *inner_len, uint8_t *nh)
{
	uint8_t *data = f->hdr + ESP_HDR_LEN + sa->iv_len;
	size_t plen = f->plen, padlen, i;

	if (opened == -EBADMSG)
		return ESP_AUTH;
	if (opened < 0)
		return ESP_INTERNAL;
	/* ...and the window moves only for authentic packets (again checked:
	 * another packet of the burst may have had the number). */
	if (replay_update(&sa->replay, f->seq) < 0)
		return ESP_REPLAY;

	padlen = data[plen - 2];
	*nh = data[plen - 1];
	if (padlen + 2 > plen)
		return ESP_MALFORMED;
	/* RFC 4303 §2.4: the default padding is 1, 2, 3, ...; check it. */
	for (i = 0; i < padlen; i++)
		if (data[plen - 2 - padlen + i] != (uint8_t)(i + 1))
			return ESP_MALFORMED;
	sa->packets++;
	if (*nh == NH_NONE)
		return ESP_DUMMY;
	*inner = data;
	*inner_len = plen - padlen - 2;
	sa->bytes += *inner_len;
	return ESP_OK;
}

enum esp_result esp_decap(struct sa *sa, uint8_t *pkt, size_t len,
			  uint8_t **inner, size_t *inner_len, uint8_t *nh)
{
	struct esp_frame f;
	enum esp_result r = esp_check(sa, pkt, len, &f);

	if (r != ESP_OK)
		return r;
	return esp_accept(sa, &f, esp_open(sa, 0, &f), inner, inner_len, nh);
}
