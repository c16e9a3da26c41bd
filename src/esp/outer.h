/*
 * outer.h - the outer IP header of a raw ESP datagram (RFC 4303 §3.1.2,
 * tunnel mode), for the packet-socket path that bypasses the kernel's IP
 * output (platform l2path.c): what the kernel's raw socket would write.
 */
#ifndef VTI_OUTER_H
#define VTI_OUTER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/prefix.h"

#define OUTER_MAX 40		/* an IPv6 header; IPv4's is 20, no options */

/*
 * Write the header for esp_len bytes of ESP from src to dst (one family)
 * into h, with hop limit ttl: IPv4 with DF (the datagram is sent only if
 * it fits the path) and ID 0, as Linux writes for DF datagrams (RFC 6864
 * §4.1: an atomic datagram's ID means nothing; a counter would tell each
 * peer how much the host sent to the others); IPv6 with flow label flow
 * (RFC 6437).  Returns its length, or 0 if the datagram would exceed
 * 65535 octets of IP.
 */
size_t outer_hdr(uint8_t *h, const struct addr *src, const struct addr *dst, size_t esp_len,
		 uint8_t ttl, uint32_t flow);

#endif
