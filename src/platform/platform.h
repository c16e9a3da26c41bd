/*
 * platform.h - everything the rest of vti needs from the operating system:
 * TUN devices, interface configuration, and the sockets that carry ESP.
 * A port to another system replaces src/platform/<os>/ and nothing else.
 * Every function returns 0 (or a descriptor) or a negative errno.
 */
#ifndef VTI_PLATFORM_H
#define VTI_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "lib/prefix.h"

/*
 * TUN: a layer-3 point-to-point device without packet-info header.  With
 * TUN_OFFLOAD_* in *offload on entry, ask for a virtio-net header on every
 * packet, TCP (and UDP) super-packets and partial checksums (see
 * esp/offload.h); *offload says on return what the kernel took: with
 * TUN_OFFLOAD_HDR reads and writes carry a struct gso_meta, with
 * TUN_OFFLOAD_TSO TCP super-packets go both ways, with TUN_OFFLOAD_USO UDP
 * ones too (Linux 6.2 and later).
 */
#define TUN_OFFLOAD_HDR 1
#define TUN_OFFLOAD_TSO 2
#define TUN_OFFLOAD_USO 4
#define TUN_OFFLOAD_ALL (TUN_OFFLOAD_HDR | TUN_OFFLOAD_TSO | TUN_OFFLOAD_USO)
struct gso_meta;
int tun_open(const char *name, int *ifindex, uint8_t *offload);
int tun_set_carrier(int fd, bool on);
/*
 * Restarts that keep interfaces (SPEC "Programs", vtictl restart): attach
 * to an existing, detached TUN device by name (no IFF_TUN_EXCL; the
 * caller knows it is vtid's own, from the list it wrote), and set or
 * clear IFF_PERSIST, which keeps a device after its last descriptor.
 */
int tun_adopt(const char *name, int *ifindex, uint8_t *offload);
int tun_set_persist(int fd, bool on);
/* One packet: its length, or -errno (-EAGAIN when there is none). */
ssize_t tun_read(int fd, bool offload, struct gso_meta *m, uint8_t *buf, size_t cap);
int tun_write(int fd, bool offload, const struct gso_meta *m, const uint8_t *pkt, size_t len);

/* Interface configuration (rtnetlink; netif_ioctl: an ioctl, 0 or -errno). */
int netif_ioctl(unsigned long req, void *ifr);
int netif_setup(int ifindex, unsigned mtu);		/* MTU, multicast, up */
/* IPv6 on the interface or not (no link-local address, no routes): off
 * before it is up.  The kernel walks its whole IPv6 routing table for
 * each interface that goes up, changes MTU or goes away, and every IPv6
 * interface adds routes to it: thousands of them cost O(N^2). */
int netif_set_ipv6(const char *name, bool on);
int netif_add_addr(int ifindex, const struct prefix *p);
int netif_del_addr(int ifindex, const struct prefix *p);
/* A route to p through the interface (main table), or its removal. */
int netif_route(int ifindex, const struct prefix *p, bool add);
/* Link groups: netif_del_group removes every interface of a group in one
 * request, which the kernel unregisters as one batch (closing TUN
 * descriptors one by one costs an RCU grace period, ~16 ms, each). */
int netif_set_group(int ifindex, uint32_t group);
int netif_del_group(uint32_t group);

/* MTU of the route towards a destination (the outer path), or -errno. */
int path_mtu(const struct addr *dst);

/*
 * Raw ESP past the kernel's IP output path (l2path.c, doc/fastpath.md):
 * the route and next hop as the kernel's tables have them, and datagrams
 * (IP header first) sent on an AF_PACKET socket to that next hop.  Both
 * descriptors are opened while privileged; nothing else needs privilege.
 */
enum l2_why {
	L2_OK,			/* usable */
	L2_NOT_YET,		/* not looked up yet */
	L2_CONFIGURED,		/* [daemon] esp-path = socket */
	L2_NO_ROUTE,
	L2_NOT_UNICAST,		/* local, broadcast, via another family... */
	L2_LINK_DOWN,
	L2_LINK_TYPE,		/* a link the kernel's neighbour layer must serve */
	L2_NO_NEIGH,		/* INCOMPLETE, FAILED or absent: the kernel resolves */
	L2_NO_SOURCE,		/* none, or not (yet) a local address */
	L2_POLICY,		/* a policy rule chooses by protocol or port */
	L2_NO_SOCKET,		/* the packet or rtnetlink socket could not be had */
	L2_ERROR,
	L2_WHY_COUNT
};
struct l2path {
	uint8_t why;		/* enum l2_why: L2_OK, or why the raw socket serves */
	bool verified;		/* the neighbour is REACHABLE, or needs no check */
	uint8_t halen;		/* link address length; 0: no link header */
	uint8_t lladdr[8];	/* the next hop's */
	uint8_t own[8];		/* the interface's */
	bool ether;		/* an Ethernet interface (ARPHRD_ETHER) */
	int ifindex;
	unsigned mtu;		/* the route's, or the interface's */
	uint8_t ttl;		/* hop limit: the route's, the interface's, the default */
	struct addr src;	/* the route's preferred source, or the one asked */
	char dev[16];
};
#define L2_SEND_MAX 64
/*
 * What a path is looked up with: an rtnetlink socket, and the interface
 * and neighbour answers of the last L2_RECHECK_MS for a few next hops.
 * A hub's thousands of tunnels mostly share one next hop: a lookup then
 * costs the route alone (3 us here, against 12 us for all three).
 */
