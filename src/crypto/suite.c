/*
 * suite.c - ESP proposal keywords and the sizes that follow from them.
 */
#include "crypto/suite.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/alg.h"

int esp_suite_parse(const char *s, struct esp_suite *out, char *err, size_t errlen)
{
	char tmp[128], *tok, *save = NULL;
	const struct alg *e = NULL, *a;

	memset(out, 0, sizeof(*out));
	if (strlen(s) >= sizeof(tmp)) {
		snprintf(err, errlen, "proposal too long");
		return -EINVAL;
	}
	strcpy(tmp, s);
	for (tok = strtok_r(tmp, "-", &save); tok; tok = strtok_r(NULL, "-", &save)) {
		a = alg_find(tok);
		if (!e) {
			if (!a || a->type != ALG_ENCR) {
				snprintf(err, errlen, "unknown ESP cipher '%s'", tok);
				return -EINVAL;
			}
			e = a;
			out->encr = e->id;
			out->key_bits = e->key_bits;
		} else if (a && a->type == ALG_INTEG) {
			if (out->integ) {
				snprintf(err, errlen, "more than one integrity algorithm in '%s'", s);
				return -EINVAL;
			}
			out->integ = a->id;
		} else if (a && a->type == ALG_DH) {
			if (out->dh) {
				snprintf(err, errlen, "more than one key exchange in '%s'", s);
				return -EINVAL;
			}
			out->dh = a->id;	/* PFS for rekeyed Child SAs */
		} else if (a && a->type == ALG_ESN) {
			out->esn = a->id == 1;
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

static const char *kw_of(uint8_t type, uint16_t id, uint16_t attr_bits)
{
	const struct alg *a = alg_by_wire(type, id, attr_bits);

	return a ? a->kw : "?";
}

void esp_suite_name(const struct esp_suite *s, char *out, size_t n)
{
	const struct alg *e = alg_encr(s->encr, s->key_bits);
	char integ[16] = "", dh[16] = "";

	if (s->integ)
		snprintf(integ, sizeof(integ), "-%s", kw_of(ALG_INTEG, s->integ, 0));
	if (s->dh)
		snprintf(dh, sizeof(dh), "-%s", kw_of(ALG_DH, s->dh, 0));
	snprintf(out, n, "%s%s%s%s", e ? e->kw : "?", integ, dh, s->esn ? "-esn" : "");
}

bool esp_suite_is_aead(const struct esp_suite *s)
{
	return alg_encr_aead(s->encr);
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
