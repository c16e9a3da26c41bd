/*
 * suite.c - ESP proposal keywords and the sizes that follow from them.
 */
#include "crypto/suite.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct encr_kw {
	const char *kw;
	enum encr_id id;
	uint16_t bits;
};

static const struct encr_kw encr_kws[] = {
	{ "aes128gcm16", ENCR_AES_GCM_16, 128 },
	{ "aes128gcm128", ENCR_AES_GCM_16, 128 },
	{ "aes256gcm16", ENCR_AES_GCM_16, 256 },
	{ "aes256gcm128", ENCR_AES_GCM_16, 256 },
	{ "chacha20poly1305", ENCR_CHACHA20_POLY1305, 256 },
	{ "aes128", ENCR_AES_CBC, 128 },
	{ "aes256", ENCR_AES_CBC, 256 },
};

struct integ_kw {
	const char *kw;
	enum integ_id id;
};

static const struct integ_kw integ_kws[] = {
	{ "sha256", AUTH_HMAC_SHA2_256_128 },
	{ "sha384", AUTH_HMAC_SHA2_384_192 },
	{ "sha512", AUTH_HMAC_SHA2_512_256 },
};

static const struct {
	const char *kw;
	uint16_t id;
} dh_kws[] = {
	{ "modp2048", 14 }, { "modp3072", 15 }, { "ecp256", 19 }, { "ecp384", 20 },
	{ "x25519", 31 }, { "curve25519", 31 },
};

static uint16_t find_dh(const char *t)
{
	size_t i;

	for (i = 0; i < sizeof(dh_kws) / sizeof(dh_kws[0]); i++)
		if (strcmp(dh_kws[i].kw, t) == 0)
			return dh_kws[i].id;
	return 0;
}

static const char *dh_name(uint16_t id)
{
	size_t i;

	for (i = 0; i < sizeof(dh_kws) / sizeof(dh_kws[0]); i++)
		if (dh_kws[i].id == id)
			return dh_kws[i].kw;
	return "?";
}

static const struct encr_kw *find_encr(const char *t)
{
	size_t i;

	for (i = 0; i < sizeof(encr_kws) / sizeof(encr_kws[0]); i++)
		if (strcmp(encr_kws[i].kw, t) == 0)
			return &encr_kws[i];
	return NULL;
}

static const struct integ_kw *find_integ(const char *t)
{
	size_t i;

	for (i = 0; i < sizeof(integ_kws) / sizeof(integ_kws[0]); i++)
		if (strcmp(integ_kws[i].kw, t) == 0)
			return &integ_kws[i];
	return NULL;
}

int esp_suite_parse(const char *s, struct esp_suite *out, char *err, size_t errlen)
{
	char tmp[128], *tok, *save = NULL;
	const struct encr_kw *e = NULL;
	const struct integ_kw *in;

	memset(out, 0, sizeof(*out));
	if (strlen(s) >= sizeof(tmp)) {
		snprintf(err, errlen, "proposal too long");
		return -EINVAL;
	}
	strcpy(tmp, s);
	for (tok = strtok_r(tmp, "-", &save); tok; tok = strtok_r(NULL, "-", &save)) {
		if (!e) {
			e = find_encr(tok);
			if (!e) {
				snprintf(err, errlen, "unknown ESP cipher '%s'", tok);
				return -EINVAL;
			}
			out->encr = e->id;
			out->key_bits = e->bits;
		} else if ((in = find_integ(tok))) {
			if (out->integ) {
				snprintf(err, errlen, "more than one integrity algorithm in '%s'", s);
				return -EINVAL;
			}
			out->integ = in->id;
		} else if (find_dh(tok)) {
			if (out->dh) {
				snprintf(err, errlen, "more than one key exchange in '%s'", s);
				return -EINVAL;
			}
			out->dh = find_dh(tok);	/* PFS for rekeyed Child SAs */
		} else if (strcmp(tok, "esn") == 0 || strcmp(tok, "noesn") == 0) {
			out->esn = tok[0] == 'e';
			out->esn_set = true;
		} else {
			snprintf(err, errlen, "unknown keyword '%s' in ESP proposal '%s'", tok, s);
			return -EINVAL;
		}
	}
	if (!e) {
		snprintf(err, errlen, "empty ESP proposal");
		return -EINVAL;
	}
	/* RFC 4106 §8, RFC 7634 §2: an AEAD carries its own integrity. */
	if (esp_suite_is_aead(out) && out->integ != AUTH_NONE) {
		snprintf(err, errlen, "'%s': an AEAD cipher takes no integrity algorithm", s);
		return -EINVAL;
	}
	if (!esp_suite_is_aead(out) && out->integ == AUTH_NONE) {
		snprintf(err, errlen, "'%s': AES-CBC needs an integrity algorithm (e.g. %s-sha256)",
			 s, e->kw);
		return -EINVAL;
	}
	return 0;
}

void esp_suite_name(const struct esp_suite *s, char *out, size_t n)
{
	const char *integ = s->integ == AUTH_HMAC_SHA2_256_128 ? "-sha256" :
			    s->integ == AUTH_HMAC_SHA2_384_192 ? "-sha384" :
			    s->integ == AUTH_HMAC_SHA2_512_256 ? "-sha512" : "";
	char dh[16] = "";

	if (s->dh)
		snprintf(dh, sizeof(dh), "-%s", dh_name(s->dh));
	switch (s->encr) {
	case ENCR_AES_GCM_16:
		snprintf(out, n, "aes%ugcm16%s%s", s->key_bits, dh, s->esn ? "-esn" : "");
		break;
	case ENCR_CHACHA20_POLY1305:
		snprintf(out, n, "chacha20poly1305%s%s", dh, s->esn ? "-esn" : "");
		break;
	case ENCR_AES_CBC:
		snprintf(out, n, "aes%u%s%s%s", s->key_bits, integ, dh, s->esn ? "-esn" : "");
		break;
	}
}

bool esp_suite_is_aead(const struct esp_suite *s)
{
	return s->encr != ENCR_AES_CBC;
}

size_t esp_suite_enc_key_len(const struct esp_suite *s)
{
	return s->key_bits / 8;
}

size_t esp_suite_salt_len(const struct esp_suite *s)
{
	return esp_suite_is_aead(s) ? 4 : 0;
}

size_t esp_suite_integ_key_len(const struct esp_suite *s)
{
	/* RFC 4868 §2.1.1: the key is as long as the hash output. */
	switch (s->integ) {
	case AUTH_HMAC_SHA2_256_128: return 32;
	case AUTH_HMAC_SHA2_384_192: return 48;
	case AUTH_HMAC_SHA2_512_256: return 64;
	default: return 0;
	}
}

size_t esp_suite_keymat_len(const struct esp_suite *s)
{
	return esp_suite_enc_key_len(s) + esp_suite_salt_len(s) + esp_suite_integ_key_len(s);
}

size_t esp_suite_icv_len(const struct esp_suite *s)
{
	/* RFC 4868 §2.3: truncated to half the output; AEADs use 16. */
	return esp_suite_is_aead(s) ? 16 : esp_suite_integ_key_len(s) / 2;
}

size_t esp_suite_iv_len(const struct esp_suite *s)
{
	return esp_suite_is_aead(s) ? 8 : 16;
}

size_t esp_suite_align(const struct esp_suite *s)
{
	/* RFC 4303 §2.4: trailer ends on a 4-byte boundary; CBC: a block. */
	return esp_suite_is_aead(s) ? 4 : 16;
}
