/*
 * tun.c - Linux TUN devices (Documentation/networking/tuntap.rst).
 *
 * With IFF_VNET_HDR every packet is preceded by a struct virtio_net_hdr,
 * and TUNSETOFFLOAD lets the kernel hand over TCP super-packets of up to
 * 64 KB (TSO), and since Linux 6.2 UDP ones (USO), with checksums left
 * partial; vti cuts and finishes them (esp/offload.c).  Writes may carry
 * coalesced packets the same way.
 */
#include "platform/platform.h"

#include "esp/offload.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <endian.h>
#include <sys/uio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Linux 6.2's USO flags, which Debian 12's headers predate. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif
_Static_assert(GSO_UDP_L4 == 5, "VIRTIO_NET_HDR_GSO_UDP_L4");

/* Little-endian header fields, whatever the host's order; UDP too where
 * the kernel has it (an older one refuses the flags: EINVAL). */
static uint8_t enable_offload(int fd, uint8_t want)
{
	unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	int le = 1;

	if (ioctl(fd, TUNSETVNETLE, &le) < 0)
		return 0;
	if ((want & TUN_OFFLOAD_USO) &&
	    ioctl(fd, TUNSETOFFLOAD, off | TUN_F_USO4 | TUN_F_USO6) == 0)
		return TUN_OFFLOAD_TSO | TUN_OFFLOAD_USO;
	return ioctl(fd, TUNSETOFFLOAD, off) == 0 ? TUN_OFFLOAD_TSO : 0;
}

/* TUNSETIFF with flags, then offloads, carrier off and the ifindex. */
static int tun_attach(const char *name, int flags, int *ifindex, uint8_t *offload)
{
	struct ifreq ifr;
	int fd, err;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	/* (tun_open) IFF_TUN_EXCL: a detached persistent TUN device of that name
	 * (ip tuntap add, OpenVPN's persist-tun) is someone else's; without
	 * it TUNSETIFF would attach to it, and vtid's exit would delete it. */
	ifr.ifr_flags = (short)(flags | (*offload ? IFF_VNET_HDR : 0));
	strcpy(ifr.ifr_name, name);
	/* With IFF_TUN_EXCL: EBUSY if an interface of that name exists. */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		goto fail;
	/* Without offloads the header stays, all zero: still correct. */
	if (*offload) {
		*offload = TUN_OFFLOAD_HDR | enable_offload(fd, *offload);
		if (*offload == TUN_OFFLOAD_HDR)
			ioctl(fd, TUNSETOFFLOAD, 0);
	}
	/* Start without carrier: no SA yet. */
	if (tun_set_carrier(fd, false) < 0)
		goto fail;
	err = netif_ioctl(SIOCGIFINDEX, &ifr);
	if (err < 0) {
		close(fd);
		return err;
	}
	*ifindex = ifr.ifr_ifindex;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

int tun_open(const char *name, int *ifindex, uint8_t *offload)
{
	return tun_attach(name, IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL, ifindex, offload);
}

/* The kernel refuses to attach to a device of another kind (TUNSETIFF on
 * a TAP or non-TUN name fails), and to one that has a descriptor already
 * (EBUSY): only a detached TUN device of this name is taken. */
int tun_adopt(const char *name, int *ifindex, uint8_t *offload)
{
	return tun_attach(name, IFF_TUN | IFF_NO_PI, ifindex, offload);
}

int tun_set_persist(int fd, bool on)
{
	return ioctl(fd, TUNSETPERSIST, on ? 1L : 0L) < 0 ? -errno : 0;
}

int tun_set_carrier(int fd, bool on)
{
	int v = on;

	return ioctl(fd, TUNSETCARRIER, &v) < 0 ? -errno : 0;
}

_Static_assert(sizeof(struct virtio_net_hdr) == 10, "virtio_net_hdr layout");

ssize_t tun_read(int fd, bool offload, struct gso_meta *m, uint8_t *buf, size_t cap)
{
	struct virtio_net_hdr h;
	struct iovec iov[2] = { { &h, sizeof(h) }, { buf, cap } };
	ssize_t r;

	memset(m, 0, sizeof(*m));
	r = offload ? readv(fd, iov, 2) : read(fd, buf, cap);
	if (r < 0)
		return -errno;
	if (!offload)
		return r;
	if ((size_t)r < sizeof(h))
		return -EIO;
	m->flags = h.flags;
	m->type = h.gso_type;
	m->hdr_len = le16toh(h.hdr_len);
	m->size = le16toh(h.gso_size);
	m->csum_start = le16toh(h.csum_start);
	m->csum_offset = le16toh(h.csum_offset);
	return r - (ssize_t)sizeof(h);
}

int tun_write(int fd, bool offload, const struct gso_meta *m, const uint8_t *pkt, size_t len)
{
	struct virtio_net_hdr h = {
		.flags = m->flags,
		.gso_type = m->type,
		.hdr_len = htole16(m->hdr_len),
		.gso_size = htole16(m->size),
		.csum_start = htole16(m->csum_start),
		.csum_offset = htole16(m->csum_offset),
	};
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)pkt, len } };
	ssize_t r = offload ? writev(fd, iov, 2) : write(fd, pkt, len);

	return r < 0 ? -errno : 0;
}
