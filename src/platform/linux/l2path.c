/*
 * l2path.c - raw ESP past the kernel's IP output path (doc/fastpath.md).
 *
 * A raw IP socket carries each ESP datagram alone through routing,
 * netfilter and the neighbour layer; on this machine that is most of what
 * raw ESP costs.  Here the route and the next hop's link address are read
 * from the kernel's own tables (rtnetlink RTM_GETROUTE, RTM_GETLINK,
 * RTM_GETNEIGH), and the datagrams, their IP header built by the caller,
 * leave with sendmmsg on an AF_PACKET datagram socket, which adds the
 * link header and hands them to the interface's queueing discipline.
 *
 * Both sockets are opened while vtid is still root; the network process
 * then holds no capability, so its rtnetlink socket can read the tables
 * but change nothing (the kernel checks CAP_NET_ADMIN of the sender), and
 * the packet socket, bound to no protocol, receives nothing.  rtnetlink
 * answers a request before sendmsg returns, so a lookup is three
 * round trips without waiting.
 */
#include "platform/platform.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/filter.h>
#include <linux/fib_rules.h>
#include <linux/if_packet.h>
#include <linux/ipv6.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NL_BUF 16384		/* one answer: a link's is 1-3 KB with its stats */

static const char *const why_names[L2_WHY_COUNT] = {
	[L2_OK] = "usable",
	[L2_NOT_YET] = "not resolved yet",
	[L2_CONFIGURED] = "configured",
	[L2_NO_ROUTE] = "no route",
	[L2_NOT_UNICAST] = "not a unicast route",
	[L2_LINK_DOWN] = "interface down",
	[L2_LINK_TYPE] = "interface type",
	[L2_NO_NEIGH] = "neighbour not resolved",
	[L2_NO_SOURCE] = "source address not usable",
	[L2_POLICY] = "policy rule on protocol or port",
	[L2_NO_SOCKET] = "no packet socket",
	[L2_ERROR] = "lookup failed",
};

const char *l2_why_name(enum l2_why w)
{
	return (unsigned)w < L2_WHY_COUNT ? why_names[w] : "?";
}

int l2_tables_open(struct l2_tables *t)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char v[16] = "";
	FILE *f;

	memset(t, 0, sizeof(*t));
	t->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (t->fd < 0)
		return -errno;
	if (bind(t->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(t->fd);
		t->fd = -1;
		return err;
	}
	/* What the raw ESP sockets' route lookups carry that a lookup from
	 * here would not: the user that opened them (uidrange rules), this
	 * one, before privileges go.  And IPv4's default TTL, which no
	 * rtnetlink answer gives (IPv6's hop limit is per interface). */
	t->uid = geteuid();
	t->ttl4 = 64;
	f = fopen("/proc/sys/net/ipv4/ip_default_ttl", "re");
	if (f && fgets(v, sizeof(v), f) && atoi(v) > 0 && atoi(v) < 256)
		t->ttl4 = (uint8_t)atoi(v);
	if (f)
		fclose(f);
	return t->fd;
}

int l2_packet_open(void)
{
	/* Protocol 0: a socket that sends only.  Its send buffer bounds what
	 * one burst may queue (128 datagrams of up to 64 KB). */
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), v = 8 << 20;
	/* And it is kept that way: a filter that takes nothing, locked, so
	 * that even bound to a protocol (which needs no capability) it would
	 * read no traffic.  Nothing limits what it sends: see sandbox.c. */
	struct sock_filter none = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { .len = 1, .filter = &none };
	int one = 1;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof(one)) < 0) {
		v = -errno;
		close(fd);
		return v;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	return fd;
}

/*
 * Send one request and read its answer into buf: the length of the answer
 * (one message), or -errno (the kernel's NLMSG_ERROR included).  Answers
 * to other sequence numbers are old (a network process that died
 * mid-lookup shares this socket with its successor) and are skipped.
 */
