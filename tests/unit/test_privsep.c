/*
 * test_privsep.c - the privileged parent's checks, driven from the real
 * network process: requests for interfaces, MTUs and addresses that are
 * not vti's own are refused, malformed messages are answered with an error
 * and change nothing, and the auth process signs AUTH octets with a
 * tunnel's PSK (checked against ike_psk_sign with the PSK the test knows)
 * and mixes its RFC 8784 PPK into keys (against ike_ppk_mix) while the
 * network process's configuration holds only fingerprints.
 * Before that, children sandboxed as the network process (sandbox_enter,
 * the same filter) try socket options: reading the ones vtid reads works,
 * setting any (IP_HDRINCL on the raw ESP socket above all) kills.
 *
 * Needs root and the user from the file's [daemon] user; run inside a
 * network namespace (tests/net/privsep.sh does), since it creates a TUN
 * device.  Usage: test_privsep CONF PSK PPK (PPK: the hex after ppk = 0x)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/cipher.h"
#include "crypto/prf.h"
#include "ike/keys.h"
#include "lib/log.h"
#include "lib/workers.h"
#include "platform/platform.h"
#include "vtid/hwm.h"
#include "vtid/privsep.h"
#include "test.h"

/* The wire format of privsep.c's messages, for hand-made bad ones. */
struct hdr {
	uint16_t type, zero;
	uint32_t len;
};

#define PS_STATUS 6

/* The parent's answer to a bad message: a status carrying -EBADMSG. */
static bool refused(int fd)
{
	uint8_t buf[8192];
	struct hdr h;
	int32_t err;
	ssize_t n = recv(fd, buf, sizeof(buf), 0);

	if (n < (ssize_t)(sizeof(h) + sizeof(err)))
		return false;
	memcpy(&h, buf, sizeof(h));
	memcpy(&err, buf + sizeof(h), sizeof(err));
	return h.type == PS_STATUS && err == -EBADMSG;
}

static void bad_messages(int ifindex)
{
	int fd = ps_parent_fd();
	struct hdr h = { .type = 1, .len = 3 };	/* a TUN request 3 bytes long */
	uint8_t msg[sizeof(h) + 3] = { 0 };

	memcpy(msg, &h, sizeof(h));
	CHECK(write(fd, "xx", 2) == 2 && refused(fd), "garbage answered with EBADMSG");
	CHECK(write(fd, msg, sizeof(msg)) == (ssize_t)sizeof(msg) && refused(fd),
	      "short request answered with EBADMSG");
	h.len = 1;	/* the header says 1, the datagram carries 3 */
	memcpy(msg, &h, sizeof(h));
	CHECK(write(fd, msg, sizeof(msg)) == (ssize_t)sizeof(msg) && refused(fd),
	      "lying length answered with EBADMSG");
	CHECK(ps_netif_setup(ifindex, 1400) == 0, "and the parent still serves requests");
}

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36	/* linux/in6.h; glibc's netinet/in.h lacks it */
#endif

#define BIND_LL (-1)	/* not a level: bind(2) the socket to every protocol */
#define BIND_XDP (-2)	/* not a level: bind(2) an AF_XDP socket to loopback */
#define CALL_BPF (-3)	/* not a level: bpf(2), as to change the XDP program's maps */
/* Not levels either; all but the last in the sandbox of crypto-threads > 1. */
#define CALL_THREAD (-4)	/* start and join a thread */
#define CALL_FORK (-5)		/* fork(2), a new process */
#define CALL_CLONE3 (-6)	/* clone3(2), whose flags seccomp cannot read */
#define CALL_NO_THREAD (-7)	/* clone(2) for a thread, crypto-threads = 1 */

