/*
 * prefix.h - IPv4/IPv6 addresses and prefixes: parsing, printing, and
 * matching inner packets against traffic selectors.
 */
#ifndef VTI_PREFIX_H
#define VTI_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct addr {
	int family;		/* AF_INET, AF_INET6, or 0 for unset */
	uint8_t a[16];		/* network order; IPv4 uses the first 4 */
};

struct prefix {
	struct addr addr;
	uint8_t len;
};

int addr_parse(const char *s, struct addr *a);
/* "a.b.c.d/n" or "x::/n"; a bare address means a host prefix. */
int prefix_parse(const char *s, struct prefix *p);
/* Like prefix_parse but keeps host bits (an interface address). */
int ifaddr_parse(const char *s, struct prefix *p);
bool prefix_match(const struct prefix *p, int family, const uint8_t *a);
bool addr_equal(const struct addr *x, const struct addr *y);
const char *addr_str(const struct addr *a, char *out, size_t n);
const char *prefix_str(const struct prefix *p, char *out, size_t n);
size_t addr_len(int family);
struct sockaddr_storage;
/* Address and port to a socket address, and back (port in host order). */
void addr_to_sockaddr(const struct addr *a, uint16_t port, struct sockaddr_storage *ss);
void addr_from_sockaddr(const struct sockaddr_storage *ss, struct addr *a, uint16_t *port);

#define ADDR_STRLEN 48
#define PREFIX_STRLEN 52

#endif
