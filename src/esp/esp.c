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

int sa_warm(struct sa *sa)
{
	size_t ek = esp_suite_enc_key_len(&sa->suite);

	if (sa->aead || sa->cbc)
		return 0;
	if (sa->is_aead) {
		sa->aead = aead_new(sa->suite.encr == ENCR_CHACHA20_POLY1305 ?
				    AEAD_CHACHA20_POLY1305 : AEAD_AES_GCM, sa->key, ek, !sa->inbound);
		return sa->aead ? 0 : -ENOMEM;
	}
	sa->cbc = cbc_new(sa->key, ek, !sa->inbound);
	sa->hmac = hmac_new(integ_hash(sa->suite.integ), sa->key + ek,
			    esp_suite_integ_key_len(&sa->suite));
	if (sa->cbc && sa->hmac)
		return 0;
	sa_cool(sa);
	return -ENOMEM;
}

void sa_cool(struct sa *sa)
{
	aead_free(sa->aead);
	cbc_free(sa->cbc);
	hmac_free(sa->hmac);
	sa->aead = NULL;
	sa->cbc = NULL;
	sa->hmac = NULL;
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
static int cbc_icv(struct sa *sa, const uint8_t *hdr, size_t covered, uint64_t seq,
		   uint8_t *mac)
{
	uint8_t hi[4];

	be32_put(hi, (uint32_t)(seq >> 32));
	if (hmac_start(sa->hmac) || hmac_update(sa->hmac, hdr, covered) ||
	    (sa->suite.esn && hmac_update(sa->hmac, hi, 4)) || hmac_finish(sa->hmac, mac))
		return -EIO;
	return 0;
}

static int seal(struct sa *sa, uint8_t *hdr, size_t plen, uint64_t seq)
{
	uint8_t *data = hdr + ESP_HDR_LEN + sa->iv_len, *icv = data + plen;
	uint8_t nonce[AEAD_NONCE_LEN], aad[12], mac[HMAC_MAX];
	size_t aadlen;

	if (sa_warm(sa) < 0)
		return -ENOMEM;
	if (sa->is_aead) {
		memcpy(nonce, sa->salt, 4);
		memcpy(nonce + 4, hdr + ESP_HDR_LEN, 8);
		aadlen = build_aad(sa, seq, aad);
		return aead_seal(sa->aead, nonce, aad, aadlen, NULL, 0, data, plen, icv);
	}
	if (cbc_crypt(sa->cbc, hdr + ESP_HDR_LEN, data, plen) ||
	    cbc_icv(sa, hdr, ESP_HDR_LEN + sa->iv_len + plen, seq, mac))
		return -EIO;
	memcpy(icv, mac, sa->icv_len);
	wipe(mac, sizeof(mac));
	return 0;
}

static int open_verify(struct sa *sa, uint8_t *hdr, size_t plen, uint64_t seq)
{
	uint8_t *data = hdr + ESP_HDR_LEN + sa->iv_len, *icv = data + plen;
	uint8_t nonce[AEAD_NONCE_LEN], aad[12], mac[HMAC_MAX];
	size_t aadlen;
	int r;

	if (sa_warm(sa) < 0)
		return -ENOMEM;
	if (sa->is_aead) {
		memcpy(nonce, sa->salt, 4);
		memcpy(nonce + 4, hdr + ESP_HDR_LEN, 8);
		aadlen = build_aad(sa, seq, aad);
		return aead_open(sa->aead, nonce, aad, aadlen, NULL, 0, data, plen, icv);
	}
	/* Verify before decrypting: a forged packet costs one HMAC only. */
	if (cbc_icv(sa, hdr, ESP_HDR_LEN + sa->iv_len + plen, seq, mac))
		return -EIO;
	r = ct_equal(mac, icv, sa->icv_len) ? 0 : -EBADMSG;
	wipe(mac, sizeof(mac));
	if (r)
		return r;
	return cbc_crypt(sa->cbc, hdr + ESP_HDR_LEN, data, plen);
}

enum esp_result esp_encap_iv(struct sa *sa, uint8_t *inner, size_t len,
			     const uint8_t *iv, uint8_t **out, size_t *outlen)
{
	size_t pad, plen, i;
	uint8_t nh, *hdr;
	uint64_t seq;

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
	seq = sa->seq + 1;

	/* RFC 4303 §2.4: padding 1, 2, 3, ... up to the alignment. */
	pad = (sa->align - (len + 2) % sa->align) % sa->align;
	for (i = 0; i < pad; i++)
		inner[len + i] = (uint8_t)(i + 1);
	inner[len + pad] = (uint8_t)pad;
	inner[len + pad + 1] = nh;
	plen = len + pad + 2;

	hdr = inner - sa->iv_len - ESP_HDR_LEN;
	be32_put(hdr, sa->spi);
	be32_put(hdr + 4, (uint32_t)seq);
	memcpy(hdr + ESP_HDR_LEN, iv, sa->iv_len);
	if (seal(sa, hdr, plen, seq) < 0)
		return ESP_INTERNAL;
	sa->seq = seq;
	sa->packets++;
	sa->bytes += len;
	*out = hdr;
	*outlen = ESP_HDR_LEN + sa->iv_len + plen + sa->icv_len;
	return ESP_OK;
}

enum esp_result esp_encap(struct sa *sa, uint8_t *inner, size_t len,
			  uint8_t **out, size_t *outlen)
{
	uint8_t iv[16];

	if (sa->is_aead) {
		/* RFC 4106 §3.1: the IV must not repeat under a key; the
		 * 64-bit sequence number never does. */
		be64_put(iv, sa->seq + 1);
	} else if (rand_bytes(iv, sa->iv_len) < 0) {
		/* RFC 3602 §2.3: a CBC IV must be unpredictable. */
		return ESP_INTERNAL;
	}
	return esp_encap_iv(sa, inner, len, iv, out, outlen);
}

enum esp_result esp_decap(struct sa *sa, uint8_t *pkt, size_t len,
			  uint8_t **inner, size_t *inner_len, uint8_t *nh)
{
	size_t overhead = ESP_HDR_LEN + sa->iv_len + sa->icv_len, plen, padlen, i;
	uint8_t *data;
	uint64_t seq;
	int r;

	if (len < overhead + sa->align)
		return ESP_MALFORMED;
	plen = len - overhead;
	if (plen % sa->align)
		return ESP_MALFORMED;
	/* RFC 4303 §3.4.3: cheap replay check before the ICV... */
	r = replay_check(&sa->replay, be32_get(pkt + 4), &seq);
	if (r == -ERANGE)
		return ESP_MALFORMED;
	if (r < 0)
		return ESP_REPLAY;
	r = open_verify(sa, pkt, plen, seq);
	if (r == -EBADMSG)
		return ESP_AUTH;
	if (r < 0)
		return ESP_INTERNAL;
	/* ...and the window moves only for authentic packets. */
	if (replay_update(&sa->replay, seq) < 0)
		return ESP_REPLAY;

	data = pkt + ESP_HDR_LEN + sa->iv_len;
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
