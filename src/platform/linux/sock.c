/*
 * sock.c - the sockets that carry ESP: UDP (RFC 3948, shared with IKE on
 * the NAT-T port) and raw IP protocol 50, for IPv4 and IPv6, with the
 * source address chosen per packet through IP_PKTINFO / IPV6_PKTINFO.
 */
#include "platform/platform.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Reference runs lost packets only at the receiving socket: size it. */
#define SOCK_BUF (8 << 20)
/*
 * The UDP sockets take IKE (and ESP in UDP on 4500).  A hub that restarts
 * makes every branch initiate in the same second: 10,000 IKE_SA_INITs and
 * then their IKE_AUTHs, small datagrams of about 1 KB of kernel memory
 * each, queued while the hub signs and verifies.  8 MB overflowed (23,698
 * drops; the branches backed off and were all back after 70 s with
 * certificates); 32 MB took them in 23 s (bench/RESULTS.md).
 */
#define SOCK_BUF_UDP_RX (32 << 20)

static void size_buffers(int fd, int rx)
{
	int v = SOCK_BUF;

	/* The FORCE variants pass net.core.*mem_max (root only). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rx, sizeof(rx)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rx, sizeof(rx));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

static int finish(int fd, int family, bool v6only, int rx)
{
	int one = 1;

	if (family == AF_INET6 && v6only &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		return -errno;
	/*
	 * No IP_RECVERR: on these unconnected sockets it makes the kernel
	 * fail the next send (to anyone) and the next receive with the error
	 * of any ICMP message that quotes our port, and ICMP is forged by
	 * anyone on the path (RFC 7296 §2.4: no conclusion from ICMP).  What
	 * is counted is what the kernel refuses here, from send's result.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0)
		return -errno;
	size_buffers(fd, rx);
	return 0;
}

int sock_udp_open(int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, err, tries;

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
	err = finish(fd, family, true, SOCK_BUF_UDP_RX);
	/* A vtid that was just killed may still be dying (its network process
	 * goes with the parent, a moment later): give the port 2 s to free. */
	for (tries = 0; !err && bind(fd, (struct sockaddr *)&ss, sl) < 0; tries++) {
		struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };

		err = -errno;
		if (err != -EADDRINUSE || tries == 40)
			break;
		nanosleep(&ts, NULL);
		err = 0;
	}
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
	err = finish(fd, family, false, SOCK_BUF);
	/* A raw IPv6 socket gives no header: the destination, which the
	 * XDP program of esp-path = xdp is told with an SA's SPI, comes as
	 * IPV6_PKTINFO. */
	if (!err && family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &(int){ 1 }, sizeof(int)) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Control messages: the source address (IP_PKTINFO) and, for UDP GSO,
 * the segment size (UDP_SEGMENT). */
union cmsg_buf {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t))];
	struct cmsghdr align;
};

static struct cmsghdr *cmsg_add(struct msghdr *m, int level, int type, const void *data,
				size_t len)
{
	struct cmsghdr *c = (struct cmsghdr *)((char *)m->msg_control + m->msg_controllen);

	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	m->msg_controllen += CMSG_SPACE(len);
	return c;
}

