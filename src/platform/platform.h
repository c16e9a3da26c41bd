/*
 * platform.h - everything the rest of vti needs from the operating system:
 * TUN devices, interface configuration, and the sockets that carry ESP.
 * A port to another system replaces src/platform/<os>/ and nothing else.
 * Every function returns 0 (or a descriptor) or a negative errno.
 */
#ifndef VTI_PLATFORM_H
#define VTI_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/prefix.h"

/* TUN: a layer-3 point-to-point device without packet-info header. */
int tun_open(const char *name, int *ifindex);
int tun_set_carrier(int fd, bool on);

/* Interface configuration (rtnetlink). */
int netif_setup(int ifindex, unsigned mtu);		/* MTU, multicast, up */
int netif_add_addr(int ifindex, const struct prefix *p);

/* MTU of the route towards a destination (the outer path), or -errno. */
int path_mtu(const struct addr *dst);

/* Sockets.  Non-blocking, close-on-exec, buffers sized for bursts. */
int sock_udp_open(int family, uint16_t port);
int sock_esp_open(int family);		/* raw IP protocol 50 */
/* Send from a chosen source address (0.0.0.0/:: lets the kernel pick). */
int sock_send(int fd, const struct addr *src, const struct sockaddr_storage *dst,
	      const void *data, size_t len);
struct iovec;
/* Send n datagrams to one destination with one system call (sendmmsg);
 * returns how many went out, or -errno if none did. */
int sock_send_batch(int fd, const struct addr *src, const struct sockaddr_storage *dst,
		    const struct iovec *pkts, unsigned n);

#endif