static int nl_ask(int fd, struct nlmsghdr *req, uint32_t *seq, char *buf)
{
	ssize_t n;

	req->nlmsg_flags = NLM_F_REQUEST;
	req->nlmsg_seq = ++*seq;
	if (send(fd, req, req->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		n = recv(fd, buf, NL_BUF, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0)
			return -errno;
		if (n > NL_BUF || !mnl_nlmsg_ok(h, (int)n))
			return -EMSGSIZE;
		if (h->nlmsg_seq != *seq)
			continue;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

			if (mnl_nlmsg_get_payload_len(h) < sizeof(*e))
				return -EPROTO;
			return e->error ? e->error : -EPROTO;
		}
		return (int)h->nlmsg_len;
	}
}

/* A dump: cb on every answer until NLMSG_DONE; 0 or -errno.  cb returns
 * false to say it has seen enough (the rest is read and skipped). */
static int nl_dump(int fd, struct nlmsghdr *req, uint32_t *seq, char *buf,
		   bool (*cb)(const struct nlmsghdr *h, void *arg), void *arg)
{
	bool more = true;
	ssize_t n;

	req->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req->nlmsg_seq = ++*seq;
	if (send(fd, req, req->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		int left;

		n = recv(fd, buf, NL_BUF, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0)
			return -errno;
		if (n > NL_BUF)
			return -EMSGSIZE;
		for (left = (int)n; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
			if (h->nlmsg_seq != *seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -EPROTO;
			if (more)
				more = cb(h, arg);
		}
	}
}

static void put_addr(struct nlmsghdr *h, uint16_t type, const struct addr *a)
{
	mnl_attr_put(h, type, a->family == AF_INET ? 4 : 16, a->a);
}

static bool get_addr(const struct nlattr *at, int family, struct addr *a)
{
	size_t len = family == AF_INET ? 4 : 16;

	if (!at || mnl_attr_get_payload_len(at) != len)
		return false;
	a->family = family;
	memset(a->a, 0, sizeof(a->a));
	memcpy(a->a, mnl_attr_get_payload(at), len);
	return true;
}

/* Attributes of one answer, by type, up to max. */
#define ATTRS_MAX 128
_Static_assert(RTA_MAX < ATTRS_MAX && IFLA_MAX < ATTRS_MAX && NDA_MAX < ATTRS_MAX,
	       "room for every attribute type asked for");
struct attrs {
	const struct nlattr *a[ATTRS_MAX];
	unsigned max;
};

static int keep_attr(const struct nlattr *at, void *arg)
{
	struct attrs *t = arg;
	unsigned type = mnl_attr_get_type(at);

	if (type <= t->max && mnl_attr_validate(at, MNL_TYPE_UNSPEC) >= 0)
		t->a[type] = at;
	return MNL_CB_OK;
}

static int parse_attrs(const struct nlmsghdr *h, size_t hdr, unsigned max, struct attrs *t)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
	if (mnl_nlmsg_get_payload_len(h) < hdr)
		return -EPROTO;
	return mnl_attr_parse(h, (unsigned)hdr, keep_attr, t) < 0 ? -EPROTO : 0;
}

/* The route's MTU and hop limit metrics (RTAX_MTU, RTAX_HOPLIMIT), if set. */
static void route_metrics(const struct nlattr *nest, struct l2path *p)
{
	const struct nlattr *at;

	mnl_attr_for_each_nested(at, nest) {
		if (mnl_attr_validate(at, MNL_TYPE_U32) < 0 || !mnl_attr_get_u32(at))
			continue;
		if (mnl_attr_get_type(at) == RTAX_MTU)
			p->mtu = mnl_attr_get_u32(at);
		else if (mnl_attr_get_type(at) == RTAX_HOPLIMIT && mnl_attr_get_u32(at) < 256)
			p->ttl = (uint8_t)mnl_attr_get_u32(at);
	}
}

/* An RTM_GETROUTE request for the host route to dst, in buf. */
static struct rtmsg *route_request(char *buf, const struct addr *dst, struct nlmsghdr **h)
{
	struct rtmsg *rt;

	*h = mnl_nlmsg_put_header(buf);
	(*h)->nlmsg_type = RTM_GETROUTE;
	rt = mnl_nlmsg_put_extra_header(*h, sizeof(*rt));
	rt->rtm_family = (uint8_t)dst->family;
	rt->rtm_dst_len = dst->family == AF_INET ? 32 : 128;
	put_addr(*h, RTA_DST, dst);
	return rt;
}

/* The route: interface, next hop (the gateway, or dst itself), preferred
 * source and the route's MTU if it has one (a learnt path MTU too). */
static enum l2_why ask_route(struct l2_tables *tb, char *buf, const struct addr *src,
			     const struct addr *dst, struct l2path *p, struct addr *hop)
{
	struct nlmsghdr *h;
	struct rtmsg *rt = route_request(buf, dst, &h);
	struct attrs t;
	int r;

	if (src->family == dst->family) {
		rt->rtm_src_len = rt->rtm_dst_len;
		put_addr(h, RTA_SRC, src);
	}
	mnl_attr_put_u32(h, RTA_UID, tb->uid);
	r = nl_ask(tb->fd, h, &tb->seq, buf);
	if (r == -ENETUNREACH || r == -EHOSTUNREACH || r == -EACCES || r == -EINVAL)
		return L2_NO_ROUTE;
	if (r < 0 || h->nlmsg_type != RTM_NEWROUTE ||
	    parse_attrs(h, sizeof(*rt), RTA_MAX, &t) < 0)
		return L2_ERROR;
	rt = mnl_nlmsg_get_payload(h);
	if (rt->rtm_type != RTN_UNICAST)
		return L2_NOT_UNICAST;
	if (!t.a[RTA_OIF] || mnl_attr_validate(t.a[RTA_OIF], MNL_TYPE_U32) < 0)
		return L2_ERROR;
	p->ifindex = (int)mnl_attr_get_u32(t.a[RTA_OIF]);
	/* A gateway of the other family (RTA_VIA) is left to the kernel. */
	if (t.a[RTA_VIA])
		return L2_NOT_UNICAST;
	if (!get_addr(t.a[RTA_GATEWAY], dst->family, hop))
		*hop = *dst;
	/* The SA's own address; else the one the kernel would choose (an
	 * IPv6 route may name none: its source selection stays with it). */
	if (src->family == dst->family)
		p->src = *src;
	else if (!get_addr(t.a[RTA_PREFSRC], dst->family, &p->src))
		return L2_NO_SOURCE;
	p->mtu = 0;
	p->ttl = 0;
	if (t.a[RTA_METRICS])
		route_metrics(t.a[RTA_METRICS], p);
	return L2_OK;
}

/* IPv6's hop limit on the interface (DEVCONF_HOPLIMIT of IFLA_INET6_CONF:
 * the sysctl, or what a router advertised, RFC 4861 §6.3.4) into p->ttl. */
static void link_hoplimit6(const struct nlattr *spec, struct l2path *p)
{
	const struct nlattr *fam, *at;

	mnl_attr_for_each_nested(fam, spec) {
		if (mnl_attr_get_type(fam) != AF_INET6)
			continue;
		mnl_attr_for_each_nested(at, fam) {
			int32_t v;

			if (mnl_attr_get_type(at) != IFLA_INET6_CONF ||
			    mnl_attr_get_payload_len(at) < (DEVCONF_HOPLIMIT + 1) * sizeof(v))
				continue;
			memcpy(&v, (const int32_t *)mnl_attr_get_payload(at) + DEVCONF_HOPLIMIT,
			       sizeof(v));
			if (v > 0 && v < 256)
				p->ttl = (uint8_t)v;
		}
	}
}

/* The interface: up with carrier, its MTU, name and link address length
 * (0: no link header, a layer-3 device). */
static enum l2_why ask_link(int fd, uint32_t *seq, char *buf, struct l2path *p)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	struct attrs t;
	size_t alen;

	h->nlmsg_type = RTM_GETLINK;
	ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_index = p->ifindex;
	mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	if (nl_ask(fd, h, seq, buf) < 0 || h->nlmsg_type != RTM_NEWLINK ||
	    parse_attrs(h, sizeof(*ifi), IFLA_MAX, &t) < 0)
		return L2_ERROR;
	ifi = mnl_nlmsg_get_payload(h);
	if (ifi->ifi_flags & IFF_LOOPBACK)
		return L2_NOT_UNICAST;
	if (!(ifi->ifi_flags & IFF_UP) || !(ifi->ifi_flags & IFF_RUNNING))
		return L2_LINK_DOWN;
	if (!t.a[IFLA_MTU] || mnl_attr_validate(t.a[IFLA_MTU], MNL_TYPE_U32) < 0 ||
	    !t.a[IFLA_IFNAME] || mnl_attr_validate(t.a[IFLA_IFNAME], MNL_TYPE_NUL_STRING) < 0)
		return L2_ERROR;
	p->mtu = mnl_attr_get_u32(t.a[IFLA_MTU]);
	snprintf(p->dev, sizeof(p->dev), "%s", mnl_attr_get_str(t.a[IFLA_IFNAME]));
	alen = t.a[IFLA_ADDRESS] ? mnl_attr_get_payload_len(t.a[IFLA_ADDRESS]) : 0;
	/* What ARP or neighbour discovery cannot answer (a NOARP device
	 * with a link header, addresses longer than sockaddr_ll holds) stays
	 * with the kernel. */
	if (alen > sizeof(p->lladdr) || (alen && (ifi->ifi_flags & IFF_NOARP)))
		return L2_LINK_TYPE;
	p->halen = (uint8_t)alen;
	if (alen)
		memcpy(p->own, mnl_attr_get_payload(t.a[IFLA_ADDRESS]), alen);
	p->ether = ifi->ifi_type == ARPHRD_ETHER && alen == ETH_ALEN;
	if (t.a[IFLA_AF_SPEC])
		link_hoplimit6(t.a[IFLA_AF_SPEC], p);
	return L2_OK;
}

