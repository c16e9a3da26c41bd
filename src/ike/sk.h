/*
 * sk.h - the Encrypted payload (RFC 7296 §3.14): AES-CBC + HMAC-SHA2
 * (encrypt, then MAC over the whole message), and the AEADs of RFC 5282
 * (AES-GCM) and RFC 7634 (ChaCha20-Poly1305), whose AAD is the message up
 * to the end of the SK payload header.
 */
#ifndef VTI_IKE_SK_H
#define VTI_IKE_SK_H

#include <stdbool.h>

#include "ike/keys.h"
#include "ike/msg.h"

struct ike_sk;

/* Both directions, from the point of view of one side; with the keys in
 * k, which must outlive it (the IKE SA's own). */
struct ike_sk *ike_sk_new(const struct ike_keys *k, bool initiator);
void ike_sk_free(struct ike_sk *s);
/*
 * Append SK { inner } to a message being written with w (header and any
 * cleartext payloads already there), finish it and protect it.
 */
int ike_sk_seal(struct ike_sk *s, struct ike_wr *w, uint8_t first, const uint8_t *inner,
		size_t len) __attribute__((warn_unused_result));
/*
 * Verify and decrypt m's SK payload in place (raw must be m->raw, made
 * writable by the caller) and add the inner payloads to m.
 * -N_INVALID_SYNTAX for anything that does not authenticate or parse.
 */
int ike_sk_open(struct ike_sk *s, uint8_t *raw, struct ike_msg *m)
	__attribute__((warn_unused_result));

/*
 * RFC 7383 §2.5 Encrypted Fragment payload: like SK, with Fragment
 * Number and Total Fragments between its header and the IV, covered by
 * the ICV.  first is written into fragment 1 only.
 */
int ike_sk_seal_frag(struct ike_sk *s, struct ike_wr *w, uint8_t first, uint16_t num,
		     uint16_t total, const uint8_t *inner, size_t len)
	__attribute__((warn_unused_result));
/* m's SKF Fragment Number and Total Fragments (not yet authenticated). */
int ike_sk_frag_hdr(const struct ike_msg *m, uint16_t *num, uint16_t *total)
	__attribute__((warn_unused_result));
/* Verify and decrypt m's SKF payload in place; *pt is its content. */
int ike_sk_open_frag(struct ike_sk *s, uint8_t *raw, const struct ike_msg *m, uint8_t **pt,
		     size_t *len) __attribute__((warn_unused_result));
/* Size of a protected body (IV, ciphertext, ICV) for len bytes of content. */
size_t ike_sk_body_len(const struct ike_sk *s, size_t len);
/* The most content that fits a protected body of body bytes (0: none). */
size_t ike_sk_room(const struct ike_sk *s, size_t body);

#endif
