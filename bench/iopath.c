/*
 * iopath.c - moves ESP-shaped IPv4 datagrams from a sender to a receiver
 * over one candidate kernel I/O path, to compare the ways vtid could carry
 * raw ESP (issue 15).  Not vtid's code and not a test: it measures, the
 * figures go to bench/RESULTS.md and doc/fastpath.md.
 *
 * A datagram is a valid ESP header (RFC 4303 §2: SPI, sequence number)
 * followed by an 8-byte IV, the inner packet's worth of random bytes padded
 * to 4 (§2.4) with the two trailer bytes, and a 16-byte ICV, as
 * aes128gcm16 (RFC 4106 §3) would produce for that inner size.  Nothing is
 * encrypted: only the I/O is measured.
 *
 * Paths (the same on both ends unless said):
 *   raw     raw IP socket, protocol 50, sendmmsg/recvmmsg of -b datagrams
 *           (what vtid's datapath does today)
 *   udp     UDP port 4500 (RFC 3948), sendmmsg/recvmmsg without offloads
 *   udpgso  UDP with UDP_SEGMENT runs on send and UDP_GRO on receive
 *           (vtid's ESP-in-UDP path)
 *   packet  AF_PACKET: TX ring (TPACKET_V2) with PACKET_QDISC_BYPASS, the
 *           IPv4 header built here; RX ring (TPACKET_V3) behind a classic
 *           BPF filter that accepts only ESP to the local address
 *   packetmm (send only) AF_PACKET without a ring: sendmmsg of whole
 *           frames, through the qdisc
 *   uring   io_uring: batches of sendmsg / recvmsg on the raw socket
 *   uringms (receive only) io_uring multishot recvmsg on the raw socket,
 *           into a ring of provided buffers
 *   xdp     AF_XDP in copy mode on queue 0: TX ring; RX behind the XDP
 *           program iopath_xdp.bpf.c (-x), which passes all but our ESP
 *
 * Usage: iopath send|recv PATH -l LOCAL -p PEER -t SECONDS -s INNER -b BATCH
 *               [-i IFNAME] [-m PEER-MAC] [-x XDP-OBJECT]
 * -U: once set up, run as nobody without capabilities (as vtid's network
 * process would); the packet rings are mapped only after that.
 * The sender prints "sent=N secs=S cpu=C"; the receiver prints
 * "rcvd=N bad=N foreign=N secs=S cpu=C kdrops=N", secs from the first
 * to the last datagram, cpu the process's user+system seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <liburing.h>
#ifdef IOPATH_XDP
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <xdp/xsk.h>
#endif
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <grp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SPI 0x00001001u
#define IV_LEN 8
#define ICV_LEN 16
#define UDP_PORT 4500
#define SLOT 2048		/* one datagram's buffer */
#define GSO_SEGS 64		/* the kernel's UDP_MAX_SEGMENTS */
#define GSO_BYTES 65000
#define MAX_BATCH 1024
#define IDLE_END 1.0		/* seconds without data that end a receive */
#define RING_FRAME 2048
#define RING_BLOCK (1u << 20)
#define RING_BLOCKS 16
#define TX_BLOCK (1u << 16)
#define TX_BLOCKS 128

struct opts {
	const char *path;
	struct in_addr local, peer;
	double secs;
	size_t inner;
	unsigned batch;
	const char *ifname;
	const char *bpf_obj;	/* the XDP program, for xdp receive */
	bool unpriv;		/* -U: no uid 0, no capability after setup */
	uint8_t dmac[ETH_ALEN];
	bool have_dmac;
};