#define L2_RECHECK_MS 1000
#define L2_HOPS 16
struct l2_hop {
	uint64_t at;		/* ms; 0: empty */
	struct addr hop;
	struct l2path link;	/* why, verified, halen, lladdr, ifindex, mtu, dev */
};
#define L2_SRCS 4
struct l2_src {
	uint64_t at;
	struct addr src;
	uint8_t why;
};
struct l2_tables {
	int fd;
	pid_t pid;		/* the process that asked last */
	uint32_t seq;
	uid_t uid;		/* the raw sockets' owner, for uidrange rules */
	uint8_t ttl4;		/* net.ipv4.ip_default_ttl at start */
	struct l2_hop hops[L2_HOPS];
	struct l2_src srcs[L2_SRCS];	/* sources found local (or not) */
	uint64_t rules_at[2];	/* IPv4, IPv6 policy rules looked at */
	uint8_t rules_why[2];
};
/* rtnetlink for l2_resolve, opened while privileged: t->fd or -errno. */
int l2_tables_open(struct l2_tables *t);
int l2_packet_open(void);	/* AF_PACKET, sends only */
/* Look the path from src (may be unset) to dst up at time now (ms);
 * p->why is returned. */
enum l2_why l2_resolve(struct l2_tables *t, uint64_t now, const struct addr *src,
		       const struct addr *dst, struct l2path *p);
const char *l2_why_name(enum l2_why w);
struct iovec;
/* Up to L2_SEND_MAX datagrams, each two iovecs (IP header, ESP), with one
 * sendmmsg: how many went out, or -errno if none did. */
int l2_send(int fd, const struct l2path *p, int family, struct iovec *iov, unsigned n);

/*
 * Raw ESP by AF_XDP ([daemon] esp-path = xdp; xsk.c): up to XSK_MAX
 * sockets with their memory, made while privileged; socket i is bound to
 * queue 0 of an Ethernet interface later (xsk_bind: bind(2), which only
 * the parent may call; a process that asked the parent notes the answer
 * with xsk_note_bound) and then sends frames of up to XSK_FRAME bytes,
 * link header included.  Free ones may be bound to that interface's other
 * queues (up to XSK_MAX) to receive only: each names the socket on queue
 * 0 there (first; for that one, itself).
 */
#define XSK_MAX 16
#define XSK_FRAME 2048
int xsk_open(unsigned n);	/* how many were opened, or -errno if none */
void xsk_close_all(void);	/* a process that must not have them */
unsigned xsk_count(void);
int xsk_ifindex(unsigned i);	/* where socket i is bound; 0: nowhere yet */
unsigned xsk_queue(unsigned i);	/* and to which queue */
unsigned xsk_first(unsigned i);	/* the socket on queue 0 there */
/* -EPROTOTYPE: not Ethernet; -ENOENT: first is not on queue 0 there. */
int xsk_bind(unsigned i, unsigned first, int ifindex, unsigned queue);
void xsk_note_bound(unsigned i, unsigned first, int ifindex, unsigned queue);
/*
 * Datagrams given as l2_send takes them, each behind the link header: how
 * many were queued and handed to the kernel, or -EMSGSIZE (the first does
 * not fit a frame), -ENOBUFS (no room in the ring: the device is behind),
 * -EBUSY (a restarted process waits for its predecessor's frames),
 * -ENETDOWN, -ENXIO or -EIO (the socket is spent: xsk_spent), or another
 * -errno (this burst failed).
 */
int xsk_send(unsigned i, const uint8_t *link, size_t linklen, const struct iovec *iov,
	     unsigned n);
/* Send what a full device queue left in the rings (call now and then). */
void xsk_flush(void);
/* Why socket i will never send or receive again (-ENXIO: its interface
 * went, and its queue is free for another; -EIO: its rings are not what
 * the kernel wrote, and it still holds the queue), or 0. */
int xsk_spent(unsigned i);
/*
 * Receiving: once the parent has put socket i in the XDP program's map
 * (xdp_attach), the kernel puts the tunnels' ESP arriving on its queue
 * in the socket's RX ring.  xsk_rx_ready gives the fill ring the frames
 * (0, or -errno: spent); the process that does it must be the only one
 * reading the ring, and the program must not be handing the socket
 * packets at the time (first binding, or xdp_pause after a network
 * process died).  xsk_recv gives fn up to 64 frames (Ethernet header
 * first), then calls fn with frame NULL (finish what you kept), and hands
 * them back to the kernel: the count, or -EIO (spent).  xsk_rx_drops:
 * what the kernel dropped for a full RX ring or an empty fill ring, ever.
 */
