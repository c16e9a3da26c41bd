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
	uint64_t s = sum;
	uint32_t w;
	uint16_t h;

	/* 32-bit words into a 64-bit accumulator cannot overflow for any
	 * packet; 2^16 = 1 mod 0xffff, so the fold below still yields the
	 * 16-bit ones'-complement sum. */
	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&w, p, 4);
		s += w;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		s += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };	/* RFC 1071: pad with zero */

		memcpy(&h, last, 2);
		s += h;
	}
	return fold32(s);
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