static const struct sockopt_case {
	const char *what;
	int family, type, proto, level, name;
	bool set;	/* setsockopt; else getsockopt */
	bool allowed;
} sockopt_cases[] = {
	/* What the network process does ask: the control client's
	 * credentials, a socket's type; the filter lets them through. */
	{ "getsockopt SO_PEERCRED", AF_UNIX, SOCK_STREAM, 0, SOL_SOCKET, SO_PEERCRED, false, true },
	{ "getsockopt SO_TYPE", AF_INET, SOCK_DGRAM, 0, SOL_SOCKET, SO_TYPE, false, true },
	/* Options set after start-up: none is needed, each one kills. */
	{ "IP_HDRINCL on raw ESP/IPv4", AF_INET, SOCK_RAW, IPPROTO_ESP, IPPROTO_IP, IP_HDRINCL,
	  true, false },
	{ "IPV6_HDRINCL on raw ESP/IPv6", AF_INET6, SOCK_RAW, IPPROTO_ESP, IPPROTO_IPV6,
	  IPV6_HDRINCL, true, false },
	{ "SO_RCVBUFFORCE (start-up only)", AF_INET, SOCK_DGRAM, 0, SOL_SOCKET, SO_RCVBUFFORCE, true,
	  false },
	{ "SO_BINDTODEVICE", AF_INET, SOCK_DGRAM, 0, SOL_SOCKET, SO_BINDTODEVICE, true, false },
	{ "IP_TRANSPARENT", AF_INET, SOCK_DGRAM, 0, IPPROTO_IP, IP_TRANSPARENT, true, false },
	{ "UDP_GRO (start-up only)", AF_INET, SOCK_DGRAM, 0, IPPROTO_UDP, 104 /* UDP_GRO */, true,
	  false },
	{ "SO_RCVTIMEO", AF_UNIX, SOCK_STREAM, 0, SOL_SOCKET, SO_RCVTIMEO, true, false },
	/* The packet socket of esp-path = auto sends only: its drop-all
	 * filter stays (SO_LOCK_FILTER too), and it is never bound to a
	 * protocol to read traffic (level BIND_LL: bind, not an option). */
	{ "SO_DETACH_FILTER on the packet socket", AF_PACKET, SOCK_DGRAM, 0, SOL_SOCKET,
	  SO_DETACH_FILTER, true, false },
	{ "PACKET_ADD_MEMBERSHIP on the packet socket", AF_PACKET, SOCK_DGRAM, 0, SOL_PACKET,
	  PACKET_ADD_MEMBERSHIP, true, false },
	{ "bind the packet socket to ETH_P_ALL", AF_PACKET, SOCK_DGRAM, 0, BIND_LL, 0, true,
	  false },
	/* esp-path = xdp: the parent binds the AF_XDP sockets, on request
	 * and never to vti's own interfaces; the process itself may not,
	 * nor give a socket memory or rings of its own. */
	{ "bind an AF_XDP socket", AF_XDP, SOCK_RAW, 0, BIND_XDP, 0, true, false },
	{ "XDP_UMEM_REG on an AF_XDP socket", AF_XDP, SOCK_RAW, 0, SOL_XDP, 4 /* XDP_UMEM_REG */,
	  true, false },
	/* [daemon] crypto-threads > 1: threads of its own, which share its
	 * filter; but no new process (sanitizer builds allow clone for the
	 * leak checker's), and clone3 fails softly so that glibc uses clone;
	 * with crypto-threads = 1, no thread at all. */
	{ "a thread (crypto-threads > 1)", AF_INET, SOCK_DGRAM, 0, CALL_THREAD, 0, false, true },
#ifndef VTI_SANITIZE
	{ "fork (crypto-threads > 1)", AF_INET, SOCK_DGRAM, 0, CALL_FORK, 0, false, false },
	{ "clone3 (crypto-threads > 1: ENOSYS, not killed)", AF_INET, SOCK_DGRAM, 0, CALL_CLONE3, 0,
	  false, true },
	{ "a thread (crypto-threads = 1)", AF_INET, SOCK_DGRAM, 0, CALL_NO_THREAD, 0, false,
	  false },
#endif
	/* Nor steer ESP itself: the parent changes the XDP program's maps. */
	{ "bpf(BPF_MAP_UPDATE_ELEM)", AF_INET, SOCK_DGRAM, 0, CALL_BPF, BPF_MAP_UPDATE_ELEM, true,
	  false },
};

static void add_item(void *arg, unsigned i, unsigned t)
{
	void *p = malloc(64 + i);

	(void)t;
	if (p)
		__atomic_fetch_add((unsigned *)arg, i, __ATOMIC_RELAXED);
	free(p);
}

/*
 * In a child: the socket (root may still make a raw one), the network
 * process's sandbox, a byte down the pipe to say it got that far, then the
 * call.  Exit 0 if it worked, 1 if it failed with an error, 2 if the
 * sandbox failed; the filter's verdict for a forbidden call is SIGSYS.
 */