typedef void (*xsk_rx_fn)(void *arg, uint8_t *frame, size_t len);
int xsk_fd(unsigned i);
int xsk_rx_ready(unsigned i);
int xsk_recv(unsigned i, xsk_rx_fn fn, void *arg);
uint64_t xsk_rx_drops(unsigned i);
/*
 * The XDP program that steers raw ESP to the sockets (xdprog.c).  Loaded
 * while privileged, at start (xdp_load: -errno, and the verifier's last
 * words in log); the parent attaches it where a socket is bound to queue
 * 0 (slot: that socket's number) and hands it the sockets of that
 * interface's queues, says which SPIs are the tunnels' (xdp_steer), and
 * pauses it all while a network process is replaced (xdp_pause: nothing
 * is steered until the next xdp_attach).  Other processes close it
 * (xdp_close).
 */
int xdp_load(unsigned n, char *log, size_t loglen);
bool xdp_loaded(void);
void xdp_close(void);
int xdp_attach(unsigned slot, unsigned queue, int ifindex, int xsk_fd);
bool xdp_attached(unsigned slot, int ifindex);	/* the slot's program is on ifindex */
/* Nothing more to that queue's socket; queue 0: to none of the slot's,
 * and the program detached, until xdp_attach. */
void xdp_stop(unsigned slot, unsigned queue);
/* How many receive queues an interface has (ethtool's channels), or -errno. */
int xdp_rx_queues(int ifindex);
int xdp_steer(uint32_t spi, const struct addr *dst, bool on);
void xdp_pause(void);

/* Sockets.  Non-blocking, close-on-exec, buffers sized for bursts. */
int sock_udp_open(int family, uint16_t port);
int sock_esp_open(int family);		/* raw IP protocol 50 */
/* Send from a chosen source address (0.0.0.0/:: lets the kernel pick). */
int sock_send(int fd, const struct addr *src, const struct sockaddr_storage *dst,
	      const void *data, size_t len);
struct iovec;
/* Send n datagrams to one destination with one system call (sendmmsg);
 * returns how many went out, or -errno if none did. */
int sock_send_batch(int fd, const struct addr *src, const struct sockaddr_storage *dst,
		    const struct iovec *pkts, unsigned n);
/* The same on a UDP socket, where runs of equal-sized datagrams leave as
 * one UDP GSO send each (UDP_SEGMENT) when the kernel supports it. */
int sock_send_gso(int fd, const struct addr *src, const struct sockaddr_storage *dst,
		  const struct iovec *pkts, unsigned n);
/* Ask a UDP socket for coalesced datagrams (UDP_GRO): every receive then
 * needs the segment size from its control message. */
bool sock_enable_gro(int fd);

/*
 * Refused sends: what the kernel refuses at send (a full queue, no route
 * or a prohibiting one, over the MTU) is counted by these kinds.  Not
 * what ICMP says later: see finish() in sock.c.  Every socket is opened
 * with SO_RXQ_OVFL, so that a receive says how many datagrams the socket
 * has dropped.
 */
enum sock_err_kind {
	SOCK_ERR_NOBUFS,	/* ENOBUFS, EAGAIN: a full queue, at send */
	SOCK_ERR_UNREACH,	/* no route, or a prohibiting one */
	SOCK_ERR_MSGSIZE,	/* EMSGSIZE: over the path MTU */
	SOCK_ERR_OTHER,
	SOCK_ERR_KINDS
};
enum sock_err_kind sock_err_kind(int err);	/* err: a positive errno */
const char *sock_err_name(enum sock_err_kind k);	/* the metric's reason label */
struct msghdr;
/* The first control message of level and type in a received message, at
 * least len bytes of it, copied to out: false if there is none. */
bool sock_cmsg(struct msghdr *m, int level, int type, void *out, size_t len);
/* The socket's count of dropped datagrams (SO_RXQ_OVFL) if a received
 * message carries it. */
bool sock_rx_dropped(struct msghdr *m, uint32_t *count);
/* The destination of a datagram from the raw ESP/IPv6 socket (IPV6_PKTINFO). */
bool sock_rx_dst6(struct msghdr *m, uint8_t dst[16]);
/* Room for the control messages of one receive: SO_RXQ_OVFL, and UDP_GRO
 * or IPV6_PKTINFO. */
#define SOCK_RX_CMSG 96

/*
 * Privileges.  sandbox_lookup finds a (non-root) user.  sandbox_enter, in
 * a child forked by root, becomes that user with no capabilities at all,
 * no_new_privs, death with its parent, and the role's seccomp allow-list;
 * with threads, the network process may start threads of its own
 * ([daemon] crypto-threads).
 * sandbox_parent keeps root only what vti's own interfaces need.
 */
enum sandbox_role { SANDBOX_NET, SANDBOX_AUTH };
int sandbox_lookup(const char *user, uid_t *uid, gid_t *gid);
int sandbox_enter(uid_t uid, gid_t gid, enum sandbox_role role, bool threads, char *err,
		  size_t errlen);
int sandbox_parent(char *err, size_t errlen);

/* Service manager (systemd Type=notify); no-ops without NOTIFY_SOCKET. */
void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);
/* How often to call notify_watchdog (ms), or 0 without a watchdog. */
uint64_t notify_watchdog_ms(void);

#endif
