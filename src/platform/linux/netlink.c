/*
 * netlink.c - interface configuration over rtnetlink with libmnl
 * (RTM_NEWLINK for MTU, flags and link group, RTM_NEWADDR/RTM_DELADDR
 * for addresses, RTM_NEWROUTE/RTM_DELROUTE for host routes to peers'
 * inner addresses, RTM_DELLINK for a group).  Each call
 * opens a socket, sends one request and waits for its acknowledgement;
 * this runs at start-up and reload, never per packet.
 */
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int nl_request(struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	unsigned portid, seq = (unsigned)time(NULL);
	int r;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	r = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (r < 0) {
		r = -errno;
		goto out;
	}
	/* The ACK is an NLMSG_ERROR with error 0; mnl_cb_run maps it. */
	r = mnl_cb_run(buf, (size_t)r, seq, portid, NULL, NULL);
	r = r < 0 ? -errno : 0;
out:
	mnl_socket_close(nl);
	return r;
}

/* An RTM_NEWLINK/RTM_DELLINK request for one interface (0: by attribute). */
static struct ifinfomsg *link_msg(struct nlmsghdr *nlh, uint16_t type, int ifindex)
{
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return ifi;
}

/* An interface ioctl (struct ifreq, or SIOCETHTOOL's) on a throwaway
 * socket: 0 or -errno. */
int netif_ioctl(unsigned long req, void *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return -errno;
	r = ioctl(s, req, ifr) < 0 ? -errno : 0;
	close(s);
	return r;
}

int netif_setup(int ifindex, unsigned mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi = link_msg(nlh, RTM_NEWLINK, ifindex);

	/* Point-to-point, and multicast so that OSPF hellos cross it. */
	ifi->ifi_flags = IFF_UP | IFF_MULTICAST | IFF_POINTOPOINT | IFF_NOARP;
	ifi->ifi_change = ifi->ifi_flags;
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_request(nlh);
}

int netif_set_ipv6(const char *name, bool on)
{
	char path[96];
	int fd, r = 0;

	/* No rtnetlink attribute sets it (IFLA_INET6_ADDR_GEN_MODE none
	 * still leaves the multicast route): the sysctl it is. */
	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name) >=
		    (int)sizeof(path))
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, on ? "0\n" : "1\n", 2) != 2)
		r = -errno;
	close(fd);
	return r;
}

static int addr_request(int ifindex, const struct prefix *p, bool add)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	size_t alen = addr_len(p->addr.family);

	nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	nlh->nlmsg_flags = add ? NLM_F_CREATE | NLM_F_REPLACE : 0;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)p->addr.family;
	ifa->ifa_prefixlen = p->len;
	ifa->ifa_index = (uint32_t)ifindex;
	/* No duplicate address detection: there is nobody else on a P2P link. */
	ifa->ifa_flags = p->addr.family == AF_INET6 ? IFA_F_NODAD : 0;
	mnl_attr_put(nlh, IFA_LOCAL, alen, p->addr.a);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, p->addr.a);
	return nl_request(nlh);
}

int netif_add_addr(int ifindex, const struct prefix *p)
{
	return addr_request(ifindex, p, true);
}

int netif_del_addr(int ifindex, const struct prefix *p)
{
	return addr_request(ifindex, p, false);
}

int netif_route(int ifindex, const struct prefix *p, bool add)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = add ? NLM_F_CREATE | NLM_F_REPLACE : 0;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)p->addr.family;
	rtm->rtm_dst_len = p->len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;		/* on the link: a point-to-point device */
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, addr_len(p->addr.family), p->addr.a);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	return nl_request(nlh);
}

int netif_set_group(int ifindex, uint32_t group)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	link_msg(nlh, RTM_NEWLINK, ifindex);
	mnl_attr_put_u32(nlh, IFLA_GROUP, group);
	return nl_request(nlh);
}

int netif_del_group(uint32_t group)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	/* Group 0 is every interface's default: never that one. */
	if (group == 0)
		return -EINVAL;
	link_msg(nlh, RTM_DELLINK, 0);	/* by group, not by index */
	mnl_attr_put_u32(nlh, IFLA_GROUP, group);
	return nl_request(nlh);
}