static void __attribute__((noreturn)) sockopt_child(const struct sockopt_case *c, uid_t uid,
						     gid_t gid, int pipe_fd)
{
	uint8_t val[64] = { 1 };
	socklen_t len = sizeof(val);
	char err[256];
	int sv[2] = { -1, -1 }, fd, r;

	if (c->family == AF_UNIX)
		fd = socketpair(AF_UNIX, c->type, 0, sv) < 0 ? -1 : sv[0];
	else
		fd = socket(c->family, c->type, c->proto);
	if (fd < 0 || sandbox_enter(uid, gid, SANDBOX_NET, c->level <= CALL_THREAD &&
				    c->level > CALL_NO_THREAD, err, sizeof(err)) < 0)
		_exit(2);
	if (write(pipe_fd, "s", 1) != 1)
		_exit(2);
	if (c->level == BIND_LL) {
		struct sockaddr_ll ll = { .sll_family = AF_PACKET,
					  .sll_protocol = htons(ETH_P_ALL) };

		r = bind(fd, (struct sockaddr *)&ll, sizeof(ll));
	} else if (c->level == BIND_XDP) {
		struct sockaddr_xdp sx = { .sxdp_family = AF_XDP, .sxdp_ifindex = 1 };

		r = bind(fd, (struct sockaddr *)&sx, sizeof(sx));
	} else if (c->level == CALL_BPF) {
		union bpf_attr a;

		memset(&a, 0, sizeof(a));
		a.map_fd = (uint32_t)fd;
		r = (int)syscall(__NR_bpf, c->name, &a, sizeof(a));
	} else if (c->level == CALL_THREAD) {
		/* The datapath's pool at its largest, each thread allocating
		 * (an arena each: glibc must not ask the CPU count). */
		struct workers *w = workers_new(CRYPTO_THREADS_MAX);
		unsigned sum = 0, k;

		for (k = 0; w && k < 20; k++)
			workers_run(w, add_item, &sum, 1000);
		workers_free(w);
		r = w && sum == 20 * (1000 * 999 / 2) ? 0 : -1;
	} else if (c->level == CALL_NO_THREAD) {
		/* clone as for a thread, with a flag that makes it invalid
		 * (EINVAL if the filter let it through): no thread is made
		 * either way, and glibc's thread set-up is not in the way. */
		int pidfd;

		r = (int)syscall(__NR_clone, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
				 CLONE_THREAD | CLONE_PIDFD | CLONE_PARENT_SETTID, NULL, &pidfd, NULL, 0);
	} else if (c->level == CALL_FORK) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		r = pid > 0 ? 0 : -1;
	} else if (c->level == CALL_CLONE3) {
		r = syscall(__NR_clone3, NULL, 0) < 0 && errno == ENOSYS ? 0 : -1;
	} else if (c->set)
		r = setsockopt(fd, c->level, c->name, val,
			       c->name == SO_RCVTIMEO ? (socklen_t)sizeof(struct timeval) : sizeof(int));
	else
		r = getsockopt(fd, c->level, c->name, val, &len);
	_exit(r < 0 ? 1 : 0);
}

static void sockopts(const struct conf *c)
{
	const struct sockopt_case *k;
	uid_t uid;
	gid_t gid;
	size_t i;
	int p[2], st;
	pid_t pid;
	char b;
	bool sandboxed;

	if (sandbox_lookup(c->d.user, &uid, &gid) < 0) {
		CHECK(false, "user %s for the sandbox", c->d.user);
		return;
	}
	for (i = 0; i < sizeof(sockopt_cases) / sizeof(sockopt_cases[0]); i++) {
		k = &sockopt_cases[i];
		if (pipe(p) < 0) {
			CHECK(false, "pipe");
			return;
		}
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			sockopt_child(k, uid, gid, p[1]);
		}
		close(p[1]);
		sandboxed = pid > 0 && read(p[0], &b, 1) == 1;
		close(p[0]);
		if (pid < 0 || waitpid(pid, &st, 0) != pid) {
			CHECK(false, "%s: fork/wait", k->what);
			continue;
		}
		CHECK(sandboxed, "%s: the child reached the call inside the sandbox", k->what);
		if (k->allowed)
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "%s: allowed, and it worked (status %#x)", k->what, st);
		else
			CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
			      "%s: the filter kills the process (status %#x)", k->what, st);
	}
}

/* AF_XDP (esp-path = xdp): the parent binds a socket where asked, but
 * not to one of vti's interfaces, and the network process then sends
 * through it without any privilege. */
