/*
 * sandbox.c - what an unprivileged vtid process may still do (Linux).
 *
 * sandbox_enter() turns a child forked by root into user USER with no
 * supplementary groups, no capabilities in any set (libcap-ng, bounding
 * set included), PR_SET_NO_NEW_PRIVS, no core dumps or ptrace by its own
 * user, and a seccomp allow-list (libseccomp) of the system calls its
 * role makes; anything else kills the process.  The parent keeps only
 * CAP_NET_ADMIN (TUN devices, rtnetlink), CAP_KILL (its children run as
 * another user) and CAP_SETUID + CAP_SETGID (a child it starts to replace
 * a crashed one must become that user), and with esp-path = xdp CAP_BPF
 * (the XDP program's links and maps, xdprog.c).
 */
#include "platform/platform.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <linux/if_tun.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

int sandbox_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(user);

	if (!pw)
		return -ENOENT;
	if (pw->pw_uid == 0)
		return -EPERM;	/* the point is not to be root */
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* Every role: memory, time, randomness, logging, exiting. */
static const int common[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(close),
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(mprotect), SCMP_SYS(futex), SCMP_SYS(getrandom), SCMP_SYS(clock_gettime),
	SCMP_SYS(gettimeofday), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(getpid), SCMP_SYS(getppid),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(lseek), SCMP_SYS(fcntl),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(poll), SCMP_SYS(ppoll),
};

/*
 * The network process: IKE, ESP, TUN and the control socket.  No
 * setsockopt at all: every option it needs (buffer sizes, IPV6_V6ONLY,
 * UDP_GRO) is set before the filter exists, and one set later could only
 * be an attacker's: IP_HDRINCL would let the raw ESP socket send any
 * packet.  getsockopt stays (path MTU, the control client's credentials).
 *
 * With [daemon] esp-path = auto (the default) the process also holds an
 * AF_PACKET socket (platform l2path.c), and that one sends any frame on
 * any interface: ARP, another host's source address, any protocol, past
 * netfilter.  Nothing in the kernel limits what a packet socket sends;
 * only receiving is shut (a locked filter that takes nothing, and no
 * bind or setsockopt here).  Its rtnetlink socket reads every route,
 * link, address and neighbour and changes none (the kernel checks the
 * sender's CAP_NET_ADMIN).  esp-path = socket opens neither, for those
 * who want a compromise of this process kept to ESP and UDP from the
 * host's own addresses.  esp-path = xdp adds AF_XDP sockets (xsk.c)
 * on the interfaces the parent bound them to: they send any frame too,
 * with any source link address (the packet socket writes the device's),
 * past the qdisc and egress hooks, and unseen by packet taps (tcpdump) on
 * that interface.  Their memory and rings were set up before this filter;
 * the parent alone binds them (no bind here), and what it bound is in
 * each process's private memory, not in memory this process could write
 * for its successor to trust.  They also receive: the parent's XDP
 * program hands them the ESP of the SPIs this process names (by message;
 * no bpf(2) here), so a compromised process can take any ESP arriving
 * on those interfaces away from the kernel; it sees all ESP anyway, by
 * its raw sockets.
 */
static const int net[] = {
	SCMP_SYS(recvmmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl), SCMP_SYS(accept4),
	SCMP_SYS(getsockopt), SCMP_SYS(connect), SCMP_SYS(getsockname),
	SCMP_SYS(geteuid), SCMP_SYS(getuid), SCMP_SYS(getegid), SCMP_SYS(getgid),
	SCMP_SYS(signalfd4),
	/* lib/ev.c's busy polling yields once before it polls. */
	SCMP_SYS(sched_yield),
};

/*
 * The sanitizer runtimes (CI runs every test under ASan+UBSan) map shadow
 * memory, read /proc/self/maps for reports and stop the world with ptrace
 * for the leak check at exit: allowed only in such builds.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(VTI_SANITIZE)
#define SANITIZER 1
static const int sanitizer[] = {
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(wait4), SCMP_SYS(waitid), SCMP_SYS(ptrace),
	SCMP_SYS(prctl), SCMP_SYS(sched_getaffinity), SCMP_SYS(sched_yield), SCMP_SYS(gettid),
	SCMP_SYS(tgkill), SCMP_SYS(kill), SCMP_SYS(sigaltstack), SCMP_SYS(rt_sigaction),
	SCMP_SYS(getdents64), SCMP_SYS(getdents), SCMP_SYS(pread64), SCMP_SYS(statx), SCMP_SYS(stat),
	SCMP_SYS(pipe2), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(set_robust_list),
	SCMP_SYS(rseq), SCMP_SYS(munlock), SCMP_SYS(mlock), SCMP_SYS(getrlimit),
	SCMP_SYS(prlimit64), SCMP_SYS(unlink), SCMP_SYS(getpgid), SCMP_SYS(uname),
	SCMP_SYS(personality), SCMP_SYS(process_vm_readv),
};
#endif

static int allow(scmp_filter_ctx ctx, const int *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, list[i], 0) < 0)
			return -1;
	return 0;
}

/* Allow sys when argument a equals x (and, if b, argument b equals y).
 * The comparisons are spelled out: libseccomp's SCMP_A* macros leave
 * fields to zero-initialisation, which clang's warnings reject. */
