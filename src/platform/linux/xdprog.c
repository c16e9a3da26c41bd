/*
 * xdprog.c - the XDP program that hands the tunnels' raw ESP to vtid's
 * AF_XDP sockets ([daemon] esp-path = xdp), and the maps it reads.
 *
 * Received the ordinary way, every raw ESP packet crosses the stack alone:
 * ip_rcv, a route lookup, a clone for the raw socket, recvmmsg's copy (no
 * GRO for protocol 50).  The program takes the tunnels' ESP off the
 * interface before all that and puts it in an AF_XDP socket's memory,
 * where the network process reads it from a ring.
 *
 * Which packets: IPv4 without options and not a fragment, or IPv6 whose
 * next header is ESP, protocol 50, whose SPI is in the SPI map with this
 * destination address, arriving by the interface the program is attached
 * to, on a queue with a socket (the kernel drops what is redirected to a
 * socket bound to another queue: the socket map has one entry per queue),
 * and short enough for a frame.  Everything else, and ours while the
 * queue's entry is empty, goes on to the kernel as if the program were
 * not there: other ESP reaches its owner, fragments are reassembled, and our ESP
 * reaches the raw socket, which still serves.  Ours when the socket's RX
 * ring is full or its fill ring empty is dropped by the kernel, as a full
 * socket buffer drops (xsk_rx_drops counts it).  The SPI map is filled
 * by the parent, at the network process's word, once an SA's first packet
 * came by the raw socket (the network process may not call bpf(2)).
 *
 * The program is a few dozen instructions, written here as instructions:
 * no compiler for BPF, no libbpf, no object file to find at run time.
 * One program per socket on a queue 0, with that socket's slot as a
 * constant (its interface's entries in the socket map are slot * XSK_MAX
 * + queue), attached to the interface by a BPF link: the link is the
 * parent's file, so the program goes when vtid does.
 */
#include "platform/platform.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPI_MAX 65536		/* SAs steered: 2-3 inbound a tunnel */
#define PROG_MAX 96		/* instructions (76 now) */
#define XSK_KEYS (XSK_MAX * XSK_MAX)	/* socket map: slot * XSK_MAX + queue */
#define FRAME_DATA (XSK_FRAME - 256)	/* XDP_PACKET_HEADROOM precedes copy-mode data */

/* A value in the SPI map: the destination the SA's packets come to. */
struct steer {
	uint32_t ipv;		/* 4 or 6 */
	uint8_t dst[16];
};

static struct {
	bool loaded;
	int spi_map, xsk_map, if_map;
	int prog[XSK_MAX];
	int link[XSK_MAX];
} xp = { .spi_map = -1, .xsk_map = -1, .if_map = -1,
	  .prog = { [0 ... XSK_MAX - 1] = -1 }, .link = { [0 ... XSK_MAX - 1] = -1 } };

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(__NR_bpf, cmd, a, sizeof(*a));
}

/* A tiny assembler: instructions, and jumps to labels resolved at the end. */
enum label { L_PASS, L_V4, L_LOOKUP, L_TAKE, L_COUNT };

struct as {
	struct bpf_insn i[PROG_MAX];
	unsigned n;
	int at[L_COUNT];
	struct fix {
		unsigned insn;
		enum label to;
	} fix[24];
	unsigned nfix;
};

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off,
				  .imm = imm };
}

static void emit(struct as *a, struct bpf_insn x)
{
	if (a->n < PROG_MAX)
		a->i[a->n] = x;
	a->n++;
}

static void jump(struct as *a, struct bpf_insn x, enum label to)
{
	if (a->nfix < sizeof(a->fix) / sizeof(a->fix[0]))
		a->fix[a->nfix] = (struct fix){ a->n, to };
	a->nfix++;
	emit(a, x);
}

static void here(struct as *a, enum label l)
{
	a->at[l] = (int)a->n;
}

#define LDX(sz, d, s, o) emit(a, insn(BPF_LDX | BPF_MEM | (sz), d, s, o, 0))
#define MOV(d, s) emit(a, insn(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0))
#define MOVI(d, k) emit(a, insn(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, k))
#define ADDI(d, k) emit(a, insn(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, k))
#define JI(op, d, k, l) jump(a, insn(BPF_JMP | (op) | BPF_K, d, 0, 0, k), l)
#define JR(op, d, s, l) jump(a, insn(BPF_JMP | (op) | BPF_X, d, s, 0, 0), l)
#define MAP(d, fd)                                                              \
	do {                                                                    \
		emit(a, insn(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd)); \
		emit(a, insn(0, 0, 0, 0, 0));                                   \
	} while (0)
#define CALL(f) emit(a, insn(BPF_JMP | BPF_CALL, 0, 0, 0, f))
#define EXIT() emit(a, insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0))