/* The next hop's link address, and whether the kernel has confirmed it
 * lately (NUD_REACHABLE) or needs not (PERMANENT, NOARP). */
static enum l2_why ask_neigh(int fd, uint32_t *seq, char *buf, const struct addr *hop,
			     struct l2path *p)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	struct ndmsg *nd;
	struct attrs t;
	int r;

	h->nlmsg_type = RTM_GETNEIGH;
	nd = mnl_nlmsg_put_extra_header(h, sizeof(*nd));
	nd->ndm_family = (uint8_t)hop->family;
	nd->ndm_ifindex = p->ifindex;
	put_addr(h, NDA_DST, hop);
	r = nl_ask(fd, h, seq, buf);
	if (r == -ENOENT)
		return L2_NO_NEIGH;
	if (r < 0 || h->nlmsg_type != RTM_NEWNEIGH || parse_attrs(h, sizeof(*nd), NDA_MAX, &t) < 0)
		return L2_ERROR;
	nd = mnl_nlmsg_get_payload(h);
	/* The kernel itself sends to a STALE, DELAY or PROBE entry while it
	 * verifies it; not to an INCOMPLETE or FAILED one. */
	if (!(nd->ndm_state & (NUD_REACHABLE | NUD_PERMANENT | NUD_NOARP | NUD_STALE |
			       NUD_DELAY | NUD_PROBE)) ||
	    !t.a[NDA_LLADDR] || mnl_attr_get_payload_len(t.a[NDA_LLADDR]) != p->halen)
		return L2_NO_NEIGH;
	memcpy(p->lladdr, mnl_attr_get_payload(t.a[NDA_LLADDR]), p->halen);
	p->verified = nd->ndm_state & (NUD_REACHABLE | NUD_PERMANENT | NUD_NOARP);
	return L2_OK;
}

