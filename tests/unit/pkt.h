/*
 * pkt.h - a deliberately plain reference for the Internet checksum, so
 * that tests of the optimised one in lib/csum.c do not check it against
 * itself: 16-bit big-endian words, one at a time.
 */
#ifndef VTI_TEST_PKT_H
#define VTI_TEST_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/cursor.h"

static inline uint32_t ref_sum16(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += be16_get(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static inline uint16_t ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Sum over pseudo-header and TCP segment of an IPv4 (header of any
 * length) or IPv6 packet: 0xffff when the checksum verifies. */
/* The folded sum over a TCP (proto 6) or UDP (17) packet and its
 * pseudo-header: 0xffff when the checksum is right. */
static inline uint16_t ref_l4_verify(const uint8_t *pkt, size_t len, uint8_t proto)
{
	size_t ip = pkt[0] >> 4 == 4 ? (size_t)(pkt[0] & 15) * 4 : 40, tl = len - ip;
	uint32_t s;

	if (pkt[0] >> 4 == 4)
		s = ref_sum16(pkt + 12, 8, 0) + proto + (uint32_t)tl;
	else
		s = ref_sum16(pkt + 8, 32, 0) + proto + (uint32_t)tl;
	return ref_fold(ref_sum16(pkt + ip, tl, s));
}

static inline uint16_t ref_tcp_verify(const uint8_t *pkt, size_t len)
{
	return ref_l4_verify(pkt, len, 6);
}

#endif
