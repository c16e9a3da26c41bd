/*
 * proposal.c - proposal keywords, SA-payload proposals and selection.
 */
#include "ike/proposal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/alg.h"
#include "crypto/prf.h"

static const char *kw_name(uint8_t type, const struct ike_alg *a)
{
	const struct alg *k = alg_by_wire(type, a->id, a->keylen);

	return k ? k->kw : NULL;
}

bool ike_encr_aead(uint16_t encr)
{
	return alg_encr_aead(encr);
}

size_t ike_encr_keylen(const struct ike_alg *encr)
{
	return alg_encr_key_bits(encr->id, encr->keylen) / 8u;
}

static void add(struct ike_prop *p, uint8_t type, uint16_t id, uint16_t keylen)
{
	unsigned i;

	for (i = 0; i < p->n[type]; i++)
		if (p->t[type][i].id == id && p->t[type][i].keylen == keylen)
			return;
	if (p->n[type] < PROP_MAX_TRANSFORMS) {
		p->t[type][p->n[type]].id = id;
		p->t[type][p->n[type]++].keylen = keylen;
	}
}

static int parse_one(char *s, struct ike_prop *p, char *err, size_t errlen)
{
	char *tok, *save = NULL;
	const struct alg *k;
	unsigned i;
	bool aead;

	memset(p, 0, sizeof(*p));
	p->proto = PROTO_IKE;
	for (tok = strtok_r(s, "-", &save); tok; tok = strtok_r(NULL, "-", &save)) {
		k = alg_find(tok);
		if (!k || k->type == ALG_ESN) {
			snprintf(err, errlen, "unknown IKE algorithm '%s'", tok);
			return -EINVAL;
		}
		add(p, k->type, k->id, alg_attr_bits(k));
	}
	if (!p->n[TT_ENCR] || !p->n[TT_DH]) {
		snprintf(err, errlen, "an IKE proposal needs a cipher and a key exchange "
			 "(e.g. aes128gcm16-prfsha256-x25519)");
		return -EINVAL;
	}
	aead = ike_encr_aead(p->t[TT_ENCR][0].id);
	for (i = 1; i < p->n[TT_ENCR]; i++)
		if (ike_encr_aead(p->t[TT_ENCR][i].id) != aead) {
			snprintf(err, errlen, "do not mix AEAD and non-AEAD ciphers in one proposal");
			return -EINVAL;
		}
	if (aead && p->n[TT_INTEG]) {
		snprintf(err, errlen, "an AEAD cipher takes no integrity algorithm");
		return -EINVAL;
	}
	if (!aead && !p->n[TT_INTEG]) {
		snprintf(err, errlen, "AES-CBC needs an integrity algorithm (e.g. aes256-sha256)");
		return -EINVAL;
	}
	/* As strongSwan: without a prf keyword, use the integrity hash. */
	if (!p->n[TT_PRF])
		for (i = 0; i < p->n[TT_INTEG]; i++)
			add(p, TT_PRF, p->t[TT_INTEG][i].id - AUTH_HMAC_SHA2_256_128 +
				       PRF_HMAC_SHA2_256, 0);
	if (!p->n[TT_PRF]) {
		snprintf(err, errlen, "an AEAD proposal needs a prf (e.g. prfsha256)");
		return -EINVAL;
	}
	return 0;
}

int ike_props_parse(const char *s, struct ike_prop *out, unsigned max, unsigned *n,
		    char *err, size_t errlen)
{
	char tmp[512], *tok, *save = NULL, *t;

	*n = 0;
	if (strlen(s) >= sizeof(tmp)) {
		snprintf(err, errlen, "proposal list too long");
		return -EINVAL;
	}
	strcpy(tmp, s);
	for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		t = tok + strlen(tok);
		while (t > tok && (t[-1] == ' ' || t[-1] == '\t'))
			*--t = '\0';
		if (*n == max) {
			snprintf(err, errlen, "more than %u proposals", max);
			return -EINVAL;
		}
		if (parse_one(tok, &out[*n], err, errlen))
			return -EINVAL;
		out[*n].num = (uint8_t)(*n + 1);
		(*n)++;
	}
	if (!*n) {
		snprintf(err, errlen, "empty proposal list");
		return -EINVAL;
	}
	return 0;
}

void esp_prop_from_suite(const struct esp_suite *s, struct ike_prop *p)
{
	const struct alg *e = alg_encr(s->encr, s->key_bits);

	memset(p, 0, sizeof(*p));
	p->proto = PROTO_ESP;
	p->spi_size = 4;
	add(p, TT_ENCR, s->encr, e ? alg_attr_bits(e) : s->key_bits);
	if (s->integ)
		add(p, TT_INTEG, s->integ, 0);
	if (s->dh)
		add(p, TT_DH, s->dh, 0);
	add(p, TT_ESN, s->esn ? 1 : 0, 0);
}