static void xsk(int own, int eth0)
{
	static const uint8_t link[ETH_HLEN] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00 };
	uint8_t ip[20] = { 0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 50, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2 };
	struct iovec iov[2] = { { ip, sizeof(ip) }, { ip, 0 } };

	CHECK(ps_xsk_bind(0, 0, own, 0, false) == -EPERM,
	      "AF_XDP on a tunnel interface of vti's refused");
	CHECK(ps_xsk_bind(0, 0, 0, 0, false) == -EPERM, "AF_XDP on ifindex 0 refused");
	CHECK(ps_xsk_bind(0, 0, -5, 0, false) == -EPERM, "AF_XDP on a negative ifindex refused");
	CHECK(ps_xsk_bind(9, 9, eth0, 0, false) == -EINVAL, "AF_XDP socket 9 (of 2) refused");
	CHECK(ps_xsk_bind(0, 0, 1, 0, false) == -EPROTOTYPE,
	      "AF_XDP on loopback (not Ethernet) refused");
	CHECK(xsk_send(0, link, sizeof(link), iov, 1) == -ENXIO, "an unbound socket sends nothing");
	CHECK(ps_xsk_bind(1, 0, eth0, 1, true) == -ENOLINK,
	      "socket 1 on eth0's queue 1 before any on its queue 0: refused (no program there)");
	CHECK(ps_xsk_bind(0, 0, eth0, 0, false) == 0, "socket 0 bound to eth0 by the parent");
	CHECK(xsk_ifindex(0) == 0, "which the network process knows only when told (no shared "
	      "table it could rewrite)");
	xsk_note_bound(0, 0, eth0, 0);
	CHECK(ps_xsk_bind(0, 0, eth0, 0, false) == 0, "asked again (a restarted process): no error");
	CHECK(ps_xsk_bind(0, 0, 1, 0, false) == -EBUSY, "socket 0 to another interface: refused");
	CHECK(ps_xsk_bind(1, 1, eth0, 0, false) == -EBUSY,
	      "socket 1 on eth0's queue 0: the kernel refuses");
	CHECK(ps_xsk_bind(1, 0, eth0, XSK_MAX, false) == -EINVAL, "queue XSK_MAX refused");
	CHECK(ps_xsk_bind(1, 0, eth0, 2, true) == -ERANGE, "queue 2 of eth0 (it has 2) refused");
	CHECK(ps_xsk_bind(1, 0, eth0, 1, true) == -ENOLINK,
	      "queue 1, with no XDP program on eth0 to hand it ESP: refused");
	CHECK(ps_xsk_bind(1, 0, eth0, 1, false) == -EINVAL,
	      "queue 1 not to receive (a socket there only receives): refused");
	CHECK(ps_xsk_bind(0, 0, eth0, 0, true) == 2,
	      "socket 0 on eth0's queue 0 to receive: the parent says eth0 has 2 receive queues");
	/* xsk_bind's own checks, which the parent applies too; they refuse
	 * before any system call, so they run here as well. */
	CHECK(xsk_bind(1, 1, eth0, 1) == -EINVAL, "a socket on queue 1 naming itself as first");
	CHECK(xsk_bind(0, 0, eth0, 1) == -EINVAL, "queue 0's socket (first) for queue 1 too");
	CHECK(xsk_bind(1, 0, 1, 1) == -ENOENT, "queue 1 of lo next to socket 0, which is on eth0");
	CHECK(xsk_bind(1, 0, eth0, XSK_MAX) == -EINVAL, "queue XSK_MAX");
	CHECK(xsk_send(0, link, sizeof(link), iov, 1) == 1,
	      "a frame sent by AF_XDP without privilege");
}

static void auth(const struct conf *c, const char *psk)
{
	static const uint8_t octets[] = "signed octets: an IKE_SA_INIT message, a nonce, a MAC";
	struct chunk ch = { octets, sizeof(octets) };
	const struct tunnel_conf *t = conf_find(c, "pv0");
	struct tunnel_conf other;
	uint8_t got[PRF_MAX], want[PRF_MAX];

	CHECK(t && t->psk_len == 32 && memcmp(t->psk, psk, strlen(psk)) != 0,
	      "the network process holds a fingerprint, not the PSK");
	if (!t)
		return;
	CHECK(ike_psk_sign(PRF_HMAC_SHA2_256, (const uint8_t *)psk, strlen(psk), &ch, 1, want) == 0,
	      "local signature");
	CHECK(ps_psk_sign(NULL, t, PRF_HMAC_SHA2_256, &ch, 1, got) == 0 && !memcmp(got, want, 32),
	      "auth process signs with the PSK");
	CHECK(ps_psk_sign(NULL, t, 9999, &ch, 1, got) < 0, "unknown PRF refused");
	other = *t;
	strcpy(other.name, "nosuch");
	CHECK(ps_psk_sign(NULL, &other, PRF_HMAC_SHA2_256, &ch, 1, got) < 0,
	      "no PSK for an unknown tunnel");
}

