/*
 * dh.h - Diffie-Hellman for IKEv2 key exchange: MODP groups 14 and 15
 * (RFC 3526), ECP groups 19 and 20 (RFC 5903: public value x || y, shared
 * secret x), Curve25519 (RFC 8031).  Peer public values are validated as
 * RFC 6989 requires before they are used.
 */
#ifndef VTI_DH_H
#define VTI_DH_H

#include <stddef.h>
#include <stdint.h>

/* IANA "Transform Type 4 - Key Exchange Method Transform IDs" */
enum dh_group {
	DH_MODP2048 = 14,
	DH_MODP3072 = 15,
	DH_ECP256 = 19,
	DH_ECP384 = 20,
	DH_X25519 = 31,
};

#define DH_MAX_PUB 384
#define DH_MAX_SHARED 384

struct dh;

bool dh_supported(uint16_t group);
size_t dh_pub_len(uint16_t group);		/* 0 if unsupported */
/* A fresh key pair. */
struct dh *dh_new(uint16_t group);
void dh_free(struct dh *dh);
uint16_t dh_group(const struct dh *dh);
/* Our public value as it goes into the KE payload (dh_pub_len bytes). */
int dh_public(const struct dh *dh, uint8_t *out, size_t len) __attribute__((warn_unused_result));
/* g^ir from the peer's KE data; -EINVAL for a value RFC 6989 rejects. */
int dh_shared(struct dh *dh, const uint8_t *peer, size_t len, uint8_t *out, size_t *outlen)
	__attribute__((warn_unused_result));

#endif
