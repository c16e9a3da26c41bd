/*
 * prefix.c - address and prefix helpers (see prefix.h).
 */
#include "lib/prefix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

size_t addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int addr_parse(const char *s, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static int parse(const char *s, struct prefix *p, bool keep_host_bits)
{
	char tmp[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len;
	char *end;
	size_t i, bits;

	if (n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (addr_parse(tmp, &p->addr) < 0)
		return -EINVAL;
	bits = addr_len(p->addr.family) * 8;
	if (slash) {
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1 || len > bits)
			return -EINVAL;
	} else {
		len = bits;
	}
	p->len = (uint8_t)len;
	if (keep_host_bits)
		return 0;
	for (i = len; i < bits; i++)
		p->addr.a[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	return 0;
}

int prefix_parse(const char *s, struct prefix *p)
{
	return parse(s, p, false);
}

int ifaddr_parse(const char *s, struct prefix *p)
{
	return parse(s, p, true);
}

bool prefix_match(const struct prefix *p, int family, const uint8_t *a)
{
	size_t full = p->len / 8, rem = p->len % 8;

	if (p->addr.family != family)
		return false;
	if (memcmp(p->addr.a, a, full) != 0)
		return false;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff << (8 - rem));

		if ((p->addr.a[full] & mask) != (a[full] & mask))
			return false;
	}
	return true;
}

bool addr_equal(const struct addr *x, const struct addr *y)
{
	return x->family == y->family &&
	       memcmp(x->a, y->a, addr_len(x->family)) == 0;
}

const char *addr_str(const struct addr *a, char *out, size_t n)
{
	if (!a->family || !inet_ntop(a->family, a->a, out, (socklen_t)n))
		snprintf(out, n, "any");
	return out;
}

const char *prefix_str(const struct prefix *p, char *out, size_t n)
{
	char a[ADDR_STRLEN];

	snprintf(out, n, "%s/%u", addr_str(&p->addr, a, sizeof(a)), p->len);
	return out;
}

void addr_to_sockaddr(const struct addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->a, 4);
	} else if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->a, 16);
	}
}

void addr_from_sockaddr(const struct sockaddr_storage *ss, struct addr *a, uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	*port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		a->family = AF_INET;
		memcpy(a->a, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		a->family = AF_INET6;
		memcpy(a->a, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
	}
}
