/*
 * tcpmss.h - TCP MSS clamping for packets crossing a tunnel (RFC 4459
 * §3.2, RFC 8899 background): a SYN's MSS option is lowered so that the
 * peer's segments fit the tunnel without fragmentation.
 */
#ifndef VTI_TCPMSS_H
#define VTI_TCPMSS_H

#include <stddef.h>
#include <stdint.h>

/*
 * If pkt is a TCP SYN (IPv4, or IPv6 without extension headers) whose MSS
 * would not fit an inner MTU of mtu, lower it and fix the checksum
 * (RFC 1624).  Returns 1 if the packet was changed, else 0.
 */
int tcp_mss_clamp(uint8_t *pkt, size_t len, unsigned mtu);

#endif