struct rx {
	uint64_t good, bad, foreign, kdrops;
	double first, last;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ESP datagram length for an inner packet: RFC 4303 §2.4 pads the inner
 * packet and the two trailer bytes (pad length, next header) to 4. */
static size_t esp_len(size_t inner)
{
	return 8 + IV_LEN + ((inner + 2 + 3) & ~(size_t)3) + ICV_LEN;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One ESP datagram at p: header, then random bytes (filled once). */
static void esp_fill(uint8_t *p, size_t len, uint32_t seq, bool fresh)
{
	if (fresh && getrandom(p, len, 0) != (ssize_t)len)
		memset(p, 0xa5, len);
	put32(p, SPI);
	put32(p + 4, seq);
}

/* A received ESP datagram: ours if it has our SPI and the expected size. */
static void rx_esp(struct rx *r, const uint8_t *p, size_t len, size_t want)
{
	double t = now();

	if (len != want || get32(p) != SPI) {
		r->bad++;
		return;
	}
	if (!r->good)
		r->first = t;
	r->last = t;
	r->good++;
}

/* A raw IPv4 socket hands over the IP header too. */
static void rx_ip4(struct rx *r, const uint8_t *p, size_t len, size_t want)
{
	size_t ihl;

	if (len < 20 || p[0] >> 4 != 4 || (ihl = (size_t)(p[0] & 15) * 4) < 20 || ihl > len) {
		r->bad++;
		return;
	}
	rx_esp(r, p + ihl, len - ihl, want);
}

static void sockaddr_of(struct sockaddr_in *sa, struct in_addr a, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr = a;
	sa->sin_port = htons(port);
}

static void size_buffers(int fd)
{
	int v = 8 << 20;	/* as vtid's sock.c */

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

static int open_raw(void)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP);

	if (fd < 0)
		return -errno;
	size_buffers(fd);
	return fd;
}

static int open_udp(const struct opts *o, bool bind_it)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	size_buffers(fd);
	sockaddr_of(&sa, o->local, UDP_PORT);
	if (bind_it && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Wait up to ms for fd; 0 when it is ready, 1 on timeout. */
static int wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r = poll(&p, 1, ms);

	return r < 0 ? -errno : r == 0;
}

/* With -U, become nobody once the path is set up, as vtid's network
 * process would be after the parent handed it the descriptors: changing
 * every uid away from 0 clears the capability sets (capabilities(7)). */
static int drop_privs(const struct opts *o)
{
	char line[256];
	bool clear = false;
	FILE *f;

	if (!o->unpriv)
		return 0;
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		return -errno;
	f = fopen("/proc/self/status", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strcmp(line, "CapEff:\t0000000000000000\n"))
			clear = true;
	fclose(f);
	return clear ? 0 : -EPERM;
}

/* Whether a receive should stop: idle after data, or nothing came. */
static bool rx_done(const struct rx *r, double start, double secs)
{
	double t = now();

	return r->good ? t - r->last > IDLE_END : t - start > secs + 5;
}

/* ---- raw and plain UDP: sendmmsg / recvmmsg of batch datagrams ---- */

static int send_mmsg(const struct opts *o, int fd, uint16_t port, uint64_t *sent)
{
	static struct mmsghdr m[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	struct sockaddr_in dst;
	size_t len = esp_len(o->inner);
	uint8_t *pool = malloc((size_t)o->batch * SLOT);
	uint32_t seq = 1;
	double end = now() + o->secs;
	unsigned i;
	int r;

	if (!pool)
		return -ENOMEM;
	sockaddr_of(&dst, o->peer, port);
	for (i = 0; i < o->batch; i++) {
		esp_fill(pool + (size_t)i * SLOT, len, 0, true);
		iov[i] = (struct iovec){ pool + (size_t)i * SLOT, len };
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_name = &dst;
		m[i].msg_hdr.msg_namelen = sizeof(dst);
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	while (now() < end) {
		for (i = 0; i < o->batch; i++)
			put32(pool + (size_t)i * SLOT + 4, seq++);
		r = sendmmsg(fd, m, o->batch, 0);
		if (r > 0)
			*sent += (uint64_t)r;
		else if (r < 0 && errno != ENOBUFS && errno != EAGAIN)
			break;
	}
	free(pool);
	return 0;
}

static int recv_mmsg(const struct opts *o, int fd, bool ip_hdr, struct rx *rx)
{
	static struct mmsghdr m[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	uint8_t *pool = malloc((size_t)o->batch * SLOT);
	size_t want = esp_len(o->inner);
	double start = now();
	unsigned i;
	int n;

	if (!pool)
		return -ENOMEM;
	for (i = 0; i < o->batch; i++) {
		iov[i] = (struct iovec){ pool + (size_t)i * SLOT, SLOT };
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	/* As vtid's event loop: one recvmmsg per readiness. */
	while (!rx_done(rx, start, o->secs)) {
		if (wait_fd(fd, POLLIN, 100) != 0)
			continue;
		n = recvmmsg(fd, m, o->batch, MSG_DONTWAIT, NULL);
		for (i = 0; n > 0 && i < (unsigned)n; i++) {
			if (ip_hdr)
				rx_ip4(rx, iov[i].iov_base, m[i].msg_len, want);
			else
				rx_esp(rx, iov[i].iov_base, m[i].msg_len, want);
		}
	}
	free(pool);
	return 0;
}

/* ---- UDP GSO / GRO ---- */

union gso_cmsg {
	char buf[CMSG_SPACE(sizeof(uint16_t))];
	struct cmsghdr align;
};

/* Each message is one run of equal datagrams (UDP_SEGMENT); batch is the
 * number of datagrams per sendmmsg, cut into runs as vtid's sock.c does. */
static int send_gso(const struct opts *o, int fd, uint64_t *sent)
{
	static struct mmsghdr m[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	static union gso_cmsg c[MAX_BATCH];
	static unsigned count[MAX_BATCH];
	struct sockaddr_in dst;
	size_t len = esp_len(o->inner);
	unsigned per = GSO_BYTES / len < GSO_SEGS ? GSO_BYTES / (unsigned)len : GSO_SEGS;
	unsigned k = 0, i, left;
	uint8_t *pool = malloc((size_t)o->batch * len);
	uint16_t seg = (uint16_t)len;
	uint32_t seq = 1;
	double end = now() + o->secs;
	int r;

	if (!pool)
		return -ENOMEM;
	sockaddr_of(&dst, o->peer, UDP_PORT);
	for (left = o->batch; left; k++) {
		count[k] = left < per ? left : per;
		iov[k] = (struct iovec){ pool + (size_t)(o->batch - left) * len,
					 count[k] * len };
		left -= count[k];
		memset(&m[k], 0, sizeof(m[k]));
		m[k].msg_hdr.msg_name = &dst;
		m[k].msg_hdr.msg_namelen = sizeof(dst);
		m[k].msg_hdr.msg_iov = &iov[k];
		m[k].msg_hdr.msg_iovlen = 1;
		if (count[k] > 1) {
			struct cmsghdr *h = &c[k].align;

			m[k].msg_hdr.msg_control = c[k].buf;
			m[k].msg_hdr.msg_controllen = sizeof(c[k].buf);
			h->cmsg_level = IPPROTO_UDP;
			h->cmsg_type = UDP_SEGMENT;
			h->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(h), &seg, sizeof(seg));
		}
	}
	for (i = 0; i < o->batch; i++)
		esp_fill(pool + (size_t)i * len, len, 0, true);
	while (now() < end) {
		for (i = 0; i < o->batch; i++)
			put32(pool + (size_t)i * len + 4, seq++);
		r = sendmmsg(fd, m, k, 0);
		for (i = 0; r > 0 && i < (unsigned)r; i++)
			*sent += count[i];
		if (r < 0 && errno != ENOBUFS && errno != EAGAIN)
			break;
	}
	free(pool);
	return 0;
}

static size_t gro_size(struct msghdr *m)
{
	struct cmsghdr *c;
	int v;

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
		if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			return v > 0 ? (size_t)v : 0;
		}
	return 0;
}

static bool enable_gro(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
}

union gro_cmsg {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

static int recv_gro(const struct opts *o, int fd, struct rx *rx)
{
	static struct mmsghdr m[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	static union gro_cmsg c[MAX_BATCH];
	size_t big = 65536, want = esp_len(o->inner), off, seg, len;
	uint8_t *pool = malloc((size_t)o->batch * big);
	double start = now();
	unsigned i;
	int n;

	if (!pool)
		return -ENOMEM;
	for (i = 0; i < o->batch; i++)
		iov[i] = (struct iovec){ pool + (size_t)i * big, big };
	while (!rx_done(rx, start, o->secs)) {
		if (wait_fd(fd, POLLIN, 100) != 0)
			continue;
		for (i = 0; i < o->batch; i++) {
			memset(&m[i], 0, sizeof(m[i]));
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
			m[i].msg_hdr.msg_control = c[i].buf;
			m[i].msg_hdr.msg_controllen = sizeof(c[i].buf);
		}
		n = recvmmsg(fd, m, o->batch, MSG_DONTWAIT, NULL);
		for (i = 0; n > 0 && i < (unsigned)n; i++) {
			len = m[i].msg_len;
			seg = gro_size(&m[i].msg_hdr);
			if (!seg || seg > len)
				seg = len ? len : 1;
			for (off = 0; off < len; off += seg)
				rx_esp(rx, (uint8_t *)iov[i].iov_base + off,
				       len - off < seg ? len - off : seg, want);
		}
	}
	free(pool);
	return 0;
}

/* ---- AF_PACKET ---- */

/* RFC 791 header checksum: ones' complement sum of 16-bit words. */
static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An AF_XDP socket has no ioctl: ask through a socket of our own. */
static int if_mac(const char *ifname, uint8_t mac[ETH_ALEN])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(fd);
	return err;
}

/* Ethernet + IPv4 header (protocol 50, DF, checksummed) for an ESP
 * datagram of len bytes; the ESP bytes follow at frame + 34. */
static void frame_hdr(uint8_t *f, const struct opts *o, const uint8_t smac[ETH_ALEN],
		      size_t len, uint16_t id)
{
	uint8_t *ip = f + ETH_HLEN;
	uint16_t tot = (uint16_t)(20 + len), ck;

	memcpy(f, o->dmac, ETH_ALEN);
	memcpy(f + 6, smac, ETH_ALEN);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[4] = (uint8_t)(id >> 8);
	ip[5] = (uint8_t)id;
	ip[6] = 0x40;		/* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_ESP;
	memcpy(ip + 12, &o->local, 4);
	memcpy(ip + 16, &o->peer, 4);
	ck = ip_csum(ip, 20);
	ip[10] = (uint8_t)(ck >> 8);
	ip[11] = (uint8_t)ck;
}

static int packet_bind(int fd, const char *ifname, uint16_t proto)
{
	struct sockaddr_ll sll;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(proto);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex)
		return -ENODEV;
	return bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ? -errno : 0;
}

/* TX ring, TPACKET_V2: frames of RING_FRAME bytes; the kernel sends every
 * frame marked SEND_REQUEST on send(), straight to the driver (bypassing
 * the qdisc), and marks it AVAILABLE again when the skb is freed. */
static int send_packet(const struct opts *o, uint64_t *sent)
{
	struct tpacket_req req = {
		.tp_block_size = TX_BLOCK, .tp_block_nr = TX_BLOCKS,
		.tp_frame_size = RING_FRAME,
		.tp_frame_nr = TX_BLOCK / RING_FRAME * TX_BLOCKS,
	};
	size_t off = TPACKET_ALIGN(sizeof(struct tpacket2_hdr)), len = esp_len(o->inner);
	size_t ring_len = (size_t)req.tp_block_size * req.tp_block_nr;
	int fd, v2 = TPACKET_V2, one = 1, err = 0;
	unsigned cur = 0, i;
	uint8_t smac[ETH_ALEN], *ring = MAP_FAILED, *esp;
	uint32_t seq = 1;
	double end;

	if (!o->have_dmac || !o->ifname)
		return -EINVAL;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);	/* 0: sends only */
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v2, sizeof(v2)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) < 0) {
		err = -errno;
		goto out;
	}
	if ((err = if_mac(o->ifname, smac)) < 0 ||
	    (err = packet_bind(fd, o->ifname, ETH_P_IP)) < 0 || (err = drop_privs(o)) < 0)
		goto out;
	/* The ring is mapped after the privileges went: what a network
	 * process handed the descriptor would do. */
	ring = mmap(NULL, ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ring == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	/* Headers and payload once; per send only the sequence number (the
	 * IP ID stays: DF is set, nothing is fragmented, RFC 6864 §4.1). */
	for (i = 0; i < req.tp_frame_nr; i++) {
		uint8_t *f = ring + (size_t)i * RING_FRAME + off;

		frame_hdr(f, o, smac, len, (uint16_t)i);
		esp_fill(f + ETH_HLEN + 20, len, 0, true);
	}
	end = now() + o->secs;
	while (now() < end) {
		unsigned queued = 0;

		while (queued < o->batch) {
			struct tpacket2_hdr *h = (void *)(ring + (size_t)cur * RING_FRAME);

			if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE)
				break;
			esp = (uint8_t *)h + off + ETH_HLEN + 20;
			put32(esp + 4, seq++);
			h->tp_len = (uint32_t)(ETH_HLEN + 20 + len);
			__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
			cur = (cur + 1) % req.tp_frame_nr;
			queued++;
		}
		if (queued && send(fd, NULL, 0, MSG_DONTWAIT) < 0 && errno != EAGAIN &&
		    errno != ENOBUFS) {
			err = -errno;
			break;
		}
		*sent += queued;
		if (queued < o->batch)
			wait_fd(fd, POLLOUT, 10);
	}
out:
	if (ring != MAP_FAILED)
		munmap(ring, ring_len);
	close(fd);
	return err;
}

/* No ring: sendmmsg of whole frames on a packet socket, through the qdisc
 * (with PACKET_QDISC_BYPASS it measured the same on veth), to tell the
 * ring's gain from the gain of skipping the IP output path (routing,
 * netfilter, neighbour).  This is what vtid's datapath took. */
static int send_packet_mmsg(const struct opts *o, uint64_t *sent)
{
	static struct mmsghdr m[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	size_t len = esp_len(o->inner), flen = ETH_HLEN + 20 + len;
	uint8_t smac[ETH_ALEN], *pool = NULL;
	uint32_t seq = 1;
	int fd, err = 0, r;
	unsigned i;
	double end;

	if (!o->have_dmac || !o->ifname)
		return -EINVAL;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if ((err = if_mac(o->ifname, smac)) < 0 ||
	    (err = packet_bind(fd, o->ifname, ETH_P_IP)) < 0 || (err = drop_privs(o)) < 0)
		goto out;
	pool = malloc((size_t)o->batch * SLOT);
	if (!pool) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < o->batch; i++) {
		uint8_t *f = pool + (size_t)i * SLOT;

		frame_hdr(f, o, smac, len, (uint16_t)i);
		esp_fill(f + ETH_HLEN + 20, len, 0, true);
		iov[i] = (struct iovec){ f, flen };
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	end = now() + o->secs;
	while (now() < end) {
		for (i = 0; i < o->batch; i++)
			put32(pool + (size_t)i * SLOT + ETH_HLEN + 20 + 4, seq++);
		r = sendmmsg(fd, m, o->batch, 0);
		if (r > 0)
			*sent += (uint64_t)r;
		else if (r < 0 && errno != ENOBUFS && errno != EAGAIN) {
			err = -errno;
			break;
		}
	}
out:
	free(pool);
	close(fd);
	return err;
}

/* Classic BPF on the frame from its Ethernet header: IPv4, protocol 50,
 * to the local address; everything else stays with the kernel alone. */
static int attach_esp_filter(int fd, struct in_addr local)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 5),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, ETH_HLEN + 9),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_ESP, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ETH_HLEN + 16),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(local.s_addr), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ? -errno
										       : 0;
}