/* RFC 8784: the auth process mixes pv0's PPK into SK_d, SK_pi, SK_pr,
 * and nothing for a tunnel without one or a length that is not the prf's. */
static void ppk(const struct conf *c, const char *ppk_hex)
{
	const struct tunnel_conf *t = conf_find(c, "pv0"), *m = conf_find(c, "pm0");
	uint8_t value[CONF_MAX_PPK], sk[3][PRF_MAX], want[3][PRF_MAX];
	struct tunnel_conf other;
	int n = hex_decode(ppk_hex, value, sizeof(value)), i;

	CHECK(n >= 32 && t && t->ppk_len == 32 && memcmp(t->ppk, value, 32) != 0,
	      "the network process holds a fingerprint, not the PPK");
	if (n < 32 || !t || !m)
		return;
	for (i = 0; i < 3; i++)
		memset(sk[i], 0x11 * (i + 1), PRF_MAX);
	memcpy(want, sk, sizeof(want));
	CHECK(ike_ppk_mix(PRF_HMAC_SHA2_256, value, (size_t)n, 32, want) == 0, "local mix");
	CHECK(ps_ppk_mix(NULL, t, PRF_HMAC_SHA2_256, 32, sk) == 0 && !memcmp(sk, want, sizeof(sk)),
	      "auth process mixes the PPK into the three keys");
	CHECK(ps_ppk_mix(NULL, t, PRF_HMAC_SHA2_256, 48, sk) < 0, "a length not the prf's refused");
	CHECK(ps_ppk_mix(NULL, t, 9999, 32, sk) < 0, "unknown PRF refused");
	CHECK(ps_ppk_mix(NULL, m, PRF_HMAC_SHA2_256, 32, sk) < 0, "no PPK for a manual tunnel");
	other = *t;
	strcpy(other.name, "nosuch");
	CHECK(ps_ppk_mix(NULL, &other, PRF_HMAC_SHA2_256, 32, sk) < 0,
	      "no PPK for an unknown tunnel");
	wipe(value, sizeof(value));
}

/*
 * Sequence numbers for manual SAs: granted only for a configured manual
 * tunnel, its spi-out and its key, in bounded blocks, always upwards.
 * The file's [tunnel pm0] is manual; pv0 is not.
 */
static void seq_reserve(const struct conf *c)
{
	const struct tunnel_conf *pm = conf_find(c, "pm0"), *pv = conf_find(c, "pv0");
	struct tunnel_conf other;
	uint64_t next = 0, limit = 0, next2 = 0, limit2 = 0, top;
	int n;

	CHECK(pm && pv, "pm0 and pv0 configured");
	if (!pm || !pv)
		return;
	CHECK(ps_seq_reserve(pm, 0, HWM_BLOCK, &next, &limit) == 0 && next == 1 &&
	      limit == HWM_BLOCK, "a new SA gets 1..2^20: %llu..%llu", (unsigned long long)next,
	      (unsigned long long)limit);
	CHECK(ps_seq_reserve(pm, limit, HWM_BLOCK, &next2, &limit2) == 0 &&
	      limit2 == 2ULL * HWM_BLOCK, "half way, the next block: up to %llu",
	      (unsigned long long)limit2);
	CHECK(ps_seq_reserve(pm, 0, 10, &next, &limit) == 0 && next == limit2 + 1,
	      "a re-created SA starts above both: %llu", (unsigned long long)next);
	top = limit;
	other = *pv;	/* the parent's pv0 has no keys, whatever net says */
	memcpy(other.key_out, pm->key_out, sizeof(other.key_out));
	other.key_out_len = pm->key_out_len;
	other.spi_out = pm->spi_out;
	CHECK(ps_seq_reserve(&other, 0, 10, &next, &limit) == -EPERM, "an IKE tunnel refused");
	other = *pm;
	strcpy(other.name, "nosuch");
	CHECK(ps_seq_reserve(&other, 0, 10, &next, &limit) == -EPERM, "unknown tunnel refused");
	other = *pm;
	other.spi_out ^= 1;
	CHECK(ps_seq_reserve(&other, 0, 10, &next, &limit) == -EPERM, "another spi-out refused");
	other = *pm;
	other.key_out[0] ^= 1;
	CHECK(ps_seq_reserve(&other, 0, 10, &next, &limit) == -ESTALE,
	      "a key-out the parent does not have refused");
	/* A compromised network process may not continue numbers it was
	 * never given (to burn the key's space in one request), nor take
	 * blocks faster than any sender could use them. */
	CHECK(ps_seq_reserve(pm, top + 1, 10, &next, &limit) == -EPERM,
	      "continuing above the granted numbers refused");
	CHECK(ps_seq_reserve(pm, 0xfffffff0, 10, &next, &limit) == -EPERM,
	      "a jump to the end of the key refused");
	/* Start just after a second begins (the parent counts per second of
	 * the same monotonic clock), so that the burst fits in one. */
	usleep((useconds_t)(1000 - now_ms() % 1000 + 20) * 1000);
	for (n = 0; n < 20 && ps_seq_reserve(pm, 0, 10, &next, &limit) == 0; n++)
		;
	CHECK(n == 8, "8 blocks a second granted, then refused (%d)", n);
	CHECK(ps_seq_reserve(pm, 0, 0, &next, &limit) == -EINVAL, "an empty block refused");
	CHECK(ps_seq_reserve(pm, 0, HWM_BLOCK + 1, &next, &limit) == -EINVAL,
	      "a block over the 2^20 the network process asks for refused");
	CHECK(ps_seq_reserve(pm, 0, HWM_BLOCK_MAX + 1, &next, &limit) == -EINVAL,
	      "a block over 2^24 refused");
}

