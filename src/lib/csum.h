/*
 * csum.h - the Internet checksum (RFC 1071), computed a machine word at a
 * time in the host's byte order (RFC 1071 §2(B): the sum is independent
 * of byte order as long as it is folded and stored the same way).
 *
 * A running sum is an opaque uint32_t: start at 0, add ranges with
 * csum_partial() and pseudo-headers with csum_pseudo(), then csum_fold()
 * gives the 16-bit value in network order, not yet complemented.
 */
#ifndef VTI_CSUM_H
#define VTI_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint32_t csum_partial(const void *p, size_t len, uint32_t sum);
/* The TCP/UDP pseudo-header of an IPv4 (v6 false) or IPv6 packet whose
 * addresses are in ip; l4len is the transport header plus payload. */
uint32_t csum_pseudo(const uint8_t *ip, bool v6, uint8_t proto, uint32_t l4len);
/* Fold to 16 bits; the result is in host order, ready for be16_put. */
uint16_t csum_fold(uint32_t sum);
/* The checksum field value for a sum (complemented, 0 sent as 0xffff). */
uint16_t csum_final(uint32_t sum);
/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') when one 16-bit word changes. */
uint16_t csum_replace(uint16_t hc, uint16_t old, uint16_t new_);
/* Recompute an IPv4 header checksum in place. */
void csum_ip4_header(uint8_t *ip);
/* Whether an IPv4 header's checksum is right. */
bool csum_ip4_header_ok(const uint8_t *ip);

#endif
