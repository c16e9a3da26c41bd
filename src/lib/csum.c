/*
 * csum.c - the Internet checksum (see csum.h).
 */
#include "lib/csum.h"

#include <arpa/inet.h>
#include <string.h>

#include "lib/cursor.h"

static uint32_t fold32(uint64_t s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

uint32_t csum_partial(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	unsigned __int128 acc = sum;
	uint64_t w0, w1, w2, w3, lo, hi;
	uint32_t w;
	uint16_t h;

	/* 64-bit words into a 128-bit accumulator: the carries collect in the
	 * high half, and as 2^64 = 2^32 = 2^16 = 1 (mod 0xffff) folding the
	 * halves together gives the 16-bit ones'-complement sum.  Four words
	 * per round keep the adds independent; ~3x a 32-bit loop. */
	for (; len >= 32; p += 32, len -= 32) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		memcpy(&w2, p + 16, 8);
		memcpy(&w3, p + 24, 8);
		acc += w0;
		acc += w1;
		acc += w2;
		acc += w3;
	}
	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w0, p, 8);
		acc += w0;
	}
	if (len >= 4) {
		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		acc += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };	/* RFC 1071: pad with zero */

		memcpy(&h, last, 2);
		acc += h;
	}
	lo = (uint64_t)acc;
	hi = (uint64_t)(acc >> 64);
	lo += hi;
	return fold32(lo + (lo < hi));
}

uint32_t csum_pseudo(const uint8_t *ip, bool v6, uint8_t proto, uint32_t l4len)
{
	uint8_t tail[8];
	uint32_t s;

	if (v6) {
		s = csum_partial(ip + 8, 32, 0);
		be32_put(tail, l4len);
		tail[4] = tail[5] = tail[6] = 0;
		tail[7] = proto;
		return csum_partial(tail, 8, s);
	}
	s = csum_partial(ip + 12, 8, 0);
	tail[0] = 0;
	tail[1] = proto;
	be16_put(tail + 2, (uint16_t)l4len);
	return csum_partial(tail, 4, s);
}

uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ntohs((uint16_t)sum);
}

uint16_t csum_final(uint32_t sum)
{
	uint16_t c = (uint16_t)~csum_fold(sum);

	return c ? c : 0xffff;
}

uint16_t csum_replace(uint16_t hc, uint16_t old, uint16_t new_)
{
	uint32_t s = (uint16_t)~hc + (uint16_t)~old + (uint32_t)new_;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

void csum_ip4_header(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 15) * 4;

	ip[10] = ip[11] = 0;
	be16_put(ip + 10, (uint16_t)~csum_fold(csum_partial(ip, ihl, 0)));
}

bool csum_ip4_header_ok(const uint8_t *ip)
{
	return csum_fold(csum_partial(ip, (size_t)(ip[0] & 15) * 4, 0)) == 0xffff;
}