/* The answers kept (rules, sources, next hops) serve while younger than
 * L2_RECHECK_MS; a stamp is never 0, which marks an empty slot. */
static bool fresh(uint64_t at, uint64_t now)
{
	return at && now - at < L2_RECHECK_MS;
}

static uint64_t stamp(uint64_t now)
{
	return now ? now : 1;
}

/* A slot of n for an address (and an interface): the keys come from the
 * kernel's tables and the configuration, so a collision only costs a
 * lookup. */
static unsigned slot_of(const struct addr *a, int ifindex, unsigned n)
{
	uint32_t hash = (uint32_t)ifindex * 0x9e3779b1u;
	size_t i;

	for (i = 0; i < sizeof(a->a); i++)
		hash = (hash ^ a->a[i]) * 0x01000193u;
	return hash % n;
}

/* Does a policy rule choose by transport protocol or port?  A lookup
 * from here cannot say "protocol 50" (the kernel refuses RTA_IP_PROTO in
 * RTM_GETROUTE), so such a rule could send the raw socket's ESP
 * elsewhere: with one, the raw socket keeps it. */
static bool rule_by_l4(const struct nlmsghdr *h, void *arg)
{
	struct attrs t;

	if (h->nlmsg_type != RTM_NEWRULE || parse_attrs(h, sizeof(struct fib_rule_hdr),
						       FRA_MAX, &t) < 0)
		return true;
	if (t.a[FRA_IP_PROTO] || t.a[FRA_SPORT_RANGE] || t.a[FRA_DPORT_RANGE]) {
		*(bool *)arg = true;
		return false;
	}
	return true;
}

