/*
 * xsk.c - raw ESP sent by AF_XDP sockets ([daemon] esp-path = xdp).
 *
 * bench/iopath measured AF_XDP transmit (copy mode) at 1.98x the raw
 * socket's datagrams, against 1.54x for sendmmsg on a packet socket
 * (doc/fastpath.md): the frame is written once into memory the kernel
 * reads, and one system call sends up to 32 of them.  The price: frames
 * leave by the driver directly, past the queueing discipline and tc and
 * netfilter egress hooks, which is why it is asked for, not the default.
 *
 * Who does what, so that the network process keeps no privilege:
 *   xsk_open   root, at start: xdp-sockets sockets, each with its own UMEM
 *              (XSK_FRAMES frames in a shared anonymous mapping, so that
 *              network processes forked later, and restarted ones, write
 *              the same pages), the rings sized and mapped.  The pinned
 *              pages are charged to RLIMIT_MEMLOCK unless CAP_IPC_LOCK.
 *   xsk_bind   the parent (the network process may not call bind): socket
 *              i to queue 0 of an Ethernet interface (not a bond), copy
 *              mode, when the network process first needs one there, and
 *              free ones to the interface's other receive queues, to
 *              receive only.  A socket binds once; when its interface goes
 *              it is spent, and so are the others bound there.
 *              Where each is bound is private memory of each process:
 *              the parent's (which a network process inherits when
 *              forked) and the network process's own (xsk_note_bound),
 *              never shared, so that a compromised network process cannot
 *              tell its successor to write frames for one interface into
 *              another.
 *   xsk_send   the network process: frames into the UMEM, descriptors
 *              into the TX ring, sendto() to have the kernel send them.
 *
 * The rings and the UMEM outlive a network process that dies.  Its
 * successor starts with no idea which frames the kernel still holds (on a
 * device without linear skbs it sends from the UMEM's pages until the
 * frame completes), so it takes a socket over only once every descriptor
 * ever queued has come back through the completion ring (adopt()).  A
 * predecessor that was compromised can still fool that (the kernel itself
 * continues from the producer index in the shared ring): the successor
 * then rewrites frames a device may still be sending, which the peer
 * drops as forged.  No index read from the rings takes it out of bounds.
 */
#include "platform/platform.h"

#include <errno.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define XSK_FRAMES 512		/* per socket: TX and completion rings, frames to send */
/* RX and fill rings, and frames to receive in: the device's bursts must
 * fit while the network process is busy with something else (512 lost
 * thousands of packets a second under one TCP stream here). */
#define XSK_RX 2048
#define XSK_RX_BATCH 64		/* frames xsk_recv reads a call */
#define XSK_KICKS 16		/* sendto()s per burst: the kernel takes 32 each */
/* The kernel accounts each frame's skb to the socket until it completes:
 * enough send buffer that the ring, not the buffer, is the limit (the
 * kernel doubles what is asked: 2 MB). */
#define XSK_SNDBUF (XSK_FRAMES * 2048)

struct ring {
	uint32_t *prod, *cons;
	void *desc;
	uint32_t cached;	/* ours: TX producer, completion consumer */
	void *map;
	size_t maplen;
};

/* The UMEM: XSK_FRAMES frames to send from, then XSK_RX to receive in. */
#define RX_BASE ((uint64_t)XSK_FRAMES * XSK_FRAME)
#define UMEM_LEN (RX_BASE + (uint64_t)XSK_RX * XSK_FRAME)

struct xsk {
	int fd;
	int ifindex;		/* bound to; 0: not yet */
	unsigned queue;		/* that interface's queue: 0 sends, others receive only */
	unsigned first;		/* the socket on queue 0 there (itself on queue 0) */
	uint8_t *umem;
	struct ring tx, cq;
	struct ring rx, fq;	/* cached: RX consumer, fill producer */
	bool rx_ready;		/* this process gave the fill ring its frames */
	bool rx_out[XSK_RX];	/* receive frame is the kernel's (fill or RX ring) */
	uint32_t npend;
	uint16_t pend[XSK_RX];	/* read, not yet back in the fill ring */
	bool adopted;		/* this process owns the frames' bookkeeping */
	int spent;		/* -ENXIO (its interface went), -EIO (rings no
				 * kernel wrote): never used again; 0: fine */
	uint32_t nfree;
	uint16_t free[XSK_FRAMES];	/* frame numbers not with the kernel */
	bool busy[XSK_FRAMES];	/* handed to the kernel, not completed */
};

static struct xsk xs[XSK_MAX];
static unsigned nxs;