static int allow_arg(scmp_filter_ctx ctx, int sys, unsigned a, scmp_datum_t x, unsigned b,
		     scmp_datum_t y)
{
	struct scmp_arg_cmp cmp[2] = {
		{ .arg = a, .op = SCMP_CMP_EQ, .datum_a = x, .datum_b = 0 },
		{ .arg = b, .op = SCMP_CMP_EQ, .datum_a = y, .datum_b = 0 },
	};

	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, sys, b ? 2 : 1, cmp);
}

/*
 * The network process's crypto threads ([daemon] crypto-threads > 1,
 * started after this filter, which they inherit), and only then: clone
 * for a thread of this process and nothing else (no new process, no new
 * namespace); clone3 passes its flags in memory the filter cannot read,
 * so it fails with ENOSYS and glibc falls back to clone; glibc's first
 * thread also installs its handler for SIGSETXID (__SIGRTMIN + 1, 33),
 * by which setuid and the like reach every thread.  The threads run with
 * the process's credentials and filter, but threads are what a kernel
 * race needs, so a process configured without them cannot make any.
 */
static int allow_threads(scmp_filter_ctx ctx)
{
	const scmp_datum_t thread = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND;
	const scmp_datum_t mask = thread | CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID |
				  CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
	struct scmp_arg_cmp cmp = {
		.arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = thread,
	};

#ifdef SANITIZER
	(void)ctx;
	(void)cmp;
	return 0;	/* clone, clone3 and rt_sigaction are allowed already */
#else
	if (seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &cmp) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) < 0 ||
	    allow_arg(ctx, SCMP_SYS(rt_sigaction), 0, 33, 0, 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(set_robust_list), 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rseq), 0) < 0)
		return -1;
	return 0;
#endif
}

static int load_filter(enum sandbox_role role, bool threads)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = -1;

	if (!ctx)
		return -ENOMEM;
	if (allow(ctx, common, sizeof(common) / sizeof(common[0])) < 0)
		goto out;
#ifdef SANITIZER
	if (allow(ctx, sanitizer, sizeof(sanitizer) / sizeof(sanitizer[0])) < 0)
		goto out;
#endif
	if (role == SANDBOX_NET &&
	    (allow(ctx, net, sizeof(net) / sizeof(net[0])) < 0 ||
	     /* Carrier on the TUN devices it was handed; isatty(). */
	     allow_arg(ctx, SCMP_SYS(ioctl), 1, TUNSETCARRIER, 0, 0) < 0 ||
	     allow_arg(ctx, SCMP_SYS(ioctl), 1, TCGETS, 0, 0) < 0 ||
	     /* UDP sockets only: path_mtu() asks the kernel the route MTU. */
	     allow_arg(ctx, SCMP_SYS(socket), 0, AF_INET, 1, SOCK_DGRAM | SOCK_CLOEXEC) < 0 ||
	     allow_arg(ctx, SCMP_SYS(socket), 0, AF_INET6, 1, SOCK_DGRAM | SOCK_CLOEXEC) < 0 ||
	     (threads && allow_threads(ctx) < 0)))
		goto out;
	r = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return r < 0 ? (r == -1 ? -EINVAL : r) : 0;
}

/* Whether the capability bounding set is empty already. */
static bool bounding_empty(void)
{
	int cap, r;

	for (cap = 0; (r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) >= 0; cap++)
		if (r == 1)
			return false;
	return true;
}

int sandbox_enter(uid_t uid, gid_t gid, enum sandbox_role role, bool threads, char *err,
		  size_t errlen)
{
	capng_flags_t flags = CAPNG_DROP_SUPP_GRP;
	int r;

	/* A child of the running parent inherits its empty bounding set and
	 * lacks the CAP_SETPCAP that clearing it (again) would take. */
	if (!bounding_empty())
		flags |= CAPNG_CLEAR_BOUNDING;
	capng_clear(CAPNG_SELECT_BOTH);
	/* setgroups(0), setgid, setuid; then no capabilities, bounding set
	 * cleared, so nothing can come back. */
	r = capng_change_id((int)uid, (int)gid, flags);
	if (r < 0) {
		snprintf(err, errlen, "cannot change to uid %u gid %u (libcap-ng error %d)",
			 (unsigned)uid, (unsigned)gid, r);
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	    /* Credentials changed: the parent-death signal must be set after. */
	    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		snprintf(err, errlen, "prctl: %s", strerror(errno));
		return -errno;
	}
	r = load_filter(role, threads);
	if (r < 0) {
		snprintf(err, errlen, "cannot load the seccomp filter: %s", strerror(-r));
		return r;
	}
	return 0;
}

int sandbox_parent(char *err, size_t errlen)
{
	capng_clear(CAPNG_SELECT_BOTH);
	/* CAP_SETUID and CAP_SETGID add little to a root process (it owns
	 * /etc/passwd anyway); without them it could not replace a child. */
	if (capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN, CAP_KILL,
			  CAP_SETUID, CAP_SETGID, -1) < 0 ||
	    /* esp-path = xdp: the parent attaches the XDP program and fills
	     * its maps; before Linux 6.5, with unprivileged BPF disabled (the
	     * distributions' default), every bpf(2) wants CAP_BPF. */
	    (xdp_loaded() &&
	     capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_BPF) < 0) ||
	    capng_apply(CAPNG_SELECT_BOTH) < 0) {
		snprintf(err, errlen, "cannot drop capabilities to CAP_NET_ADMIN, CAP_KILL, "
			 "CAP_SETUID and CAP_SETGID%s", xdp_loaded() ? " (and CAP_BPF)" : "");
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "prctl: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