/* One frame from the RX ring: ours if it is ESP to the local address. */
static void rx_frame(struct rx *r, const struct opts *o, const uint8_t *f, size_t len,
		     size_t want)
{
	if (len < ETH_HLEN + 20 || f[12] != 0x08 || f[13] != 0x00 ||
	    f[ETH_HLEN + 9] != IPPROTO_ESP || memcmp(f + ETH_HLEN + 16, &o->local, 4)) {
		r->foreign++;
		return;
	}
	rx_ip4(r, f + ETH_HLEN, len - ETH_HLEN, want);
}

/* Walk one retired TPACKET_V3 block and give it back. */
static void rx_block(struct rx *r, const struct opts *o, struct tpacket_block_desc *b,
		     size_t want)
{
	uint8_t *p = (uint8_t *)b + b->hdr.bh1.offset_to_first_pkt;
	uint32_t i;

	for (i = 0; i < b->hdr.bh1.num_pkts; i++) {
		struct tpacket3_hdr *h = (void *)p;

		rx_frame(r, o, p + h->tp_mac, h->tp_snaplen, want);
		p += h->tp_next_offset;
	}
	__atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

/* RX ring, TPACKET_V3: the kernel fills blocks of variable-sized frames and
 * hands a block over when it is full or its timer (1 ms) retires it. */
static int recv_packet(const struct opts *o, struct rx *rx)
{
	struct tpacket_req3 req = {
		.tp_block_size = RING_BLOCK, .tp_block_nr = RING_BLOCKS,
		.tp_frame_size = RING_FRAME,
		.tp_frame_nr = RING_BLOCK / RING_FRAME * RING_BLOCKS,
		.tp_retire_blk_tov = 1,
	};
	size_t ring_len = (size_t)RING_BLOCK * RING_BLOCKS, want = esp_len(o->inner);
	struct tpacket_stats_v3 st;
	socklen_t sl = sizeof(st);
	int fd, v3 = TPACKET_V3, one = 1, err = 0;
	uint8_t *ring = MAP_FAILED;
	unsigned cur = 0;
	double start = now();

	if (!o->ifname)
		return -EINVAL;
	/* ETH_P_ALL: a tap that sees the frame before tc ingress, so that a tc
	 * filter may drop our ESP before the IP stack (iopath.sh "packet+tc").
	 * The filter goes on before bind so nothing unfiltered is queued. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if ((err = attach_esp_filter(fd, o->local)) < 0)
		goto out;
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v3, sizeof(v3)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		err = -errno;
		goto out;
	}
	if ((err = packet_bind(fd, o->ifname, ETH_P_ALL)) < 0 || (err = drop_privs(o)) < 0)
		goto out;
	ring = mmap(NULL, ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ring == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	while (!rx_done(rx, start, o->secs)) {
		struct tpacket_block_desc *b = (void *)(ring + (size_t)cur * RING_BLOCK);

		if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
		      TP_STATUS_USER)) {
			wait_fd(fd, POLLIN, 100);
			continue;
		}
		rx_block(rx, o, b, want);
		cur = (cur + 1) % RING_BLOCKS;
	}
	if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0)
		rx->kdrops = st.tp_drops;
out:
	if (ring != MAP_FAILED)
		munmap(ring, ring_len);
	close(fd);
	return err;
}

/* ---- io_uring on the raw socket ---- */

/* batch sendmsg submissions with one io_uring_enter, then their
 * completions; buffers are reused only after they completed. */
static int send_uring(const struct opts *o, int fd, uint64_t *sent)
{
	static struct msghdr m[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct sockaddr_in dst;
	size_t len = esp_len(o->inner);
	uint8_t *pool = malloc((size_t)o->batch * SLOT);
	uint32_t seq = 1;
	double end = now() + o->secs;
	unsigned i, head, seen;
	int r;

	if (!pool)
		return -ENOMEM;
	r = io_uring_queue_init(o->batch * 2, &ring, 0);
	if (r < 0) {
		free(pool);
		return r;
	}
	sockaddr_of(&dst, o->peer, 0);
	for (i = 0; i < o->batch; i++) {
		esp_fill(pool + (size_t)i * SLOT, len, 0, true);
		iov[i] = (struct iovec){ pool + (size_t)i * SLOT, len };
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_name = &dst;
		m[i].msg_namelen = sizeof(dst);
		m[i].msg_iov = &iov[i];
		m[i].msg_iovlen = 1;
	}
	while (now() < end) {
		for (i = 0; i < o->batch; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			put32(pool + (size_t)i * SLOT + 4, seq++);
			io_uring_prep_sendmsg(sqe, fd, &m[i], 0);
		}
		r = io_uring_submit_and_wait(&ring, o->batch);
		if (r < 0 && r != -EINTR)
			break;
		for (seen = 0; seen < o->batch;) {
			unsigned n = 0;

			if (io_uring_wait_cqe(&ring, &cqe) < 0)
				break;
			io_uring_for_each_cqe(&ring, head, cqe) {
				*sent += cqe->res > 0;
				n++;
			}
			io_uring_cq_advance(&ring, n);
			seen += n;
		}
	}
	io_uring_queue_exit(&ring);
	free(pool);
	return 0;
}

static void post_recv(struct io_uring *ring, int fd, struct msghdr *m, unsigned slot)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	io_uring_prep_recvmsg(sqe, fd, m, 0);
	io_uring_sqe_set_data64(sqe, slot);
}

/* batch recvmsg requests kept outstanding; each completion is checked and
 * its request posted again, all with one io_uring_enter per round. */
static int recv_uring(const struct opts *o, int fd, struct rx *rx)
{
	static struct msghdr m[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { .tv_nsec = 100 * 1000 * 1000 };
	size_t want = esp_len(o->inner);
	uint8_t *pool = malloc((size_t)o->batch * SLOT);
	double start = now();
	unsigned i, head, n;
	int r;

	if (!pool)
		return -ENOMEM;
	r = io_uring_queue_init(o->batch * 2, &ring, 0);
	if (r < 0) {
		free(pool);
		return r;
	}
	for (i = 0; i < o->batch; i++) {
		iov[i] = (struct iovec){ pool + (size_t)i * SLOT, SLOT };
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_iov = &iov[i];
		m[i].msg_iovlen = 1;
		post_recv(&ring, fd, &m[i], i);
	}
	while (!rx_done(rx, start, o->secs)) {
		r = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
		if (r < 0 && r != -ETIME && r != -EINTR)
			break;
		n = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			i = (unsigned)io_uring_cqe_get_data64(cqe);
			if (cqe->res > 0)
				rx_ip4(rx, iov[i].iov_base, (size_t)cqe->res, want);
			n++;
			if (i < o->batch)
				post_recv(&ring, fd, &m[i], i);
		}
		io_uring_cq_advance(&ring, n);
	}
	io_uring_queue_exit(&ring);
	free(pool);
	return 0;
}

/* One multishot recvmsg (kernel 6.0) drawing from a ring of provided
 * buffers: no request per datagram, completions only. */
#define MS_BUFS 512
#define MS_BGID 7

static int recv_uring_ms(const struct opts *o, int fd, struct rx *rx)
{
	struct io_uring ring;
	struct io_uring_params p = { .flags = IORING_SETUP_SINGLE_ISSUER |
					      IORING_SETUP_DEFER_TASKRUN };
	struct io_uring_buf_reg reg = { .ring_entries = MS_BUFS, .bgid = MS_BGID };
	struct io_uring_buf_ring *br = MAP_FAILED;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { .tv_nsec = 100 * 1000 * 1000 };
	struct msghdr mh = { 0 };	/* no name, no control: sizes only */
	size_t want = esp_len(o->inner), br_len = MS_BUFS * sizeof(struct io_uring_buf);
	uint8_t *pool = malloc((size_t)MS_BUFS * SLOT);
	double start = now();
	bool armed = false;
	unsigned i, head, n;
	int r;

	if (!pool)
		return -ENOMEM;
	r = io_uring_queue_init_params(64, &ring, &p);
	if (r < 0) {
		free(pool);
		return r;
	}
	br = mmap(NULL, br_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (br == MAP_FAILED) {
		r = -errno;
		goto out;
	}
	reg.ring_addr = (uintptr_t)br;
	io_uring_buf_ring_init(br);
	if ((r = io_uring_register_buf_ring(&ring, &reg, 0)) < 0)
		goto out;
	for (i = 0; i < MS_BUFS; i++)
		io_uring_buf_ring_add(br, pool + (size_t)i * SLOT, SLOT, (unsigned short)i,
				      io_uring_buf_ring_mask(MS_BUFS), (int)i);
	io_uring_buf_ring_advance(br, MS_BUFS);
	while (!rx_done(rx, start, o->secs)) {
		if (!armed) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			io_uring_prep_recvmsg_multishot(sqe, fd, &mh, 0);
			sqe->flags |= IOSQE_BUFFER_SELECT;
			sqe->buf_group = MS_BGID;
			armed = true;
		}
		r = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
		if (r < 0 && r != -ETIME && r != -EINTR)
			break;
		n = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			n++;
			if (!(cqe->flags & IORING_CQE_F_MORE))
				armed = false;
			if (cqe->res <= 0 || !(cqe->flags & IORING_CQE_F_BUFFER))
				continue;
			i = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
			{
				uint8_t *b = pool + (size_t)i * SLOT;
				struct io_uring_recvmsg_out *out =
					io_uring_recvmsg_validate(b, cqe->res, &mh);

				if (out && !(out->flags & MSG_TRUNC))
					rx_ip4(rx, io_uring_recvmsg_payload(out, &mh),
					       io_uring_recvmsg_payload_length(out, cqe->res, &mh),
					       want);
				io_uring_buf_ring_add(br, b, SLOT, (unsigned short)i,
						      io_uring_buf_ring_mask(MS_BUFS), 0);
				io_uring_buf_ring_advance(br, 1);
			}
		}
		io_uring_cq_advance(&ring, n);
	}
	r = 0;
out:
	io_uring_queue_exit(&ring);
	if (br != MAP_FAILED)
		munmap(br, br_len);
	free(pool);
	return r;
}

/* ---- AF_XDP (copy mode: veth has no zero-copy) ---- */
#ifdef IOPATH_XDP
#define XSK_FRAMES 4096
#define XSK_FRAME 4096

struct xsk_side {
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	uint8_t *area;
};

static void xsk_side_free(struct xsk_side *x)
{
	xsk_socket__delete(x->xsk);
	xsk_umem__delete(x->umem);
	free(x->area);
}

/* A umem of XSK_FRAMES frames and a socket on queue 0 of ifname with the
 * rings asked for (rx or tx); no XDP program is loaded by libxdp. */
static int xsk_side_open(struct xsk_side *x, const char *ifname, bool rx)
{
	struct xsk_umem_config uc = {
		.fill_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.comp_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.frame_size = XSK_FRAME,
	};
	struct xsk_socket_config sc = {
		.rx_size = rx ? XSK_RING_CONS__DEFAULT_NUM_DESCS : 0,
		.tx_size = rx ? 0 : XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	size_t len = (size_t)XSK_FRAMES * XSK_FRAME;
	int r;

	memset(x, 0, sizeof(*x));
	if (posix_memalign((void **)&x->area, 4096, len))
		return -ENOMEM;
	r = xsk_umem__create(&x->umem, x->area, len, &x->fill, &x->comp, &uc);
	if (r < 0)
		return r;
	return xsk_socket__create(&x->xsk, ifname, 0, x->umem, rx ? &x->rx : NULL,
				  rx ? NULL : &x->tx, &sc);
}

static int send_xdp(const struct opts *o, uint64_t *sent)
{
	struct xsk_side x;
	size_t len = esp_len(o->inner), flen = ETH_HLEN + 20 + len;
	uint8_t smac[ETH_ALEN];
	uint32_t seq = 1, idx = 0, i, n, cur = 0, inflight = 0;
	double end;
	int r, fd;

	if (!o->have_dmac || !o->ifname)
		return -EINVAL;
	if ((r = xsk_side_open(&x, o->ifname, false)) < 0)
		goto out;
	fd = xsk_socket__fd(x.xsk);
	if ((r = if_mac(o->ifname, smac)) < 0 || (r = drop_privs(o)) < 0)
		goto out;
	for (i = 0; i < XSK_FRAMES; i++) {
		uint8_t *f = x.area + (size_t)i * XSK_FRAME;

		frame_hdr(f, o, smac, len, (uint16_t)i);
		esp_fill(f + ETH_HLEN + 20, len, 0, true);
	}
	end = now() + o->secs;
	while (now() < end) {
		n = xsk_ring_cons__peek(&x.comp, XSK_FRAMES, &idx);
		if (n) {
			xsk_ring_cons__release(&x.comp, n);
			inflight -= n;
			*sent += n;
		}
		if (inflight + o->batch > XSK_FRAMES ||
		    xsk_ring_prod__reserve(&x.tx, o->batch, &idx) != o->batch) {
			sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
			continue;
		}
		for (i = 0; i < o->batch; i++) {
			struct xdp_desc *d = xsk_ring_prod__tx_desc(&x.tx, idx + i);

			d->addr = (uint64_t)cur * XSK_FRAME;
			d->len = (uint32_t)flen;
			put32(x.area + d->addr + ETH_HLEN + 20 + 4, seq++);
			cur = (cur + 1) % XSK_FRAMES;
		}
		xsk_ring_prod__submit(&x.tx, o->batch);
		inflight += o->batch;
		/* Copy mode sends a bounded number per call: kick per batch. */
		sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
	}
	/* What the kernel took but had not completed at the end. */
	for (end = now() + 0.2; inflight && now() < end;) {
		sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
		n = xsk_ring_cons__peek(&x.comp, XSK_FRAMES, &idx);
		xsk_ring_cons__release(&x.comp, n);
		inflight -= n;
		*sent += n;
	}
	r = 0;
out:
	xsk_side_free(&x);
	return r;
}

/* Load iopath_xdp.bpf.o, point it at the local address and the socket,
 * attach it in native (driver) mode. */
static int xdp_prog_attach(const struct opts *o, int ifindex, int xsk_fd,
			   struct bpf_object **objp)
{
	struct bpf_object *obj = bpf_object__open_file(o->bpf_obj, NULL);
	struct bpf_program *prog;
	uint32_t k = 0, a;
	int r, mfd, cfd;

	if (!obj)
		return -errno;
	*objp = obj;
	if ((r = bpf_object__load(obj)) < 0)
		return r;
	prog = bpf_object__find_program_by_name(obj, "esp_to_xsk");
	mfd = bpf_object__find_map_fd_by_name(obj, "xsks");
	cfd = bpf_object__find_map_fd_by_name(obj, "cfg");
	if (!prog || mfd < 0 || cfd < 0)
		return -ENOENT;
	memcpy(&a, &o->local, 4);
	if (bpf_map_update_elem(cfd, &k, &a, 0) < 0 || bpf_map_update_elem(mfd, &k, &xsk_fd, 0) < 0)
		return -errno;
	return bpf_xdp_attach(ifindex, bpf_program__fd(prog), XDP_FLAGS_DRV_MODE, NULL);
}

static int recv_xdp(const struct opts *o, struct rx *rx)
{
	struct xsk_side x;
	struct bpf_object *obj = NULL;
	struct xdp_statistics st;
	socklen_t sl = sizeof(st);
	size_t want = esp_len(o->inner);
	uint32_t idx = 0, fidx = 0, i, n;
	int r, fd, ifindex = o->ifname ? (int)if_nametoindex(o->ifname) : 0;
	bool attached = false;
	double start = now();

	if (!ifindex || !o->bpf_obj)
		return -EINVAL;
	if ((r = xsk_side_open(&x, o->ifname, true)) < 0)
		goto out;
	fd = xsk_socket__fd(x.xsk);
	n = xsk_ring_prod__reserve(&x.fill, XSK_RING_PROD__DEFAULT_NUM_DESCS, &fidx);
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&x.fill, fidx + i) = (uint64_t)i * XSK_FRAME;
	xsk_ring_prod__submit(&x.fill, n);
	if ((r = xdp_prog_attach(o, ifindex, fd, &obj)) < 0)
		goto out;
	attached = true;
	if ((r = drop_privs(o)) < 0)
		goto out;
	while (!rx_done(rx, start, o->secs)) {
		n = xsk_ring_cons__peek(&x.rx, o->batch, &idx);
		if (!n) {
			wait_fd(fd, POLLIN, 100);
			continue;
		}
		while (xsk_ring_prod__reserve(&x.fill, n, &fidx) != n)
			;
		for (i = 0; i < n; i++) {
			const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x.rx, idx + i);

			rx_frame(rx, o, x.area + d->addr, d->len, want);
			*xsk_ring_prod__fill_addr(&x.fill, fidx + i) =
				xsk_umem__extract_addr(d->addr);
		}
		xsk_ring_prod__submit(&x.fill, n);
		xsk_ring_cons__release(&x.rx, n);
	}
	if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, &st, &sl) == 0)
		rx->kdrops = st.rx_dropped + st.rx_ring_full;
	r = 0;