static void refill(struct xsk *x);

static uint32_t load_acq(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_rel(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static int map_ring(struct xsk *x, struct ring *r, const struct xdp_ring_offset *o, size_t entry,
		    unsigned count, off_t pgoff)
{
	r->maplen = o->desc + count * entry;
	r->map = mmap(NULL, r->maplen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, x->fd,
		      pgoff);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		return -errno;
	}
	r->prod = (uint32_t *)((uint8_t *)r->map + o->producer);
	r->cons = (uint32_t *)((uint8_t *)r->map + o->consumer);
	r->desc = (uint8_t *)r->map + o->desc;
	return 0;
}

static void close_one(struct xsk *x)
{
	if (x->tx.map)
		munmap(x->tx.map, x->tx.maplen);
	if (x->cq.map)
		munmap(x->cq.map, x->cq.maplen);
	if (x->rx.map)
		munmap(x->rx.map, x->rx.maplen);
	if (x->fq.map)
		munmap(x->fq.map, x->fq.maplen);
	if (x->umem)
		munmap(x->umem, UMEM_LEN);
	if (x->fd >= 0)
		close(x->fd);
	memset(x, 0, sizeof(*x));
	x->fd = -1;
}

static int open_one(struct xsk *x)
{
	const size_t len = UMEM_LEN;
	struct xdp_umem_reg reg = { .len = len, .chunk_size = XSK_FRAME };
	struct xdp_mmap_offsets off;
	socklen_t ol = sizeof(off);
	int n = XSK_FRAMES, nrx = XSK_RX, sndbuf = XSK_SNDBUF, r;

	memset(x, 0, sizeof(*x));
	x->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (x->fd < 0)
		return -errno;
	x->umem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE,
		       -1, 0);
	if (x->umem == MAP_FAILED) {
		x->umem = NULL;
		return -errno;
	}
	reg.addr = (uint64_t)(uintptr_t)x->umem;
	if (setsockopt(x->fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof(reg)) < 0 ||
	    setsockopt(x->fd, SOL_XDP, XDP_UMEM_FILL_RING, &nrx, sizeof(nrx)) < 0 ||
	    setsockopt(x->fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &n, sizeof(n)) < 0 ||
	    setsockopt(x->fd, SOL_XDP, XDP_TX_RING, &n, sizeof(n)) < 0 ||
	    setsockopt(x->fd, SOL_XDP, XDP_RX_RING, &nrx, sizeof(nrx)) < 0 ||
	    getsockopt(x->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol) < 0)
		return -errno;
	/* Without it (no CAP_NET_ADMIN) the default buffer caps the frames in
	 * flight lower: slower, not wrong. */
	(void)setsockopt(x->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	r = map_ring(x, &x->tx, &off.tx, sizeof(struct xdp_desc), XSK_FRAMES, XDP_PGOFF_TX_RING);
	if (r == 0)
		r = map_ring(x, &x->cq, &off.cr, sizeof(uint64_t), XSK_FRAMES,
			     (off_t)XDP_UMEM_PGOFF_COMPLETION_RING);
	if (r == 0)
		r = map_ring(x, &x->rx, &off.rx, sizeof(struct xdp_desc), XSK_RX, XDP_PGOFF_RX_RING);
	if (r == 0)
		r = map_ring(x, &x->fq, &off.fr, sizeof(uint64_t), XSK_RX,
			     (off_t)XDP_UMEM_PGOFF_FILL_RING);
	return r;
}

int xsk_open(unsigned n)
{
	unsigned i;
	int r = 0;

	if (n > XSK_MAX)
		n = XSK_MAX;
	for (i = 0; i < n; i++) {
		r = open_one(&xs[i]);
		if (r < 0) {
			close_one(&xs[i]);
			break;
		}
	}
	nxs = i;
	return i ? (int)i : r;
}

void xsk_close_all(void)
{
	unsigned i;

	for (i = 0; i < nxs; i++)
		close_one(&xs[i]);
	nxs = 0;
}

unsigned xsk_count(void)
{
	return nxs;
}

int xsk_ifindex(unsigned i)
{
	return i < nxs ? xs[i].ifindex : 0;
}

unsigned xsk_queue(unsigned i)
{
	return i < nxs ? xs[i].queue : 0;
}

unsigned xsk_first(unsigned i)
{
	return i < nxs ? xs[i].first : i;
}

void xsk_note_bound(unsigned i, unsigned first, int ifindex, unsigned queue)
{
	if (i < nxs) {
		xs[i].ifindex = ifindex;
		xs[i].queue = queue;
		xs[i].first = first;
	}
}

/* What vtid writes into a frame is an Ethernet header: nothing else (not
 * loopback, not a layer-3 device) gets an AF_XDP socket.  Nor a bond: the
 * kernel gives AF_XDP's skbs no protocol, so a layer-3+4 transmit hash
 * would put all of them on one slave; the packet socket serves there. */
static bool is_ether(int ifindex)
{
	struct ifreq r = { .ifr_ifindex = ifindex };

	return netif_ioctl(SIOCGIFNAME, &r) == 0 && netif_ioctl(SIOCGIFHWADDR, &r) == 0 &&
	       r.ifr_hwaddr.sa_family == ARPHRD_ETHER && netif_ioctl(SIOCGIFFLAGS, &r) == 0 &&
	       !(r.ifr_flags & IFF_MASTER);
}

int xsk_bind(unsigned i, unsigned first, int ifindex, unsigned queue)
{
	struct sockaddr_xdp sx = {
		.sxdp_family = AF_XDP,
		.sxdp_ifindex = (uint32_t)ifindex,
		.sxdp_queue_id = queue,
		/* Copy mode: it works on every driver; zero copy would lend
		 * the UMEM to the driver, and only for the frames' lifetime
		 * would that gain anything on transmit. */
		.sxdp_flags = XDP_COPY,
	};

	if (i >= nxs || ifindex <= 0 || queue >= XSK_MAX || first >= nxs ||
	    (queue == 0) != (first == i))
		return -EINVAL;
	/* Another queue's socket belongs to the one on queue 0 there. */
	if (queue && (xs[first].ifindex != ifindex || xs[first].queue))
		return -ENOENT;
	if (xs[i].ifindex)
		return xs[i].ifindex == ifindex && xs[i].queue == queue && xs[i].first == first ?
			       0 : -EBUSY;
	if (!is_ether(ifindex))
		return -EPROTOTYPE;
	if (bind(xs[i].fd, (struct sockaddr *)&sx, sizeof(sx)) < 0)
		return -errno;
	xsk_note_bound(i, first, ifindex, queue);
	return 0;
}

/* Its interface went: so are the sockets on its other queues, which this
 * process would otherwise not learn (it never sends on them).  By the
 * socket on queue 0, not by ifindex: an interface made again may have
 * the same. */
static int gone(struct xsk *x)
{
	unsigned i, me = (unsigned)(x - xs);

	for (i = 0; i < nxs; i++)
		if (xs[i].ifindex && xs[i].first == me && !xs[i].spent)
			xs[i].spent = -ENXIO;
	return x->spent = -ENXIO;
}

/* Frames the kernel is done with go back on the free list: each once,
 * and only those it was given.  -EIO for a ring no kernel wrote. */
static int reap(struct xsk *x)
{
	const uint64_t *a = x->cq.desc;
	uint32_t prod = load_acq(x->cq.prod), c;

	if (prod - x->cq.cached > XSK_FRAMES)
		return x->spent = -EIO;
	for (c = x->cq.cached; c != prod; c++) {
		uint64_t f = a[c & (XSK_FRAMES - 1)] / XSK_FRAME;

		if (f < XSK_FRAMES && x->busy[f]) {
			x->busy[f] = false;
			x->free[x->nfree++] = (uint16_t)f;
		}
	}
	store_rel(x->cq.cons, c);
	x->cq.cached = c;
	return 0;
}

/* Have the kernel send what the TX ring holds.  In copy mode it takes 32
 * descriptors a call and says EAGAIN while more wait, or when the
 * completion ring, the send buffer or the device's queue has no room;
 * EBUSY when the device dropped one (no carrier).  It calls again while
 * that moves anything (the TX consumer, or the completion producer: the
 * kernel publishes the consumer only once a frame went out, and a dropped
 * frame completes too); without progress, what is left waits for the next
 * call (the next burst, or xsk_flush).  ENETDOWN (the device is down) and
 * ENXIO (it is gone) are returned. */
static int kick(struct xsk *x)
{
	unsigned i;

	for (i = 0; i < XSK_KICKS; i++) {
		uint32_t cons = load_acq(x->tx.cons), done = load_acq(x->cq.prod);

		if (cons == x->tx.cached)
			return 0;
		if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN &&
		    errno != EBUSY && errno != ENOBUFS && errno != EINTR)
			return errno == ENXIO ? gone(x) : -errno;
		if (load_acq(x->tx.cons) == cons && load_acq(x->cq.prod) == done)
			return 0;
	}
	return 0;
}

