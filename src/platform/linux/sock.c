/*
 * sock.c - the sockets that carry ESP: UDP (RFC 3948, shared with IKE on
 * the NAT-T port) and raw IP protocol 50, for IPv4 and IPv6, with the
 * source address chosen per packet through IP_PKTINFO / IPV6_PKTINFO.
 */
#include "platform/platform.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reference runs lost packets only at the receiving socket: size it. */
#define SOCK_BUF (8 << 20)

static void size_buffers(int fd)
{
	int v = SOCK_BUF;

	/* The FORCE variants pass net.core.*mem_max (root only). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

static int finish(int fd, int family, bool v6only)
{
	int one = 1;

	if (family == AF_INET6 && v6only &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		return -errno;
	size_buffers(fd);
	return 0;
}

int sock_udp_open(int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, err;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		sl = sizeof(*s6);
	}
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = finish(fd, family, true);
	if (!err && bind(fd, (struct sockaddr *)&ss, sl) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int sock_esp_open(int family)
{
	int fd, err;

	fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ESP);
	if (fd < 0)
		return -errno;
	err = finish(fd, family, false);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* The control message that picks the source address (IP_PKTINFO). */
static void pktinfo(struct msghdr *m, void *buf, const struct addr *src)
{
	struct cmsghdr *c;

	if (src && src->family == AF_INET) {
		struct in_pktinfo pi = { 0 };

		memcpy(&pi.ipi_spec_dst, src->a, 4);
		m->msg_control = buf;
		m->msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(m);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else if (src && src->family == AF_INET6) {
		struct in6_pktinfo pi = { 0 };

		memcpy(&pi.ipi6_addr, src->a, 16);
		m->msg_control = buf;
		m->msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(m);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
}

union cmsg_buf {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct cmsghdr align;
};

int sock_send(int fd, const struct addr *src, const struct sockaddr_storage *dst,
	      const void *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	int r = sock_send_batch(fd, src, dst, &iov, 1);

	return r < 0 ? r : 0;
}

#define SEND_BATCH 64

int sock_send_batch(int fd, const struct addr *src, const struct sockaddr_storage *dst,
		    const struct iovec *pkts, unsigned n)
{
	struct mmsghdr msgs[SEND_BATCH];
	union cmsg_buf u;
	struct msghdr m = {
		.msg_name = (void *)dst,
		.msg_namelen = dst->ss_family == AF_INET ? sizeof(struct sockaddr_in)
							 : sizeof(struct sockaddr_in6),
	};
	unsigned i, done = 0;
	int r;

	memset(&u, 0, sizeof(u));
	pktinfo(&m, u.buf, src);
	while (done < n) {
		unsigned k = n - done > SEND_BATCH ? SEND_BATCH : n - done;

		for (i = 0; i < k; i++) {
			msgs[i].msg_hdr = m;
			msgs[i].msg_hdr.msg_iov = (struct iovec *)&pkts[done + i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_len = 0;
		}
		r = sendmmsg(fd, msgs, k, 0);
		if (r <= 0)
			return done ? (int)done : (r < 0 ? -errno : -EIO);
		done += (unsigned)r;
	}
	return (int)done;
}

int path_mtu(const struct addr *dst)
{
	struct sockaddr_storage ss;
	socklen_t sl, ol = sizeof(int);
	int fd, mtu = 0, r;

	if (dst->family != AF_INET && dst->family != AF_INET6)
		return -EINVAL;
	addr_to_sockaddr(dst, 500, &ss);
	sl = dst->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	fd = socket(dst->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* connect() on UDP sends nothing; it binds the route, whose MTU the
	 * kernel reports (including what PMTU discovery learnt). */
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    getsockopt(fd, dst->family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
		       dst->family == AF_INET ? IP_MTU : IPV6_MTU, &mtu, &ol) < 0)
		r = -errno;
	else
		r = mtu;
	close(fd);
	return r;
}