static void control(struct msghdr *m, union cmsg_buf *u, const struct addr *src, uint16_t gso)
{
	memset(u, 0, sizeof(*u));
	m->msg_control = u->buf;
	m->msg_controllen = 0;
	if (src && src->family == AF_INET) {
		struct in_pktinfo pi = { 0 };

		memcpy(&pi.ipi_spec_dst, src->a, 4);
		cmsg_add(m, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	} else if (src && src->family == AF_INET6) {
		struct in6_pktinfo pi = { 0 };

		memcpy(&pi.ipi6_addr, src->a, 16);
		cmsg_add(m, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
	if (gso)
		cmsg_add(m, IPPROTO_UDP, UDP_SEGMENT, &gso, sizeof(gso));
	if (!m->msg_controllen)
		m->msg_control = NULL;
}

static void msg_init(struct msghdr *m, const struct sockaddr_storage *dst)
{
	memset(m, 0, sizeof(*m));
	m->msg_name = (void *)dst;
	m->msg_namelen = dst->ss_family == AF_INET ? sizeof(struct sockaddr_in)
						   : sizeof(struct sockaddr_in6);
}

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
	struct msghdr m;
	unsigned i, done = 0;
	int r;

	msg_init(&m, dst);
	control(&m, &u, src, 0);
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

/* The kernel's limits: UDP_MAX_SEGMENTS, and an IP packet of 64 KB. */
#define GSO_SEGS 64
#define GSO_BYTES 65000

/* Datagrams pkts[0..) that one GSO send can carry: equal sizes, and at
 * most one shorter one to end the run. */
static unsigned gso_run(const struct iovec *pkts, unsigned n)
{
	size_t seg = pkts[0].iov_len, total = seg;
	unsigned j = 1;

	while (j < n && j < GSO_SEGS && pkts[j].iov_len <= seg &&
	       total + pkts[j].iov_len <= GSO_BYTES) {
		total += pkts[j].iov_len;
		if (pkts[j++].iov_len < seg)
			break;
	}
	return j;
}

int sock_send_gso(int fd, const struct addr *src, const struct sockaddr_storage *dst,
		  const struct iovec *pkts, unsigned n)
{
	static bool unsupported;
	struct mmsghdr msgs[SEND_BATCH];
	union cmsg_buf u[SEND_BATCH];
	unsigned count[SEND_BATCH], done = 0, k, i;
	int r;

	while (!unsupported && done < n) {
		for (k = 0, i = done; k < SEND_BATCH && i < n; k++, i += count[k - 1]) {
			count[k] = gso_run(pkts + i, n - i);
			msg_init(&msgs[k].msg_hdr, dst);
			msgs[k].msg_hdr.msg_iov = (struct iovec *)&pkts[i];
			msgs[k].msg_hdr.msg_iovlen = count[k];
			msgs[k].msg_len = 0;
			control(&msgs[k].msg_hdr, &u[k], src,
				count[k] > 1 ? (uint16_t)pkts[i].iov_len : 0);
		}
		r = sendmmsg(fd, msgs, k, 0);
		if (r <= 0) {
			/* No UDP GSO here (old kernel, no checksum offload on
			 * the way out): fall back to one datagram each. */
			if (r < 0 && !done && (errno == EIO || errno == EINVAL ||
					      errno == ENOPROTOOPT || errno == EOPNOTSUPP)) {
				unsupported = true;
				break;
			}
			return done ? (int)done : (r < 0 ? -errno : -EIO);
		}
		for (i = 0; i < (unsigned)r; i++)
			done += count[i];
	}
	if (done < n) {
		r = sock_send_batch(fd, src, dst, pkts + done, n - done);
		return r < 0 ? (done ? (int)done : r) : (int)done + r;
	}
	return (int)done;
}

bool sock_enable_gro(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
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

enum sock_err_kind sock_err_kind(int err)
{
	switch (err) {
	case ENOBUFS:
	case EAGAIN:
		return SOCK_ERR_NOBUFS;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ECONNREFUSED:
	case EACCES:
	case EPERM:
	case EHOSTDOWN:
	case ENETDOWN:
		return SOCK_ERR_UNREACH;
	case EMSGSIZE:
		return SOCK_ERR_MSGSIZE;
	default:
		return SOCK_ERR_OTHER;
	}
}

const char *sock_err_name(enum sock_err_kind k)
{
	static const char *const n[SOCK_ERR_KINDS] = { "no_buffer", "unreachable", "message_size",
						       "other" };

	return k < SOCK_ERR_KINDS ? n[k] : "other";
}


bool sock_cmsg(struct msghdr *m, int level, int type, void *out, size_t len)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
		if (c->cmsg_level == level && c->cmsg_type == type && c->cmsg_len >= CMSG_LEN(len)) {
			memcpy(out, CMSG_DATA(c), len);
			return true;
		}
	return false;
}

bool sock_rx_dst6(struct msghdr *m, uint8_t dst[16])
{
	struct in6_pktinfo pi;

	if (!sock_cmsg(m, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi)))
		return false;
	memcpy(dst, &pi.ipi6_addr, 16);
	return true;
}

bool sock_rx_dropped(struct msghdr *m, uint32_t *count)
{
	return sock_cmsg(m, SOL_SOCKET, SO_RXQ_OVFL, count, sizeof(*count));
}