/* Take the socket's bookkeeping over: possible once every descriptor a
 * process ever queued has completed (tx producer == completion producer:
 * the kernel completes each valid descriptor once, and ours are valid).
 * 0, -EBUSY while frames are still out, or -errno: spent. */
static int adopt(struct xsk *x)
{
	uint32_t tp = load_acq(x->tx.prod), tc = load_acq(x->tx.cons);
	uint32_t cp = load_acq(x->cq.prod), cc = load_acq(x->cq.cons), i;
	int r;

	if (x->adopted)
		return 0;
	if (tp - tc > XSK_FRAMES || cp - cc > XSK_FRAMES || tp - cp > XSK_FRAMES)
		return x->spent = -EIO;
	x->tx.cached = tp;
	if (tp != cp) {
		r = kick(x);	/* queued by a process that died before it sent */
		return r == -ENXIO ? r : -EBUSY;
	}
	store_rel(x->cq.cons, cp);
	x->cq.cached = cp;
	for (i = 0; i < XSK_FRAMES; i++) {
		x->free[i] = (uint16_t)(XSK_FRAMES - 1 - i);
		x->busy[i] = false;
	}
	x->nfree = XSK_FRAMES;
	x->adopted = true;
	return 0;
}

void xsk_flush(void)
{
	unsigned i;

	for (i = 0; i < nxs; i++) {
		if (xs[i].adopted && xs[i].ifindex && !xs[i].spent)
			kick(&xs[i]);
		if (xs[i].rx_ready && !xs[i].spent)
			refill(&xs[i]);
	}
}

