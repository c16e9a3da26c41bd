/*
 * alg.h - the one vocabulary of algorithm keywords (strongSwan's proposal
 * words: "aes128gcm16", "sha256", "prfsha384", "x25519", "esn" ...), shared
 * by ESP suites (suite.c) and IKE proposals (ike/proposal.c), so that a
 * word means the same transform and the same key size in both.
 *
 * IANA "Internet Key Exchange Version 2 (IKEv2) Parameters": transform
 * types (RFC 7296 §3.3.2) and their IDs.  The Key Length attribute
 * (§3.3.5) is sent only for ciphers with a variable key size: AES-CBC and
 * AES-GCM (RFC 3602, RFC 4106 §8.4); ChaCha20-Poly1305 has one key size
 * and no attribute (RFC 7634 §2).
 */
#ifndef VTI_ALG_H
#define VTI_ALG_H

#include <stdbool.h>
#include <stdint.h>

/* RFC 7296 §3.3.2 transform types (the same numbers as TT_* on the wire). */
enum alg_type { ALG_ENCR = 1, ALG_PRF = 2, ALG_INTEG = 3, ALG_DH = 4, ALG_ESN = 5 };

struct alg {
	const char *kw;
	uint8_t type;		/* enum alg_type */
	uint16_t id;		/* IANA transform ID */
	uint16_t key_bits;	/* ENCR: the key size (without salt); else 0 */
	bool key_attr;		/* ENCR: sent with a Key Length attribute */
};

/* The entry for a keyword; NULL if the word is unknown. */
const struct alg *alg_find(const char *kw);
/* The first (canonical) keyword for a transform as it is on the wire:
 * attr_bits is the Key Length attribute, 0 when there is none. */
const struct alg *alg_by_wire(uint8_t type, uint16_t id, uint16_t attr_bits);
/* The canonical ENCR row for a cipher and key size; NULL if none. */
const struct alg *alg_encr(uint16_t id, uint16_t key_bits);
/* The Key Length attribute a transform carries (0: none). */
uint16_t alg_attr_bits(const struct alg *a);
/* The ENCR key size in bits for a wire transform; 0 if unknown. */
uint16_t alg_encr_key_bits(uint16_t id, uint16_t attr_bits);
/* Is this ENCR transform an AEAD (no separate integrity)? */
bool alg_encr_aead(uint16_t id);
/* Walk the table (tests): NULL past the end. */
const struct alg *alg_at(unsigned i);

#endif