static enum l2_why ask_rules(struct l2_tables *t, uint64_t now, int family, char *buf)
{
	unsigned i = family == AF_INET ? 0 : 1;
	struct nlmsghdr *h;
	struct fib_rule_hdr *fr;
	bool l4 = false;

	if (fresh(t->rules_at[i], now))
		return t->rules_why[i];
	h = mnl_nlmsg_put_header(buf);
	h->nlmsg_type = RTM_GETRULE;
	fr = mnl_nlmsg_put_extra_header(h, sizeof(*fr));
	fr->family = (uint8_t)family;
	if (nl_dump(t->fd, h, &t->seq, buf, rule_by_l4, &l4) < 0)
		t->rules_why[i] = L2_ERROR;
	else
		t->rules_why[i] = l4 ? L2_POLICY : L2_OK;
	t->rules_at[i] = stamp(now);
	return t->rules_why[i];
}

/* Is the SA's source one of ours and usable, as the raw socket's
 * IP_PKTINFO would insist?  For IPv4 the route lookup from it already
 * refuses a foreign source; for IPv6 it does not, and a tentative or
 * duplicate address (RFC 4862 §5.4) has no local route yet. */
static enum l2_why ask_source(struct l2_tables *t, uint64_t now, const struct addr *src,
			      char *buf)
{
	struct l2_src *c = &t->srcs[slot_of(src, 0, L2_SRCS)];
	struct nlmsghdr *h;

	if (fresh(c->at, now) && addr_equal(&c->src, src))
		return c->why;
	route_request(buf, src, &h);
	if (nl_ask(t->fd, h, &t->seq, buf) < 0 || h->nlmsg_type != RTM_NEWROUTE)
		c->why = L2_NO_SOURCE;
	else
		c->why = ((struct rtmsg *)mnl_nlmsg_get_payload(h))->rtm_type == RTN_LOCAL
				 ? L2_OK : L2_NO_SOURCE;
	c->src = *src;
	c->at = stamp(now);
	return c->why;
}

/* The interface and the neighbour behind a next hop: asked, or as
 * answered for it less than L2_RECHECK_MS ago. */