int xsk_spent(unsigned i)
{
	return i < nxs ? xs[i].spent : -ENXIO;
}

int xsk_send(unsigned i, const uint8_t *link, size_t linklen, const struct iovec *iov,
	     unsigned n)
{
	struct xsk *x;
	struct xdp_desc *d;
	uint32_t room, k;
	int r;

	if (i >= nxs || !xs[i].ifindex)
		return -ENXIO;
	x = &xs[i];
	if (x->spent)
		return x->spent;
	r = adopt(x);
	if (r == 0)
		r = reap(x);
	if (r == 0 && load_acq(x->tx.cons) != x->tx.cached)
		r = kick(x);	/* left over from a burst the device had no room for */
	if (r < 0)
		return r;
	if (linklen + iov[0].iov_len + iov[1].iov_len > XSK_FRAME)
		return -EMSGSIZE;
	d = x->tx.desc;
	room = XSK_FRAMES - (x->tx.cached - load_acq(x->tx.cons));
	for (k = 0; k < n && k < room && x->nfree; k++) {
		size_t a = iov[2 * k].iov_len, b = iov[2 * k + 1].iov_len;
		uint16_t f;
		uint8_t *p;

		if (linklen + a + b > XSK_FRAME)
			break;
		f = x->free[--x->nfree];
		x->busy[f] = true;
		p = x->umem + (size_t)f * XSK_FRAME;
		memcpy(p, link, linklen);
		memcpy(p + linklen, iov[2 * k].iov_base, a);
		memcpy(p + linklen + a, iov[2 * k + 1].iov_base, b);
		d[(x->tx.cached + k) & (XSK_FRAMES - 1)] = (struct xdp_desc){
			.addr = (uint64_t)f * XSK_FRAME, .len = (uint32_t)(linklen + a + b)
		};
	}
	if (!k)
		return -ENOBUFS;
	x->tx.cached += k;
	store_rel(x->tx.prod, x->tx.cached);
	r = kick(x);
	return r < 0 ? r : (int)k;
}

int xsk_fd(unsigned i)
{
	return i < nxs ? xs[i].fd : -1;
}

/* The receive frame an address the kernel gave points into, or -1. */
static int rx_frame(uint64_t addr)
{
	return addr >= RX_BASE && addr < UMEM_LEN ? (int)((addr - RX_BASE) / XSK_FRAME) : -1;
}

/* Frames read go back to the kernel as the fill ring has room: a fill
 * consumer the kernel publishes late can make it look full for a while,
 * and what does not fit waits here for the next call. */
static void refill(struct xsk *x)
{
	uint64_t *f = x->fq.desc;
	uint32_t room = XSK_RX - (x->fq.cached - load_acq(x->fq.cons));

	if (room > XSK_RX) {
		x->spent = -EIO;	/* a consumer ahead of our producer: no kernel's */
		return;
	}
	for (; x->npend && room; room--) {
		uint16_t k = x->pend[--x->npend];

		x->rx_out[k] = true;
		f[x->fq.cached++ & (XSK_RX - 1)] = RX_BASE + (uint64_t)k * XSK_FRAME;
	}
	store_rel(x->fq.prod, x->fq.cached);
}

