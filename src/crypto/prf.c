/*
 * prf.c - IKEv2 prf and prf+ (see prf.h).
 */
#include "crypto/prf.h"

#include <errno.h>
#include <string.h>

#include "crypto/cipher.h"

static int hash_of(uint16_t id, enum hash_alg *h)
{
	switch (id) {
	case PRF_HMAC_SHA2_256: *h = HASH_SHA256; return 0;
	case PRF_HMAC_SHA2_384: *h = HASH_SHA384; return 0;
	case PRF_HMAC_SHA2_512: *h = HASH_SHA512; return 0;
	default: return -EINVAL;
	}
}

size_t prf_len(uint16_t id)
{
	enum hash_alg h;

	if (hash_of(id, &h))
		return 0;
	return h == HASH_SHA256 ? 32 : h == HASH_SHA384 ? 48 : 64;
}

static int run(struct hmac *m, const struct chunk *parts, size_t n, const uint8_t *pre,
	       size_t prelen, uint8_t counter, uint8_t *out)
{
	size_t i;

	if (hmac_start(m) || (prelen && hmac_update(m, pre, prelen)))
		return -EIO;
	for (i = 0; i < n; i++)
		if (parts[i].n && hmac_update(m, parts[i].p, parts[i].n))
			return -EIO;
	if (counter && hmac_update(m, &counter, 1))
		return -EIO;
	return hmac_finish(m, out);
}

int prf(uint16_t id, const uint8_t *key, size_t keylen, const struct chunk *parts, size_t nparts,
	uint8_t *out)
{
	enum hash_alg h;
	struct hmac *m;
	int r;

	if (hash_of(id, &h))
		return -EINVAL;
	m = hmac_new(h, key, keylen);
	if (!m)
		return -EIO;
	r = run(m, parts, nparts, NULL, 0, 0, out);
	hmac_free(m);
	return r;
}

/* RFC 7296 §2.13: T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n). */
int prf_plus(uint16_t id, const uint8_t *key, size_t keylen, const struct chunk *seed,
	     size_t nseed, uint8_t *out, size_t outlen)
{
	uint8_t t[PRF_MAX];
	size_t len = prf_len(id), done = 0, take;
	enum hash_alg h;
	struct hmac *m;
	unsigned counter;
	int r = 0;

	if (hash_of(id, &h) || outlen > 255 * len)
		return -EINVAL;
	m = hmac_new(h, key, keylen);
	if (!m)
		return -EIO;
	for (counter = 1; done < outlen; counter++) {
		r = run(m, seed, nseed, t, counter == 1 ? 0 : len, (uint8_t)counter, t);
		if (r)
			break;
		take = outlen - done < len ? outlen - done : len;
		memcpy(out + done, t, take);
		done += take;
	}
	wipe(t, sizeof(t));
	hmac_free(m);
	return r;
}