/*
 * r6 the context, r2 data, r3 data_end; r7 the SPI, r8 the IP version,
 * r9 where the destination address is.  Offsets are of the Ethernet
 * frame; two-byte fields are compared as loaded, in network order.
 */
static int assemble(struct as *a, unsigned slot)
{
	unsigned k;

	memset(a, 0, sizeof(*a));
	MOV(6, 1);
	LDX(BPF_W, 2, 6, offsetof(struct xdp_md, data));
	LDX(BPF_W, 3, 6, offsetof(struct xdp_md, data_end));
	/* Only what one frame holds, and only from a queue that can have a
	 * socket. */
	MOV(4, 2);
	ADDI(4, FRAME_DATA + 1);
	JR(BPF_JLE, 4, 3, L_PASS);
	LDX(BPF_W, 4, 6, offsetof(struct xdp_md, rx_queue_index));
	JI(BPF_JGE, 4, XSK_MAX, L_PASS);
	MOV(4, 2);
	ADDI(4, 14 + 20 + 8);
	JR(BPF_JGT, 4, 3, L_PASS);
	LDX(BPF_H, 5, 2, 12);
	JI(BPF_JEQ, 5, htons(0x0800), L_V4);
	JI(BPF_JNE, 5, htons(0x86dd), L_PASS);
	/* IPv6: next header ESP, no extension header. */
	MOV(4, 2);
	ADDI(4, 14 + 40 + 8);
	JR(BPF_JGT, 4, 3, L_PASS);
	LDX(BPF_B, 5, 2, 14 + 6);
	JI(BPF_JNE, 5, 50, L_PASS);
	LDX(BPF_W, 7, 2, 14 + 40);
	MOVI(8, 6);
	MOV(9, 2);
	ADDI(9, 14 + 24);
	jump(a, insn(BPF_JMP | BPF_JA, 0, 0, 0, 0), L_LOOKUP);
	/* IPv4: version 4, 20-byte header, ESP, not a fragment. */
	here(a, L_V4);
	LDX(BPF_B, 5, 2, 14);
	JI(BPF_JNE, 5, 0x45, L_PASS);
	LDX(BPF_B, 5, 2, 14 + 9);
	JI(BPF_JNE, 5, 50, L_PASS);
	LDX(BPF_H, 5, 2, 14 + 6);
	emit(a, insn(BPF_ALU64 | BPF_AND | BPF_K, 5, 0, 0, htons(0x3fff)));	/* MF, offset */
	JI(BPF_JNE, 5, 0, L_PASS);
	LDX(BPF_W, 7, 2, 14 + 20);
	MOVI(8, 4);
	MOV(9, 2);
	ADDI(9, 14 + 16);
	/* Ours: the SPI is in the map, for this destination. */
	here(a, L_LOOKUP);
	emit(a, insn(BPF_STX | BPF_MEM | BPF_W, 10, 7, -4, 0));
	MAP(1, xp.spi_map);
	MOV(2, 10);
	ADDI(2, -4);
	CALL(BPF_FUNC_map_lookup_elem);
	JI(BPF_JEQ, 0, 0, L_PASS);
	LDX(BPF_W, 1, 0, offsetof(struct steer, ipv));
	JR(BPF_JNE, 1, 8, L_PASS);
	for (k = 0; k < 4; k++) {
		LDX(BPF_W, 1, 0, (int16_t)(offsetof(struct steer, dst) + 4 * k));
		LDX(BPF_W, 2, 9, (int16_t)(4 * k));
		JR(BPF_JNE, 1, 2, L_PASS);
		if (k == 0)
			JI(BPF_JEQ, 8, 4, L_TAKE);
	}
	/* Only on the socket's own interface: a driver that hands its
	 * program on to another device (netvsc to its VF) would otherwise
	 * have the kernel drop what this redirects from there. */
	here(a, L_TAKE);
	emit(a, insn(BPF_ST | BPF_MEM | BPF_W, 10, 0, -8, (int32_t)slot));
	MAP(1, xp.if_map);
	MOV(2, 10);
	ADDI(2, -8);
	CALL(BPF_FUNC_map_lookup_elem);
	JI(BPF_JEQ, 0, 0, L_PASS);
	LDX(BPF_W, 1, 0, 0);
	LDX(BPF_W, 2, 6, offsetof(struct xdp_md, ingress_ifindex));
	JR(BPF_JNE, 1, 2, L_PASS);
	/* To the queue's socket; XDP_PASS if its entry is empty (no socket
	 * on that queue, or the network process is being replaced). */
	MAP(1, xp.xsk_map);
	LDX(BPF_W, 2, 6, offsetof(struct xdp_md, rx_queue_index));
	ADDI(2, (int32_t)(slot * XSK_MAX));
	MOVI(3, XDP_PASS);
	CALL(BPF_FUNC_redirect_map);
	EXIT();
	here(a, L_PASS);
	MOVI(0, XDP_PASS);
	EXIT();
	if (a->n > PROG_MAX || a->nfix > sizeof(a->fix) / sizeof(a->fix[0]))
		return -E2BIG;
	for (k = 0; k < a->nfix; k++)
		a->i[a->fix[k].insn].off = (int16_t)(a->at[a->fix[k].to] - (int)a->fix[k].insn - 1);
	return 0;
}