/*
 * Every receive frame the kernel does not hold goes into the fill ring.
 * The kernel holds those in the fill ring and those in the RX ring not
 * yet read (which this process will read); a frame a dead predecessor
 * was reading is in neither, and is free.  A frame the kernel is copying
 * into right now would be in neither too: hence only while the program
 * hands this socket nothing (the parent pauses it before it starts a
 * network process, and a redirect it had already decided lands within
 * that poll, long before the new process gets here).  A published fill
 * consumer can lag the kernel's: a frame then counts as held twice, never
 * as free.
 */
int xsk_rx_ready(unsigned i)
{
	bool held[XSK_RX] = { false };
	const struct xdp_desc *d;
	const uint64_t *f;
	struct xsk *x;
	uint32_t fp, fc, rp, rc, c;
	int k;

	if (i >= nxs)
		return -ENXIO;
	x = &xs[i];
	if (x->spent || x->rx_ready)
		return x->spent;
	d = x->rx.desc;
	f = x->fq.desc;
	fp = load_acq(x->fq.prod), fc = load_acq(x->fq.cons);
	rp = load_acq(x->rx.prod), rc = load_acq(x->rx.cons);
	if (fp - fc > XSK_RX || rp - rc > XSK_RX)
		return x->spent = -EIO;
	for (c = fc; c != fp; c++)
		if ((k = rx_frame(f[c & (XSK_RX - 1)])) >= 0)
			held[k] = true;
	for (c = rc; c != rp; c++)
		if ((k = rx_frame(d[c & (XSK_RX - 1)].addr)) >= 0)
			held[k] = true;
	x->rx.cached = rc;
	x->fq.cached = fp;
	x->npend = 0;
	for (k = XSK_RX - 1; k >= 0; k--) {
		x->rx_out[k] = held[k];
		if (!held[k])
			x->pend[x->npend++] = (uint16_t)k;
	}
	refill(x);
	x->rx_ready = true;
	return 0;
}

/*
 * The descriptors are copied and the RX ring released before any frame is
 * looked at: a frame that kills this process is then in neither ring, and
 * its successor gives it back to the kernel rather than reading it again
 * (and again, until vtid gives up restarting).  A descriptor for a frame
 * this process has not given the kernel (twice in one batch, or a bogus
 * address) is skipped.  A compromised predecessor can still have planted
 * a frame in the fill ring twice: then two packets may share it, and what
 * is read there fails the ICV check; nothing goes out of bounds.
 */
int xsk_recv(unsigned i, xsk_rx_fn fn, void *arg)
{
	struct xdp_desc got[XSK_RX_BATCH];
	const struct xdp_desc *d;
	struct xsk *x;
	uint32_t prod, c, n = 0, k;

	if (i >= nxs || !xs[i].rx_ready)
		return 0;
	x = &xs[i];
	if (x->spent)
		return x->spent;
	d = x->rx.desc;
	prod = load_acq(x->rx.prod);
	if (prod - x->rx.cached > XSK_RX)
		return x->spent = -EIO;
	for (c = x->rx.cached; c != prod && n < XSK_RX_BATCH; c++)
		got[n++] = d[c & (XSK_RX - 1)];
	store_rel(x->rx.cons, c);
	x->rx.cached = c;
	for (k = 0; k < n; k++) {
		int fr = rx_frame(got[k].addr);
		uint64_t base;

		if (fr < 0 || !x->rx_out[fr])
			continue;
		x->rx_out[fr] = false;
		base = RX_BASE + (uint64_t)fr * XSK_FRAME;
		if (got[k].addr - base + got[k].len <= XSK_FRAME)
			fn(arg, x->umem + got[k].addr, got[k].len);
		x->pend[x->npend++] = (uint16_t)fr;
	}
	/* Decrypted in place and passed on: the frames are the kernel's again. */
	fn(arg, NULL, 0);
	refill(x);
	return (int)n;
}

uint64_t xsk_rx_drops(unsigned i)
{
	struct xdp_statistics st;
	socklen_t len = sizeof(st);

	if (i >= nxs || !xs[i].rx_ready ||
	    getsockopt(xs[i].fd, SOL_XDP, XDP_STATISTICS, &st, &len) < 0)
		return 0;
	/* rx_dropped counts an empty fill ring too. */
	return st.rx_dropped + st.rx_ring_full;
}
