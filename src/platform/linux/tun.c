/*
 * tun.c - Linux TUN devices (Documentation/networking/tuntap.rst).
 */
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int tun_open(const char *name, int *ifindex)
{
	struct ifreq ifr;
	int fd, s, err;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	strcpy(ifr.ifr_name, name);
	/* Fails with EBUSY if an interface of that name already exists. */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		goto fail;
	/* Start without carrier: no SA yet. */
	if (tun_set_carrier(fd, false) < 0)
		goto fail;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		goto fail;
	if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
		err = -errno;
		close(s);
		close(fd);
		return err;
	}
	close(s);
	*ifindex = ifr.ifr_ifindex;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

int tun_set_carrier(int fd, bool on)
{
	int v = on;

	return ioctl(fd, TUNSETCARRIER, &v) < 0 ? -errno : 0;
}