static int map_create(uint32_t type, uint32_t klen, uint32_t vlen, uint32_t max, uint32_t flags)
{
	union bpf_attr at;
	int fd;

	memset(&at, 0, sizeof(at));
	at.map_type = type;
	at.key_size = klen;
	at.value_size = vlen;
	at.max_entries = max;
	at.map_flags = flags;
	fd = (int)sys_bpf(BPF_MAP_CREATE, &at);
	return fd < 0 ? -errno : fd;
}

static int prog_load(unsigned slot, char *log, size_t loglen)
{
	static char vlog[16384];
	union bpf_attr at;
	struct as a;
	int fd, r = assemble(&a, slot);

	if (r < 0)
		return r;
	memset(&at, 0, sizeof(at));
	at.prog_type = BPF_PROG_TYPE_XDP;
	at.insns = (uint64_t)(uintptr_t)a.i;
	at.insn_cnt = a.n;
	at.license = (uint64_t)(uintptr_t) "Dual BSD/GPL";
	fd = (int)sys_bpf(BPF_PROG_LOAD, &at);
	if (fd >= 0)
		return fd;
	r = -errno;
	/* Again with the verifier's words, for the log. */
	at.log_buf = (uint64_t)(uintptr_t)vlog;
	at.log_size = sizeof(vlog);
	at.log_level = 1;
	vlog[0] = '\0';
	fd = (int)sys_bpf(BPF_PROG_LOAD, &at);
	if (fd >= 0)
		return fd;
	if (log && loglen) {
		size_t n = strlen(vlog);

		/* The last lines say what it refused. */
		snprintf(log, loglen, "%s", n > loglen - 1 ? vlog + n - (loglen - 1) : vlog);
	}
	return r;
}

void xdp_close(void)
{
	unsigned i;

	for (i = 0; i < XSK_MAX; i++) {
		if (xp.link[i] >= 0)
			close(xp.link[i]);
		if (xp.prog[i] >= 0)
			close(xp.prog[i]);
		xp.link[i] = xp.prog[i] = -1;
	}
	if (xp.spi_map >= 0)
		close(xp.spi_map);
	if (xp.xsk_map >= 0)
		close(xp.xsk_map);
	if (xp.if_map >= 0)
		close(xp.if_map);
	xp.spi_map = xp.xsk_map = xp.if_map = -1;
	xp.loaded = false;
}

int xdp_load(unsigned n, char *log, size_t loglen)
{
	unsigned i;
	int r;

	if (log && loglen)
		log[0] = '\0';
	if (n > XSK_MAX)
		n = XSK_MAX;
	xp.spi_map = map_create(BPF_MAP_TYPE_HASH, sizeof(uint32_t), sizeof(struct steer),
				SPI_MAX, BPF_F_NO_PREALLOC);
	xp.xsk_map = map_create(BPF_MAP_TYPE_XSKMAP, sizeof(uint32_t), sizeof(int), XSK_KEYS, 0);
	xp.if_map = map_create(BPF_MAP_TYPE_ARRAY, sizeof(uint32_t), sizeof(uint32_t), XSK_MAX, 0);
	r = xp.spi_map < 0 ? xp.spi_map : xp.xsk_map < 0 ? xp.xsk_map : xp.if_map;
	for (i = 0; r >= 0 && i < n; i++) {
		r = prog_load(i, log, loglen);
		xp.prog[i] = r >= 0 ? r : -1;
	}
	if (r < 0) {
		xdp_close();
		return r;
	}
	xp.loaded = true;
	return 0;
}

bool xdp_loaded(void)
{
	return xp.loaded;
}

/* The program is on that interface: the link is there and still holds it
 * (the kernel detaches a link whose interface goes, and says ifindex 0;
 * one made again with the same ifindex has none). */
bool xdp_attached(unsigned slot, int ifindex)
{
	struct bpf_link_info info;
	union bpf_attr at;

	if (!xp.loaded || slot >= XSK_MAX || xp.link[slot] < 0)
		return false;
	memset(&info, 0, sizeof(info));
	memset(&at, 0, sizeof(at));
	at.info.bpf_fd = (uint32_t)xp.link[slot];
	at.info.info_len = sizeof(info);
	at.info.info = (uint64_t)(uintptr_t)&info;
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &at) == 0 && info.xdp.ifindex == (uint32_t)ifindex;
}

