/*
 * outer.c - the outer IPv4 or IPv6 header of a raw ESP datagram.
 */
#include "esp/outer.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/csum.h"

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t outer_hdr(uint8_t *h, const struct addr *src, const struct addr *dst, size_t esp_len,
		 uint8_t ttl, uint32_t flow)
{
	if (src->family != dst->family)
		return 0;
	if (dst->family == AF_INET) {
		if (esp_len > 65535 - 20)
			return 0;
		memset(h, 0, 20);
		h[0] = 0x45;			/* version 4, 5 words */
		put16(h + 2, (uint32_t)(20 + esp_len));
		h[6] = 0x40;			/* DF; ID 0 */
		h[8] = ttl;
		h[9] = IPPROTO_ESP;
		memcpy(h + 12, src->a, 4);
		memcpy(h + 16, dst->a, 4);
		csum_ip4_header(h);	/* RFC 791 §3.1 */
		return 20;
	}
	if (dst->family != AF_INET6 || esp_len > 65535)
		return 0;
	flow &= 0xfffff;
	h[0] = 0x60;				/* version 6, traffic class 0 */
	h[1] = (uint8_t)(flow >> 16);
	put16(h + 2, flow & 0xffff);
	put16(h + 4, (uint32_t)esp_len);
	h[6] = IPPROTO_ESP;
	h[7] = ttl;
	memcpy(h + 8, src->a, 16);
	memcpy(h + 24, dst->a, 16);
	return 40;
}
