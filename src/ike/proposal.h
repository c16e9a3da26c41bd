/*
 * proposal.h - IKE and ESP proposals: strongSwan keyword strings to
 * SA-payload proposals, and the responder's choice (RFC 7296 §2.7,
 * §3.3.6: the first of the initiator's proposals, in its order, that is
 * acceptable).
 */
#ifndef VTI_IKE_PROPOSAL_H
#define VTI_IKE_PROPOSAL_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/suite.h"
#include "ike/msg.h"

/* "aes128gcm16-prfsha256-x25519-ecp256", comma lists allowed. */
int ike_props_parse(const char *s, struct ike_prop *out, unsigned max, unsigned *n,
		    char *err, size_t errlen);
/* One ESP proposal from a parsed esp_suite (no SPI yet). */
void esp_prop_from_suite(const struct esp_suite *s, struct ike_prop *out);
/* The esp_suite a chosen ESP proposal stands for. */
int esp_suite_from_prop(const struct ike_prop *p, struct esp_suite *out);

/*
 * Choose from the peer's proposals (in their order) the first that one
 * of ours accepts; the result has one transform per type.  For ESP in
 * IKE_AUTH, ignore_dh drops key exchange transforms (no KE there).
 * -N_NO_PROPOSAL_CHOSEN if none fits.
 */
int ike_props_select(const struct ike_prop *peer, unsigned npeer, const struct ike_prop *ours,
		     unsigned nours, bool ignore_dh, struct ike_prop *chosen);
/* Is a responder's single choice one we offered? */
bool ike_prop_offered(const struct ike_prop *chosen, const struct ike_prop *ours, unsigned n);

void ike_prop_str(const struct ike_prop *p, char *out, size_t n);
void ike_props_str(const struct ike_prop *p, unsigned n, char *out, size_t len);
/* As they would be configured: without the prf implied by the integrity
 * algorithm (strongSwan's rule, which ike_props_parse applies). */
void ike_props_conf_str(const struct ike_prop *p, unsigned n, char *out, size_t len);

/* Sizes that follow from a chosen IKE proposal. */
bool ike_encr_aead(uint16_t encr);
size_t ike_encr_keylen(const struct ike_alg *encr);	/* bytes, without salt */

#endif