static int map_update(int map, const void *key, const void *val)
{
	union bpf_attr at;

	memset(&at, 0, sizeof(at));
	at.map_fd = (uint32_t)map;
	at.key = (uint64_t)(uintptr_t)key;
	at.value = (uint64_t)(uintptr_t)val;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &at) < 0 ? -errno : 0;
}

static int map_delete(int map, const void *key)
{
	union bpf_attr at;

	memset(&at, 0, sizeof(at));
	at.map_fd = (uint32_t)map;
	at.key = (uint64_t)(uintptr_t)key;
	return sys_bpf(BPF_MAP_DELETE_ELEM, &at) < 0 && errno != ENOENT ? -errno : 0;
}

int xdp_attach(unsigned slot, unsigned queue, int ifindex, int xsk_fd)
{
	union bpf_attr at;
	uint32_t key = slot * XSK_MAX + queue, s = slot, dev = (uint32_t)ifindex;
	int r;

	if (!xp.loaded || slot >= XSK_MAX || queue >= XSK_MAX || xp.prog[slot] < 0)
		return -ENOTSUP;
	/* Another queue's socket joins the program on queue 0's interface. */
	if (queue)
		return xp.link[slot] >= 0 ? map_update(xp.xsk_map, &key, &xsk_fd) : -ENOLINK;
	/* The socket first: until it is in its place, the program passes. */
	r = map_update(xp.if_map, &s, &dev);
	if (r == 0)
		r = map_update(xp.xsk_map, &key, &xsk_fd);
	if (r < 0 || xp.link[slot] >= 0)
		return r;
	memset(&at, 0, sizeof(at));
	at.link_create.prog_fd = (uint32_t)xp.prog[slot];
	at.link_create.target_ifindex = (uint32_t)ifindex;
	at.link_create.attach_type = BPF_XDP;
	/* No flags: the driver's XDP where it has one, else generic. */
	r = (int)sys_bpf(BPF_LINK_CREATE, &at);
	if (r < 0) {
		r = -errno;
		map_delete(xp.xsk_map, &key);
		return r;
	}
	xp.link[slot] = r;
	return 0;
}

static void unmap_slot(unsigned slot)
{
	uint32_t key;

	for (key = slot * XSK_MAX; key < (slot + 1) * XSK_MAX; key++)
		map_delete(xp.xsk_map, &key);
}

int xdp_rx_queues(int ifindex)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq r = { .ifr_data = (void *)&ch };
	int e;

	if (!if_indextoname((unsigned)ifindex, r.ifr_name))
		return -errno;
	e = netif_ioctl(SIOCETHTOOL, &r);
	return e < 0 ? e : (int)(ch.rx_count + ch.combined_count);
}

int xdp_steer(uint32_t spi, const struct addr *dst, bool on)
{
	struct steer v = { .ipv = dst->family == AF_INET ? 4 : 6 };
	uint32_t key = htonl(spi);	/* as the program loads it from the packet */

	if (!xp.loaded || (dst->family != AF_INET && dst->family != AF_INET6))
		return -EINVAL;
	memcpy(v.dst, dst->a, dst->family == AF_INET ? 4 : 16);
	return on ? map_update(xp.spi_map, &key, &v) : map_delete(xp.spi_map, &key);
}

/* The socket is no longer handed anything.  On queue 0, nor are the
 * others there, and the program leaves the interface: what esp-path =
 * socket or auto is chosen for (a reload), or all the socket can do (its
 * rings are spent).  xdp_attach puts them back. */
void xdp_stop(unsigned slot, unsigned queue)
{
	uint32_t key = slot * XSK_MAX + queue;

	if (!xp.loaded || slot >= XSK_MAX || queue >= XSK_MAX)
		return;
	if (queue) {
		map_delete(xp.xsk_map, &key);
		return;
	}
	unmap_slot(slot);
	if (xp.link[slot] >= 0)
		close(xp.link[slot]);
	xp.link[slot] = -1;
}

void xdp_pause(void)
{
	union bpf_attr at;
	uint32_t next;
	unsigned i;

	if (!xp.loaded)
		return;
	for (i = 0; i < XSK_MAX; i++)
		unmap_slot(i);
	/* Delete from the first key on: each pass takes the first left. */
	for (;;) {
		memset(&at, 0, sizeof(at));
		at.map_fd = (uint32_t)xp.spi_map;
		at.key = 0;
		at.next_key = (uint64_t)(uintptr_t)&next;
		if (sys_bpf(BPF_MAP_GET_NEXT_KEY, &at) < 0 || map_delete(xp.spi_map, &next) < 0)
			break;
	}
}
