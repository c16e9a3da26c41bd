/*
 * cipher.h - the symmetric primitives ESP (and later IKE) are built from,
 * each a context created once per SA and direction and reused for every
 * packet: AEAD (AES-GCM with a 16-byte tag, ChaCha20-Poly1305), AES-CBC
 * without padding, and HMAC-SHA2.  Only this module and its siblings in
 * src/crypto/ touch OpenSSL; callers see opaque handles.
 */
#ifndef VTI_CIPHER_H
#define VTI_CIPHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AEAD_NONCE_LEN 12
#define AEAD_TAG_LEN 16
#define CBC_BLOCK 16
#define HMAC_MAX 64

enum aead_alg { AEAD_AES_GCM, AEAD_CHACHA20_POLY1305 };
enum hash_alg { HASH_SHA256, HASH_SHA384, HASH_SHA512 };

struct aead;
struct cbc;
struct hmac;

/* keylen 16 or 32 for AES-GCM, 32 for ChaCha20-Poly1305. */
struct aead *aead_new(enum aead_alg alg, const uint8_t *key, size_t keylen, bool encrypt);
void aead_free(struct aead *a);
/* In place over data[len]; the AAD may be split in two parts. */
int aead_seal(struct aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *aad, size_t aadlen, const uint8_t *aad2, size_t aad2len,
	      uint8_t *data, size_t len, uint8_t tag[AEAD_TAG_LEN])
	__attribute__((warn_unused_result));
/* -EBADMSG when the tag does not verify; data is then garbage. */
int aead_open(struct aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *aad, size_t aadlen, const uint8_t *aad2, size_t aad2len,
	      uint8_t *data, size_t len, const uint8_t tag[AEAD_TAG_LEN])
	__attribute__((warn_unused_result));

/* keylen 16 or 32; len must be a multiple of CBC_BLOCK. */
struct cbc *cbc_new(const uint8_t *key, size_t keylen, bool encrypt);
void cbc_free(struct cbc *c);
int cbc_crypt(struct cbc *c, const uint8_t iv[CBC_BLOCK], uint8_t *data, size_t len)
	__attribute__((warn_unused_result));

struct hmac *hmac_new(enum hash_alg h, const uint8_t *key, size_t keylen);
void hmac_free(struct hmac *m);
size_t hmac_size(const struct hmac *m);
int hmac_start(struct hmac *m) __attribute__((warn_unused_result));
int hmac_update(struct hmac *m, const uint8_t *p, size_t n)
	__attribute__((warn_unused_result));
/* Writes hmac_size() bytes. */
int hmac_finish(struct hmac *m, uint8_t *out) __attribute__((warn_unused_result));

/* SHA-1 over parts; only for RFC 7296 §2.23 NAT detection hashes. */
int sha1(const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t out[20])
	__attribute__((warn_unused_result));

/* Constant-time equality for MACs, ICVs, AUTH data and PSKs. */
bool ct_equal(const void *a, const void *b, size_t n);
/* Wipe secrets in a way the compiler cannot elide. */
void wipe(void *p, size_t n);

/* Random bytes (OpenSSL's DRBG); tests may substitute a deterministic source. */
typedef int (*rand_fn)(uint8_t *out, size_t n);
int rand_bytes(uint8_t *out, size_t n) __attribute__((warn_unused_result));
void rand_set_source(rand_fn fn);	/* NULL restores the DRBG */

#endif