int main(int argc, char **argv)
{
	struct conf c;
	struct buf errors;
	struct prefix p;
	char err[256];
	uint8_t offload;
	int ifindex, fd, ifindex2 = -1, fd2, eth0;

	if (argc != 4) {
		fprintf(stderr, "usage: test_privsep CONF PSK PPK\n");
		return 2;
	}
	buf_init(&errors);
	if (conf_load(argv[1], &c, &errors)) {
		fputs(buf_str(&errors), stderr);
		return 2;
	}
	sockopts(&c);
	/* esp-path = xdp: the sockets are made while root (daemon.c). */
	eth0 = (int)if_nametoindex("eth0");
	CHECK(eth0 > 0, "eth0 in the test's namespace");
	CHECK(xsk_open(2) == 2, "two AF_XDP sockets opened as root");
	if (privsep_start(&c, argv[1], "/nonexistent/sock", NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "privsep_start: %s\n", err);
		return 2;
	}
	/* Now the unprivileged network process. */
	CHECK(getuid() != 0 && geteuid() != 0, "not root any more");
	CHECK(ps_tun_open("nosuch0", &ifindex, &offload) == -EPERM, "unconfigured name refused");
	fd = ps_tun_open("pv0", &ifindex, &offload);
	CHECK(fd >= 0 && ifindex > 0, "configured interface created: fd %d", fd);
	CHECK(ps_netif_setup(1, 1400) == -EPERM, "loopback's MTU refused");
	CHECK(ps_netif_setup(ifindex, 100) == -EPERM, "MTU below 576 refused");
	CHECK(ps_netif_setup(ifindex, 1400) == 0, "own interface's MTU set");
	ifaddr_parse("10.77.0.1/30", &p);
	CHECK(ps_addr_add(1, &p) == -EPERM, "configured address on loopback refused");
	CHECK(ps_addr_add(ifindex, &p) == 0, "configured address added");
	CHECK(ps_addr_add(ifindex, &p) == 0, "added again: no error (a restarted process does it)");
	/* What a restarted network process does: the parent hands over the
	 * device it kept, same ifindex, instead of failing on the name. */
	fd2 = ps_tun_open("pv0", &ifindex2, &offload);
	CHECK(fd2 >= 0 && ifindex2 == ifindex, "asked again: the same device (ifindex %d, was %d)",
	      ifindex2, ifindex);
	CHECK(ps_netif_setup(ifindex, 1400) == 0, "its MTU set again");
	if (fd2 >= 0)
		close(fd2);
	ifaddr_parse("10.66.0.1/24", &p);
	CHECK(ps_addr_add(ifindex, &p) == -EPERM, "unconfigured address refused");
	bad_messages(ifindex);
	xsk(ifindex, eth0);
	auth(&c, argv[2]);
	ppk(&c, argv[3]);
	seq_reserve(&c);
	if (fd >= 0)
		close(fd);
	conf_free(&c);
	buf_free(&errors);
	return test_done();
}