static enum l2_why link_and_neigh(struct l2_tables *t, uint64_t now, const struct addr *hop,
				  struct l2path *p, char *buf)
{
	struct l2_hop *h = &t->hops[slot_of(hop, p->ifindex, L2_HOPS)];
	unsigned route_mtu = p->mtu;

	if (!fresh(h->at, now) || h->link.ifindex != p->ifindex || !addr_equal(&h->hop, hop)) {
		struct l2path l = { .ifindex = p->ifindex };

		l.why = ask_link(t->fd, &t->seq, buf, &l);
		if (l.why == L2_OK && l.halen)
			l.why = ask_neigh(t->fd, &t->seq, buf, hop, &l);
		else if (l.why == L2_OK)
			l.verified = true;	/* no neighbour to verify */
		h->link = l;
		h->hop = *hop;
		h->at = stamp(now);
	}
	p->verified = h->link.verified;
	p->halen = h->link.halen;
	memcpy(p->lladdr, h->link.lladdr, sizeof(p->lladdr));
	memcpy(p->own, h->link.own, sizeof(p->own));
	p->ether = h->link.ether;
	memcpy(p->dev, h->link.dev, sizeof(p->dev));
	p->mtu = route_mtu && route_mtu < h->link.mtu ? route_mtu : h->link.mtu;
	/* The route's hop limit; else IPv6's of the interface, IPv4's
	 * default: what the kernel would write. */
	if (!p->ttl)
		p->ttl = hop->family == AF_INET6 && h->link.ttl ? h->link.ttl : t->ttl4;
	return h->link.why;
}

/*
 * A network process that replaced one that died shares its socket and
 * starts from the sequence number of the fork: an answer the dead one
 * never read could carry a number about to be used again.  Its first
 * lookup empties the socket and forgets the answers kept.
 */
static void adopt(struct l2_tables *t, char *buf)
{
	pid_t me = getpid();

	if (t->pid == me)
		return;
	while (recv(t->fd, buf, NL_BUF, MSG_DONTWAIT | MSG_TRUNC) >= 0)
		;
	memset(t->hops, 0, sizeof(t->hops));
	memset(t->srcs, 0, sizeof(t->srcs));
	memset(t->rules_at, 0, sizeof(t->rules_at));
	t->pid = me;
}

enum l2_why l2_resolve(struct l2_tables *t, uint64_t now, const struct addr *src,
		       const struct addr *dst, struct l2path *p)
{
	static char buf[NL_BUF] __attribute__((aligned(4)));
	struct addr hop;
	enum l2_why w;

	memset(p, 0, sizeof(*p));
	if (t->fd < 0 || (dst->family != AF_INET && dst->family != AF_INET6))
		return p->why = L2_ERROR;
	adopt(t, buf);
	w = ask_rules(t, now, dst->family, buf);
	if (w == L2_OK)
		w = ask_route(t, buf, src, dst, p, &hop);
	if (w == L2_OK && src->family == dst->family)
		w = ask_source(t, now, src, buf);
	if (w == L2_OK)
		w = link_and_neigh(t, now, &hop, p, buf);
	return p->why = w;
}

int l2_send(int fd, const struct l2path *p, int family, struct iovec *iov, unsigned n)
{
	struct mmsghdr m[L2_SEND_MAX];
	struct sockaddr_ll ll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(family == AF_INET ? ETH_P_IP : ETH_P_IPV6),
		.sll_ifindex = p->ifindex,
		.sll_halen = p->halen,
	};
	unsigned i;
	int r;

	if (n > L2_SEND_MAX)
		n = L2_SEND_MAX;
	memcpy(ll.sll_addr, p->lladdr, p->halen);
	for (i = 0; i < n; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_name = &ll;
		m[i].msg_hdr.msg_namelen = sizeof(ll);
		m[i].msg_hdr.msg_iov = &iov[2 * i];
		m[i].msg_hdr.msg_iovlen = 2;
	}
	r = sendmmsg(fd, m, n, 0);
	return r < 0 ? -errno : r;
}