int esp_suite_from_prop(const struct ike_prop *p, struct esp_suite *s)
{
	memset(s, 0, sizeof(*s));
	if (p->proto != PROTO_ESP || p->n[TT_ENCR] != 1)
		return -EINVAL;
	s->encr = p->t[TT_ENCR][0].id;
	s->key_bits = alg_encr_key_bits(s->encr, p->t[TT_ENCR][0].keylen);
	if (!s->key_bits)
		return -EINVAL;
	s->integ = p->n[TT_INTEG] ? p->t[TT_INTEG][0].id : AUTH_NONE;
	s->esn = p->n[TT_ESN] && p->t[TT_ESN][0].id == 1;
	s->esn_set = true;
	s->dh = p->n[TT_DH] ? p->t[TT_DH][0].id : 0;
	return 0;
}

static bool has(const struct ike_prop *p, uint8_t type, const struct ike_alg *a)
{
	unsigned i;

	for (i = 0; i < p->n[type]; i++)
		if (p->t[type][i].id == a->id && p->t[type][i].keylen == a->keylen)
			return true;
	return false;
}

/* Try one of ours against one of the peer's. */
static bool fits(const struct ike_prop *peer, const struct ike_prop *ours, bool ignore_dh,
		 struct ike_prop *out)
{
	uint8_t type;
	unsigned i;

	if (peer->proto != ours->proto)
		return false;
	memset(out, 0, sizeof(*out));
	out->proto = peer->proto;
	out->num = peer->num;
	out->spi_size = peer->spi_size;
	memcpy(out->spi, peer->spi, sizeof(out->spi));
	for (type = 1; type <= 5; type++) {
		if (ignore_dh && type == TT_DH)
			continue;
		/* RFC 7296 §3.3.3: an ESP proposal without ESN means "no ESN". */
		if (type == TT_ESN && !peer->n[type] && peer->proto == PROTO_ESP) {
			struct ike_alg none = { 0, 0 };

			if (!has(ours, TT_ESN, &none))
				return false;
			continue;
		}
		if (!peer->n[type] && !ours->n[type])
			continue;
		for (i = 0; i < peer->n[type]; i++)
			if (has(ours, type, &peer->t[type][i]))
				break;
		if (i == peer->n[type])
			return false;
		out->t[type][0] = peer->t[type][i];
		out->n[type] = 1;
	}
	return true;
}

int ike_props_select(const struct ike_prop *peer, unsigned npeer, const struct ike_prop *ours,
		     unsigned nours, bool ignore_dh, struct ike_prop *chosen)
{
	unsigned i, j;

	for (i = 0; i < npeer; i++)
		for (j = 0; j < nours; j++)
			if (fits(&peer[i], &ours[j], ignore_dh, chosen))
				return 0;
	return -N_NO_PROPOSAL_CHOSEN;
}

bool ike_prop_offered(const struct ike_prop *chosen, const struct ike_prop *ours, unsigned n)
{
	struct ike_prop tmp;
	uint8_t type;
	unsigned i;

	for (type = 1; type <= 5; type++)
		if (chosen->n[type] > 1)
			return false;
	for (i = 0; i < n; i++)
		if (fits(chosen, &ours[i], false, &tmp))
			return true;
	return false;
}

void ike_prop_str(const struct ike_prop *p, char *out, size_t n)
{
	static const uint8_t order[] = { TT_ENCR, TT_INTEG, TT_PRF, TT_DH, TT_ESN };
	size_t len = 0, o;
	uint8_t type;
	unsigned i;

	out[0] = '\0';
	for (o = 0; o < sizeof(order); o++) {
		type = order[o];
		for (i = 0; i < p->n[type]; i++) {
			const char *name = kw_name(type, &p->t[type][i]);
			char unknown[24];

			if (type == TT_ESN && p->proto == PROTO_ESP && p->t[type][i].id == 0 &&
			    p->n[type] == 1)
				continue;	/* "noesn" alone is the default: say nothing */
			if (!name) {
				snprintf(unknown, sizeof(unknown), "%u:%u", type, p->t[type][i].id);
				name = unknown;
			}
			len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s",
						len ? "-" : "", name);
		}
	}
}

void ike_props_str(const struct ike_prop *p, unsigned n, char *out, size_t len)
{
	size_t used = 0;
	unsigned i;
	char one[160];

	out[0] = '\0';
	for (i = 0; i < n && used < len; i++) {
		ike_prop_str(&p[i], one, sizeof(one));
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "", one);
	}
}

void ike_props_conf_str(const struct ike_prop *p, unsigned n, char *out, size_t len)
{
	struct ike_prop tmp[IKE_MAX_PROPS];
	unsigned i, k;
	bool derived;

	if (n > IKE_MAX_PROPS)
		n = IKE_MAX_PROPS;
	for (i = 0; i < n; i++) {
		tmp[i] = p[i];
		/* The prf that parse_one added for a proposal without one. */
		derived = tmp[i].n[TT_INTEG] && tmp[i].n[TT_PRF] == tmp[i].n[TT_INTEG];
		for (k = 0; derived && k < tmp[i].n[TT_PRF]; k++)
			derived = tmp[i].t[TT_PRF][k].id == tmp[i].t[TT_INTEG][k].id -
							    AUTH_HMAC_SHA2_256_128 + PRF_HMAC_SHA2_256;
		if (derived)
			tmp[i].n[TT_PRF] = 0;
	}
	ike_props_str(tmp, n, out, len);
}
