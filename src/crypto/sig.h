/*
 * sig.h - IKEv2 signatures: RFC 7427 digital signatures (AUTH method 14:
 * an AlgorithmIdentifier, then the signature) with RSASSA-PSS, ECDSA and
 * Ed25519 (RFC 8420), and verification of the older methods peers still
 * use: RSA PKCS#1 v1.5 with SHA-1 (RFC 7296 §3.8, method 1) and ECDSA with
 * raw r || s (RFC 4754, methods 9-11).
 */
#ifndef VTI_SIG_H
#define VTI_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/x509.h"

struct chunk;
struct sig_key;

/* RFC 7427 §4 / IANA "IKEv2 Hash Algorithms" */
enum sig_hash { SIG_HASH_SHA1 = 1, SIG_HASH_SHA256 = 2, SIG_HASH_SHA384 = 3, SIG_HASH_SHA512 = 4,
		SIG_HASH_IDENTITY = 5 };
/* The hashes we announce in SIGNATURE_HASH_ALGORITHMS and accept. */
#define SIG_HASHES_OURS ((1u << SIG_HASH_SHA256) | (1u << SIG_HASH_SHA384) | \
			 (1u << SIG_HASH_SHA512) | (1u << SIG_HASH_IDENTITY))

/* AUTH methods (RFC 7296 §3.8, RFC 4754, RFC 7427) */
enum sig_method { SIG_M_RSA = 1, SIG_M_ECDSA256 = 9, SIG_M_ECDSA384 = 10, SIG_M_ECDSA521 = 11,
		  SIG_M_DIGITAL = 14 };

#define SIG_MAX 600		/* a signature: RSA up to 4096 bits, DER ECDSA */
#define SIG_AUTH_MAX (1 + 80 + SIG_MAX)	/* method 14 AUTH data */

/* A private key from PEM (the key-holding process only). */
int sig_key_pem(const char *pem, size_t len, struct sig_key **out);
void sig_key_free(struct sig_key *k);

/* The hash to sign with for a key of this type, given the hashes the peer
 * announced (a bit mask of enum sig_hash; 0: it announced none); 0 if
 * none fits. */
int sig_hash_for(enum x509_key key, unsigned peer_hashes);

/*
 * RFC 7427 §4: a peer that sent no SIGNATURE_HASH_ALGORITHMS knows only
 * the methods before it: RSA (1, PKCS#1 v1.5 with SHA-1) and ECDSA with
 * its curve's hash (9-11, RFC 4754).  The method and the hash to sign with
 * for this key (SIG_LEGACY set in it), or -ENOTSUP (Ed25519 has none).
 */
#define SIG_LEGACY 0x100
int sig_legacy(enum x509_key key, uint8_t *method, int *hash);
/* AUTH data of such a method from what sig_sign made (RFC 4754 §7: ECDSA
 * as r || s); its length or -errno. */
int sig_legacy_data(enum x509_key key, const uint8_t *sig, size_t siglen, uint8_t *out,
		    size_t max);

/* Sign the concatenated octets with hash; the signature's length or -errno. */
int sig_sign(const struct sig_key *k, int hash, const struct chunk *octets, size_t n,
	     uint8_t *out, size_t max);
/* RFC 7427 §3 AUTH data for method 14 from a bare signature; its length or -errno. */
int sig_auth_data(enum x509_key key, int hash, const uint8_t *sig, size_t siglen, uint8_t *out,
		  size_t max);
/* The AlgorithmIdentifier for (key, hash); NULL if there is none. */
const uint8_t *sig_algid(enum x509_key key, int hash, size_t *len);

/* Verify AUTH data of method m over octets with a certificate's key
 * (x509_cert_pkey).  Hashes outside allowed (a mask) are refused. */
int sig_verify(void *pkey, uint8_t m, const uint8_t *data, size_t len,
	       const struct chunk *octets, size_t n, unsigned allowed);

#endif
