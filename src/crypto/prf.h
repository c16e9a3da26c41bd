/*
 * prf.h - the IKEv2 pseudo-random functions: prf (HMAC-SHA2, RFC 4868)
 * and prf+ (RFC 7296 §2.13), used for SKEYSEED, SK_*, KEYMAT and AUTH.
 * OpenSSL 3.0 has no IKEv2 KDF, so prf+ is composed here from EVP_MAC.
 */
#ifndef VTI_PRF_H
#define VTI_PRF_H

#include <stddef.h>
#include <stdint.h>

/* IANA "Transform Type 2 - Pseudorandom Function Transform IDs" */
enum prf_id {
	PRF_HMAC_SHA2_256 = 5,
	PRF_HMAC_SHA2_384 = 6,
	PRF_HMAC_SHA2_512 = 7,
};

#define PRF_MAX 64

struct chunk {
	const uint8_t *p;
	size_t n;
};

size_t prf_len(uint16_t prf);		/* 0 if unsupported */
/* out = prf(key, parts[0] | parts[1] | ...), prf_len bytes. */
int prf(uint16_t id, const uint8_t *key, size_t keylen, const struct chunk *parts, size_t nparts,
	uint8_t *out) __attribute__((warn_unused_result));
/* out = first outlen bytes of prf+(key, seed); at most 255 blocks. */
int prf_plus(uint16_t id, const uint8_t *key, size_t keylen, const struct chunk *seed,
	     size_t nseed, uint8_t *out, size_t outlen) __attribute__((warn_unused_result));

#endif