out:
	if (attached)
		bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	bpf_object__close(obj);
	xsk_side_free(&x);
	return r;
}
#endif

/* ---- main ---- */

static int parse_mac(const char *s, uint8_t mac[ETH_ALEN])
{
	unsigned v[ETH_ALEN], i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -EINVAL;
	for (i = 0; i < ETH_ALEN; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->secs = 5;
	o->inner = 1400;
	o->batch = 32;
	while ((c = getopt(argc, argv, "l:p:t:s:b:i:m:x:U")) != -1) {
		switch (c) {
		case 'l':
			if (inet_pton(AF_INET, optarg, &o->local) != 1)
				return -EINVAL;
			break;
		case 'p':
			if (inet_pton(AF_INET, optarg, &o->peer) != 1)
				return -EINVAL;
			break;
		case 't':
			o->secs = atof(optarg);
			break;
		case 's':
			o->inner = (size_t)atol(optarg);
			break;
		case 'b':
			o->batch = (unsigned)atoi(optarg);
			break;
		case 'i':
			o->ifname = optarg;
			break;
		case 'x':
			o->bpf_obj = optarg;
			break;
		case 'U':
			o->unpriv = true;
			break;
		case 'm':
			if (parse_mac(optarg, o->dmac) < 0)
				return -EINVAL;
			o->have_dmac = true;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc || o->secs <= 0 || o->inner < 20 || esp_len(o->inner) > SLOT - 64 ||
	    o->batch < 1 || o->batch > MAX_BATCH)
		return -EINVAL;
	return 0;
}

static int run_send(const char *path, const struct opts *o)
{
	uint64_t sent = 0;
	double c0 = cpu_seconds(), t0 = now();
	int fd = -1, err;

	if (!strcmp(path, "raw") || !strcmp(path, "uring"))
		fd = open_raw();
	else if (!strcmp(path, "udp") || !strcmp(path, "udpgso"))
		fd = open_udp(o, false);
	if (fd < 0 && strcmp(path, "packet") && strcmp(path, "packetmm") && strcmp(path, "xdp"))
		return fd < 0 ? fd : -EINVAL;
	if (fd >= 0 && (err = drop_privs(o)) < 0)
		return err;
	if (!strcmp(path, "raw"))
		err = send_mmsg(o, fd, 0, &sent);
	else if (!strcmp(path, "udp"))
		err = send_mmsg(o, fd, UDP_PORT, &sent);
	else if (!strcmp(path, "udpgso"))
		err = send_gso(o, fd, &sent);
	else if (!strcmp(path, "uring"))
		err = send_uring(o, fd, &sent);
	else if (!strcmp(path, "packet"))
		err = send_packet(o, &sent);
	else if (!strcmp(path, "packetmm"))
		err = send_packet_mmsg(o, &sent);
#ifdef IOPATH_XDP
	else if (!strcmp(path, "xdp"))
		err = send_xdp(o, &sent);
#endif
	else
		err = -EINVAL;
	if (fd >= 0)
		close(fd);
	if (err < 0)
		return err;
	printf("sent=%llu secs=%.3f cpu=%.3f\n", (unsigned long long)sent, now() - t0,
	       cpu_seconds() - c0);
	return 0;
}

static int run_recv(const char *path, const struct opts *o)
{
	struct rx rx = { 0 };
	double c0 = cpu_seconds();
	int fd = -1, err;

	if (!strcmp(path, "raw") || !strcmp(path, "uring") || !strcmp(path, "uringms"))
		fd = open_raw();
	else if (!strcmp(path, "udp") || !strcmp(path, "udpgso"))
		fd = open_udp(o, true);
	if (fd < 0 && strcmp(path, "packet") && strcmp(path, "xdp"))
		return fd < 0 ? fd : -EINVAL;
	if (!strcmp(path, "udpgso") && !enable_gro(fd))
		return -errno;
	if (fd >= 0 && (err = drop_privs(o)) < 0)
		return err;
	/* The caller waits for this line before it starts the sender. */
	fprintf(stderr, "ready\n");
	if (!strcmp(path, "raw"))
		err = recv_mmsg(o, fd, true, &rx);
	else if (!strcmp(path, "udp"))
		err = recv_mmsg(o, fd, false, &rx);
	else if (!strcmp(path, "udpgso"))
		err = recv_gro(o, fd, &rx);
	else if (!strcmp(path, "uring"))
		err = recv_uring(o, fd, &rx);
	else if (!strcmp(path, "uringms"))
		err = recv_uring_ms(o, fd, &rx);
	else if (!strcmp(path, "packet"))
		err = recv_packet(o, &rx);
#ifdef IOPATH_XDP
	else if (!strcmp(path, "xdp"))
		err = recv_xdp(o, &rx);
#endif
	else
		err = -EINVAL;
	if (fd >= 0)
		close(fd);
	if (err < 0)
		return err;
	printf("rcvd=%llu bad=%llu foreign=%llu secs=%.3f cpu=%.3f kdrops=%llu\n",
	       (unsigned long long)rx.good, (unsigned long long)rx.bad,
	       (unsigned long long)rx.foreign, rx.good > 1 ? rx.last - rx.first : 0.0,
	       cpu_seconds() - c0, (unsigned long long)rx.kdrops);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	const char *mode, *path;
	int err;

	if (argc < 3 || parse(argc - 2, argv + 2, &o) < 0) {
		fprintf(stderr, "usage: iopath send|recv raw|udp|udpgso|packet|packetmm|uring|uringms|xdp "
				"-l LOCAL -p PEER [-t SECS] [-s INNER] [-b BATCH] [-i IFNAME] "
				"[-m MAC] [-x XDP-OBJECT]\n");
		return 2;
	}
	mode = argv[1];
	path = argv[2];
	o.path = path;
	if (!strcmp(mode, "send"))
		err = run_send(path, &o);
	else if (!strcmp(mode, "recv"))
		err = run_recv(path, &o);
	else
		err = -EINVAL;
	if (err < 0) {
		fprintf(stderr, "iopath %s %s: %s\n", mode, path, strerror(-err));
		return 1;
	}
	return 0;
}
