/*
 * suite.h - ESP cipher suites named by strongSwan's proposal keywords
 * ("aes128gcm16", "aes256-sha256", "chacha20poly1305", optional "-esn"),
 * with their IANA transform IDs and key/ICV/IV sizes.
 *
 * RFC 4106 (AES-GCM: key then 4-byte salt, 8-byte IV, 16-byte ICV),
 * RFC 7634 (ChaCha20-Poly1305: the same framing), RFC 3602 (AES-CBC,
 * 16-byte IV), RFC 4868 (HMAC-SHA2-256/384/512 truncated to half).
 */
#ifndef VTI_SUITE_H
#define VTI_SUITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IANA "Transform Type 1 - Encryption Algorithm Transform IDs" */
enum encr_id {
	ENCR_AES_CBC = 12,
	ENCR_AES_GCM_16 = 20,
	ENCR_CHACHA20_POLY1305 = 28,
};

/* IANA "Transform Type 3 - Integrity Algorithm Transform IDs" */
enum integ_id {
	AUTH_NONE = 0,
	AUTH_HMAC_SHA2_256_128 = 12,
	AUTH_HMAC_SHA2_384_192 = 13,
	AUTH_HMAC_SHA2_512_256 = 14,
};

struct esp_suite {
	enum encr_id encr;
	uint16_t key_bits;
	enum integ_id integ;
	bool esn;
	bool esn_set;		/* "-esn"/"-noesn" given explicitly */
	uint16_t dh;		/* PFS group for CREATE_CHILD_SA, 0: none */
};

/* Parse one proposal; on error writes a reason into err. */
int esp_suite_parse(const char *s, struct esp_suite *out, char *err, size_t errlen);
void esp_suite_name(const struct esp_suite *s, char *out, size_t n);
bool esp_suite_is_aead(const struct esp_suite *s);
size_t esp_suite_enc_key_len(const struct esp_suite *s);	/* without salt */
size_t esp_suite_salt_len(const struct esp_suite *s);
size_t esp_suite_integ_key_len(const struct esp_suite *s);
size_t esp_suite_keymat_len(const struct esp_suite *s);	/* all of the above */
size_t esp_suite_icv_len(const struct esp_suite *s);
size_t esp_suite_iv_len(const struct esp_suite *s);
size_t esp_suite_align(const struct esp_suite *s);	/* padding boundary */

#endif
